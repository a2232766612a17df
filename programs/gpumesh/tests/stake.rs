//! Device stake (issue #11): `stake_device`, `request_unstake`, `withdraw_stake`, `slash_stake`.
//! Happy paths assert balances, supply and rents to the base unit; every guard has an attack
//! that proves it bites, with its precise error code. One piece of evidence slashes a stake once
//! (`SlashRecord`): the slashes below each carry fresh evidence unless a test names it.
mod common;

use anchor_lang::AccountSerialize;
use anchor_spl::token::spl_token;
use common::*;
use gpumesh::{math, pda, DeviceStake, SlashReason, SlashRecord, MAX_DEVICE_WEIGHT_BPS, STAKE_PER_WEIGHT_UNIT, UNSTAKE_COOLDOWN_SECONDS};
use std::sync::atomic::{AtomicU64, Ordering};
#[allow(deprecated)]
use solana_sdk::{
    account::{Account, AccountSharedData},
    instruction::Instruction,
    program_pack::Pack,
    pubkey::Pubkey,
    signature::{Keypair, Signer},
    system_instruction,
};

const MESH: u64 = math::MESH_UNIT;
const H100: u32 = 10_000;
const RTX_4090: u32 = 1_670;
/// What an H100 must stake: 1,000 MESH.
const H100_STAKE: u64 = 1_000 * MESH;
const EVIDENCE: [u8; 32] = [0xe5; 32];
const OTHER_EVIDENCE: [u8; 32] = [0xe6; 32];
const TOKEN_2022: Pubkey = Pubkey::from_str_const("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");

/// A supplier wallet with a MESH account, and the device it stakes for.
struct Staker {
    authority: Keypair,
    token: Pubkey,
    device_id: [u8; 16],
    stake: Pubkey,
    vault: Pubkey,
}

/// A device UUID (16 bytes, as the database stores it).
fn device_id(n: u8) -> [u8; 16] {
    let mut id = *b"\x6f\x1c\x2a\x90\x4b\x3e\x4d\x0a\x9c\x11\x00\x00\x00\x00\x00\x00";
    id[15] = n;
    id
}

impl Staker {
    fn stake_ix(&self, env: &Env, weight_bps: u32, amount: u64) -> Instruction {
        ix::stake_device(&self.authority.pubkey(), &env.settlement.pubkey(), &env.mesh_mint, &self.token, self.device_id, weight_bps, amount)
    }

    fn unstake_ix(&self) -> Instruction {
        ix::request_unstake(&self.authority.pubkey(), self.device_id)
    }

    fn withdraw_ix(&self, env: &Env) -> Instruction {
        ix::withdraw_stake(&self.authority.pubkey(), &env.mesh_mint, &self.token, self.device_id)
    }

    fn slash_ix(&self, env: &Env, amount: u64, reason: SlashReason) -> Instruction {
        ix::slash_stake(&env.settlement.pubkey(), &env.mesh_mint, self.device_id, amount, reason, EVIDENCE)
    }
}

