//! The bank actor: one thread owns the `ProgramTestContext` and serves requests one at a time.
//!
//! The context lives on its own current-thread Tokio runtime that is only driven while a request
//! (or a clock tick) is being handled. program-test's background task registers a new blockhash
//! every few milliseconds of *driven* time; driving it only per request keeps blockhashes valid for
//! about as long as a validator's (150 slots of 400 ms), instead of one second.
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use solana_program_test::{processor, ProgramTest, ProgramTestContext};
#[allow(deprecated)]
use solana_sdk::system_instruction;
use solana_sdk::{
    account::Account,
    clock::Clock,
    hash::Hash,
    message::{Message, VersionedMessage},
    pubkey::Pubkey,
    signature::{Signature, Signer},
    transaction::{Transaction, TransactionError, VersionedTransaction},
};
use tokio::sync::oneshot;

pub const SLOT_MS: u64 = 400;
pub const LAMPORTS_PER_SIGNATURE: u64 = 5_000;

/// A JSON-RPC error object.
#[derive(Debug)]
pub struct RpcErr {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcErr {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcErr {
            code,
            message: message.into(),
            data: None,
        }
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        RpcErr::new(-32603, format!("Internal error: {e}"))
    }
    pub fn invalid_params(e: impl std::fmt::Display) -> Self {
        RpcErr::new(-32602, format!("Invalid params: {e}"))
    }
}

/// The validator's preflight failure shape.
pub fn simulation_failed(err: &TransactionError, logs: Vec<String>, units: u64) -> RpcErr {
    RpcErr {
        code: -32002,
        message: format!("Transaction simulation failed: {err}"),
        data: Some(json!({
            "err": serde_json::to_value(err).unwrap_or(Value::Null),
            "logs": crate::stubs::fix_logs(logs),
            "accounts": null,
            "unitsConsumed": units,
            "returnData": null,
            "innerInstructions": null,
            "replacementBlockhash": null,
        })),
    }
}

/// What a landed transaction leaves behind (for getTransaction, statuses, the indexer).
pub struct TxRecord {
    pub slot: u64,
    pub block_time: i64,
    pub err: Option<TransactionError>,
    pub logs: Vec<String>,
    pub tx: VersionedTransaction,
    pub fee: u64,
    pub pre_balances: Vec<u64>,
    pub post_balances: Vec<u64>,
    pub units: u64,
}

/// State readable without the bank (served directly by the HTTP side).
#[derive(Default)]
pub struct Shared {
    pub slot: u64,
    pub block_height: u64,
    pub unix_time: i64,
    pub epoch: u64,
    pub genesis_hash: String,
    pub transaction_count: u64,
    pub txs: HashMap<Signature, TxRecord>,
    /// Signatures touching an address, oldest first.
    pub by_address: HashMap<Pubkey, Vec<Signature>>,
    /// Unix time of each slot we advanced through (getBlockTime).
    pub slot_times: HashMap<u64, i64>,
}

pub type SharedState = Arc<Mutex<Shared>>;

pub enum Req {
    LatestBlockhash(oneshot::Sender<Result<(Hash, u64), RpcErr>>),
    BlockhashValid(Hash, oneshot::Sender<Result<bool, RpcErr>>),
    Send {
        tx: VersionedTransaction,
        skip_preflight: bool,
        reply: oneshot::Sender<Result<Signature, RpcErr>>,
    },
    Simulate {
        tx: VersionedTransaction,
        sig_verify: bool,
        replace_blockhash: bool,
        reply: oneshot::Sender<Result<Value, RpcErr>>,
    },
    Accounts(
        Vec<Pubkey>,
        oneshot::Sender<Result<Vec<Option<Account>>, RpcErr>>,
    ),
    Airdrop(Pubkey, u64, oneshot::Sender<Result<Signature, RpcErr>>),
    Fee(
        VersionedMessage,
        oneshot::Sender<Result<Option<u64>, RpcErr>>,
    ),
    WarpClock(i64, oneshot::Sender<Result<i64, RpcErr>>),
    MinRent(usize, oneshot::Sender<Result<u64, RpcErr>>),
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub struct Bank {
    ctx: ProgramTestContext,
    shared: SharedState,
    started: Instant,
    start_slot: u64,
    slot: u64,
    clock_offset: i64,
}

impl Bank {
    async fn start(shared: SharedState) -> Bank {
        let mut pt = ProgramTest::new("gpumesh", gpumesh::ID, processor!(gpumesh::native_entry));
        pt.prefer_bpf(false);
        let ctx = pt.start_with_context().await;
        crate::stubs::install();
        let slot = ctx.banks_client.get_root_slot().await.unwrap_or(1);
        shared.lock().unwrap().genesis_hash = ctx.genesis_config().hash().to_string();
        let mut bank = Bank {
            ctx,
            shared,
            started: Instant::now(),
            start_slot: slot,
            slot,
            clock_offset: 0,
        };
        bank.tick().await;
        bank
    }

