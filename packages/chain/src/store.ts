import { findRecordedExtension, postJournal, recordLandedExtension, type Claim, type Db, type DbTransaction, type Payment, type Prisma, type RecordedExtension } from "@gpumesh/db";
import { LedgerAccounts, transfer } from "@gpumesh/core";
import { PublicKey } from "@solana/web3.js";
import type { GpumeshEvent } from "./events.ts";
import type { LandedTransaction, TransactionRecorder } from "./gateway.ts";
import { CursorMovedError, type ChainIndexStore, type IndexedTransaction } from "./indexer.ts";
import { GPUMESH_PROGRAM_ID } from "./pdas.ts";
import { deviceIdToUuid } from "./stake.ts";

/**
 * Postgres side of the gateway and the indexer. Every write is keyed by the transaction signature
 * (Payment.tx_signature and Claim.tx_signature are unique, chain events by signature and index,
 * journals by reference), so replays and re-indexing never record anything twice.
 */

type Token = "USDC" | "MESH";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

async function accountIdFor(db: Db | DbTransaction, wallet: string): Promise<string> {
  const account = await db.account.upsert({ where: { walletAddress: wallet }, create: { walletAddress: wallet }, update: {}, select: { id: true } });
  return account.id;
}

/**
 * Records the renter's deposit of a confirmed `open_lease` as a CONFIRMED Payment (amount from the
 * LeaseOpened event; it must equal `order.amount`).
 */
export function paymentRecorder(
  db: Db,
  order: { accountId: string; clusterId?: string | null; token: Token; amount: bigint; rates?: { feeBps: number; burnBps: number } },
): TransactionRecorder<Payment> {
  return {
    find: (signature) => db.payment.findFirst({ where: { txSignature: signature } }),
    async record(landed: LandedTransaction) {
      const eventIndex = landed.events.findIndex((e) => e.name === "LeaseOpened");
      const opened = landed.events[eventIndex];
      if (!opened || opened.name !== "LeaseOpened") throw new Error(`transaction ${landed.signature} opened no lease`);
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
            eventIndex,
            status: "CONFIRMED",
            slot: BigInt(landed.slot),
            confirmedAt: new Date(),
          },
        ],
        skipDuplicates: true,
      });
      if (order.clusterId) {
        // The lease's address and rates, as the program snapshotted them: the indexer matches the lease by
        // its address, and the ledger settles at the lease's own rates.
        const lease = opened.data.lease.toBase58();
        await db.cluster.updateMany({ where: { id: order.clusterId, OR: [{ leasePda: null }, { leasePda: lease }] }, data: { leasePda: lease, ...(order.rates ?? {}) } });
        // The indexer may have booked this deposit first: it links a deposit to a cluster only through
        // the cluster's lease address, which is set just above, so it booked it for the wallet alone
        // and the insert above was skipped. It is this order's deposit (checked field by field before
        // sending, the amount just above): link it, or the cluster never sees its payment.
        await db.payment.updateMany({
          where: { txSignature: landed.signature, eventIndex, kind: "DEPOSIT", clusterId: null, accountId: order.accountId, amount: opened.data.deposited },
          data: { clusterId: order.clusterId },
        });
      }
      return { created: count === 1, record: await db.payment.findUniqueOrThrow({ where: { txSignature_eventIndex: { txSignature: landed.signature, eventIndex } } }) };
    },
  };
}

/**
 * The base units a LeaseExtended event escrowed: the program adds `price · extra_seconds`, and its
 * lease always holds `deposited = price · max_seconds`, so the event alone tells the price and the amount.
 */
export function extensionAmount(event: { extraSeconds: bigint; maxSeconds: bigint; deposited: bigint }): bigint {
  if (event.maxSeconds <= 0n || event.deposited % event.maxSeconds !== 0n) throw new Error(`LeaseExtended: deposited ${event.deposited} is not a whole price for ${event.maxSeconds} s`);
  return (event.deposited / event.maxSeconds) * event.extraSeconds;
}

