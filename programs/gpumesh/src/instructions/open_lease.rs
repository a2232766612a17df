use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, Token, TokenAccount, TransferChecked};

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::LeaseOpened;
use crate::math;
use crate::state::{Config, Lease, PaymentMint, RESERVED_BYTES};
use crate::utils::create_pda_token_account;

#[derive(Accounts)]
#[instruction(lease_id: u64)]
pub struct OpenLease<'info> {
    #[account(mut)]
    pub renter: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    /// Seeds bind the record to `mint`: USDC's record next to a worthless mint is refused.
    #[account(
        seeds = [PAYMENT_MINT_SEED, mint.key().as_ref()],
        bump = payment_mint.bump,
    )]
    pub payment_mint: Box<Account<'info, PaymentMint>>,
    /// Classic SPL Token mints only (`Account<Mint>` checks the owner).
    pub mint: Box<Account<'info, Mint>>,
    /// `init`: a `lease_id` can be used once per renter, ever (leases are never closed).
    #[account(
        init,
        payer = renter,
        space = 8 + Lease::INIT_SPACE,
        seeds = [LEASE_SEED, renter.key().as_ref(), &lease_id.to_le_bytes()],
        bump
    )]
    pub lease: Box<Account<'info, Lease>>,
    /// CHECK: created by the handler as the escrow token account of `mint` whose authority
    /// is the lease PDA (only this program can move funds out); the seeds pin its address.
    #[account(mut, seeds = [ESCROW_SEED, lease.key().as_ref()], bump)]
    pub escrow: UncheckedAccount<'info>,
    #[account(
        mut,
        constraint = renter_token.mint == mint.key() @ GpuMeshError::InvalidMint,
        constraint = renter_token.owner == renter.key() @ GpuMeshError::InvalidTokenOwner,
    )]
    pub renter_token: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

/// Renter escrows `price_per_second · max_seconds` for a lease that starts **Pending**: not
/// billing until the settlement authority activates it with the real start time.
///
/// CHECK:
/// - not paused; the payment mint is enabled and is the record of this very mint (seeds);
/// - `price > 0`, `max > 0` (`ZeroAmount`), `max ≤ MAX_LEASE_SECONDS`, `price ≥` the mint's
///   minimum; the deposit does not overflow;
/// - renter signs and owns `renter_token` of `mint`;
/// - fee terms and `is_mesh` are snapshotted from config (never from the caller);
/// - the escrow is created at its PDA even if someone pre-funded the address.
pub fn open_lease_handler(
    ctx: Context<OpenLease>,
    lease_id: u64,
    price_per_second: u64,
    max_seconds: u64,
) -> Result<()> {
    let config = &ctx.accounts.config;
    let payment_mint = &ctx.accounts.payment_mint;
    require!(!config.paused, GpuMeshError::Paused);
    require!(payment_mint.enabled, GpuMeshError::PaymentMintDisabled);
    require!(price_per_second > 0 && max_seconds > 0, GpuMeshError::ZeroAmount);
    require!(max_seconds <= MAX_LEASE_SECONDS, GpuMeshError::LeaseTooLong);
    require!(
        price_per_second >= payment_mint.min_price_per_second,
        GpuMeshError::PriceBelowMinimum
    );
    let deposit =
        math::lease_deposit(price_per_second, max_seconds).ok_or(GpuMeshError::MathOverflow)?;
    let now = Clock::get()?.unix_timestamp;
    let deadline = now
        .checked_add(ACTIVATION_WINDOW_SECONDS)
        .ok_or(GpuMeshError::MathOverflow)?;
    let is_mesh = ctx.accounts.mint.key() == config.mesh_mint;

    let lease = &mut ctx.accounts.lease;
    lease.lease_id = lease_id;
    lease.renter = ctx.accounts.renter.key();
    lease.mint = ctx.accounts.mint.key();
    lease.price_per_second = price_per_second;
    lease.max_seconds = max_seconds;
    lease.deposited = deposit;
    lease.status = lease_status::PENDING;
    lease.opened_at = now;
    lease.activation_deadline = deadline;
    lease.start_ts = 0;
    lease.end_ts = 0;
    lease.fee_bps = config.fee_bps;
    lease.burn_bps = config.burn_bps;
    lease.is_mesh = is_mesh;
    lease.open_rate = 0;
    lease.open_rate_from = 0;
    lease.released_gross = 0;
    lease.last_change_ts = 0;
    lease.allocation_count = 0;
    lease.owed_total = 0;
    lease.total_gross = 0;
    lease.total_supplier = 0;
    lease.total_treasury = 0;
    lease.total_burned = 0;
    lease.refunded = 0;
    lease.bump = ctx.bumps.lease;
    lease.escrow_bump = ctx.bumps.escrow;
    lease.settled_until_max = 0;
    lease.reserved = [0u8; RESERVED_BYTES];

    let lease_key = lease.key();
    let escrow_bump = [ctx.bumps.escrow];
    create_pda_token_account(
        &ctx.accounts.renter.to_account_info(),
        &ctx.accounts.escrow.to_account_info(),
        &ctx.accounts.mint.to_account_info(),
        &lease.to_account_info(),
        &[ESCROW_SEED, lease_key.as_ref(), &escrow_bump],
        &ctx.accounts.token_program.to_account_info(),
        &ctx.accounts.system_program.to_account_info(),
    )?;

    token::transfer_checked(
        CpiContext::new(
            ctx.accounts.token_program.to_account_info(),
            TransferChecked {
                from: ctx.accounts.renter_token.to_account_info(),
                mint: ctx.accounts.mint.to_account_info(),
                to: ctx.accounts.escrow.to_account_info(),
                authority: ctx.accounts.renter.to_account_info(),
            },
        ),
        deposit,
        ctx.accounts.mint.decimals,
    )?;

    emit!(LeaseOpened {
        lease: lease_key,
        lease_id,
        renter: lease.renter,
        mint: lease.mint,
        price_per_second,
        max_seconds,
        opened_at: now,
        activation_deadline: deadline,
        deposited: deposit,
    });
    Ok(())
}
