//! Property tests: random lease histories on the bank conserve money to the base unit, and
//! the running-total split never depends on how a period is cut.
mod common;

use common::*;
use gpumesh::{constants::lease_status, math, state::Lease};
use proptest::prelude::*;
use solana_sdk::signature::Signer;

#[derive(Debug, Clone)]
enum Op {
    Activate { back: i64 },
    /// Allocate `rate_pct` % of the lease price (of what is still free) to supplier `who`.
    Add { who: usize, rate_pct: u64 },
    Release { pick: usize },
    /// A lost node: release one allocation and allocate a replacement at the same instant.
    Replace { pick: usize, who: usize },
    Settle { pick: usize, back: i64, named: bool },
    Extend { extra: u64 },
    EndByRenter,
    EndByAuthority { back: i64 },
    Cancel,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0i64..50).prop_map(|back| Op::Activate { back }),
        4 => (0usize..3, 1u64..=100).prop_map(|(who, rate_pct)| Op::Add { who, rate_pct }),
        2 => (0usize..8).prop_map(|pick| Op::Release { pick }),
        2 => (0usize..8, 0usize..3).prop_map(|(pick, who)| Op::Replace { pick, who }),
        5 => (0usize..8, 0i64..100, any::<bool>()).prop_map(|(pick, back, named)| Op::Settle { pick, back, named }),
        1 => (1u64..2_000).prop_map(|extra| Op::Extend { extra }),
        1 => Just(Op::EndByRenter),
        1 => (0i64..100).prop_map(|back| Op::EndByAuthority { back }),
        1 => Just(Op::Cancel),
    ]
}

#[derive(Debug, Clone)]
struct History {
    mesh: bool,
    price: u64,
    max: u64,
    fee_bps: u16,
    burn_bps: u16,
    steps: Vec<(i64, Op)>,
}

