use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::RewardRootPosted;
use crate::math;
use crate::state::Config;

#[derive(Accounts)]
pub struct PostRewardRoot<'info> {
    pub rewards_authority: Signer<'info>,
    #[account(
        mut,
        seeds = [CONFIG_SEED],
        bump = config.bump,
        constraint = config.rewards_authority == rewards_authority.key() @ GpuMeshError::Unauthorized,
    )]
    pub config: Box<Account<'info, Config>>,
}

/// Rewards authority posts the merkle root of cumulative reward amounts for `epoch` (an
/// emission hour). The root it replaces stays claimable for one more epoch.
///
/// CHECK:
/// - signer is `config.rewards_authority`; not paused;
/// - `epoch` strictly increasing (`EpochNotIncreasing`) and `≤` the completed emission hours
///   now (`EpochInFuture`);
/// - `total_cumulative` never decreases (`RewardTotalDecreased`), is `≤ C(epoch)` — what the
///   schedule has emitted by then (`RewardTotalExceedsSchedule`) — and `≤` what was actually
///   minted into the vault (`RewardTotalExceedsMinted`).
pub fn post_reward_root_handler(
    ctx: Context<PostRewardRoot>,
    epoch: u64,
    root: [u8; 32],
    total_cumulative: u64,
) -> Result<()> {
    let config = &mut ctx.accounts.config;
    require!(!config.paused, GpuMeshError::Paused);
    require!(epoch > config.reward_epoch, GpuMeshError::EpochNotIncreasing);
    let now = Clock::get()?.unix_timestamp;
    require!(
        epoch <= math::emission_hour(now, config.emission_start),
        GpuMeshError::EpochInFuture
    );
    // Amounts are cumulative: a later tree can only owe more, and never more than emitted.
    require!(
        total_cumulative >= config.reward_total_cumulative,
        GpuMeshError::RewardTotalDecreased
    );
    let scheduled = math::cumulative_emission(epoch).ok_or(GpuMeshError::MathOverflow)?;
    require!(total_cumulative <= scheduled, GpuMeshError::RewardTotalExceedsSchedule);
    require!(
        total_cumulative <= config.emission_minted,
        GpuMeshError::RewardTotalExceedsMinted
    );
    config.prev_reward_epoch = config.reward_epoch;
    config.prev_reward_root = config.reward_root;
    config.prev_reward_total_cumulative = config.reward_total_cumulative;
    config.reward_epoch = epoch;
    config.reward_root = root;
    config.reward_total_cumulative = total_cumulative;
    emit!(RewardRootPosted {
        epoch,
        root,
        total_cumulative,
    });
    Ok(())
}
