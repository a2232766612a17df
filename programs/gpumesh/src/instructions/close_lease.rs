use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::LeaseClosed;
use crate::state::{Config, Lease};
use crate::utils::drain_and_close_escrow;

#[derive(Accounts)]
pub struct CloseLease<'info> {
    /// Anyone (pays the transaction fee; receives nothing).
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

/// Anyone: once an Ended lease has paid every allocation all it is owed, return whatever is
/// left in the escrow (tokens a third party sent in) to the renter, close the escrow (rent
/// to the renter) and mark the lease Closed. The lease account itself stays (tombstone).
///
/// CHECK:
/// - the lease is Ended (`InvalidLeaseStatus`) and `total_gross == owed_total`
///   (`LeaseNotSettled`): nobody can close an escrow that still owes a supplier;
/// - escrow (seeds), mint, renter and renter token account are pinned to the lease.
pub fn close_lease_handler(ctx: Context<CloseLease>) -> Result<()> {
    let a = ctx.accounts;
    let lease = &mut a.lease;
    require!(lease.status == lease_status::ENDED, GpuMeshError::InvalidLeaseStatus);
    require!(lease.total_gross == lease.owed_total, GpuMeshError::LeaseNotSettled);

    let lease_info = lease.to_account_info();
    let id = lease.lease_id.to_le_bytes();
    let bump = [lease.bump];
    let seeds: &[&[u8]] = &[LEASE_SEED, lease.renter.as_ref(), &id, &bump];
    let dust = drain_and_close_escrow(
        &a.token_program.to_account_info(),
        &a.escrow,
        &a.mint.to_account_info(),
        &a.renter_token.to_account_info(),
        &a.renter.to_account_info(),
        &lease_info,
        seeds,
        a.mint.decimals,
    )?;
    lease.status = lease_status::CLOSED;
    emit!(LeaseClosed {
        lease: lease.key(),
        lease_id: lease.lease_id,
        total_gross: lease.total_gross,
        total_supplier: lease.total_supplier,
        total_treasury: lease.total_treasury,
        total_burned: lease.total_burned,
        refunded: lease.refunded,
        dust,
    });
    Ok(())
}
