use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, Token, TokenAccount, TransferChecked};

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::RewardsClaimed;
use crate::merkle;
use crate::state::{ClaimRecord, Config};

#[derive(Accounts)]
pub struct ClaimRewards<'info> {
    #[account(mut)]
    pub claimant: Signer<'info>,
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    /// Created on the first claim. Keyed by the claimant, and `claimant` is written only when
    /// the record is fresh, so `init_if_needed` cannot reset `claimed`.
    #[account(
        init_if_needed,
        payer = claimant,
        space = 8 + ClaimRecord::INIT_SPACE,
        seeds = [CLAIM_SEED, claimant.key().as_ref()],
        bump
    )]
    pub claim_record: Box<Account<'info, ClaimRecord>>,
    #[account(mut, seeds = [REWARDS_VAULT_SEED], bump = config.rewards_vault_bump)]
    pub rewards_vault: Box<Account<'info, TokenAccount>>,
    #[account(address = config.mesh_mint @ GpuMeshError::InvalidMint)]
    pub mesh_mint: Box<Account<'info, Mint>>,
    #[account(
        mut,
        constraint = claimant_token.key() != rewards_vault.key() @ GpuMeshError::DuplicateAccount,
        constraint = claimant_token.mint == config.mesh_mint @ GpuMeshError::InvalidMint,
        constraint = claimant_token.owner == claimant.key() @ GpuMeshError::InvalidTokenOwner,
    )]
    pub claimant_token: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

/// A claimant withdraws `cumulative − already claimed` with a merkle proof against the
/// current root or, for one epoch after a new post, the previous root.
///
/// CHECK:
/// - not paused; proof ≤ `MAX_PROOF_LEN`;
/// - the leaf is derived from the signer and `cumulative` (never supplied raw);
/// - against the root it verifies with, `cumulative ≤` that root's posted total
///   (`CumulativeExceedsTotal`);
/// - pays only `cumulative − claimed > 0` (`NothingToClaim`); `claimed` never decreases;
/// - Σ paid to everybody ≤ the current posted total, even with a faulty tree.
pub fn claim_rewards_handler(
    ctx: Context<ClaimRewards>,
    cumulative: u64,
    proof: Vec<[u8; 32]>,
) -> Result<()> {
    let claimant = ctx.accounts.claimant.key();
    let config = &mut ctx.accounts.config;
    require!(!config.paused, GpuMeshError::Paused);
    require!(proof.len() <= merkle::MAX_PROOF_LEN, GpuMeshError::ProofTooLong);
    // The leaf is derived here from the signer and the amount: a caller can never supply a
    // raw leaf (so neither another claimant's leaf nor an internal node can be replayed).
    let current = cumulative <= config.reward_total_cumulative
        && merkle::verify_claim(&config.reward_root, &claimant.to_bytes(), cumulative, &proof);
    let previous = !current
        && config.prev_reward_epoch > 0
        && cumulative <= config.prev_reward_total_cumulative
        && merkle::verify_claim(&config.prev_reward_root, &claimant.to_bytes(), cumulative, &proof);
    if !current && !previous {
        let bounded = cumulative <= config.reward_total_cumulative
            || (config.prev_reward_epoch > 0 && cumulative <= config.prev_reward_total_cumulative);
        let error = if bounded { GpuMeshError::InvalidProof } else { GpuMeshError::CumulativeExceedsTotal };
        return Err(error.into());
    }
    let epoch = if current { config.reward_epoch } else { config.prev_reward_epoch };

    let record = &mut ctx.accounts.claim_record;
    if record.claimant == Pubkey::default() {
        record.claimant = claimant;
        record.claimed = 0;
        record.bump = ctx.bumps.claim_record;
    }
    require_keys_eq!(record.claimant, claimant, GpuMeshError::Unauthorized);
    let amount = cumulative.saturating_sub(record.claimed);
    require!(amount > 0, GpuMeshError::NothingToClaim);
    record.claimed = cumulative;
    record.last_epoch = epoch;
    let total_claimed = config
        .reward_total_claimed
        .checked_add(amount)
        .ok_or(GpuMeshError::MathOverflow)?;
    // Even a faulty tree cannot pay out more than the posted (and minted) total.
    require!(
        total_claimed <= config.reward_total_cumulative,
        GpuMeshError::CumulativeExceedsTotal
    );
    config.reward_total_claimed = total_claimed;

    let bump = [config.bump];
    let seeds: &[&[u8]] = &[CONFIG_SEED, &bump];
    token::transfer_checked(
        CpiContext::new_with_signer(
            ctx.accounts.token_program.to_account_info(),
            TransferChecked {
                from: ctx.accounts.rewards_vault.to_account_info(),
                mint: ctx.accounts.mesh_mint.to_account_info(),
                to: ctx.accounts.claimant_token.to_account_info(),
                authority: config.to_account_info(),
            },
            &[seeds],
        ),
        amount,
        ctx.accounts.mesh_mint.decimals,
    )?;
    emit!(RewardsClaimed {
        claimant,
        epoch,
        amount,
        cumulative,
    });
    Ok(())
}
