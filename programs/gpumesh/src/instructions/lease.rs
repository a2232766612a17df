//! Lease lifecycle: open (escrow), settle (pay elapsed time), end (final settle + refund).
use anchor_lang::prelude::*;
use anchor_spl::token::{
    self, Burn, CloseAccount, Mint, Token, TokenAccount, TransferChecked,
};

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::{LeaseEnded, LeaseOpened, LeaseSettled};
use crate::math::{self, Split};
use crate::state::{Config, Lease, PaymentMint, Supplier};
use crate::utils::create_pda_token_account;

#[derive(Accounts)]
#[instruction(lease_id: u64)]
pub struct OpenLease<'info> {
    #[account(mut)]
    pub renter: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(
        seeds = [PAYMENT_MINT_SEED, mint.key().as_ref()],
        bump = payment_mint.bump,
    )]
    pub payment_mint: Box<Account<'info, PaymentMint>>,
    pub mint: Box<Account<'info, Mint>>,
    /// Any registered supplier (typed, program-owned account created by `register_supplier`).
    pub supplier: Box<Account<'info, Supplier>>,
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
    let is_mesh = ctx.accounts.mint.key() == config.mesh_mint;

    let lease = &mut ctx.accounts.lease;
    lease.lease_id = lease_id;
    lease.renter = ctx.accounts.renter.key();
    lease.supplier = ctx.accounts.supplier.authority;
    lease.mint = ctx.accounts.mint.key();
    lease.price_per_second = price_per_second;
    lease.max_seconds = max_seconds;
    lease.start_ts = now;
    lease.settled_seconds = 0;
    lease.deposited = deposit;
    lease.fee_bps = config.fee_bps;
    lease.burn_bps = config.burn_bps;
    lease.is_mesh = is_mesh;
    lease.total_gross = 0;
    lease.total_supplier = 0;
    lease.total_treasury = 0;
    lease.total_burned = 0;
    lease.bump = ctx.bumps.lease;
    lease.escrow_bump = ctx.bumps.escrow;

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
        lease: lease.key(),
        lease_id,
        renter: lease.renter,
        supplier: lease.supplier,
        mint: lease.mint,
        price_per_second,
        max_seconds,
        start_ts: now,
        deposited: deposit,
    });
    Ok(())
}

#[derive(Accounts)]
pub struct SettleLease<'info> {
    pub settlement_authority: Signer<'info>,
    #[account(
        seeds = [CONFIG_SEED],
        bump = config.bump,
        constraint = config.settlement_authority == settlement_authority.key() @ GpuMeshError::Unauthorized,
    )]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub lease: Box<Account<'info, Lease>>,
    /// Seeds bind the escrow to this lease: another lease's escrow is rejected.
    #[account(mut, seeds = [ESCROW_SEED, lease.key().as_ref()], bump = lease.escrow_bump)]
    pub escrow: Box<Account<'info, TokenAccount>>,
    /// Mutable because MESH fees are burned from the escrow (reduces supply).
    #[account(mut, address = lease.mint @ GpuMeshError::InvalidMint)]
    pub mint: Box<Account<'info, Mint>>,
    #[account(constraint = supplier.authority == lease.supplier @ GpuMeshError::SupplierMismatch)]
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

pub fn settle_lease_handler(ctx: Context<SettleLease>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let a = ctx.accounts;
    let settled = settle_elapsed(
        &mut a.lease,
        &a.escrow,
        &a.mint,
        &a.supplier_token,
        &a.treasury_token,
        &a.token_program,
        now,
    )?;
    // Settling an already-settled range is an error, not a silent no-op, so a caller can
    // tell "paid" from "nothing to pay"; the scheduler treats NothingToSettle as done.
    require!(settled.is_some(), GpuMeshError::NothingToSettle);
    Ok(())
}

#[derive(Accounts)]
pub struct EndLease<'info> {
    /// The renter, the supplier (wallet) or the settlement authority.
    #[account(
        constraint = caller.key() == lease.renter
            || caller.key() == lease.supplier
            || caller.key() == config.settlement_authority @ GpuMeshError::Unauthorized,
    )]
    pub caller: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    /// Closed at the end of the instruction (lamports to the renter, data zeroed and
    /// handed to the system program), so it cannot be used or revived afterwards.
    #[account(mut, close = renter)]
    pub lease: Box<Account<'info, Lease>>,
    /// CHECK: only receives lamports; pinned to the lease's renter.
    #[account(mut, address = lease.renter @ GpuMeshError::RenterMismatch)]
    pub renter: UncheckedAccount<'info>,
    #[account(mut, seeds = [ESCROW_SEED, lease.key().as_ref()], bump = lease.escrow_bump)]
    pub escrow: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = lease.mint @ GpuMeshError::InvalidMint)]
    pub mint: Box<Account<'info, Mint>>,
    #[account(constraint = supplier.authority == lease.supplier @ GpuMeshError::SupplierMismatch)]
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
    #[account(
        mut,
        constraint = renter_token.key() != escrow.key() @ GpuMeshError::DuplicateAccount,
        constraint = renter_token.mint == lease.mint @ GpuMeshError::InvalidMint,
        constraint = renter_token.owner == lease.renter @ GpuMeshError::InvalidTokenOwner,
    )]
    pub renter_token: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

