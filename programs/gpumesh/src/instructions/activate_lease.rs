use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::LeaseActivated;
use crate::state::{Config, Lease};

#[derive(Accounts)]
pub struct ActivateLease<'info> {
    pub settlement_authority: Signer<'info>,
    #[account(
        seeds = [CONFIG_SEED],
        bump = config.bump,
        constraint = config.settlement_authority == settlement_authority.key() @ GpuMeshError::Unauthorized,
    )]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub lease: Box<Account<'info, Lease>>,
}

/// Settlement authority: Pending → Active at the real start time of the service. Billing
/// (allocations) can only cover time from `start_ts` on, and never past
/// `end_ts = start_ts + max_seconds`.
///
/// CHECK:
/// - signer is `config.settlement_authority`; the lease is Pending (`InvalidLeaseStatus`);
/// - `price_per_second` and `max_seconds` equal the lease's terms, i.e. the quote the server
///   issued and checked (`TermsMismatch`);
/// - `opened_at ≤ start_ts ≤ now` (`InvalidTime`): no billing for time before the deposit
///   or in the future.
pub fn activate_lease_handler(
    ctx: Context<ActivateLease>,
    start_ts: i64,
    price_per_second: u64,
    max_seconds: u64,
) -> Result<()> {
    let lease = &mut ctx.accounts.lease;
    require!(lease.status == lease_status::PENDING, GpuMeshError::InvalidLeaseStatus);
    require!(
        price_per_second == lease.price_per_second && max_seconds == lease.max_seconds,
        GpuMeshError::TermsMismatch
    );
    let now = Clock::get()?.unix_timestamp;
    require!(lease.opened_at <= start_ts && start_ts <= now, GpuMeshError::InvalidTime);
    let max = i64::try_from(lease.max_seconds).map_err(|_| GpuMeshError::MathOverflow)?;
    let end_ts = start_ts.checked_add(max).ok_or(GpuMeshError::MathOverflow)?;
    lease.status = lease_status::ACTIVE;
    lease.start_ts = start_ts;
    lease.end_ts = end_ts;
    lease.last_change_ts = start_ts;
    emit!(LeaseActivated {
        lease: lease.key(),
        lease_id: lease.lease_id,
        start_ts,
        end_ts,
    });
    Ok(())
}
