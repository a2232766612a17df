//! Account layouts. Every account is a PDA of this program with an Anchor discriminator,
//! so a foreign or differently-typed account is rejected on deserialisation. Every account
//! ends in `reserved` bytes (zero) so fields can be added without a migration.
use anchor_lang::prelude::*;

/// Bytes kept free at the end of every account for later fields.
pub const RESERVED_BYTES: usize = 64; // = the `reserved: [u8; 64]` of every account (literal for the IDL)

/// Singleton configuration and the program-wide emission / reward bookkeeping.
/// Seeds: `["config"]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct Config {
    /// May update the config, pause, manage payment mints and propose a new admin.
    pub admin: Pubkey,
    /// Activates, allocates, releases, ends (with a named time) and cancels leases.
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
    /// Blocks `open_lease`, `extend_lease`, `claim_rewards`, `crank_emissions`,
    /// `post_reward_root`. Settlement, ending and cancelling stay possible so escrowed funds
    /// can always be unwound.
    pub paused: bool,
    pub bump: u8,
    pub mint_authority_bump: u8,
    pub rewards_vault_bump: u8,
    /// Admin proposed by `propose_admin`, until it signs `accept_admin`
    /// (`Pubkey::default()` = none).
    pub pending_admin: Pubkey,
    /// The root posted before the current one stays claimable for one epoch, so a proof
    /// fetched just before a post still works.
    pub prev_reward_epoch: u64,
    pub prev_reward_root: [u8; 32],
    pub prev_reward_total_cumulative: u64,
    pub reserved: [u8; 64],
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
    pub reserved: [u8; 64],
}

/// A registered supplier. Seeds: `["supplier", authority]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct Supplier {
    /// The supplier's wallet (names it in allocations; rotates the payout wallet).
    pub authority: Pubkey,
    /// Owner of the token accounts settlement pays into (one per payment mint).
    pub payout_wallet: Pubkey,
    pub registered_at: i64,
    pub bump: u8,
    pub reserved: [u8; 64],
}

/// One escrowed rental. Seeds: `["lease", renter, lease_id_le]`.
/// The escrow token account is the PDA `["escrow", lease]`, owned by this lease PDA.
/// Never closed: the account is the tombstone that stops a `lease_id` from being reused.
///
/// Allocation bookkeeping: at any time `t ≥ last_change_ts` the amount all allocations have
/// earned is `released_gross + t·open_rate − open_rate_from`, and `open_rate ≤
/// price_per_second` always holds, so `owed_total ≤ price · (end − start) ≤ deposited`.
#[account]
#[derive(InitSpace, Debug)]
pub struct Lease {
    pub lease_id: u64,
    pub renter: Pubkey,
    pub mint: Pubkey,
    pub price_per_second: u64,
    pub max_seconds: u64,
    /// `price_per_second · max_seconds`, moved into escrow at open (and on extend).
    pub deposited: u64,
    /// `lease_status::*`: 0 Pending, 1 Active, 2 Ended, 3 Cancelled, 4 Closed.
    pub status: u8,
    pub opened_at: i64,
    /// `opened_at + ACTIVATION_WINDOW_SECONDS`: from then on the renter may cancel.
    pub activation_deadline: i64,
    /// Billing start (0 while Pending).
    pub start_ts: i64,
    /// 0 while Pending; `start_ts + max_seconds` while Active; the real end once Ended.
    pub end_ts: i64,
    /// Fee terms snapshotted at open so later config changes never alter an agreed lease.
    pub fee_bps: u16,
    pub burn_bps: u16,
    pub is_mesh: bool,
    /// Σ rate of the open allocations.
    pub open_rate: u64,
    /// Σ rate · from_ts of the open allocations.
    pub open_rate_from: u128,
    /// Σ rate · (until − from) of the released allocations.
    pub released_gross: u64,
    /// Time of the last activation / allocation change / end; never decreases.
    pub last_change_ts: i64,
    /// Index of the next allocation (= number of allocations created).
    pub allocation_count: u32,
    /// Set at end: what all allocations may claim in total (earned, paid or not).
    pub owed_total: u64,
    /// Paid out so far by `settle_allocation` (gross = supplier + treasury + burned).
    pub total_gross: u64,
    pub total_supplier: u64,
    pub total_treasury: u64,
    pub total_burned: u64,
    /// Deposit returned to the renter (end or cancel).
    pub refunded: u64,
    pub bump: u8,
    pub escrow_bump: u8,
    /// Latest `settled_until` of any allocation of this lease: an end (or a release) is never
    /// placed before time that has already been paid for.
    pub settled_until_max: i64,
    pub reserved: [u8; 64],
}

