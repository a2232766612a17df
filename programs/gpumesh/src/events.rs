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
pub struct PayoutWalletChanged {
    pub supplier: Pubkey,
    pub authority: Pubkey,
    pub old_payout_wallet: Pubkey,
    pub payout_wallet: Pubkey,
}

#[event]
pub struct AdminProposed {
    pub admin: Pubkey,
    pub pending_admin: Pubkey,
}

#[event]
pub struct AdminAccepted {
    pub old_admin: Pubkey,
    pub admin: Pubkey,
}

#[event]
pub struct LeaseOpened {
    pub lease: Pubkey,
    pub lease_id: u64,
    pub renter: Pubkey,
    pub mint: Pubkey,
    pub price_per_second: u64,
    pub max_seconds: u64,
    pub opened_at: i64,
    pub activation_deadline: i64,
    pub deposited: u64,
}

#[event]
pub struct LeaseActivated {
    pub lease: Pubkey,
    pub lease_id: u64,
    pub start_ts: i64,
    pub end_ts: i64,
}

#[event]
pub struct AllocationAdded {
    pub lease: Pubkey,
    pub allocation: Pubkey,
    pub index: u32,
    pub supplier: Pubkey,
    pub rate_per_second: u64,
    pub from_ts: i64,
    /// Σ rate of the lease's open allocations after this one.
    pub open_rate: u64,
}

#[event]
pub struct AllocationReleased {
    pub lease: Pubkey,
    pub allocation: Pubkey,
    pub index: u32,
    pub until_ts: i64,
    /// rate · (until − from): what this allocation earns in total.
    pub gross: u64,
    pub open_rate: u64,
}

#[event]
pub struct AllocationSettled {
    pub lease: Pubkey,
    pub allocation: Pubkey,
    pub index: u32,
    pub supplier: Pubkey,
    /// The period covered: `[from_ts, until_ts)`.
    pub from_ts: i64,
    pub until_ts: i64,
    pub gross: u64,
    pub fee: u64,
    pub burned: u64,
    pub treasury: u64,
    pub supplier_amount: u64,
    /// Allocation running totals after this settlement.
    pub total_gross: u64,
    pub total_fee: u64,
}

#[event]
pub struct LeaseEnded {
    pub lease: Pubkey,
    pub lease_id: u64,
    pub ended_by: Pubkey,
    pub end_ts: i64,
    pub owed_total: u64,
    /// Already paid out at the time of the end.
    pub total_gross: u64,
    pub refund: u64,
    /// True when nothing was owed any more and the escrow was closed (status Closed).
    pub closed: bool,
}

#[event]
pub struct LeaseClosed {
    pub lease: Pubkey,
    pub lease_id: u64,
    pub total_gross: u64,
    pub total_supplier: u64,
    pub total_treasury: u64,
    pub total_burned: u64,
    pub refunded: u64,
    /// Tokens a third party had sent into the escrow, returned to the renter.
    pub dust: u64,
}

#[event]
pub struct LeaseCancelled {
    pub lease: Pubkey,
    pub lease_id: u64,
    pub cancelled_by: Pubkey,
    pub refund: u64,
}

#[event]
pub struct LeaseExtended {
    pub lease: Pubkey,
    pub lease_id: u64,
    pub extra_seconds: u64,
    pub max_seconds: u64,
    pub deposited: u64,
    pub end_ts: i64,
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

#[event]
pub struct DeviceStaked {
    pub device_stake: Pubkey,
    pub device_id: [u8; 16],
    pub authority: Pubkey,
    pub weight_bps: u32,
    /// Added by this instruction.
    pub amount: u64,
    /// Staked after it.
    pub total: u64,
    pub required: u64,
    /// True when this instruction created the stake (false: a top-up).
    pub created: bool,
}

#[event]
pub struct DeviceUnstakeRequested {
    pub device_stake: Pubkey,
    pub device_id: [u8; 16],
    pub authority: Pubkey,
    pub amount: u64,
    pub requested_at: i64,
    /// `requested_at + UNSTAKE_COOLDOWN_SECONDS`.
    pub withdrawable_at: i64,
}

#[event]
pub struct DeviceStakeWithdrawn {
    pub device_stake: Pubkey,
    pub device_id: [u8; 16],
    pub authority: Pubkey,
    /// The stake left after slashes, returned to the authority.
    pub amount: u64,
    /// Tokens a third party had sent into the vault, returned with it.
    pub dust: u64,
    pub slashed_total: u64,
}

#[event]
pub struct DeviceStakeSlashed {
    pub device_stake: Pubkey,
    pub device_id: [u8; 16],
    pub authority: Pubkey,
    /// Burned from the vault by this slash.
    pub amount: u64,
    /// Staked after it.
    pub remaining: u64,
    pub slashed_total: u64,
    pub reason: crate::state::SlashReason,
    /// sha256 of the evidence (the failed proof's evidence or the outage record).
    pub evidence_hash: [u8; 32],
}
