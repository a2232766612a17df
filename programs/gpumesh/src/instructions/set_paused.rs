use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::PausedSet;
use crate::state::Config;

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

/// Admin: pause / unpause. Pausing blocks new money coming in (`open_lease`,
/// `extend_lease`) and the reward side; escrowed money can always be unwound.
///
/// CHECK:
/// - signer is `config.admin`.
pub fn set_paused_handler(ctx: Context<SetPaused>, paused: bool) -> Result<()> {
    ctx.accounts.config.paused = paused;
    emit!(PausedSet { paused });
    Ok(())
}