/// One supplier's share of a lease over `[from_ts, until_ts)`.
/// Seeds: `["allocation", lease, index_u32_le]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct Allocation {
    pub lease: Pubkey,
    pub index: u32,
    /// `Supplier.authority`; payouts go to that supplier's current `payout_wallet`.
    pub supplier: Pubkey,
    pub rate_per_second: u64,
    pub from_ts: i64,
    /// `ALLOCATION_OPEN` (i64::MAX) until released.
    pub until_ts: i64,
    /// Paid up to here (starts at `from_ts`).
    pub settled_until: i64,
    /// Running totals (fees and burns are floored on these, not per settlement).
    pub total_gross: u64,
    pub total_fee: u64,
    pub total_burned: u64,
    pub total_supplier: u64,
    pub total_treasury: u64,
    /// Who paid the rent (the settlement authority).
    pub rent_payer: Pubkey,
    pub bump: u8,
    pub reserved: [u8; 64],
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
    pub reserved: [u8; 64],
}

/// Why a stake was slashed (`slash_stake`); the evidence hash says which record proves it.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlashReason {
    /// The device failed a proof-of-physical-work round (evidence: sha256 of the failed
    /// proof's evidence).
    FailedProof,
    /// The device disappeared while serving a lease (evidence: sha256 of the outage record).
    VanishedMidLease,
}

/// One slash, created by `slash_stake` with `init`. Seeds: `["slash", device_stake, evidence_hash]`,
/// so one piece of evidence slashes a stake at most once: a second `slash_stake` with the same
/// evidence finds the record's address in use and fails in the runtime, however the first one was
/// sent (a retried job, a second scheduler). The record is never closed (closing it would let the
/// evidence slash again), and it outlives a withdrawal: a new stake of the same device is at the same
/// address, so old evidence cannot slash it either. Rent paid by the settlement authority.
#[account]
#[derive(InitSpace, Debug)]
pub struct SlashRecord {
    pub device_stake: Pubkey,
    pub device_id: [u8; 16],
    pub evidence_hash: [u8; 32],
    pub reason: SlashReason,
    /// MESH base units burned by this slash.
    pub amount: u64,
    pub slot: u64,
    /// Unix seconds (Clock sysvar) of the slash.
    pub slashed_at: i64,
    pub bump: u8,
    pub reserved: [u8; 64],
}

/// MESH staked for one device, sized by its performance weight.
/// Seeds: `["device_stake", device_id]`, `device_id` = the device's 16-byte UUID (the
/// database id, in its canonical byte order).
/// The MESH sits in the stake's own vault, the token account `["stake_vault", device_stake]`
/// whose authority is this PDA (see `stake_device` for why one vault per stake).
///
/// Lifecycle: `stake_device` (create, or top up) → `request_unstake` (stops counting for
/// rewards, starts the cooldown) → `withdraw_stake` after `UNSTAKE_COOLDOWN_SECONDS` (what is
/// left to the authority, account and vault closed). `slash_stake` burns from it at any time
/// until the withdrawal, the cooldown included.
#[account]
#[derive(InitSpace, Debug)]
pub struct DeviceStake {
    /// The supplier wallet that staked: the only key that may top up, unstake and withdraw.
    pub authority: Pubkey,
    pub device_id: [u8; 16],
    /// The device's performance weight (H100 = 10_000), attested by the settlement authority
    /// at stake time; fixed for the life of the stake.
    pub weight_bps: u32,
    /// MESH base units staked now (deposits − slashes); the vault holds at least this.
    pub amount: u64,
    /// `weight_bps · STAKE_PER_WEIGHT_UNIT` at stake time: what `amount` must reach to count.
    pub required: u64,
    pub staked_at: i64,
    /// Unix time of `request_unstake`; 0 = none.
    pub unstake_requested_at: i64,
    /// Σ burned by `slash_stake`.
    pub slashed_total: u64,
    pub bump: u8,
    pub vault_bump: u8,
    pub reserved: [u8; 64],
}

impl DeviceStake {
    /// Whether the stake counts for rewards: no unstake requested and at least the required
    /// amount staked (a slash below `required` stops it counting until topped up).
    pub fn is_active(&self) -> bool {
        self.unstake_requested_at == 0 && self.required > 0 && self.amount >= self.required
    }

    /// Earliest time `withdraw_stake` succeeds; `None` while no unstake was requested.
    pub fn withdrawable_at(&self) -> Option<i64> {
        if self.unstake_requested_at == 0 {
            return None;
        }
        crate::math::stake_withdrawable_at(self.unstake_requested_at)
    }
}
