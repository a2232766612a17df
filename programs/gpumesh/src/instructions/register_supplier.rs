use anchor_lang::prelude::*;

use crate::constants::*;
use crate::events::SupplierRegistered;
use crate::state::{Supplier, RESERVED_BYTES};
use crate::utils::require_not_default;

#[derive(Accounts)]
pub struct RegisterSupplier<'info> {
    #[account(mut)]
    pub authority: Signer<'info>,
    /// `init` (not `init_if_needed`): registering twice fails in the system program
    /// (account already in use), so a record can never be overwritten.
    #[account(
        init,
        payer = authority,
        space = 8 + Supplier::INIT_SPACE,
        seeds = [SUPPLIER_SEED, authority.key().as_ref()],
        bump
    )]
    pub supplier: Box<Account<'info, Supplier>>,
    pub system_program: Program<'info, System>,
}

/// A wallet registers as a supplier, naming the wallet its payouts go to.
///
/// CHECK:
/// - one record per authority (`init` at `["supplier", authority]`);
/// - `payout_wallet` is not the default key (`InvalidAuthority`).
pub fn register_supplier_handler(ctx: Context<RegisterSupplier>, payout_wallet: Pubkey) -> Result<()> {
    require_not_default(&payout_wallet)?;
    let supplier = &mut ctx.accounts.supplier;
    supplier.authority = ctx.accounts.authority.key();
    supplier.payout_wallet = payout_wallet;
    supplier.registered_at = Clock::get()?.unix_timestamp;
    supplier.bump = ctx.bumps.supplier;
    supplier.reserved = [0u8; RESERVED_BYTES];
    emit!(SupplierRegistered {
        supplier: supplier.key(),
        authority: supplier.authority,
        payout_wallet,
    });
    Ok(())
}
