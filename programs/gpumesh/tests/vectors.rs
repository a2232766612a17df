//! Shared cross-language vectors under `programs/gpumesh/vectors/`. Each test rebuilds one
//! file from the program's own code and fails if the checked-in file differs; run with
//! `UPDATE_VECTORS=1` to rewrite. Amounts are decimal strings (u64 exceeds JS numbers).
mod common;

use anchor_lang::{Discriminator, InstructionData};
use common::ix;
use gpumesh::{instruction, instructions::*, math, merkle, pda};
use serde_json::{json, Value};
use solana_sdk::{instruction::Instruction, pubkey::Pubkey};

fn check(name: &str, value: Value) {
    let text = serde_json::to_string_pretty(&value).unwrap() + "\n";
    // Read when the test runs: a binary reused from a checkout at another path must not read its files.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    let path = manifest_dir.join("vectors").join(name);
    if std::env::var("UPDATE_VECTORS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        disk == text,
        "{} is stale (or missing); regenerate with UPDATE_VECTORS=1 cargo test --test vectors",
        path.display()
    );
}

fn s<T: ToString>(v: T) -> Value {
    Value::String(v.to_string())
}

fn key(byte: u8) -> Pubkey {
    Pubkey::new_from_array([byte; 32])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn emission_vectors() {
    let hours: [u64; 19] = [
        0, 1, 2, 3, 24, 168, 720, 8_760, 17_520, 43_800, 87_600, 100_000, 175_000, 175_317, 175_318, 175_319,
        175_320, 200_000, 1_000_000,
    ];
    let rows: Vec<Value> = hours
        .iter()
        .map(|&h| {
            json!({
                "hour": s(h),
                "q_pow": s(math::q_pow(h).unwrap()),
                "cumulative_uncapped": s(math::cumulative_emission_uncapped(h).unwrap()),
                "cumulative": s(math::cumulative_emission(h).unwrap()),
                "emission": s(math::hourly_emission(h).unwrap()),
            })
        })
        .collect();
    let start: i64 = 1_767_225_600;
    let cranks: Vec<Value> = [
        (start - 10, 0u64),
        (start, 0),
        (start + 3_599, 0),
        (start + 3_600, 0),
        (start + 3_600 * 2 - 1, math::cumulative_emission(1).unwrap()),
        (start + 3_600 * 5 + 17, math::cumulative_emission(1).unwrap()),
        (start + 3_600 * 175_319, math::cumulative_emission(175_000).unwrap()),
        (start + 3_600 * 10_000_000, math::EMISSION_CAP),
    ]
    .iter()
    .map(|&(now, minted)| {
        json!({
            "emission_start": s(start),
            "now": s(now),
            "minted_so_far": s(minted),
            "hour": s(math::emission_hour(now, start)),
            "mint": s(math::emission_mintable(now, start, minted).unwrap()),
        })
    })
    .collect();
    check(
        "emission.json",
        json!({
            "description": "MESH hourly emission. Integer arithmetic only; reproduce with BigInt.",
            "constants": {
                "decimals": math::MESH_DECIMALS,
                "seconds_per_hour": s(math::SECONDS_PER_HOUR),
                "genesis_supply": s(math::GENESIS_SUPPLY),
                "emission_cap": s(math::EMISSION_CAP),
                "max_supply": s(math::MAX_SUPPLY),
                "fp_one": s(math::FP_ONE),
                "d_fp": s(math::D_FP),
                "q_fp": s(math::Q_FP),
                "r1_divisor": s(math::R1_DIVISOR),
                "emission_end_hour": s(math::EMISSION_END_HOUR),
            },
            "algorithm": [
                "mul(a, b) = ceil(a * b / fp_one) = (a * b + fp_one - 1) / fp_one",
                "q_pow(n): result = fp_one; base = q_fp; while n > 0 { if n odd: result = mul(result, base); n = n >> 1; if n > 0: base = mul(base, base) }",
                "cumulative_uncapped(n) = floor(genesis_supply * (fp_one - q_pow(n)) / (r1_divisor * d_fp))",
                "cumulative(n) = emission_cap if n >= emission_end_hour else min(cumulative_uncapped(n), emission_cap)",
                "emission(t) = cumulative(t) - cumulative(t - 1) for t >= 1, emission(0) = 0",
                "hour(now, start) = 0 if now <= start else floor((now - start) / 3600)  (completed hours; hour 1 = [start, start+3600))",
                "mint(now, start, minted_so_far) = max(cumulative(hour(now, start)) - minted_so_far, 0)"
            ],
            "hours": rows,
            "cranks": cranks,
        }),
    );
}

fn split_json(gross: u64, fee_bps: u16, burn_bps: u16, mesh: bool) -> Value {
    let sp = math::split_gross(gross, fee_bps, burn_bps, mesh).unwrap();
    json!({
        "gross": s(sp.gross),
        "fee": s(sp.fee),
        "burn": s(sp.burn),
        "treasury": s(sp.treasury),
        "supplier": s(sp.supplier),
    })
}

#[test]
fn settlement_vectors() {
    // One settlement of `elapsed` seconds from an allocation's start (running totals at 0):
    // (price, max, elapsed, fee_bps, burn_bps, is_mesh)
    let cases: [(u64, u64, u64, u16, u16, bool); 14] = [
        (1_000, 3_600, 100, 250, 5_000, false),
        (1_000, 3_600, 100, 250, 5_000, true),
        (12_345, 3_600, 777, 250, 5_000, true),
        (1, 100, 39, 250, 5_000, true),           // fee rounds to 0
        (1, 100, 40, 250, 5_000, true),           // fee exactly 1, burn rounds to 0
        (3, 1_000, 1_333, 333, 3_333, true),      // elapsed past the end: clipped to max
        (9_999, 1, 1, 250, 5_000, true),          // 249.975 -> 249, burn 124.5 -> 124
        (7, 10, 10, 10_000, 10_000, true),        // everything burned
        (7, 10, 10, 10_000, 0, true),             // everything to treasury
        (7, 10, 10, 0, 10_000, true),             // no fee at all
        (7, 10, 0, 250, 5_000, false),            // nothing elapsed
        (1 << 32, 1 << 31, 1 << 31, 9_999, 9_999, true), // near u64 range
        (u64::MAX / 2, 2, 2, 1, 1, true),
        (500_000, 86_400, 86_399, 125, 2_500, false),
    ];
    let rows: Vec<Value> = cases
        .iter()
        .map(|&(price, max, elapsed, fee_bps, burn_bps, mesh)| {
            let deposit = math::lease_deposit(price, max).unwrap();
            let seconds = elapsed.min(max);
            let gross = price.checked_mul(seconds).unwrap();
            json!({
                "price_per_second": s(price),
                "max_seconds": s(max),
                "elapsed_seconds": s(elapsed),
                "fee_bps": fee_bps,
                "burn_bps": burn_bps,
                "is_mesh": mesh,
                "deposit": s(deposit),
                "seconds": s(seconds),
                "split": split_json(gross, fee_bps, burn_bps, mesh),
                "refund": s(deposit - gross),
            })
        })
        .collect();

    // Settlement sequences of one allocation at given untils, with running-total fees:
    // (rate, from_ts, release until_ts (None = open), lease end_ts, fee_bps, burn_bps, is_mesh,
    //  [(now, until)]).
    type Seq<'a> = (u64, i64, Option<i64>, i64, u16, u16, bool, &'a [(i64, Option<i64>)]);
    let start = 1_767_225_600i64;
    let seqs_in: [Seq; 5] = [
        // hourly periods named by the scheduler, then a late settle by the supplier
        (1_000, start, None, start + 4 * 3_600, 250, 5_000, true, &[(start + 3_700, Some(start + 3_600)), (start + 7_300, Some(start + 7_200)), (start + 9_000, None)]),
        // 7/s at 2.5 %: per-settle flooring would lose fee units; running totals do not
        (7, start, None, start + 1_000, 250, 5_000, true, &[(start + 10, None), (start + 20, None), (start + 30, None), (start + 1_000, None)]),
        // released allocation: nothing after the release, then NothingToSettle (seconds 0)
        (3, start + 100, Some(start + 400), start + 10_000, 333, 3_333, true, &[(start + 200, None), (start + 5_000, None), (start + 6_000, None)]),
        // `until` in the future is capped at now; past the lease end is capped at the end
        (9_999, start, None, start + 50, 250, 5_000, false, &[(start + 10, Some(start + 40)), (start + 60, Some(start + 100))]),
        // a named until before settled_until pays nothing
        (500, start, None, start + 3_600, 125, 2_500, false, &[(start + 600, None), (start + 700, Some(start + 500)), (start + 700, Some(start + 700))]),
    ];
    let seqs: Vec<Value> = seqs_in
        .iter()
        .map(|&(rate, from_ts, release, lease_end, fee_bps, burn_bps, mesh, steps)| {
            let alloc_until = release.unwrap_or(gpumesh::constants::ALLOCATION_OPEN);
            let (mut settled, mut g, mut f, mut b, mut sup, mut tre) = (from_ts, 0u64, 0u64, 0u64, 0u64, 0u64);
            let rows: Vec<Value> = steps
                .iter()
                .map(|&(now, until)| {
                    let t = math::settle_until(until, now, alloc_until, lease_end);
                    let from = settled;
                    let nothing = t <= from;
                    let gross = if nothing { 0 } else { math::gross_between(rate, from, t).unwrap() };
                    let sp = math::split_running(g, f, b, gross, fee_bps, burn_bps, mesh).unwrap();
                    if !nothing {
                        settled = t;
                        g += sp.gross;
                        f += sp.fee;
                        b += sp.burn;
                        sup += sp.supplier;
                        tre += sp.treasury;
                    }
                    json!({
                        "now": s(now),
                        "until": until.map(s),
                        "nothing_to_settle": nothing,
                        "from_ts": s(from),
                        "until_ts": s(if nothing { from } else { t }),
                        "split": { "gross": s(sp.gross), "fee": s(sp.fee), "burn": s(sp.burn), "treasury": s(sp.treasury), "supplier": s(sp.supplier) },
                        "totals": { "gross": s(g), "fee": s(f), "burned": s(b), "supplier": s(sup), "treasury": s(tre) },
                    })
                })
                .collect();
            json!({
                "rate_per_second": s(rate),
                "from_ts": s(from_ts),
                "allocation_until_ts": release.map(s),
                "lease_end_ts": s(lease_end),
                "fee_bps": fee_bps,
                "burn_bps": burn_bps,
                "is_mesh": mesh,
                "settlements": rows,
            })
        })
        .collect();

    // Ends: what the allocations are owed and what the renter gets back.
    // (price, max, start, [(rate, from, until or None)], end)
    type End<'a> = (u64, u64, i64, &'a [(u64, i64, Option<i64>)], i64);
    let ends_in: [End; 4] = [
        (1_000, 3_600, start, &[(1_000, start, None)], start + 600),
        (1_000, 3_600, start, &[(600, start, None), (400, start, Some(start + 100)), (400, start + 100, None)], start + 3_600),
        (1_000, 3_600, start, &[(1_000, start, Some(start + 100)), (500, start + 200, None)], start + 250),
        (7, 10, start, &[], start + 5),
    ];
    let ends: Vec<Value> = ends_in
        .iter()
        .map(|&(price, max, start_ts, allocs, end)| {
            let (mut open_rate, mut open_rate_from, mut released) = (0u64, 0u128, 0u64);
            for &(rate, from, until) in allocs {
                match until {
                    Some(u) => released += math::gross_between(rate, from, u).unwrap(),
                    None => {
                        open_rate += rate;
                        open_rate_from += rate as u128 * from as u128;
                    }
                }
            }
            let owed = math::owed_total(released, end, open_rate, open_rate_from).unwrap();
            let deposit = math::lease_deposit(price, max).unwrap();
            json!({
                "price_per_second": s(price),
                "max_seconds": s(max),
                "start_ts": s(start_ts),
                "allocations": allocs.iter().map(|&(rate, from, until)| json!({ "rate_per_second": s(rate), "from_ts": s(from), "until_ts": until.map(s) })).collect::<Vec<_>>(),
                "released_gross": s(released),
                "open_rate": s(open_rate),
                "open_rate_from": s(open_rate_from),
                "end_ts": s(end),
                "owed_total": s(owed),
                "deposit": s(deposit),
                "refund": s(deposit - owed),
            })
        })
        .collect();
    check(
        "settlement.json",
        json!({
            "description": "Lease settlement (Money v2). Integer arithmetic only; reproduce with BigInt.",
            "rules": [
                "cases: one settlement of an allocation from its start, running totals at 0: seconds = min(elapsed, max); gross = price * seconds; fee = floor(gross * fee_bps / 10000); burn = floor(fee * burn_bps / 10000) if is_mesh else 0; treasury = fee - burn; supplier = gross - fee; refund = deposit - gross.",
                "sequences: settle_allocation of ONE allocation, in order. t = min(until ?? now, now, allocation_until_ts ?? +inf, lease_end_ts); if t <= settled_until: nothing_to_settle (the program fails with NothingToSettle; the step's split is all zero and nothing changes). Else gross = rate * (t - settled_until); running totals G, F, B before the step: fee = floor((G + gross) * fee_bps / 10000) - F; burn = (floor((F + fee) * burn_bps / 10000) - B) if is_mesh else 0; treasury = fee - burn; supplier = gross - fee; settled_until = t. `totals` are the allocation's running totals after the step (Allocation.total_*).",
                "ends: owed_total = released_gross + end_ts * open_rate - open_rate_from (released_gross = sum rate * (until - from) of released allocations; open_rate / open_rate_from = sum rate / sum rate * from_ts of open ones); refund = deposit - owed_total. Fee/burn bps are snapshotted per lease at open."
            ],
            "cases": rows,
            "sequences": seqs,
            "ends": ends,
        }),
    );
}