fn history() -> impl Strategy<Value = History> {
    (
        any::<bool>(),
        1u64..5_000,
        1u64..20_000,
        prop_oneof![Just(0u16), Just(10_000u16), 0u16..=10_000],
        prop_oneof![Just(0u16), Just(10_000u16), 0u16..=10_000],
        proptest::collection::vec((0i64..3_000, op()), 1..14),
    )
        .prop_map(|(mesh, price, max, fee_bps, burn_bps, steps)| History { mesh, price, max, fee_bps, burn_bps, steps })
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
    let mut suppliers = Vec::new();
    for _ in 0..3 {
        suppliers.push(register_supplier(&mut env).await);
    }
    let budget = h.price * 10_000; // for extensions
    let l = open_lease_funded(&mut env, mint, 42, h.price, h.max, budget).await;
    let funded = l.deposit + budget;
    // After funding: minting the renter's USDC is not a burn.
    let supply_before = env.mint_supply(&mint).await;
    // (allocation index, supplier index) of every allocation created.
    let mut allocs: Vec<(u32, usize)> = Vec::new();
    let st = env.settlement.insecure_clone();
    let renter = l.renter.insecure_clone();
    for (dt, op) in &h.steps {
        env.advance(*dt).await;
        let now = env.now().await;
        let lease: Lease = env.lease(&l.lease).await;
        let pick = |p: usize| (!allocs.is_empty()).then(|| allocs[p % allocs.len()]);
        // Every op may legitimately fail (wrong status, empty range, …): a failed transaction
        // changes nothing, which is exactly what conservation must survive.
        let res = match op {
            Op::Activate { back } => env.activate(&l, (now - back).max(lease.opened_at)).await,
            Op::Add { who, rate_pct } => {
                let free = lease.price_per_second - lease.open_rate;
                let rate = (free * rate_pct / 100).max(1);
                let index = lease.allocation_count;
                let r = env.add_allocation(&l, index, &suppliers[*who], rate, now).await;
                if r.is_ok() {
                    allocs.push((index, *who));
                }
                r
            }
            Op::Release { pick: p } => match pick(*p) {
                Some((i, _)) => env.release_allocation(&l, i, now).await,
                None => Ok(()),
            },
            Op::Replace { pick: p, who } => match pick(*p) {
                Some((i, _)) => {
                    let a = env.allocation(&l.allocation(i)).await;
                    let index = lease.allocation_count;
                    let add = l.add_ix(&st.pubkey(), index, &suppliers[*who], a.rate_per_second, now);
                    let r = env.send(&[l.release_ix(&st.pubkey(), i, now), add], &[&st]).await;
                    if r.is_ok() {
                        allocs.push((index, *who));
                    }
                    r
                }
                None => Ok(()),
            },
            Op::Settle { pick: p, back, named } => match pick(*p) {
                Some((i, who)) => env.settle(&l, i, &suppliers[who], named.then_some(now - back)).await,
                None => Ok(()),
            },
            Op::Extend { extra } => env.send(&[l.extend_ix(*extra)], &[&renter]).await,
            Op::EndByRenter => env.end_by_renter(&l).await,
            Op::EndByAuthority { back } => env.end_by_authority(&l, Some(now - back)).await,
            Op::Cancel => env.send(&[l.cancel_ix(&st.pubkey())], &[&st]).await,
        };
        if let Err(e) = res {
            assert!(
                matches!(e, solana_sdk::transaction::TransactionError::InstructionError(_, solana_sdk::instruction::InstructionError::Custom(_))),
                "only refusals are expected, got {e:?} in {h:?}"
            );
        }
        // Σ open rate ≤ price at every step.
        let lease: Lease = env.lease(&l.lease).await;
        assert!(lease.open_rate <= lease.price_per_second, "{h:?}");
    }

    // Unwind: whatever the state, the money must come out exactly.
    let lease: Lease = env.lease(&l.lease).await;
    if lease.status == lease_status::PENDING {
        env.send(&[l.cancel_ix(&st.pubkey())], &[&st]).await.unwrap();
    } else if lease.status == lease_status::ACTIVE {
        env.end_by_authority(&l, None).await.unwrap();
    }
    for &(i, who) in &allocs {
        let _ = env.settle(&l, i, &suppliers[who], None).await;
    }
    let lease: Lease = env.lease(&l.lease).await;
    if lease.status == lease_status::ENDED {
        let payer = env.payer();
        env.send(&[l.close_ix(&payer)], &[]).await.unwrap();
    }
    let lease: Lease = env.lease(&l.lease).await;
    assert!(lease.status == lease_status::CLOSED || lease.status == lease_status::CANCELLED, "{h:?}");
    assert!(env.account(&l.escrow).await.is_none(), "escrow closed: {h:?}");

    let mut supplier_total = 0;
    for s in &suppliers {
        supplier_total += env.balance(&s.payout(&env, &mint)).await;
    }
    let treasury = env.balance(&l.treasury_token).await;
    let burned = supply_before - env.mint_supply(&mint).await;
    let refund = env.balance(&l.renter_token).await - (funded - lease.deposited);
    // Conservation to the base unit: escrow in = Σ supplier + Σ treasury + Σ burned + refund.
    assert_eq!(lease.deposited, supplier_total + treasury + burned + refund, "{h:?}");
    assert_eq!(refund, lease.refunded, "{h:?}");
    assert_eq!((lease.total_supplier, lease.total_treasury, lease.total_burned), (supplier_total, treasury, burned), "{h:?}");
    if !h.mesh {
        assert_eq!(burned, 0);
    }
    // Every allocation was paid exactly rate × the time it served, nothing before the start
    // or after the end.
    let mut gross = 0;
    for &(i, _) in &allocs {
        let a = env.allocation(&l.allocation(i)).await;
        let until = a.until_ts.min(lease.end_ts);
        assert!(a.from_ts >= lease.start_ts && a.settled_until == until.max(a.from_ts), "{h:?}");
        assert_eq!(a.total_gross, math::gross_between(a.rate_per_second, a.from_ts, until).unwrap(), "{h:?}");
        // Fees on running totals: the allocation's split equals one split of its total.
        let one = math::split_gross(a.total_gross, h.fee_bps, h.burn_bps, h.mesh).unwrap();
        assert_eq!((a.total_fee, a.total_burned, a.total_supplier), (one.fee, one.burn, one.supplier), "{h:?}");
        gross += a.total_gross;
    }
    assert_eq!(gross, lease.total_gross, "{h:?}");
    if lease.status == lease_status::CLOSED {
        assert_eq!(lease.total_gross, lease.owed_total);
    } else {
        assert_eq!((lease.total_gross, refund), (0, lease.deposited), "a cancelled lease refunds 100 %: {h:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn random_histories_conserve_money_on_the_bank(h in history()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run_history(h));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]
    /// However an allocation's time is cut into settlements, the running-total split gives the
    /// same fee, burn, treasury and supplier totals as one settlement, and each step conserves.
    #[test]
    fn running_total_split_is_independent_of_the_cuts(
        rate in 1u64..1_000_000_000,
        fee_bps in 0u16..=10_000,
        burn_bps in 0u16..=10_000,
        mesh in any::<bool>(),
        cuts in proptest::collection::vec(0u64..200_000, 0..30),
    ) {
        let (mut g, mut f, mut b, mut t, mut s) = (0u64, 0u64, 0u64, 0u64, 0u64);
        for c in &cuts {
            let step = math::split_running(g, f, b, rate * c, fee_bps, burn_bps, mesh).unwrap();
            prop_assert_eq!(step.supplier + step.treasury + step.burn, step.gross);
            prop_assert!(step.burn <= step.fee);
            if !mesh { prop_assert_eq!(step.burn, 0); }
            g += step.gross; f += step.fee; b += step.burn; t += step.treasury; s += step.supplier;
        }
        let one = math::split_gross(g, fee_bps, burn_bps, mesh).unwrap();
        prop_assert_eq!((f, b, t, s), (one.fee, one.burn, one.treasury, one.supplier));
    }
}
