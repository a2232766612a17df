//! Per-supplier allocations: every supplier of a cluster is paid for the time it served,
//! Σ allocated rate ≤ price at every instant, settlement by anyone on running totals.
mod common;

use common::*;
use gpumesh::{constants::ALLOCATION_OPEN, math};
use solana_sdk::signature::{Keypair, Signer};

const PRICE: u64 = 1_000;
const MAX: u64 = 3_600;

#[tokio::test]
async fn two_suppliers_are_each_paid_for_the_time_they_served() {
    let mut env = Env::new().await;
    let mesh = env.mesh_mint;
    let a = register_supplier(&mut env).await;
    let b = register_supplier(&mut env).await;
    let l = open_lease(&mut env, mesh, 1, PRICE, MAX).await;
    env.activate(&l, T0).await.unwrap();
    env.add_allocation(&l, 0, &a, 600, T0).await.unwrap();
    env.add_allocation(&l, 1, &b, 400, T0).await.unwrap();
    let alloc = env.allocation(&l.allocation(1)).await;
    assert_eq!((alloc.lease, alloc.index, alloc.supplier), (l.lease, 1, b.authority.pubkey()));
    assert_eq!((alloc.rate_per_second, alloc.from_ts, alloc.until_ts, alloc.settled_until), (400, T0, ALLOCATION_OPEN, T0));
    assert_eq!(alloc.rent_payer, env.settlement.pubkey());
    let supply = env.mint_supply(&mesh).await;
    env.advance(100).await;
    // Anyone may settle: here the transaction fee payer, neither party nor the authority.
    env.settle(&l, 0, &a, None).await.unwrap();
    env.settle(&l, 1, &b, None).await.unwrap();
    let sa = math::split_gross(60_000, FEE_BPS, BURN_BPS, true).unwrap();
    let sb = math::split_gross(40_000, FEE_BPS, BURN_BPS, true).unwrap();
    assert_eq!(env.balance(&a.mesh_payout).await, sa.supplier);
    assert_eq!(env.balance(&b.mesh_payout).await, sb.supplier);
    assert_eq!(env.balance(&l.treasury_token).await, sa.treasury + sb.treasury);
    assert_eq!(supply - env.mint_supply(&mesh).await, sa.burn + sb.burn, "MESH fees burn");
    let lease = env.lease(&l.lease).await;
    assert_eq!(lease.total_gross, 100_000);
    assert_eq!(lease.total_burned, sa.burn + sb.burn);
    let alloc = env.allocation(&l.allocation(0)).await;
    assert_eq!((alloc.total_gross, alloc.total_fee, alloc.total_burned), (sa.gross, sa.fee, sa.burn));
    assert_eq!((alloc.total_supplier, alloc.total_treasury, alloc.settled_until), (sa.supplier, sa.treasury, T0 + 100));
}

#[tokio::test]
async fn allocated_rate_never_exceeds_the_price() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let a = register_supplier(&mut env).await;
    let b = register_supplier(&mut env).await;
    let l = open_lease(&mut env, usdc, 1, PRICE, MAX).await;
    env.activate(&l, T0).await.unwrap();
    env.add_allocation(&l, 0, &a, 700, T0).await.unwrap();
    assert_err(env.add_allocation(&l, 1, &b, 301, T0).await, GpuMeshError::AllocationExceedsPrice);
    assert_err(env.add_allocation(&l, 1, &b, 0, T0).await, GpuMeshError::ZeroAmount);
    env.add_allocation(&l, 1, &b, 300, T0).await.unwrap();
    assert_eq!(env.lease(&l.lease).await.open_rate, PRICE);
    env.advance(100).await;
    // A lost node: release, then its replacement from the same instant.
    env.release_allocation(&l, 1, T0 + 40).await.unwrap();
    let c = register_supplier(&mut env).await;
    // Not backdated across the release (would overlap b's time: 1_300/s for 40 s).
    assert_err(env.add_allocation(&l, 2, &c, 300, T0 + 39).await, GpuMeshError::InvalidTime);
    env.add_allocation(&l, 2, &c, 300, T0 + 40).await.unwrap();
    let lease = env.lease(&l.lease).await;
    assert_eq!((lease.open_rate, lease.released_gross, lease.allocation_count, lease.last_change_ts), (PRICE, 300 * 40, 3, T0 + 40));
    assert_eq!(lease.open_rate_from, 700 * T0 as u128 + 300 * (T0 + 40) as u128);
    // The released allocation earns nothing after its release.
    env.advance(1_000).await;
    env.settle(&l, 1, &b, None).await.unwrap();
    assert_eq!(env.allocation(&l.allocation(1)).await.total_gross, 300 * 40);
    assert_err(env.settle(&l, 1, &b, None).await, GpuMeshError::NothingToSettle);
    // The whole lease can never be owed more than the deposit.
    env.set_time(T0 + MAX as i64 + 10).await;
    env.end_by_renter(&l).await.unwrap();
    assert_eq!(env.lease(&l.lease).await.owed_total, l.deposit);
    for (i, s) in [(0u32, &a), (2, &c)] {
        env.settle(&l, i, s, None).await.unwrap();
    }
    assert_eq!(env.balance(&l.escrow).await, 0);
    let payer = env.payer();
    env.send(&[l.close_ix(&payer)], &[]).await.unwrap();
}

