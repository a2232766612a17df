//! Reward roots and merkle claims.
mod common;

use common::*;
use gpumesh::{math, merkle, pda, state::ClaimRecord};
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signer},
};

const HOUR: i64 = 3_600;

struct Tree {
    levels: Vec<Vec<[u8; 32]>>,
    root: [u8; 32],
    entries: Vec<(Pubkey, u64)>,
}

impl Tree {
    fn new(entries: &[(Pubkey, u64)]) -> Tree {
        let leaves: Vec<[u8; 32]> = entries.iter().map(|(k, a)| merkle::leaf_hash(&k.to_bytes(), *a)).collect();
        let levels = merkle::build_levels(&leaves);
        Tree { root: merkle::root(&levels), levels, entries: entries.to_vec() }
    }
    fn proof(&self, i: usize) -> Vec<[u8; 32]> {
        merkle::proof(&self.levels, i)
    }
    fn total(&self) -> u64 {
        self.entries.iter().map(|e| e.1).sum()
    }
}

struct Claimant {
    kp: Keypair,
    token: Pubkey,
}

async fn claimants(env: &mut Env, n: usize) -> Vec<Claimant> {
    let mut out = Vec::new();
    let mesh = env.mesh_mint;
    for _ in 0..n {
        let kp = env.funded_keypair().await;
        let token = env.create_token_account(&mesh, &kp.pubkey()).await;
        out.push(Claimant { kp, token });
    }
    out
}

/// Initialized env with 10 hours of emissions minted into the vault.
async fn funded_env() -> Env {
    let mut env = Env::new().await;
    env.set_time(T0 + 10 * HOUR).await;
    let mesh = env.mesh_mint;
    env.send(&[ix::crank_emissions(&mesh)], &[]).await.unwrap();
    env
}

async fn post(env: &mut Env, epoch: u64, root: [u8; 32], total: u64) -> TxResult {
    let r = env.rewards.insecure_clone();
    env.send(&[ix::post_reward_root(&r.pubkey(), epoch, root, total)], &[&r]).await
}

async fn claim(env: &mut Env, c: &Claimant, cumulative: u64, proof: Vec<[u8; 32]>) -> TxResult {
    let mesh = env.mesh_mint;
    let i = ix::claim_rewards(&c.kp.pubkey(), &mesh, &c.token, cumulative, proof);
    let kp = c.kp.insecure_clone();
    env.send(&[i], &[&kp]).await
}

#[tokio::test]
async fn post_root_rules() {
    let mut env = funded_env().await;
    let minted = env.config().await.emission_minted;
    assert_eq!(minted, math::cumulative_emission(10).unwrap());
    let stranger = env.funded_keypair().await;
    let i = ix::post_reward_root(&stranger.pubkey(), 1, [1; 32], 1);
    assert_err(env.send(&[i], &[&stranger]).await, GpuMeshError::Unauthorized);
    assert_err(post(&mut env, 0, [1; 32], 1).await, GpuMeshError::EpochNotIncreasing);
    assert_err(post(&mut env, 1, [1; 32], minted + 1).await, GpuMeshError::RewardTotalExceedsMinted);
    post(&mut env, 1, [1; 32], 1_000).await.unwrap();
    let cfg = env.config().await;
    assert_eq!((cfg.reward_epoch, cfg.reward_root, cfg.reward_total_cumulative), (1, [1; 32], 1_000));
    assert_err(post(&mut env, 1, [2; 32], 1_000).await, GpuMeshError::EpochNotIncreasing);
    assert_err(post(&mut env, 2, [2; 32], 999).await, GpuMeshError::RewardTotalDecreased);
    post(&mut env, 5, [3; 32], minted).await.unwrap();
    let admin = env.admin.insecure_clone();
    env.send(&[ix::set_paused(&admin.pubkey(), true)], &[&admin]).await.unwrap();
    assert_err(post(&mut env, 6, [3; 32], minted).await, GpuMeshError::Paused);
}

#[tokio::test]
async fn claims_pay_the_difference_and_reject_double_claims() {
    let mut env = funded_env().await;
    let cs = claimants(&mut env, 3).await;
    let entries: Vec<(Pubkey, u64)> = cs.iter().enumerate().map(|(i, c)| (c.kp.pubkey(), 1_000 * (i as u64 + 1))).collect();
    let tree = Tree::new(&entries);
    post(&mut env, 1, tree.root, tree.total()).await.unwrap();
    let vault_before = env.rewards_vault_balance().await;
    for (i, c) in cs.iter().enumerate() {
        claim(&mut env, c, entries[i].1, tree.proof(i)).await.unwrap();
        assert_eq!(env.balance(&c.token).await, entries[i].1);
    }
    assert_eq!(env.rewards_vault_balance().await, vault_before - tree.total());
    // Same claim again: nothing new.
    assert_err(claim(&mut env, &cs[0], entries[0].1, tree.proof(0)).await, GpuMeshError::NothingToClaim);

    // Next epoch: cumulative amounts grow, claimants get only the increase.
    let entries2: Vec<(Pubkey, u64)> = entries.iter().map(|(k, a)| (*k, a + 500)).collect();
    let tree2 = Tree::new(&entries2);
    post(&mut env, 2, tree2.root, tree2.total()).await.unwrap();
    claim(&mut env, &cs[1], entries2[1].1, tree2.proof(1)).await.unwrap();
    assert_eq!(env.balance(&cs[1].token).await, entries2[1].1);
    // The old proof no longer matches the new root.
    assert_err(claim(&mut env, &cs[2], entries[2].1, tree.proof(2)).await, GpuMeshError::InvalidProof);
    let record: ClaimRecord = env.anchor_account(&pda::claim_record(&cs[1].kp.pubkey()).0).await;
    assert_eq!((record.claimant, record.claimed, record.last_epoch), (cs[1].kp.pubkey(), entries2[1].1, 2));
    let cfg = env.config().await;
    assert_eq!(cfg.reward_total_claimed, tree.total() + 500);
}

