import { base58 } from "@scure/base";
import { ComputeBudgetProgram, type Commitment, type Connection, type Keypair, PublicKey, type Signer, Transaction, type TransactionInstruction } from "@solana/web3.js";
import { BN } from "./anchor.ts";
import { createAssociatedTokenAccountIdempotentInstruction, getAssociatedTokenAddressSync } from "@solana/spl-token";
import { ChainError, ProgramError, ReplayedTransactionError, TransactionFailedError, TransactionMismatchError, classifySendError } from "./errors.ts";
import { parseEvents, type GpumeshEvent } from "./events.ts";
import { decodeInstruction, ix } from "./instructions.ts";
import { GPUMESH_PROGRAM_ID, pdas } from "./pdas.ts";
import { decodeProgramConfig } from "./config.ts";
import { decodeAccount } from "./program.ts";
import { sendInstructions, waitForConfirmation, type ConfirmOptions } from "./send.ts";

/**
 * The chain gateway the apps use:
 * - `submitSigned`: a wallet-signed transaction is checked against what the server built for the
 *   order (program, instruction, every account, every argument, signatures), submitted, confirmed,
 *   and recorded once by signature;
 * - `sendServerSigned`: transactions the server signs itself (settle, crank, post root) are rebuilt
 *   with a fresh blockhash when one expires (bounded retries).
 * Recording goes through a `TransactionRecorder` (Postgres: Payment.tx_signature is unique, so a
 * replayed signature can never record anything twice).
 */

export interface ExpectedTransaction {
  /** The instructions the server built for this order, in order (compute-budget ones may be added by wallets). */
  instructions: readonly TransactionInstruction[];
  /** The fee payer the server chose (usually the renter). */
  feePayer?: PublicKey;
  /** The blockhash the server handed out with the order, when it pins one. */
  recentBlockhash?: string;
  /** From the same `getLatestBlockhash` call: after this block height the transaction is dead. */
  lastValidBlockHeight?: number;
}

export interface LandedTransaction {
  signature: string;
  slot: number;
  logs: string[];
  events: GpumeshEvent[];
}

export interface TransactionRecorder<R> {
  /** The record already made for `signature`, if any. */
  find(signature: string): Promise<R | null>;
  /** Records a landed transaction; must be idempotent by signature (created: false on a replay). */
  record(landed: LandedTransaction): Promise<{ created: boolean; record: R }>;
}

export interface SubmitResult<R> extends LandedTransaction {
  created: boolean;
  record: R;
}

export interface ChainGatewayOptions extends ConfirmOptions {
  programId?: PublicKey;
  /** Fresh-blockhash rebuilds of server-signed transactions. */
  retries?: number;
}

const COMPUTE_BUDGET = ComputeBudgetProgram.programId;

const show = (value: unknown): string => {
  if (value instanceof PublicKey) return value.toBase58();
  if (BN.isBN(value)) return (value as BN).toString();
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value) || value instanceof Uint8Array) return `[${Array.from(value as ArrayLike<unknown>, show).join(",")}]`;
  if (typeof value === "object") return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}:${show(v)}`).join(",")}}`;
  return String(value);
};

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((byte, i) => byte === b[i]);

/** Decodes a wallet-signed wire transaction (base64 string or bytes). */
export function decodeWireTransaction(wire: string | Uint8Array): Transaction {
  const bytes = typeof wire === "string" ? Buffer.from(wire, "base64") : Buffer.from(wire);
  try {
    return Transaction.from(bytes);
  } catch (error) {
    throw new TransactionMismatchError("transaction", "a legacy transaction", `undecodable (${(error as Error).message})`);
  }
}

/**
 * Throws `TransactionMismatchError` naming the first field of `tx` that differs from `expected`;
 * also requires every signature to be present and valid.
 */
