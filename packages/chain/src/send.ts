import { type Commitment, type Connection, type Keypair, type Signer, Transaction, type TransactionInstruction } from "@solana/web3.js";
import { base58 } from "@scure/base";
import { BlockhashExpiredError, classifySendError, classifyTransactionError, TransactionFailedError } from "./errors.ts";

/**
 * Send and confirm by polling `getSignatureStatuses` (no WebSocket), so the same code runs against
 * localnet, `solana-test-validator` and real clusters. Expiry is detected the validator way: once the
 * block height passes the blockhash's `lastValidBlockHeight` the transaction can never land.
 */
export interface ConfirmOptions {
  commitment?: Commitment;
  pollIntervalMs?: number;
  /** Hard stop even if the block height never passes (a stuck node). */
  timeoutMs?: number;
}

export interface Confirmed {
  signature: string;
  slot: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const reached = (status: string | null | undefined, commitment: Commitment) => {
  if (!status) return false;
  if (commitment === "processed" || commitment === "recent" || commitment === "single") return true;
  if (commitment === "finalized" || commitment === "max" || commitment === "root") return status === "finalized";
  return status === "confirmed" || status === "finalized";
};

export async function waitForConfirmation(
  connection: Connection,
  signature: string,
  lastValidBlockHeight: number,
  options: ConfirmOptions = {},
): Promise<Confirmed> {
  const commitment = options.commitment ?? "confirmed";
  const interval = options.pollIntervalMs ?? 250;
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    const { value } = await connection.getSignatureStatuses([signature], { searchTransactionHistory: true });
    const status = value[0];
    if (status?.err) {
      const tx = await connection.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 }).catch(() => null);
      throw classifyTransactionError(status.err, tx?.meta?.logMessages ?? []);
    }
    if (status && reached(status.confirmationStatus, commitment)) return { signature, slot: status.slot };
    if (!status) {
      const height = await connection.getBlockHeight("confirmed");
      if (height > lastValidBlockHeight) throw new BlockhashExpiredError(`transaction ${signature} expired: block height ${height} passed ${lastValidBlockHeight}`);
    }
    if (Date.now() > deadline) throw new BlockhashExpiredError(`transaction ${signature} not confirmed in time`);
    await sleep(interval);
  }
}

/** Sends a signed wire transaction (preflight on) and waits for it; node errors become typed errors. */
export async function sendRawAndConfirm(connection: Connection, wire: Uint8Array, lastValidBlockHeight: number, options: ConfirmOptions = {}): Promise<Confirmed> {
  try {
    const signature = await connection.sendRawTransaction(wire, { skipPreflight: false, preflightCommitment: "confirmed", maxRetries: 0 });
    return await waitForConfirmation(connection, signature, lastValidBlockHeight, options);
  } catch (error) {
    const typed = classifySendError(error);
    // The same bytes landed already (two schedulers built the same transaction with the same
    // blockhash, or a retry after a lost response): that is success; wait for it like any other.
    if (typed instanceof TransactionFailedError && /already been processed/i.test(typed.message)) {
      return waitForConfirmation(connection, base58.encode(Transaction.from(wire).signature!), lastValidBlockHeight, options);
    }
    throw typed;
  }
}

/**
 * Builds, signs (first signer pays), sends and confirms `instructions` with a fresh blockhash;
 * when the blockhash expires first it starts over with a new one (at most `retries` times).
 */
export async function sendInstructions(
  connection: Connection,
  instructions: readonly TransactionInstruction[],
  signers: readonly (Signer | Keypair)[],
  options: ConfirmOptions & { retries?: number } = {},
): Promise<Confirmed> {
  const retries = options.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    const { blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash("confirmed");
    const tx = new Transaction({ feePayer: signers[0]!.publicKey, blockhash, lastValidBlockHeight }).add(...instructions);
    tx.sign(...signers);
    try {
      return await sendRawAndConfirm(connection, tx.serialize(), lastValidBlockHeight, options);
    } catch (error) {
      if (error instanceof BlockhashExpiredError && attempt < retries) continue;
      throw error;
    }
  }
}