#[tokio::test]
async fn forged_claims_fail() {
    let mut env = funded_env().await;
    let cs = claimants(&mut env, 4).await;
    let entries: Vec<(Pubkey, u64)> = cs.iter().map(|c| (c.kp.pubkey(), 777)).collect();
    let tree = Tree::new(&entries);
    post(&mut env, 1, tree.root, tree.total()).await.unwrap();

    // Inflated amount with an honest proof.
    assert_err(claim(&mut env, &cs[0], 778, tree.proof(0)).await, GpuMeshError::InvalidProof);
    // Tampered proof.
    let mut p = tree.proof(0);
    p[0][0] ^= 1;
    assert_err(claim(&mut env, &cs[0], 777, p).await, GpuMeshError::InvalidProof);
    // Another claimant's leaf and proof, signed by cs[1].
    assert_err(claim(&mut env, &cs[1], 777, tree.proof(0)).await, GpuMeshError::InvalidProof);
    // An internal node used as the leaf: proving the parent of leaves 0 and 1 with the
    // remaining path verifies as a raw merkle path, but the program derives the leaf from
    // (signer, amount) with the 0x00 tag, so there is no way to present that node.
    let internal = tree.levels[1][0];
    let rest = tree.proof(0)[1..].to_vec();
    assert!(merkle::verify(&tree.root, internal, &rest));
    assert_err(claim(&mut env, &cs[0], 777, rest.clone()).await, GpuMeshError::InvalidProof);
    // Amount above the posted total.
    assert_err(claim(&mut env, &cs[0], tree.total() + 1, tree.proof(0)).await, GpuMeshError::CumulativeExceedsTotal);
    // Proof longer than any real tree.
    assert_err(claim(&mut env, &cs[0], 777, vec![[0u8; 32]; 33]).await, GpuMeshError::ProofTooLong);
    // Honest claim still works.
    claim(&mut env, &cs[0], 777, tree.proof(0)).await.unwrap();
}

#[tokio::test]
async fn claim_token_account_checks_and_pause() {
    let mut env = funded_env().await;
    let cs = claimants(&mut env, 2).await;
    let entries: Vec<(Pubkey, u64)> = cs.iter().map(|c| (c.kp.pubkey(), 50)).collect();
    let tree = Tree::new(&entries);
    post(&mut env, 1, tree.root, tree.total()).await.unwrap();
    let mesh = env.mesh_mint;
    let usdc = env.usdc_mint;
    let c0 = cs[0].kp.insecure_clone();
    // Paying into someone else's MESH account.
    let i = ix::claim_rewards(&c0.pubkey(), &mesh, &cs[1].token, 50, tree.proof(0));
    assert_err(env.send(&[i], &[&c0]).await, GpuMeshError::InvalidTokenOwner);
    // A USDC account of the claimant.
    let usdc_acc = env.create_token_account(&usdc, &c0.pubkey()).await;
    let i = ix::claim_rewards(&c0.pubkey(), &mesh, &usdc_acc, 50, tree.proof(0));
    assert_err(env.send(&[i], &[&c0]).await, GpuMeshError::InvalidMint);
    // Paused.
    let admin = env.admin.insecure_clone();
    env.send(&[ix::set_paused(&admin.pubkey(), true)], &[&admin]).await.unwrap();
    assert_err(claim(&mut env, &cs[0], 50, tree.proof(0)).await, GpuMeshError::Paused);
    env.send(&[ix::set_paused(&admin.pubkey(), false)], &[&admin]).await.unwrap();
    claim(&mut env, &cs[0], 50, tree.proof(0)).await.unwrap();
}

#[tokio::test]
async fn single_leaf_tree_and_claim_without_root() {
    let mut env = funded_env().await;
    let cs = claimants(&mut env, 1).await;
    // No root posted yet (root is all zero, total 0).
    assert_err(claim(&mut env, &cs[0], 1, vec![]).await, GpuMeshError::CumulativeExceedsTotal);
    let tree = Tree::new(&[(cs[0].kp.pubkey(), 123)]);
    assert!(tree.proof(0).is_empty());
    post(&mut env, 1, tree.root, 123).await.unwrap();
    claim(&mut env, &cs[0], 123, vec![]).await.unwrap();
    assert_eq!(env.balance(&cs[0].token).await, 123);
}
