//! One test per attack class: each proves the program rejects it with a precise code.
mod common;

use common::*;
use gpumesh::{instructions::UpdateConfigArgs, math, pda};
#[allow(deprecated)]
use solana_sdk::{
    account::{Account, AccountSharedData},
    pubkey::Pubkey,
    signature::{Keypair, Signer},
    system_instruction,
};

const PRICE: u64 = 1_000;
const MAX: u64 = 3_600;

async fn env_with_lease() -> (Env, SupplierFixture, LeaseFixture) {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let usdc = env.usdc_mint;
    let l = open_lease(&mut env, &s, usdc, 1, PRICE, MAX).await;
    env.advance(60).await;
    (env, s, l)
}

fn index_of(ix: &solana_sdk::instruction::Instruction, key: &Pubkey) -> usize {
    ix.accounts.iter().position(|m| m.pubkey == *key).expect("account in instruction")
}

#[tokio::test]
async fn missing_signer() {
    let (mut env, s, l) = env_with_lease().await;
    // Settlement authority listed but not signing.
    let sp = env.settlement.pubkey();
    let mut i = l.settle_ix(&sp);
    i.accounts[0].is_signer = false;
    assert_anchor(env.send(&[i], &[]).await, AnchorError::AccountNotSigner);
    // Renter not signing an open (someone tries to spend the renter's tokens).
    let renter = env.funded_keypair().await;
    let usdc = env.usdc_mint;
    let rt = env.funded_token_account(&usdc, &renter.pubkey(), PRICE * MAX).await;
    let mut i = ix::open_lease(&renter.pubkey(), &usdc, &s.authority.pubkey(), &rt, 1, PRICE, MAX);
    i.accounts[0].is_signer = false;
    assert_anchor(env.send(&[i], &[]).await, AnchorError::AccountNotSigner);
    // Admin not signing a config update.
    let mut i = ix::update_config(&env.admin.pubkey(), UpdateConfigArgs { fee_bps: Some(0), ..Default::default() });
    i.accounts[0].is_signer = false;
    assert_anchor(env.send(&[i], &[]).await, AnchorError::AccountNotSigner);
}

#[tokio::test]
async fn wrong_owner_forged_config() {
    let (mut env, _s, l) = env_with_lease().await;
    // An exact copy of the config, but owned by another program and naming the attacker
    // as settlement authority.
    let attacker = env.funded_keypair().await;
    let real = env.account(&pda::config().0).await.unwrap();
    let mut data = real.data.clone();
    // settlement_authority sits right after the discriminator and admin.
    data[8 + 32..8 + 64].copy_from_slice(attacker.pubkey().as_ref());
    let forged = Pubkey::new_unique();
    env.ctx.set_account(
        &forged,
        &AccountSharedData::from(Account {
            lamports: real.lamports,
            data,
            owner: Pubkey::new_unique(),
            executable: false,
            rent_epoch: 0,
        }),
    );
    let mut i = l.settle_ix(&attacker.pubkey());
    i.accounts[1].pubkey = forged;
    assert_anchor(env.send(&[i], &[&attacker]).await, AnchorError::AccountOwnedByWrongProgram);
    // A non-token account where a token account is expected.
    let mut i = l.settle_ix(&env.settlement.pubkey());
    let idx = index_of(&i, &l.supplier_token);
    i.accounts[idx].pubkey = l.lease;
    let settlement = env.settlement.insecure_clone();
    assert_anchor(env.send(&[i], &[&settlement]).await, AnchorError::AccountOwnedByWrongProgram);
}