    /// Advance to the wall-clock slot and set the Clock sysvar's unix time to now (+ warp offset).
    async fn tick(&mut self) {
        let target = self.start_slot + self.started.elapsed().as_millis() as u64 / SLOT_MS;
        if target > self.slot {
            match self.ctx.warp_to_slot(target) {
                Ok(()) => self.slot = target,
                Err(e) => eprintln!("localnet: warp to slot {target} failed: {e:?}"),
            }
        }
        let unix = now_unix() + self.clock_offset;
        let mut epoch = 0;
        if let Ok(mut clock) = self.ctx.banks_client.get_sysvar::<Clock>().await {
            if clock.unix_timestamp != unix {
                clock.unix_timestamp = unix;
                self.ctx.set_sysvar(&clock);
            }
            epoch = clock.epoch;
        }
        let height = self
            .ctx
            .banks_client
            .get_root_block_height()
            .await
            .unwrap_or(0);
        let mut s = self.shared.lock().unwrap();
        s.slot = self.slot;
        s.block_height = height;
        s.unix_time = unix;
        s.epoch = epoch;
        s.slot_times.insert(self.slot, unix);
    }

    async fn balances(&self, keys: &[Pubkey]) -> Vec<u64> {
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            out.push(self.ctx.banks_client.get_balance(*k).await.unwrap_or(0));
        }
        out
    }

    async fn handle(&mut self, req: Req) {
        match req {
            Req::LatestBlockhash(reply) => {
                let r = self
                    .ctx
                    .banks_client
                    .get_latest_blockhash_with_commitment(Default::default())
                    .await
                    .map_err(RpcErr::internal)
                    .and_then(|o| o.ok_or_else(|| RpcErr::internal("no blockhash")));
                let _ = reply.send(r);
            }
            Req::BlockhashValid(hash, reply) => {
                let payer = self.ctx.payer.pubkey();
                let msg = Message::new_with_blockhash(&[], Some(&payer), &hash);
                let r = self
                    .ctx
                    .banks_client
                    .get_fee_for_message(msg)
                    .await
                    .map(|f| f.is_some())
                    .map_err(RpcErr::internal);
                let _ = reply.send(r);
            }
            Req::Send {
                tx,
                skip_preflight,
                reply,
            } => {
                let r = self.send(tx, skip_preflight).await;
                let _ = reply.send(r);
            }
            Req::Simulate {
                tx,
                sig_verify,
                replace_blockhash,
                reply,
            } => {
                let r = self.simulate(tx, sig_verify, replace_blockhash).await;
                let _ = reply.send(r);
            }
            Req::Accounts(keys, reply) => {
                let mut out = Vec::with_capacity(keys.len());
                let mut failed = None;
                for k in keys {
                    match self.ctx.banks_client.get_account(k).await {
                        Ok(a) => out.push(a),
                        Err(e) => {
                            failed = Some(RpcErr::internal(e));
                            break;
                        }
                    }
                }
                let _ = reply.send(match failed {
                    Some(e) => Err(e),
                    None => Ok(out),
                });
            }
            Req::Airdrop(to, lamports, reply) => {
                let r = self.airdrop(to, lamports).await;
                let _ = reply.send(r);
            }
            Req::Fee(message, reply) => {
                let r = match message {
                    VersionedMessage::Legacy(m) => self
                        .ctx
                        .banks_client
                        .get_fee_for_message(m)
                        .await
                        .map_err(RpcErr::internal),
                    VersionedMessage::V0(m) => Ok(Some(
                        m.header.num_required_signatures as u64 * LAMPORTS_PER_SIGNATURE,
                    )),
                };
                let _ = reply.send(r);
            }
            Req::WarpClock(seconds, reply) => {
                self.clock_offset += seconds;
                self.tick().await;
                let _ = reply.send(Ok(now_unix() + self.clock_offset));
            }
            Req::MinRent(size, reply) => {
                let r = self
                    .ctx
                    .banks_client
                    .get_rent()
                    .await
                    .map(|rent| rent.minimum_balance(size))
                    .map_err(RpcErr::internal);
                let _ = reply.send(r);
            }
        }
    }

