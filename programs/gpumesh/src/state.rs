//! Account layouts. Every account is a PDA of this program with an Anchor discriminator,
//! so a foreign or differently-typed account is rejected on deserialisation.
use anchor_lang::prelude::*;

/// Singleton configuration and the program-wide emission / reward bookkeeping.
/// Seeds: `["config"]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct Config {
    /// May update the config, pause, and manage payment mints.
    pub admin: Pubkey,
    /// Only signer allowed to call `settle_lease` (besides the parties, for `end_lease`).
    pub settlement_authority: Pubkey,
    /// Only signer allowed to call `post_reward_root`.
    pub rewards_authority: Pubkey,
    /// Wallet that must own the treasury token account fees are paid into (one per mint).
    pub treasury: Pubkey,
    /// The MESH mint; its mint authority is the `mint_authority` PDA after `initialize`.
    pub mesh_mint: Pubkey,
    /// Protocol fee on every settled gross amount, in basis points (snapshotted per lease).
    pub fee_bps: u16,
    /// Share of the fee that is burned when the lease pays in MESH (snapshotted per lease).
    pub burn_bps: u16,
    /// Unix time at which emission hour 1 starts (see `math::emission_hour`).
    pub emission_start: i64,
    /// Total MESH minted into the rewards vault by `crank_emissions` (never above the cap).
    pub emission_minted: u64,
    /// Last reward epoch posted (0 = none yet); strictly increasing.
    pub reward_epoch: u64,
    /// Merkle root of cumulative reward amounts for `reward_epoch`.
    pub reward_root: [u8; 32],
    /// Sum of all cumulative amounts in the current root; never above `emission_minted`.
    pub reward_total_cumulative: u64,
    /// Sum of everything paid out by `claim_rewards`.
    pub reward_total_claimed: u64,
    /// Blocks `open_lease`, `claim_rewards`, `crank_emissions`, `post_reward_root`.
    /// Settlement and ending stay possible so escrowed funds can always be unwound.
    pub paused: bool,
    pub bump: u8,
    pub mint_authority_bump: u8,
    pub rewards_vault_bump: u8,
}

/// Per-mint payment settings. Seeds: `["payment_mint", mint]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct PaymentMint {
    pub mint: Pubkey,
    pub enabled: bool,
    /// Derived (mint == config.mesh_mint), never set by hand: decides whether fees burn.
    pub is_mesh: bool,
    /// Lowest accepted `price_per_second` in base units (0 = any positive price).
    pub min_price_per_second: u64,
    pub bump: u8,
}

/// A registered supplier. Seeds: `["supplier", authority]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct Supplier {
    /// The supplier's wallet (signs `end_lease` as the supplier party).
    pub authority: Pubkey,
    /// Owner of the token accounts settlement pays into (one per payment mint).
    pub payout_wallet: Pubkey,
    pub registered_at: i64,
    pub bump: u8,
}

/// One escrowed rental. Seeds: `["lease", renter, lease_id_le]`.
/// The escrow token account is the PDA `["escrow", lease]`, owned by this lease PDA.
#[account]
#[derive(InitSpace, Debug)]
pub struct Lease {
    pub lease_id: u64,
    pub renter: Pubkey,
    /// Supplier wallet (`Supplier.authority`).
    pub supplier: Pubkey,
    pub mint: Pubkey,
    pub price_per_second: u64,
    pub max_seconds: u64,
    pub start_ts: i64,
    /// Seconds since `start_ts` already settled; settlement covers
    /// `[start_ts + settled_seconds, min(now, start_ts + max_seconds))`.
    pub settled_seconds: u64,
    /// `price_per_second * max_seconds`, moved into escrow at open.
    pub deposited: u64,
    /// Fee terms snapshotted at open so later config changes never alter an agreed lease.
    pub fee_bps: u16,
    pub burn_bps: u16,
    pub is_mesh: bool,
    pub total_gross: u64,
    pub total_supplier: u64,
    pub total_treasury: u64,
    pub total_burned: u64,
    pub bump: u8,
    pub escrow_bump: u8,
}

/// Per-claimant claim record. Seeds: `["claim", claimant]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct ClaimRecord {
    pub claimant: Pubkey,
    /// Cumulative amount already paid out to this claimant.
    pub claimed: u64,
    /// Epoch of the root the last claim was proven against.
    pub last_epoch: u64,
    pub bump: u8,
}
