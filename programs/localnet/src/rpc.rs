//! JSON-RPC 2.0 dispatch: shapes follow the Agave validator's RPC (what @solana/web3.js parses).
use std::str::FromStr;
use std::sync::mpsc::Sender;

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use serde_json::{json, Value};
use solana_sdk::{
    account::Account, hash::Hash, message::VersionedMessage, pubkey::Pubkey, signature::Signature,
    transaction::VersionedTransaction,
};
use tokio::sync::oneshot;

use crate::bank::{Req, RpcErr, SharedState, TxRecord, LAMPORTS_PER_SIGNATURE, SLOT_MS};

#[derive(Clone)]
pub struct Rpc {
    pub bank: Sender<Req>,
    pub shared: SharedState,
}

type R = Result<Value, RpcErr>;

fn param(params: &Value, i: usize) -> Option<&Value> {
    params.as_array().and_then(|a| a.get(i))
}

fn config(params: &Value, i: usize) -> Value {
    param(params, i)
        .cloned()
        .filter(|v| v.is_object())
        .unwrap_or_else(|| json!({}))
}

fn pubkey(params: &Value, i: usize) -> Result<Pubkey, RpcErr> {
    let s = param(params, i)
        .and_then(|v| v.as_str())
        .ok_or_else(|| RpcErr::invalid_params("missing address"))?;
    Pubkey::from_str(s).map_err(|_| RpcErr::invalid_params(format!("invalid pubkey {s}")))
}

fn signature(s: &str) -> Result<Signature, RpcErr> {
    Signature::from_str(s).map_err(|_| RpcErr::invalid_params(format!("invalid signature {s}")))
}

fn decode_tx(params: &Value) -> Result<(VersionedTransaction, Value), RpcErr> {
    let data = param(params, 0)
        .and_then(|v| v.as_str())
        .ok_or_else(|| RpcErr::invalid_params("missing transaction"))?;
    let cfg = config(params, 1);
    let bytes = match cfg
        .get("encoding")
        .and_then(|e| e.as_str())
        .unwrap_or("base58")
    {
        "base64" => B64
            .decode(data)
            .map_err(|e| RpcErr::invalid_params(format!("invalid base64: {e}")))?,
        "base58" => bs58::decode(data)
            .into_vec()
            .map_err(|e| RpcErr::invalid_params(format!("invalid base58: {e}")))?,
        other => {
            return Err(RpcErr::invalid_params(format!(
                "unsupported encoding: {other}"
            )))
        }
    };
    let tx: VersionedTransaction = bincode::deserialize(&bytes).map_err(|e| {
        RpcErr::invalid_params(format!("failed to deserialize VersionedTransaction: {e}"))
    })?;
    Ok((tx, cfg))
}

fn encode_account(a: &Account, encoding: &str) -> Value {
    let data = if encoding == "base58" {
        json!([bs58::encode(&a.data).into_string(), "base58"])
    } else {
        json!([B64.encode(&a.data), "base64"])
    };
    json!({
        "data": data,
        "executable": a.executable,
        "lamports": a.lamports,
        "owner": a.owner.to_string(),
        "rentEpoch": a.rent_epoch,
        "space": a.data.len(),
    })
}

fn ui_amount(amount: u64, decimals: u8) -> Value {
    let scale = 10f64.powi(decimals as i32);
    let whole = amount / 10u64.pow(decimals as u32);
    let frac = amount % 10u64.pow(decimals as u32);
    let s = if decimals == 0 {
        whole.to_string()
    } else {
        let f = format!("{frac:0width$}", width = decimals as usize);
        let f = f.trim_end_matches('0');
        if f.is_empty() {
            whole.to_string()
        } else {
            format!("{whole}.{f}")
        }
    };
    json!({ "amount": amount.to_string(), "decimals": decimals, "uiAmount": amount as f64 / scale, "uiAmountString": s })
}

