use anchor_lang::prelude::*;
use anchor_spl::token::Mint;

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::PaymentMintSet;
use crate::state::{Config, PaymentMint};

#[derive(Accounts)]
pub struct SetPaymentMint<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(
        seeds = [CONFIG_SEED],
        bump = config.bump,
        has_one = admin @ GpuMeshError::Unauthorized,
    )]
    pub config: Box<Account<'info, Config>>,
    /// Owned by the classic SPL Token program (`Account<Mint>` checks the owner): Token-2022
    /// mints are refused.
    pub mint: Box<Account<'info, Mint>>,
    /// Created on first use; later calls update it. Only the admin reaches this, and the
    /// record is keyed by the mint, so re-running it can only rewrite the same settings.
    #[account(
        init_if_needed,
        payer = admin,
        space = 8 + PaymentMint::INIT_SPACE,
        seeds = [PAYMENT_MINT_SEED, mint.key().as_ref()],
        bump
    )]
    pub payment_mint: Box<Account<'info, PaymentMint>>,
    pub system_program: Program<'info, System>,
}

/// Admin: accept (or stop accepting) a payment mint, with a minimum price.
///
/// CHECK:
/// - signer is `config.admin`; the record's address is derived from the mint;
/// - `is_mesh` is derived (mint == config.mesh_mint), never taken from the caller.
pub fn set_payment_mint_handler(
    ctx: Context<SetPaymentMint>,
    enabled: bool,
    min_price_per_second: u64,
) -> Result<()> {
    let is_mesh = ctx.accounts.mint.key() == ctx.accounts.config.mesh_mint;
    let pm = &mut ctx.accounts.payment_mint;
    pm.mint = ctx.accounts.mint.key();
    pm.enabled = enabled;
    pm.is_mesh = is_mesh;
    pm.min_price_per_second = min_price_per_second;
    pm.bump = ctx.bumps.payment_mint;
    emit!(PaymentMintSet {
        mint: pm.mint,
        enabled,
        is_mesh,
        min_price_per_second,
    });
    Ok(())
}