/// Evidence no other slash of the test binary used (each offence has its own evidence).
fn fresh_evidence() -> [u8; 32] {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let mut evidence = [0x5a; 32];
    evidence[..8].copy_from_slice(&NEXT.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    evidence
}

/// A funded supplier wallet holding `mesh` base units of MESH, for device `device_id(n)`.
async fn staker(env: &mut Env, n: u8, mesh: u64) -> Staker {
    let authority = env.funded_keypair().await;
    let mint = env.mesh_mint;
    let token = env.funded_token_account(&mint, &authority.pubkey(), mesh).await;
    let id = device_id(n);
    let stake = pda::device_stake(&id).0;
    Staker { authority, token, device_id: id, stake, vault: pda::stake_vault(&stake).0 }
}

impl Env {
    /// The supplier signs, the settlement authority co-signs (the weight attestation).
    async fn stake(&mut self, s: &Staker, weight_bps: u32, amount: u64) -> TxResult {
        let st = self.settlement.insecure_clone();
        let i = s.stake_ix(self, weight_bps, amount);
        self.send(&[i], &[&s.authority, &st]).await
    }

    async fn request_unstake(&mut self, s: &Staker) -> TxResult {
        self.send(&[s.unstake_ix()], &[&s.authority]).await
    }

    async fn withdraw(&mut self, s: &Staker) -> TxResult {
        let i = s.withdraw_ix(self);
        self.send(&[i], &[&s.authority]).await
    }

    /// A slash for a new offence (fresh evidence).
    async fn slash(&mut self, s: &Staker, amount: u64, reason: SlashReason) -> TxResult {
        self.slash_with(s, amount, reason, fresh_evidence()).await
    }

    async fn slash_with(&mut self, s: &Staker, amount: u64, reason: SlashReason, evidence: [u8; 32]) -> TxResult {
        let st = self.settlement.insecure_clone();
        let i = ix::slash_stake(&st.pubkey(), &self.mesh_mint, s.device_id, amount, reason, evidence);
        self.send(&[i], &[&st]).await
    }

    async fn slash_record(&mut self, s: &Staker, evidence: &[u8; 32]) -> Option<SlashRecord> {
        let key = pda::slash_record(&s.stake, evidence).0;
        match self.account(&key).await {
            Some(_) => Some(self.anchor_account(&key).await),
            None => None,
        }
    }

    async fn device_stake(&mut self, s: &Staker) -> DeviceStake {
        self.anchor_account(&s.stake).await
    }

    async fn lamports(&mut self, key: &Pubkey) -> u64 {
        self.account(key).await.map(|a| a.lamports).unwrap_or(0)
    }

    /// Rewrites a stake account's fields in place (to reach states no instruction can).
    async fn patch_stake(&mut self, s: &Staker, edit: impl FnOnce(&mut DeviceStake)) {
        let mut acc = self.account(&s.stake).await.unwrap();
        let mut stake = self.device_stake(s).await;
        edit(&mut stake);
        let mut data = Vec::new();
        stake.try_serialize(&mut data).unwrap();
        assert_eq!(data.len(), acc.data.len());
        acc.data = data;
        self.ctx.set_account(&s.stake, &AccountSharedData::from(acc));
    }
}

fn index_of(ix: &Instruction, key: &Pubkey) -> usize {
    ix.accounts.iter().position(|m| m.pubkey == *key).expect("account in instruction")
}

fn with(mut i: Instruction, from: &Pubkey, to: Pubkey) -> Instruction {
    let idx = index_of(&i, from);
    i.accounts[idx].pubkey = to;
    i
}

fn unsigned(mut i: Instruction, signer: &Pubkey) -> Instruction {
    let idx = index_of(&i, signer);
    i.accounts[idx].is_signer = false;
    i
}

/// A copy of `real` (same data and lamports) at a new address, owned by `owner`.
async fn forge(env: &mut Env, real: &Pubkey, owner: Pubkey) -> Pubkey {
    let acc = env.account(real).await.unwrap();
    let forged = Pubkey::new_unique();
    env.ctx.set_account(
        &forged,
        &AccountSharedData::from(Account { lamports: acc.lamports, data: acc.data, owner, executable: false, rent_epoch: 0 }),
    );
    forged
}

/// Env with one H100 staked at exactly the requirement; the staker holds `spare` more MESH.
async fn staked(spare: u64) -> (Env, Staker) {
    let mut env = Env::new().await;
    let s = staker(&mut env, 1, H100_STAKE + spare).await;
    env.stake(&s, H100, H100_STAKE).await.unwrap();
    (env, s)
}

#[test]
fn required_stake_is_proportional_to_weight() {
    // MESH has 6 decimals; an H100 (10_000 bps) needs exactly 1,000 MESH.
    assert_eq!(math::MESH_DECIMALS, 6);
    assert_eq!(H100 as u64 * STAKE_PER_WEIGHT_UNIT, 1_000 * 10u64.pow(6));
    assert_eq!(math::required_stake(H100), Some(H100_STAKE));
    assert_eq!(math::required_stake(RTX_4090), Some(167 * MESH));
    assert_eq!(math::required_stake(2 * H100), Some(2 * H100_STAKE));
    assert_eq!(UNSTAKE_COOLDOWN_SECONDS, 604_800);
}

#[tokio::test]
async fn stake_unstake_withdraw_to_the_base_unit() {
    let mut env = Env::new().await;
    let mesh = env.mesh_mint;
    let start = H100_STAKE + 500 * MESH + 7;
    let s = staker(&mut env, 1, start).await;
    let supply = env.mint_supply(&mesh).await;
    let lamports_before = env.lamports(&s.authority.pubkey()).await;

    env.stake(&s, H100, H100_STAKE).await.unwrap();
    assert_eq!(env.balance(&s.token).await, start - H100_STAKE);
    assert_eq!(env.balance(&s.vault).await, H100_STAKE);
    let stake = env.device_stake(&s).await;
    assert_eq!(stake.authority, s.authority.pubkey());
    assert_eq!(stake.device_id, s.device_id);
    assert_eq!((stake.weight_bps, stake.amount, stake.required), (H100, H100_STAKE, H100_STAKE));
    assert_eq!((stake.staked_at, stake.unstake_requested_at, stake.slashed_total), (T0, 0, 0));
    assert_eq!(stake.reserved, [0u8; 64]);
    assert!(stake.is_active());
    assert_eq!(stake.withdrawable_at(), None);
    // The vault is a MESH account whose authority is the stake PDA.
    let vault = spl_token::state::Account::unpack(&env.account(&s.vault).await.unwrap().data).unwrap();
    assert_eq!((vault.mint, vault.owner), (mesh, s.stake));
    // Both rents were paid by the supplier.
    let stake_rent = env.lamports(&s.stake).await;
    let vault_rent = env.lamports(&s.vault).await;
    assert_eq!(env.lamports(&s.authority.pubkey()).await, lamports_before - stake_rent - vault_rent);

    // Beyond the requirement (a second order, a top-up of a full stake): refused, nothing moves.
    env.advance(100).await;
    assert_err(env.stake(&s, H100, 500 * MESH + 7).await, GpuMeshError::StakeAboveRequired);
    assert_eq!(env.balance(&s.token).await, start - H100_STAKE);
    assert_eq!(env.balance(&s.vault).await, H100_STAKE);
    let stake = env.device_stake(&s).await;
    assert_eq!((stake.amount, stake.required, stake.staked_at), (H100_STAKE, H100_STAKE, T0));

    env.request_unstake(&s).await.unwrap();
    let requested = T0 + 100;
    let stake = env.device_stake(&s).await;
    assert_eq!(stake.unstake_requested_at, requested);
    assert!(!stake.is_active(), "an unstaking stake does not count for rewards");
    assert_eq!(stake.withdrawable_at(), Some(requested + UNSTAKE_COOLDOWN_SECONDS));

    // One second short of the cooldown: refused. Exactly at it: paid out and closed.
    env.set_time(requested + UNSTAKE_COOLDOWN_SECONDS - 1).await;
    assert_err(env.withdraw(&s).await, GpuMeshError::UnstakeCooldownActive);
    env.set_time(requested + UNSTAKE_COOLDOWN_SECONDS).await;
    env.withdraw(&s).await.unwrap();
    assert_eq!(env.balance(&s.token).await, start);
    assert!(env.account(&s.stake).await.is_none());
    assert!(env.account(&s.vault).await.is_none());
    assert_eq!(env.lamports(&s.authority.pubkey()).await, lamports_before);
    assert_eq!(env.mint_supply(&mesh).await, supply, "staking never mints or burns");
    // Double withdraw: the stake is gone.
    assert_anchor(env.withdraw(&s).await, AnchorError::AccountNotInitialized);
    assert_anchor(env.request_unstake(&s).await, AnchorError::AccountNotInitialized);

    // The device can be staked again afterwards (a fresh stake).
    env.stake(&s, H100, H100_STAKE).await.unwrap();
    let stake = env.device_stake(&s).await;
    assert_eq!((stake.amount, stake.unstake_requested_at, stake.staked_at), (H100_STAKE, 0, requested + UNSTAKE_COOLDOWN_SECONDS));
}

#[tokio::test]
async fn slashed_mesh_is_burned_and_the_rest_is_withdrawn() {
    let (mut env, s) = staked(0).await;
    let mesh = env.mesh_mint;
    let supply = env.mint_supply(&mesh).await;
    let first = 123_456_789;
    env.slash(&s, first, SlashReason::FailedProof).await.unwrap();
    assert_eq!(env.balance(&s.vault).await, H100_STAKE - first);
    assert_eq!(env.mint_supply(&mesh).await, supply - first, "slashed MESH is burned");
    assert_eq!(env.balance(&s.token).await, 0, "nothing goes to the supplier");
    let stake = env.device_stake(&s).await;
    assert_eq!((stake.amount, stake.slashed_total), (H100_STAKE - first, first));
    assert!(!stake.is_active(), "below the requirement it stops counting");

    // Still slashable during the cooldown (a device cannot unstake its way out of a slash).
    env.request_unstake(&s).await.unwrap();
    env.advance(UNSTAKE_COOLDOWN_SECONDS - 1).await;
    env.slash(&s, 1, SlashReason::VanishedMidLease).await.unwrap();
    assert_eq!(env.mint_supply(&mesh).await, supply - first - 1);
    env.advance(1).await;
    env.withdraw(&s).await.unwrap();
    assert_eq!(env.balance(&s.token).await, H100_STAKE - first - 1);
    assert_eq!(env.mint_supply(&mesh).await, supply - first - 1);
    // After the withdrawal there is nothing left to slash.
    assert_anchor(env.slash(&s, 1, SlashReason::FailedProof).await, AnchorError::AccountNotInitialized);
}

#[tokio::test]
async fn slash_to_zero_then_withdraw_returns_nothing_and_closes() {
    let (mut env, s) = staked(0).await;
    let mesh = env.mesh_mint;
    let supply = env.mint_supply(&mesh).await;
    let lamports = env.lamports(&s.authority.pubkey()).await;
    let rents = env.lamports(&s.stake).await + env.lamports(&s.vault).await;
    assert_err(env.slash(&s, H100_STAKE + 1, SlashReason::FailedProof).await, GpuMeshError::SlashExceedsStake);
    env.slash(&s, H100_STAKE, SlashReason::FailedProof).await.unwrap();
    assert_eq!(env.mint_supply(&mesh).await, supply - H100_STAKE);
    assert_eq!(env.balance(&s.vault).await, 0);
    assert_err(env.slash(&s, 1, SlashReason::FailedProof).await, GpuMeshError::SlashExceedsStake);
    let stake = env.device_stake(&s).await;
    assert_eq!((stake.amount, stake.slashed_total), (0, H100_STAKE));
    env.request_unstake(&s).await.unwrap();
    env.advance(UNSTAKE_COOLDOWN_SECONDS).await;
    env.withdraw(&s).await.unwrap();
    assert_eq!(env.balance(&s.token).await, 0);
    assert!(env.account(&s.stake).await.is_none());
    assert!(env.account(&s.vault).await.is_none());
    assert_eq!(env.lamports(&s.authority.pubkey()).await, lamports + rents);
}

#[tokio::test]
async fn a_slashed_stake_is_topped_up_back_to_full() {
    let (mut env, s) = staked(150 * MESH).await;
    env.slash(&s, 100 * MESH, SlashReason::VanishedMidLease).await.unwrap();
    assert_err(env.stake(&s, H100, 100 * MESH - 1).await, GpuMeshError::StakeBelowRequired);
    env.stake(&s, H100, 100 * MESH).await.unwrap();
    let stake = env.device_stake(&s).await;
    assert_eq!((stake.amount, stake.slashed_total), (H100_STAKE, 100 * MESH));
    assert!(stake.is_active());
    assert_eq!(env.balance(&s.token).await, 50 * MESH);
}

#[tokio::test]
async fn a_stake_is_never_more_than_required() {
    // Two stake orders signed before either landed (two tabs, a retried click): the second would
    // lock a second full stake for nothing. It is refused, and no MESH moves.
    let (mut env, s) = staked(2 * H100_STAKE).await;
    assert_eq!(env.balance(&s.token).await, 2 * H100_STAKE);
    assert_err(env.stake(&s, H100, H100_STAKE).await, GpuMeshError::StakeAboveRequired);
    assert_err(env.stake(&s, H100, 1).await, GpuMeshError::StakeAboveRequired);
    assert_eq!(env.device_stake(&s).await.amount, H100_STAKE);
    assert_eq!(env.balance(&s.token).await, 2 * H100_STAKE);
    // After a slash, the top-up is exactly what is missing: one base unit more is refused.
    env.slash(&s, 40 * MESH, SlashReason::FailedProof).await.unwrap();
    assert_err(env.stake(&s, H100, 40 * MESH + 1).await, GpuMeshError::StakeAboveRequired);
    env.stake(&s, H100, 40 * MESH).await.unwrap();
    assert_eq!(env.device_stake(&s).await.amount, H100_STAKE);
    assert_eq!(env.balance(&s.token).await, 2 * H100_STAKE - 40 * MESH);
}

#[tokio::test]
async fn stake_guards() {
    let mut env = Env::new().await;
    let s = staker(&mut env, 1, 2 * H100_STAKE).await;
    // Weight out of range, zero amount, a new stake below its requirement.
    assert_err(env.stake(&s, 0, H100_STAKE).await, GpuMeshError::InvalidWeight);
    assert_err(env.stake(&s, MAX_DEVICE_WEIGHT_BPS + 1, H100_STAKE).await, GpuMeshError::InvalidWeight);
    assert_err(env.stake(&s, H100, 0).await, GpuMeshError::ZeroAmount);
    assert_err(env.stake(&s, H100, H100_STAKE - 1).await, GpuMeshError::StakeBelowRequired);
    assert!(env.account(&s.stake).await.is_none(), "a failed stake leaves nothing behind");
    // Paused: no new stake.
    let admin = env.admin.insecure_clone();
    env.send(&[ix::set_paused(&admin.pubkey(), true)], &[&admin]).await.unwrap();
    assert_err(env.stake(&s, H100, H100_STAKE).await, GpuMeshError::Paused);
    env.send(&[ix::set_paused(&admin.pubkey(), false)], &[&admin]).await.unwrap();

    env.stake(&s, H100, H100_STAKE).await.unwrap();
    // Re-stake with another weight (lower, to stake less; or higher): refused.
    assert_err(env.stake(&s, RTX_4090, MESH).await, GpuMeshError::StakeWeightMismatch);
    assert_err(env.stake(&s, H100 + 1, MESH).await, GpuMeshError::StakeWeightMismatch);
    // Top-up by another supplier (even co-signed): refused; its MESH stays where it was.
    let other = staker(&mut env, 1, H100_STAKE).await;
    assert_eq!(other.stake, s.stake);
    assert_err(env.stake(&other, H100, MESH).await, GpuMeshError::Unauthorized);
    assert_eq!(env.balance(&other.token).await, H100_STAKE);
    // Paused: no top-up either.
    env.send(&[ix::set_paused(&admin.pubkey(), true)], &[&admin]).await.unwrap();
    assert_err(env.stake(&s, H100, MESH).await, GpuMeshError::Paused);
    env.send(&[ix::set_paused(&admin.pubkey(), false)], &[&admin]).await.unwrap();
    // Unstaking: no top-up.
    env.request_unstake(&s).await.unwrap();
    assert_err(env.stake(&s, H100, MESH).await, GpuMeshError::StakeUnstaking);
    assert_eq!(env.device_stake(&s).await.amount, H100_STAKE);

    // The largest weight is accepted with exactly its requirement.
    let max_required = math::required_stake(MAX_DEVICE_WEIGHT_BPS).unwrap();
    let big = staker(&mut env, 2, max_required).await;
    env.stake(&big, MAX_DEVICE_WEIGHT_BPS, max_required).await.unwrap();
    assert_eq!(env.device_stake(&big).await.required, 100_000 * MESH);
}

#[tokio::test]
async fn stake_needs_the_settlement_authority_cosign() {
    let mut env = Env::new().await;
    let s = staker(&mut env, 1, H100_STAKE).await;
    let mesh = env.mesh_mint;
    let a = s.authority.pubkey();
    let st = env.settlement.pubkey();
    // Without the settlement authority's signature.
    let i = unsigned(s.stake_ix(&env, H100, H100_STAKE), &st);
    assert_anchor(env.send(&[i], &[&s.authority]).await, AnchorError::AccountNotSigner);
    // Co-signed by someone else: a stranger, the admin, the supplier itself.
    let stranger = env.funded_keypair().await;
    let admin = env.admin.insecure_clone();
    for signer in [&stranger, &admin] {
        let i = ix::stake_device(&a, &signer.pubkey(), &mesh, &s.token, s.device_id, H100, H100_STAKE);
        assert_err(env.send(&[i], &[&s.authority, signer]).await, GpuMeshError::Unauthorized);
    }
    let i = ix::stake_device(&a, &a, &mesh, &s.token, s.device_id, H100, H100_STAKE);
    assert_err(env.send(&[i], &[&s.authority]).await, GpuMeshError::Unauthorized);
    // Without the supplier's signature (the settlement authority cannot stake a supplier's MESH).
    let settlement = env.settlement.insecure_clone();
    let i = unsigned(s.stake_ix(&env, H100, H100_STAKE), &a);
    assert_anchor(env.send(&[i], &[&settlement]).await, AnchorError::AccountNotSigner);
    assert!(env.account(&s.stake).await.is_none());
    assert_eq!(env.balance(&s.token).await, H100_STAKE);
}

#[tokio::test]
async fn wrong_signers_for_unstake_withdraw_and_slash() {
    let (mut env, s) = staked(0).await;
    let mesh = env.mesh_mint;
    let stranger = env.funded_keypair().await;
    let stranger_token = env.funded_token_account(&mesh, &stranger.pubkey(), 0).await;
    let admin = env.admin.insecure_clone();
    let settlement = env.settlement.insecure_clone();
    // Unstake: only the stake's authority (not the settlement authority, not the admin).
    for k in [&stranger, &settlement, &admin] {
        let i = ix::request_unstake(&k.pubkey(), s.device_id);
        assert_err(env.send(&[i], &[k]).await, GpuMeshError::Unauthorized);
    }
    assert_anchor(env.send(&[unsigned(s.unstake_ix(), &s.authority.pubkey())], &[]).await, AnchorError::AccountNotSigner);
    env.request_unstake(&s).await.unwrap();
    env.advance(UNSTAKE_COOLDOWN_SECONDS).await;
    // Withdraw: only the authority, into its own account.
    let i = ix::withdraw_stake(&stranger.pubkey(), &mesh, &stranger_token, s.device_id);
    assert_err(env.send(&[i], &[&stranger]).await, GpuMeshError::Unauthorized);
    let i = ix::withdraw_stake(&settlement.pubkey(), &mesh, &stranger_token, s.device_id);
    assert_err(env.send(&[i], &[&settlement]).await, GpuMeshError::Unauthorized);
    let i = unsigned(s.withdraw_ix(&env), &s.authority.pubkey());
    assert_anchor(env.send(&[i], &[]).await, AnchorError::AccountNotSigner);
    // Slash: only the settlement authority (not the admin, not the supplier, not a stranger).
    for k in [&stranger, &admin, &s.authority] {
        let i = ix::slash_stake(&k.pubkey(), &mesh, s.device_id, 1, SlashReason::FailedProof, EVIDENCE);
        assert_err(env.send(&[i], &[k]).await, GpuMeshError::Unauthorized);
    }
    let i = unsigned(s.slash_ix(&env, 1, SlashReason::FailedProof), &settlement.pubkey());
    assert_anchor(env.send(&[i], &[]).await, AnchorError::AccountNotSigner);
    // Nothing moved.
    assert_eq!(env.balance(&s.vault).await, H100_STAKE);
    assert_eq!(env.balance(&stranger_token).await, 0);
    env.withdraw(&s).await.unwrap();
    assert_eq!(env.balance(&s.token).await, H100_STAKE);
}

#[tokio::test]
async fn unstake_and_withdraw_guards() {
    let (mut env, s) = staked(0).await;
    // Withdraw without a request, even long after staking.
    env.advance(10 * UNSTAKE_COOLDOWN_SECONDS).await;
    assert_err(env.withdraw(&s).await, GpuMeshError::UnstakeNotRequested);
    env.request_unstake(&s).await.unwrap();
    let requested = env.now().await;
    // A second request cannot restart (or shorten) the cooldown.
    env.advance(10).await;
    assert_err(env.request_unstake(&s).await, GpuMeshError::UnstakeAlreadyRequested);
    assert_eq!(env.device_stake(&s).await.unstake_requested_at, requested);
    // Before the cooldown, at 1 s short of it, then exactly at the boundary.
    assert_err(env.withdraw(&s).await, GpuMeshError::UnstakeCooldownActive);
    env.set_time(requested + UNSTAKE_COOLDOWN_SECONDS - 1).await;
    assert_err(env.withdraw(&s).await, GpuMeshError::UnstakeCooldownActive);
    env.set_time(requested + UNSTAKE_COOLDOWN_SECONDS).await;
    env.withdraw(&s).await.unwrap();
    assert_eq!(env.balance(&s.token).await, H100_STAKE);
    assert_anchor(env.withdraw(&s).await, AnchorError::AccountNotInitialized);
}

#[tokio::test]
async fn unstake_withdraw_and_slash_work_while_paused() {
    let (mut env, s) = staked(0).await;
    let admin = env.admin.insecure_clone();
    env.send(&[ix::set_paused(&admin.pubkey(), true)], &[&admin]).await.unwrap();
    env.request_unstake(&s).await.unwrap();
    env.slash(&s, MESH, SlashReason::FailedProof).await.unwrap();
    env.advance(UNSTAKE_COOLDOWN_SECONDS).await;
    env.withdraw(&s).await.unwrap();
    assert_eq!(env.balance(&s.token).await, H100_STAKE - MESH);
}

#[tokio::test]
async fn slash_guards() {
    let (mut env, s) = staked(0).await;
    let mesh = env.mesh_mint;
    let settlement = env.settlement.insecure_clone();
    assert_err(env.slash(&s, 0, SlashReason::FailedProof).await, GpuMeshError::ZeroAmount);
    assert_err(env.slash(&s, H100_STAKE + 1, SlashReason::FailedProof).await, GpuMeshError::SlashExceedsStake);
    assert_err(env.slash(&s, u64::MAX, SlashReason::VanishedMidLease).await, GpuMeshError::SlashExceedsStake);
    let i = ix::slash_stake(&settlement.pubkey(), &mesh, s.device_id, 1, SlashReason::FailedProof, [0u8; 32]);
    assert_err(env.send(&[i], &[&settlement]).await, GpuMeshError::MissingEvidence);
    // A reason that is not in the enum does not deserialize.
    let mut i = s.slash_ix(&env, 1, SlashReason::FailedProof);
    let reason_at = 8 + 16 + 8;
    assert_eq!(i.data[reason_at], 0);
    i.data[reason_at] = 2;
    assert_anchor(env.send(&[i], &[&settlement]).await, AnchorError::InstructionDidNotDeserialize);
    // A device that never staked.
    let i = ix::slash_stake(&settlement.pubkey(), &mesh, device_id(9), 1, SlashReason::FailedProof, EVIDENCE);
    assert_anchor(env.send(&[i], &[&settlement]).await, AnchorError::AccountNotInitialized);
    // Tokens a third party sends into the vault do not raise what can be slashed ...
    let faucet = env.mesh_faucet;
    let admin = env.admin.insecure_clone();
    env.token_transfer(&faucet, &s.vault, &admin, 5).await;
    assert_err(env.slash(&s, H100_STAKE + 1, SlashReason::FailedProof).await, GpuMeshError::SlashExceedsStake);
    // ... and are returned with the stake.
    env.request_unstake(&s).await.unwrap();
    env.advance(UNSTAKE_COOLDOWN_SECONDS).await;
    env.withdraw(&s).await.unwrap();
    assert_eq!(env.balance(&s.token).await, H100_STAKE + 5);
    assert!(env.account(&s.stake).await.is_none());
}

#[tokio::test]
async fn the_same_evidence_slashes_a_stake_once() {
    let (mut env, s) = staked(0).await;
    let mesh = env.mesh_mint;
    let supply = env.mint_supply(&mesh).await;
    let settlement = env.settlement.pubkey();
    let lamports = env.lamports(&settlement).await;
    env.slash_with(&s, 100 * MESH, SlashReason::FailedProof, EVIDENCE).await.unwrap();
    // The record: which stake, which evidence, why, how much, when; its rent paid by the authority.
    let record_key = pda::slash_record(&s.stake, &EVIDENCE).0;
    let record = env.slash_record(&s, &EVIDENCE).await.expect("the slash left its record");
    let clock = env.clock().await;
    assert_eq!(
        (record.device_stake, record.device_id, record.evidence_hash, record.reason, record.amount, record.slot, record.slashed_at),
        (s.stake, s.device_id, EVIDENCE, SlashReason::FailedProof, 100 * MESH, clock.slot, clock.unix_timestamp)
    );
    assert_eq!(env.lamports(&settlement).await, lamports - env.lamports(&record_key).await);

    // The same evidence again (a retried job, a second scheduler), whatever the amount or reason:
    // the record's address is in use, the runtime refuses (System Program error 0), nothing moves.
    env.advance(60).await;
    for (amount, reason) in [(100 * MESH, SlashReason::FailedProof), (1, SlashReason::FailedProof), (100 * MESH, SlashReason::VanishedMidLease)] {
        assert_code(env.slash_with(&s, amount, reason, EVIDENCE).await, 0);
    }
    let stake = env.device_stake(&s).await;
    assert_eq!((stake.amount, stake.slashed_total), (H100_STAKE - 100 * MESH, 100 * MESH));
    assert_eq!(env.balance(&s.vault).await, H100_STAKE - 100 * MESH);
    assert_eq!(env.mint_supply(&mesh).await, supply - 100 * MESH);
    let unchanged = env.slash_record(&s, &EVIDENCE).await.unwrap();
    assert_eq!((unchanged.amount, unchanged.slashed_at), (100 * MESH, clock.unix_timestamp));

    // Other evidence (another offence) slashes again, with its own record.
    env.slash_with(&s, 50 * MESH, SlashReason::VanishedMidLease, OTHER_EVIDENCE).await.unwrap();
    let stake = env.device_stake(&s).await;
    assert_eq!((stake.amount, stake.slashed_total), (H100_STAKE - 150 * MESH, 150 * MESH));
    assert_eq!(env.mint_supply(&mesh).await, supply - 150 * MESH);
    assert_eq!(env.slash_record(&s, &OTHER_EVIDENCE).await.unwrap().reason, SlashReason::VanishedMidLease);

    // The record is per stake: the same hash against another device's stake is another record.
    let t = staker(&mut env, 2, H100_STAKE).await;
    env.stake(&t, H100, H100_STAKE).await.unwrap();
    env.slash_with(&t, MESH, SlashReason::FailedProof, EVIDENCE).await.unwrap();
    assert_eq!(env.device_stake(&t).await.amount, H100_STAKE - MESH);
    assert_eq!(env.device_stake(&s).await.amount, H100_STAKE - 150 * MESH);
}

#[tokio::test]
async fn a_refused_slash_does_not_use_up_its_evidence() {
    let (mut env, s) = staked(0).await;
    let mesh = env.mesh_mint;
    let settlement = env.settlement.insecure_clone();
    let admin = env.admin.insecure_clone();
    let stranger = env.funded_keypair().await;
    // Wrong authorities are still refused, and leave no record behind.
    for k in [&stranger, &admin, &s.authority] {
        let i = ix::slash_stake(&k.pubkey(), &mesh, s.device_id, 1, SlashReason::FailedProof, EVIDENCE);
        assert_err(env.send(&[i], &[k]).await, GpuMeshError::Unauthorized);
    }
    // So is a slash the handler refuses (the transaction is atomic).
    assert_err(env.slash_with(&s, H100_STAKE + 1, SlashReason::FailedProof, EVIDENCE).await, GpuMeshError::SlashExceedsStake);
    assert!(env.slash_record(&s, &EVIDENCE).await.is_none());
    assert_eq!(env.device_stake(&s).await.amount, H100_STAKE);
    // The record must sit at its seeds: another evidence's address, or another stake's, is rejected.
    let i = with(s.slash_ix(&env, 1, SlashReason::FailedProof), &pda::slash_record(&s.stake, &EVIDENCE).0, pda::slash_record(&s.stake, &OTHER_EVIDENCE).0);
    assert_anchor(env.send(&[i], &[&settlement]).await, AnchorError::ConstraintSeeds);
    let elsewhere = pda::slash_record(&pda::device_stake(&device_id(9)).0, &EVIDENCE).0;
    let i = with(s.slash_ix(&env, 1, SlashReason::FailedProof), &pda::slash_record(&s.stake, &EVIDENCE).0, elsewhere);
    assert_anchor(env.send(&[i], &[&settlement]).await, AnchorError::ConstraintSeeds);
    // Lamports someone sent to the record's address do not block the slash either.
    let payer = env.payer();
    env.send(&[system_instruction::transfer(&payer, &pda::slash_record(&s.stake, &EVIDENCE).0, 1_000_000)], &[]).await.unwrap();
    // The evidence is still good for exactly one slash.
    env.slash_with(&s, MESH, SlashReason::FailedProof, EVIDENCE).await.unwrap();
    assert_code(env.slash_with(&s, MESH, SlashReason::FailedProof, EVIDENCE).await, 0);
    assert_eq!(env.device_stake(&s).await.amount, H100_STAKE - MESH);
}

#[tokio::test]
async fn slash_records_outlive_the_stake() {
    let (mut env, s) = staked(H100_STAKE).await;
    env.slash_with(&s, MESH, SlashReason::VanishedMidLease, EVIDENCE).await.unwrap();
    env.request_unstake(&s).await.unwrap();
    env.advance(UNSTAKE_COOLDOWN_SECONDS).await;
    env.withdraw(&s).await.unwrap();
    assert!(env.slash_record(&s, &EVIDENCE).await.is_some(), "withdrawing closes the stake, not its slash records");
    // A new stake of the same device lives at the same address: old evidence cannot slash it.
    env.stake(&s, H100, H100_STAKE).await.unwrap();
    assert_code(env.slash_with(&s, MESH, SlashReason::VanishedMidLease, EVIDENCE).await, 0);
    assert_eq!(env.device_stake(&s).await.amount, H100_STAKE);
}

#[tokio::test]
async fn token_account_and_mint_checks() {
    let (mut env, s) = staked(10 * MESH).await;
    let (mesh, usdc) = (env.mesh_mint, env.usdc_mint);
    let settlement = env.settlement.insecure_clone();
    let a = s.authority.insecure_clone();
    let usdc_token = env.funded_token_account(&usdc, &a.pubkey(), 10 * MESH).await;
    let stranger = env.funded_keypair().await;
    let stranger_mesh = env.funded_token_account(&mesh, &stranger.pubkey(), 10 * MESH).await;
    let other = staker(&mut env, 2, H100_STAKE).await;
    env.stake(&other, H100, H100_STAKE).await.unwrap();
    let signers: [&Keypair; 2] = [&a, &settlement];

    // stake_device: a USDC account, the USDC mint, someone else's MESH account, the vault itself,
    // another stake's vault, a fake token program.
    let top_up = s.stake_ix(&env, H100, MESH);
    let i = ix::stake_device(&a.pubkey(), &settlement.pubkey(), &mesh, &usdc_token, s.device_id, H100, MESH);
    assert_err(env.send(&[i], &signers).await, GpuMeshError::InvalidMint);
    assert_err(env.send(&[with(top_up.clone(), &mesh, usdc)], &signers).await, GpuMeshError::InvalidMint);
    assert_err(env.send(&[with(top_up.clone(), &s.token, stranger_mesh)], &signers).await, GpuMeshError::InvalidTokenOwner);
    assert_err(env.send(&[with(top_up.clone(), &s.token, s.vault)], &signers).await, GpuMeshError::DuplicateAccount);
    assert_anchor(env.send(&[with(top_up.clone(), &s.vault, other.vault)], &signers).await, AnchorError::ConstraintSeeds);
    assert_anchor(env.send(&[with(top_up.clone(), &s.vault, s.token)], &signers).await, AnchorError::ConstraintSeeds);
    for fake in [Pubkey::new_unique(), TOKEN_2022] {
        assert_anchor(env.send(&[with(top_up.clone(), &spl_token::ID, fake)], &signers).await, AnchorError::InvalidProgramId);
    }
    assert_eq!(env.balance(&stranger_mesh).await, 10 * MESH);

    env.request_unstake(&s).await.unwrap();
    env.advance(UNSTAKE_COOLDOWN_SECONDS).await;
    // withdraw_stake: into someone else's account, a USDC account, the vault; the USDC mint;
    // another stake's vault; a fake token program.
    let withdraw = s.withdraw_ix(&env);
    assert_err(env.send(&[with(withdraw.clone(), &s.token, stranger_mesh)], &[&a]).await, GpuMeshError::InvalidTokenOwner);
    assert_err(env.send(&[with(withdraw.clone(), &s.token, usdc_token)], &[&a]).await, GpuMeshError::InvalidMint);
    assert_err(env.send(&[with(withdraw.clone(), &s.token, s.vault)], &[&a]).await, GpuMeshError::DuplicateAccount);
    assert_err(env.send(&[with(withdraw.clone(), &mesh, usdc)], &[&a]).await, GpuMeshError::InvalidMint);
    assert_anchor(env.send(&[with(withdraw.clone(), &s.vault, other.vault)], &[&a]).await, AnchorError::ConstraintSeeds);
    assert_anchor(env.send(&[with(withdraw.clone(), &spl_token::ID, TOKEN_2022)], &[&a]).await, AnchorError::InvalidProgramId);

    // slash_stake: the USDC mint, another stake's vault (slashing one device burns only its own).
    let slash = s.slash_ix(&env, MESH, SlashReason::FailedProof);
    assert_err(env.send(&[with(slash.clone(), &mesh, usdc)], &[&settlement]).await, GpuMeshError::InvalidMint);
    assert_anchor(env.send(&[with(slash.clone(), &s.vault, other.vault)], &[&settlement]).await, AnchorError::ConstraintSeeds);
    assert_anchor(env.send(&[with(slash.clone(), &s.stake, other.stake)], &[&settlement]).await, AnchorError::ConstraintSeeds);
    assert_anchor(env.send(&[with(slash, &spl_token::ID, TOKEN_2022)], &[&settlement]).await, AnchorError::InvalidProgramId);
    assert_eq!(env.balance(&other.vault).await, H100_STAKE);

    env.send(&[withdraw], &[&a]).await.unwrap();
    assert_eq!(env.balance(&s.token).await, H100_STAKE + 10 * MESH);
}

#[tokio::test]
async fn forged_and_foreign_stake_accounts() {
    let (mut env, s) = staked(0).await;
    let attacker = env.funded_keypair().await;
    let mesh = env.mesh_mint;
    let attacker_token = env.funded_token_account(&mesh, &attacker.pubkey(), 0).await;
    env.request_unstake(&s).await.unwrap();
    env.advance(UNSTAKE_COOLDOWN_SECONDS).await;
    // A program-owned copy of the stake naming the attacker as authority, at another address.
    let forged = forge(&mut env, &s.stake, gpumesh::ID).await;
    let mut acc = env.account(&forged).await.unwrap();
    acc.data[8..40].copy_from_slice(attacker.pubkey().as_ref());
    env.ctx.set_account(&forged, &AccountSharedData::from(acc));
    let i = with(ix::withdraw_stake(&attacker.pubkey(), &mesh, &attacker_token, s.device_id), &s.stake, forged);
    assert_anchor(env.send(&[i], &[&attacker]).await, AnchorError::ConstraintSeeds);
    // The same copy owned by another program.
    let foreign = forge(&mut env, &forged, Pubkey::new_unique()).await;
    let i = with(s.withdraw_ix(&env), &s.stake, foreign);
    assert_anchor(env.send(&[i], &[&s.authority]).await, AnchorError::AccountOwnedByWrongProgram);
    // Type cosplay: the config where a stake is expected.
    let i = with(s.withdraw_ix(&env), &s.stake, pda::config().0);
    assert_anchor(env.send(&[i], &[&s.authority]).await, AnchorError::AccountDiscriminatorMismatch);
    let i = with(s.slash_ix(&env, 1, SlashReason::FailedProof), &s.stake, pda::config().0);
    let settlement = env.settlement.insecure_clone();
    assert_anchor(env.send(&[i], &[&settlement]).await, AnchorError::AccountDiscriminatorMismatch);
    // The real stake under another device's id (instruction data) fails its seeds.
    let mut i = s.withdraw_ix(&env);
    i.data[8 + 15] ^= 1;
    assert_anchor(env.send(&[i], &[&s.authority]).await, AnchorError::ConstraintSeeds);
    env.withdraw(&s).await.unwrap();
    assert_eq!(env.balance(&attacker_token).await, 0);
    assert_eq!(env.balance(&s.token).await, H100_STAKE);
}

#[tokio::test]
async fn pre_funded_stake_addresses_do_not_block_a_stake() {
    let mut env = Env::new().await;
    let s = staker(&mut env, 1, H100_STAKE).await;
    let payer = env.payer();
    env.send(&[system_instruction::transfer(&payer, &s.vault, 3_000_000)], &[]).await.unwrap();
    env.send(&[system_instruction::transfer(&payer, &s.stake, 1_000_000)], &[]).await.unwrap();
    env.stake(&s, H100, H100_STAKE).await.unwrap();
    assert_eq!(env.balance(&s.vault).await, H100_STAKE);
    assert!(env.device_stake(&s).await.is_active());
}

#[tokio::test]
async fn overflow_checks() {
    let (mut env, s) = staked(10).await;
    // A top-up that would overflow the staked amount.
    env.patch_stake(&s, |st| st.amount = u64::MAX - 5).await;
    assert_err(env.stake(&s, H100, 10).await, GpuMeshError::MathOverflow);
    env.patch_stake(&s, |st| st.amount = H100_STAKE).await;
    // A slash that would overflow the slashed total.
    env.patch_stake(&s, |st| st.slashed_total = u64::MAX).await;
    assert_err(env.slash(&s, 1, SlashReason::FailedProof).await, GpuMeshError::MathOverflow);
    env.patch_stake(&s, |st| st.slashed_total = 0).await;
    // A request time whose cooldown end does not fit an i64.
    env.patch_stake(&s, |st| st.unstake_requested_at = i64::MAX).await;
    assert_err(env.withdraw(&s).await, GpuMeshError::MathOverflow);
    // A stake that claims more than its vault holds cannot withdraw (the vault is the truth).
    env.patch_stake(&s, |st| {
        st.unstake_requested_at = T0;
        st.amount = H100_STAKE + 1;
    })
    .await;
    env.set_time(T0 + UNSTAKE_COOLDOWN_SECONDS).await;
    assert_err(env.withdraw(&s).await, GpuMeshError::MathOverflow);
    env.patch_stake(&s, |st| st.amount = H100_STAKE).await;
    env.withdraw(&s).await.unwrap();
    assert_eq!(env.balance(&s.token).await, H100_STAKE + 10);
}
