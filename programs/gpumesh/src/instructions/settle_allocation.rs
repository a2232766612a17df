use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::AllocationSettled;
use crate::math;
use crate::state::{Allocation, Config, Lease, Supplier};
use crate::utils::{escrow_burn, escrow_transfer};

#[derive(Accounts)]
pub struct SettleAllocation<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
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
    /// Seeds bind the escrow to this lease: another lease's escrow is rejected.
    #[account(mut, seeds = [ESCROW_SEED, lease.key().as_ref()], bump = lease.escrow_bump)]
    pub escrow: Box<Account<'info, TokenAccount>>,
    /// Mutable because MESH fees are burned from the escrow (reduces supply).
    #[account(mut, address = lease.mint @ GpuMeshError::InvalidMint)]
    pub mint: Box<Account<'info, Mint>>,
    /// The allocation's supplier record: payouts follow its current `payout_wallet`.
    #[account(
        seeds = [SUPPLIER_SEED, allocation.supplier.as_ref()],
        bump = supplier.bump,
        constraint = supplier.authority == allocation.supplier @ GpuMeshError::SupplierMismatch,
    )]
    pub supplier: Box<Account<'info, Supplier>>,
    #[account(
        mut,
        constraint = supplier_token.key() != escrow.key() @ GpuMeshError::DuplicateAccount,
        constraint = supplier_token.mint == lease.mint @ GpuMeshError::InvalidMint,
        constraint = supplier_token.owner == supplier.payout_wallet @ GpuMeshError::InvalidTokenOwner,
    )]
    pub supplier_token: Box<Account<'info, TokenAccount>>,
    #[account(
        mut,
        constraint = treasury_token.key() != escrow.key() @ GpuMeshError::DuplicateAccount,
        constraint = treasury_token.mint == lease.mint @ GpuMeshError::InvalidMint,
        constraint = treasury_token.owner == config.treasury @ GpuMeshError::InvalidTokenOwner,
    )]
    pub treasury_token: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Anyone (the supplier, the scheduler, a keeper): pay an allocation for
/// `[settled_until, t)`, `t = min(until ?? now, now, alloc.until_ts, lease.end_ts)`.
/// `gross = rate · Δ`; the fee and the MESH burn are floored on the allocation's running
/// totals, so how often (and by whom) it is settled never changes what anyone gets. Naming
/// `until` (a period end) makes on-chain periods equal ledger periods one for one.
///
/// CHECK:
/// - the lease is Active or Ended (`InvalidLeaseStatus`); the allocation is this lease's;
/// - nothing before `settled_until`, after now, after the release or after the lease's end;
///   an empty range (also a clock that went backwards) fails with `NothingToSettle`;
/// - escrow, mint, supplier record and token accounts are pinned (seeds, addresses, owners,
///   mints), payees are never the escrow;
/// - the escrow holds at least `gross` (`EscrowShortfall`); all arithmetic checked.
pub fn settle_allocation_handler(ctx: Context<SettleAllocation>, until: Option<i64>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let a = ctx.accounts;
    let lease = &mut a.lease;
    let allocation = &mut a.allocation;
    require!(
        lease.status == lease_status::ACTIVE || lease.status == lease_status::ENDED,
        GpuMeshError::InvalidLeaseStatus
    );
    let from = allocation.settled_until;
    let t = math::settle_until(until, now, allocation.until_ts, lease.end_ts);
    require!(t > from, GpuMeshError::NothingToSettle);
    let gross = math::gross_between(allocation.rate_per_second, from, t).ok_or(GpuMeshError::MathOverflow)?;
    let split = math::split_running(
        allocation.total_gross,
        allocation.total_fee,
        allocation.total_burned,
        gross,
        lease.fee_bps,
        lease.burn_bps,
        lease.is_mesh,
    )
    .ok_or(GpuMeshError::MathOverflow)?;
    require!(a.escrow.amount >= gross, GpuMeshError::EscrowShortfall);

    let lease_info = lease.to_account_info();
    let id = lease.lease_id.to_le_bytes();
    let bump = [lease.bump];
    let seeds: &[&[u8]] = &[LEASE_SEED, lease.renter.as_ref(), &id, &bump];
    let token_program = a.token_program.to_account_info();
    let escrow = a.escrow.to_account_info();
    let mint = a.mint.to_account_info();
    let decimals = a.mint.decimals;
    escrow_transfer(&token_program, &escrow, &mint, &a.supplier_token.to_account_info(), &lease_info, seeds, split.supplier, decimals)?;
    escrow_transfer(&token_program, &escrow, &mint, &a.treasury_token.to_account_info(), &lease_info, seeds, split.treasury, decimals)?;
    escrow_burn(&token_program, &escrow, &mint, &lease_info, seeds, split.burn)?;

    allocation.settled_until = t;
    allocation.total_gross = allocation.total_gross.checked_add(split.gross).ok_or(GpuMeshError::MathOverflow)?;
    allocation.total_fee = allocation.total_fee.checked_add(split.fee).ok_or(GpuMeshError::MathOverflow)?;
    allocation.total_burned = allocation.total_burned.checked_add(split.burn).ok_or(GpuMeshError::MathOverflow)?;
    allocation.total_supplier = allocation
        .total_supplier
        .checked_add(split.supplier)
        .ok_or(GpuMeshError::MathOverflow)?;
    allocation.total_treasury = allocation
        .total_treasury
        .checked_add(split.treasury)
        .ok_or(GpuMeshError::MathOverflow)?;
    lease.total_gross = lease.total_gross.checked_add(split.gross).ok_or(GpuMeshError::MathOverflow)?;
    lease.total_supplier = lease.total_supplier.checked_add(split.supplier).ok_or(GpuMeshError::MathOverflow)?;
    lease.total_treasury = lease.total_treasury.checked_add(split.treasury).ok_or(GpuMeshError::MathOverflow)?;
    lease.total_burned = lease.total_burned.checked_add(split.burn).ok_or(GpuMeshError::MathOverflow)?;
    lease.settled_until_max = lease.settled_until_max.max(t);

    emit!(AllocationSettled {
        lease: lease.key(),
        allocation: allocation.key(),
        index: allocation.index,
        supplier: allocation.supplier,
        from_ts: from,
        until_ts: t,
        gross: split.gross,
        fee: split.fee,
        burned: split.burn,
        treasury: split.treasury,
        supplier_amount: split.supplier,
        total_gross: allocation.total_gross,
        total_fee: allocation.total_fee,
    });
    Ok(())
}
