import { PublicKey, TransactionInstruction, type Connection, type ConfirmedSignatureInfo } from "@solana/web3.js";
import { parseEvents, type GpumeshEvent } from "./events.ts";
import { decodeInstruction } from "./instructions.ts";
import { GPUMESH_PROGRAM_ID } from "./pdas.ts";

/**
 * The chain indexer (a scheduler worker): follows the program's transactions with
 * `getSignaturesForAddress(programId, { until: cursor })`, fetches each new one, decodes its events
 * and hands them to a store that mirrors them into Postgres idempotently (by signature). Applies
 * oldest first and advances the cursor after each transaction, so a restart resumes where it
 * stopped and picks up everything produced while it was down; a lost cursor only costs time
 * (re-applying is a no-op).
 */

export interface IndexedTransaction {
  signature: string;
  slot: number;
  blockTime: number | null;
  events: GpumeshEvent[];
  /** Mints named by the gpumesh instructions of the transaction (lease mint, MESH mint). */
  mints: string[];
  /** The renter account of an `end_lease` instruction, if any. */
  renter: string | null;
}

export interface ChainIndexStore {
  getCursor(): Promise<string | null>;
  /** Applies one successful transaction (idempotently) and then advances the cursor to it. */
  apply(tx: IndexedTransaction): Promise<void>;
  /** Failed transactions only advance the cursor; default: apply with no events. */
  skip?(signature: string): Promise<void>;
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
    let renter: string | null = null;
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
      if (decoded.name === "end_lease" && decoded.accounts.renter) renter = decoded.accounts.renter.pubkey.toBase58();
    }
    return { signature: info.signature, slot: tx.slot, blockTime: tx.blockTime ?? null, events: parseEvents(tx.meta?.logMessages ?? [], this.programId), mints, renter };
  }

  /** Applies everything newer than the cursor; returns how many transactions were applied. */
  catchUp(): Promise<number> {
    // One pass at a time (a poll tick never overlaps a running pass).
    this.running ??= (async () => {
      try {
        const pending = await this.pending(await this.store.getCursor());
        for (const info of pending) {
          if (info.err) {
            if (this.store.skip) await this.store.skip(info.signature);
            else await this.store.apply({ signature: info.signature, slot: info.slot, blockTime: info.blockTime ?? null, events: [], mints: [], renter: null });
            continue;
          }
          await this.store.apply(await this.load(info));
        }
        return pending.length;
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
