import { base58 } from "@scure/base";
import { ComputeBudgetProgram, type Commitment, type Connection, type Keypair, PublicKey, type Signer, Transaction, type TransactionInstruction } from "@solana/web3.js";
import { BN } from "./anchor.ts";
import { ASSOCIATED_TOKEN_PROGRAM_ID, createAssociatedTokenAccountIdempotentInstruction, getAssociatedTokenAddressSync } from "@solana/spl-token";
import { ChainError, ReplayedTransactionError, TransactionFailedError, TransactionMismatchError, classifySendError } from "./errors.ts";
import { parseEvents, type GpumeshEvent } from "./events.ts";
import { decodeInstruction, ix } from "./instructions.ts";
import { GPUMESH_PROGRAM_ID, pdas } from "./pdas.ts";
import { decodeProgramConfig } from "./config.ts";
import { decodeAccount } from "./program.ts";
import type { LeaseAccount, LeaseStep } from "./lease.ts";
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
   * Sends `steps` (from `planLeaseSync`) for `lease`, signed by the settlement authority, a few
   * instructions per transaction in order. Token accounts the steps pay into (payout wallets, the
   * treasury, the renter) are created idempotently first, so a wallet that never held the token cannot
   * block a payout. Returns the signatures; a failure throws (typed), and the caller plans again.
   */
  async sendLeaseSteps(authority: Signer | Keypair, lease: LeaseAccount, steps: readonly LeaseStep[]): Promise<string[]> {
    const signatures: string[] = [];
    const payees = await leasePayees(this.connection, lease, steps, authority.publicKey, this.programId);
    const escrow = { lease: lease.address, renter: lease.renter, mint: lease.mint, renterToken: payees.renterToken };
    const instructions = (step: LeaseStep): TransactionInstruction[] => {
      switch (step.kind) {
        case "cancel":
          return [payees.create(lease.renter), ix.cancelLease(authority.publicKey, escrow, this.programId)];
        case "activate":
          return [ix.activateLease(authority.publicKey, lease.address, { startTs: step.startTs, pricePerSecond: lease.pricePerSecond, maxSeconds: lease.maxSeconds }, this.programId)];
        case "add":
          return [ix.addAllocation(authority.publicKey, lease.address, step.index, step.supplier, { ratePerSecond: step.ratePerSecond, fromTs: step.fromTs }, this.programId)];
        case "release":
          return [ix.releaseAllocation(authority.publicKey, lease.address, step.index, step.untilTs, this.programId)];
        case "settle": {
          const payout = payees.payout(step.supplier);
          const accounts = { lease: lease.address, index: step.index, mint: lease.mint, supplierAuthority: step.supplier, supplierToken: payees.ata(payout), treasuryToken: payees.ata(payees.treasury) };
          return [payees.create(payout), payees.create(payees.treasury), ix.settleAllocation(accounts, step.until, this.programId)];
        }
        case "end":
          return [payees.create(lease.renter), ix.endLease(authority.publicKey, escrow, step.endTs, this.programId)];
        case "close":
          return [payees.create(lease.renter), ix.closeLease(authority.publicKey, escrow, this.programId)];
      }
    };
    // A few steps per transaction keeps each well under the size and compute limits.
    for (let i = 0; i < steps.length; i += LEASE_STEPS_PER_TRANSACTION) {
      const batch = steps.slice(i, i + LEASE_STEPS_PER_TRANSACTION).flatMap(instructions);
      const landed = await this.sendServerSigned(() => dedupeCreates(batch), [authority]);
      signatures.push(landed.signature);
    }
    return signatures;
  }
}

const LEASE_STEPS_PER_TRANSACTION = 4;

/** The same idempotent account creation twice in one transaction is harmless but wasteful: keep the first. */
function dedupeCreates(instructions: TransactionInstruction[]): TransactionInstruction[] {
  const seen = new Set<string>();
  return instructions.filter((instruction) => {
    if (!instruction.programId.equals(ASSOCIATED_TOKEN_PROGRAM_ID)) return true;
    const key = instruction.keys[1]!.pubkey.toBase58();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The associated token account of (`mint`, `owner`), owner allowed off-curve (a PDA treasury). */
export function associatedTokenAddress(mint: PublicKey, owner: PublicKey): PublicKey {
  return getAssociatedTokenAddressSync(mint, owner, true);
}

/**
 * Who the steps pay: each allocation supplier's payout wallet (read from its Supplier account), the
 * config's treasury and the renter, with their associated token accounts of the lease's mint.
 */
async function leasePayees(connection: Connection, lease: LeaseAccount, steps: readonly LeaseStep[], payer: PublicKey, programId: PublicKey) {
  const suppliers = [...new Set(steps.flatMap((s) => (s.kind === "settle" ? [s.supplier.toBase58()] : [])))].map((k) => new PublicKey(k));
  const infos = await connection.getMultipleAccountsInfo([pdas.config(programId)[0], ...suppliers.map((s) => pdas.supplier(s, programId)[0])], "confirmed");
  const [configInfo, ...supplierInfos] = infos;
  if (!configInfo) throw new ChainError(`the program ${programId.toBase58()} is not initialized (no config account)`);
  const payouts = new Map<string, PublicKey>();
  supplierInfos.forEach((info, i) => {
    if (!info) throw new ChainError(`supplier ${suppliers[i]!.toBase58()} of lease ${lease.address.toBase58()} is not registered`);
    payouts.set(suppliers[i]!.toBase58(), decodeAccount<{ payout_wallet: PublicKey }>("Supplier", info.data).payout_wallet);
  });
  const ata = (owner: PublicKey) => associatedTokenAddress(lease.mint, owner);
  return {
    ata,
    treasury: decodeProgramConfig(configInfo.data).treasury,
    renterToken: ata(lease.renter),
    payout: (supplier: PublicKey) => payouts.get(supplier.toBase58())!,
    create: (owner: PublicKey) => createAssociatedTokenAccountIdempotentInstruction(payer, ata(owner), owner, lease.mint),
  };
}

export { ChainError };
