//! Events for indexers: one per state change, emitted with `emit!` (sol_log_data).
use anchor_lang::prelude::*;

#[event]
pub struct ConfigInitialized {
    pub admin: Pubkey,
    pub mesh_mint: Pubkey,
    pub treasury: Pubkey,
    pub settlement_authority: Pubkey,
    pub rewards_authority: Pubkey,
    pub fee_bps: u16,
    pub burn_bps: u16,
    pub emission_start: i64,
}

#[event]
pub struct ConfigUpdated {
    pub admin: Pubkey,
    pub settlement_authority: Pubkey,
    pub rewards_authority: Pubkey,
    pub treasury: Pubkey,
    pub fee_bps: u16,
    pub burn_bps: u16,
}

#[event]
pub struct PausedSet {
    pub paused: bool,
}

#[event]
pub struct PaymentMintSet {
    pub mint: Pubkey,
    pub enabled: bool,
    pub is_mesh: bool,
    pub min_price_per_second: u64,
}

#[event]
pub struct SupplierRegistered {
    pub supplier: Pubkey,
    pub authority: Pubkey,
    pub payout_wallet: Pubkey,
}

#[event]
pub struct LeaseOpened {
    pub lease: Pubkey,
    pub lease_id: u64,
    pub renter: Pubkey,
    pub supplier: Pubkey,
    pub mint: Pubkey,
    pub price_per_second: u64,
    pub max_seconds: u64,
    pub start_ts: i64,
    pub deposited: u64,
}

#[event]
pub struct LeaseSettled {
    pub lease: Pubkey,
    pub lease_id: u64,
    /// Seconds covered by this settlement.
    pub seconds: u64,
    /// Total seconds settled so far (after this settlement).
    pub settled_seconds: u64,
    pub gross: u64,
    pub fee: u64,
    pub burned: u64,
    pub treasury: u64,
    pub supplier_amount: u64,
}

#[event]
pub struct LeaseEnded {
    pub lease: Pubkey,
    pub lease_id: u64,
    pub ended_by: Pubkey,
    pub settled_seconds: u64,
    pub total_gross: u64,
    pub total_supplier: u64,
    pub total_treasury: u64,
    pub total_burned: u64,
    pub refund: u64,
}

#[event]
pub struct EmissionsMinted {
    pub hour: u64,
    pub amount: u64,
    pub total_minted: u64,
}

#[event]
pub struct RewardRootPosted {
    pub epoch: u64,
    pub root: [u8; 32],
    pub total_cumulative: u64,
}

#[event]
pub struct RewardsClaimed {
    pub claimant: Pubkey,
    pub epoch: u64,
    pub amount: u64,
    pub cumulative: u64,
}
