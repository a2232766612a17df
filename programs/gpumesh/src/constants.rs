use anchor_lang::prelude::*;

pub const CONFIG_SEED: &[u8] = b"config";
pub const MINT_AUTHORITY_SEED: &[u8] = b"mint_authority";
pub const REWARDS_VAULT_SEED: &[u8] = b"rewards_vault";
pub const PAYMENT_MINT_SEED: &[u8] = b"payment_mint";
pub const SUPPLIER_SEED: &[u8] = b"supplier";
pub const LEASE_SEED: &[u8] = b"lease";
pub const ESCROW_SEED: &[u8] = b"escrow";
pub const ALLOCATION_SEED: &[u8] = b"allocation";
pub const CLAIM_SEED: &[u8] = b"claim";
pub const DEVICE_STAKE_SEED: &[u8] = b"device_stake";
pub const STAKE_VAULT_SEED: &[u8] = b"stake_vault";
pub const SLASH_SEED: &[u8] = b"slash";

/// Longest lease accepted: 10 years of seconds (bounds every time computation).
pub const MAX_LEASE_SECONDS: u64 = 10 * 366 * 24 * 3600;

/// How long a Pending lease may wait for `activate_lease` before the renter may cancel it
/// on their own (`cancel_lease`): one hour after `open_lease`. The settlement authority may
/// cancel (and may still activate) at any time while the lease is Pending; after the
/// deadline a stalled scheduler cannot hold the renter's deposit.
pub const ACTIVATION_WINDOW_SECONDS: i64 = 3_600;

/// `initialize` accepts an `emission_start` at most this far in the past (one week), so a
/// first crank can never mint a long, unearned catch-up.
pub const MAX_EMISSION_START_PAST_SECONDS: i64 = 7 * 24 * 3_600;
/// … and at most this far in the future (one year).
pub const MAX_EMISSION_START_FUTURE_SECONDS: i64 = 366 * 24 * 3_600;

/// MESH base units of stake required per basis point of a device's performance weight
/// (`DeviceStake.required = weight_bps · STAKE_PER_WEIGHT_UNIT`), so the stake is proportional
/// to what the device can earn. MESH has 6 decimals (`math::MESH_DECIMALS`): one bps needs
/// 0.1 MESH, an H100 (weight 10_000 bps) 10_000 · 100_000 = 10⁹ base units = 1,000 MESH, an
/// RTX 4090 (1_670 bps) 167 MESH, a B200 (22_740 bps) 2,274 MESH. Exported in the IDL
/// (`constants`), which the TypeScript `requiredStake` is checked against.
#[constant]
pub const STAKE_PER_WEIGHT_UNIT: u64 = 100_000;

/// Highest `weight_bps` a stake accepts: 100 H100s' worth (a device has at most 16 GPUs, the
/// fastest catalogue GPU weighs 22_740). Bounds `required` to 10¹¹ base units (100,000 MESH)
/// even if the attesting key were wrong.
#[constant]
pub const MAX_DEVICE_WEIGHT_BPS: u32 = 1_000_000;

/// Time between `request_unstake` and the earliest `withdraw_stake`: 7 days. The stake stays
/// in the vault (and slashable) during the cooldown, so a device cannot cheat and unstake
/// before the evidence is in; it stops counting for rewards at the request.
#[constant]
pub const UNSTAKE_COOLDOWN_SECONDS: i64 = 7 * 24 * 3_600;

/// Lease status values (`Lease.status`).
pub mod lease_status {
    /// Opened and escrowed; not billing yet.
    pub const PENDING: u8 = 0;
    /// Activated: billing since `start_ts`, at most until `end_ts`.
    pub const ACTIVE: u8 = 1;
    /// Ended: `end_ts` is the real end; allocations may still settle what they are owed.
    pub const ENDED: u8 = 2;
    /// Cancelled before activation: 100 % refunded, escrow closed.
    pub const CANCELLED: u8 = 3;
    /// Ended, everything paid, escrow closed. The lease account stays as a tombstone.
    pub const CLOSED: u8 = 4;
}

/// `Allocation.until_ts` of an allocation that has not been released.
pub const ALLOCATION_OPEN: i64 = i64::MAX;

/// Public key of the dev admin (seed sha256("gpumesh:dev:admin")). Published: never the
/// admin of a real build (see `ADMIN_AUTHORITY`).
pub const DEV_ADMIN_AUTHORITY: Pubkey =
    Pubkey::from_str_const("8v7C8thEPZTQX2dJ2g4nVzFuy8pcFeg1vbDDEwksg7PW");

/// The only key allowed to call `initialize` (prevents front-running the one-time setup).
///
/// * `GPUMESH_ADMIN=<base58 pubkey>` at compile time always wins
///   (`GPUMESH_ADMIN=... anchor build`).
/// * Otherwise the opt-in cargo feature `dev-admin` (localnet and tests) makes it the
///   published `DEV_ADMIN_AUTHORITY`.
/// * With neither, the build fails: a real build can never get the dev key silently.
pub const ADMIN_AUTHORITY: Pubkey = match option_env!("GPUMESH_ADMIN") {
    Some(key) => Pubkey::from_str_const(key),
    #[cfg(feature = "dev-admin")]
    None => DEV_ADMIN_AUTHORITY,
    // A const-evaluation failure is a compile error carrying this message.
    #[cfg(not(feature = "dev-admin"))]
    None => panic!(
        "gpumesh: set GPUMESH_ADMIN=<base58 pubkey> at build time (the `dev-admin` feature is for localnet and tests only)"
    ),
};
