//! Program-derived addresses, one function per account kind (same seeds as the
//! `#[account(seeds = …)]` constraints). Used by tests, vectors and off-chain clients.
use anchor_lang::prelude::Pubkey;

use crate::constants::*;

pub fn config() -> (Pubkey, u8) {
    Pubkey::find_program_address(&[CONFIG_SEED], &crate::ID)
}

pub fn mint_authority() -> (Pubkey, u8) {
    Pubkey::find_program_address(&[MINT_AUTHORITY_SEED], &crate::ID)
}

pub fn rewards_vault() -> (Pubkey, u8) {
    Pubkey::find_program_address(&[REWARDS_VAULT_SEED], &crate::ID)
}

pub fn payment_mint(mint: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[PAYMENT_MINT_SEED, mint.as_ref()], &crate::ID)
}

pub fn supplier(authority: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[SUPPLIER_SEED, authority.as_ref()], &crate::ID)
}

pub fn lease(renter: &Pubkey, lease_id: u64) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[LEASE_SEED, renter.as_ref(), &lease_id.to_le_bytes()], &crate::ID)
}

pub fn escrow(lease: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[ESCROW_SEED, lease.as_ref()], &crate::ID)
}

pub fn claim_record(claimant: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[CLAIM_SEED, claimant.as_ref()], &crate::ID)
}

pub fn allocation(lease: &Pubkey, index: u32) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[ALLOCATION_SEED, lease.as_ref(), &index.to_le_bytes()], &crate::ID)
}

pub fn device_stake(device_id: &[u8; 16]) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[DEVICE_STAKE_SEED, device_id.as_ref()], &crate::ID)
}

pub fn stake_vault(device_stake: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[STAKE_VAULT_SEED, device_stake.as_ref()], &crate::ID)
}

/// The record of one slash: one per (stake, evidence hash), so one piece of evidence slashes once.
pub fn slash_record(device_stake: &Pubkey, evidence_hash: &[u8; 32]) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[SLASH_SEED, device_stake.as_ref(), evidence_hash.as_ref()], &crate::ID)
}
