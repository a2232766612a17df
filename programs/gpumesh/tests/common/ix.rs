//! Instruction builders (Anchor account structs + instruction data). The vectors test
//! serialises exactly these, so the TS client is checked against the same bytes.
use anchor_lang::{InstructionData, ToAccountMetas};
use anchor_spl::token::spl_token;
use gpumesh::{accounts, instruction, instructions::*, pda};
#[allow(deprecated)]
use solana_sdk::{instruction::Instruction, pubkey::Pubkey, system_program};

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: gpumesh::ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

pub fn initialize(admin: &Pubkey, mesh_mint: &Pubkey, args: InitializeArgs) -> Instruction {
    build(
        accounts::Initialize {
            admin: *admin,
            config: pda::config().0,
            mesh_mint: *mesh_mint,
            mint_authority: pda::mint_authority().0,
            rewards_vault: pda::rewards_vault().0,
            token_program: spl_token::ID,
            system_program: system_program::ID,
        },
        instruction::Initialize { args },
    )
}

pub fn update_config(admin: &Pubkey, args: UpdateConfigArgs) -> Instruction {
    build(
        accounts::UpdateConfig { admin: *admin, config: pda::config().0 },
        instruction::UpdateConfig { args },
    )
}

pub fn set_paused(admin: &Pubkey, paused: bool) -> Instruction {
    build(
        accounts::SetPaused { admin: *admin, config: pda::config().0 },
        instruction::SetPaused { paused },
    )
}

pub fn set_payment_mint(admin: &Pubkey, mint: &Pubkey, enabled: bool, min_price_per_second: u64) -> Instruction {
    build(
        accounts::SetPaymentMint {
            admin: *admin,
            config: pda::config().0,
            mint: *mint,
            payment_mint: pda::payment_mint(mint).0,
            system_program: system_program::ID,
        },
        instruction::SetPaymentMint { enabled, min_price_per_second },
    )
}

pub fn register_supplier(authority: &Pubkey, payout_wallet: &Pubkey) -> Instruction {
    build(
        accounts::RegisterSupplier {
            authority: *authority,
            supplier: pda::supplier(authority).0,
            system_program: system_program::ID,
        },
        instruction::RegisterSupplier { payout_wallet: *payout_wallet },
    )
}

pub fn propose_admin(admin: &Pubkey, new_admin: &Pubkey) -> Instruction {
    build(
        accounts::ProposeAdmin { admin: *admin, config: pda::config().0 },
        instruction::ProposeAdmin { new_admin: *new_admin },
    )
}

pub fn accept_admin(new_admin: &Pubkey) -> Instruction {
    build(
        accounts::AcceptAdmin { new_admin: *new_admin, config: pda::config().0 },
        instruction::AcceptAdmin {},
    )
}

pub fn set_payout_wallet(authority: &Pubkey, payout_wallet: &Pubkey) -> Instruction {
    build(
        accounts::SetPayoutWallet { authority: *authority, supplier: pda::supplier(authority).0 },
        instruction::SetPayoutWallet { payout_wallet: *payout_wallet },
    )
}

pub fn open_lease(
    renter: &Pubkey,
    mint: &Pubkey,
    renter_token: &Pubkey,
    lease_id: u64,
    price_per_second: u64,
    max_seconds: u64,
) -> Instruction {
    let lease = pda::lease(renter, lease_id).0;
    build(
        accounts::OpenLease {
            renter: *renter,
            config: pda::config().0,
            payment_mint: pda::payment_mint(mint).0,
            mint: *mint,
            lease,
            escrow: pda::escrow(&lease).0,
            renter_token: *renter_token,
            token_program: spl_token::ID,
            system_program: system_program::ID,
        },
        instruction::OpenLease { lease_id, price_per_second, max_seconds },
    )
}