export function verifyAgainstOrder(tx: Transaction, expected: ExpectedTransaction, programId: PublicKey = GPUMESH_PROGRAM_ID): void {
  if (expected.feePayer && !tx.feePayer?.equals(expected.feePayer)) throw new TransactionMismatchError("feePayer", expected.feePayer.toBase58(), tx.feePayer?.toBase58() ?? "none");
  if (expected.recentBlockhash && tx.recentBlockhash !== expected.recentBlockhash) throw new TransactionMismatchError("recentBlockhash", expected.recentBlockhash, tx.recentBlockhash ?? "none");
  const actual = tx.instructions.filter((i) => !i.programId.equals(COMPUTE_BUDGET));
  if (actual.length !== expected.instructions.length) throw new TransactionMismatchError("instructions.length", String(expected.instructions.length), String(actual.length));
  expected.instructions.forEach((want, index) => {
    const got = actual[index]!;
    const at = `instructions[${index}]`;
    if (!got.programId.equals(want.programId)) throw new TransactionMismatchError(`${at}.programId`, want.programId.toBase58(), got.programId.toBase58());
    const ours = want.programId.equals(programId) ? decodeInstruction(want, programId) : null;
    const theirs = ours ? decodeInstruction(got, programId) : null;
    if (ours && !theirs) throw new TransactionMismatchError(`${at}.name`, ours.name, "undecodable");
    if (ours && theirs && ours.name !== theirs.name) throw new TransactionMismatchError(`${at}.name`, ours.name, theirs.name);
    const label = ours ? ours.name : at;
    if (!sameBytes(got.data, want.data)) {
      if (ours && theirs) {
        for (const [arg, value] of Object.entries(ours.args)) {
          if (show(value) !== show(theirs.args[arg])) throw new TransactionMismatchError(`${label}.args.${arg}`, show(value), show(theirs.args[arg]));
        }
      }
      throw new TransactionMismatchError(`${label}.data`, Buffer.from(want.data).toString("hex"), Buffer.from(got.data).toString("hex"));
    }
    if (got.keys.length !== want.keys.length) throw new TransactionMismatchError(`${label}.accounts.length`, String(want.keys.length), String(got.keys.length));
    const accountNames = ours ? Object.keys(ours.accounts) : [];
    want.keys.forEach((meta, k) => {
      const other = got.keys[k]!;
      const name = `${label}.accounts.${accountNames[k] ?? k}`;
      if (!other.pubkey.equals(meta.pubkey)) throw new TransactionMismatchError(name, meta.pubkey.toBase58(), other.pubkey.toBase58());
      // A compiled message merges flags per account (the fee payer is always a writable signer), so
      // only a missing privilege is a difference that matters.
      if (meta.isSigner && !other.isSigner) throw new TransactionMismatchError(`${name}.isSigner`, String(meta.isSigner), String(other.isSigner));
      if (meta.isWritable && !other.isWritable) throw new TransactionMismatchError(`${name}.isWritable`, String(meta.isWritable), String(other.isWritable));
    });
  });
  // Every required signer must have signed, and every signature must verify over this message.
  const missing = tx.signatures.find((s) => !s.signature);
  if (missing) throw new TransactionMismatchError(`signatures.${missing.publicKey.toBase58()}`, "a signature", "missing");
  if (!tx.verifySignatures(true)) throw new TransactionMismatchError("signatures", "valid signatures", "invalid signature");
}

export class ChainGateway {
  readonly programId: PublicKey;

  constructor(
    readonly connection: Connection,
    private readonly options: ChainGatewayOptions = {},
  ) {
    this.programId = options.programId ?? GPUMESH_PROGRAM_ID;
  }

  private get commitment(): Commitment {
    return this.options.commitment ?? "confirmed";
  }

  /** Logs and decoded events of a landed transaction. */
  async landed(signature: string, slot?: number): Promise<LandedTransaction> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const tx = await this.connection.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
      if (tx) {
        const logs = tx.meta?.logMessages ?? [];
        return { signature, slot: tx.slot, logs, events: parseEvents(logs, this.programId) };
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (slot === undefined) throw new TransactionFailedError(`transaction ${signature} not found`);
    return { signature, slot, logs: [], events: [] };
  }

