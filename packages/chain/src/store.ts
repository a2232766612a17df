import { postJournal, type Claim, type Db, type Payment } from "@gpumesh/db";
import { LedgerAccounts } from "@gpumesh/core";
import type { PublicKey } from "@solana/web3.js";
import type { GpumeshEvent } from "./events.ts";
import type { LandedTransaction, TransactionRecorder } from "./gateway.ts";
import type { ChainIndexStore, IndexedTransaction } from "./indexer.ts";

/**
 * Postgres side of the gateway and the indexer. Every write is keyed by the transaction signature
 * (Payment.tx_signature and Claim.tx_signature are unique, journals by reference), so replays and
 * re-indexing never record anything twice.
 */

type Token = "USDC" | "MESH";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

async function accountIdFor(db: Db, wallet: string): Promise<string> {
  const account = await db.account.upsert({ where: { walletAddress: wallet }, create: { walletAddress: wallet }, update: {}, select: { id: true } });
  return account.id;
}

/**
 * Records the renter's deposit of a confirmed `open_lease` as a CONFIRMED Payment (amount from the
 * LeaseOpened event; it must equal `order.amount`).
 */
export function paymentRecorder(db: Db, order: { accountId: string; clusterId?: string | null; token: Token; amount: bigint }): TransactionRecorder<Payment> {
  return {
    find: (signature) => db.payment.findUnique({ where: { txSignature: signature } }),
    async record(landed: LandedTransaction) {
      const opened = landed.events.find((e) => e.name === "LeaseOpened");
      if (!opened) throw new Error(`transaction ${landed.signature} opened no lease`);
      if (opened.data.deposited !== order.amount) throw new Error(`transaction ${landed.signature} deposited ${opened.data.deposited}, the order says ${order.amount}`);
      const { count } = await db.payment.createMany({
        data: [
          {
            accountId: order.accountId,
            clusterId: order.clusterId ?? null,
            kind: "DEPOSIT",
            token: order.token,
            amount: opened.data.deposited,
            txSignature: landed.signature,
            status: "CONFIRMED",
            slot: BigInt(landed.slot),
            confirmedAt: new Date(),
          },
        ],
        skipDuplicates: true,
      });
      return { created: count === 1, record: await db.payment.findUniqueOrThrow({ where: { txSignature: landed.signature } }) };
    },
  };
}

/** Records a confirmed `claim_rewards` as a Claim row. */
export function claimRecorder(db: Db): TransactionRecorder<Claim> {
  return {
    find: (signature) => db.claim.findUnique({ where: { txSignature: signature } }),
    async record(landed: LandedTransaction) {
      const claimed = landed.events.find((e) => e.name === "RewardsClaimed");
      if (!claimed) throw new Error(`transaction ${landed.signature} claimed nothing`);
      const created = await insertClaim(db, landed.signature, claimed.data, new Date());
      return { created, record: await db.claim.findUniqueOrThrow({ where: { txSignature: landed.signature } }) };
    },
  };
}

async function insertClaim(db: Db, signature: string, data: Extract<GpumeshEvent, { name: "RewardsClaimed" }>["data"], at: Date): Promise<boolean> {
  const { count } = await db.claim.createMany({
    data: [{ claimant: data.claimant.toBase58(), amount: data.amount, cumulative: data.cumulative, epoch: Number(data.epoch), txSignature: signature, claimedAt: at }],
    skipDuplicates: true,
  });
  return count === 1;
}

/** Where the indexer keeps its cursor (last signature applied). Redis in the scheduler; memory in tests. */
export interface CursorStore {
  get(): Promise<string | null>;
  set(signature: string): Promise<void>;
}

export function memoryCursor(initial: string | null = null): CursorStore & { value: string | null } {
  const cursor = {
    value: initial,
    get: async () => cursor.value,
    set: async (signature: string) => {
      cursor.value = signature;
    },
  };
  return cursor;
}

/**
 * Mirrors program events into Postgres:
 * - LeaseOpened → Payment DEPOSIT (CONFIRMED), LeaseEnded with a refund → Payment REFUND;
 * - RewardsClaimed → Claim, plus journal `rewards:vault → rewards:claimant:<wallet>` (MESH);
 * - EmissionsMinted → journal `minted → rewards:vault` (MESH);
 * - RewardRootPosted → the RewardEpoch row of that epoch marked POSTED (root, signature);
 * - LeaseSettled (settlement, burn) → kept in `settlements` (the schema has no chain-event table
 *   yet; the scheduler's settle job writes the ledger for the same money, so mirroring it there
 *   would count it twice).
 */