pub fn activate_lease(
    settlement_authority: &Pubkey,
    lease: &Pubkey,
    start_ts: i64,
    price_per_second: u64,
    max_seconds: u64,
) -> Instruction {
    build(
        accounts::ActivateLease {
            settlement_authority: *settlement_authority,
            config: pda::config().0,
            lease: *lease,
        },
        instruction::ActivateLease { start_ts, price_per_second, max_seconds },
    )
}

pub fn add_allocation(
    settlement_authority: &Pubkey,
    lease: &Pubkey,
    index: u32,
    supplier_authority: &Pubkey,
    rate_per_second: u64,
    from_ts: i64,
) -> Instruction {
    build(
        accounts::AddAllocation {
            settlement_authority: *settlement_authority,
            config: pda::config().0,
            lease: *lease,
            supplier: pda::supplier(supplier_authority).0,
            allocation: pda::allocation(lease, index).0,
            system_program: system_program::ID,
        },
        instruction::AddAllocation { rate_per_second, from_ts },
    )
}

pub fn release_allocation(settlement_authority: &Pubkey, lease: &Pubkey, index: u32, until_ts: i64) -> Instruction {
    build(
        accounts::ReleaseAllocation {
            settlement_authority: *settlement_authority,
            config: pda::config().0,
            lease: *lease,
            allocation: pda::allocation(lease, index).0,
        },
        instruction::ReleaseAllocation { until_ts },
    )
}

pub fn settle_allocation(
    lease: &Pubkey,
    index: u32,
    mint: &Pubkey,
    supplier_authority: &Pubkey,
    supplier_token: &Pubkey,
    treasury_token: &Pubkey,
    until: Option<i64>,
) -> Instruction {
    build(
        accounts::SettleAllocation {
            config: pda::config().0,
            lease: *lease,
            allocation: pda::allocation(lease, index).0,
            escrow: pda::escrow(lease).0,
            mint: *mint,
            supplier: pda::supplier(supplier_authority).0,
            supplier_token: *supplier_token,
            treasury_token: *treasury_token,
            token_program: spl_token::ID,
        },
        instruction::SettleAllocation { until },
    )
}

pub fn end_lease(
    caller: &Pubkey,
    lease: &Pubkey,
    renter: &Pubkey,
    mint: &Pubkey,
    renter_token: &Pubkey,
    end_ts: Option<i64>,
) -> Instruction {
    build(
        accounts::EndLease {
            caller: *caller,
            config: pda::config().0,
            lease: *lease,
            renter: *renter,
            escrow: pda::escrow(lease).0,
            mint: *mint,
            renter_token: *renter_token,
            token_program: spl_token::ID,
        },
        instruction::EndLease { end_ts },
    )
}

pub fn close_lease(caller: &Pubkey, lease: &Pubkey, renter: &Pubkey, mint: &Pubkey, renter_token: &Pubkey) -> Instruction {
    build(
        accounts::CloseLease {
            caller: *caller,
            config: pda::config().0,
            lease: *lease,
            renter: *renter,
            escrow: pda::escrow(lease).0,
            mint: *mint,
            renter_token: *renter_token,
            token_program: spl_token::ID,
        },
        instruction::CloseLease {},
    )
}

pub fn cancel_lease(caller: &Pubkey, lease: &Pubkey, renter: &Pubkey, mint: &Pubkey, renter_token: &Pubkey) -> Instruction {
    build(
        accounts::CancelLease {
            caller: *caller,
            config: pda::config().0,
            lease: *lease,
            renter: *renter,
            escrow: pda::escrow(lease).0,
            mint: *mint,
            renter_token: *renter_token,
            token_program: spl_token::ID,
        },
        instruction::CancelLease {},
    )
}

pub fn extend_lease(renter: &Pubkey, lease: &Pubkey, mint: &Pubkey, renter_token: &Pubkey, extra_seconds: u64) -> Instruction {
    build(
        accounts::ExtendLease {
            renter: *renter,
            config: pda::config().0,
            lease: *lease,
            escrow: pda::escrow(lease).0,
            mint: *mint,
            renter_token: *renter_token,
            token_program: spl_token::ID,
        },
        instruction::ExtendLease { extra_seconds },
    )
}

