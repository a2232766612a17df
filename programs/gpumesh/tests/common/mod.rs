//! Shared harness: a program-test bank with the gpumesh program compiled natively
//! (`processor!`) and the real SPL Token program running as bytecode.
#![allow(dead_code)]

pub mod ix;

use anchor_lang::{AccountDeserialize, Discriminator};
use anchor_spl::token::spl_token;
use gpumesh::{math, pda, state::*};
use solana_program_test::{processor, BanksClientError, ProgramTest, ProgramTestContext};
// `system_instruction` is deprecated in favour of solana-system-interface; same crate graph
// as anchor-lang 0.31.1 keeps it simplest to use the re-export.
#[allow(deprecated)]
use solana_sdk::{
    account::Account as SolAccount,
    clock::Clock,
    compute_budget::ComputeBudgetInstruction,
    instruction::{Instruction, InstructionError},
    program_pack::Pack,
    pubkey::Pubkey,
    signature::{Keypair, Signer},
    system_instruction,
    transaction::{Transaction, TransactionError},
};

pub use anchor_lang::error::ErrorCode as AnchorError;
pub use gpumesh::GpuMeshError;

pub fn program_test() -> ProgramTest {
    // program-test logs every instruction at debug level unless told otherwise.
    if std::env::var_os("RUST_LOG").is_none() {
        std::env::set_var("RUST_LOG", "error");
    }
    let mut pt = ProgramTest::new("gpumesh", gpumesh::ID, processor!(gpumesh::native_entry));
    pt.prefer_bpf(false);
    pt
}

/// The well-known dev admin (seed sha256("gpumesh:dev:admin")), see `constants.rs`.
pub fn dev_admin() -> Keypair {
    let seed = solana_sdk::hash::hashv(&[b"gpumesh:dev:admin"]).to_bytes();
    Keypair::new_from_array(seed)
}

pub const FEE_BPS: u16 = 250;
pub const BURN_BPS: u16 = 5_000;
pub const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
pub const GENESIS_MINTED: u64 = math::GENESIS_SUPPLY;

pub struct Env {
    pub ctx: ProgramTestContext,
    pub admin: Keypair,
    pub settlement: Keypair,
    pub rewards: Keypair,
    pub treasury: Keypair,
    pub mesh_mint: Pubkey,
    pub usdc_mint: Pubkey,
    pub usdc_authority: Keypair,
    /// Admin-owned MESH account that holds the genesis supply (a faucet for tests).
    pub mesh_faucet: Pubkey,
    nonce: u32,
}

pub type TxResult = Result<(), TransactionError>;

