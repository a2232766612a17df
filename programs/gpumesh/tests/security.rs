//! One test per attack class: each proves the program rejects it with a precise code.
mod common;

use anchor_spl::token::spl_token;
use common::*;
use gpumesh::{instructions::UpdateConfigArgs, math, merkle, pda};
#[allow(deprecated)]
use solana_sdk::{
    account::{Account, AccountSharedData},
    instruction::Instruction,
    program_pack::Pack,
    pubkey::Pubkey,
    signature::{Keypair, Signer},
    system_instruction,
};

const PRICE: u64 = 1_000;
const MAX: u64 = 3_600;
const TOKEN_2022: Pubkey = Pubkey::from_str_const("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");

/// An active USDC lease with allocation 0 for `s`, 60 s served.
async fn env_with_lease() -> (Env, SupplierFixture, LeaseFixture) {
    let mut env = Env::new().await;
    let s = register_supplier(&mut env).await;
    let usdc = env.usdc_mint;
    let l = active_lease(&mut env, &s, usdc, 1, PRICE, MAX).await;
    env.advance(60).await;
    (env, s, l)
}

fn index_of(ix: &Instruction, key: &Pubkey) -> usize {
    ix.accounts.iter().position(|m| m.pubkey == *key).expect("account in instruction")
}

fn with(mut i: Instruction, from: &Pubkey, to: Pubkey) -> Instruction {
    let idx = index_of(&i, from);
    i.accounts[idx].pubkey = to;
    i
}

fn unsigned(mut i: Instruction, signer: &Pubkey) -> Instruction {
    let idx = index_of(&i, signer);
    i.accounts[idx].is_signer = false;
    i
}

/// A copy of `real` (same data and lamports) at a new address, owned by `owner`.
async fn forge(env: &mut Env, real: &Pubkey, owner: Pubkey) -> Pubkey {
    let acc = env.account(real).await.unwrap();
    let forged = Pubkey::new_unique();
    env.ctx.set_account(
        &forged,
        &AccountSharedData::from(Account { lamports: acc.lamports, data: acc.data, owner, executable: false, rent_epoch: 0 }),
    );
    forged
}

#[tokio::test]
async fn missing_signer() {
    let (mut env, s, l) = env_with_lease().await;
    let st = env.settlement.pubkey();
    let r = l.renter.pubkey();
    let admin = env.admin.pubkey();
    let usdc = env.usdc_mint;
    for i in [
        unsigned(l.activate_ix(&st, T0), &st),
        unsigned(l.add_ix(&st, 1, &s, 1, T0), &st),
        unsigned(l.release_ix(&st, 0, T0 + 10), &st),
        unsigned(l.end_ix(&st, None), &st),
        unsigned(l.end_ix(&r, None), &r),
        unsigned(l.cancel_ix(&st), &st),
        unsigned(l.close_ix(&r), &r),
        unsigned(l.extend_ix(1), &r),
        unsigned(ix::open_lease(&r, &usdc, &l.renter_token, 9, PRICE, 1), &r),
        unsigned(ix::update_config(&admin, UpdateConfigArgs { fee_bps: Some(0), ..Default::default() }), &admin),
        unsigned(ix::propose_admin(&admin, &r), &admin),
        unsigned(ix::accept_admin(&r), &r),
        unsigned(ix::set_payout_wallet(&s.authority.pubkey(), &r), &s.authority.pubkey()),
        unsigned(ix::claim_rewards(&r, &env.mesh_mint, &l.renter_token, 1, vec![]), &r),
    ] {
        assert_anchor(env.send(&[i], &[]).await, AnchorError::AccountNotSigner);
    }
}

