use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::LeaseEnded;
use crate::math;
use crate::state::{Config, Lease};
use crate::utils::{drain_and_close_escrow, escrow_transfer};

#[derive(Accounts)]
pub struct EndLease<'info> {
    /// The renter or the settlement authority; anyone once the lease has expired (checked in
    /// the handler).
    pub caller: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub lease: Box<Account<'info, Lease>>,
    /// CHECK: only receives the escrow's rent when it is closed; pinned to the lease's renter.
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

/// Active → Ended, pro rata: the allocations keep what they earned up to the end
/// (`owed_total = released_gross + end·open_rate − open_rate_from`, settled later by
/// `settle_allocation`), the unused deposit `deposited − owed_total` goes back to the renter's
/// token account now. If nothing is owed any more the escrow is emptied (third-party dust
/// included) and closed at once and the lease goes straight to Closed.
///
/// End time: the renter (and anyone after expiry) ends at `min(now, end_ts)`; the
/// settlement authority may name `end_ts` (e.g. the moment the cluster stopped), clamped to
/// the lease's `end_ts`.
///
/// CHECK:
/// - the lease is Active (`InvalidLeaseStatus`);
/// - caller is the renter or `config.settlement_authority`, or anyone once `now ≥ end_ts`
///   (`Unauthorized`); only the authority may name `end_ts` (`Unauthorized`);
/// - `max(start_ts, last_change_ts, settled_until_max) ≤ end ≤ now` (`InvalidTime`): never
///   before an allocation change or time already paid for, never in the future;
/// - escrow (seeds), mint, renter (address) and renter token account (owner, mint, not the
///   escrow) are pinned; the escrow covers refund + what is still owed (`EscrowShortfall`).
pub fn end_lease_handler(ctx: Context<EndLease>, end_ts: Option<i64>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let a = ctx.accounts;
    let caller = a.caller.key();
    let lease = &mut a.lease;
    require!(lease.status == lease_status::ACTIVE, GpuMeshError::InvalidLeaseStatus);
    let is_authority = caller == a.config.settlement_authority;
    let is_renter = caller == lease.renter;
    require!(is_authority || is_renter || now >= lease.end_ts, GpuMeshError::Unauthorized);

    let end = match end_ts {
        Some(named) => {
            require!(is_authority, GpuMeshError::Unauthorized);
            require!(named <= now, GpuMeshError::InvalidTime);
            named.min(lease.end_ts)
        }
        None => now.min(lease.end_ts),
    };
    let earliest = lease.start_ts.max(lease.last_change_ts).max(lease.settled_until_max);
    require!(end >= earliest, GpuMeshError::InvalidTime);

    let owed_total = math::owed_total(lease.released_gross, end, lease.open_rate, lease.open_rate_from)
        .ok_or(GpuMeshError::MathOverflow)?;
    let refund = lease.deposited.checked_sub(owed_total).ok_or(GpuMeshError::EscrowShortfall)?;
    let still_owed = owed_total.checked_sub(lease.total_gross).ok_or(GpuMeshError::MathOverflow)?;
    let needed = refund.checked_add(still_owed).ok_or(GpuMeshError::MathOverflow)?;
    require!(a.escrow.amount >= needed, GpuMeshError::EscrowShortfall);

    lease.status = lease_status::ENDED;
    lease.end_ts = end;
    lease.last_change_ts = end;
    lease.owed_total = owed_total;
    lease.refunded = refund;

    let lease_info = lease.to_account_info();
    let id = lease.lease_id.to_le_bytes();
    let bump = [lease.bump];
    let seeds: &[&[u8]] = &[LEASE_SEED, lease.renter.as_ref(), &id, &bump];
    let token_program = a.token_program.to_account_info();
    let mint = a.mint.to_account_info();
    let renter_token = a.renter_token.to_account_info();
    let closed = still_owed == 0;
    if closed {
        // Refund and any dust in one transfer, then close.
        drain_and_close_escrow(
            &token_program,
            &a.escrow,
            &mint,
            &renter_token,
            &a.renter.to_account_info(),
            &lease_info,
            seeds,
            a.mint.decimals,
        )?;
        lease.status = lease_status::CLOSED;
    } else {
        escrow_transfer(&token_program, &a.escrow.to_account_info(), &mint, &renter_token, &lease_info, seeds, refund, a.mint.decimals)?;
    }

    emit!(LeaseEnded {
        lease: lease.key(),
        lease_id: lease.lease_id,
        ended_by: caller,
        end_ts: end,
        owed_total,
        total_gross: lease.total_gross,
        refund,
        closed,
    });
    Ok(())
}
