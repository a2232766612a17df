//! Lease lifecycle against the bank: open, settle, end, with every failure code.
mod common;

use common::*;
use gpumesh::{instructions::UpdateConfigArgs, math, pda, state::Lease};
use proptest::prelude::*;
use solana_sdk::signature::{Keypair, Signer};

const PRICE: u64 = 1_000; // base units per second
const MAX: u64 = 3_600;

#[tokio::test]
async fn open_lease_escrows_the_deposit() {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let usdc = env.usdc_mint;
    let l = open_lease(&mut env, &s, usdc, 7, PRICE, MAX).await;
    assert_eq!(env.balance(&l.escrow).await, PRICE * MAX);
    assert_eq!(env.balance(&l.renter_token).await, 0);
    let lease: Lease = env.lease(&l.lease).await;
    assert_eq!(lease.lease_id, 7);
    assert_eq!(lease.renter, l.renter.pubkey());
    assert_eq!(lease.supplier, s.authority.pubkey());
    assert_eq!(lease.mint, usdc);
    assert_eq!(lease.price_per_second, PRICE);
    assert_eq!(lease.max_seconds, MAX);
    assert_eq!(lease.start_ts, T0);
    assert_eq!(lease.deposited, PRICE * MAX);
    assert_eq!(lease.settled_seconds, 0);
    assert_eq!((lease.fee_bps, lease.burn_bps, lease.is_mesh), (FEE_BPS, BURN_BPS, false));
    // The escrow is owned by the lease PDA, not by the renter.
    let escrow = env.account(&l.escrow).await.unwrap();
    let state = <anchor_spl::token::spl_token::state::Account as solana_sdk::program_pack::Pack>::unpack(&escrow.data).unwrap();
    assert_eq!(state.owner, l.lease);
}

#[tokio::test]
async fn settle_usdc_pays_supplier_and_treasury_without_burn() {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let usdc = env.usdc_mint;
    let l = open_lease(&mut env, &s, usdc, 1, PRICE, MAX).await;
    let supply_before = env.mint_supply(&usdc).await;
    env.advance(100).await;
    let settlement = env.settlement.insecure_clone();
    env.send(&[l.settle_ix(&settlement.pubkey())], &[&settlement]).await.unwrap();
    let split = math::split_gross(100 * PRICE, FEE_BPS, BURN_BPS, false).unwrap();
    assert_eq!(env.balance(&l.supplier_token).await, split.supplier);
    assert_eq!(env.balance(&l.treasury_token).await, split.fee);
    assert_eq!(env.balance(&l.escrow).await, l.deposit - 100 * PRICE);
    assert_eq!(env.mint_supply(&usdc).await, supply_before, "no burn for USDC");
    let lease = env.lease(&l.lease).await;
    assert_eq!(lease.settled_seconds, 100);
    assert_eq!(lease.total_gross, 100 * PRICE);
    assert_eq!(lease.total_supplier, split.supplier);
    assert_eq!(lease.total_treasury, split.treasury);
    assert_eq!(lease.total_burned, 0);
}

#[tokio::test]
async fn settle_mesh_burns_part_of_the_fee() {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let mesh = env.mesh_mint;
    let price = 12_345;
    let l = open_lease(&mut env, &s, mesh, 1, price, MAX).await;
    let supply_before = env.mint_supply(&mesh).await;
    env.advance(777).await;
    let settlement = env.settlement.insecure_clone();
    env.send(&[l.settle_ix(&settlement.pubkey())], &[&settlement]).await.unwrap();
    let split = math::split_gross(777 * price, FEE_BPS, BURN_BPS, true).unwrap();
    assert!(split.burn > 0);
    assert_eq!(env.balance(&l.supplier_token).await, split.supplier);
    assert_eq!(env.balance(&l.treasury_token).await, split.treasury);
    assert_eq!(env.mint_supply(&mesh).await, supply_before - split.burn);
    assert_eq!(env.lease(&l.lease).await.total_burned, split.burn);
}

#[tokio::test]
async fn second_settle_at_same_time_fails_with_nothing_to_settle() {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let usdc = env.usdc_mint;
    let l = open_lease(&mut env, &s, usdc, 1, PRICE, MAX).await;
    let settlement = env.settlement.insecure_clone();
    // Nothing elapsed yet.
    assert_err(env.send(&[l.settle_ix(&settlement.pubkey())], &[&settlement]).await, GpuMeshError::NothingToSettle);
    env.advance(10).await;
    env.send(&[l.settle_ix(&settlement.pubkey())], &[&settlement]).await.unwrap();
    let paid = env.balance(&l.supplier_token).await;
    assert_err(env.send(&[l.settle_ix(&settlement.pubkey())], &[&settlement]).await, GpuMeshError::NothingToSettle);
    assert_eq!(env.balance(&l.supplier_token).await, paid);
}

