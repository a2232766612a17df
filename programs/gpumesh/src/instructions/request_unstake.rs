use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::DeviceUnstakeRequested;
use crate::math;
use crate::state::DeviceStake;

#[derive(Accounts)]
#[instruction(device_id: [u8; 16])]
pub struct RequestUnstake<'info> {
    pub authority: Signer<'info>,
    #[account(
        mut,
        seeds = [DEVICE_STAKE_SEED, device_id.as_ref()],
        bump = device_stake.bump,
        has_one = authority @ GpuMeshError::Unauthorized,
    )]
    pub device_stake: Box<Account<'info, DeviceStake>>,
}

/// Stake authority: start the unstake cooldown. From now on the stake no longer counts for
/// rewards (`DeviceStake::is_active` is false); it stays in the vault, and slashable, until
/// `withdraw_stake` after `UNSTAKE_COOLDOWN_SECONDS`. Works while paused.
///
/// CHECK:
/// - the signer is the stake's authority (`Unauthorized`);
/// - no unstake is pending yet (`UnstakeAlreadyRequested`): the cooldown cannot be restarted;
/// - the clock is positive (`InvalidTime`), since 0 means "not requested".
pub fn request_unstake_handler(ctx: Context<RequestUnstake>, _device_id: [u8; 16]) -> Result<()> {
    let stake = &mut ctx.accounts.device_stake;
    require!(stake.unstake_requested_at == 0, GpuMeshError::UnstakeAlreadyRequested);
    let now = Clock::get()?.unix_timestamp;
    require!(now > 0, GpuMeshError::InvalidTime);
    let withdrawable_at = math::stake_withdrawable_at(now).ok_or(GpuMeshError::MathOverflow)?;
    stake.unstake_requested_at = now;
    emit!(DeviceUnstakeRequested {
        device_stake: stake.key(),
        device_id: stake.device_id,
        authority: stake.authority,
        amount: stake.amount,
        requested_at: now,
        withdrawable_at,
    });
    Ok(())
}
