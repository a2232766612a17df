use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::DeviceStakeWithdrawn;
use crate::state::{Config, DeviceStake};
use crate::utils::drain_and_close_escrow;

#[derive(Accounts)]
#[instruction(device_id: [u8; 16])]
pub struct WithdrawStake<'info> {
    /// Receives the stake's MESH (into `authority_token`) and both rents.
    #[account(mut)]
    pub authority: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(
        mut,
        close = authority,
        seeds = [DEVICE_STAKE_SEED, device_id.as_ref()],
        bump = device_stake.bump,
        has_one = authority @ GpuMeshError::Unauthorized,
    )]
    pub device_stake: Box<Account<'info, DeviceStake>>,
    /// Seeds bind the vault to this stake: another stake's vault is rejected.
    #[account(mut, seeds = [STAKE_VAULT_SEED, device_stake.key().as_ref()], bump = device_stake.vault_bump)]
    pub stake_vault: Box<Account<'info, TokenAccount>>,
    #[account(address = config.mesh_mint @ GpuMeshError::InvalidMint)]
    pub mesh_mint: Box<Account<'info, Mint>>,
    #[account(
        mut,
        constraint = authority_token.key() != stake_vault.key() @ GpuMeshError::DuplicateAccount,
        constraint = authority_token.mint == config.mesh_mint @ GpuMeshError::InvalidMint,
        constraint = authority_token.owner == authority.key() @ GpuMeshError::InvalidTokenOwner,
    )]
    pub authority_token: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Stake authority, once the cooldown is over: everything in the vault (what is left of the
/// stake after slashes, plus any tokens a third party sent in) goes to the authority's MESH
/// account; the vault and the stake account are closed, their rents to the authority. A stake
/// slashed to zero withdraws 0 and still closes. Works while paused.
///
/// CHECK:
/// - the signer is the stake's authority (`Unauthorized`) and receives into its own MESH
///   account (mint and owner pinned, never the vault);
/// - an unstake was requested (`UnstakeNotRequested`) and
///   `now ≥ unstake_requested_at + UNSTAKE_COOLDOWN_SECONDS` (`UnstakeCooldownActive`);
/// - the vault is this stake's (seeds) and holds at least `amount` (`MathOverflow` otherwise);
/// - the account is closed, so a second withdrawal finds nothing (`AccountNotInitialized`).
pub fn withdraw_stake_handler(ctx: Context<WithdrawStake>, _device_id: [u8; 16]) -> Result<()> {
    let a = ctx.accounts;
    let stake = &a.device_stake;
    require!(stake.unstake_requested_at != 0, GpuMeshError::UnstakeNotRequested);
    let withdrawable_at = stake.withdrawable_at().ok_or(GpuMeshError::MathOverflow)?;
    let now = Clock::get()?.unix_timestamp;
    require!(now >= withdrawable_at, GpuMeshError::UnstakeCooldownActive);

    let stake_info = stake.to_account_info();
    let bump = [stake.bump];
    let seeds: &[&[u8]] = &[DEVICE_STAKE_SEED, stake.device_id.as_ref(), &bump];
    let returned = drain_and_close_escrow(
        &a.token_program.to_account_info(),
        &a.stake_vault,
        &a.mesh_mint.to_account_info(),
        &a.authority_token.to_account_info(),
        &a.authority.to_account_info(),
        &stake_info,
        seeds,
        a.mesh_mint.decimals,
    )?;
    let dust = returned.checked_sub(stake.amount).ok_or(GpuMeshError::MathOverflow)?;
    emit!(DeviceStakeWithdrawn {
        device_stake: stake.key(),
        device_id: stake.device_id,
        authority: stake.authority,
        amount: stake.amount,
        dust,
        slashed_total: stake.slashed_total,
    });
    Ok(())
}