fn pda_row(name: &str, seeds: Value, (address, bump): (Pubkey, u8)) -> Value {
    json!({ "name": name, "seeds": seeds, "address": address.to_string(), "bump": bump })
}

#[test]
fn pda_vectors() {
    let mint = key(0x11);
    let supplier = key(0x22);
    let renter = key(0x33);
    let claimant = key(0x44);
    let mut rows = vec![
        pda_row("config", json!([{ "utf8": "config" }]), pda::config()),
        pda_row("mint_authority", json!([{ "utf8": "mint_authority" }]), pda::mint_authority()),
        pda_row("rewards_vault", json!([{ "utf8": "rewards_vault" }]), pda::rewards_vault()),
        pda_row(
            "payment_mint",
            json!([{ "utf8": "payment_mint" }, { "pubkey": mint.to_string() }]),
            pda::payment_mint(&mint),
        ),
        pda_row(
            "supplier",
            json!([{ "utf8": "supplier" }, { "pubkey": supplier.to_string() }]),
            pda::supplier(&supplier),
        ),
        pda_row(
            "claim_record",
            json!([{ "utf8": "claim" }, { "pubkey": claimant.to_string() }]),
            pda::claim_record(&claimant),
        ),
    ];
    for id in [0u64, 1, 42, u64::MAX] {
        let lease = pda::lease(&renter, id);
        rows.push(pda_row(
            "lease",
            json!([{ "utf8": "lease" }, { "pubkey": renter.to_string() }, { "u64le": s(id) }]),
            lease,
        ));
        rows.push(pda_row(
            "escrow",
            json!([{ "utf8": "escrow" }, { "pubkey": lease.0.to_string() }]),
            pda::escrow(&lease.0),
        ));
    }
    for device_id in [[0u8; 16], *b"\x6f\x1c\x2a\x90\x4b\x3e\x4d\x0a\x9c\x11\x5e\x7d\x20\x33\x41\x58", [0xff; 16]] {
        let stake = pda::device_stake(&device_id);
        rows.push(pda_row(
            "device_stake",
            json!([{ "utf8": "device_stake" }, { "hex": hex(&device_id) }]),
            stake,
        ));
        rows.push(pda_row(
            "stake_vault",
            json!([{ "utf8": "stake_vault" }, { "pubkey": stake.0.to_string() }]),
            pda::stake_vault(&stake.0),
        ));
        for evidence in [[0x01u8; 32], [0xe5; 32]] {
            rows.push(pda_row(
                "slash_record",
                json!([{ "utf8": "slash" }, { "pubkey": stake.0.to_string() }, { "hex": hex(&evidence) }]),
                pda::slash_record(&stake.0, &evidence),
            ));
        }
    }
    let lease = pda::lease(&renter, 42).0;
    for index in [0u32, 1, 7, u32::MAX] {
        rows.push(pda_row(
            "allocation",
            json!([{ "utf8": "allocation" }, { "pubkey": lease.to_string() }, { "u32le": s(index) }]),
            pda::allocation(&lease, index),
        ));
    }
    check(
        "pdas.json",
        json!({
            "description": "Program-derived addresses: find_program_address(seeds, program_id). u64le = 8-byte little-endian, u32le = 4-byte little-endian, hex = raw bytes (a device id: the 16 bytes of its UUID in text order).",
            "program_id": gpumesh::ID.to_string(),
            "program_id_seed": "ed25519 seed = sha256(\"gpumesh:dev:program-id\") (dev key)",
            "dev_admin": gpumesh::DEV_ADMIN_AUTHORITY.to_string(),
            "dev_admin_seed": "ed25519 seed = sha256(\"gpumesh:dev:admin\") (dev/localnet only)",
            "pdas": rows,
        }),
    );
}