  /**
   * Verifies a wallet-signed transaction against the order, submits it, confirms it and records it
   * through `recorder`. A signature that is already recorded is rejected (`ReplayedTransactionError`,
   * carrying the existing record) and nothing new is written.
   */
  async submitSigned<R>(wire: string | Uint8Array, expected: ExpectedTransaction, recorder: TransactionRecorder<R>): Promise<SubmitResult<R>> {
    const tx = decodeWireTransaction(wire);
    verifyAgainstOrder(tx, expected, this.programId);
    const signature = base58.encode(tx.signature!);
    const existing = await recorder.find(signature);
    if (existing) throw Object.assign(new ReplayedTransactionError(signature, "already recorded"), { existing });

    const lastValid = expected.lastValidBlockHeight ?? (await this.connection.getLatestBlockhash(this.commitment)).lastValidBlockHeight;
    let slot: number;
    try {
      await this.connection.sendRawTransaction(tx.serialize(), { skipPreflight: false, preflightCommitment: this.commitment, maxRetries: 0 });
      ({ slot } = await waitForConfirmation(this.connection, signature, lastValid, this.options));
    } catch (error) {
      const typed = classifySendError(error);
      // Landed before (e.g. we crashed between confirming and recording): record it now, once.
      if (typed instanceof TransactionFailedError && /already been processed/i.test(typed.message)) {
        ({ slot } = await waitForConfirmation(this.connection, signature, lastValid, this.options));
      } else {
        throw typed;
      }
    }
    const landed = await this.landed(signature, slot);
    const { created, record } = await recorder.record(landed);
    return { ...landed, created, record };
  }

  /**
   * Server-signed transaction (settle, crank, post root…): when the blockhash expires before it
   * lands, the same instructions are signed again with a fresh blockhash (up to `retries` times).
   * The first signer pays the fee. Program errors are thrown typed (e.g. `ProgramError` with
   * `errorName === "NothingToSettle"`, which a settle job treats as done).
   */
  async sendServerSigned<R = never>(
    build: () => readonly TransactionInstruction[] | Promise<readonly TransactionInstruction[]>,
    signers: readonly (Signer | Keypair)[],
    recorder?: TransactionRecorder<R>,
  ): Promise<LandedTransaction & { created?: boolean; record?: R }> {
    const instructions = await build();
    const { signature, slot } = await sendInstructions(this.connection, instructions, signers, { ...this.options, retries: this.options.retries ?? 3 });
    const landed = await this.landed(signature, slot);
    if (!recorder) return landed;
    const { created, record } = await recorder.record(landed);
    return { ...landed, created, record };
  }

  /**
   * `settle_lease` of (`renter`, `leaseId`) signed by the settlement authority: pays the seconds
   * elapsed on-chain since the last settlement. Nothing to pay (a second settle at the same chain
   * time: NothingToSettle) and a lease already ended both count as done, with no signature.
   */
  async settleLease(settlementAuthority: Signer | Keypair, renter: PublicKey, leaseId: bigint): Promise<LeaseSettlementResult> {
    const lease = await fetchLease(this.connection, renter, leaseId, this.programId);
    if (!lease) return { signature: null, outcome: "already-ended", events: [] };
    const { accounts, creates } = await leaseAccounts(this.connection, lease, settlementAuthority.publicKey, this.programId);
    try {
      const landed = await this.sendServerSigned(() => [creates.payout, creates.treasury, ix.settleLease(settlementAuthority.publicKey, accounts, this.programId)], [settlementAuthority]);
      return { signature: landed.signature, outcome: "settled", events: landed.events };
    } catch (error) {
      if (isNothingToSettle(error)) return { signature: null, outcome: "nothing-to-settle", events: [] };
      throw error;
    }
  }

  /**
   * `end_lease` of (`renter`, `leaseId`) signed by `caller` (the settlement authority for the
   * scheduler): final settle, the rest of the escrow back to the renter, lease closed. A lease that
   * is already closed is done (no signature).
   */
  async endLease(caller: Signer | Keypair, renter: PublicKey, leaseId: bigint): Promise<LeaseSettlementResult> {
    const lease = await fetchLease(this.connection, renter, leaseId, this.programId);
    if (!lease) return { signature: null, outcome: "already-ended", events: [] };
    const { accounts, renterToken, creates } = await leaseAccounts(this.connection, lease, caller.publicKey, this.programId);
    try {
      const landed = await this.sendServerSigned(
        () => [creates.payout, creates.treasury, creates.renter, ix.endLease(caller.publicKey, { ...accounts, renter: lease.renter, renterToken }, this.programId)],
        [caller],
      );
      return { signature: landed.signature, outcome: "ended", events: landed.events };
    } catch (error) {
      // Ended by someone else (renter, supplier, an earlier attempt) between the read and the send.
      if (!(await fetchLease(this.connection, renter, leaseId, this.programId))) return { signature: null, outcome: "already-ended", events: [] };
      throw error;
    }
  }
}