#[tokio::test]
async fn forged_accounts_of_every_type_owned_by_another_program() {
    let (mut env, s, l) = env_with_lease().await;
    let attacker = env.funded_keypair().await;
    let other = Pubkey::new_unique();
    // Config naming the attacker as settlement authority (right after discriminator + admin).
    let real = env.account(&pda::config().0).await.unwrap();
    let forged = forge(&mut env, &pda::config().0, other).await;
    let mut acc = env.account(&forged).await.unwrap();
    acc.data[8 + 32..8 + 64].copy_from_slice(attacker.pubkey().as_ref());
    assert_eq!(real.data.len(), acc.data.len());
    env.ctx.set_account(&forged, &AccountSharedData::from(acc));
    let i = with(l.end_ix(&attacker.pubkey(), Some(T0 + 1)), &pda::config().0, forged);
    assert_anchor(env.send(&[i], &[&attacker]).await, AnchorError::AccountOwnedByWrongProgram);
    // Lease, Allocation, Supplier (settle), PaymentMint (open), ClaimRecord (claim).
    let settle = l.settle_for(&env, 0, &s, None);
    for real in [l.lease, l.allocation(0), pda::supplier(&s.authority.pubkey()).0] {
        let forged = forge(&mut env, &real, other).await;
        let i = with(settle.clone(), &real, forged);
        assert_anchor(env.send(&[i], &[]).await, AnchorError::AccountOwnedByWrongProgram);
    }
    let usdc = env.usdc_mint;
    let pm = pda::payment_mint(&usdc).0;
    let forged = forge(&mut env, &pm, other).await;
    let r = l.renter.insecure_clone();
    let i = with(ix::open_lease(&r.pubkey(), &usdc, &l.renter_token, 9, 1, 1), &pm, forged);
    assert_anchor(env.send(&[i], &[&r]).await, AnchorError::AccountOwnedByWrongProgram);
    // A token account where a program account is expected, and the reverse.
    let i = with(settle.clone(), &l.lease, l.escrow);
    assert_anchor(env.send(&[i], &[]).await, AnchorError::AccountOwnedByWrongProgram);
    let i = with(settle.clone(), &s.usdc_payout, l.lease);
    assert_anchor(env.send(&[i], &[]).await, AnchorError::AccountOwnedByWrongProgram);
    // Mints and token accounts of Token-2022 (same bytes, other owner) are refused.
    let fake_mint = forge(&mut env, &usdc, TOKEN_2022).await;
    let i = with(ix::open_lease(&r.pubkey(), &usdc, &l.renter_token, 9, 1, 1), &usdc, fake_mint);
    assert_anchor(env.send(&[i], &[&r]).await, AnchorError::AccountOwnedByWrongProgram);
    let fake_payout = forge(&mut env, &s.usdc_payout, TOKEN_2022).await;
    let i = with(settle, &s.usdc_payout, fake_payout);
    assert_anchor(env.send(&[i], &[]).await, AnchorError::AccountOwnedByWrongProgram);
}

#[tokio::test]
async fn type_cosplay() {
    let (mut env, s, l) = env_with_lease().await;
    let settle = l.settle_for(&env, 0, &s, None);
    let supplier = pda::supplier(&s.authority.pubkey()).0;
    // Program-owned accounts of another type in each typed slot.
    for (slot, imposter) in [
        (l.lease, supplier),
        (l.lease, pda::config().0),
        (l.lease, l.allocation(0)),
        (l.allocation(0), l.lease),
        (supplier, l.lease),
        (pda::config().0, l.allocation(0)),
    ] {
        let i = with(settle.clone(), &slot, imposter);
        assert_anchor(env.send(&[i], &[]).await, AnchorError::AccountDiscriminatorMismatch);
    }
}

#[tokio::test]
async fn worthless_mint_beside_usdcs_payment_mint() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let attacker = env.funded_keypair().await;
    let junk = env.create_mint(&attacker.pubkey(), None, 6).await;
    let junk_acc = env.create_token_account(&junk, &attacker.pubkey()).await;
    env.mint_to(&junk, &junk_acc, PRICE * MAX, &attacker).await;
    // Open "paying" junk tokens while presenting USDC's PaymentMint record.
    let mut i = ix::open_lease(&attacker.pubkey(), &junk, &junk_acc, 1, PRICE, MAX);
    i.accounts[2].pubkey = pda::payment_mint(&usdc).0;
    assert_anchor(env.send(&[i], &[&attacker]).await, AnchorError::ConstraintSeeds);
    // Its own record does not exist.
    let i = ix::open_lease(&attacker.pubkey(), &junk, &junk_acc, 1, PRICE, MAX);
    assert_anchor(env.send(&[i], &[&attacker]).await, AnchorError::AccountNotInitialized);
}

