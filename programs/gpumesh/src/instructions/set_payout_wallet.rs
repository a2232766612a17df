use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::GpuMeshError;
use crate::events::PayoutWalletChanged;
use crate::state::Supplier;
use crate::utils::require_not_default;

#[derive(Accounts)]
pub struct SetPayoutWallet<'info> {
    pub authority: Signer<'info>,
    #[account(
        mut,
        seeds = [SUPPLIER_SEED, authority.key().as_ref()],
        bump = supplier.bump,
        has_one = authority @ GpuMeshError::Unauthorized,
    )]
    pub supplier: Box<Account<'info, Supplier>>,
}

/// Supplier: rotate the payout wallet. Later settlements (of every allocation, including
/// open ones) pay token accounts owned by the new wallet.
///
/// CHECK:
/// - signer is `supplier.authority` (the PDA is derived from the signer);
/// - `payout_wallet` is not the default key (`InvalidAuthority`).
pub fn set_payout_wallet_handler(ctx: Context<SetPayoutWallet>, payout_wallet: Pubkey) -> Result<()> {
    require_not_default(&payout_wallet)?;
    let supplier = &mut ctx.accounts.supplier;
    let old_payout_wallet = supplier.payout_wallet;
    supplier.payout_wallet = payout_wallet;
    emit!(PayoutWalletChanged {
        supplier: supplier.key(),
        authority: supplier.authority,
        old_payout_wallet,
        payout_wallet,
    });
    Ok(())
}