/// Assert a transaction failed with custom program error `code`.
#[track_caller]
pub fn assert_code(res: TxResult, code: u32) {
    match res {
        Err(TransactionError::InstructionError(_, InstructionError::Custom(c))) if c == code => {}
        other => panic!("expected custom error {code}, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_err(res: TxResult, e: GpuMeshError) {
    assert_code(res, u32::from(e))
}

#[track_caller]
pub fn assert_anchor(res: TxResult, e: AnchorError) {
    assert_code(res, u32::from(e))
}

impl Env {
    /// Bank + mints + genesis, but the program is NOT initialized yet.
    pub async fn bare() -> Env {
        let ctx = program_test().start_with_context().await;
        let mut env = Env {
            ctx,
            admin: dev_admin(),
            settlement: Keypair::new(),
            rewards: Keypair::new(),
            treasury: Keypair::new(),
            mesh_mint: Pubkey::default(),
            usdc_mint: Pubkey::default(),
            usdc_authority: Keypair::new(),
            mesh_faucet: Pubkey::default(),
            nonce: 0,
        };
        env.set_time(T0).await;
        let admin_pk = env.admin.pubkey();
        env.airdrop(&admin_pk, 100_000_000_000).await;
        let settle_pk = env.settlement.pubkey();
        env.airdrop(&settle_pk, 10_000_000_000).await;
        let rewards_pk = env.rewards.pubkey();
        env.airdrop(&rewards_pk, 10_000_000_000).await;
        env.mesh_mint = env.create_mint(&admin_pk, None, 6).await;
        let usdc_auth = env.usdc_authority.pubkey();
        env.usdc_mint = env.create_mint(&usdc_auth, None, 6).await;
        let mesh = env.mesh_mint;
        env.mesh_faucet = env.create_token_account(&mesh, &admin_pk).await;
        let admin = env.admin.insecure_clone();
        let faucet = env.mesh_faucet;
        env.mint_to(&mesh, &faucet, GENESIS_MINTED, &admin).await;
        env
    }

    /// Initialized program with MESH and USDC accepted and treasury token accounts.
    pub async fn new() -> Env {
        let mut env = Env::bare().await;
        let args = env.default_init_args();
        env.initialize(args).await.unwrap();
        let admin = env.admin.insecure_clone();
        let (mesh, usdc) = (env.mesh_mint, env.usdc_mint);
        env.send(&[ix::set_payment_mint(&admin.pubkey(), &mesh, true, 0)], &[&admin])
            .await
            .unwrap();
        env.send(&[ix::set_payment_mint(&admin.pubkey(), &usdc, true, 0)], &[&admin])
            .await
            .unwrap();
        env
    }

    pub fn default_init_args(&self) -> gpumesh::instructions::InitializeArgs {
        gpumesh::instructions::InitializeArgs {
            settlement_authority: self.settlement.pubkey(),
            rewards_authority: self.rewards.pubkey(),
            treasury: self.treasury.pubkey(),
            fee_bps: FEE_BPS,
            burn_bps: BURN_BPS,
            emission_start: T0,
        }
    }

    pub async fn initialize(&mut self, args: gpumesh::instructions::InitializeArgs) -> TxResult {
        let admin = self.admin.insecure_clone();
        let i = ix::initialize(&admin.pubkey(), &self.mesh_mint, args);
        self.send(&[i], &[&admin]).await
    }

    pub fn payer(&self) -> Pubkey {
        self.ctx.payer.pubkey()
    }

    /// Send `ixs`; the context payer pays fees. A compute-budget instruction with a unique
    /// value is prepended so identical instructions never collide as duplicate signatures.
    pub async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> TxResult {
        self.nonce += 1;
        let mut all = vec![ComputeBudgetInstruction::set_compute_unit_limit(
            1_000_000 + self.nonce,
        )];
        all.extend_from_slice(ixs);
        let payer = self.ctx.payer.insecure_clone();
        let mut keys: Vec<&Keypair> = vec![&payer];
        for s in signers {
            if !keys.iter().any(|k| k.pubkey() == s.pubkey()) {
                keys.push(s);
            }
        }
        // The bank registers a new blockhash every ~0.4 s of wall time; long tests would
        // otherwise outlive the context's initial one.
        let blockhash = self.ctx.banks_client.get_latest_blockhash().await.unwrap();
        let tx = Transaction::new_signed_with_payer(&all, Some(&payer.pubkey()), &keys, blockhash);
        self.ctx
            .banks_client
            .process_transaction(tx)
            .await
            .map_err(|e: BanksClientError| e.unwrap())
    }

    pub async fn now(&mut self) -> i64 {
        self.clock().await.unix_timestamp
    }

    pub async fn clock(&mut self) -> Clock {
        self.ctx.banks_client.get_sysvar::<Clock>().await.unwrap()
    }

    pub async fn set_time(&mut self, unix_timestamp: i64) {
        let mut clock = self.clock().await;
        clock.unix_timestamp = unix_timestamp;
        self.ctx.set_sysvar(&clock);
    }

    pub async fn advance(&mut self, seconds: i64) {
        let now = self.now().await;
        self.set_time(now + seconds).await;
    }

    pub async fn airdrop(&mut self, to: &Pubkey, lamports: u64) {
        let payer = self.ctx.payer.insecure_clone();
        self.send(&[system_instruction::transfer(&payer.pubkey(), to, lamports)], &[])
            .await
            .unwrap();
    }

    pub async fn funded_keypair(&mut self) -> Keypair {
        let kp = Keypair::new();
        self.airdrop(&kp.pubkey(), 10_000_000_000).await;
        kp
    }

    pub async fn create_mint(&mut self, authority: &Pubkey, freeze: Option<&Pubkey>, decimals: u8) -> Pubkey {
        let mint = Keypair::new();
        let rent = self.ctx.banks_client.get_rent().await.unwrap();
        let payer = self.payer();
        let ixs = [
            system_instruction::create_account(
                &payer,
                &mint.pubkey(),
                rent.minimum_balance(spl_token::state::Mint::LEN),
                spl_token::state::Mint::LEN as u64,
                &spl_token::ID,
            ),
            spl_token::instruction::initialize_mint2(&spl_token::ID, &mint.pubkey(), authority, freeze, decimals)
                .unwrap(),
        ];
        self.send(&ixs, &[&mint]).await.unwrap();
        mint.pubkey()
    }

    pub async fn create_token_account(&mut self, mint: &Pubkey, owner: &Pubkey) -> Pubkey {
        let acc = Keypair::new();
        let rent = self.ctx.banks_client.get_rent().await.unwrap();
        let payer = self.payer();
        let ixs = [
            system_instruction::create_account(
                &payer,
                &acc.pubkey(),
                rent.minimum_balance(spl_token::state::Account::LEN),
                spl_token::state::Account::LEN as u64,
                &spl_token::ID,
            ),
            spl_token::instruction::initialize_account3(&spl_token::ID, &acc.pubkey(), mint, owner).unwrap(),
        ];
        self.send(&ixs, &[&acc]).await.unwrap();
        acc.pubkey()
    }

    pub async fn mint_to(&mut self, mint: &Pubkey, to: &Pubkey, amount: u64, authority: &Keypair) {
        let i = spl_token::instruction::mint_to(&spl_token::ID, mint, to, &authority.pubkey(), &[], amount).unwrap();
        self.send(&[i], &[authority]).await.unwrap();
    }

    pub async fn token_transfer(&mut self, from: &Pubkey, to: &Pubkey, owner: &Keypair, amount: u64) {
        let i = spl_token::instruction::transfer(&spl_token::ID, from, to, &owner.pubkey(), &[], amount).unwrap();
        self.send(&[i], &[owner]).await.unwrap();
    }

    /// A token account of `mint` for `owner`, funded with `amount` (MESH from the faucet).
    pub async fn funded_token_account(&mut self, mint: &Pubkey, owner: &Pubkey, amount: u64) -> Pubkey {
        let acc = self.create_token_account(mint, owner).await;
        if amount > 0 {
            if *mint == self.mesh_mint {
                let admin = self.admin.insecure_clone();
                let faucet = self.mesh_faucet;
                self.token_transfer(&faucet, &acc, &admin, amount).await;
            } else {
                let auth = self.usdc_authority.insecure_clone();
                self.mint_to(mint, &acc, amount, &auth).await;
            }
        }
        acc
    }

    pub async fn account(&mut self, key: &Pubkey) -> Option<SolAccount> {
        self.ctx.banks_client.get_account(*key).await.unwrap()
    }

    pub async fn balance(&mut self, token_account: &Pubkey) -> u64 {
        let acc = self.account(token_account).await.expect("token account exists");
        spl_token::state::Account::unpack(&acc.data).unwrap().amount
    }

    pub async fn mint_supply(&mut self, mint: &Pubkey) -> u64 {
        let acc = self.account(mint).await.unwrap();
        spl_token::state::Mint::unpack(&acc.data).unwrap().supply
    }

    pub async fn mint_state(&mut self, mint: &Pubkey) -> spl_token::state::Mint {
        let acc = self.account(mint).await.unwrap();
        spl_token::state::Mint::unpack(&acc.data).unwrap()
    }

    pub async fn anchor_account<T: AccountDeserialize + Discriminator>(&mut self, key: &Pubkey) -> T {
        let acc = self.account(key).await.expect("account exists");
        T::try_deserialize(&mut acc.data.as_slice()).unwrap()
    }

    pub async fn config(&mut self) -> Config {
        self.anchor_account(&pda::config().0).await
    }

    pub async fn lease(&mut self, key: &Pubkey) -> Lease {
        self.anchor_account(key).await
    }

    pub async fn rewards_vault_balance(&mut self) -> u64 {
        self.balance(&pda::rewards_vault().0).await
    }

    pub async fn treasury_token(&mut self, mint: &Pubkey) -> Pubkey {
        let t = self.treasury.pubkey();
        self.create_token_account(mint, &t).await
    }
}

/// A registered supplier with payout accounts for both mints.
pub struct SupplierFixture {
    pub authority: Keypair,
    pub payout_wallet: Keypair,
    pub mesh_payout: Pubkey,
    pub usdc_payout: Pubkey,
}

impl SupplierFixture {
    pub fn payout(&self, env: &Env, mint: &Pubkey) -> Pubkey {
        if *mint == env.mesh_mint {
            self.mesh_payout
        } else {
            self.usdc_payout
        }
    }
}

pub async fn register_supplier(env: &mut Env) -> SupplierFixture {
    let authority = env.funded_keypair().await;
    let payout_wallet = Keypair::new();
    env.send(&[ix::register_supplier(&authority.pubkey(), &payout_wallet.pubkey())], &[&authority])
        .await
        .unwrap();
    let (mesh, usdc) = (env.mesh_mint, env.usdc_mint);
    let mesh_payout = env.create_token_account(&mesh, &payout_wallet.pubkey()).await;
    let usdc_payout = env.create_token_account(&usdc, &payout_wallet.pubkey()).await;
    SupplierFixture { authority, payout_wallet, mesh_payout, usdc_payout }
}

/// An open lease and every account needed to activate / settle / end it.
pub struct LeaseFixture {
    pub renter: Keypair,
    pub renter_token: Pubkey,
    pub lease_id: u64,
    pub lease: Pubkey,
    pub escrow: Pubkey,
    pub mint: Pubkey,
    pub treasury_token: Pubkey,
    pub price: u64,
    pub max_seconds: u64,
    pub deposit: u64,
}

impl LeaseFixture {
    pub fn activate_ix(&self, settlement: &Pubkey, start_ts: i64) -> Instruction {
        ix::activate_lease(settlement, &self.lease, start_ts, self.price, self.max_seconds)
    }

    pub fn add_ix(&self, settlement: &Pubkey, index: u32, supplier: &SupplierFixture, rate: u64, from_ts: i64) -> Instruction {
        ix::add_allocation(settlement, &self.lease, index, &supplier.authority.pubkey(), rate, from_ts)
    }

    pub fn release_ix(&self, settlement: &Pubkey, index: u32, until_ts: i64) -> Instruction {
        ix::release_allocation(settlement, &self.lease, index, until_ts)
    }

    pub fn settle_ix(&self, index: u32, supplier_authority: &Pubkey, supplier_token: &Pubkey, until: Option<i64>) -> Instruction {
        ix::settle_allocation(&self.lease, index, &self.mint, supplier_authority, supplier_token, &self.treasury_token, until)
    }

    /// Settle allocation `index` of `supplier` into its payout account for this mint.
    pub fn settle_for(&self, env: &Env, index: u32, supplier: &SupplierFixture, until: Option<i64>) -> Instruction {
        self.settle_ix(index, &supplier.authority.pubkey(), &supplier.payout(env, &self.mint), until)
    }

    pub fn end_ix(&self, caller: &Pubkey, end_ts: Option<i64>) -> Instruction {
        ix::end_lease(caller, &self.lease, &self.renter.pubkey(), &self.mint, &self.renter_token, end_ts)
    }

    pub fn close_ix(&self, caller: &Pubkey) -> Instruction {
        ix::close_lease(caller, &self.lease, &self.renter.pubkey(), &self.mint, &self.renter_token)
    }

    pub fn cancel_ix(&self, caller: &Pubkey) -> Instruction {
        ix::cancel_lease(caller, &self.lease, &self.renter.pubkey(), &self.mint, &self.renter_token)
    }

    pub fn extend_ix(&self, extra_seconds: u64) -> Instruction {
        ix::extend_lease(&self.renter.pubkey(), &self.lease, &self.mint, &self.renter_token, extra_seconds)
    }

    pub fn allocation(&self, index: u32) -> Pubkey {
        pda::allocation(&self.lease, index).0
    }
}

/// Open a Pending lease for a fresh renter funded with exactly `price · max` (+ `extra`).
pub async fn open_lease_funded(
    env: &mut Env,
    mint: Pubkey,
    lease_id: u64,
    price: u64,
    max_seconds: u64,
    extra: u64,
) -> LeaseFixture {
    let renter = env.funded_keypair().await;
    let deposit = price * max_seconds;
    let renter_token = env.funded_token_account(&mint, &renter.pubkey(), deposit + extra).await;
    let treasury_token = env.treasury_token(&mint).await;
    let i = ix::open_lease(&renter.pubkey(), &mint, &renter_token, lease_id, price, max_seconds);
    env.send(&[i], &[&renter]).await.unwrap();
    let lease = pda::lease(&renter.pubkey(), lease_id).0;
    LeaseFixture {
        escrow: pda::escrow(&lease).0,
        lease,
        renter,
        renter_token,
        lease_id,
        mint,
        treasury_token,
        price,
        max_seconds,
        deposit,
    }
}

pub async fn open_lease(env: &mut Env, mint: Pubkey, lease_id: u64, price: u64, max_seconds: u64) -> LeaseFixture {
    open_lease_funded(env, mint, lease_id, price, max_seconds, 0).await
}

impl Env {
    pub async fn allocation(&mut self, key: &Pubkey) -> Allocation {
        self.anchor_account(key).await
    }

    /// Settlement authority activates `l` at `start_ts`.
    pub async fn activate(&mut self, l: &LeaseFixture, start_ts: i64) -> TxResult {
        let st = self.settlement.insecure_clone();
        self.send(&[l.activate_ix(&st.pubkey(), start_ts)], &[&st]).await
    }

    /// Settlement authority adds allocation `index` for `supplier`.
    pub async fn add_allocation(&mut self, l: &LeaseFixture, index: u32, supplier: &SupplierFixture, rate: u64, from_ts: i64) -> TxResult {
        let st = self.settlement.insecure_clone();
        self.send(&[l.add_ix(&st.pubkey(), index, supplier, rate, from_ts)], &[&st]).await
    }

    pub async fn release_allocation(&mut self, l: &LeaseFixture, index: u32, until_ts: i64) -> TxResult {
        let st = self.settlement.insecure_clone();
        self.send(&[l.release_ix(&st.pubkey(), index, until_ts)], &[&st]).await
    }

    /// Anyone (here: the fee payer) settles allocation `index`.
    pub async fn settle(&mut self, l: &LeaseFixture, index: u32, supplier: &SupplierFixture, until: Option<i64>) -> TxResult {
        let i = l.settle_for(self, index, supplier, until);
        self.send(&[i], &[]).await
    }

    pub async fn end_by_renter(&mut self, l: &LeaseFixture) -> TxResult {
        let r = l.renter.insecure_clone();
        self.send(&[l.end_ix(&r.pubkey(), None)], &[&r]).await
    }

    pub async fn end_by_authority(&mut self, l: &LeaseFixture, end_ts: Option<i64>) -> TxResult {
        let st = self.settlement.insecure_clone();
        self.send(&[l.end_ix(&st.pubkey(), end_ts)], &[&st]).await
    }
}

/// A lease opened at T0-ish, activated now, with one allocation of the full price for `s`.
pub async fn active_lease(env: &mut Env, s: &SupplierFixture, mint: Pubkey, lease_id: u64, price: u64, max_seconds: u64) -> LeaseFixture {
    let l = open_lease(env, mint, lease_id, price, max_seconds).await;
    let now = env.now().await;
    env.activate(&l, now).await.unwrap();
    env.add_allocation(&l, 0, s, price, now).await.unwrap();
    l
}