#[tokio::test]
async fn cannot_settle_beyond_the_end() {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let usdc = env.usdc_mint;
    let l = open_lease(&mut env, &s, usdc, 1, PRICE, MAX).await;
    let settlement = env.settlement.insecure_clone();
    env.advance(MAX as i64 * 5).await;
    env.send(&[l.settle_ix(&settlement.pubkey())], &[&settlement]).await.unwrap();
    let lease = env.lease(&l.lease).await;
    assert_eq!(lease.settled_seconds, MAX);
    assert_eq!(lease.total_gross, l.deposit);
    assert_eq!(env.balance(&l.escrow).await, 0);
    env.advance(100).await;
    assert_err(env.send(&[l.settle_ix(&settlement.pubkey())], &[&settlement]).await, GpuMeshError::NothingToSettle);
}

#[tokio::test]
async fn renter_ends_early_and_gets_the_unused_deposit_back() {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let usdc = env.usdc_mint;
    let l = open_lease(&mut env, &s, usdc, 1, PRICE, MAX).await;
    let settlement = env.settlement.insecure_clone();
    env.advance(600).await;
    env.send(&[l.settle_ix(&settlement.pubkey())], &[&settlement]).await.unwrap();
    env.advance(400).await;
    let renter_lamports_before = env.account(&l.renter.pubkey()).await.unwrap().lamports;
    let renter = l.renter.insecure_clone();
    env.send(&[l.end_ix(&renter.pubkey())], &[&renter]).await.unwrap();
    let gross = 1_000 * PRICE;
    let fee = math::bps_of(600 * PRICE, FEE_BPS).unwrap() + math::bps_of(400 * PRICE, FEE_BPS).unwrap();
    assert_eq!(env.balance(&l.renter_token).await, l.deposit - gross);
    assert_eq!(env.balance(&l.supplier_token).await, gross - fee);
    assert_eq!(env.balance(&l.treasury_token).await, fee);
    // Lease and escrow are gone; their rent went back to the renter.
    assert!(env.account(&l.lease).await.is_none());
    assert!(env.account(&l.escrow).await.is_none());
    let after = env.account(&l.renter.pubkey()).await.unwrap().lamports;
    assert!(after > renter_lamports_before);
}

#[tokio::test]
async fn supplier_and_settlement_authority_may_end_but_not_strangers() {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let usdc = env.usdc_mint;
    let a = open_lease(&mut env, &s, usdc, 1, PRICE, MAX).await;
    let b = open_lease(&mut env, &s, usdc, 2, PRICE, MAX).await;
    env.advance(50).await;
    let stranger = env.funded_keypair().await;
    assert_err(env.send(&[a.end_ix(&stranger.pubkey())], &[&stranger]).await, GpuMeshError::Unauthorized);
    let sup = s.authority.insecure_clone();
    env.send(&[a.end_ix(&sup.pubkey())], &[&sup]).await.unwrap();
    let settlement = env.settlement.insecure_clone();
    env.send(&[b.end_ix(&settlement.pubkey())], &[&settlement]).await.unwrap();
    assert_eq!(env.balance(&a.renter_token).await, a.deposit - 50 * PRICE);
    assert_eq!(env.balance(&b.renter_token).await, b.deposit - 50 * PRICE);
}

#[tokio::test]
async fn end_after_expiry_settles_the_rest_and_refunds_nothing() {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let mesh = env.mesh_mint;
    let l = open_lease(&mut env, &s, mesh, 9, 3, 1_000).await;
    env.advance(5_000).await;
    let renter = l.renter.insecure_clone();
    let supply = env.mint_supply(&mesh).await;
    env.send(&[l.end_ix(&renter.pubkey())], &[&renter]).await.unwrap();
    let split = math::split_gross(3_000, FEE_BPS, BURN_BPS, true).unwrap();
    assert_eq!(env.balance(&l.renter_token).await, 0);
    assert_eq!(env.balance(&l.supplier_token).await, split.supplier);
    assert_eq!(env.balance(&l.treasury_token).await, split.treasury);
    assert_eq!(env.mint_supply(&mesh).await, supply - split.burn);
}

