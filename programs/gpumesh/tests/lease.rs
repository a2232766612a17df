//! Lease lifecycle against the bank: open (Pending), activate, cancel, extend, end, close,
//! with every failure code. Allocation and settlement rules are in `allocation.rs`.
mod common;

use common::*;
use gpumesh::{constants::lease_status, math, pda, state::Lease, ACTIVATION_WINDOW_SECONDS};
use solana_sdk::signature::Signer;

const PRICE: u64 = 1_000; // base units per second
const MAX: u64 = 3_600;

#[tokio::test]
async fn open_lease_is_pending_and_escrows_the_deposit() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let l = open_lease(&mut env, usdc, 7, PRICE, MAX).await;
    assert_eq!(env.balance(&l.escrow).await, PRICE * MAX);
    assert_eq!(env.balance(&l.renter_token).await, 0);
    let lease: Lease = env.lease(&l.lease).await;
    assert_eq!(lease.lease_id, 7);
    assert_eq!(lease.renter, l.renter.pubkey());
    assert_eq!(lease.mint, usdc);
    assert_eq!((lease.price_per_second, lease.max_seconds, lease.deposited), (PRICE, MAX, PRICE * MAX));
    assert_eq!(lease.status, lease_status::PENDING);
    assert_eq!(lease.opened_at, T0);
    assert_eq!(lease.activation_deadline, T0 + ACTIVATION_WINDOW_SECONDS);
    assert_eq!((lease.start_ts, lease.end_ts), (0, 0));
    assert_eq!((lease.fee_bps, lease.burn_bps, lease.is_mesh), (FEE_BPS, BURN_BPS, false));
    assert_eq!(lease.reserved, [0u8; 64]);
    // The escrow is owned by the lease PDA, not by the renter.
    let escrow = env.account(&l.escrow).await.unwrap();
    let state = <anchor_spl::token::spl_token::state::Account as solana_sdk::program_pack::Pack>::unpack(&escrow.data).unwrap();
    assert_eq!(state.owner, l.lease);
}

#[tokio::test]
async fn activation_needs_the_authority_the_quoted_terms_and_a_real_start() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let l = open_lease(&mut env, usdc, 1, PRICE, MAX).await;
    env.advance(100).await;
    let st = env.settlement.insecure_clone();
    // Not the authority (the renter itself).
    let r = l.renter.insecure_clone();
    assert_err(env.send(&[l.activate_ix(&r.pubkey(), T0 + 50)], &[&r]).await, GpuMeshError::Unauthorized);
    // Terms other than the quote.
    let i = ix::activate_lease(&st.pubkey(), &l.lease, T0 + 50, PRICE + 1, MAX);
    assert_err(env.send(&[i], &[&st]).await, GpuMeshError::TermsMismatch);
    let i = ix::activate_lease(&st.pubkey(), &l.lease, T0 + 50, PRICE, MAX - 1);
    assert_err(env.send(&[i], &[&st]).await, GpuMeshError::TermsMismatch);
    // Before the deposit, or in the future.
    assert_err(env.activate(&l, T0 - 1).await, GpuMeshError::InvalidTime);
    assert_err(env.activate(&l, T0 + 101).await, GpuMeshError::InvalidTime);
    // The real start, in the past.
    env.activate(&l, T0 + 50).await.unwrap();
    let lease = env.lease(&l.lease).await;
    assert_eq!(lease.status, lease_status::ACTIVE);
    assert_eq!((lease.start_ts, lease.end_ts, lease.last_change_ts), (T0 + 50, T0 + 50 + MAX as i64, T0 + 50));
    // Once only.
    assert_err(env.activate(&l, T0 + 60).await, GpuMeshError::InvalidLeaseStatus);
}