#[tokio::test]
async fn allocation_times_are_bounded() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let a = register_supplier(&mut env).await;
    let l = open_lease(&mut env, usdc, 1, PRICE, MAX).await;
    env.advance(100).await;
    env.activate(&l, T0 + 50).await.unwrap();
    // Not before activation, not in the future.
    assert_err(env.add_allocation(&l, 0, &a, PRICE, T0 + 49).await, GpuMeshError::InvalidTime);
    assert_err(env.add_allocation(&l, 0, &a, PRICE, T0 + 101).await, GpuMeshError::InvalidTime);
    env.add_allocation(&l, 0, &a, PRICE, T0 + 60).await.unwrap();
    // Release: not before from / last change, not in the future, once.
    assert_err(env.release_allocation(&l, 0, T0 + 59).await, GpuMeshError::InvalidTime);
    assert_err(env.release_allocation(&l, 0, T0 + 101).await, GpuMeshError::InvalidTime);
    env.release_allocation(&l, 0, T0 + 80).await.unwrap();
    assert_err(env.release_allocation(&l, 0, T0 + 90).await, GpuMeshError::AllocationClosed);
    // Not at or after expiry; a release after expiry is clamped to it.
    env.add_allocation(&l, 1, &a, PRICE, T0 + 90).await.unwrap();
    let end = T0 + 50 + MAX as i64;
    env.set_time(end + 100).await;
    assert_err(env.add_allocation(&l, 2, &a, PRICE, end).await, GpuMeshError::InvalidTime);
    env.release_allocation(&l, 1, end + 50).await.unwrap();
    assert_eq!(env.allocation(&l.allocation(1)).await.until_ts, end);
    // Ended leases take no allocation changes.
    env.end_by_renter(&l).await.unwrap();
    assert_err(env.add_allocation(&l, 2, &a, PRICE, end).await, GpuMeshError::InvalidLeaseStatus);
    // The allocation index is the lease's next one: any other address fails the seeds.
    let l2 = open_lease(&mut env, usdc, 2, PRICE, MAX).await;
    let now = env.now().await;
    env.activate(&l2, now).await.unwrap();
    assert_anchor(env.add_allocation(&l2, 1, &a, PRICE, now).await, AnchorError::ConstraintSeeds);
    // Only the authority.
    let supplier = a.authority.insecure_clone();
    let i = l2.add_ix(&supplier.pubkey(), 0, &a, PRICE, now);
    assert_err(env.send(&[i], &[&supplier]).await, GpuMeshError::Unauthorized);
    env.add_allocation(&l2, 0, &a, PRICE, now).await.unwrap();
    let i = l2.release_ix(&supplier.pubkey(), 0, now);
    assert_err(env.send(&[i], &[&supplier]).await, GpuMeshError::Unauthorized);
}