fn u64_at(data: &[u8], off: usize) -> Option<u64> {
    data.get(off..off + 8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
}

fn tx_json(sig: &Signature, r: &TxRecord, encoding: &str, max_version: Option<u64>) -> R {
    let version = match (&r.tx.message, max_version) {
        (VersionedMessage::Legacy(_), Some(_)) => json!("legacy"),
        (VersionedMessage::Legacy(_), None) => Value::Null,
        (VersionedMessage::V0(_), Some(_)) => json!(0),
        (VersionedMessage::V0(_), None) => {
            return Err(RpcErr::new(
                -32015,
                "Transaction version (0) is not supported by the requesting client. Please try the request again with the following configuration parameter: \"maxSupportedTransactionVersion\": 0",
            ))
        }
    };
    let m = &r.tx.message;
    let transaction = if encoding == "base64" {
        json!([
            B64.encode(bincode::serialize(&r.tx).map_err(RpcErr::internal)?),
            "base64"
        ])
    } else {
        let header = m.header();
        let instructions: Vec<Value> = m
            .instructions()
            .iter()
            .map(|i| json!({ "programIdIndex": i.program_id_index, "accounts": i.accounts, "data": bs58::encode(&i.data).into_string(), "stackHeight": null }))
            .collect();
        let mut message = json!({
            "accountKeys": m.static_account_keys().iter().map(|k| k.to_string()).collect::<Vec<_>>(),
            "header": {
                "numRequiredSignatures": header.num_required_signatures,
                "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
                "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
            },
            "recentBlockhash": m.recent_blockhash().to_string(),
            "instructions": instructions,
        });
        if let VersionedMessage::V0(v0) = m {
            message["addressTableLookups"] = json!(v0
                .address_table_lookups
                .iter()
                .map(|l| json!({ "accountKey": l.account_key.to_string(), "writableIndexes": l.writable_indexes, "readonlyIndexes": l.readonly_indexes }))
                .collect::<Vec<_>>());
        }
        json!({ "signatures": r.tx.signatures.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "message": message })
    };
    let err = r
        .err
        .as_ref()
        .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    let status = if r.err.is_some() {
        json!({ "Err": err })
    } else {
        json!({ "Ok": null })
    };
    let _ = sig;
    let mut out = json!({
        "slot": r.slot,
        "blockTime": r.block_time,
        "transaction": transaction,
        "meta": {
            "err": err,
            "status": status,
            "fee": r.fee,
            "preBalances": r.pre_balances,
            "postBalances": r.post_balances,
            "innerInstructions": [],
            "logMessages": r.logs,
            "preTokenBalances": [],
            "postTokenBalances": [],
            "rewards": [],
            "loadedAddresses": { "writable": [], "readonly": [] },
            "computeUnitsConsumed": r.units,
        },
    });
    if !version.is_null() {
        out["version"] = version;
    }
    Ok(out)
}

impl Rpc {
    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, RpcErr>>) -> Req,
    ) -> Result<T, RpcErr> {
        let (tx, rx) = oneshot::channel();
        self.bank
            .send(make(tx))
            .map_err(|_| RpcErr::internal("bank stopped"))?;
        rx.await
            .map_err(|_| RpcErr::internal("bank dropped the request"))?
    }

    fn context(&self) -> Value {
        let slot = self.shared.lock().unwrap().slot;
        json!({ "slot": slot, "apiVersion": crate::VERSION })
    }

    async fn accounts(&self, keys: Vec<Pubkey>) -> Result<Vec<Option<Account>>, RpcErr> {
        self.call(|r| Req::Accounts(keys, r)).await
    }

    pub async fn handle_body(&self, body: &[u8]) -> String {
        let parsed: Result<Value, _> = serde_json::from_slice(body);
        let out = match parsed {
            Err(_) => {
                json!({ "jsonrpc": "2.0", "error": { "code": -32700, "message": "Parse error" }, "id": null })
            }
            Ok(Value::Array(calls)) => {
                let mut results = Vec::with_capacity(calls.len());
                for c in calls {
                    results.push(self.handle_one(c).await);
                }
                Value::Array(results)
            }
            Ok(call) => self.handle_one(call).await,
        };
        out.to_string()
    }

    async fn handle_one(&self, call: Value) -> Value {
        let id = call.get("id").cloned().unwrap_or(Value::Null);
        let method = call
            .get("method")
            .and_then(|m| m.as_str())
            .unwrap_or_default()
            .to_string();
        let params = call.get("params").cloned().unwrap_or_else(|| json!([]));
        match self.dispatch(&method, &params).await {
            Ok(result) => json!({ "jsonrpc": "2.0", "result": result, "id": id }),
            Err(e) => {
                let mut error = json!({ "code": e.code, "message": e.message });
                if let Some(data) = e.data {
                    error["data"] = data;
                }
                json!({ "jsonrpc": "2.0", "error": error, "id": id })
            }
        }
    }

    async fn dispatch(&self, method: &str, params: &Value) -> R {
        match method {
            "getHealth" => Ok(json!("ok")),
            "getVersion" => Ok(json!({ "solana-core": crate::VERSION, "feature-set": 0 })),
            "getGenesisHash" => Ok(json!(self.shared.lock().unwrap().genesis_hash)),
            "getIdentity" => Ok(json!({ "identity": Pubkey::default().to_string() })),
            "getFirstAvailableBlock" => Ok(json!(0)),
            "getRecentPrioritizationFees" => Ok(json!([])),
            "getSlot" => Ok(json!(self.shared.lock().unwrap().slot)),
            "getBlockHeight" => Ok(json!(self.shared.lock().unwrap().block_height)),
            "getTransactionCount" => Ok(json!(self.shared.lock().unwrap().transaction_count)),
            "getBlockTime" => {
                let slot = param(params, 0)
                    .and_then(|v| v.as_u64())
                    .ok_or_else(|| RpcErr::invalid_params("missing slot"))?;
                let s = self.shared.lock().unwrap();
                match s.slot_times.get(&slot) {
                    Some(t) => Ok(json!(t)),
                    None if slot <= s.slot => Ok(json!(
                        s.unix_time - ((s.slot - slot) * SLOT_MS / 1000) as i64
                    )),
                    None => Err(RpcErr::new(
                        -32004,
                        format!("Block not available for slot {slot}"),
                    )),
                }
            }
            "getEpochInfo" => {
                let s = self.shared.lock().unwrap();
                Ok(json!({
                    "absoluteSlot": s.slot,
                    "blockHeight": s.block_height,
                    "epoch": s.epoch,
                    "slotIndex": 0,
                    "slotsInEpoch": 432_000,
                    "transactionCount": s.transaction_count,
                }))
            }
            "getLatestBlockhash" => {
                let (hash, last_valid) = self.call(Req::LatestBlockhash).await?;
                Ok(
                    json!({ "context": self.context(), "value": { "blockhash": hash.to_string(), "lastValidBlockHeight": last_valid } }),
                )
            }
            "isBlockhashValid" => {
                let s = param(params, 0)
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| RpcErr::invalid_params("missing blockhash"))?;
                let hash =
                    Hash::from_str(s).map_err(|_| RpcErr::invalid_params("invalid blockhash"))?;
                let valid = self.call(|r| Req::BlockhashValid(hash, r)).await?;
                Ok(json!({ "context": self.context(), "value": valid }))
            }
            "getFeeForMessage" => {
                let s = param(params, 0)
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| RpcErr::invalid_params("missing message"))?;
                let bytes = B64
                    .decode(s)
                    .map_err(|e| RpcErr::invalid_params(format!("invalid base64: {e}")))?;
                let message: VersionedMessage = bincode::deserialize(&bytes)
                    .map_err(|e| RpcErr::invalid_params(format!("invalid message: {e}")))?;
                let fee = self.call(|r| Req::Fee(message, r)).await?;
                Ok(json!({ "context": self.context(), "value": fee }))
            }
            "getMinimumBalanceForRentExemption" => {
                let size = param(params, 0).and_then(|v| v.as_u64()).unwrap_or(0) as usize;
                Ok(json!(self.call(|r| Req::MinRent(size, r)).await?))
            }
            "requestAirdrop" => {
                let to = pubkey(params, 0)?;
                let lamports = param(params, 1)
                    .and_then(|v| v.as_u64())
                    .ok_or_else(|| RpcErr::invalid_params("missing lamports"))?;
                let sig = self.call(|r| Req::Airdrop(to, lamports, r)).await?;
                Ok(json!(sig.to_string()))
            }
            "gpumesh_warpClock" => {
                let seconds = param(params, 0)
                    .and_then(|v| v.as_i64())
                    .ok_or_else(|| RpcErr::invalid_params("missing seconds"))?;
                if seconds < 0 {
                    return Err(RpcErr::invalid_params("the clock only moves forward"));
                }
                let unix = self.call(|r| Req::WarpClock(seconds, r)).await?;
                Ok(json!({ "unixTimestamp": unix }))
            }
            "sendTransaction" => {
                let (tx, cfg) = decode_tx(params)?;
                let skip_preflight = cfg
                    .get("skipPreflight")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false);
                let sig = self
                    .call(|r| Req::Send {
                        tx,
                        skip_preflight,
                        reply: r,
                    })
                    .await?;
                Ok(json!(sig.to_string()))
            }
            "simulateTransaction" => {
                let (tx, cfg) = decode_tx(params)?;
                let sig_verify = cfg
                    .get("sigVerify")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false);
                let replace_blockhash = cfg
                    .get("replaceRecentBlockhash")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false);
                self.call(|r| Req::Simulate {
                    tx,
                    sig_verify,
                    replace_blockhash,
                    reply: r,
                })
                .await
            }
            "getSignatureStatuses" => {
                let sigs = param(params, 0)
                    .and_then(|v| v.as_array())
                    .ok_or_else(|| RpcErr::invalid_params("missing signatures"))?;
                let s = self.shared.lock().unwrap();
                let mut out = Vec::with_capacity(sigs.len());
                for v in sigs {
                    let sig = signature(v.as_str().unwrap_or_default())?;
                    out.push(match s.txs.get(&sig) {
                        None => Value::Null,
                        Some(r) => {
                            let err = r.err.as_ref().map(|e| serde_json::to_value(e).unwrap_or(Value::Null)).unwrap_or(Value::Null);
                            let status = if r.err.is_some() { json!({ "Err": err }) } else { json!({ "Ok": null }) };
                            json!({ "slot": r.slot, "confirmations": null, "err": err, "status": status, "confirmationStatus": "finalized" })
                        }
                    });
                }
                Ok(
                    json!({ "context": { "slot": s.slot, "apiVersion": crate::VERSION }, "value": out }),
                )
            }
            "getTransaction" => {
                let sig = signature(
                    param(params, 0)
                        .and_then(|v| v.as_str())
                        .unwrap_or_default(),
                )?;
                let cfg = config(params, 1);
                let encoding = cfg
                    .get("encoding")
                    .and_then(|v| v.as_str())
                    .unwrap_or("json")
                    .to_string();
                let max_version = cfg
                    .get("maxSupportedTransactionVersion")
                    .and_then(|v| v.as_u64());
                let s = self.shared.lock().unwrap();
                match s.txs.get(&sig) {
                    None => Ok(Value::Null),
                    Some(r) => tx_json(&sig, r, &encoding, max_version),
                }
            }
            "getSignaturesForAddress" => {
                let address = pubkey(params, 0)?;
                let cfg = config(params, 1);
                let limit = cfg
                    .get("limit")
                    .and_then(|v| v.as_u64())
                    .unwrap_or(1000)
                    .min(1000) as usize;
                let before = cfg
                    .get("before")
                    .and_then(|v| v.as_str())
                    .map(signature)
                    .transpose()?;
                let until = cfg
                    .get("until")
                    .and_then(|v| v.as_str())
                    .map(signature)
                    .transpose()?;
                let s = self.shared.lock().unwrap();
                let list = s.by_address.get(&address).cloned().unwrap_or_default();
                let mut out = Vec::new();
                let mut started = before.is_none();
                for sig in list.iter().rev() {
                    if !started {
                        if Some(*sig) == before {
                            started = true;
                        }
                        continue;
                    }
                    if Some(*sig) == until {
                        break;
                    }
                    if out.len() >= limit {
                        break;
                    }
                    let r = &s.txs[sig];
                    let err = r
                        .err
                        .as_ref()
                        .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
                        .unwrap_or(Value::Null);
                    out.push(json!({ "signature": sig.to_string(), "slot": r.slot, "err": err, "memo": null, "blockTime": r.block_time, "confirmationStatus": "finalized" }));
                }
                Ok(Value::Array(out))
            }
            "getAccountInfo" => {
                let key = pubkey(params, 0)?;
                let encoding = config(params, 1)
                    .get("encoding")
                    .and_then(|v| v.as_str())
                    .unwrap_or("base64")
                    .to_string();
                let account = self.accounts(vec![key]).await?.pop().flatten();
                Ok(
                    json!({ "context": self.context(), "value": account.map(|a| encode_account(&a, &encoding)) }),
                )
            }
            "getMultipleAccounts" => {
                let keys = param(params, 0)
                    .and_then(|v| v.as_array())
                    .ok_or_else(|| RpcErr::invalid_params("missing addresses"))?
                    .iter()
                    .map(|v| {
                        Pubkey::from_str(v.as_str().unwrap_or_default())
                            .map_err(|_| RpcErr::invalid_params("invalid pubkey"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let encoding = config(params, 1)
                    .get("encoding")
                    .and_then(|v| v.as_str())
                    .unwrap_or("base64")
                    .to_string();
                let accounts = self.accounts(keys).await?;
                let value: Vec<Value> = accounts
                    .iter()
                    .map(|a| {
                        a.as_ref()
                            .map(|a| encode_account(a, &encoding))
                            .unwrap_or(Value::Null)
                    })
                    .collect();
                Ok(json!({ "context": self.context(), "value": value }))
            }
            "getBalance" => {
                let key = pubkey(params, 0)?;
                let lamports = self
                    .accounts(vec![key])
                    .await?
                    .pop()
                    .flatten()
                    .map(|a| a.lamports)
                    .unwrap_or(0);
                Ok(json!({ "context": self.context(), "value": lamports }))
            }
            "getTokenAccountBalance" => {
                let key = pubkey(params, 0)?;
                let account = self.accounts(vec![key]).await?.pop().flatten();
                let account = account.filter(|a| a.data.len() >= 165).ok_or_else(|| {
                    RpcErr::invalid_params("Invalid param: could not find account")
                })?;
                let mint = Pubkey::try_from(&account.data[0..32]).map_err(RpcErr::internal)?;
                let amount = u64_at(&account.data, 64).unwrap_or(0);
                let mint_account = self.accounts(vec![mint]).await?.pop().flatten();
                let decimals = mint_account
                    .and_then(|m| m.data.get(44).copied())
                    .ok_or_else(|| RpcErr::invalid_params("Invalid param: could not find mint"))?;
                Ok(json!({ "context": self.context(), "value": ui_amount(amount, decimals) }))
            }
            "getTokenSupply" => {
                let key = pubkey(params, 0)?;
                let mint = self.accounts(vec![key]).await?.pop().flatten();
                let mint = mint
                    .filter(|a| a.data.len() >= 82)
                    .ok_or_else(|| RpcErr::invalid_params("Invalid param: could not find mint"))?;
                let supply = u64_at(&mint.data, 36).unwrap_or(0);
                Ok(json!({ "context": self.context(), "value": ui_amount(supply, mint.data[44]) }))
            }
            "getFees" | "getRecentBlockhash" => {
                let (hash, last_valid) = self.call(Req::LatestBlockhash).await?;
                Ok(
                    json!({ "context": self.context(), "value": { "blockhash": hash.to_string(), "lastValidBlockHeight": last_valid, "feeCalculator": { "lamportsPerSignature": LAMPORTS_PER_SIGNATURE } } }),
                )
            }
            _ => Err(RpcErr::new(-32601, "Method not found")),
        }
    }
}