#[test]
fn merkle_vectors() {
    let sets: Vec<Vec<(Pubkey, u64)>> = vec![
        vec![(key(1), 1_000)],
        vec![(key(1), 1_000), (key(2), 2_000)],
        vec![(key(1), 1_000), (key(2), 2_000), (key(3), 0)],
        (1..=5u8).map(|i| (key(i), 4_566_210_045 * i as u64)).collect(),
        (1..=8u8).map(|i| (key(i), u64::MAX - i as u64)).collect(),
    ];
    let trees: Vec<Value> = sets
        .iter()
        .map(|entries| {
            let leaves: Vec<[u8; 32]> =
                entries.iter().map(|(k, a)| merkle::leaf_hash(&k.to_bytes(), *a)).collect();
            let levels = merkle::build_levels(&leaves);
            let root = merkle::root(&levels);
            let claims: Vec<Value> = entries
                .iter()
                .enumerate()
                .map(|(i, (k, a))| {
                    let proof = merkle::proof(&levels, i);
                    assert!(merkle::verify_claim(&root, &k.to_bytes(), *a, &proof));
                    let mut preimage = k.to_bytes().to_vec();
                    preimage.extend_from_slice(&a.to_le_bytes());
                    json!({
                        "claimant": k.to_string(),
                        "cumulative": s(a),
                        "leaf_preimage": hex(&preimage),
                        "leaf": hex(&leaves[i]),
                        "proof": proof.iter().map(|p| hex(p)).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({ "root": hex(&root), "claims": claims })
        })
        .collect();
    let (a, b) = ([0xaa; 32], [0x01; 32]);
    check(
        "merkle.json",
        json!({
            "description": "leaf = sha256(0x00 || sha256(claimant(32) || cumulative_u64_le)); node = sha256(0x01 || min(a,b) || max(a,b)) bytewise; levels pair (0,1),(2,3),...; an odd last node is carried up unchanged; one leaf: root = leaf, empty proof.",
            "node_example": { "a": hex(&a), "b": hex(&b), "node": hex(&merkle::node_hash(&a, &b)) },
            "trees": trees,
        }),
    );
}

fn ix_json(name: &str, account_names: &[&str], args: Value, discriminator: &[u8], i: Instruction) -> Value {
    assert_eq!(account_names.len(), i.accounts.len(), "{name}");
    assert_eq!(&i.data[..8], discriminator, "{name}");
    let accounts: Vec<Value> = i
        .accounts
        .iter()
        .zip(account_names)
        .map(|(m, n)| json!({ "name": n, "pubkey": m.pubkey.to_string(), "is_signer": m.is_signer, "is_writable": m.is_writable }))
        .collect();
    json!({
        "name": name,
        "discriminator": hex(discriminator),
        "args": args,
        "data": hex(&i.data),
        "accounts": accounts,
    })
}

#[test]
fn instruction_vectors() {
    let admin = gpumesh::DEV_ADMIN_AUTHORITY;
    let mesh = key(0x11);
    let usdc = key(0x12);
    let settlement = key(0x21);
    let rewards = key(0x22);
    let treasury = key(0x23);
    let supplier = key(0x31);
    let payout = key(0x32);
    let renter = key(0x41);
    let renter_token = key(0x42);
    let supplier_token = key(0x43);
    let treasury_token = key(0x44);
    let claimant = key(0x51);
    let claimant_token = key(0x52);
    let lease = pda::lease(&renter, 7).0;
    let device_id = *b"\x6f\x1c\x2a\x90\x4b\x3e\x4d\x0a\x9c\x11\x5e\x7d\x20\x33\x41\x58";
    let staker = key(0x61);
    let staker_token = key(0x62);
    let evidence = [0xe5; 32];

    let init_args = InitializeArgs {
        settlement_authority: settlement,
        rewards_authority: rewards,
        treasury,
        fee_bps: 250,
        burn_bps: 5_000,
        emission_start: 1_767_225_600,
    };
    let upd = UpdateConfigArgs {
        settlement_authority: Some(key(0x24)),
        rewards_authority: None,
        treasury: None,
        fee_bps: Some(300),
        burn_bps: None,
    };
    let proof = vec![[0xab; 32], [0xcd; 32]];
    let root = [0x5e; 32];
    let v = vec![
        ix_json(
            "initialize",
            &["admin", "config", "mesh_mint", "mint_authority", "rewards_vault", "token_program", "system_program"],
            json!({ "settlement_authority": settlement.to_string(), "rewards_authority": rewards.to_string(), "treasury": treasury.to_string(), "fee_bps": 250, "burn_bps": 5000, "emission_start": "1767225600" }),
            instruction::Initialize::DISCRIMINATOR,
            ix::initialize(&admin, &mesh, init_args),
        ),
        ix_json(
            "update_config",
            &["admin", "config"],
            json!({ "settlement_authority": key(0x24).to_string(), "rewards_authority": null, "treasury": null, "fee_bps": 300, "burn_bps": null }),
            instruction::UpdateConfig::DISCRIMINATOR,
            ix::update_config(&admin, upd),
        ),
        ix_json(
            "set_paused",
            &["admin", "config"],
            json!({ "paused": true }),
            instruction::SetPaused::DISCRIMINATOR,
            ix::set_paused(&admin, true),
        ),
        ix_json(
            "set_payment_mint",
            &["admin", "config", "mint", "payment_mint", "system_program"],
            json!({ "enabled": true, "min_price_per_second": "25" }),
            instruction::SetPaymentMint::DISCRIMINATOR,
            ix::set_payment_mint(&admin, &usdc, true, 25),
        ),
        ix_json(
            "register_supplier",
            &["authority", "supplier", "system_program"],
            json!({ "payout_wallet": payout.to_string() }),
            instruction::RegisterSupplier::DISCRIMINATOR,
            ix::register_supplier(&supplier, &payout),
        ),
        ix_json(
            "propose_admin",
            &["admin", "config"],
            json!({ "new_admin": key(0x25).to_string() }),
            instruction::ProposeAdmin::DISCRIMINATOR,
            ix::propose_admin(&admin, &key(0x25)),
        ),
        ix_json(
            "accept_admin",
            &["new_admin", "config"],
            json!({}),
            instruction::AcceptAdmin::DISCRIMINATOR,
            ix::accept_admin(&key(0x25)),
        ),
        ix_json(
            "set_payout_wallet",
            &["authority", "supplier"],
            json!({ "payout_wallet": key(0x33).to_string() }),
            instruction::SetPayoutWallet::DISCRIMINATOR,
            ix::set_payout_wallet(&supplier, &key(0x33)),
        ),
        ix_json(
            "open_lease",
            &["renter", "config", "payment_mint", "mint", "lease", "escrow", "renter_token", "token_program", "system_program"],
            json!({ "lease_id": "7", "price_per_second": "1000", "max_seconds": "3600" }),
            instruction::OpenLease::DISCRIMINATOR,
            ix::open_lease(&renter, &usdc, &renter_token, 7, 1_000, 3_600),
        ),
        ix_json(
            "activate_lease",
            &["settlement_authority", "config", "lease"],
            json!({ "start_ts": "1767225700", "price_per_second": "1000", "max_seconds": "3600" }),
            instruction::ActivateLease::DISCRIMINATOR,
            ix::activate_lease(&settlement, &lease, 1_767_225_700, 1_000, 3_600),
        ),
        ix_json(
            "add_allocation",
            &["settlement_authority", "config", "lease", "supplier", "allocation", "system_program"],
            json!({ "rate_per_second": "600", "from_ts": "1767225700", "index": 2 }),
            instruction::AddAllocation::DISCRIMINATOR,
            ix::add_allocation(&settlement, &lease, 2, &supplier, 600, 1_767_225_700),
        ),
        ix_json(
            "release_allocation",
            &["settlement_authority", "config", "lease", "allocation"],
            json!({ "until_ts": "1767229300", "index": 2 }),
            instruction::ReleaseAllocation::DISCRIMINATOR,
            ix::release_allocation(&settlement, &lease, 2, 1_767_229_300),
        ),
        ix_json(
            "settle_allocation",
            &["config", "lease", "allocation", "escrow", "mint", "supplier", "supplier_token", "treasury_token", "token_program"],
            json!({ "until": "1767229200", "index": 2 }),
            instruction::SettleAllocation::DISCRIMINATOR,
            ix::settle_allocation(&lease, 2, &usdc, &supplier, &supplier_token, &treasury_token, Some(1_767_229_200)),
        ),
        ix_json(
            "end_lease",
            &["caller", "config", "lease", "renter", "escrow", "mint", "renter_token", "token_program"],
            json!({ "end_ts": null }),
            instruction::EndLease::DISCRIMINATOR,
            ix::end_lease(&renter, &lease, &renter, &usdc, &renter_token, None),
        ),
        ix_json(
            "close_lease",
            &["caller", "config", "lease", "renter", "escrow", "mint", "renter_token", "token_program"],
            json!({}),
            instruction::CloseLease::DISCRIMINATOR,
            ix::close_lease(&supplier, &lease, &renter, &usdc, &renter_token),
        ),
        ix_json(
            "cancel_lease",
            &["caller", "config", "lease", "renter", "escrow", "mint", "renter_token", "token_program"],
            json!({}),
            instruction::CancelLease::DISCRIMINATOR,
            ix::cancel_lease(&settlement, &lease, &renter, &usdc, &renter_token),
        ),
        ix_json(
            "extend_lease",
            &["renter", "config", "lease", "escrow", "mint", "renter_token", "token_program"],
            json!({ "extra_seconds": "1800" }),
            instruction::ExtendLease::DISCRIMINATOR,
            ix::extend_lease(&renter, &lease, &usdc, &renter_token, 1_800),
        ),
        ix_json(
            "crank_emissions",
            &["config", "mesh_mint", "mint_authority", "rewards_vault", "token_program"],
            json!({}),
            instruction::CrankEmissions::DISCRIMINATOR,
            ix::crank_emissions(&mesh),
        ),
        ix_json(
            "post_reward_root",
            &["rewards_authority", "config"],
            json!({ "epoch": "3", "root": hex(&root), "total_cumulative": "123456789" }),
            instruction::PostRewardRoot::DISCRIMINATOR,
            ix::post_reward_root(&rewards, 3, root, 123_456_789),
        ),
        ix_json(
            "claim_rewards",
            &["claimant", "config", "claim_record", "rewards_vault", "mesh_mint", "claimant_token", "token_program", "system_program"],
            json!({ "cumulative": "4566210045", "proof": proof.iter().map(|p| hex(p)).collect::<Vec<_>>() }),
            instruction::ClaimRewards::DISCRIMINATOR,
            ix::claim_rewards(&claimant, &mesh, &claimant_token, 4_566_210_045, proof.clone()),
        ),
        ix_json(
            "stake_device",
            &["authority", "settlement_authority", "config", "device_stake", "stake_vault", "mesh_mint", "authority_token", "token_program", "system_program"],
            json!({ "device_id": hex(&device_id), "weight_bps": 10_000, "amount": "1000000000" }),
            instruction::StakeDevice::DISCRIMINATOR,
            ix::stake_device(&staker, &settlement, &mesh, &staker_token, device_id, 10_000, 1_000_000_000),
        ),
        ix_json(
            "request_unstake",
            &["authority", "device_stake"],
            json!({ "device_id": hex(&device_id) }),
            instruction::RequestUnstake::DISCRIMINATOR,
            ix::request_unstake(&staker, device_id),
        ),
        ix_json(
            "withdraw_stake",
            &["authority", "config", "device_stake", "stake_vault", "mesh_mint", "authority_token", "token_program"],
            json!({ "device_id": hex(&device_id) }),
            instruction::WithdrawStake::DISCRIMINATOR,
            ix::withdraw_stake(&staker, &mesh, &staker_token, device_id),
        ),
        ix_json(
            "slash_stake",
            &["settlement_authority", "config", "device_stake", "stake_vault", "slash_record", "mesh_mint", "token_program", "system_program"],
            json!({ "device_id": hex(&device_id), "amount": "123456789", "reason": "VanishedMidLease", "evidence_hash": hex(&evidence) }),
            instruction::SlashStake::DISCRIMINATOR,
            ix::slash_stake(&settlement, &mesh, device_id, 123_456_789, gpumesh::SlashReason::VanishedMidLease, evidence),
        ),
    ];
    // Sanity: data = discriminator ++ borsh(args).
    assert_eq!(instruction::SetPaused { paused: true }.data(), [instruction::SetPaused::DISCRIMINATOR, &[1u8][..]].concat());
    check(
        "instructions.json",
        json!({
            "description": "Instruction data = 8-byte Anchor discriminator (sha256(\"global:<name>\")[..8]) ++ borsh(args); accounts in order. Option<T> = 0 | 1 ++ T; an enum (SlashReason) = its variant index as one byte; [u8; N] = N raw bytes (hex here). `index` in args is not instruction data: it is the allocation index the allocation PDA was derived with (seeds \"allocation\", lease, index u32 LE).",
            "program_id": gpumesh::ID.to_string(),
            "instructions": v,
        }),
    );
}
