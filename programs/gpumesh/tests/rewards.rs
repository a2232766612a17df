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
    post(&mut env, 1, [1; 32], 1_000).await.unwrap();
    let cfg = env.config().await;
    assert_eq!((cfg.reward_epoch, cfg.reward_root, cfg.reward_total_cumulative), (1, [1; 32], 1_000));
    assert_err(post(&mut env, 1, [2; 32], 1_000).await, GpuMeshError::EpochNotIncreasing);
    assert_err(post(&mut env, 2, [2; 32], 999).await, GpuMeshError::RewardTotalDecreased);
    // Epochs are emission hours: not one that has not completed yet (now = hour 10).
    assert_err(post(&mut env, 11, [3; 32], 1_000).await, GpuMeshError::EpochInFuture);
    // The total is bounded by the schedule at that epoch, not just by what was minted.
    let c2 = math::cumulative_emission(2).unwrap();
    assert_err(post(&mut env, 2, [3; 32], c2 + 1).await, GpuMeshError::RewardTotalExceedsSchedule);
    post(&mut env, 2, [3; 32], c2).await.unwrap();
    post(&mut env, 10, [4; 32], minted).await.unwrap();
    // The replaced root is kept for one epoch.
    let cfg = env.config().await;
    assert_eq!((cfg.prev_reward_epoch, cfg.prev_reward_root, cfg.prev_reward_total_cumulative), (2, [3; 32], c2));
    // Within the schedule but above what was minted (no crank for hour 11 yet).
    env.advance(HOUR).await;
    let c11 = math::cumulative_emission(11).unwrap();
    assert_err(post(&mut env, 11, [5; 32], c11).await, GpuMeshError::RewardTotalExceedsMinted);
    let admin = env.admin.insecure_clone();
    env.send(&[ix::set_paused(&admin.pubkey(), true)], &[&admin]).await.unwrap();
    assert_err(post(&mut env, 11, [3; 32], minted).await, GpuMeshError::Paused);
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
    // The previous root still verifies, but cs[2] was paid for it already.
    assert_err(claim(&mut env, &cs[2], entries[2].1, tree.proof(2)).await, GpuMeshError::NothingToClaim);
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

#[tokio::test]
async fn a_proof_fetched_just_before_a_post_still_works_for_one_epoch() {
    let mut env = funded_env().await;
    let cs = claimants(&mut env, 3).await;
    let e1: Vec<(Pubkey, u64)> = cs.iter().map(|c| (c.kp.pubkey(), 100)).collect();
    let t1 = Tree::new(&e1);
    post(&mut env, 1, t1.root, t1.total()).await.unwrap();
    // The rewards job posts epoch 2 while two claimants still hold epoch-1 proofs.
    let e2: Vec<(Pubkey, u64)> = cs.iter().map(|c| (c.kp.pubkey(), 250)).collect();
    let t2 = Tree::new(&e2);
    post(&mut env, 2, t2.root, t2.total()).await.unwrap();
    claim(&mut env, &cs[0], 100, t1.proof(0)).await.unwrap();
    let record: ClaimRecord = env.anchor_account(&pda::claim_record(&cs[0].kp.pubkey()).0).await;
    assert_eq!((record.claimed, record.last_epoch), (100, 1));
    // The previous root's own total bounds it: an amount above it never verifies there.
    assert_err(claim(&mut env, &cs[1], 200, t1.proof(1)).await, GpuMeshError::InvalidProof);
    // And the current root pays the rest.
    claim(&mut env, &cs[0], 250, t2.proof(0)).await.unwrap();
    assert_eq!(env.balance(&cs[0].token).await, 250);
    // Two posts later the epoch-1 proof is gone.
    let e3: Vec<(Pubkey, u64)> = cs.iter().map(|c| (c.kp.pubkey(), 300)).collect();
    let t3 = Tree::new(&e3);
    post(&mut env, 3, t3.root, t3.total()).await.unwrap();
    assert_err(claim(&mut env, &cs[1], 100, t1.proof(1)).await, GpuMeshError::InvalidProof);
    claim(&mut env, &cs[1], 250, t2.proof(1)).await.unwrap();
    claim(&mut env, &cs[2], 300, t3.proof(2)).await.unwrap();
}

#[tokio::test]
async fn faulty_tree_and_lowered_cumulative() {
    let mut env = funded_env().await;
    let cs = claimants(&mut env, 2).await;
    // A faulty tree: the leaves owe 1_600 but only 1_000 was posted.
    let entries: Vec<(Pubkey, u64)> = cs.iter().map(|c| (c.kp.pubkey(), 800)).collect();
    let tree = Tree::new(&entries);
    post(&mut env, 1, tree.root, 1_000).await.unwrap();
    claim(&mut env, &cs[0], 800, tree.proof(0)).await.unwrap();
    assert_err(claim(&mut env, &cs[1], 800, tree.proof(1)).await, GpuMeshError::CumulativeExceedsTotal);
    assert_eq!(env.config().await.reward_total_claimed, 800);
    // A lowered total is refused; a lowered leaf pays nothing (cumulative ≤ claimed).
    assert_err(post(&mut env, 2, [9; 32], 999).await, GpuMeshError::RewardTotalDecreased);
    let lower = Tree::new(&[(cs[0].kp.pubkey(), 500), (cs[1].kp.pubkey(), 500)]);
    post(&mut env, 2, lower.root, 1_000).await.unwrap();
    assert_err(claim(&mut env, &cs[0], 500, lower.proof(0)).await, GpuMeshError::NothingToClaim);
    assert_eq!(env.config().await.reward_total_claimed, 800);
}