#[tokio::test]
async fn tokens_sent_to_the_escrow_cannot_block_the_close() {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let usdc = env.usdc_mint;
    let l = open_lease(&mut env, &s, usdc, 1, PRICE, MAX).await;
    let griefer = env.funded_keypair().await;
    let g_token = env.funded_token_account(&usdc, &griefer.pubkey(), 5).await;
    env.token_transfer(&g_token, &l.escrow, &griefer, 5).await;
    env.advance(10).await;
    let renter = l.renter.insecure_clone();
    env.send(&[l.end_ix(&renter.pubkey())], &[&renter]).await.unwrap();
    assert_eq!(env.balance(&l.renter_token).await, l.deposit - 10 * PRICE + 5);
    assert!(env.account(&l.escrow).await.is_none());
}

#[tokio::test]
async fn fee_terms_are_snapshotted_at_open() {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let usdc = env.usdc_mint;
    let l = open_lease(&mut env, &s, usdc, 1, PRICE, MAX).await;
    let admin = env.admin.insecure_clone();
    let args = UpdateConfigArgs { fee_bps: Some(9_000), ..Default::default() };
    env.send(&[ix::update_config(&admin.pubkey(), args)], &[&admin]).await.unwrap();
    env.advance(100).await;
    let settlement = env.settlement.insecure_clone();
    env.send(&[l.settle_ix(&settlement.pubkey())], &[&settlement]).await.unwrap();
    assert_eq!(env.balance(&l.treasury_token).await, math::bps_of(100 * PRICE, FEE_BPS).unwrap());
}

#[tokio::test]
async fn pause_blocks_open_but_not_settle_or_end() {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let usdc = env.usdc_mint;
    let l = open_lease(&mut env, &s, usdc, 1, PRICE, MAX).await;
    let admin = env.admin.insecure_clone();
    env.send(&[ix::set_paused(&admin.pubkey(), true)], &[&admin]).await.unwrap();
    let renter = env.funded_keypair().await;
    let rt = env.funded_token_account(&usdc, &renter.pubkey(), PRICE * MAX).await;
    let open = ix::open_lease(&renter.pubkey(), &usdc, &s.authority.pubkey(), &rt, 1, PRICE, MAX);
    assert_err(env.send(&[open], &[&renter]).await, GpuMeshError::Paused);
    env.advance(20).await;
    let settlement = env.settlement.insecure_clone();
    env.send(&[l.settle_ix(&settlement.pubkey())], &[&settlement]).await.unwrap();
    env.advance(20).await;
    let r = l.renter.insecure_clone();
    env.send(&[l.end_ix(&r.pubkey())], &[&r]).await.unwrap();
}

struct OpenCase {
    renter: Keypair,
    renter_token: solana_sdk::pubkey::Pubkey,
}

async fn renter_with(env: &mut Env, mint: solana_sdk::pubkey::Pubkey, amount: u64) -> OpenCase {
    let renter = env.funded_keypair().await;
    let renter_token = env.funded_token_account(&mint, &renter.pubkey(), amount).await;
    OpenCase { renter, renter_token }
}

#[tokio::test]
async fn open_lease_argument_failures() {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let usdc = env.usdc_mint;
    let sup = s.authority.pubkey();
    let c = renter_with(&mut env, usdc, 10_000_000).await;
    let r = c.renter.pubkey();
    let cases: Vec<(u64, u64, GpuMeshError)> = vec![
        (0, 10, GpuMeshError::ZeroAmount),
        (10, 0, GpuMeshError::ZeroAmount),
        (u64::MAX, 2, GpuMeshError::MathOverflow),
        (1, gpumesh::MAX_LEASE_SECONDS + 1, GpuMeshError::LeaseTooLong),
    ];
    for (i, (price, max, err)) in cases.into_iter().enumerate() {
        let open = ix::open_lease(&r, &usdc, &sup, &c.renter_token, 100 + i as u64, price, max);
        assert_err(env.send(&[open], &[&c.renter]).await, err);
    }
    // Minimum price per mint.
    let admin = env.admin.insecure_clone();
    env.send(&[ix::set_payment_mint(&admin.pubkey(), &usdc, true, 50)], &[&admin]).await.unwrap();
    let open = ix::open_lease(&r, &usdc, &sup, &c.renter_token, 1, 49, 10);
    assert_err(env.send(&[open], &[&c.renter]).await, GpuMeshError::PriceBelowMinimum);
    let open = ix::open_lease(&r, &usdc, &sup, &c.renter_token, 1, 50, 10);
    env.send(&[open], &[&c.renter]).await.unwrap();
    // Disabled mint.
    env.send(&[ix::set_payment_mint(&admin.pubkey(), &usdc, false, 0)], &[&admin]).await.unwrap();
    let open = ix::open_lease(&r, &usdc, &sup, &c.renter_token, 2, 50, 10);
    assert_err(env.send(&[open], &[&c.renter]).await, GpuMeshError::PaymentMintDisabled);
}

