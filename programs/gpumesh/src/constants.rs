use anchor_lang::prelude::*;

pub const CONFIG_SEED: &[u8] = b"config";
pub const MINT_AUTHORITY_SEED: &[u8] = b"mint_authority";
pub const REWARDS_VAULT_SEED: &[u8] = b"rewards_vault";
pub const PAYMENT_MINT_SEED: &[u8] = b"payment_mint";
pub const SUPPLIER_SEED: &[u8] = b"supplier";
pub const LEASE_SEED: &[u8] = b"lease";
pub const ESCROW_SEED: &[u8] = b"escrow";
pub const CLAIM_SEED: &[u8] = b"claim";

/// Longest lease accepted: 10 years of seconds (bounds every time computation).
pub const MAX_LEASE_SECONDS: u64 = 10 * 366 * 24 * 3600;

/// The only key allowed to call `initialize` (prevents front-running the one-time setup).
///
/// Set at compile time with `GPUMESH_ADMIN=<base58 pubkey>` (e.g. `GPUMESH_ADMIN=... anchor
/// build`). The default is the well-known DEV key derived from the ed25519 seed
/// sha256("gpumesh:dev:admin") — localnet and tests only; any real deployment must set
/// `GPUMESH_ADMIN`, otherwise anyone who reads this comment can initialize it.
pub const ADMIN_AUTHORITY: Pubkey = match option_env!("GPUMESH_ADMIN") {
    Some(key) => Pubkey::from_str_const(key),
    None => DEV_ADMIN_AUTHORITY,
};

/// Public key of the dev admin (seed sha256("gpumesh:dev:admin")).
pub const DEV_ADMIN_AUTHORITY: Pubkey =
    Pubkey::from_str_const("8v7C8thEPZTQX2dJ2g4nVzFuy8pcFeg1vbDDEwksg7PW");
