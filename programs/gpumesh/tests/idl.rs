//! The checked-in IDL (`idl/gpumesh.json`) must equal what `anchor idl build` would
//! produce. The IDL is generated the way anchor-cli does it: anchor-lang-idl's
//! `IdlBuilder` runs `cargo test __anchor_private_print_idl --features idl-build` on this
//! crate and assembles the printed pieces. `UPDATE_IDL=1` rewrites the file.
//!
//! The nested build uses `<target dir>/idl-build`: the first run compiles the dependency
//! tree once more (with `idl-build`), later runs only recompile this crate. Its output is
//! cached in `<target dir>/idl-cache/<hash of the program's sources and manifests>.json`, so
//! an unchanged program (CI in a fresh clone: another path, which makes cargo rebuild part of
//! the nested tree) is checked in milliseconds; any change to a source, a manifest or the
//! lockfile misses the cache and builds for real.
use std::path::{Path, PathBuf};

use anchor_lang::Discriminator;

/// This crate's directory, read when the test runs (cargo sets it then too): a test binary that
/// a shared target dir reuses for a checkout at another path (its sources look older than the
/// binary) would otherwise read the files of the checkout that built it.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

fn idl_path() -> PathBuf {
    manifest_dir().join("idl").join("gpumesh.json")
}

fn outer_target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("../../target"))
}

/// Every file the IDL can depend on, in a stable order: the program's sources, its manifest,
/// the workspace manifest and the lockfile.
fn idl_inputs() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let root = manifest_dir();
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    files.push(root.join("Cargo.toml"));
    files.push(root.join("../../Cargo.toml"));
    files.push(root.join("../../Cargo.lock"));
    files
}

/// Content hash of the IDL's inputs (paths relative to the program, so a clone elsewhere hits).
fn idl_cache_key() -> String {
    let root = manifest_dir();
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for file in idl_inputs() {
        let relative = file.strip_prefix(&root).map(|p| p.to_path_buf()).unwrap_or(file.clone());
        parts.push(relative.to_string_lossy().as_bytes().to_vec());
        parts.push(std::fs::read(&file).unwrap());
    }
    let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
    solana_sdk::hash::hashv(&refs).to_string()
}

/// The IDL of the current sources: from the cache when the inputs are unchanged, else built.
fn fresh_idl() -> String {
    let cache = outer_target_dir().join("idl-cache").join(format!("{}.json", idl_cache_key()));
    if std::env::var("UPDATE_IDL").as_deref() != Ok("1") {
        if let Ok(cached) = std::fs::read_to_string(&cache) {
            return cached;
        }
    }
    let fresh = generate();
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    std::fs::write(&cache, &fresh).unwrap();
    fresh
}

fn generate() -> String {
    // rustup exports RUSTUP_TOOLCHAIN to cargo's children; IdlBuilder would then try to
    // (re)install that toolchain and pass a malformed `+toolchain` arg. The nested cargo
    // resolves the same toolchain without it.
    std::env::remove_var("RUSTUP_TOOLCHAIN");
    // The nested build gets its own target dir (a sub-folder of this one). Sharing the
    // outer one makes the two builds invalidate each other's artifacts on every run: the
    // nested build has other env (ANCHOR_IDL_BUILD_* are `env!` dependencies of anchor-syn)
    // and features, so each run would rebuild half the dependency tree twice.
    let nested = outer_target_dir().join("idl-build");
    let idl = anchor_lang_idl::build::IdlBuilder::new()
        .program_path(manifest_dir())
        .cargo_args(vec![
            "--lib".into(),
            "--locked".into(),
            "--target-dir".into(),
            nested.to_string_lossy().into_owned(),
        ])
        .build()
        .expect("IDL build failed");
    serde_json::to_string_pretty(&idl).unwrap() + "\n"
}

#[test]
fn idl_is_up_to_date() {
    let fresh = fresh_idl();
    check_structure(&fresh);
    if std::env::var("UPDATE_IDL").as_deref() == Ok("1") {
        std::fs::create_dir_all(idl_path().parent().unwrap()).unwrap();
        std::fs::write(idl_path(), &fresh).unwrap();
        return;
    }
    let disk = std::fs::read_to_string(idl_path()).unwrap_or_default();
    assert!(
        disk == fresh,
        "{} is stale; regenerate with UPDATE_IDL=1 cargo test --test idl",
        idl_path().display()
    );
}

