use anchor_lang::prelude::*;

/// Error codes start at 6000 (Anchor's custom error offset) in declaration order;
/// the order is part of the interface (the IDL and the TS client map them), append only.
#[error_code]
pub enum GpuMeshError {
    #[msg("Signer is not allowed to perform this action")]
    Unauthorized, // 6000
    #[msg("The program is paused")]
    Paused, // 6001
    #[msg("Basis points must be at most 10000")]
    InvalidBps, // 6002
    #[msg("Arithmetic overflow")]
    MathOverflow, // 6003
    #[msg("Amount or duration must be greater than zero")]
    ZeroAmount, // 6004
    #[msg("Price per second is below the minimum for this payment mint")]
    PriceBelowMinimum, // 6005
    #[msg("Payment mint is not enabled")]
    PaymentMintDisabled, // 6006
    #[msg("Nothing to settle for this lease at the current time")]
    NothingToSettle, // 6007
    #[msg("Token account does not belong to the expected owner")]
    InvalidTokenOwner, // 6008
    #[msg("Token account or mint does not match the expected mint")]
    InvalidMint, // 6009
    #[msg("The same account was passed for two distinct roles")]
    DuplicateAccount, // 6010
    #[msg("The MESH mint must have 6 decimals")]
    InvalidMintDecimals, // 6011
    #[msg("The MESH mint must not have a freeze authority")]
    MintHasFreezeAuthority, // 6012
    #[msg("Reward epoch must be strictly greater than the last one")]
    EpochNotIncreasing, // 6013
    #[msg("Reward total exceeds the amount minted into the rewards vault")]
    RewardTotalExceedsMinted, // 6014
    #[msg("Reward total must not decrease between epochs")]
    RewardTotalDecreased, // 6015
    #[msg("Merkle proof is invalid")]
    InvalidProof, // 6016
    #[msg("Merkle proof is too long")]
    ProofTooLong, // 6017
    #[msg("Nothing new to claim")]
    NothingToClaim, // 6018
    #[msg("Claimed cumulative amount exceeds the posted total")]
    CumulativeExceedsTotal, // 6019
    #[msg("Supplier account does not match the lease")]
    SupplierMismatch, // 6020
    #[msg("Lease duration exceeds the allowed maximum")]
    LeaseTooLong, // 6021
    #[msg("Emission start time must be positive")]
    InvalidEmissionStart, // 6022
    #[msg("The admin must be the current mint authority of the MESH mint")]
    InvalidMintAuthority, // 6023
    #[msg("Account is not the lease's renter")]
    RenterMismatch, // 6024
    #[msg("Arguments do not equal the lease's terms (the quote the server issued)")]
    TermsMismatch, // 6025
    #[msg("Time argument is outside the allowed range")]
    InvalidTime, // 6026
    #[msg("Allocated rates would exceed the lease's price per second")]
    AllocationExceedsPrice, // 6027
    #[msg("The escrow holds less than the amount due")]
    EscrowShortfall, // 6028
    #[msg("The lease is not in a status that allows this action")]
    InvalidLeaseStatus, // 6029
    #[msg("The allocation is already released")]
    AllocationClosed, // 6030
    #[msg("An authority or wallet must not be the default (all-zero) key")]
    InvalidAuthority, // 6031
    #[msg("No admin handover is pending")]
    NoPendingAdmin, // 6032
    #[msg("Reward epoch is later than the current emission hour")]
    EpochInFuture, // 6033
    #[msg("Reward total exceeds the emission schedule for that epoch")]
    RewardTotalExceedsSchedule, // 6034
    #[msg("The renter may cancel only after the activation deadline")]
    ActivationWindowOpen, // 6035
    #[msg("The lease still owes allocations money; settle them first")]
    LeaseNotSettled, // 6036
    #[msg("The allocation does not belong to this lease")]
    AllocationMismatch, // 6037
    #[msg("Device weight must be between 1 and MAX_DEVICE_WEIGHT_BPS")]
    InvalidWeight, // 6038
    #[msg("The weight differs from the stake's; unstake and stake again")]
    StakeWeightMismatch, // 6039
    #[msg("The stake would be below the amount required for the device's weight")]
    StakeBelowRequired, // 6040
    #[msg("The stake is unstaking; withdraw it and stake again")]
    StakeUnstaking, // 6041
    #[msg("An unstake was already requested for this stake")]
    UnstakeAlreadyRequested, // 6042
    #[msg("No unstake was requested for this stake")]
    UnstakeNotRequested, // 6043
    #[msg("The unstake cooldown has not elapsed yet")]
    UnstakeCooldownActive, // 6044
    #[msg("Slash amount exceeds the staked amount")]
    SlashExceedsStake, // 6045
    #[msg("A slash needs the hash of its evidence")]
    MissingEvidence, // 6046
    #[msg("The stake would be above the amount required for the device's weight")]
    StakeAboveRequired, // 6047
}