#[tokio::test]
async fn settle_account_checks() {
    let (mut env, s, l) = env_with_lease().await;
    let (usdc, mesh) = (env.usdc_mint, env.mesh_mint);
    let a = s.authority.pubkey();
    let settle = l.settle_for(&env, 0, &s, None);
    // Wrong mint: a MESH payout account on a USDC lease; the MESH mint itself.
    let i = l.settle_ix(0, &a, &s.mesh_payout, None);
    assert_err(env.send(&[i], &[]).await, GpuMeshError::InvalidMint);
    let i = with(settle.clone(), &usdc, mesh);
    assert_err(env.send(&[i], &[]).await, GpuMeshError::InvalidMint);
    let mesh_treasury = env.treasury_token(&mesh).await;
    let i = with(settle.clone(), &l.treasury_token, mesh_treasury);
    assert_err(env.send(&[i], &[]).await, GpuMeshError::InvalidMint);
    // Wrong owner: the attacker's account as payout or treasury.
    let attacker = env.funded_keypair().await;
    let theirs = env.create_token_account(&usdc, &attacker.pubkey()).await;
    assert_err(env.send(&[l.settle_ix(0, &a, &theirs, None)], &[]).await, GpuMeshError::InvalidTokenOwner);
    let i = with(settle.clone(), &l.treasury_token, theirs);
    assert_err(env.send(&[i], &[]).await, GpuMeshError::InvalidTokenOwner);
    // Escrow as payee.
    assert_err(env.send(&[l.settle_ix(0, &a, &l.escrow, None)], &[]).await, GpuMeshError::DuplicateAccount);
    let i = with(settle.clone(), &l.treasury_token, l.escrow);
    assert_err(env.send(&[i], &[]).await, GpuMeshError::DuplicateAccount);
    // Another supplier's record (and its payout account): seeds follow the allocation.
    let b = register_supplier(&mut env).await;
    let i = l.settle_ix(0, &b.authority.pubkey(), &b.usdc_payout, None);
    assert_anchor(env.send(&[i], &[]).await, AnchorError::ConstraintSeeds);
    // Another lease's escrow or allocation.
    let other = active_lease(&mut env, &b, usdc, 2, PRICE, MAX).await;
    let i = with(settle.clone(), &l.escrow, other.escrow);
    assert_anchor(env.send(&[i], &[]).await, AnchorError::ConstraintSeeds);
    let i = with(settle.clone(), &l.allocation(0), other.allocation(0));
    assert_anchor(env.send(&[i], &[]).await, AnchorError::ConstraintSeeds);
    // Fake or Token-2022 token program.
    for fake in [Pubkey::new_unique(), TOKEN_2022, solana_sdk::system_program::ID] {
        let i = with(settle.clone(), &spl_token::ID, fake);
        assert_anchor(env.send(&[i], &[]).await, AnchorError::InvalidProgramId);
    }
    // Nothing moved; the honest settle works.
    env.send(&[settle], &[]).await.unwrap();
    assert_eq!(env.balance(&other.escrow).await, other.deposit);
}

