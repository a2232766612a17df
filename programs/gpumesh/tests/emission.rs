//! Hourly emissions: schedule, catch-up, idempotence within an hour, the cap.
mod common;

use common::*;
use gpumesh::{math, pda};
use proptest::prelude::*;
use solana_sdk::signature::Signer;

const HOUR: i64 = 3_600;

async fn crank(env: &mut Env) -> TxResult {
    let mesh = env.mesh_mint;
    env.send(&[ix::crank_emissions(&mesh)], &[]).await
}

#[tokio::test]
async fn nothing_is_minted_before_the_first_full_hour() {
    let mut env = Env::new().await;
    env.set_time(T0 + HOUR - 1).await;
    crank(&mut env).await.unwrap();
    assert_eq!(env.rewards_vault_balance().await, 0);
    assert_eq!(env.config().await.emission_minted, 0);
}

#[tokio::test]
async fn first_hour_then_same_hour_then_catch_up() {
    let mut env = Env::new().await;
    let mesh = env.mesh_mint;
    let supply0 = env.mint_supply(&mesh).await;
    env.set_time(T0 + HOUR).await;
    crank(&mut env).await.unwrap();
    assert_eq!(env.rewards_vault_balance().await, 4_566_210_045);
    // Same hour again: mints 0, succeeds.
    env.set_time(T0 + 2 * HOUR - 1).await;
    crank(&mut env).await.unwrap();
    assert_eq!(env.rewards_vault_balance().await, 4_566_210_045);
    // Missed hours are caught up in one crank.
    env.set_time(T0 + 5 * HOUR + 17).await;
    crank(&mut env).await.unwrap();
    let c5 = math::cumulative_emission(5).unwrap();
    assert_eq!(env.rewards_vault_balance().await, c5);
    assert_eq!(env.config().await.emission_minted, c5);
    assert_eq!(env.mint_supply(&mesh).await, supply0 + c5);
}

#[tokio::test]
async fn emission_stops_exactly_at_the_cap() {
    let mut env = Env::new().await;
    let mesh = env.mesh_mint;
    env.set_time(T0 + (math::EMISSION_END_HOUR as i64 - 1) * HOUR).await;
    crank(&mut env).await.unwrap();
    let before_end = math::cumulative_emission(math::EMISSION_END_HOUR - 1).unwrap();
    assert!(before_end < math::EMISSION_CAP);
    assert_eq!(env.rewards_vault_balance().await, before_end);
    env.set_time(T0 + math::EMISSION_END_HOUR as i64 * HOUR).await;
    crank(&mut env).await.unwrap();
    assert_eq!(env.rewards_vault_balance().await, math::EMISSION_CAP);
    // Decades later: still the cap, and cranking keeps succeeding with 0.
    env.set_time(T0 + 1_000_000 * HOUR).await;
    crank(&mut env).await.unwrap();
    crank(&mut env).await.unwrap();
    assert_eq!(env.rewards_vault_balance().await, math::EMISSION_CAP);
    assert_eq!(env.mint_supply(&mesh).await, math::MAX_SUPPLY);
}

#[tokio::test]
async fn one_crank_after_twenty_years_mints_the_whole_cap() {
    let mut env = Env::new().await;
    let mesh = env.mesh_mint;
    env.set_time(T0 + 300_000 * HOUR).await;
    crank(&mut env).await.unwrap();
    assert_eq!(env.rewards_vault_balance().await, math::EMISSION_CAP);
    assert_eq!(env.mint_supply(&mesh).await, math::MAX_SUPPLY);
}

#[tokio::test]
async fn crank_is_blocked_while_paused() {
    let mut env = Env::new().await;
    let admin = env.admin.insecure_clone();
    env.send(&[ix::set_paused(&admin.pubkey(), true)], &[&admin]).await.unwrap();
    env.set_time(T0 + 3 * HOUR).await;
    assert_err(crank(&mut env).await, GpuMeshError::Paused);
    env.send(&[ix::set_paused(&admin.pubkey(), false)], &[&admin]).await.unwrap();
    crank(&mut env).await.unwrap();
    assert_eq!(env.rewards_vault_balance().await, math::cumulative_emission(3).unwrap());
}