#[tokio::test]
async fn type_cosplay() {
    let (mut env, s, l) = env_with_lease().await;
    let settlement = env.settlement.insecure_clone();
    // A Supplier account (same owner, other type) passed as the lease.
    let mut i = l.settle_ix(&settlement.pubkey());
    i.accounts[2].pubkey = pda::supplier(&s.authority.pubkey()).0;
    assert_anchor(env.send(&[i], &[&settlement]).await, AnchorError::AccountDiscriminatorMismatch);
    // The Config passed as the lease.
    let mut i = l.settle_ix(&settlement.pubkey());
    i.accounts[2].pubkey = pda::config().0;
    assert_anchor(env.send(&[i], &[&settlement]).await, AnchorError::AccountDiscriminatorMismatch);
    // The Lease passed as the Supplier.
    let mut i = l.settle_ix(&settlement.pubkey());
    i.accounts[5].pubkey = l.lease;
    assert_anchor(env.send(&[i], &[&settlement]).await, AnchorError::AccountDiscriminatorMismatch);
}

#[tokio::test]
async fn wrong_mint_and_wrong_token_accounts() {
    let (mut env, s, l) = env_with_lease().await;
    let settlement = env.settlement.insecure_clone();
    let (usdc, mesh) = (env.usdc_mint, env.mesh_mint);
    // MESH payout account on a USDC lease.
    let i = ix::settle_lease(&settlement.pubkey(), &l.lease, &usdc, &s.authority.pubkey(), &s.mesh_payout, &l.treasury_token);
    assert_err(env.send(&[i], &[&settlement]).await, GpuMeshError::InvalidMint);
    // Opening a USDC lease paying from a MESH account.
    let renter = env.funded_keypair().await;
    let mesh_acc = env.funded_token_account(&mesh, &renter.pubkey(), PRICE * MAX).await;
    let i = ix::open_lease(&renter.pubkey(), &usdc, &s.authority.pubkey(), &mesh_acc, 1, PRICE, MAX);
    assert_err(env.send(&[i], &[&renter]).await, GpuMeshError::InvalidMint);
    // Paying from somebody else's account (owner check before the token program's).
    let thief = env.funded_keypair().await;
    let i = ix::open_lease(&thief.pubkey(), &mesh, &s.authority.pubkey(), &mesh_acc, 1, PRICE, MAX);
    assert_err(env.send(&[i], &[&thief]).await, GpuMeshError::InvalidTokenOwner);
}

#[tokio::test]
async fn re_initialization() {
    let mut env = Env::new().await;
    // Config: second initialize fails in the system program (account already in use = 0).
    let args = env.default_init_args();
    assert_code(env.initialize(args).await, 0);
    // Supplier: registering twice cannot overwrite the record.
    let s = register_supplier(&mut env).await;
    let a = s.authority.insecure_clone();
    let i = ix::register_supplier(&a.pubkey(), &Pubkey::new_unique());
    assert_code(env.send(&[i], &[&a]).await, 0);
    let sup: gpumesh::state::Supplier = env.anchor_account(&pda::supplier(&a.pubkey()).0).await;
    assert_eq!(sup.payout_wallet, s.payout_wallet.pubkey());
    // Lease: the same id cannot be opened twice while it exists.
    let usdc = env.usdc_mint;
    let l = open_lease(&mut env, &s, usdc, 5, PRICE, MAX).await;
    let renter = l.renter.insecure_clone();
    let more = env.funded_token_account(&usdc, &renter.pubkey(), PRICE * MAX).await;
    let i = ix::open_lease(&renter.pubkey(), &usdc, &s.authority.pubkey(), &more, 5, 1, 1);
    assert_code(env.send(&[i], &[&renter]).await, 0);
    assert_eq!(env.lease(&l.lease).await.price_per_second, PRICE);
}

