//! GPUMesh on-chain program: lease escrow with activation and per-supplier allocations,
//! settlement (fee + MESH burn on running totals), hourly MESH emissions into a rewards
//! vault, merkle-proven reward claims, and per-device MESH stake (slashed stake is burned).
//!
//! See `math.rs` for the emission schedule and settlement split, `merkle.rs` for the reward
//! tree, and `instructions/` for one module per instruction (each with its `CHECK:` list).
//! This file is only the dispatch table. The trust model is in the README.
#![allow(unexpected_cfgs)]
// Anchor's generated code trips these on recent compilers.
#![allow(clippy::result_large_err, clippy::too_many_arguments)]
// anchor 0.31.1's `#[program]` expansion calls the deprecated `AccountInfo::realloc`.
#![allow(deprecated)]

use anchor_lang::prelude::*;

pub mod constants;
pub mod errors;
pub mod events;
pub mod instructions;
pub mod math;
pub mod merkle;
pub mod pda;
pub mod state;
pub mod utils;

pub use constants::*;
pub use errors::GpuMeshError;
use instructions::*;
pub use state::*;

/// Host-only entry for `solana-program-test`'s `processor!`: the Rust tests and programs/localnet
/// run the program natively. Anchor's `entry` wants `&'info [AccountInfo<'info>]`; `processor!`
/// hands out independent lifetimes. The accounts outlive the call, so unifying them is sound.
#[cfg(not(target_os = "solana"))]
pub fn native_entry<'a, 'b, 'c>(
    program_id: &'a Pubkey,
    accounts: &'b [AccountInfo<'c>],
    data: &[u8],
) -> anchor_lang::solana_program::entrypoint::ProgramResult {
    let accounts: &'c [AccountInfo<'c>] = unsafe { std::mem::transmute(accounts) };
    entry(program_id, accounts, data)
}

#[cfg(not(feature = "no-entrypoint"))]
solana_security_txt::security_txt! {
    name: "GPUMesh",
    project_url: "https://github.com/gpumesh/gpumesh",
    contacts: "email:security@gpumesh.dev",
    policy: "https://github.com/gpumesh/gpumesh/blob/main/SECURITY.md",
    source_code: "https://github.com/gpumesh/gpumesh",
    auditors: "None"
}

// Dev program id: ed25519 key derived from seed sha256("gpumesh:dev:program-id").
declare_id!("E2hY6XMekrhBJfhLTcRsePT9fkaegVxWYwGtnPp3za3Z");

#[program]
pub mod gpumesh {
    use super::*;

    // ---- admin ----

    /// One-time setup by `ADMIN_AUTHORITY`: config, rewards vault, MESH mint authority.
    pub fn initialize(ctx: Context<Initialize>, args: InitializeArgs) -> Result<()> {
        instructions::initialize::initialize_handler(ctx, args)
    }

    /// Admin: change authorities, treasury, fees (not the admin: see `propose_admin`).
    pub fn update_config(ctx: Context<UpdateConfig>, args: UpdateConfigArgs) -> Result<()> {
        instructions::update_config::update_config_handler(ctx, args)
    }

    /// Admin: pause / unpause.
    pub fn set_paused(ctx: Context<SetPaused>, paused: bool) -> Result<()> {
        instructions::set_paused::set_paused_handler(ctx, paused)
    }

    /// Admin: accept (or stop accepting) a payment mint, with a minimum price.
    pub fn set_payment_mint(
        ctx: Context<SetPaymentMint>,
        enabled: bool,
        min_price_per_second: u64,
    ) -> Result<()> {
        instructions::set_payment_mint::set_payment_mint_handler(ctx, enabled, min_price_per_second)
    }

    /// Admin: propose the next admin (step one of two).
    pub fn propose_admin(ctx: Context<ProposeAdmin>, new_admin: Pubkey) -> Result<()> {
        instructions::propose_admin::propose_admin_handler(ctx, new_admin)
    }

    /// Pending admin: accept the role (step two).
    pub fn accept_admin(ctx: Context<AcceptAdmin>) -> Result<()> {
        instructions::accept_admin::accept_admin_handler(ctx)
    }

    // ---- suppliers ----

    /// A wallet registers as a supplier, naming the wallet its payouts go to.
    pub fn register_supplier(ctx: Context<RegisterSupplier>, payout_wallet: Pubkey) -> Result<()> {
        instructions::register_supplier::register_supplier_handler(ctx, payout_wallet)
    }

    /// Supplier: rotate the payout wallet.
    pub fn set_payout_wallet(ctx: Context<SetPayoutWallet>, payout_wallet: Pubkey) -> Result<()> {
        instructions::set_payout_wallet::set_payout_wallet_handler(ctx, payout_wallet)
    }

    // ---- leases ----

