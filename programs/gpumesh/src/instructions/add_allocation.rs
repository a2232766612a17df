use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::AllocationAdded;
use crate::state::{Allocation, Config, Lease, Supplier, RESERVED_BYTES};

#[derive(Accounts)]
pub struct AddAllocation<'info> {
    /// Pays the allocation's rent (recorded as `rent_payer`).
    #[account(mut)]
    pub settlement_authority: Signer<'info>,
    #[account(
        seeds = [CONFIG_SEED],
        bump = config.bump,
        constraint = config.settlement_authority == settlement_authority.key() @ GpuMeshError::Unauthorized,
    )]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub lease: Box<Account<'info, Lease>>,
    /// A registered supplier (program-owned record at its own PDA).
    #[account(seeds = [SUPPLIER_SEED, supplier.authority.as_ref()], bump = supplier.bump)]
    pub supplier: Box<Account<'info, Supplier>>,
    /// The next index of this lease: allocations are numbered 0, 1, 2, … and never reused.
    #[account(
        init,
        payer = settlement_authority,
        space = 8 + Allocation::INIT_SPACE,
        seeds = [ALLOCATION_SEED, lease.key().as_ref(), &lease.allocation_count.to_le_bytes()],
        bump
    )]
    pub allocation: Box<Account<'info, Allocation>>,
    pub system_program: Program<'info, System>,
}

/// Settlement authority: a supplier's nodes start serving the lease (placed or replacing a
/// lost node) at `from_ts` and earn `rate_per_second` from then until released or the end.
///
/// CHECK:
/// - signer is `config.settlement_authority`; the lease is Active (`InvalidLeaseStatus`);
/// - `rate > 0` (`ZeroAmount`);
/// - `max(start_ts, last_change_ts) ≤ from_ts ≤ now` and `from_ts < end_ts` (`InvalidTime`):
///   nothing before activation, nothing backdated across an earlier change (so two
///   allocations can never overlap beyond the price), nothing in the future or after expiry;
/// - `open_rate + rate ≤ price_per_second` (`AllocationExceedsPrice`): with the rule above,
///   Σ allocated rate ≤ price at every instant, so the escrow can never run short.
pub fn add_allocation_handler(ctx: Context<AddAllocation>, rate_per_second: u64, from_ts: i64) -> Result<()> {
    let lease = &mut ctx.accounts.lease;
    require!(lease.status == lease_status::ACTIVE, GpuMeshError::InvalidLeaseStatus);
    require!(rate_per_second > 0, GpuMeshError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    require!(
        from_ts >= lease.start_ts.max(lease.last_change_ts) && from_ts <= now && from_ts < lease.end_ts,
        GpuMeshError::InvalidTime
    );
    let open_rate = lease
        .open_rate
        .checked_add(rate_per_second)
        .ok_or(GpuMeshError::MathOverflow)?;
    require!(open_rate <= lease.price_per_second, GpuMeshError::AllocationExceedsPrice);
    let from_u = u128::try_from(from_ts).map_err(|_| GpuMeshError::InvalidTime)?;
    let weighted = (rate_per_second as u128)
        .checked_mul(from_u)
        .ok_or(GpuMeshError::MathOverflow)?;
    lease.open_rate = open_rate;
    lease.open_rate_from = lease
        .open_rate_from
        .checked_add(weighted)
        .ok_or(GpuMeshError::MathOverflow)?;
    lease.last_change_ts = from_ts;
    let index = lease.allocation_count;
    lease.allocation_count = index.checked_add(1).ok_or(GpuMeshError::MathOverflow)?;

    let allocation = &mut ctx.accounts.allocation;
    allocation.lease = lease.key();
    allocation.index = index;
    allocation.supplier = ctx.accounts.supplier.authority;
    allocation.rate_per_second = rate_per_second;
    allocation.from_ts = from_ts;
    allocation.until_ts = ALLOCATION_OPEN;
    allocation.settled_until = from_ts;
    allocation.total_gross = 0;
    allocation.total_fee = 0;
    allocation.total_burned = 0;
    allocation.total_supplier = 0;
    allocation.total_treasury = 0;
    allocation.rent_payer = ctx.accounts.settlement_authority.key();
    allocation.bump = ctx.bumps.allocation;
    allocation.reserved = [0u8; RESERVED_BYTES];

    emit!(AllocationAdded {
        lease: lease.key(),
        allocation: allocation.key(),
        index,
        supplier: allocation.supplier,
        rate_per_second,
        from_ts,
        open_rate,
    });
    Ok(())
}