export class PrismaChainIndexStore implements ChainIndexStore {
  /** On-chain settlements seen (see the class comment). */
  readonly settlements: { signature: string; lease: string; gross: bigint; fee: bigint; burned: bigint; treasury: bigint; supplier: bigint }[] = [];

  constructor(
    private readonly db: Db,
    private readonly meshMint: PublicKey,
    private readonly cursor: CursorStore,
  ) {}

  getCursor(): Promise<string | null> {
    return this.cursor.get();
  }

  /** A deposit or refund as a confirmed Payment, once per transaction signature. */
  private async recordPayment(tx: IndexedTransaction, at: Date, wallet: string, leaseId: bigint, kind: "DEPOSIT" | "REFUND", paidInMesh: boolean, amount: bigint): Promise<void> {
    const accountId = await accountIdFor(this.db, wallet);
    const cluster = await this.db.cluster.findUnique({ where: { leaseId }, select: { id: true } });
    await this.db.payment.createMany({
      data: [
        {
          accountId,
          clusterId: cluster?.id ?? null,
          kind,
          token: paidInMesh ? "MESH" : "USDC",
          amount,
          txSignature: tx.signature,
          status: "CONFIRMED",
          slot: BigInt(tx.slot),
          confirmedAt: at,
        },
      ],
      skipDuplicates: true,
    });
  }

  async apply(tx: IndexedTransaction): Promise<void> {
    const at = tx.blockTime ? new Date(tx.blockTime * 1000) : new Date();
    let index = 0;
    for (const event of tx.events) {
      const ref = `chain:${tx.signature}:${index++}`;
      switch (event.name) {
        case "LeaseOpened":
          await this.recordPayment(tx, at, event.data.renter.toBase58(), event.data.leaseId, "DEPOSIT", event.data.mint.equals(this.meshMint), event.data.deposited);
          break;
        case "LeaseEnded": {
          if (event.data.refund === 0n || !tx.renter) break;
          const mint = tx.mints[0];
          await this.recordPayment(tx, at, tx.renter, event.data.leaseId, "REFUND", mint === this.meshMint.toBase58(), event.data.refund);
          break;
        }
        case "LeaseSettled":
          if (!this.settlements.some((s) => s.signature === tx.signature && s.lease === event.data.lease.toBase58())) {
            this.settlements.push({
              signature: tx.signature,
              lease: event.data.lease.toBase58(),
              gross: event.data.gross,
              fee: event.data.fee,
              burned: event.data.burned,
              treasury: event.data.treasury,
              supplier: event.data.supplierAmount,
            });
          }
          break;
        case "EmissionsMinted":
          if (event.data.amount > 0n) {
            await postJournal(this.db, {
              reference: ref,
              description: `emission up to hour ${event.data.hour} (tx ${tx.signature})`,
              token: "MESH",
              occurredAt: at,
              lines: [
                { account: LedgerAccounts.rewardsVault(), amount: event.data.amount },
                { account: LedgerAccounts.minted(), amount: -event.data.amount },
              ],
            });
          }
          break;
        case "RewardRootPosted":
          await this.db.rewardEpoch.updateMany({
            where: { epoch: Number(event.data.epoch), postedTxSignature: null },
            data: { status: "POSTED", merkleRoot: hex(event.data.root), cumulativeTotal: event.data.totalCumulative, postedTxSignature: tx.signature, postedAt: at },
          });
          break;
        case "RewardsClaimed":
          await insertClaim(this.db, tx.signature, event.data, at);
          await postJournal(this.db, {
            reference: ref,
            description: `reward claim of ${event.data.claimant.toBase58()} (tx ${tx.signature})`,
            token: "MESH",
            occurredAt: at,
            lines: [
              { account: LedgerAccounts.supplierRewards(event.data.claimant.toBase58()), amount: event.data.amount },
              { account: LedgerAccounts.rewardsVault(), amount: -event.data.amount },
            ],
          });
          break;
        default:
          break;
      }
    }
    await this.cursor.set(tx.signature);
  }
}