    /// Renter escrows `price_per_second · max_seconds`; the lease starts Pending.
    pub fn open_lease(
        ctx: Context<OpenLease>,
        lease_id: u64,
        price_per_second: u64,
        max_seconds: u64,
    ) -> Result<()> {
        instructions::open_lease::open_lease_handler(ctx, lease_id, price_per_second, max_seconds)
    }

    /// Settlement authority: Pending → Active at the real start, if the terms match the quote.
    pub fn activate_lease(
        ctx: Context<ActivateLease>,
        start_ts: i64,
        price_per_second: u64,
        max_seconds: u64,
    ) -> Result<()> {
        instructions::activate_lease::activate_lease_handler(ctx, start_ts, price_per_second, max_seconds)
    }

    /// Settlement authority: a supplier starts serving the lease at `rate_per_second`.
    pub fn add_allocation(ctx: Context<AddAllocation>, rate_per_second: u64, from_ts: i64) -> Result<()> {
        instructions::add_allocation::add_allocation_handler(ctx, rate_per_second, from_ts)
    }

    /// Settlement authority: a supplier stops serving the lease at `until_ts`.
    pub fn release_allocation(ctx: Context<ReleaseAllocation>, until_ts: i64) -> Result<()> {
        instructions::release_allocation::release_allocation_handler(ctx, until_ts)
    }

    /// Anyone: pay an allocation what it earned up to `until` (default now).
    pub fn settle_allocation(ctx: Context<SettleAllocation>, until: Option<i64>) -> Result<()> {
        instructions::settle_allocation::settle_allocation_handler(ctx, until)
    }

    /// Renter or settlement authority (anyone once expired): end pro rata, refund the rest.
    pub fn end_lease(ctx: Context<EndLease>, end_ts: Option<i64>) -> Result<()> {
        instructions::end_lease::end_lease_handler(ctx, end_ts)
    }

    /// Anyone: close the escrow of an Ended lease whose allocations are all paid.
    pub fn close_lease(ctx: Context<CloseLease>) -> Result<()> {
        instructions::close_lease::close_lease_handler(ctx)
    }

    /// Settlement authority (any time) or renter (after the activation deadline): cancel a
    /// Pending lease with a 100 % refund.
    pub fn cancel_lease(ctx: Context<CancelLease>) -> Result<()> {
        instructions::cancel_lease::cancel_lease_handler(ctx)
    }

    /// Renter: extend at the same price (top-up).
    pub fn extend_lease(ctx: Context<ExtendLease>, extra_seconds: u64) -> Result<()> {
        instructions::extend_lease::extend_lease_handler(ctx, extra_seconds)
    }

    // ---- stake ----

    /// Supplier, co-signed by the settlement authority (the weight attestation): stake MESH
    /// for a device (create or top up), `weight_bps · STAKE_PER_WEIGHT_UNIT` at least.
    pub fn stake_device(ctx: Context<StakeDevice>, device_id: [u8; 16], weight_bps: u32, amount: u64) -> Result<()> {
        instructions::stake_device::stake_device_handler(ctx, device_id, weight_bps, amount)
    }

    /// Stake authority: stop counting for rewards and start the unstake cooldown.
    pub fn request_unstake(ctx: Context<RequestUnstake>, device_id: [u8; 16]) -> Result<()> {
        instructions::request_unstake::request_unstake_handler(ctx, device_id)
    }

    /// Stake authority, after the cooldown: what is left back, stake and vault closed.
    pub fn withdraw_stake(ctx: Context<WithdrawStake>, device_id: [u8; 16]) -> Result<()> {
        instructions::withdraw_stake::withdraw_stake_handler(ctx, device_id)
    }

    /// Settlement authority: burn up to the staked amount for proven cheating, with evidence.
    pub fn slash_stake(
        ctx: Context<SlashStake>,
        device_id: [u8; 16],
        amount: u64,
        reason: SlashReason,
        evidence_hash: [u8; 32],
    ) -> Result<()> {
        instructions::slash_stake::slash_stake_handler(ctx, device_id, amount, reason, evidence_hash)
    }

    // ---- emissions and rewards ----

    /// Permissionless: mint what the emission schedule allows into the rewards vault.
    pub fn crank_emissions(ctx: Context<CrankEmissions>) -> Result<()> {
        instructions::crank_emissions::crank_emissions_handler(ctx)
    }

    /// Rewards authority posts the merkle root of cumulative reward amounts.
    pub fn post_reward_root(
        ctx: Context<PostRewardRoot>,
        epoch: u64,
        root: [u8; 32],
        total_cumulative: u64,
    ) -> Result<()> {
        instructions::post_reward_root::post_reward_root_handler(ctx, epoch, root, total_cumulative)
    }

    /// A claimant withdraws `cumulative − already claimed` with a merkle proof.
    pub fn claim_rewards(
        ctx: Context<ClaimRewards>,
        cumulative: u64,
        proof: Vec<[u8; 32]>,
    ) -> Result<()> {
        instructions::claim_rewards::claim_rewards_handler(ctx, cumulative, proof)
    }
}