#[tokio::test]
async fn a_lease_that_never_started_refunds_everything() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let s = register_supplier(&mut env).await;
    // Nothing can be allocated (so nothing paid) while Pending.
    let l = open_lease(&mut env, usdc, 1, PRICE, MAX).await;
    assert_err(env.add_allocation(&l, 0, &s, PRICE, T0).await, GpuMeshError::InvalidLeaseStatus);
    // Third-party dust is returned too, with no fee.
    let donor = env.funded_keypair().await;
    let dust = env.funded_token_account(&usdc, &donor.pubkey(), 5).await;
    env.token_transfer(&dust, &l.escrow, &donor, 5).await;
    let treasury_before = env.balance(&l.treasury_token).await;
    // The authority may cancel at any time (even paused).
    let admin = env.admin.insecure_clone();
    env.send(&[ix::set_paused(&admin.pubkey(), true)], &[&admin]).await.unwrap();
    let st = env.settlement.insecure_clone();
    let renter_lamports = env.account(&l.renter.pubkey()).await.unwrap().lamports;
    env.send(&[l.cancel_ix(&st.pubkey())], &[&st]).await.unwrap();
    assert_eq!(env.balance(&l.renter_token).await, l.deposit + 5);
    assert_eq!(env.balance(&l.treasury_token).await, treasury_before);
    assert!(env.account(&l.escrow).await.is_none(), "escrow closed");
    assert!(env.account(&l.renter.pubkey()).await.unwrap().lamports > renter_lamports, "escrow rent to the renter");
    let lease = env.lease(&l.lease).await;
    assert_eq!((lease.status, lease.refunded), (lease_status::CANCELLED, l.deposit));
    // A cancelled lease cannot be activated or cancelled again.
    assert_err(env.activate(&l, T0).await, GpuMeshError::InvalidLeaseStatus);
}

#[tokio::test]
async fn the_renter_may_cancel_only_after_the_activation_deadline() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let l = open_lease(&mut env, usdc, 1, PRICE, MAX).await;
    let r = l.renter.insecure_clone();
    let stranger = env.funded_keypair().await;
    env.advance(ACTIVATION_WINDOW_SECONDS - 1).await;
    assert_err(env.send(&[l.cancel_ix(&r.pubkey())], &[&r]).await, GpuMeshError::ActivationWindowOpen);
    env.advance(1).await;
    assert_err(env.send(&[l.cancel_ix(&stranger.pubkey())], &[&stranger]).await, GpuMeshError::Unauthorized);
    env.send(&[l.cancel_ix(&r.pubkey())], &[&r]).await.unwrap();
    assert_eq!(env.balance(&l.renter_token).await, l.deposit);
    // An active lease cannot be cancelled (it ends, pro rata).
    let l2 = open_lease(&mut env, usdc, 2, PRICE, MAX).await;
    let now = env.now().await;
    env.activate(&l2, now).await.unwrap();
    env.advance(ACTIVATION_WINDOW_SECONDS).await;
    let r2 = l2.renter.insecure_clone();
    assert_err(env.send(&[l2.cancel_ix(&r2.pubkey())], &[&r2]).await, GpuMeshError::InvalidLeaseStatus);
    let st = env.settlement.insecure_clone();
    assert_err(env.send(&[l2.cancel_ix(&st.pubkey())], &[&st]).await, GpuMeshError::InvalidLeaseStatus);
}

#[tokio::test]
async fn extend_tops_up_at_the_same_price() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let s = register_supplier(&mut env).await;
    let l = open_lease_funded(&mut env, usdc, 1, PRICE, MAX, PRICE * 1_000).await;
    let r = l.renter.insecure_clone();
    // Pending: only the deposit and max grow.
    env.send(&[l.extend_ix(400)], &[&r]).await.unwrap();
    let lease = env.lease(&l.lease).await;
    assert_eq!((lease.max_seconds, lease.deposited, lease.end_ts), (MAX + 400, PRICE * (MAX + 400), 0));
    // The quote is now the extended one.
    assert_err(env.activate(&l, T0).await, GpuMeshError::TermsMismatch);
    let st = env.settlement.insecure_clone();
    env.send(&[ix::activate_lease(&st.pubkey(), &l.lease, T0, PRICE, MAX + 400)], &[&st]).await.unwrap();
    env.add_allocation(&l, 0, &s, PRICE, T0).await.unwrap();
    // Active: the end moves too.
    env.send(&[l.extend_ix(600)], &[&r]).await.unwrap();
    let lease = env.lease(&l.lease).await;
    assert_eq!(lease.end_ts, T0 + (MAX + 1_000) as i64);
    assert_eq!(env.balance(&l.escrow).await, PRICE * (MAX + 1_000));
    assert_eq!(env.balance(&l.renter_token).await, 0);
    // Only the renter, only > 0, never beyond the maximum.
    let stranger = env.funded_keypair().await;
    let mut i = l.extend_ix(1);
    i.accounts[0].pubkey = stranger.pubkey();
    assert_err(env.send(&[i], &[&stranger]).await, GpuMeshError::RenterMismatch);
    assert_err(env.send(&[l.extend_ix(0)], &[&r]).await, GpuMeshError::ZeroAmount);
    assert_err(env.send(&[l.extend_ix(gpumesh::MAX_LEASE_SECONDS)], &[&r]).await, GpuMeshError::LeaseTooLong);
    // Not once expired.
    env.set_time(T0 + (MAX + 1_000) as i64).await;
    assert_err(env.send(&[l.extend_ix(1)], &[&r]).await, GpuMeshError::InvalidLeaseStatus);
    // The allocation earned the whole extended lease, the renter gets nothing back.
    env.settle(&l, 0, &s, None).await.unwrap();
    env.end_by_renter(&l).await.unwrap();
    assert_eq!(env.lease(&l.lease).await.status, lease_status::CLOSED);
    assert_eq!(env.balance(&l.renter_token).await, 0);
}

