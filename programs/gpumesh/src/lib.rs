//! GPUMesh on-chain program: lease escrow and settlement (fee + MESH burn), hourly MESH
//! emissions into a rewards vault, and merkle-proven reward claims.
//!
//! See `math.rs` for the emission schedule and settlement split, `merkle.rs` for the reward
//! tree, and `instructions/` for one module per instruction.
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

// Dev program id: ed25519 key derived from seed sha256("gpumesh:dev:program-id").
declare_id!("E2hY6XMekrhBJfhLTcRsePT9fkaegVxWYwGtnPp3za3Z");

#[program]
pub mod gpumesh {
    use super::*;

    /// One-time setup by `ADMIN_AUTHORITY`: creates the config and the rewards vault and
    /// hands the MESH mint authority to the program's `mint_authority` PDA.
    pub fn initialize(ctx: Context<Initialize>, args: InitializeArgs) -> Result<()> {
        instructions::initialize::initialize_handler(ctx, args)
    }

    /// Admin: change authorities, treasury, fees; optionally hand over the admin role.
    pub fn update_config(ctx: Context<UpdateConfig>, args: UpdateConfigArgs) -> Result<()> {
        instructions::admin::update_config_handler(ctx, args)
    }

    /// Admin: pause / unpause.
    pub fn set_paused(ctx: Context<SetPaused>, paused: bool) -> Result<()> {
        instructions::admin::set_paused_handler(ctx, paused)
    }

    /// Admin: accept (or stop accepting) a payment mint, with a minimum price.
    pub fn set_payment_mint(
        ctx: Context<SetPaymentMint>,
        enabled: bool,
        min_price_per_second: u64,
    ) -> Result<()> {
        instructions::admin::set_payment_mint_handler(ctx, enabled, min_price_per_second)
    }

    /// A wallet registers as a supplier, naming the wallet its payouts go to.
    pub fn register_supplier(ctx: Context<RegisterSupplier>, payout_wallet: Pubkey) -> Result<()> {
        instructions::supplier::register_supplier_handler(ctx, payout_wallet)
    }

    /// Renter escrows `price_per_second · max_seconds` for a lease with a supplier.
    pub fn open_lease(
        ctx: Context<OpenLease>,
        lease_id: u64,
        price_per_second: u64,
        max_seconds: u64,
    ) -> Result<()> {
        instructions::lease::open_lease_handler(ctx, lease_id, price_per_second, max_seconds)
    }

    /// Settlement authority pays out the elapsed, unsettled time.
    pub fn settle_lease(ctx: Context<SettleLease>) -> Result<()> {
        instructions::lease::settle_lease_handler(ctx)
    }

    /// Renter, supplier or settlement authority: final settlement, refund, close.
    pub fn end_lease(ctx: Context<EndLease>) -> Result<()> {
        instructions::lease::end_lease_handler(ctx)
    }

    /// Permissionless: mint what the emission schedule allows into the rewards vault.
    pub fn crank_emissions(ctx: Context<CrankEmissions>) -> Result<()> {
        instructions::emission::crank_emissions_handler(ctx)
    }

    /// Rewards authority posts the merkle root of cumulative reward amounts.
    pub fn post_reward_root(
        ctx: Context<PostRewardRoot>,
        epoch: u64,
        root: [u8; 32],
        total_cumulative: u64,
    ) -> Result<()> {
        instructions::rewards::post_reward_root_handler(ctx, epoch, root, total_cumulative)
    }

    /// A claimant withdraws `cumulative − already claimed` with a merkle proof.
    pub fn claim_rewards(
        ctx: Context<ClaimRewards>,
        cumulative: u64,
        proof: Vec<[u8; 32]>,
    ) -> Result<()> {
        instructions::rewards::claim_rewards_handler(ctx, cumulative, proof)
    }
}