#[tokio::test]
async fn arbitrary_cpi_fake_token_program() {
    let (mut env, s, l) = env_with_lease().await;
    let fake = Pubkey::new_unique();
    let settlement = env.settlement.insecure_clone();
    let mut i = l.settle_ix(&settlement.pubkey());
    let idx = index_of(&i, &anchor_spl::token::ID);
    i.accounts[idx].pubkey = fake;
    assert_anchor(env.send(&[i], &[&settlement]).await, AnchorError::InvalidProgramId);
    // Open with a fake token program would let a renter "pay" nothing.
    let renter = env.funded_keypair().await;
    let usdc = env.usdc_mint;
    let rt = env.funded_token_account(&usdc, &renter.pubkey(), PRICE * MAX).await;
    let mut i = ix::open_lease(&renter.pubkey(), &usdc, &s.authority.pubkey(), &rt, 1, PRICE, MAX);
    let idx = index_of(&i, &anchor_spl::token::ID);
    i.accounts[idx].pubkey = fake;
    assert_anchor(env.send(&[i], &[&renter]).await, AnchorError::InvalidProgramId);
    // Crank with a fake token program.
    let mesh = env.mesh_mint;
    let mut i = ix::crank_emissions(&mesh);
    i.accounts[4].pubkey = solana_sdk::system_program::ID;
    assert_anchor(env.send(&[i], &[]).await, AnchorError::InvalidProgramId);
}

#[tokio::test]
async fn duplicate_mutable_accounts() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    // A supplier that names the (predictable) lease PDA as payout wallet, so the escrow
    // itself passes the payout-owner check: paying escrow -> escrow would leave the money
    // stuck and the lease un-endable.
    let renter = env.funded_keypair().await;
    let lease = pda::lease(&renter.pubkey(), 1).0;
    let escrow = pda::escrow(&lease).0;
    let sup = env.funded_keypair().await;
    env.send(&[ix::register_supplier(&sup.pubkey(), &lease)], &[&sup]).await.unwrap();
    let rt = env.funded_token_account(&usdc, &renter.pubkey(), PRICE * MAX).await;
    let treasury_token = env.treasury_token(&usdc).await;
    env.send(&[ix::open_lease(&renter.pubkey(), &usdc, &sup.pubkey(), &rt, 1, PRICE, MAX)], &[&renter])
        .await
        .unwrap();
    env.advance(10).await;
    let settlement = env.settlement.insecure_clone();
    let i = ix::settle_lease(&settlement.pubkey(), &lease, &usdc, &sup.pubkey(), &escrow, &treasury_token);
    assert_err(env.send(&[i], &[&settlement]).await, GpuMeshError::DuplicateAccount);
    // Escrow as the refund account on end.
    let sup_token = env.create_token_account(&usdc, &lease).await;
    let i = ix::end_lease(&renter.pubkey(), &lease, &renter.pubkey(), &usdc, &sup.pubkey(), &sup_token, &treasury_token, &escrow);
    assert_err(env.send(&[i], &[&renter]).await, GpuMeshError::DuplicateAccount);
    // Escrow as the treasury account.
    let i = ix::settle_lease(&settlement.pubkey(), &lease, &usdc, &sup.pubkey(), &sup_token, &escrow);
    assert_err(env.send(&[i], &[&settlement]).await, GpuMeshError::DuplicateAccount);
}

#[tokio::test]
async fn pda_substitution_other_lease_escrow() {
    let (mut env, s, a) = env_with_lease().await;
    let usdc = env.usdc_mint;
    let b = open_lease(&mut env, &s, usdc, 2, PRICE, MAX).await;
    env.advance(10).await;
    let settlement = env.settlement.insecure_clone();
    let mut i = a.settle_ix(&settlement.pubkey());
    let idx = index_of(&i, &a.escrow);
    i.accounts[idx].pubkey = b.escrow;
    assert_anchor(env.send(&[i], &[&settlement]).await, AnchorError::ConstraintSeeds);
    let renter = a.renter.insecure_clone();
    let mut i = a.end_ix(&renter.pubkey());
    let idx = index_of(&i, &a.escrow);
    i.accounts[idx].pubkey = b.escrow;
    assert_anchor(env.send(&[i], &[&renter]).await, AnchorError::ConstraintSeeds);
    assert_eq!(env.balance(&b.escrow).await, b.deposit);
}

