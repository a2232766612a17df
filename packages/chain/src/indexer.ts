import { PublicKey, TransactionInstruction, type Connection, type ConfirmedSignatureInfo } from "@solana/web3.js";
import { parseEvents, type GpumeshEvent } from "./events.ts";
import { decodeInstruction } from "./instructions.ts";
import { GPUMESH_PROGRAM_ID } from "./pdas.ts";

/**
 * The chain indexer (the scheduler's `index` job runs one `catchUp()` pass per tick): follows the
 * program's transactions with `getSignaturesForAddress(programId, { until: cursor })`, fetches each
 * new one, decodes its events and hands them to a store that mirrors them into Postgres
 * idempotently (by signature and event index). Applies oldest first; the store advances the cursor
 * in the same database transaction as the rows it writes, so a restart resumes exactly where it
 * stopped and picks up everything produced while it was down; a lost cursor only costs time
 * (re-applying is a no-op).
 */

export interface IndexedLease {
  /** Payment mint of the lease (the instruction's `mint` account). */
  mint: string;
  /** Renter wallet, where the instruction names it (open_lease, end_lease). */
  renter: string | null;
}

export interface IndexedTransaction {
  signature: string;
  slot: number;
  blockTime: number | null;
  events: GpumeshEvent[];
  /** Mints named by the gpumesh instructions of the transaction (lease mint, MESH mint). */
  mints: string[];
  /**
   * Lease PDA (base58) → what its instructions in this transaction name: events carry the lease but
   * not its mint or (LeaseEnded) its renter.
   */
  leases: Record<string, IndexedLease>;
}

/** Another pass moved the cursor since this one read it: stop, the other pass carries on. */
export class CursorMovedError extends Error {
  constructor(
    readonly expected: string | null,
    readonly actual: string | null,
  ) {
    super(`indexer cursor moved: expected ${expected ?? "none"}, found ${actual ?? "none"}`);
    this.name = "CursorMovedError";
  }
}

export interface ChainIndexStore {
  getCursor(): Promise<string | null>;
  /**
   * Applies one transaction (idempotently; a failed one has no events) and advances the cursor to it,
   * atomically. Throws `CursorMovedError` when the cursor is no longer `previous` (a concurrent pass).
   */
  apply(tx: IndexedTransaction, previous: string | null): Promise<void>;
}

export interface ChainIndexerOptions {
  programId?: PublicKey;
  pageSize?: number;
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
}

export class ChainIndexer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  readonly programId: PublicKey;

  constructor(
    private readonly connection: Connection,
    private readonly store: ChainIndexStore,
    private readonly options: ChainIndexerOptions = {},
  ) {
    this.programId = options.programId ?? GPUMESH_PROGRAM_ID;
  }

  /** Signatures newer than the cursor, oldest first. */
  private async pending(cursor: string | null): Promise<ConfirmedSignatureInfo[]> {
    const limit = this.options.pageSize ?? 100;
    const all: ConfirmedSignatureInfo[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await this.connection.getSignaturesForAddress(this.programId, { limit, ...(before ? { before } : {}), ...(cursor ? { until: cursor } : {}) }, "confirmed");
      all.push(...page);
      if (page.length < limit) break;
      before = page.at(-1)!.signature;
    }
    return all.reverse();
  }

  private async load(info: ConfirmedSignatureInfo): Promise<IndexedTransaction> {
    const tx = await this.connection.getTransaction(info.signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    if (!tx) throw new Error(`transaction ${info.signature} not found`);
    const keys = tx.transaction.message.staticAccountKeys;
    const header = tx.transaction.message.header;
    const isWritable = (i: number) =>
      i < header.numRequiredSignatures ? i < header.numRequiredSignatures - header.numReadonlySignedAccounts : i < keys.length - header.numReadonlyUnsignedAccounts;
    const mints: string[] = [];
    const leases: Record<string, IndexedLease> = {};
    for (const compiled of tx.transaction.message.compiledInstructions) {
      const programId = keys[compiled.programIdIndex];
      if (!programId?.equals(this.programId)) continue;
      const instruction = new TransactionInstruction({
        programId,
        data: Buffer.from(compiled.data),
        keys: compiled.accountKeyIndexes.map((i) => ({ pubkey: keys[i] ?? PublicKey.default, isSigner: i < header.numRequiredSignatures, isWritable: isWritable(i) })),
      });
      const decoded = decodeInstruction(instruction, this.programId);
      if (!decoded) continue;
      const mint = decoded.accounts.mint ?? decoded.accounts.mesh_mint;
      if (mint) mints.push(mint.pubkey.toBase58());
      const { lease, renter } = decoded.accounts;
      if (lease && mint) {
        const key = lease.pubkey.toBase58();
        leases[key] = { mint: mint.pubkey.toBase58(), renter: renter?.pubkey.toBase58() ?? leases[key]?.renter ?? null };
      }
    }
    return { signature: info.signature, slot: tx.slot, blockTime: tx.blockTime ?? null, events: parseEvents(tx.meta?.logMessages ?? [], this.programId), mints, leases };
  }

  /** Applies everything newer than the cursor; returns how many transactions were applied. */
  catchUp(): Promise<number> {
    // One pass at a time within a process (a poll tick never overlaps a running pass); across
    // processes the store's compare-and-set on the cursor stops the pass that fell behind.
    this.running ??= (async () => {
      try {
        let cursor = await this.store.getCursor();
        const pending = await this.pending(cursor);
        let applied = 0;
        for (const info of pending) {
          const tx = info.err ? { signature: info.signature, slot: info.slot, blockTime: info.blockTime ?? null, events: [], mints: [], leases: {} } : await this.load(info);
          try {
            await this.store.apply(tx, cursor);
          } catch (error) {
            if (error instanceof CursorMovedError) return applied;
            throw error;
          }
          cursor = info.signature;
          applied++;
        }
        return applied;
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Polls every `pollIntervalMs` (default 2 s) after an immediate catch-up. */
  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.catchUp()
        .catch((error) => this.options.onError?.(error))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, this.options.pollIntervalMs ?? 2_000);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }
}
