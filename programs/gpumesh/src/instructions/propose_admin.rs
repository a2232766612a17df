use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::AdminProposed;
use crate::state::Config;
use crate::utils::require_not_default;

#[derive(Accounts)]
pub struct ProposeAdmin<'info> {
    pub admin: Signer<'info>,
    #[account(
        mut,
        seeds = [CONFIG_SEED],
        bump = config.bump,
        has_one = admin @ GpuMeshError::Unauthorized,
    )]
    pub config: Box<Account<'info, Config>>,
}

/// Admin: step one of the handover. Records `new_admin` as `pending_admin`; nothing changes
/// until that key signs `accept_admin` (a typo cannot lock the program). Proposing again
/// replaces the pending key.
///
/// CHECK:
/// - signer is `config.admin`; `new_admin` is not the default key (`InvalidAuthority`).
pub fn propose_admin_handler(ctx: Context<ProposeAdmin>, new_admin: Pubkey) -> Result<()> {
    require_not_default(&new_admin)?;
    let config = &mut ctx.accounts.config;
    config.pending_admin = new_admin;
    emit!(AdminProposed { admin: config.admin, pending_admin: new_admin });
    Ok(())
}