/// Cheap structural check that does not need the nested build: the checked-in IDL names
/// every instruction with the discriminator the program dispatches on.
#[test]
fn idl_discriminators_match_the_program() {
    if std::env::var("UPDATE_IDL").as_deref() == Ok("1") {
        return; // the file is being rewritten (and checked) by `idl_is_up_to_date`
    }
    check_structure(&std::fs::read_to_string(idl_path()).expect("idl/gpumesh.json exists"));
}

fn check_structure(text: &str) {
    use gpumesh::instruction as i;
    let idl: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(idl["address"], gpumesh::ID.to_string());
    let expected: Vec<(&str, &[u8])> = vec![
        ("accept_admin", i::AcceptAdmin::DISCRIMINATOR),
        ("activate_lease", i::ActivateLease::DISCRIMINATOR),
        ("add_allocation", i::AddAllocation::DISCRIMINATOR),
        ("cancel_lease", i::CancelLease::DISCRIMINATOR),
        ("claim_rewards", i::ClaimRewards::DISCRIMINATOR),
        ("close_lease", i::CloseLease::DISCRIMINATOR),
        ("crank_emissions", i::CrankEmissions::DISCRIMINATOR),
        ("end_lease", i::EndLease::DISCRIMINATOR),
        ("extend_lease", i::ExtendLease::DISCRIMINATOR),
        ("initialize", i::Initialize::DISCRIMINATOR),
        ("open_lease", i::OpenLease::DISCRIMINATOR),
        ("post_reward_root", i::PostRewardRoot::DISCRIMINATOR),
        ("propose_admin", i::ProposeAdmin::DISCRIMINATOR),
        ("register_supplier", i::RegisterSupplier::DISCRIMINATOR),
        ("release_allocation", i::ReleaseAllocation::DISCRIMINATOR),
        ("request_unstake", i::RequestUnstake::DISCRIMINATOR),
        ("set_paused", i::SetPaused::DISCRIMINATOR),
        ("set_payment_mint", i::SetPaymentMint::DISCRIMINATOR),
        ("set_payout_wallet", i::SetPayoutWallet::DISCRIMINATOR),
        ("settle_allocation", i::SettleAllocation::DISCRIMINATOR),
        ("slash_stake", i::SlashStake::DISCRIMINATOR),
        ("stake_device", i::StakeDevice::DISCRIMINATOR),
        ("update_config", i::UpdateConfig::DISCRIMINATOR),
        ("withdraw_stake", i::WithdrawStake::DISCRIMINATOR),
    ];
    let ixs = idl["instructions"].as_array().unwrap();
    assert_eq!(ixs.len(), expected.len());
    for (name, disc) in expected {
        let entry = ixs.iter().find(|x| x["name"] == name).unwrap_or_else(|| panic!("{name} missing"));
        let bytes: Vec<u8> = entry["discriminator"].as_array().unwrap().iter().map(|b| b.as_u64().unwrap() as u8).collect();
        assert_eq!(bytes, disc, "{name}");
    }
    let accounts: Vec<&str> = idl["accounts"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(accounts, ["Allocation", "ClaimRecord", "Config", "DeviceStake", "Lease", "PaymentMint", "SlashRecord", "Supplier"]);
    let errors = idl["errors"].as_array().unwrap();
    assert_eq!(errors[0]["code"], 6000);
    assert_eq!(errors[0]["name"], "Unauthorized");
    // Append only: existing codes keep their numbers.
    let names: Vec<&str> = errors.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names[24], "RenterMismatch");
    assert_eq!(names[25], "TermsMismatch");
    assert_eq!(names[37], "AllocationMismatch");
    assert_eq!(names[38], "InvalidWeight");
    // The stake constants are exported (the TypeScript client checks its copies against them).
    let constants = idl["constants"].as_array().expect("constants");
    let value = |name: &str| constants.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("{name} missing"))["value"].clone();
    assert_eq!(value("STAKE_PER_WEIGHT_UNIT"), gpumesh::STAKE_PER_WEIGHT_UNIT.to_string());
    assert_eq!(value("MAX_DEVICE_WEIGHT_BPS"), gpumesh::MAX_DEVICE_WEIGHT_BPS.to_string());
    assert_eq!(value("UNSTAKE_COOLDOWN_SECONDS"), gpumesh::UNSTAKE_COOLDOWN_SECONDS.to_string());
    for (i, e) in errors.iter().enumerate() {
        assert_eq!(e["code"], 6000 + i as u64);
    }
}
