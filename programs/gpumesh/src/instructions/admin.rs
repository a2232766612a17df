use anchor_lang::prelude::*;
use anchor_spl::token::Mint;

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::{ConfigUpdated, PausedSet, PaymentMintSet};
use crate::math::BPS_DENOMINATOR;
use crate::state::{Config, PaymentMint};

/// Every field is optional: `None` keeps the current value.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateConfigArgs {
    pub admin: Option<Pubkey>,
    pub settlement_authority: Option<Pubkey>,
    pub rewards_authority: Option<Pubkey>,
    pub treasury: Option<Pubkey>,
    pub fee_bps: Option<u16>,
    pub burn_bps: Option<u16>,
}

#[derive(Accounts)]
pub struct UpdateConfig<'info> {
    pub admin: Signer<'info>,
    #[account(
        mut,
        seeds = [CONFIG_SEED],
        bump = config.bump,
        has_one = admin @ GpuMeshError::Unauthorized,
    )]
    pub config: Box<Account<'info, Config>>,
}

pub fn update_config_handler(ctx: Context<UpdateConfig>, args: UpdateConfigArgs) -> Result<()> {
    let config = &mut ctx.accounts.config;
    if let Some(fee_bps) = args.fee_bps {
        require!((fee_bps as u64) <= BPS_DENOMINATOR, GpuMeshError::InvalidBps);
        config.fee_bps = fee_bps;
    }
    if let Some(burn_bps) = args.burn_bps {
        require!((burn_bps as u64) <= BPS_DENOMINATOR, GpuMeshError::InvalidBps);
        config.burn_bps = burn_bps;
    }
    if let Some(admin) = args.admin {
        config.admin = admin;
    }
    if let Some(key) = args.settlement_authority {
        config.settlement_authority = key;
    }
    if let Some(key) = args.rewards_authority {
        config.rewards_authority = key;
    }
    if let Some(key) = args.treasury {
        config.treasury = key;
    }
    emit!(ConfigUpdated {
        admin: config.admin,
        settlement_authority: config.settlement_authority,
        rewards_authority: config.rewards_authority,
        treasury: config.treasury,
        fee_bps: config.fee_bps,
        burn_bps: config.burn_bps,
    });
    Ok(())
}

#[derive(Accounts)]
pub struct SetPaused<'info> {
    pub admin: Signer<'info>,
    #[account(
        mut,
        seeds = [CONFIG_SEED],
        bump = config.bump,
        has_one = admin @ GpuMeshError::Unauthorized,
    )]
    pub config: Box<Account<'info, Config>>,
}

pub fn set_paused_handler(ctx: Context<SetPaused>, paused: bool) -> Result<()> {
    ctx.accounts.config.paused = paused;
    emit!(PausedSet { paused });
    Ok(())
}

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