#[tokio::test]
async fn crank_rejects_wrong_mint_and_wrong_vault() {
    let mut env = Env::new().await;
    env.set_time(T0 + 3 * HOUR).await;
    let usdc = env.usdc_mint;
    assert_err(env.send(&[ix::crank_emissions(&usdc)], &[]).await, GpuMeshError::InvalidMint);
    // A token account that is not the vault PDA.
    let mesh = env.mesh_mint;
    let payer = env.payer();
    let mine = env.create_token_account(&mesh, &payer).await;
    let mut i = ix::crank_emissions(&mesh);
    i.accounts[3].pubkey = mine;
    assert_anchor(env.send(&[i], &[]).await, AnchorError::ConstraintSeeds);
    assert_eq!(env.balance(&mine).await, 0);
}

#[tokio::test]
async fn only_the_program_can_mint_after_initialize() {
    let mut env = Env::new().await;
    let mesh = env.mesh_mint;
    let state = env.mint_state(&mesh).await;
    assert_eq!(state.mint_authority, Some(pda::mint_authority().0).into());
    let admin = env.admin.insecure_clone();
    let faucet = env.mesh_faucet;
    let i = anchor_spl::token::spl_token::instruction::mint_to(
        &anchor_spl::token::spl_token::ID, &mesh, &faucet, &admin.pubkey(), &[], 1,
    )
    .unwrap();
    // spl_token::error::TokenError::OwnerMismatch = 4
    assert_code(env.send(&[i], &[&admin]).await, 4);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]
    /// On the bank: random crank times always leave exactly the capped closed form minted.
    #[test]
    fn bank_cranks_follow_the_closed_form(mut hours in proptest::collection::vec(0u64..400_000, 1..4), jitter in 0i64..HOUR) {
        hours.sort();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut env = Env::new().await;
            for h in hours {
                env.set_time(T0 + h as i64 * HOUR + jitter).await;
                crank(&mut env).await.unwrap();
                assert_eq!(env.rewards_vault_balance().await, math::cumulative_emission(h).unwrap());
            }
        });
    }
}

/// Real-valued closed form, as an independent check of the fixed-point implementation.
fn closed_form_f64(n: u64) -> f64 {
    let s0 = 500_000_000e6_f64;
    let r1 = 0.08 / 8760.0;
    let d = 1.38869523959793e-5_f64;
    s0 * r1 * (1.0 - (1.0 - d).powf(n as f64)) / d
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn fixed_point_matches_the_real_closed_form(n in 0u64..1_000_000) {
        let c = math::cumulative_emission(n).unwrap();
        let exact = closed_form_f64(n).min(math::EMISSION_CAP as f64);
        // Within 1e-9 relative (f64 noise) + 2 base units (D rounding, floor).
        prop_assert!((c as f64 - exact).abs() <= exact * 1e-9 + 2.0, "n={} c={} exact={}", n, c, exact);
        prop_assert!(c <= math::EMISSION_CAP);
        if n >= math::EMISSION_END_HOUR { prop_assert_eq!(c, math::EMISSION_CAP); }
    }

    #[test]
    fn hourly_amounts_telescope(a in 0u64..400_000, len in 0u64..50) {
        let sum: u64 = (a + 1..=a + len).map(|t| math::hourly_emission(t).unwrap()).sum();
        prop_assert_eq!(
            sum,
            math::cumulative_emission(a + len).unwrap() - math::cumulative_emission(a).unwrap()
        );
        // Hourly emission is non-increasing (geometric decay) until the cap.
        if a >= 1 && a + 1 < math::EMISSION_END_HOUR {
            prop_assert!(math::hourly_emission(a + 1).unwrap() <= math::hourly_emission(a).unwrap() + 1);
        }
    }
}
