use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::LeaseCancelled;
use crate::state::{Config, Lease};
use crate::utils::drain_and_close_escrow;

#[derive(Accounts)]
pub struct CancelLease<'info> {
    /// The settlement authority (any time), or the renter once `now ≥ activation_deadline`.
    pub caller: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub lease: Box<Account<'info, Lease>>,
    /// CHECK: only receives the escrow's rent; pinned to the lease's renter.
    #[account(mut, address = lease.renter @ GpuMeshError::RenterMismatch)]
    pub renter: UncheckedAccount<'info>,
    #[account(mut, seeds = [ESCROW_SEED, lease.key().as_ref()], bump = lease.escrow_bump)]
    pub escrow: Box<Account<'info, TokenAccount>>,
    #[account(address = lease.mint @ GpuMeshError::InvalidMint)]
    pub mint: Box<Account<'info, Mint>>,
    #[account(
        mut,
        constraint = renter_token.key() != escrow.key() @ GpuMeshError::DuplicateAccount,
        constraint = renter_token.mint == lease.mint @ GpuMeshError::InvalidMint,
        constraint = renter_token.owner == lease.renter @ GpuMeshError::InvalidTokenOwner,
    )]
    pub renter_token: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Pending → Cancelled: a lease that never started refunds 100 % (everything in the escrow,
/// no fee), the escrow is closed (rent to the renter). Works while paused.
///
/// CHECK:
/// - the lease is Pending (`InvalidLeaseStatus`);
/// - caller is `config.settlement_authority`, or the renter once
///   `now ≥ activation_deadline` (`ActivationWindowOpen` before; anyone else `Unauthorized`);
/// - escrow (seeds), mint, renter and renter token account are pinned to the lease.
pub fn cancel_lease_handler(ctx: Context<CancelLease>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let a = ctx.accounts;
    let caller = a.caller.key();
    let lease = &mut a.lease;
    require!(lease.status == lease_status::PENDING, GpuMeshError::InvalidLeaseStatus);
    if caller != a.config.settlement_authority {
        require_keys_eq!(caller, lease.renter, GpuMeshError::Unauthorized);
        require!(now >= lease.activation_deadline, GpuMeshError::ActivationWindowOpen);
    }
    let lease_info = lease.to_account_info();
    let id = lease.lease_id.to_le_bytes();
    let bump = [lease.bump];
    let seeds: &[&[u8]] = &[LEASE_SEED, lease.renter.as_ref(), &id, &bump];
    let returned = drain_and_close_escrow(
        &a.token_program.to_account_info(),
        &a.escrow,
        &a.mint.to_account_info(),
        &a.renter_token.to_account_info(),
        &a.renter.to_account_info(),
        &lease_info,
        seeds,
        a.mint.decimals,
    )?;
    require!(returned >= lease.deposited, GpuMeshError::EscrowShortfall);
    lease.refunded = lease.deposited;
    lease.status = lease_status::CANCELLED;
    emit!(LeaseCancelled {
        lease: lease.key(),
        lease_id: lease.lease_id,
        cancelled_by: caller,
        refund: lease.deposited,
    });
    Ok(())
}
