use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::ConfigUpdated;
use crate::math::BPS_DENOMINATOR;
use crate::state::Config;
use crate::utils::require_not_default;

/// Every field is optional: `None` keeps the current value. The admin role is not here: it
/// changes hands only through `propose_admin` + `accept_admin`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateConfigArgs {
    pub settlement_authority: Option<Pubkey>,
    pub rewards_authority: Option<Pubkey>,
    pub treasury: Option<Pubkey>,
    pub fee_bps: Option<u16>,
    pub burn_bps: Option<u16>,
}

#[derive(Accounts)]
pub struct UpdateConfig<'info> {
    pub admin: Signer<'info>,
    #[account(
        mut,
        seeds = [CONFIG_SEED],
        bump = config.bump,
        has_one = admin @ GpuMeshError::Unauthorized,
    )]
    pub config: Box<Account<'info, Config>>,
}

/// Admin: change the settlement / rewards authority, the treasury wallet and the fee terms
/// of leases opened from now on (open leases keep their snapshot).
///
/// CHECK:
/// - signer is `config.admin`;
/// - bps ≤ 10⁴ (`InvalidBps`); no role is set to the default key (`InvalidAuthority`).
pub fn update_config_handler(ctx: Context<UpdateConfig>, args: UpdateConfigArgs) -> Result<()> {
    let config = &mut ctx.accounts.config;
    if let Some(fee_bps) = args.fee_bps {
        require!((fee_bps as u64) <= BPS_DENOMINATOR, GpuMeshError::InvalidBps);
        config.fee_bps = fee_bps;
    }
    if let Some(burn_bps) = args.burn_bps {
        require!((burn_bps as u64) <= BPS_DENOMINATOR, GpuMeshError::InvalidBps);
        config.burn_bps = burn_bps;
    }
    if let Some(key) = args.settlement_authority {
        require_not_default(&key)?;
        config.settlement_authority = key;
    }
    if let Some(key) = args.rewards_authority {
        require_not_default(&key)?;
        config.rewards_authority = key;
    }
    if let Some(key) = args.treasury {
        require_not_default(&key)?;
        config.treasury = key;
    }
    emit!(ConfigUpdated {
        admin: config.admin,
        settlement_authority: config.settlement_authority,
        rewards_authority: config.rewards_authority,
        treasury: config.treasury,
        fee_bps: config.fee_bps,
        burn_bps: config.burn_bps,
    });
    Ok(())
}