pub fn end_lease_handler(ctx: Context<EndLease>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let a = ctx.accounts;
    settle_elapsed(
        &mut a.lease,
        &a.escrow,
        &a.mint,
        &a.supplier_token,
        &a.treasury_token,
        &a.token_program,
        now,
    )?;

    // Refund what is left. By construction that is `deposited − total_gross`; tokens a third
    // party sent into the escrow are refunded too, so nobody can block the close below.
    a.escrow.reload()?;
    let expected_refund = a
        .lease
        .deposited
        .checked_sub(a.lease.total_gross)
        .ok_or(GpuMeshError::MathOverflow)?;
    let refund = a.escrow.amount;
    require!(refund >= expected_refund, GpuMeshError::MathOverflow);

    let lease_info = a.lease.to_account_info();
    let id = a.lease.lease_id.to_le_bytes();
    let bump = [a.lease.bump];
    let seeds: &[&[u8]] = &[LEASE_SEED, a.lease.renter.as_ref(), &id, &bump];
    let signer = &[seeds];

    if refund > 0 {
        token::transfer_checked(
            CpiContext::new_with_signer(
                a.token_program.to_account_info(),
                TransferChecked {
                    from: a.escrow.to_account_info(),
                    mint: a.mint.to_account_info(),
                    to: a.renter_token.to_account_info(),
                    authority: lease_info.clone(),
                },
                signer,
            ),
            refund,
            a.mint.decimals,
        )?;
    }
    token::close_account(CpiContext::new_with_signer(
        a.token_program.to_account_info(),
        CloseAccount {
            account: a.escrow.to_account_info(),
            destination: a.renter.to_account_info(),
            authority: lease_info,
        },
        signer,
    ))?;

    let lease = &a.lease;
    emit!(LeaseEnded {
        lease: lease.key(),
        lease_id: lease.lease_id,
        ended_by: a.caller.key(),
        settled_seconds: lease.settled_seconds,
        total_gross: lease.total_gross,
        total_supplier: lease.total_supplier,
        total_treasury: lease.total_treasury,
        total_burned: lease.total_burned,
        refund,
    });
    Ok(())
}

/// Pay out `[start + settled, min(now, start + max))`. Returns `None` when there is nothing
/// to settle (no transfer happens), else the seconds covered and the split.
fn settle_elapsed<'info>(
    lease: &mut Account<'info, Lease>,
    escrow: &Account<'info, TokenAccount>,
    mint: &Account<'info, Mint>,
    supplier_token: &Account<'info, TokenAccount>,
    treasury_token: &Account<'info, TokenAccount>,
    token_program: &Program<'info, Token>,
    now: i64,
) -> Result<Option<(u64, Split)>> {
    let seconds = math::settleable_seconds(
        lease.start_ts,
        lease.settled_seconds,
        lease.max_seconds,
        now,
    )
    .ok_or(GpuMeshError::MathOverflow)?;
    if seconds == 0 {
        return Ok(None);
    }
    let gross = lease
        .price_per_second
        .checked_mul(seconds)
        .ok_or(GpuMeshError::MathOverflow)?;
    let split = math::split_gross(gross, lease.fee_bps, lease.burn_bps, lease.is_mesh)
        .ok_or(GpuMeshError::MathOverflow)?;

    let lease_info = lease.to_account_info();
    let id = lease.lease_id.to_le_bytes();
    let bump = [lease.bump];
    let seeds: &[&[u8]] = &[LEASE_SEED, lease.renter.as_ref(), &id, &bump];
    let signer = &[seeds];

    let pay = |to: &Account<'info, TokenAccount>, amount: u64| -> Result<()> {
        if amount == 0 {
            return Ok(());
        }
        token::transfer_checked(
            CpiContext::new_with_signer(
                token_program.to_account_info(),
                TransferChecked {
                    from: escrow.to_account_info(),
                    mint: mint.to_account_info(),
                    to: to.to_account_info(),
                    authority: lease_info.clone(),
                },
                signer,
            ),
            amount,
            mint.decimals,
        )
    };
    pay(supplier_token, split.supplier)?;
    pay(treasury_token, split.treasury)?;
    if split.burn > 0 {
        token::burn(
            CpiContext::new_with_signer(
                token_program.to_account_info(),
                Burn {
                    mint: mint.to_account_info(),
                    from: escrow.to_account_info(),
                    authority: lease_info.clone(),
                },
                signer,
            ),
            split.burn,
        )?;
    }

    lease.settled_seconds = lease
        .settled_seconds
        .checked_add(seconds)
        .ok_or(GpuMeshError::MathOverflow)?;
    lease.total_gross = lease.total_gross.checked_add(split.gross).ok_or(GpuMeshError::MathOverflow)?;
    lease.total_supplier = lease
        .total_supplier
        .checked_add(split.supplier)
        .ok_or(GpuMeshError::MathOverflow)?;
    lease.total_treasury = lease
        .total_treasury
        .checked_add(split.treasury)
        .ok_or(GpuMeshError::MathOverflow)?;
    lease.total_burned = lease.total_burned.checked_add(split.burn).ok_or(GpuMeshError::MathOverflow)?;

    emit!(LeaseSettled {
        lease: lease.key(),
        lease_id: lease.lease_id,
        seconds,
        settled_seconds: lease.settled_seconds,
        gross: split.gross,
        fee: split.fee,
        burned: split.burn,
        treasury: split.treasury,
        supplier_amount: split.supplier,
    });
    Ok(Some((seconds, split)))
}
