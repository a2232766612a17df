use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::DeviceStakeSlashed;
use crate::state::{Config, DeviceStake, SlashReason, SlashRecord, RESERVED_BYTES};
use crate::utils::escrow_burn;

#[derive(Accounts)]
#[instruction(device_id: [u8; 16], amount: u64, reason: SlashReason, evidence_hash: [u8; 32])]
pub struct SlashStake<'info> {
    /// Pays the slash record's rent.
    #[account(mut)]
    pub settlement_authority: Signer<'info>,
    #[account(
        seeds = [CONFIG_SEED],
        bump = config.bump,
        constraint = config.settlement_authority == settlement_authority.key() @ GpuMeshError::Unauthorized,
    )]
    pub config: Box<Account<'info, Config>>,
    #[account(mut, seeds = [DEVICE_STAKE_SEED, device_id.as_ref()], bump = device_stake.bump)]
    pub device_stake: Box<Account<'info, DeviceStake>>,
    /// Seeds bind the vault to this stake: another stake's vault is rejected.
    #[account(mut, seeds = [STAKE_VAULT_SEED, device_stake.key().as_ref()], bump = device_stake.vault_bump)]
    pub stake_vault: Box<Account<'info, TokenAccount>>,
    /// One per (stake, evidence): `init` fails when this evidence already slashed this stake, so a
    /// retried or duplicated slash cannot burn twice for one offence.
    #[account(
        init,
        payer = settlement_authority,
        space = 8 + SlashRecord::INIT_SPACE,
        seeds = [SLASH_SEED, device_stake.key().as_ref(), evidence_hash.as_ref()],
        bump
    )]
    pub slash_record: Box<Account<'info, SlashRecord>>,
    /// Mutable because the slashed MESH is burned (the supply drops).
    #[account(mut, address = config.mesh_mint @ GpuMeshError::InvalidMint)]
    pub mesh_mint: Box<Account<'info, Mint>>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

/// Settlement authority: slash `amount` of a device's stake for proven cheating, with the
/// sha256 of the evidence (the failed proof-of-work evidence, or the outage record of a device
/// that vanished mid-lease). The slashed MESH is burned from the vault (SPL Token `burn`), so it
/// goes to nobody, the authority included. Possible during the unstake cooldown (that is what
/// the cooldown is for) and while paused; not after the withdrawal (the stake is gone).
///
/// CHECK:
/// - signer is `config.settlement_authority` (`Unauthorized`);
/// - `0 < amount ≤ stake.amount` (`ZeroAmount`, `SlashExceedsStake`): never more than staked;
/// - `evidence_hash` is not all zero (`MissingEvidence`); `reason` is a known `SlashReason`
///   (anything else does not deserialize);
/// - one slash per piece of evidence: the `SlashRecord` at `["slash", device_stake, evidence_hash]`
///   is created with `init`, which fails (System Program: account already in use) when the same
///   evidence slashed this stake before, whatever the amount or reason; a failed slash creates no
///   record (the transaction is atomic), so the evidence can still be used once;
/// - the vault is this stake's (seeds), the mint is the config's MESH mint;
/// - `slashed_total` and `amount` move by exactly what was burned (checked).
pub fn slash_stake_handler(
    ctx: Context<SlashStake>,
    device_id: [u8; 16],
    amount: u64,
    reason: SlashReason,
    evidence_hash: [u8; 32],
) -> Result<()> {
    require!(amount > 0, GpuMeshError::ZeroAmount);
    require!(evidence_hash != [0u8; 32], GpuMeshError::MissingEvidence);
    let record_bump = ctx.bumps.slash_record;
    let a = ctx.accounts;
    let stake = &mut a.device_stake;
    require!(amount <= stake.amount, GpuMeshError::SlashExceedsStake);
    let remaining = stake.amount - amount;
    let slashed_total = stake.slashed_total.checked_add(amount).ok_or(GpuMeshError::MathOverflow)?;

    let stake_info = stake.to_account_info();
    let bump = [stake.bump];
    let seeds: &[&[u8]] = &[DEVICE_STAKE_SEED, device_id.as_ref(), &bump];
    escrow_burn(
        &a.token_program.to_account_info(),
        &a.stake_vault.to_account_info(),
        &a.mesh_mint.to_account_info(),
        &stake_info,
        seeds,
        amount,
    )?;
    stake.amount = remaining;
    stake.slashed_total = slashed_total;

    let clock = Clock::get()?;
    let record = &mut a.slash_record;
    record.device_stake = stake.key();
    record.device_id = device_id;
    record.evidence_hash = evidence_hash;
    record.reason = reason;
    record.amount = amount;
    record.slot = clock.slot;
    record.slashed_at = clock.unix_timestamp;
    record.bump = record_bump;
    record.reserved = [0u8; RESERVED_BYTES];

    emit!(DeviceStakeSlashed {
        device_stake: stake.key(),
        device_id,
        authority: stake.authority,
        amount,
        remaining,
        slashed_total,
        reason,
        evidence_hash,
    });
    Ok(())
}