#[tokio::test]
async fn end_close_cancel_extend_account_checks() {
    let (mut env, _s, l) = env_with_lease().await;
    let (usdc, mesh) = (env.usdc_mint, env.mesh_mint);
    let r = l.renter.insecure_clone();
    let end = l.end_ix(&r.pubkey(), None);
    // Wrong owner / wrong mint / escrow as the refund account.
    let attacker = env.funded_keypair().await;
    let theirs = env.create_token_account(&usdc, &attacker.pubkey()).await;
    let i = with(end.clone(), &l.renter_token, theirs);
    assert_err(env.send(&[i], &[&r]).await, GpuMeshError::InvalidTokenOwner);
    let mesh_acc = env.create_token_account(&mesh, &r.pubkey()).await;
    let i = with(end.clone(), &l.renter_token, mesh_acc);
    assert_err(env.send(&[i], &[&r]).await, GpuMeshError::InvalidMint);
    let i = with(end.clone(), &usdc, mesh);
    assert_err(env.send(&[i], &[&r]).await, GpuMeshError::InvalidMint);
    let i = with(end.clone(), &l.renter_token, l.escrow);
    assert_err(env.send(&[i], &[&r]).await, GpuMeshError::DuplicateAccount);
    // The escrow rent goes to the renter, no one else.
    let mut i = end.clone();
    assert_eq!(i.accounts[3].pubkey, r.pubkey());
    i.accounts[3].pubkey = attacker.pubkey();
    assert_err(env.send(&[i], &[&r]).await, GpuMeshError::RenterMismatch);
    // Fake token program.
    let i = with(end.clone(), &spl_token::ID, TOKEN_2022);
    assert_anchor(env.send(&[i], &[&r]).await, AnchorError::InvalidProgramId);
    // Another lease's escrow.
    let other = open_lease(&mut env, usdc, 2, PRICE, MAX).await;
    let i = with(end.clone(), &l.escrow, other.escrow);
    assert_anchor(env.send(&[i], &[&r]).await, AnchorError::ConstraintSeeds);
    // Same guards on cancel / extend (shared shape).
    let st = env.settlement.insecure_clone();
    let i = with(other.cancel_ix(&st.pubkey()), &other.renter_token, theirs);
    assert_err(env.send(&[i], &[&st]).await, GpuMeshError::InvalidTokenOwner);
    let i = with(other.cancel_ix(&st.pubkey()), &other.renter_token, other.escrow);
    assert_err(env.send(&[i], &[&st]).await, GpuMeshError::DuplicateAccount);
    let ro = other.renter.insecure_clone();
    let i = with(other.extend_ix(1), &other.renter_token, other.escrow);
    assert_err(env.send(&[i], &[&ro]).await, GpuMeshError::DuplicateAccount);
    // Honest calls still work.
    env.send(&[end], &[&r]).await.unwrap();
    env.send(&[other.cancel_ix(&st.pubkey())], &[&st]).await.unwrap();
}

#[tokio::test]
async fn claim_account_checks() {
    let mut env = Env::new().await;
    env.set_time(T0 + 2 * 3_600).await;
    let mesh = env.mesh_mint;
    env.send(&[ix::crank_emissions(&mesh)], &[]).await.unwrap();
    let c = env.funded_keypair().await;
    let token = env.create_token_account(&mesh, &c.pubkey()).await;
    let root = merkle::leaf_hash(&c.pubkey().to_bytes(), 10);
    let rw = env.rewards.insecure_clone();
    env.send(&[ix::post_reward_root(&rw.pubkey(), 1, root, 10)], &[&rw]).await.unwrap();
    let claim = ix::claim_rewards(&c.pubkey(), &mesh, &token, 10, vec![]);
    let usdc = env.usdc_mint;
    let usdc_acc = env.create_token_account(&usdc, &c.pubkey()).await;
    let other = env.create_token_account(&mesh, &Pubkey::new_unique()).await;
    let vault = pda::rewards_vault().0;
    for (i, e) in [
        (with(claim.clone(), &token, usdc_acc), GpuMeshError::InvalidMint),
        (with(claim.clone(), &mesh, usdc), GpuMeshError::InvalidMint),
        (with(claim.clone(), &token, other), GpuMeshError::InvalidTokenOwner),
        (with(claim.clone(), &token, vault), GpuMeshError::DuplicateAccount),
    ] {
        assert_err(env.send(&[i], &[&c]).await, e);
    }
    for (from, fake) in [(spl_token::ID, TOKEN_2022), (solana_sdk::system_program::ID, Pubkey::new_unique())] {
        let i = with(claim.clone(), &from, fake);
        assert_anchor(env.send(&[i], &[&c]).await, AnchorError::InvalidProgramId);
    }
    // A ClaimRecord at the right address but owned by another program (an address elsewhere
    // fails the seeds first).
    let forged = forge(&mut env, &pda::config().0, Pubkey::new_unique()).await;
    let i = with(claim.clone(), &pda::claim_record(&c.pubkey()).0, forged);
    assert_anchor(env.send(&[i], &[&c]).await, AnchorError::ConstraintSeeds);
    let c2 = env.funded_keypair().await;
    let token2 = env.create_token_account(&mesh, &c2.pubkey()).await;
    let record2 = pda::claim_record(&c2.pubkey()).0;
    let data = env.account(&forged).await.unwrap();
    env.ctx.set_account(&record2, &AccountSharedData::from(data));
    let i = ix::claim_rewards(&c2.pubkey(), &mesh, &token2, 10, vec![]);
    assert_anchor(env.send(&[i], &[&c2]).await, AnchorError::AccountOwnedByWrongProgram);
    // A fake vault (same bytes, same owner program, other address) fails the seeds.
    let fake_vault = forge(&mut env, &vault, spl_token::ID).await;
    let i = with(claim.clone(), &vault, fake_vault);
    assert_anchor(env.send(&[i], &[&c]).await, AnchorError::ConstraintSeeds);
    env.send(&[claim], &[&c]).await.unwrap();
    assert_eq!(env.balance(&token).await, 10);
}