#[tokio::test]
async fn closed_lease_cannot_be_revived() {
    let (mut env, _s, l) = env_with_lease().await;
    let settlement = env.settlement.insecure_clone();
    let renter = l.renter.insecure_clone();
    let payer = env.payer();
    // In one transaction: end, refund the lease address with lamports, then use it again.
    let revive = system_instruction::transfer(&payer, &l.lease, 10_000_000);
    let res = env.send(&[l.end_ix(&renter.pubkey()), revive.clone(), l.settle_ix(&settlement.pubkey())], &[&renter, &settlement]).await;
    assert_anchor(res, AnchorError::AccountOwnedByWrongProgram);
    // Ending for real; afterwards the address is gone.
    env.send(&[l.end_ix(&renter.pubkey())], &[&renter]).await.unwrap();
    assert!(env.account(&l.lease).await.is_none());
    env.advance(10).await;
    assert_anchor(env.send(&[l.settle_ix(&settlement.pubkey())], &[&settlement]).await, AnchorError::AccountNotInitialized);
    // Lamports sent afterwards give a system account, never a Lease again.
    env.send(&[revive], &[]).await.unwrap();
    assert_anchor(env.send(&[l.settle_ix(&settlement.pubkey())], &[&settlement]).await, AnchorError::AccountOwnedByWrongProgram);
    assert_anchor(env.send(&[l.end_ix(&renter.pubkey())], &[&renter]).await, AnchorError::AccountOwnedByWrongProgram);
}

#[tokio::test]
async fn emission_can_never_exceed_the_cap() {
    let mut env = Env::bare().await;
    let mut args = env.default_init_args();
    args.emission_start = 1; // 1970: far more than 175,319 hours ago
    env.initialize(args).await.unwrap();
    let mesh = env.mesh_mint;
    for _ in 0..3 {
        env.send(&[ix::crank_emissions(&mesh)], &[]).await.unwrap();
        env.advance(3_600 * 24 * 365).await;
    }
    assert_eq!(env.rewards_vault_balance().await, math::EMISSION_CAP);
    assert_eq!(env.config().await.emission_minted, math::EMISSION_CAP);
    assert_eq!(env.mint_supply(&mesh).await, math::MAX_SUPPLY);
}

#[tokio::test]
async fn unauthorized_callers() {
    let (mut env, _s, l) = env_with_lease().await;
    let stranger = env.funded_keypair().await;
    let sp = stranger.pubkey();
    assert_err(env.send(&[l.settle_ix(&sp)], &[&stranger]).await, GpuMeshError::Unauthorized);
    assert_err(env.send(&[ix::post_reward_root(&sp, 1, [0; 32], 0)], &[&stranger]).await, GpuMeshError::Unauthorized);
    let args = UpdateConfigArgs { settlement_authority: Some(sp), ..Default::default() };
    assert_err(env.send(&[ix::update_config(&sp, args)], &[&stranger]).await, GpuMeshError::Unauthorized);
    assert_err(env.send(&[ix::set_paused(&sp, true)], &[&stranger]).await, GpuMeshError::Unauthorized);
    let usdc = env.usdc_mint;
    assert_err(env.send(&[ix::set_payment_mint(&sp, &usdc, false, 0)], &[&stranger]).await, GpuMeshError::Unauthorized);
    // The renter cannot settle (only end) its own lease.
    let renter = l.renter.insecure_clone();
    assert_err(env.send(&[l.settle_ix(&renter.pubkey())], &[&renter]).await, GpuMeshError::Unauthorized);
}

#[tokio::test]
async fn initialize_cannot_be_front_run() {
    let mut env = Env::bare().await;
    let attacker = env.funded_keypair().await;
    // Even if the attacker controls the mint authority of some mint, it is not the admin.
    let mint = env.create_mint(&attacker.pubkey(), None, 6).await;
    let i = ix::initialize(&attacker.pubkey(), &mint, env.default_init_args());
    assert_err(env.send(&[i], &[&attacker]).await, GpuMeshError::Unauthorized);
    assert!(env.account(&pda::config().0).await.is_none());
    let _ = Keypair::new();
}