#[tokio::test]
async fn renter_ends_early_pro_rata_and_the_supplier_still_collects() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let s = register_supplier(&mut env).await;
    let l = active_lease(&mut env, &s, usdc, 1, PRICE, MAX).await;
    env.advance(600).await;
    env.end_by_renter(&l).await.unwrap();
    let lease = env.lease(&l.lease).await;
    assert_eq!(lease.status, lease_status::ENDED);
    assert_eq!((lease.end_ts, lease.owed_total, lease.refunded), (T0 + 600, 600 * PRICE, l.deposit - 600 * PRICE));
    assert_eq!(env.balance(&l.renter_token).await, l.deposit - 600 * PRICE);
    assert_eq!(env.balance(&l.escrow).await, 600 * PRICE, "what the supplier is owed stays");
    // Not closable before the supplier is paid.
    let payer = env.payer();
    let c = l.close_ix(&payer);
    assert_err(env.send(&[c.clone()], &[]).await, GpuMeshError::LeaseNotSettled);
    // Ending twice is refused.
    assert_err(env.end_by_renter(&l).await, GpuMeshError::InvalidLeaseStatus);
    // Later settles cannot pass the end.
    env.advance(1_000).await;
    env.settle(&l, 0, &s, None).await.unwrap();
    let split = math::split_gross(600 * PRICE, FEE_BPS, BURN_BPS, false).unwrap();
    assert_eq!(env.balance(&s.usdc_payout).await, split.supplier);
    assert_eq!(env.balance(&l.treasury_token).await, split.treasury);
    assert_err(env.settle(&l, 0, &s, None).await, GpuMeshError::NothingToSettle);
    // Dust sent in meanwhile goes to the renter on close (anyone may close).
    let donor = env.funded_keypair().await;
    let dust = env.funded_token_account(&usdc, &donor.pubkey(), 9).await;
    env.token_transfer(&dust, &l.escrow, &donor, 9).await;
    env.send(&[c], &[]).await.unwrap();
    assert!(env.account(&l.escrow).await.is_none());
    assert_eq!(env.balance(&l.renter_token).await, l.deposit - 600 * PRICE + 9);
    assert_eq!(env.lease(&l.lease).await.status, lease_status::CLOSED);
}

#[tokio::test]
async fn who_may_end_and_when() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let s = register_supplier(&mut env).await;
    let l = active_lease(&mut env, &s, usdc, 1, PRICE, MAX).await;
    let stranger = env.funded_keypair().await;
    let supplier = s.authority.insecure_clone();
    env.advance(100).await;
    // Not a stranger, not the supplier (it settles instead), not Pending leases.
    assert_err(env.send(&[l.end_ix(&stranger.pubkey(), None)], &[&stranger]).await, GpuMeshError::Unauthorized);
    assert_err(env.send(&[l.end_ix(&supplier.pubkey(), None)], &[&supplier]).await, GpuMeshError::Unauthorized);
    let pending = open_lease(&mut env, usdc, 2, PRICE, MAX).await;
    assert_err(env.end_by_renter(&pending).await, GpuMeshError::InvalidLeaseStatus);
    // Only the authority may name the end.
    let r = l.renter.insecure_clone();
    assert_err(env.send(&[l.end_ix(&r.pubkey(), Some(T0 + 50))], &[&r]).await, GpuMeshError::Unauthorized);
    // Once expired, anyone may end; the end is the expiry, not now.
    env.advance(MAX as i64).await;
    env.send(&[l.end_ix(&stranger.pubkey(), None)], &[&stranger]).await.unwrap();
    let lease = env.lease(&l.lease).await;
    assert_eq!((lease.end_ts, lease.owed_total), (T0 + MAX as i64, l.deposit));
    assert_eq!(env.balance(&l.renter_token).await, 0);
}