/** A lease account as the program stores it (the fields settlement needs). */
export interface LeaseAccount {
  address: PublicKey;
  leaseId: bigint;
  renter: PublicKey;
  /** The supplier's wallet (`Supplier.authority`). */
  supplier: PublicKey;
  mint: PublicKey;
  pricePerSecond: bigint;
  maxSeconds: bigint;
  startTs: bigint;
  settledSeconds: bigint;
  deposited: bigint;
  isMesh: boolean;
}

/** What a settle/end call did: `signature` is null when there was nothing to send. */
export interface LeaseSettlementResult {
  signature: string | null;
  outcome: "settled" | "nothing-to-settle" | "ended" | "already-ended";
  events: GpumeshEvent[];
}

interface RawLease {
  lease_id: BN;
  renter: PublicKey;
  supplier: PublicKey;
  mint: PublicKey;
  price_per_second: BN;
  max_seconds: BN;
  start_ts: BN;
  settled_seconds: BN;
  deposited: BN;
  is_mesh: boolean;
}

const big = (value: BN) => BigInt(value.toString());

/** The associated token account of (`mint`, `owner`), owner allowed off-curve (a PDA treasury). */
export function associatedTokenAddress(mint: PublicKey, owner: PublicKey): PublicKey {
  return getAssociatedTokenAddressSync(mint, owner, true);
}

/** Reads the lease of (`renter`, `leaseId`); null once it is closed (ended) or was never opened. */
export async function fetchLease(connection: Connection, renter: PublicKey, leaseId: bigint, programId: PublicKey = GPUMESH_PROGRAM_ID): Promise<LeaseAccount | null> {
  const address = pdas.lease(renter, leaseId, programId)[0];
  const info = await connection.getAccountInfo(address, "confirmed");
  // end_lease closes the account (data zeroed, owner the system program).
  if (!info || !info.owner.equals(programId) || info.data.length === 0) return null;
  const raw = decodeAccount<RawLease>("Lease", info.data);
  return {
    address,
    leaseId: big(raw.lease_id),
    renter: raw.renter,
    supplier: raw.supplier,
    mint: raw.mint,
    pricePerSecond: big(raw.price_per_second),
    maxSeconds: big(raw.max_seconds),
    startTs: big(raw.start_ts),
    settledSeconds: big(raw.settled_seconds),
    deposited: big(raw.deposited),
    isMesh: raw.is_mesh,
  };
}

/**
 * The settle/end accounts of a lease, plus idempotent creations of the token accounts they pay into
 * (the program only requires a token account of the lease mint owned by the supplier's payout wallet,
 * the config's treasury, and the renter; their associated accounts are used, created by `payer` when
 * missing so a payout wallet that never held the token cannot block settlement).
 */
async function leaseAccounts(connection: Connection, lease: LeaseAccount, payer: PublicKey, programId: PublicKey) {
  const [supplierInfo, configInfo] = await connection.getMultipleAccountsInfo([pdas.supplier(lease.supplier, programId)[0], pdas.config(programId)[0]], "confirmed");
  if (!supplierInfo) throw new ChainError(`supplier ${lease.supplier.toBase58()} of lease ${lease.address.toBase58()} is not registered`);
  if (!configInfo) throw new ChainError(`the program ${programId.toBase58()} is not initialized (no config account)`);
  const payout = decodeAccount<{ payout_wallet: PublicKey }>("Supplier", supplierInfo.data).payout_wallet;
  const { treasury } = decodeProgramConfig(configInfo.data);
  const ata = (owner: PublicKey) => associatedTokenAddress(lease.mint, owner);
  const create = (owner: PublicKey) => createAssociatedTokenAccountIdempotentInstruction(payer, ata(owner), owner, lease.mint);
  return {
    accounts: { lease: lease.address, mint: lease.mint, supplierAuthority: lease.supplier, supplierToken: ata(payout), treasuryToken: ata(treasury) },
    renterToken: ata(lease.renter),
    creates: { payout: create(payout), treasury: create(treasury), renter: create(lease.renter) },
  };
}

const isNothingToSettle = (error: unknown) => error instanceof ProgramError && error.errorName === "NothingToSettle";

export { ChainError };
