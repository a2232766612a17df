use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::AdminAccepted;
use crate::state::Config;

#[derive(Accounts)]
pub struct AcceptAdmin<'info> {
    pub new_admin: Signer<'info>,
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
}

/// Pending admin: step two of the handover; becomes `config.admin`, the pending slot clears.
///
/// CHECK:
/// - a handover is pending (`NoPendingAdmin`);
/// - signer is `config.pending_admin` (`Unauthorized`).
pub fn accept_admin_handler(ctx: Context<AcceptAdmin>) -> Result<()> {
    let config = &mut ctx.accounts.config;
    require!(config.pending_admin != Pubkey::default(), GpuMeshError::NoPendingAdmin);
    require_keys_eq!(ctx.accounts.new_admin.key(), config.pending_admin, GpuMeshError::Unauthorized);
    let old_admin = config.admin;
    config.admin = config.pending_admin;
    config.pending_admin = Pubkey::default();
    emit!(AdminAccepted { old_admin, admin: config.admin });
    Ok(())
}