#[tokio::test]
async fn the_authority_may_name_the_real_end() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let s = register_supplier(&mut env).await;
    let l = active_lease(&mut env, &s, usdc, 1, PRICE, MAX).await;
    env.advance(300).await;
    env.release_allocation(&l, 0, T0 + 100).await.unwrap();
    env.add_allocation(&l, 1, &s, PRICE / 2, T0 + 200).await.unwrap();
    // Not before the last allocation change, not in the future.
    assert_err(env.end_by_authority(&l, Some(T0 + 199)).await, GpuMeshError::InvalidTime);
    assert_err(env.end_by_authority(&l, Some(T0 + 301)).await, GpuMeshError::InvalidTime);
    env.end_by_authority(&l, Some(T0 + 250)).await.unwrap();
    let owed = 100 * PRICE + 50 * (PRICE / 2);
    let lease = env.lease(&l.lease).await;
    assert_eq!((lease.end_ts, lease.owed_total), (T0 + 250, owed));
    assert_eq!(env.balance(&l.renter_token).await, l.deposit - owed);
    env.settle(&l, 0, &s, None).await.unwrap();
    env.settle(&l, 1, &s, None).await.unwrap();
    assert_eq!(env.lease(&l.lease).await.total_gross, owed);
    let payer = env.payer();
    env.send(&[l.close_ix(&payer)], &[]).await.unwrap();
    assert_eq!(env.lease(&l.lease).await.status, lease_status::CLOSED);
}

#[tokio::test]
async fn an_end_never_cuts_time_that_was_already_paid() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let s = register_supplier(&mut env).await;
    let l = active_lease(&mut env, &s, usdc, 1, PRICE, MAX).await;
    env.advance(500).await;
    env.settle(&l, 0, &s, None).await.unwrap();
    // Paid until T0+500: neither an end nor a release may be placed before that.
    assert_err(env.end_by_authority(&l, Some(T0 + 400)).await, GpuMeshError::InvalidTime);
    assert_err(env.release_allocation(&l, 0, T0 + 400).await, GpuMeshError::InvalidTime);
    env.end_by_authority(&l, Some(T0 + 500)).await.unwrap();
    let lease = env.lease(&l.lease).await;
    assert_eq!((lease.owed_total, lease.total_gross, lease.status), (500 * PRICE, 500 * PRICE, lease_status::CLOSED));
    assert_eq!(env.balance(&l.renter_token).await, l.deposit - 500 * PRICE);
}

#[tokio::test]
async fn lease_ids_cannot_be_reused_after_close() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let l = open_lease(&mut env, usdc, 5, PRICE, MAX).await;
    let st = env.settlement.insecure_clone();
    env.send(&[l.cancel_ix(&st.pubkey())], &[&st]).await.unwrap();
    let r = l.renter.insecure_clone();
    let more = env.funded_token_account(&usdc, &r.pubkey(), PRICE * MAX).await;
    // The lease account stays as a tombstone: `init` fails (account already in use).
    let i = ix::open_lease(&r.pubkey(), &usdc, &more, 5, PRICE, MAX);
    assert_code(env.send(&[i], &[&r]).await, 0);
    assert_eq!(env.lease(&l.lease).await.status, lease_status::CANCELLED);
    assert_eq!(env.balance(&more).await, PRICE * MAX);
    // Same for an ended and closed lease.
    let s = register_supplier(&mut env).await;
    let l2 = active_lease(&mut env, &s, usdc, 6, PRICE, MAX).await;
    env.advance(10).await;
    env.end_by_renter(&l2).await.unwrap();
    env.settle(&l2, 0, &s, None).await.unwrap();
    let payer = env.payer();
    env.send(&[l2.close_ix(&payer)], &[]).await.unwrap();
    let r2 = l2.renter.insecure_clone();
    let more2 = env.funded_token_account(&usdc, &r2.pubkey(), PRICE * MAX).await;
    let i = ix::open_lease(&r2.pubkey(), &usdc, &more2, 6, PRICE, MAX);
    assert_code(env.send(&[i], &[&r2]).await, 0);
    assert_eq!(env.lease(&l2.lease).await.status, lease_status::CLOSED);
}

