use anchor_lang::prelude::*;
use anchor_lang::solana_program::program_option::COption;
use anchor_spl::token::{self, spl_token::instruction::AuthorityType, Mint, SetAuthority, Token};

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::ConfigInitialized;
use crate::math::{BPS_DENOMINATOR, MESH_DECIMALS};
use crate::state::Config;
use crate::utils::create_pda_token_account;

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

pub fn initialize_handler(ctx: Context<Initialize>, args: InitializeArgs) -> Result<()> {
    require!(
        (args.fee_bps as u64) <= BPS_DENOMINATOR && (args.burn_bps as u64) <= BPS_DENOMINATOR,
        GpuMeshError::InvalidBps
    );
    require!(args.emission_start > 0, GpuMeshError::InvalidEmissionStart);

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