#[tokio::test]
async fn open_lease_insufficient_funds_fails_in_the_token_program() {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let usdc = env.usdc_mint;
    let c = renter_with(&mut env, usdc, PRICE * MAX - 1).await;
    let open = ix::open_lease(&c.renter.pubkey(), &usdc, &s.authority.pubkey(), &c.renter_token, 1, PRICE, MAX);
    // spl_token::error::TokenError::InsufficientFunds = 1
    assert_code(env.send(&[open], &[&c.renter]).await, 1);
    assert!(env.account(&pda::lease(&c.renter.pubkey(), 1).0).await.is_none());
}

#[tokio::test]
async fn unregistered_mint_is_rejected() {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let auth = env.usdc_authority.insecure_clone();
    let other = env.create_mint(&auth.pubkey(), None, 6).await;
    let c = renter_with(&mut env, other, 1_000).await;
    let open = ix::open_lease(&c.renter.pubkey(), &other, &s.authority.pubkey(), &c.renter_token, 1, 1, 10);
    // No PaymentMint PDA exists for this mint.
    assert_anchor(env.send(&[open], &[&c.renter]).await, AnchorError::AccountNotInitialized);
}

#[tokio::test]
async fn settle_account_validation_failures() {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let s2 = register_supplier(&mut env).await;
    let usdc = env.usdc_mint;
    let mesh = env.mesh_mint;
    let l = open_lease(&mut env, &s, usdc, 1, PRICE, MAX).await;
    env.advance(30).await;
    let settlement = env.settlement.insecure_clone();
    let sp = settlement.pubkey();

    // Supplier account of someone else.
    let i = ix::settle_lease(&sp, &l.lease, &usdc, &s2.authority.pubkey(), &s2.usdc_payout, &l.treasury_token);
    assert_err(env.send(&[i], &[&settlement]).await, GpuMeshError::SupplierMismatch);
    // Supplier token account with the right mint but another owner.
    let i = ix::settle_lease(&sp, &l.lease, &usdc, &s.authority.pubkey(), &s2.usdc_payout, &l.treasury_token);
    assert_err(env.send(&[i], &[&settlement]).await, GpuMeshError::InvalidTokenOwner);
    // Supplier token account of the wrong mint.
    let i = ix::settle_lease(&sp, &l.lease, &usdc, &s.authority.pubkey(), &s.mesh_payout, &l.treasury_token);
    assert_err(env.send(&[i], &[&settlement]).await, GpuMeshError::InvalidMint);
    // Treasury token account not owned by the treasury.
    let i = ix::settle_lease(&sp, &l.lease, &usdc, &s.authority.pubkey(), &s.usdc_payout, &s2.usdc_payout);
    assert_err(env.send(&[i], &[&settlement]).await, GpuMeshError::InvalidTokenOwner);
    // Mint account other than the lease's.
    let i = ix::settle_lease(&sp, &l.lease, &mesh, &s.authority.pubkey(), &s.usdc_payout, &l.treasury_token);
    assert_err(env.send(&[i], &[&settlement]).await, GpuMeshError::InvalidMint);
    // The right accounts still work.
    env.send(&[l.settle_ix(&sp)], &[&settlement]).await.unwrap();
}

#[tokio::test]
async fn end_lease_account_validation_failures() {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let usdc = env.usdc_mint;
    let l = open_lease(&mut env, &s, usdc, 1, PRICE, MAX).await;
    let other = env.funded_keypair().await;
    let other_token = env.create_token_account(&usdc, &other.pubkey()).await;
    let renter = l.renter.insecure_clone();
    let rp = renter.pubkey();
    // Refund to someone else's token account.
    let i = ix::end_lease(&rp, &l.lease, &rp, &usdc, &s.authority.pubkey(), &l.supplier_token, &l.treasury_token, &other_token);
    assert_err(env.send(&[i], &[&renter]).await, GpuMeshError::InvalidTokenOwner);
    // Rent lamports to someone other than the renter.
    let i = ix::end_lease(&rp, &l.lease, &other.pubkey(), &usdc, &s.authority.pubkey(), &l.supplier_token, &l.treasury_token, &l.renter_token);
    assert_err(env.send(&[i], &[&renter]).await, GpuMeshError::RenterMismatch);
    env.send(&[l.end_ix(&rp)], &[&renter]).await.unwrap();
}

