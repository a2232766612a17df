use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, Token, TokenAccount, TransferChecked};

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::LeaseExtended;
use crate::math;
use crate::state::{Config, Lease};

#[derive(Accounts)]
pub struct ExtendLease<'info> {
    pub renter: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut, has_one = renter @ GpuMeshError::RenterMismatch)]
    pub lease: Box<Account<'info, Lease>>,
    #[account(mut, seeds = [ESCROW_SEED, lease.key().as_ref()], bump = lease.escrow_bump)]
    pub escrow: Box<Account<'info, TokenAccount>>,
    #[account(address = lease.mint @ GpuMeshError::InvalidMint)]
    pub mint: Box<Account<'info, Mint>>,
    #[account(
        mut,
        constraint = renter_token.key() != escrow.key() @ GpuMeshError::DuplicateAccount,
        constraint = renter_token.mint == lease.mint @ GpuMeshError::InvalidMint,
        constraint = renter_token.owner == renter.key() @ GpuMeshError::InvalidTokenOwner,
    )]
    pub renter_token: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Renter tops up a lease at the same price: `deposited += price · extra`,
/// `max_seconds += extra`, and `end_ts += extra` if Active.
///
/// CHECK:
/// - not paused; signer is the lease's renter (`RenterMismatch`);
/// - the lease is Pending, or Active and not yet expired (`InvalidLeaseStatus`);
/// - `extra > 0` (`ZeroAmount`), new `max_seconds ≤ MAX_LEASE_SECONDS` (`LeaseTooLong`);
/// - the price never changes: Σ allocated rate ≤ price keeps holding over the longer lease.
pub fn extend_lease_handler(ctx: Context<ExtendLease>, extra_seconds: u64) -> Result<()> {
    require!(!ctx.accounts.config.paused, GpuMeshError::Paused);
    require!(extra_seconds > 0, GpuMeshError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    let lease = &mut ctx.accounts.lease;
    let active = lease.status == lease_status::ACTIVE && now < lease.end_ts;
    require!(lease.status == lease_status::PENDING || active, GpuMeshError::InvalidLeaseStatus);
    let max_seconds = lease
        .max_seconds
        .checked_add(extra_seconds)
        .ok_or(GpuMeshError::LeaseTooLong)?;
    require!(max_seconds <= MAX_LEASE_SECONDS, GpuMeshError::LeaseTooLong);
    let amount = math::lease_deposit(lease.price_per_second, extra_seconds).ok_or(GpuMeshError::MathOverflow)?;
    let deposited = lease.deposited.checked_add(amount).ok_or(GpuMeshError::MathOverflow)?;
    lease.max_seconds = max_seconds;
    lease.deposited = deposited;
    if active {
        let extra = i64::try_from(extra_seconds).map_err(|_| GpuMeshError::MathOverflow)?;
        lease.end_ts = lease.end_ts.checked_add(extra).ok_or(GpuMeshError::MathOverflow)?;
    }

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
        amount,
        ctx.accounts.mint.decimals,
    )?;
    emit!(LeaseExtended {
        lease: lease.key(),
        lease_id: lease.lease_id,
        extra_seconds,
        max_seconds,
        deposited,
        end_ts: lease.end_ts,
    });
    Ok(())
}