/**
 * Records a confirmed, wallet-signed `extend_lease` of a cluster's lease (`recordLandedExtension` in
 * @gpumesh/db): the end moves when the lease may be extended (`record.extended`), else the top-up is
 * booked into the escrow and comes back with the refund (the chain already holds it either way). The
 * event must name the cluster's lease and `order.addSeconds`; the amount is the one the program took.
 */
export function extensionRecorder(db: Db, order: { clusterId: string; accountId: string; addSeconds: number }): TransactionRecorder<RecordedExtension> {
  return {
    find: (signature) => findRecordedExtension(db, signature),
    async record(landed: LandedTransaction) {
      const cluster = await db.cluster.findUniqueOrThrow({ where: { id: order.clusterId }, select: { leasePda: true } });
      const eventIndex = landed.events.findIndex((e) => e.name === "LeaseExtended" && e.data.lease.toBase58() === cluster.leasePda);
      const extended = landed.events[eventIndex];
      if (!extended || extended.name !== "LeaseExtended") throw new Error(`transaction ${landed.signature} extended no lease of cluster ${order.clusterId}`);
      if (extended.data.extraSeconds !== BigInt(order.addSeconds)) throw new Error(`transaction ${landed.signature} extended by ${extended.data.extraSeconds} s, the order says ${order.addSeconds}`);
      const recorded = await recordLandedExtension(db, {
        clusterId: order.clusterId,
        accountId: order.accountId,
        amount: extensionAmount(extended.data),
        addSeconds: order.addSeconds,
        txSignature: landed.signature,
        eventIndex,
        slot: landed.slot,
        at: new Date(),
      });
      return { created: recorded.created, record: recorded };
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

async function insertClaim(db: Db | DbTransaction, signature: string, data: Extract<GpumeshEvent, { name: "RewardsClaimed" }>["data"], at: Date): Promise<boolean> {
  const { count } = await db.claim.createMany({
    data: [{ claimant: data.claimant.toBase58(), amount: data.amount, cumulative: data.cumulative, epoch: Number(data.epoch), txSignature: signature, claimedAt: at }],
    skipDuplicates: true,
  });
  return count === 1;
}

type StakeEvent = Extract<GpumeshEvent, { name: "DeviceStaked" | "DeviceUnstakeRequested" | "DeviceStakeWithdrawn" | "DeviceStakeSlashed" }>;

const unixDate = (seconds: bigint) => new Date(Number(seconds) * 1000);

/**
 * One stake event onto its device's `device_stake` row. Each event carries the stake's state after
 * it (DeviceStaked its total, a slash what remains), so the row becomes that state, and only when the
 * event is newer than what wrote the row: its chain_event.seq (assigned once, at the event's first
 * insert, in chain order) must exceed `last_event_seq`. Re-indexing the same event, or an older one
 * after a lost cursor, therefore changes nothing.
 *
 * DeviceStaked creates the row (or, `created`, restarts it: a new stake after a withdrawal starts at
 * zero slashed); the other three only update a row their stake's DeviceStaked wrote first (on-chain
 * they cannot precede it).
 */
async function mirrorStake(db: DbTransaction, tx: IndexedTransaction, eventIndex: number, event: StakeEvent): Promise<void> {
  const row = await db.chainEvent.findUniqueOrThrow({ where: { signature_eventIndex: { signature: tx.signature, eventIndex } }, select: { seq: true } });
  const deviceId = deviceIdToUuid(event.data.deviceId);
  const last = { lastSignature: tx.signature, lastSlot: BigInt(tx.slot), lastEventSeq: row.seq };
  const newer = { deviceId, lastEventSeq: { lt: row.seq } };
  switch (event.name) {
    case "DeviceStaked": {
      const d = event.data;
      const state = {
        stakeAddress: d.deviceStake.toBase58(), staker: d.authority.toBase58(), weightBps: d.weightBps, amount: d.total, required: d.required, status: "STAKED" as const,
        ...(d.created ? { unstakeRequestedAt: null, withdrawableAt: null, slashedTotal: 0n } : {}),
        ...last,
      };
      // Insert the first time; afterwards update only from a newer event (the row lock of the
      // conflicting insert serialises this with any concurrent pass).
      const { count } = await db.deviceStake.createMany({ data: [{ deviceId, ...state }], skipDuplicates: true });
      if (count === 0) await db.deviceStake.updateMany({ where: newer, data: state });
      return;
    }
    case "DeviceUnstakeRequested":
      await db.deviceStake.updateMany({
        where: newer,
        data: { status: "UNSTAKING", amount: event.data.amount, unstakeRequestedAt: unixDate(event.data.requestedAt), withdrawableAt: unixDate(event.data.withdrawableAt), ...last },
      });
      return;
    case "DeviceStakeWithdrawn":
      await db.deviceStake.updateMany({ where: newer, data: { status: "WITHDRAWN", amount: 0n, slashedTotal: event.data.slashedTotal, ...last } });
      return;
    case "DeviceStakeSlashed":
      await db.deviceStake.updateMany({ where: newer, data: { amount: event.data.remaining, slashedTotal: event.data.slashedTotal, ...last } });
      return;
  }
}

/** The JSON form of a decoded event: integers as strings, keys base58, byte arrays hex. */
export function eventJson(data: Record<string, unknown>): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(data)) {
    if (typeof value === "bigint") out[key] = value.toString();
    else if (value instanceof PublicKey) out[key] = value.toBase58();
    else if (value instanceof Uint8Array) out[key] = hex(value);
    else if (typeof value === "number" || typeof value === "boolean" || typeof value === "string" || value === null) out[key] = value;
    // An Anchor enum decodes as `{ Variant: {} }` (a slash's reason): its variant's name.
    else if (typeof value === "object" && Object.keys(value).length === 1) out[key] = Object.keys(value)[0]!;
    else out[key] = String(value);
  }
  return out;
}

type ChainEventRow = Prisma.ChainEventCreateManyInput;

/** The explorer's columns of one event (see the ChainEvent model): which amounts it adds to which sums. */
function eventRow(tx: IndexedTransaction, index: number, event: GpumeshEvent, meshMint: string, knownMints: ReadonlyMap<string, string>): ChainEventRow {
  const row: ChainEventRow = {
    signature: tx.signature,
    eventIndex: index,
    slot: BigInt(tx.slot),
    blockTime: tx.blockTime === null ? null : new Date(tx.blockTime * 1000),
    name: event.name,
    data: eventJson(event.data as unknown as Record<string, unknown>),
  };
  const leaseMint = (lease: PublicKey) => tx.leases[lease.toBase58()]?.mint ?? knownMints.get(lease.toBase58()) ?? null;
  switch (event.name) {
    case "LeaseOpened":
      return { ...row, lease: event.data.lease.toBase58(), leaseId: event.data.leaseId, mint: event.data.mint.toBase58(), deposit: event.data.deposited };
    case "AllocationSettled": {
      const d = event.data;
      return { ...row, lease: d.lease.toBase58(), mint: leaseMint(d.lease), gross: d.gross, fee: d.fee, burned: d.burned, treasury: d.treasury, supplierAmount: d.supplierAmount };
    }
    case "LeaseEnded":
      return { ...row, lease: event.data.lease.toBase58(), leaseId: event.data.leaseId, mint: leaseMint(event.data.lease), refund: event.data.refund };
    case "LeaseCancelled":
      return { ...row, lease: event.data.lease.toBase58(), leaseId: event.data.leaseId, mint: leaseMint(event.data.lease), refund: event.data.refund };
    case "LeaseActivated":
    case "LeaseClosed":
    case "LeaseExtended":
      return { ...row, lease: event.data.lease.toBase58(), leaseId: event.data.leaseId, mint: leaseMint(event.data.lease) };
    case "AllocationAdded":
    case "AllocationReleased":
      return { ...row, lease: event.data.lease.toBase58(), mint: leaseMint(event.data.lease) };
    case "EmissionsMinted":
      return { ...row, mint: meshMint, emission: event.data.amount };
    case "RewardsClaimed":
      return { ...row, claimant: event.data.claimant.toBase58(), mint: meshMint, claimAmount: event.data.amount };
    default:
      return row;
  }
}

/**
 * Mirrors program events into Postgres, one database transaction per chain transaction, together
 * with the cursor (`chain_cursor`, one row per program id):
 * - every event → a `chain_event` row (settlements and burns included: the explorer's source);
 * - LeaseOpened → Payment DEPOSIT (CONFIRMED), LeaseEnded with a refund → Payment REFUND;
 * - LeaseExtended of a cluster's lease → Payment EXTENSION, its journal, and the end moved
 *   (`recordLandedExtension`, the same idempotent write as the gateway's `extensionRecorder`: an
 *   extension the renter's wallet sent without the web is booked too); of no cluster's lease → a
 *   Payment EXTENSION for the wallet, linked to no cluster;
 * - RewardsClaimed → Claim, plus journal `rewards:vault → rewards:claimant:<wallet>` (MESH);
 * - EmissionsMinted → journal `minted → rewards:vault` (MESH);
 * - RewardRootPosted → the RewardEpoch row of that epoch marked POSTED (root, signature);
 * - DeviceStaked, DeviceUnstakeRequested, DeviceStakeWithdrawn, DeviceStakeSlashed → the device's
 *   `device_stake` row (`mirrorStake`): what the rewards epoch reads to pay staked devices only.
 * LeaseSettled is not journaled: the scheduler's settle job writes the ledger for that money, so
 * it would count twice.
 */
export class PrismaChainIndexStore implements ChainIndexStore {
  readonly programId: PublicKey;
  private readonly meshMint: string;

  constructor(
    private readonly db: Db,
    meshMint: PublicKey,
    options: { programId?: PublicKey } = {},
  ) {
    this.programId = options.programId ?? GPUMESH_PROGRAM_ID;
    this.meshMint = meshMint.toBase58();
  }

  async getCursor(): Promise<string | null> {
    const row = await this.db.chainCursor.findUnique({ where: { programId: this.programId.toBase58() }, select: { signature: true } });
    return row?.signature ?? null;
  }

  /**
   * A deposit or refund as a confirmed Payment, once per (signature, event index). The cluster is the
   * one whose lease is this lease account, never matched by lease id alone (anyone can open a lease
   * under any id from their own wallet).
   */
  private async recordPayment(db: DbTransaction, tx: IndexedTransaction, eventIndex: number, at: Date, wallet: string, lease: PublicKey, kind: "DEPOSIT" | "REFUND" | "EXTENSION", mint: string | undefined, amount: bigint): Promise<void> {
    const accountId = await accountIdFor(db, wallet);
    const match = await db.cluster.findUnique({ where: { leasePda: lease.toBase58() }, select: { id: true, depositAmount: true } });
    // A deposit that is not the cluster's quote (a lease opened outside the server, other terms) is not
    // that cluster's payment: recorded for the wallet, linked to no cluster (the lease sync cancels it).
    const cluster = match && (kind !== "DEPOSIT" || match.depositAmount === amount) ? match : null;
    await db.payment.createMany({
      data: [
        {
          accountId,
          clusterId: cluster?.id ?? null,
          kind,
          token: mint === this.meshMint ? "MESH" : "USDC",
          amount,
          txSignature: tx.signature,
          eventIndex,
          status: "CONFIRMED",
          slot: BigInt(tx.slot),
          confirmedAt: at,
        },
      ],
      skipDuplicates: true,
    });
  }

  async apply(tx: IndexedTransaction, previous: string | null): Promise<void> {
    const programId = this.programId.toBase58();
    await this.db.$transaction(async (db) => {
      // Compare-and-set: the row lock makes a concurrent pass wait here, then see the moved cursor.
      const [current] = await db.$queryRaw<{ signature: string }[]>`select signature from chain_cursor where program_id = ${programId} for update`;
      if ((current?.signature ?? null) !== previous) throw new CursorMovedError(previous, current?.signature ?? null);
      if (tx.events.length) {
        // Instructions like activate_lease name no mint: take the lease's from its LeaseOpened row.
        const unnamed = [...new Set(tx.events.flatMap((e) => ("lease" in e.data && e.data.lease instanceof PublicKey ? [e.data.lease.toBase58()] : [])))].filter((lease) => !tx.leases[lease]);
        const opened = unnamed.length ? await db.chainEvent.findMany({ where: { name: "LeaseOpened", lease: { in: unnamed } }, select: { lease: true, mint: true } }) : [];
        const knownMints = new Map(opened.flatMap((row) => (row.lease && row.mint ? [[row.lease, row.mint] as const] : [])));
        await db.chainEvent.createMany({ data: tx.events.map((event, index) => eventRow(tx, index, event, this.meshMint, knownMints)), skipDuplicates: true });
      }
      await this.mirror(db, tx);
      await db.chainCursor.upsert({
        where: { programId },
        create: { programId, signature: tx.signature, slot: BigInt(tx.slot) },
        update: { signature: tx.signature, slot: BigInt(tx.slot) },
      });
    });
  }

  private async mirror(db: DbTransaction, tx: IndexedTransaction): Promise<void> {
    const at = tx.blockTime ? new Date(tx.blockTime * 1000) : new Date();
    let index = 0;
    for (const event of tx.events) {
      const eventIndex = index++;
      const ref = `chain:${tx.signature}:${eventIndex}`;
      switch (event.name) {
        case "LeaseOpened":
          await this.recordPayment(db, tx, eventIndex, at, event.data.renter.toBase58(), event.data.lease, "DEPOSIT", event.data.mint.toBase58(), event.data.deposited);
          break;
        case "LeaseExtended": {
          const lease = event.data.lease.toBase58();
          const renter = tx.leases[lease]?.renter;
          const amount = extensionAmount(event.data);
          const cluster = await db.cluster.findUnique({ where: { leasePda: lease }, select: { id: true, renterId: true } });
          if (cluster) {
            await recordLandedExtension(db, {
              clusterId: cluster.id, accountId: renter ? await accountIdFor(db, renter) : cluster.renterId, amount, addSeconds: Number(event.data.extraSeconds),
              txSignature: tx.signature, eventIndex, slot: tx.slot, at,
            });
          } else if (renter) {
            await this.recordPayment(db, tx, eventIndex, at, renter, event.data.lease, "EXTENSION", tx.leases[lease]?.mint, amount);
          }
          break;
        }
        case "LeaseEnded":
        case "LeaseCancelled": {
          const lease = tx.leases[event.data.lease.toBase58()];
          if (event.data.refund === 0n || !lease?.renter) break;
          await this.recordPayment(db, tx, eventIndex, at, lease.renter, event.data.lease, "REFUND", lease.mint, event.data.refund);
          break;
        }
        case "EmissionsMinted":
          if (event.data.amount > 0n) {
            await postJournal(db, {
              reference: ref,
              description: `emission up to hour ${event.data.hour} (tx ${tx.signature})`,
              token: "MESH",
              occurredAt: at,
              lines: transfer(LedgerAccounts.minted(), LedgerAccounts.rewardsVault(), event.data.amount),
            });
          }
          break;
        case "RewardRootPosted":
          await db.rewardEpoch.updateMany({
            where: { epoch: Number(event.data.epoch), postedTxSignature: null },
            data: { status: "POSTED", merkleRoot: hex(event.data.root), cumulativeTotal: event.data.totalCumulative, postedTxSignature: tx.signature, postedAt: at },
          });
          break;
        case "DeviceStaked":
        case "DeviceUnstakeRequested":
        case "DeviceStakeWithdrawn":
        case "DeviceStakeSlashed":
          await mirrorStake(db, tx, eventIndex, event);
          break;
        case "RewardsClaimed":
          await insertClaim(db, tx.signature, event.data, at);
          await postJournal(db, {
            reference: ref,
            description: `reward claim of ${event.data.claimant.toBase58()} (tx ${tx.signature})`,
            token: "MESH",
            occurredAt: at,
            lines: transfer(LedgerAccounts.rewardsVault(), LedgerAccounts.supplierRewards(event.data.claimant.toBase58()), event.data.amount),
          });
          break;
        default:
          break;
      }
    }
  }
}
