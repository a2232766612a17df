use anchor_lang::prelude::*;
use anchor_lang::solana_program::program_option::COption;
use anchor_spl::token::{self, spl_token::instruction::AuthorityType, Mint, SetAuthority, Token};

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::ConfigInitialized;
use crate::math::{BPS_DENOMINATOR, MESH_DECIMALS};
use crate::state::Config;
use crate::utils::{create_pda_token_account, require_not_default};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct InitializeArgs {
    pub settlement_authority: Pubkey,
    pub rewards_authority: Pubkey,
    pub treasury: Pubkey,
    pub fee_bps: u16,
    pub burn_bps: u16,
    /// Unix time at which emission hour 1 begins.
    pub emission_start: i64,
}

#[derive(Accounts)]
pub struct Initialize<'info> {
    /// Must be the compile-time `ADMIN_AUTHORITY` and the MESH mint's current mint authority.
    #[account(mut, address = ADMIN_AUTHORITY @ GpuMeshError::Unauthorized)]
    pub admin: Signer<'info>,
    #[account(
        init,
        payer = admin,
        space = 8 + Config::INIT_SPACE,
        seeds = [CONFIG_SEED],
        bump
    )]
    pub config: Box<Account<'info, Config>>,
    #[account(
        mut,
        constraint = mesh_mint.decimals == MESH_DECIMALS @ GpuMeshError::InvalidMintDecimals,
        constraint = mesh_mint.freeze_authority.is_none() @ GpuMeshError::MintHasFreezeAuthority,
        constraint = mesh_mint.mint_authority == COption::Some(admin.key()) @ GpuMeshError::InvalidMintAuthority,
    )]
    pub mesh_mint: Box<Account<'info, Mint>>,
    /// CHECK: PDA that becomes the MESH mint authority; holds no data.
    #[account(seeds = [MINT_AUTHORITY_SEED], bump)]
    pub mint_authority: UncheckedAccount<'info>,
    /// CHECK: created by the handler as the MESH token account (authority `config`) that
    /// holds minted rewards until claimed; the seeds pin its address.
    #[account(mut, seeds = [REWARDS_VAULT_SEED], bump)]
    pub rewards_vault: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

/// One-time setup by `ADMIN_AUTHORITY`: creates the config and the rewards vault (MESH token
/// account whose authority is the config PDA) and hands the MESH mint authority to the
/// program's `mint_authority` PDA, so from then on only `crank_emissions` mints.
///
/// CHECK:
/// - signer is the compile-time `ADMIN_AUTHORITY` (`GPUMESH_ADMIN`, or the dev key only with
///   the `dev-admin` feature) and the MESH mint's current mint authority;
/// - MESH mint has 6 decimals and no freeze authority;
/// - `fee_bps`, `burn_bps` ≤ 10⁴; no role (settlement, rewards, treasury) is the default key;
/// - `now − 7 days ≤ emission_start ≤ now + 366 days` (`InvalidEmissionStart`): a start far in
///   the past would let the first crank mint a long unearned catch-up;
/// - config `init` (one time); a pre-funded vault address is topped up, not blocked.
pub fn initialize_handler(ctx: Context<Initialize>, args: InitializeArgs) -> Result<()> {
    require!(
        (args.fee_bps as u64) <= BPS_DENOMINATOR && (args.burn_bps as u64) <= BPS_DENOMINATOR,
        GpuMeshError::InvalidBps
    );
    require_not_default(&args.settlement_authority)?;
    require_not_default(&args.rewards_authority)?;
    require_not_default(&args.treasury)?;
    let now = Clock::get()?.unix_timestamp;
    let earliest = now.checked_sub(MAX_EMISSION_START_PAST_SECONDS).ok_or(GpuMeshError::MathOverflow)?;
    let latest = now.checked_add(MAX_EMISSION_START_FUTURE_SECONDS).ok_or(GpuMeshError::MathOverflow)?;
    require!(
        args.emission_start > 0 && args.emission_start >= earliest && args.emission_start <= latest,
        GpuMeshError::InvalidEmissionStart
    );

    let config = &mut ctx.accounts.config;
    config.admin = ctx.accounts.admin.key();
    config.settlement_authority = args.settlement_authority;
    config.rewards_authority = args.rewards_authority;
    config.treasury = args.treasury;
    config.mesh_mint = ctx.accounts.mesh_mint.key();
    config.fee_bps = args.fee_bps;
    config.burn_bps = args.burn_bps;
    config.emission_start = args.emission_start;
    config.emission_minted = 0;
    config.reward_epoch = 0;
    config.reward_root = [0u8; 32];
    config.reward_total_cumulative = 0;
    config.reward_total_claimed = 0;
    config.paused = false;
    config.pending_admin = Pubkey::default();
    config.prev_reward_epoch = 0;
    config.prev_reward_root = [0u8; 32];
    config.prev_reward_total_cumulative = 0;
    config.reserved = [0u8; crate::state::RESERVED_BYTES];
    config.bump = ctx.bumps.config;
    config.mint_authority_bump = ctx.bumps.mint_authority;
    config.rewards_vault_bump = ctx.bumps.rewards_vault;

    let vault_bump = [ctx.bumps.rewards_vault];
    create_pda_token_account(
        &ctx.accounts.admin.to_account_info(),
        &ctx.accounts.rewards_vault.to_account_info(),
        &ctx.accounts.mesh_mint.to_account_info(),
        &config.to_account_info(),
        &[REWARDS_VAULT_SEED, &vault_bump],
        &ctx.accounts.token_program.to_account_info(),
        &ctx.accounts.system_program.to_account_info(),
    )?;

    // From now on only the program (through `crank_emissions`) can mint MESH.
    token::set_authority(
        CpiContext::new(
            ctx.accounts.token_program.to_account_info(),
            SetAuthority {
                current_authority: ctx.accounts.admin.to_account_info(),
                account_or_mint: ctx.accounts.mesh_mint.to_account_info(),
            },
        ),
        AuthorityType::MintTokens,
        Some(ctx.accounts.mint_authority.key()),
    )?;

    emit!(ConfigInitialized {
        admin: config.admin,
        mesh_mint: config.mesh_mint,
        treasury: config.treasury,
        settlement_authority: config.settlement_authority,
        rewards_authority: config.rewards_authority,
        fee_bps: config.fee_bps,
        burn_bps: config.burn_bps,
        emission_start: config.emission_start,
    });
    Ok(())
}