#[tokio::test]
async fn fee_terms_are_snapshotted_at_open() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let s = register_supplier(&mut env).await;
    let l = active_lease(&mut env, &s, usdc, 1, PRICE, MAX).await;
    let admin = env.admin.insecure_clone();
    let args = gpumesh::instructions::UpdateConfigArgs { fee_bps: Some(5_000), ..Default::default() };
    env.send(&[ix::update_config(&admin.pubkey(), args)], &[&admin]).await.unwrap();
    env.advance(100).await;
    env.settle(&l, 0, &s, None).await.unwrap();
    let split = math::split_gross(100 * PRICE, FEE_BPS, BURN_BPS, false).unwrap();
    assert_eq!(env.balance(&l.treasury_token).await, split.fee);
}

#[tokio::test]
async fn pause_blocks_new_money_but_not_unwinding() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let s = register_supplier(&mut env).await;
    let l = open_lease_funded(&mut env, usdc, 1, PRICE, MAX, PRICE * 10).await;
    let admin = env.admin.insecure_clone();
    env.send(&[ix::set_paused(&admin.pubkey(), true)], &[&admin]).await.unwrap();
    let r = l.renter.insecure_clone();
    assert_err(env.send(&[l.extend_ix(10)], &[&r]).await, GpuMeshError::Paused);
    let renter = env.funded_keypair().await;
    let rt = env.funded_token_account(&usdc, &renter.pubkey(), PRICE * MAX).await;
    let i = ix::open_lease(&renter.pubkey(), &usdc, &rt, 1, PRICE, MAX);
    assert_err(env.send(&[i], &[&renter]).await, GpuMeshError::Paused);
    // Activate, allocate, settle, release, end all still work.
    env.activate(&l, T0).await.unwrap();
    env.add_allocation(&l, 0, &s, PRICE, T0).await.unwrap();
    env.advance(50).await;
    env.settle(&l, 0, &s, None).await.unwrap();
    env.release_allocation(&l, 0, T0 + 50).await.unwrap();
    env.end_by_renter(&l).await.unwrap();
    assert_eq!(env.lease(&l.lease).await.status, lease_status::CLOSED);
    assert_eq!(env.balance(&l.renter_token).await, PRICE * 10 + l.deposit - 50 * PRICE);
}

#[tokio::test]
async fn open_lease_argument_failures() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let renter = env.funded_keypair().await;
    let rt = env.funded_token_account(&usdc, &renter.pubkey(), PRICE * MAX).await;
    let i = ix::open_lease(&renter.pubkey(), &usdc, &rt, 1, 0, MAX);
    assert_err(env.send(&[i], &[&renter]).await, GpuMeshError::ZeroAmount);
    let i = ix::open_lease(&renter.pubkey(), &usdc, &rt, 1, PRICE, 0);
    assert_err(env.send(&[i], &[&renter]).await, GpuMeshError::ZeroAmount);
    let i = ix::open_lease(&renter.pubkey(), &usdc, &rt, 1, 1, gpumesh::MAX_LEASE_SECONDS + 1);
    assert_err(env.send(&[i], &[&renter]).await, GpuMeshError::LeaseTooLong);
    let i = ix::open_lease(&renter.pubkey(), &usdc, &rt, 1, u64::MAX, 2);
    assert_err(env.send(&[i], &[&renter]).await, GpuMeshError::MathOverflow);
    let admin = env.admin.insecure_clone();
    env.send(&[ix::set_payment_mint(&admin.pubkey(), &usdc, true, PRICE + 1)], &[&admin]).await.unwrap();
    let i = ix::open_lease(&renter.pubkey(), &usdc, &rt, 1, PRICE, MAX);
    assert_err(env.send(&[i], &[&renter]).await, GpuMeshError::PriceBelowMinimum);
    env.send(&[ix::set_payment_mint(&admin.pubkey(), &usdc, false, 0)], &[&admin]).await.unwrap();
    let i = ix::open_lease(&renter.pubkey(), &usdc, &rt, 1, PRICE, MAX);
    assert_err(env.send(&[i], &[&renter]).await, GpuMeshError::PaymentMintDisabled);
    // Not enough funds: the token program refuses (insufficient funds = 1).
    env.send(&[ix::set_payment_mint(&admin.pubkey(), &usdc, true, 0)], &[&admin]).await.unwrap();
    let i = ix::open_lease(&renter.pubkey(), &usdc, &rt, 1, PRICE, MAX + 1);
    assert_code(env.send(&[i], &[&renter]).await, 1);
    assert!(env.account(&pda::lease(&renter.pubkey(), 1).0).await.is_none());
}