#[tokio::test]
async fn fake_system_program() {
    let mut env = Env::new().await;
    let usdc = env.usdc_mint;
    let s = register_supplier(&mut env).await;
    let renter = env.funded_keypair().await;
    let rt = env.funded_token_account(&usdc, &renter.pubkey(), PRICE * MAX).await;
    let i = with(ix::open_lease(&renter.pubkey(), &usdc, &rt, 1, PRICE, MAX), &solana_sdk::system_program::ID, Pubkey::new_unique());
    assert_anchor(env.send(&[i], &[&renter]).await, AnchorError::InvalidProgramId);
    let l = open_lease(&mut env, usdc, 2, PRICE, MAX).await;
    env.activate(&l, T0).await.unwrap();
    let st = env.settlement.insecure_clone();
    let i = with(l.add_ix(&st.pubkey(), 0, &s, PRICE, T0), &solana_sdk::system_program::ID, spl_token::ID);
    assert_anchor(env.send(&[i], &[&st]).await, AnchorError::InvalidProgramId);
}

#[tokio::test]
async fn pre_funded_escrow_and_vault_addresses() {
    let mut env = Env::bare().await;
    let payer = env.payer();
    // Someone sends lamports to the (predictable) vault before initialize...
    let vault = pda::rewards_vault().0;
    env.send(&[system_instruction::transfer(&payer, &vault, 1_000_000)], &[]).await.unwrap();
    let args = env.default_init_args();
    env.initialize(args).await.unwrap();
    let state = spl_token::state::Account::unpack(&env.account(&vault).await.unwrap().data).unwrap();
    assert_eq!((state.owner, state.mint), (pda::config().0, env.mesh_mint));
    // ... and to a renter's next escrow before it opens.
    let admin = env.admin.insecure_clone();
    let usdc = env.usdc_mint;
    env.send(&[ix::set_payment_mint(&admin.pubkey(), &usdc, true, 0)], &[&admin]).await.unwrap();
    let renter = env.funded_keypair().await;
    let escrow = pda::escrow(&pda::lease(&renter.pubkey(), 1).0).0;
    env.send(&[system_instruction::transfer(&payer, &escrow, 5_000_000)], &[]).await.unwrap();
    let rt = env.funded_token_account(&usdc, &renter.pubkey(), PRICE * MAX).await;
    env.send(&[ix::open_lease(&renter.pubkey(), &usdc, &rt, 1, PRICE, MAX)], &[&renter]).await.unwrap();
    assert_eq!(env.balance(&escrow).await, PRICE * MAX);
}

