//! initialize, update_config, the two-step admin handover, set_paused, set_payment_mint,
//! register_supplier.
mod common;

use common::*;
use gpumesh::{instructions::UpdateConfigArgs, pda, state::*};
use solana_sdk::{
    pubkey::Pubkey,
    signature::{Keypair, Signer},
};

#[test]
fn dev_keys_are_derived_from_documented_seeds() {
    assert_eq!(dev_admin().pubkey(), gpumesh::DEV_ADMIN_AUTHORITY);
    assert_eq!(gpumesh::ADMIN_AUTHORITY, gpumesh::DEV_ADMIN_AUTHORITY, "tests build with the dev admin");
    let seed = solana_sdk::hash::hashv(&[b"gpumesh:dev:program-id"]).to_bytes();
    let program = Keypair::new_from_array(seed);
    assert_eq!(program.pubkey(), gpumesh::ID);
}

#[tokio::test]
async fn initialize_sets_up_config_vault_and_mint_authority() {
    let mut env = Env::new().await;
    let cfg = env.config().await;
    assert_eq!(cfg.admin, env.admin.pubkey());
    assert_eq!(cfg.settlement_authority, env.settlement.pubkey());
    assert_eq!(cfg.rewards_authority, env.rewards.pubkey());
    assert_eq!(cfg.treasury, env.treasury.pubkey());
    assert_eq!(cfg.mesh_mint, env.mesh_mint);
    assert_eq!((cfg.fee_bps, cfg.burn_bps, cfg.emission_start), (FEE_BPS, BURN_BPS, T0));
    assert_eq!((cfg.emission_minted, cfg.reward_epoch, cfg.paused), (0, 0, false));
    assert_eq!(cfg.bump, pda::config().1);
    assert_eq!(cfg.mint_authority_bump, pda::mint_authority().1);
    assert_eq!(cfg.rewards_vault_bump, pda::rewards_vault().1);
    let mesh = env.mesh_mint;
    let mint = env.mint_state(&mesh).await;
    assert_eq!(mint.mint_authority, Some(pda::mint_authority().0).into());
    let vault = env.account(&pda::rewards_vault().0).await.unwrap();
    let vault = <anchor_spl::token::spl_token::state::Account as solana_sdk::program_pack::Pack>::unpack(&vault.data).unwrap();
    assert_eq!((vault.mint, vault.owner, vault.amount), (mesh, pda::config().0, 0));
    let pm: PaymentMint = env.anchor_account(&pda::payment_mint(&mesh).0).await;
    assert!(pm.enabled && pm.is_mesh);
    let usdc = env.usdc_mint;
    let pm: PaymentMint = env.anchor_account(&pda::payment_mint(&usdc).0).await;
    assert!(pm.enabled && !pm.is_mesh);
}

#[tokio::test]
async fn initialize_validation() {
    let mut env = Env::bare().await;
    let mut args = env.default_init_args();
    args.fee_bps = 10_001;
    assert_err(env.initialize(args).await, GpuMeshError::InvalidBps);
    let mut args = env.default_init_args();
    args.burn_bps = 10_001;
    assert_err(env.initialize(args).await, GpuMeshError::InvalidBps);
    let mut args = env.default_init_args();
    args.emission_start = 0;
    assert_err(env.initialize(args).await, GpuMeshError::InvalidEmissionStart);
    // Bounded: at most a week in the past (no long unearned catch-up), a year ahead.
    let mut args = env.default_init_args();
    args.emission_start = T0 - gpumesh::MAX_EMISSION_START_PAST_SECONDS - 1;
    assert_err(env.initialize(args).await, GpuMeshError::InvalidEmissionStart);
    let mut args = env.default_init_args();
    args.emission_start = T0 + gpumesh::MAX_EMISSION_START_FUTURE_SECONDS + 1;
    assert_err(env.initialize(args).await, GpuMeshError::InvalidEmissionStart);
    // No role may be the default key.
    for field in 0..3 {
        let mut args = env.default_init_args();
        match field {
            0 => args.settlement_authority = Pubkey::default(),
            1 => args.rewards_authority = Pubkey::default(),
            _ => args.treasury = Pubkey::default(),
        }
        assert_err(env.initialize(args).await, GpuMeshError::InvalidAuthority);
    }

    let admin = env.admin.insecure_clone();
    let ap = admin.pubkey();
    let freezable = env.create_mint(&ap, Some(&ap), 6).await;
    let i = ix::initialize(&ap, &freezable, env.default_init_args());
    assert_err(env.send(&[i], &[&admin]).await, GpuMeshError::MintHasFreezeAuthority);
    let nine = env.create_mint(&ap, None, 9).await;
    let i = ix::initialize(&ap, &nine, env.default_init_args());
    assert_err(env.send(&[i], &[&admin]).await, GpuMeshError::InvalidMintDecimals);
    let foreign = env.create_mint(&Pubkey::new_unique(), None, 6).await;
    let i = ix::initialize(&ap, &foreign, env.default_init_args());
    assert_err(env.send(&[i], &[&admin]).await, GpuMeshError::InvalidMintAuthority);
    // All of the above rolled back: the real initialize still works.
    let args = env.default_init_args();
    env.initialize(args).await.unwrap();
}

