use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::AllocationReleased;
use crate::math;
use crate::state::{Allocation, Config, Lease};

#[derive(Accounts)]
pub struct ReleaseAllocation<'info> {
    pub settlement_authority: Signer<'info>,
    #[account(
        seeds = [CONFIG_SEED],
        bump = config.bump,
        constraint = config.settlement_authority == settlement_authority.key() @ GpuMeshError::Unauthorized,
    )]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub lease: Box<Account<'info, Lease>>,
    #[account(
        mut,
        seeds = [ALLOCATION_SEED, lease.key().as_ref(), &allocation.index.to_le_bytes()],
        bump = allocation.bump,
        has_one = lease @ GpuMeshError::AllocationMismatch,
    )]
    pub allocation: Box<Account<'info, Allocation>>,
}

/// Settlement authority: the supplier's nodes left the lease (lost, replaced, drained) at
/// `until_ts`; the allocation earns nothing after it. It can still settle what it earned.
///
/// CHECK:
/// - signer is `config.settlement_authority`; the lease is Active (`InvalidLeaseStatus`);
///   the allocation is this lease's (seeds + `has_one`) and still open (`AllocationClosed`);
/// - `max(from_ts, last_change_ts, settled_until) ≤ until_ts ≤ now` (`InvalidTime`), then
///   clamped to `end_ts`: never before time already paid for, never in the future;
/// - lease counters move by exactly this allocation's rate and `rate · from_ts`.
pub fn release_allocation_handler(ctx: Context<ReleaseAllocation>, until_ts: i64) -> Result<()> {
    let lease = &mut ctx.accounts.lease;
    let allocation = &mut ctx.accounts.allocation;
    require!(lease.status == lease_status::ACTIVE, GpuMeshError::InvalidLeaseStatus);
    require!(allocation.until_ts == ALLOCATION_OPEN, GpuMeshError::AllocationClosed);
    let now = Clock::get()?.unix_timestamp;
    let earliest = allocation
        .from_ts
        .max(lease.last_change_ts)
        .max(allocation.settled_until);
    require!(earliest <= until_ts && until_ts <= now, GpuMeshError::InvalidTime);
    let until = until_ts.min(lease.end_ts);
    // `until ≥ settled_until` also after the clamp: settlements never pass `end_ts`.
    require!(until >= allocation.settled_until, GpuMeshError::InvalidTime);

    let rate = allocation.rate_per_second;
    let from_u = u128::try_from(allocation.from_ts).map_err(|_| GpuMeshError::MathOverflow)?;
    let weighted = (rate as u128).checked_mul(from_u).ok_or(GpuMeshError::MathOverflow)?;
    let gross = math::gross_between(rate, allocation.from_ts, until).ok_or(GpuMeshError::MathOverflow)?;
    lease.open_rate = lease.open_rate.checked_sub(rate).ok_or(GpuMeshError::MathOverflow)?;
    lease.open_rate_from = lease
        .open_rate_from
        .checked_sub(weighted)
        .ok_or(GpuMeshError::MathOverflow)?;
    lease.released_gross = lease
        .released_gross
        .checked_add(gross)
        .ok_or(GpuMeshError::MathOverflow)?;
    lease.last_change_ts = lease.last_change_ts.max(until);
    allocation.until_ts = until;

    emit!(AllocationReleased {
        lease: lease.key(),
        allocation: allocation.key(),
        index: allocation.index,
        until_ts: until,
        gross,
        open_rate: lease.open_rate,
    });
    Ok(())
}
