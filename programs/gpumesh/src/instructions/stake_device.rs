use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, Token, TokenAccount, TransferChecked};

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::DeviceStaked;
use crate::math;
use crate::state::{Config, DeviceStake, RESERVED_BYTES};
use crate::utils::create_pda_token_account;

#[derive(Accounts)]
#[instruction(device_id: [u8; 16])]
pub struct StakeDevice<'info> {
    /// The supplier wallet: pays the rents, signs the MESH transfer and becomes the stake's
    /// authority (the only key that may top up, unstake and withdraw).
    #[account(mut)]
    pub authority: Signer<'info>,
    /// Co-signs every stake and top-up. The weight is attested by the scheduler, which knows
    /// the device's catalogue weight and which supplier owns it; the supplier alone could name
    /// any weight (too low to stake less, or for a device that is not theirs).
    pub settlement_authority: Signer<'info>,
    #[account(
        seeds = [CONFIG_SEED],
        bump = config.bump,
        constraint = config.settlement_authority == settlement_authority.key() @ GpuMeshError::Unauthorized,
    )]
    pub config: Box<Account<'info, Config>>,
    /// Created on the first stake. Fields are written only when the record is fresh
    /// (`authority` is the default key), so `init_if_needed` can never reset a stake.
    #[account(
        init_if_needed,
        payer = authority,
        space = 8 + DeviceStake::INIT_SPACE,
        seeds = [DEVICE_STAKE_SEED, device_id.as_ref()],
        bump
    )]
    pub device_stake: Box<Account<'info, DeviceStake>>,
    /// CHECK: the stake's vault, pinned by its seeds.
    /// Created by the handler on the first stake as the MESH token account whose authority is
    /// the stake PDA; on a top-up it is that account (the seeds pin the address, and
    /// `transfer_checked` checks it is a token account of the MESH mint).
    #[account(mut, seeds = [STAKE_VAULT_SEED, device_stake.key().as_ref()], bump)]
    pub stake_vault: UncheckedAccount<'info>,
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
    pub system_program: Program<'info, System>,
}

/// Supplier, co-signed by the settlement authority: stake `amount` MESH for the device
/// `device_id` of weight `weight_bps`, creating the stake (and its vault) or topping it up.
///
/// Vault layout: one vault per stake (`["stake_vault", device_stake]`, authority = the stake
/// PDA), like a lease's escrow, rather than one pooled vault. Each stake's tokens are then
/// separate on-chain: a slash or a withdrawal can only ever touch the vault of the stake it
/// names, the invariant `vault balance ≥ amount` is checkable per device, and no accounting
/// error in one stake can spend another's MESH. The cost is one token account's rent (paid by
/// the supplier, returned at withdrawal).
///
/// Paused: refused, like `open_lease` (a pause stops new money coming in). Unstaking,
/// withdrawing and slashing stay possible while paused, so a supplier can always leave and a
/// cheater cannot wait out a pause to withdraw before being slashed.
///
/// CHECK:
/// - not paused; `settlement_authority` is the config's and signs (the weight attestation);
/// - `1 ≤ weight_bps ≤ MAX_DEVICE_WEIGHT_BPS` (`InvalidWeight`), `amount > 0` (`ZeroAmount`);
/// - a new stake records the signer as authority, the weight, and
///   `required = weight_bps · STAKE_PER_WEIGHT_UNIT` (snapshotted);
/// - a top-up: the signer is the stake's authority (`Unauthorized`), the weight equals the
///   stake's (`StakeWeightMismatch`), no unstake is pending (`StakeUnstaking`);
/// - afterwards `amount = required`: never short (`StakeBelowRequired`), and never more
///   (`StakeAboveRequired`): rewards do not grow with stake, so MESH beyond it would only be
///   locked for nothing, and a second order signed before the first landed (two tabs, a retry)
///   fails here instead of staking twice; a slashed stake is topped up back to exactly full;
///   sums checked;
/// - MESH only (mint pinned to the config), from a token account the signer owns, into the
///   vault at its PDA (created even if someone pre-funded the address).
pub fn stake_device_handler(ctx: Context<StakeDevice>, device_id: [u8; 16], weight_bps: u32, amount: u64) -> Result<()> {
    require!(!ctx.accounts.config.paused, GpuMeshError::Paused);
    require!(weight_bps > 0 && weight_bps <= MAX_DEVICE_WEIGHT_BPS, GpuMeshError::InvalidWeight);
    require!(amount > 0, GpuMeshError::ZeroAmount);
    let required = math::required_stake(weight_bps).ok_or(GpuMeshError::MathOverflow)?;
    let authority = ctx.accounts.authority.key();
    let stake = &mut ctx.accounts.device_stake;
    let created = stake.authority == Pubkey::default();
    if created {
        stake.authority = authority;
        stake.device_id = device_id;
        stake.weight_bps = weight_bps;
        stake.amount = 0;
        stake.required = required;
        stake.staked_at = Clock::get()?.unix_timestamp;
        stake.unstake_requested_at = 0;
        stake.slashed_total = 0;
        stake.bump = ctx.bumps.device_stake;
        stake.vault_bump = ctx.bumps.stake_vault;
        stake.reserved = [0u8; RESERVED_BYTES];
    } else {
        require_keys_eq!(stake.authority, authority, GpuMeshError::Unauthorized);
        require!(stake.weight_bps == weight_bps, GpuMeshError::StakeWeightMismatch);
        require!(stake.unstake_requested_at == 0, GpuMeshError::StakeUnstaking);
    }
    let total = stake.amount.checked_add(amount).ok_or(GpuMeshError::MathOverflow)?;
    require!(total >= stake.required, GpuMeshError::StakeBelowRequired);
    require!(total <= stake.required, GpuMeshError::StakeAboveRequired);
    stake.amount = total;

    let stake_key = stake.key();
    if created {
        let vault_bump = [ctx.bumps.stake_vault];
        create_pda_token_account(
            &ctx.accounts.authority.to_account_info(),
            &ctx.accounts.stake_vault.to_account_info(),
            &ctx.accounts.mesh_mint.to_account_info(),
            &stake.to_account_info(),
            &[STAKE_VAULT_SEED, stake_key.as_ref(), &vault_bump],
            &ctx.accounts.token_program.to_account_info(),
            &ctx.accounts.system_program.to_account_info(),
        )?;
    }
    token::transfer_checked(
        CpiContext::new(
            ctx.accounts.token_program.to_account_info(),
            TransferChecked {
                from: ctx.accounts.authority_token.to_account_info(),
                mint: ctx.accounts.mesh_mint.to_account_info(),
                to: ctx.accounts.stake_vault.to_account_info(),
                authority: ctx.accounts.authority.to_account_info(),
            },
        ),
        amount,
        ctx.accounts.mesh_mint.decimals,
    )?;

    emit!(DeviceStaked {
        device_stake: stake_key,
        device_id,
        authority,
        weight_bps,
        amount,
        total,
        required: stake.required,
        created,
    });
    Ok(())
}