#[tokio::test]
async fn update_config_changes_roles_and_fees_but_never_to_the_default_key() {
    let mut env = Env::new().await;
    let admin = env.admin.insecure_clone();
    let (s, r, t) = (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
    let args = UpdateConfigArgs {
        settlement_authority: Some(s),
        rewards_authority: Some(r),
        treasury: Some(t),
        fee_bps: Some(100),
        burn_bps: Some(10_000),
    };
    env.send(&[ix::update_config(&admin.pubkey(), args)], &[&admin]).await.unwrap();
    let cfg = env.config().await;
    assert_eq!(
        (cfg.admin, cfg.settlement_authority, cfg.rewards_authority, cfg.treasury, cfg.fee_bps, cfg.burn_bps),
        (admin.pubkey(), s, r, t, 100, 10_000)
    );
    // Bps bounds.
    let bad = UpdateConfigArgs { fee_bps: Some(10_001), ..Default::default() };
    assert_err(env.send(&[ix::update_config(&admin.pubkey(), bad)], &[&admin]).await, GpuMeshError::InvalidBps);
    let bad = UpdateConfigArgs { burn_bps: Some(10_001), ..Default::default() };
    assert_err(env.send(&[ix::update_config(&admin.pubkey(), bad)], &[&admin]).await, GpuMeshError::InvalidBps);
    // No role may become the default key.
    for bad in [
        UpdateConfigArgs { settlement_authority: Some(Pubkey::default()), ..Default::default() },
        UpdateConfigArgs { rewards_authority: Some(Pubkey::default()), ..Default::default() },
        UpdateConfigArgs { treasury: Some(Pubkey::default()), ..Default::default() },
    ] {
        assert_err(env.send(&[ix::update_config(&admin.pubkey(), bad)], &[&admin]).await, GpuMeshError::InvalidAuthority);
    }
    // Empty update keeps everything.
    env.send(&[ix::update_config(&admin.pubkey(), UpdateConfigArgs::default())], &[&admin]).await.unwrap();
    assert_eq!(env.config().await.fee_bps, 100);
}

#[tokio::test]
async fn admin_handover_takes_two_steps() {
    let mut env = Env::new().await;
    let admin = env.admin.insecure_clone();
    let next = env.funded_keypair().await;
    let stranger = env.funded_keypair().await;
    // Nothing pending yet.
    assert_err(env.send(&[ix::accept_admin(&next.pubkey())], &[&next]).await, GpuMeshError::NoPendingAdmin);
    // Only the admin proposes, never the default key.
    let i = ix::propose_admin(&stranger.pubkey(), &stranger.pubkey());
    assert_err(env.send(&[i], &[&stranger]).await, GpuMeshError::Unauthorized);
    let i = ix::propose_admin(&admin.pubkey(), &Pubkey::default());
    assert_err(env.send(&[i], &[&admin]).await, GpuMeshError::InvalidAuthority);
    env.send(&[ix::propose_admin(&admin.pubkey(), &next.pubkey())], &[&admin]).await.unwrap();
    let cfg = env.config().await;
    assert_eq!((cfg.admin, cfg.pending_admin), (admin.pubkey(), next.pubkey()));
    // Only the proposed key accepts.
    assert_err(env.send(&[ix::accept_admin(&stranger.pubkey())], &[&stranger]).await, GpuMeshError::Unauthorized);
    env.send(&[ix::accept_admin(&next.pubkey())], &[&next]).await.unwrap();
    let cfg = env.config().await;
    assert_eq!((cfg.admin, cfg.pending_admin), (next.pubkey(), Pubkey::default()));
    // The old admin is out; a second accept finds nothing pending.
    let args = UpdateConfigArgs { fee_bps: Some(1), ..Default::default() };
    assert_err(env.send(&[ix::update_config(&admin.pubkey(), args.clone())], &[&admin]).await, GpuMeshError::Unauthorized);
    env.send(&[ix::update_config(&next.pubkey(), args)], &[&next]).await.unwrap();
    assert_err(env.send(&[ix::accept_admin(&next.pubkey())], &[&next]).await, GpuMeshError::NoPendingAdmin);
}

#[tokio::test]
async fn set_paused_toggles() {
    let mut env = Env::new().await;
    let admin = env.admin.insecure_clone();
    env.send(&[ix::set_paused(&admin.pubkey(), true)], &[&admin]).await.unwrap();
    assert!(env.config().await.paused);
    env.send(&[ix::set_paused(&admin.pubkey(), false)], &[&admin]).await.unwrap();
    assert!(!env.config().await.paused);
}

#[tokio::test]
async fn set_payment_mint_creates_then_updates() {
    let mut env = Env::new().await;
    let admin = env.admin.insecure_clone();
    let auth = env.usdc_authority.insecure_clone();
    let mint = env.create_mint(&auth.pubkey(), None, 9).await;
    env.send(&[ix::set_payment_mint(&admin.pubkey(), &mint, true, 5)], &[&admin]).await.unwrap();
    let pm: PaymentMint = env.anchor_account(&pda::payment_mint(&mint).0).await;
    assert_eq!((pm.mint, pm.enabled, pm.is_mesh, pm.min_price_per_second), (mint, true, false, 5));
    env.send(&[ix::set_payment_mint(&admin.pubkey(), &mint, false, 7)], &[&admin]).await.unwrap();
    let pm: PaymentMint = env.anchor_account(&pda::payment_mint(&mint).0).await;
    assert_eq!((pm.enabled, pm.min_price_per_second, pm.bump), (false, 7, pda::payment_mint(&mint).1));
}

#[tokio::test]
async fn register_supplier_records_the_payout_wallet() {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let a = env.funded_keypair().await;
    let i = ix::register_supplier(&a.pubkey(), &Pubkey::default());
    assert_err(env.send(&[i], &[&a]).await, GpuMeshError::InvalidAuthority);
    let rec: Supplier = env.anchor_account(&pda::supplier(&s.authority.pubkey()).0).await;
    assert_eq!(rec.authority, s.authority.pubkey());
    assert_eq!(rec.payout_wallet, s.payout_wallet.pubkey());
    assert_eq!(rec.registered_at, T0);
    assert_eq!(rec.bump, pda::supplier(&s.authority.pubkey()).1);
}
