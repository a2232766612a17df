use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, MintTo, Token, TokenAccount};

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::EmissionsMinted;
use crate::math;
use crate::state::Config;

/// Permissionless: anyone may pay the fee to crank; the amount is fully determined by the
/// clock and the schedule, so there is nothing for the caller to choose.
#[derive(Accounts)]
pub struct CrankEmissions<'info> {
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut, address = config.mesh_mint @ GpuMeshError::InvalidMint)]
    pub mesh_mint: Box<Account<'info, Mint>>,
    /// CHECK: PDA signer that is the MESH mint authority.
    #[account(seeds = [MINT_AUTHORITY_SEED], bump = config.mint_authority_bump)]
    pub mint_authority: UncheckedAccount<'info>,
    #[account(mut, seeds = [REWARDS_VAULT_SEED], bump = config.rewards_vault_bump)]
    pub rewards_vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Mints `min(C(h), cap) − minted_so_far` where `h` is the number of completed hours since
/// `emission_start`. A second crank in the same hour mints 0 (and succeeds); a missed hour
/// is caught up by the next crank; the total never exceeds `EMISSION_CAP`.
///
/// CHECK:
/// - not paused; mint, mint authority and vault are the config's (address / seeds);
/// - a clock that went backwards mints 0 (saturating against `emission_minted`);
/// - `emission_minted` ≤ cap after the mint.
pub fn crank_emissions_handler(ctx: Context<CrankEmissions>) -> Result<()> {
    let config = &mut ctx.accounts.config;
    require!(!config.paused, GpuMeshError::Paused);
    let now = Clock::get()?.unix_timestamp;
    let hour = math::emission_hour(now, config.emission_start);
    let due = math::cumulative_emission(hour).ok_or(GpuMeshError::MathOverflow)?;
    let amount = due.saturating_sub(config.emission_minted);
    if amount == 0 {
        return Ok(());
    }
    let total = config
        .emission_minted
        .checked_add(amount)
        .ok_or(GpuMeshError::MathOverflow)?;
    // Defence in depth: the schedule is capped, but never trust it blindly.
    require!(total <= math::EMISSION_CAP, GpuMeshError::MathOverflow);
    config.emission_minted = total;

    let bump = [config.mint_authority_bump];
    let seeds: &[&[u8]] = &[MINT_AUTHORITY_SEED, &bump];
    token::mint_to(
        CpiContext::new_with_signer(
            ctx.accounts.token_program.to_account_info(),
            MintTo {
                mint: ctx.accounts.mesh_mint.to_account_info(),
                to: ctx.accounts.rewards_vault.to_account_info(),
                authority: ctx.accounts.mint_authority.to_account_info(),
            },
            &[seeds],
        ),
        amount,
    )?;
    emit!(EmissionsMinted {
        hour,
        amount,
        total_minted: total,
    });
    Ok(())
}