/// Splits a settlement history into many small settles vs one settle: the totals are equal
/// to the base unit because fees are floored on running totals.
#[tokio::test]
async fn how_often_one_settles_never_changes_what_anyone_gets() {
    let mut env = Env::new().await;
    let mesh = env.mesh_mint;
    let a = register_supplier(&mut env).await;
    let b = register_supplier(&mut env).await;
    let price = 7; // 7·250/10⁴ = 0.175 fee per second: per-settle flooring would lose units
    let many = open_lease(&mut env, mesh, 1, price, MAX).await;
    let once = open_lease(&mut env, mesh, 2, price, MAX).await;
    for (l, s) in [(&many, &a), (&once, &b)] {
        env.activate(l, T0).await.unwrap();
        env.add_allocation(l, 0, s, price, T0).await.unwrap();
    }
    env.advance(1_000).await;
    for until in (1..=100).map(|k| T0 + 10 * k) {
        env.settle(&many, 0, &a, Some(until)).await.unwrap();
    }
    env.settle(&once, 0, &b, Some(T0 + 1_000)).await.unwrap();
    let (x, y) = (env.allocation(&many.allocation(0)).await, env.allocation(&once.allocation(0)).await);
    assert_eq!((x.total_gross, x.total_fee, x.total_burned, x.total_supplier), (y.total_gross, y.total_fee, y.total_burned, y.total_supplier));
    assert_eq!(env.balance(&a.mesh_payout).await, env.balance(&b.mesh_payout).await);
    let one = math::split_gross(7_000, FEE_BPS, BURN_BPS, true).unwrap();
    assert_eq!((x.total_fee, x.total_burned, x.total_supplier), (one.fee, one.burn, one.supplier));
}

#[tokio::test]
async fn settle_names_the_period_and_never_pays_ahead() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let a = register_supplier(&mut env).await;
    let l = active_lease(&mut env, &a, usdc, 1, PRICE, MAX).await;
    env.advance(500).await;
    // `until` in the future is capped at now; a named period pays exactly that period.
    env.settle(&l, 0, &a, Some(T0 + 300)).await.unwrap();
    assert_eq!(env.allocation(&l.allocation(0)).await.settled_until, T0 + 300);
    assert_err(env.settle(&l, 0, &a, Some(T0 + 300)).await, GpuMeshError::NothingToSettle);
    assert_err(env.settle(&l, 0, &a, Some(T0 + 200)).await, GpuMeshError::NothingToSettle);
    env.settle(&l, 0, &a, Some(T0 + 9_999)).await.unwrap();
    assert_eq!(env.allocation(&l.allocation(0)).await.settled_until, T0 + 500);
    // The clock going backwards after a settle pays nothing and fails cleanly.
    env.set_time(T0 + 400).await;
    assert_err(env.settle(&l, 0, &a, None).await, GpuMeshError::NothingToSettle);
    // Nothing after expiry.
    env.set_time(T0 + 100_000).await;
    env.settle(&l, 0, &a, None).await.unwrap();
    let alloc = env.allocation(&l.allocation(0)).await;
    assert_eq!((alloc.settled_until, alloc.total_gross), (T0 + MAX as i64, l.deposit));
    assert_err(env.settle(&l, 0, &a, None).await, GpuMeshError::NothingToSettle);
    assert_eq!(env.balance(&l.escrow).await, 0);
}

#[tokio::test]
async fn suppliers_rotate_their_payout_wallet() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let a = register_supplier(&mut env).await;
    let l = active_lease(&mut env, &a, usdc, 1, PRICE, MAX).await;
    let auth = a.authority.insecure_clone();
    let new_wallet = Keypair::new();
    let new_token = env.create_token_account(&usdc, &new_wallet.pubkey()).await;
    // Only the supplier itself (the record is derived from the signer).
    let stranger = env.funded_keypair().await;
    let mut i = ix::set_payout_wallet(&stranger.pubkey(), &new_wallet.pubkey());
    i.accounts[1].pubkey = gpumesh::pda::supplier(&auth.pubkey()).0;
    assert_anchor(env.send(&[i], &[&stranger]).await, AnchorError::ConstraintSeeds);
    let i = ix::set_payout_wallet(&auth.pubkey(), &solana_sdk::pubkey::Pubkey::default());
    assert_err(env.send(&[i], &[&auth]).await, GpuMeshError::InvalidAuthority);
    env.send(&[ix::set_payout_wallet(&auth.pubkey(), &new_wallet.pubkey())], &[&auth]).await.unwrap();
    env.advance(10).await;
    // The old wallet's account is refused; the new one is paid.
    assert_err(env.settle(&l, 0, &a, None).await, GpuMeshError::InvalidTokenOwner);
    env.send(&[l.settle_ix(0, &auth.pubkey(), &new_token, None)], &[]).await.unwrap();
    assert_eq!(env.balance(&new_token).await, math::split_gross(10 * PRICE, FEE_BPS, BURN_BPS, false).unwrap().supplier);
}