#[tokio::test]
async fn escrow_shortfall_is_a_dedicated_error() {
    let (mut env, s, l) = env_with_lease().await;
    // Simulate an escrow that somehow holds less than is due (it cannot happen through the
    // program: Σ allocated rate ≤ price): the settle must refuse rather than underflow.
    let mut acc = env.account(&l.escrow).await.unwrap();
    let mut state = spl_token::state::Account::unpack(&acc.data).unwrap();
    state.amount = 59 * PRICE;
    spl_token::state::Account::pack(state, &mut acc.data).unwrap();
    env.ctx.set_account(&l.escrow, &AccountSharedData::from(acc));
    assert_err(env.settle(&l, 0, &s, None).await, GpuMeshError::EscrowShortfall);
    // Ending would leave less than refund + what is owed: refused too.
    assert_err(env.end_by_renter(&l).await, GpuMeshError::EscrowShortfall);
    env.settle(&l, 0, &s, Some(T0 + 59)).await.unwrap();
}

#[tokio::test]
async fn clock_going_backwards_after_a_settle_or_a_crank() {
    let (mut env, s, l) = env_with_lease().await;
    env.settle(&l, 0, &s, None).await.unwrap();
    env.set_time(T0 + 30).await;
    assert_err(env.settle(&l, 0, &s, None).await, GpuMeshError::NothingToSettle);
    // An end at a time before what was paid is refused, not an over-refund.
    assert_err(env.end_by_renter(&l).await, GpuMeshError::InvalidTime);
    let mesh = env.mesh_mint;
    env.set_time(T0 + 3 * 3_600).await;
    env.send(&[ix::crank_emissions(&mesh)], &[]).await.unwrap();
    let minted = env.config().await.emission_minted;
    assert_eq!(minted, math::cumulative_emission(3).unwrap());
    env.set_time(T0 + 3_600).await;
    env.send(&[ix::crank_emissions(&mesh)], &[]).await.unwrap();
    assert_eq!(env.config().await.emission_minted, minted);
    assert_eq!(env.rewards_vault_balance().await, minted);
    // A reward epoch is bounded by the (backwards) clock too.
    let rw = env.rewards.insecure_clone();
    let i = ix::post_reward_root(&rw.pubkey(), 2, [1; 32], 1);
    assert_err(env.send(&[i], &[&rw]).await, GpuMeshError::EpochInFuture);
}

#[tokio::test]
async fn emission_can_never_exceed_the_cap() {
    let mut env = Env::bare().await;
    let args = env.default_init_args();
    env.initialize(args).await.unwrap();
    let mesh = env.mesh_mint;
    env.advance(3_600 * 24 * 366 * 20).await;
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
    let (mut env, s, l) = env_with_lease().await;
    let stranger = env.funded_keypair().await;
    let sp = stranger.pubkey();
    for i in [
        l.activate_ix(&sp, T0),
        l.add_ix(&sp, 1, &s, 1, T0),
        l.release_ix(&sp, 0, T0 + 10),
        l.end_ix(&sp, None),
        l.end_ix(&sp, Some(T0 + 10)),
        ix::post_reward_root(&sp, 1, [0; 32], 0),
        ix::update_config(&sp, UpdateConfigArgs { settlement_authority: Some(sp), ..Default::default() }),
        ix::set_paused(&sp, true),
        ix::set_payment_mint(&sp, &env.usdc_mint, false, 0),
        ix::propose_admin(&sp, &sp),
    ] {
        assert_err(env.send(&[i], &[&stranger]).await, GpuMeshError::Unauthorized);
    }
    // The renter can neither allocate to itself nor release a supplier.
    let renter = l.renter.insecure_clone();
    let rp = renter.pubkey();
    for i in [l.add_ix(&rp, 1, &s, 1, T0), l.release_ix(&rp, 0, T0 + 10), l.activate_ix(&rp, T0)] {
        assert_err(env.send(&[i], &[&renter]).await, GpuMeshError::Unauthorized);
    }
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