/// One random lease history: (advance seconds, action) with action 0 = settle, 1 = nothing.
#[derive(Debug, Clone)]
struct History {
    mesh: bool,
    price: u64,
    max: u64,
    fee_bps: u16,
    burn_bps: u16,
    steps: Vec<(i64, bool)>,
    end_after: i64,
}

fn history() -> impl Strategy<Value = History> {
    (
        any::<bool>(),
        1u64..5_000,
        1u64..20_000,
        prop_oneof![Just(0u16), Just(10_000u16), 0u16..=10_000],
        prop_oneof![Just(0u16), Just(10_000u16), 0u16..=10_000],
        proptest::collection::vec((0i64..4_000, any::<bool>()), 0..5),
        0i64..25_000,
    )
        .prop_map(|(mesh, price, max, fee_bps, burn_bps, steps, end_after)| History {
            mesh,
            price,
            max,
            fee_bps,
            burn_bps,
            steps,
            end_after,
        })
}

async fn run_history(h: History) {
    let mut env = Env::bare().await;
    let mut args = env.default_init_args();
    args.fee_bps = h.fee_bps;
    args.burn_bps = h.burn_bps;
    env.initialize(args).await.unwrap();
    let admin = env.admin.insecure_clone();
    let mint = if h.mesh { env.mesh_mint } else { env.usdc_mint };
    env.send(&[ix::set_payment_mint(&admin.pubkey(), &mint, true, 0)], &[&admin]).await.unwrap();
    let s = register_supplier(&mut env).await;
    let l = open_lease(&mut env, &s, mint, 42, h.price, h.max).await;
    // After the open: funding the renter mints USDC.
    let supply_before = env.mint_supply(&mint).await;
    let settlement = env.settlement.insecure_clone();
    for (dt, settle) in &h.steps {
        env.advance(*dt).await;
        if *settle {
            let res = env.send(&[l.settle_ix(&settlement.pubkey())], &[&settlement]).await;
            if let Err(e) = res {
                assert_code(Err(e), u32::from(GpuMeshError::NothingToSettle));
            }
        }
    }
    env.advance(h.end_after).await;
    let renter = l.renter.insecure_clone();
    env.send(&[l.end_ix(&renter.pubkey())], &[&renter]).await.unwrap();

    let supplier = env.balance(&l.supplier_token).await;
    let treasury = env.balance(&l.treasury_token).await;
    let refund = env.balance(&l.renter_token).await;
    let burned = supply_before - env.mint_supply(&mint).await;
    // Conservation to the base unit: escrow in = supplier + treasury + burned + refund.
    assert_eq!(l.deposit, supplier + treasury + burned + refund, "{h:?}");
    if !h.mesh {
        assert_eq!(burned, 0);
    }
    // And the totals equal one split per settlement, each rounded on its own.
    let elapsed: i64 = h.steps.iter().map(|s| s.0).sum::<i64>() + h.end_after;
    let settled = (elapsed as u64).min(h.max);
    assert_eq!(l.deposit - refund, settled * h.price, "{h:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn random_histories_conserve_money_on_the_bank(h in history()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run_history(h));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]
    /// Pure-math version with many more settlements: each split conserves its gross, and the
    /// running totals plus the refund give back the deposit exactly.
    #[test]
    fn random_settlement_splits_conserve_money(
        price in 1u64..1_000_000_000,
        max in 1u64..1_000_000,
        fee_bps in 0u16..=10_000,
        burn_bps in 0u16..=10_000,
        mesh in any::<bool>(),
        cuts in proptest::collection::vec(0u64..200_000, 0..20),
    ) {
        let deposit = math::lease_deposit(price, max).unwrap();
        let (mut settled, mut sup, mut tre, mut burn) = (0u64, 0u64, 0u64, 0u64);
        let mut now = 0i64;
        for c in cuts {
            now += c as i64;
            let secs = math::settleable_seconds(0, settled, max, now).unwrap();
            let split = math::split_gross(price * secs, fee_bps, burn_bps, mesh).unwrap();
            prop_assert_eq!(split.supplier + split.treasury + split.burn, split.gross);
            prop_assert!(split.burn <= split.fee);
            if !mesh { prop_assert_eq!(split.burn, 0); }
            settled += secs;
            sup += split.supplier; tre += split.treasury; burn += split.burn;
        }
        prop_assert!(settled <= max);
        let refund = deposit - settled * price;
        prop_assert_eq!(deposit, sup + tre + burn + refund);
    }
}