    async fn simulate(
        &mut self,
        mut tx: VersionedTransaction,
        sig_verify: bool,
        replace_blockhash: bool,
    ) -> Result<Value, RpcErr> {
        if sig_verify && !tx.verify_with_results().iter().all(|ok| *ok) {
            return Err(RpcErr::new(
                -32003,
                "Transaction signature verification failure",
            ));
        }
        let mut replacement = Value::Null;
        if replace_blockhash {
            let (hash, last_valid) = self
                .ctx
                .banks_client
                .get_latest_blockhash_with_commitment(Default::default())
                .await
                .map_err(RpcErr::internal)?
                .ok_or_else(|| RpcErr::internal("no blockhash"))?;
            tx.message.set_recent_blockhash(hash);
            replacement =
                json!({ "blockhash": hash.to_string(), "lastValidBlockHeight": last_valid });
        }
        let sim = self
            .ctx
            .banks_client
            .simulate_transaction(tx)
            .await
            .map_err(RpcErr::internal)?;
        let (logs, units) = sim
            .simulation_details
            .map(|d| (d.logs, d.units_consumed))
            .unwrap_or_default();
        let err = match sim.result {
            Some(Err(e)) => serde_json::to_value(&e).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        Ok(json!({
            "context": { "slot": self.slot, "apiVersion": crate::VERSION },
            "value": {
                "err": err,
                "logs": crate::stubs::fix_logs(logs),
                "accounts": null,
                "unitsConsumed": units,
                "returnData": null,
                "innerInstructions": null,
                "replacementBlockhash": replacement,
            }
        }))
    }

    async fn send(
        &mut self,
        tx: VersionedTransaction,
        skip_preflight: bool,
    ) -> Result<Signature, RpcErr> {
        let Some(&signature) = tx.signatures.first() else {
            return Err(RpcErr::invalid_params("transaction has no signatures"));
        };
        if tx.sanitize().is_err() {
            return Err(RpcErr::invalid_params(
                "invalid transaction: Transaction failed to sanitize accounts offsets correctly",
            ));
        }
        if !tx.verify_with_results().iter().all(|ok| *ok) {
            return Err(RpcErr::new(
                -32003,
                "Transaction signature verification failure",
            ));
        }
        if self.shared.lock().unwrap().txs.contains_key(&signature) {
            if skip_preflight {
                return Ok(signature);
            }
            return Err(simulation_failed(
                &TransactionError::AlreadyProcessed,
                vec![],
                0,
            ));
        }
        if !skip_preflight {
            let sim = self
                .ctx
                .banks_client
                .simulate_transaction(tx.clone())
                .await
                .map_err(RpcErr::internal)?;
            if let Some(Err(err)) = sim.result {
                let (logs, units) = sim
                    .simulation_details
                    .map(|d| (d.logs, d.units_consumed))
                    .unwrap_or_default();
                return Err(simulation_failed(&err, logs, units));
            }
        }
        let keys = tx.message.static_account_keys().to_vec();
        let pre = self.balances(&keys).await;
        let result = self
            .ctx
            .banks_client
            .process_transaction_with_metadata(tx.clone())
            .await
            .map_err(RpcErr::internal)?;
        let Some(meta) = result.metadata else {
            // Not executed at all (expired blockhash, unknown payer…): a validator drops it.
            return match result.result {
                Err(err) if !skip_preflight => Err(simulation_failed(&err, vec![], 0)),
                _ => Ok(signature),
            };
        };
        let post = self.balances(&keys).await;
        let fee = tx.message.header().num_required_signatures as u64 * LAMPORTS_PER_SIGNATURE;
        let mut s = self.shared.lock().unwrap();
        let record = TxRecord {
            slot: self.slot,
            block_time: s.unix_time,
            err: result.result.err(),
            logs: crate::stubs::fix_logs(meta.log_messages),
            tx,
            fee,
            pre_balances: pre,
            post_balances: post,
            units: meta.compute_units_consumed,
        };
        for k in &keys {
            s.by_address.entry(*k).or_default().push(signature);
        }
        s.transaction_count += 1;
        s.txs.insert(signature, record);
        Ok(signature)
    }

    async fn airdrop(&mut self, to: Pubkey, lamports: u64) -> Result<Signature, RpcErr> {
        let payer = self.ctx.payer.insecure_clone();
        let blockhash = self
            .ctx
            .banks_client
            .get_latest_blockhash()
            .await
            .map_err(RpcErr::internal)?;
        let tx = Transaction::new_signed_with_payer(
            &[system_instruction::transfer(&payer.pubkey(), &to, lamports)],
            Some(&payer.pubkey()),
            &[&payer],
            blockhash,
        );
        self.send(VersionedTransaction::from(tx), false).await
    }
}

/// Runs the bank on the current thread until every sender is gone.
pub fn run(rx: Receiver<Req>, shared: SharedState, ready: std::sync::mpsc::Sender<()>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("bank runtime");
    let mut bank = rt.block_on(Bank::start(shared));
    let _ = ready.send(());
    let period = Duration::from_millis(SLOT_MS);
    let mut next = Instant::now() + period;
    loop {
        let wait = next.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(req) => rt.block_on(bank.handle(req)),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if Instant::now() >= next {
            rt.block_on(bank.tick());
            next = Instant::now() + period;
        }
    }
}
