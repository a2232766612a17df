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
 *
 * History is paged, never held whole: the RPC lists newest first, so a pass first walks back to the
 * cursor keeping one signature per page (where the next older page starts), then fetches and applies
 * the pages oldest first, advancing the cursor as it goes. Memory: two pages and one signature per
 * page of backlog.
 *
 * A transaction the RPC no longer has (`getTransaction` → null: pruned from its ledger history, after
 * retries) is skipped: reported through `onMissing`, counted in `missed`, applied without events so
 * the cursor moves past it. Reconciliation compares what the chain paid with the ledger, so money a
 * skipped transaction moved still shows up as a difference there.
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
  /** A listed transaction the RPC returned no body for, after `missingRetries` (it is skipped). */
  onMissing?: (signature: string, slot: number) => void;
  /** How often to ask again for a listed transaction that comes back null (default 2, 250 ms apart). */
  missingRetries?: number;
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

  /** Transactions skipped because the RPC had no body for them (pruned), since this indexer started. */
  missed = 0;

  private page(before: string | undefined, cursor: string | null): Promise<ConfirmedSignatureInfo[]> {
    const limit = this.options.pageSize ?? 100;
    return this.connection.getSignaturesForAddress(this.programId, { limit, ...(before ? { before } : {}), ...(cursor ? { until: cursor } : {}) }, "confirmed");
  }

  /**
   * Signatures newer than the cursor, one page at a time, oldest page first (each page oldest first).
   * The walk back keeps only each page's oldest signature (the `before` of the page after it); pages
   * are then fetched again from the oldest, so a backlog of any length costs one signature per page.
   */
  private async *pending(cursor: string | null): AsyncGenerator<ConfirmedSignatureInfo[]> {
    const limit = this.options.pageSize ?? 100;
    const newest = await this.page(undefined, cursor);
    if (newest.length === 0) return;
    // anchors[k] is the `before` of page k + 1 (older than the newest page).
    const anchors: string[] = [];
    if (newest.length === limit) {
      for (let before = newest.at(-1)!.signature; ; ) {
        anchors.push(before);
        const older = await this.page(before, cursor);
        if (older.length < limit) break;
        before = older.at(-1)!.signature;
      }
    }
    for (let k = anchors.length - 1; k >= 0; k--) {
      // The cursor has moved up to the end of the page before: `until` stops there.
      const page = await this.page(anchors[k], await this.store.getCursor());
      yield page.reverse();
    }
    yield [...newest].reverse();
  }

  private async fetch(signature: string) {
    const retries = this.options.missingRetries ?? 2;
    for (let attempt = 0; ; attempt++) {
      const tx = await this.connection.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
      if (tx || attempt >= retries) return tx;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  private async load(info: ConfirmedSignatureInfo): Promise<IndexedTransaction> {
    const tx = await this.fetch(info.signature);
    if (!tx) {
      this.missed++;
      this.options.onMissing?.(info.signature, info.slot);
      return { signature: info.signature, slot: info.slot, blockTime: info.blockTime ?? null, events: [], mints: [], leases: {} };
    }
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
        let applied = 0;
        for await (const page of this.pending(cursor)) {
          for (const info of page) {
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