pub fn crank_emissions(mesh_mint: &Pubkey) -> Instruction {
    build(
        accounts::CrankEmissions {
            config: pda::config().0,
            mesh_mint: *mesh_mint,
            mint_authority: pda::mint_authority().0,
            rewards_vault: pda::rewards_vault().0,
            token_program: spl_token::ID,
        },
        instruction::CrankEmissions {},
    )
}

pub fn post_reward_root(rewards_authority: &Pubkey, epoch: u64, root: [u8; 32], total_cumulative: u64) -> Instruction {
    build(
        accounts::PostRewardRoot { rewards_authority: *rewards_authority, config: pda::config().0 },
        instruction::PostRewardRoot { epoch, root, total_cumulative },
    )
}

pub fn claim_rewards(
    claimant: &Pubkey,
    mesh_mint: &Pubkey,
    claimant_token: &Pubkey,
    cumulative: u64,
    proof: Vec<[u8; 32]>,
) -> Instruction {
    build(
        accounts::ClaimRewards {
            claimant: *claimant,
            config: pda::config().0,
            claim_record: pda::claim_record(claimant).0,
            rewards_vault: pda::rewards_vault().0,
            mesh_mint: *mesh_mint,
            claimant_token: *claimant_token,
            token_program: spl_token::ID,
            system_program: system_program::ID,
        },
        instruction::ClaimRewards { cumulative, proof },
    )
}

pub fn stake_device(
    authority: &Pubkey,
    settlement_authority: &Pubkey,
    mesh_mint: &Pubkey,
    authority_token: &Pubkey,
    device_id: [u8; 16],
    weight_bps: u32,
    amount: u64,
) -> Instruction {
    let device_stake = pda::device_stake(&device_id).0;
    build(
        accounts::StakeDevice {
            authority: *authority,
            settlement_authority: *settlement_authority,
            config: pda::config().0,
            device_stake,
            stake_vault: pda::stake_vault(&device_stake).0,
            mesh_mint: *mesh_mint,
            authority_token: *authority_token,
            token_program: spl_token::ID,
            system_program: system_program::ID,
        },
        instruction::StakeDevice { device_id, weight_bps, amount },
    )
}

pub fn request_unstake(authority: &Pubkey, device_id: [u8; 16]) -> Instruction {
    build(
        accounts::RequestUnstake { authority: *authority, device_stake: pda::device_stake(&device_id).0 },
        instruction::RequestUnstake { device_id },
    )
}

pub fn withdraw_stake(authority: &Pubkey, mesh_mint: &Pubkey, authority_token: &Pubkey, device_id: [u8; 16]) -> Instruction {
    let device_stake = pda::device_stake(&device_id).0;
    build(
        accounts::WithdrawStake {
            authority: *authority,
            config: pda::config().0,
            device_stake,
            stake_vault: pda::stake_vault(&device_stake).0,
            mesh_mint: *mesh_mint,
            authority_token: *authority_token,
            token_program: spl_token::ID,
        },
        instruction::WithdrawStake { device_id },
    )
}

pub fn slash_stake(
    settlement_authority: &Pubkey,
    mesh_mint: &Pubkey,
    device_id: [u8; 16],
    amount: u64,
    reason: gpumesh::SlashReason,
    evidence_hash: [u8; 32],
) -> Instruction {
    let device_stake = pda::device_stake(&device_id).0;
    build(
        accounts::SlashStake {
            settlement_authority: *settlement_authority,
            config: pda::config().0,
            device_stake,
            stake_vault: pda::stake_vault(&device_stake).0,
            slash_record: pda::slash_record(&device_stake, &evidence_hash).0,
            mesh_mint: *mesh_mint,
            token_program: spl_token::ID,
            system_program: system_program::ID,
        },
        instruction::SlashStake { device_id, amount, reason, evidence_hash },
    )
}
