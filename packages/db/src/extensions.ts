import { LedgerAccounts, transfer, type ClusterStatus } from "@gpumesh/core";
import type { Db, DbTransaction } from "./client.ts";
import { isExclusionViolation } from "./errors.ts";
import type { Payment } from "./generated/prisma/client.ts";
import { postJournal } from "./ledger.ts";
import { RESERVATION_LOCK_SPACE, unavailableDevices } from "./reservations.ts";
import { floorSecond, ledgerReferences, postDepositJournal } from "./settlement.ts";

/**
 * The renter's changes to a running lease: an extension (the on-chain `extend_lease` tops the escrow
 * up at the same price and moves the end; here the ledger follows) and an end request. Both take the
 * cluster's row lock, like every status change (cluster-transitions.ts), so an end request and an
 * extension that race are serialized: whichever commits second sees the first (an extension after an
 * end request is refused; an end request after an extension ends a longer lease early, and the top-up
 * comes back with the refund).
 */

/** The longest lease, extensions included: the cluster request's maximum duration (90 days). */
export const MAX_LEASE_SECONDS = 90 * 24 * 3600;

/** Why a lease cannot be extended. */
export type ExtensionRefusal =
  | { code: "not-found" }
  /** Not serving yet (REQUESTED … DEPLOYING): the lease has no end to move. */
  | { code: "not-running"; status: ClusterStatus }
  /** ENDED, FAILED, REFUNDED. */
  | { code: "ended"; status: ClusterStatus }
  /** ENDING, or the renter asked to end it. */
  | { code: "ending" }
  /** Its paid end has passed (or has been settled up to): the program refuses too once `now ≥ end_ts`. */
  | { code: "expired"; endsAt: Date }
  /** Another cluster has booked some of its devices after the current end. */
  | { code: "devices-booked"; deviceIds: string[] }
  /** Its supplier paused some of its devices: they serve this lease to its end, and take no more time. */
  | { code: "devices-paused"; deviceIds: string[] }
  /** The lease would last longer than `MAX_LEASE_SECONDS`. */
  | { code: "too-long"; maxSeconds: number; leaseSeconds: number }
  | { code: "invalid-seconds"; addSeconds: number }
  /** The top-up is not `pricePerSecond × addSeconds` (only from `recordExtension`). */
  | { code: "amount-mismatch"; expected: bigint; amount: bigint };

export type ExtensionCheck =
  | {
      ok: true;
      /** What the renter pays: `pricePerSecond × addSeconds`, base units of the cluster's token. */
      amount: bigint;
      pricePerSecond: bigint;
      /** The current paid end and the one after the extension. */
      endsAt: Date;
      newEndsAt: Date;
    }
  | { ok: false; refusal: ExtensionRefusal };

export class ExtensionRefusedError extends Error {
  constructor(
    readonly clusterId: string,
    readonly refusal: ExtensionRefusal,
  ) {
    super(`cluster ${clusterId}: extension refused: ${describeRefusal(refusal)}`);
    this.name = "ExtensionRefusedError";
  }
}

/** The same transaction signature and event index were recorded for another cluster or amount. */
export class ExtensionConflictError extends Error {
  constructor(readonly txSignature: string, readonly eventIndex: number, what: string) {
    super(`extension ${txSignature}#${eventIndex}: ${what}`);
    this.name = "ExtensionConflictError";
  }
}

export function describeRefusal(refusal: ExtensionRefusal): string {
  switch (refusal.code) {
    case "not-found":
      return "no such cluster";
    case "not-running":
      return `the cluster is ${refusal.status.toLowerCase()}, not running yet`;
    case "ended":
      return `the cluster is ${refusal.status.toLowerCase()}`;
    case "ending":
      return "the lease is ending";
    case "expired":
      return `the lease reached its end (${refusal.endsAt.toISOString()})`;
    case "devices-booked":
      return `${refusal.deviceIds.length} of its device(s) are booked after its end by another cluster`;
    case "devices-paused":
      return `${refusal.deviceIds.length} of its device(s) were paused by their supplier: they serve this lease to its end and take no more time`;
    case "too-long":
      return `the lease would last ${refusal.leaseSeconds} s, more than ${refusal.maxSeconds} s`;
    case "invalid-seconds":
      return `${refusal.addSeconds} is not a positive whole number of seconds`;
    case "amount-mismatch":
      return `the top-up is ${refusal.amount}, the price of the extra time is ${refusal.expected}`;
  }
}

interface LeaseRow {
  id: string;
  renterId: string;
  status: ClusterStatus;
  paymentToken: "USDC" | "MESH";
  pricePerSecond: bigint;
  depositAmount: bigint;
  durationHours: number;
  startedAt: Date | null;
  endsAt: Date | null;
  endRequestedAt: Date | null;
}

const LEASE_SELECT = {
  id: true, renterId: true, status: true, paymentToken: true, pricePerSecond: true, depositAmount: true, durationHours: true, startedAt: true, endsAt: true, endRequestedAt: true,
} as const;

/**
 * Seconds the renter has paid for beyond the quoted duration: the on-chain lease's `max_seconds` is the
 * quoted `durationHours · 3600` plus every extension's `extra_seconds`, and each extension escrowed
 * `price · extra`, so the deposit tells them (`deposit = price · max_seconds`).
 */
export function extendedSeconds(cluster: { pricePerSecond: bigint; depositAmount: bigint; durationHours: number }): bigint {
  if (cluster.pricePerSecond <= 0n) return 0n;
  const extra = cluster.depositAmount - cluster.pricePerSecond * BigInt(cluster.durationHours * 3600);
  return extra > 0n ? extra / cluster.pricePerSecond : 0n;
}

/** The lease's `max_seconds` on-chain: the quoted duration plus its extensions. */
export function leaseMaxSeconds(cluster: { pricePerSecond: bigint; depositAmount: bigint; durationHours: number }): bigint {
  return BigInt(cluster.durationHours * 3600) + extendedSeconds(cluster);
}

/** The checks shared by `checkExtension` and `recordExtension` (the latter under the row lock). */
async function evaluate(db: Db | DbTransaction, cluster: LeaseRow | null, addSeconds: number, at: Date): Promise<ExtensionCheck> {
  const refuse = (refusal: ExtensionRefusal): ExtensionCheck => ({ ok: false, refusal });
  if (!cluster) return refuse({ code: "not-found" });
  if (!Number.isSafeInteger(addSeconds) || addSeconds <= 0) return refuse({ code: "invalid-seconds", addSeconds });
  switch (cluster.status) {
    case "RUNNING":
    case "DEGRADED":
      break;
    case "ENDING":
      return refuse({ code: "ending" });
    case "ENDED":
    case "FAILED":
    case "REFUNDED":
      return refuse({ code: "ended", status: cluster.status });
    default:
      return refuse({ code: "not-running", status: cluster.status });
  }
  if (cluster.endRequestedAt) return refuse({ code: "ending" });
  if (!cluster.endsAt || !cluster.startedAt) return refuse({ code: "not-running", status: cluster.status });
  const end = floorSecond(cluster.endsAt);
  if (at.getTime() >= end.getTime()) return refuse({ code: "expired", endsAt: cluster.endsAt });
  // Time up to the end already settled (its last, partial period) cannot be re-cut into a longer period.
  const settled = await db.usageRecord.aggregate({ where: { clusterId: cluster.id }, _max: { periodEnd: true } });
  if (settled._max.periodEnd && settled._max.periodEnd.getTime() >= end.getTime()) return refuse({ code: "expired", endsAt: cluster.endsAt });
  const leaseSeconds = Number(leaseMaxSeconds(cluster)) + addSeconds;
  if (leaseSeconds > MAX_LEASE_SECONDS) return refuse({ code: "too-long", maxSeconds: MAX_LEASE_SECONDS, leaseSeconds });
  const newEndsAt = new Date(cluster.endsAt.getTime() + addSeconds * 1000);
  const held = await db.allocation.findMany({ where: { clusterId: cluster.id, status: "ACTIVE" }, select: { deviceId: true } });
  const unavailable = await unavailableDevices(db, held.map((a) => a.deviceId), cluster.endsAt, newEndsAt, { exceptClusterId: cluster.id });
  // Only another cluster's booking blocks it: a device that is offline now is the node-lost path's business.
  const booked = Object.entries(unavailable).filter(([, reason]) => reason === "reserved").map(([id]) => id).sort();
  if (booked.length) return refuse({ code: "devices-booked", deviceIds: booked });
  const paused = Object.entries(unavailable).filter(([, reason]) => reason === "paused").map(([id]) => id).sort();
  if (paused.length) return refuse({ code: "devices-paused", deviceIds: paused });
  return { ok: true, amount: cluster.pricePerSecond * BigInt(addSeconds), pricePerSecond: cluster.pricePerSecond, endsAt: cluster.endsAt, newEndsAt };
}

/**
 * May this running (or degraded) cluster be extended by `addSeconds`? Its devices must be free after
 * its current end, for the extra time. Returns the top-up (`pricePerSecond × addSeconds`) and the new
 * end, or why not. Read-only: `recordExtension` checks again under the row lock once the top-up landed.
 */
export async function checkExtension(db: Db, clusterId: string, addSeconds: number, now = new Date()): Promise<ExtensionCheck> {
  const cluster = await db.cluster.findUnique({ where: { id: clusterId }, select: LEASE_SELECT });
  return evaluate(db, cluster, addSeconds, now);
}

export interface ExtensionInput {
  clusterId: string;
  /** The paying account (the renter). */
  accountId: string;
  /** Base units escrowed by the extension (the LeaseExtended event's `deposited` delta). */
  amount: bigint;
  addSeconds: number;
  txSignature: string;
  /** Index of the LeaseExtended event in its transaction. */
  eventIndex: number;
  slot: bigint | number | null;
  /** When the top-up landed (block time); the checks are made at this instant. */
  at: Date;
}

export interface RecordedExtension {
  /** False on a replay (the payment of this signature and event was recorded before): nothing written. */
  created: boolean;
  payment: Payment;
  /** True when the end moved; false for a top-up booked without an extension (`recordUnusableExtension`). */
  extended: boolean;
  /** The cluster's paid end after this call. */
  endsAt: Date | null;
}

const lockLease = async (tx: DbTransaction, clusterId: string): Promise<LeaseRow | null> => {
  const [row] = await tx.$queryRaw<{ id: string }[]>`select id::text from cluster where id = ${clusterId}::uuid for update`;
  return row ? tx.cluster.findUnique({ where: { id: clusterId }, select: LEASE_SELECT }) : null;
};

/** The payment already recorded for this (signature, event), if it is this extension's; throws if it is another's. */
async function replayed(tx: DbTransaction, input: ExtensionInput): Promise<Payment | null> {
  const payment = await tx.payment.findUnique({ where: { txSignature_eventIndex: { txSignature: input.txSignature, eventIndex: input.eventIndex } } });
  if (!payment) return null;
  if (payment.kind !== "EXTENSION" || payment.clusterId !== input.clusterId || payment.amount !== input.amount) {
    throw new ExtensionConflictError(input.txSignature, input.eventIndex, `already recorded as a ${payment.kind} of ${payment.amount} for cluster ${payment.clusterId ?? "(none)"}`);
  }
  return payment;
}

/** The top-up into the cluster's escrow: its Payment row and its journal (renter wallet → escrow). */
async function bookTopUp(tx: DbTransaction, cluster: LeaseRow, input: ExtensionInput, reference: string, description: string): Promise<Payment> {
  // The escrow holds the original deposit before it grows (a no-op when the payment path posted it):
  // posted first, at the deposit as it was, so the extension's journal is the top-up alone.
  await postDepositJournal(tx, cluster.id, cluster.startedAt ?? input.at);
  const payment = await tx.payment.create({
    data: {
      clusterId: cluster.id, accountId: input.accountId, kind: "EXTENSION", token: cluster.paymentToken, amount: input.amount, txSignature: input.txSignature,
      eventIndex: input.eventIndex, status: "CONFIRMED", slot: input.slot === null ? null : BigInt(input.slot), confirmedAt: input.at,
    },
  });
  await postJournal(tx, {
    reference,
    description,
    token: cluster.paymentToken,
    occurredAt: input.at,
    lines: transfer(LedgerAccounts.renterWallet(cluster.renterId, cluster.paymentToken), LedgerAccounts.escrow(cluster.id, cluster.paymentToken), input.amount),
  });
  return payment;
}

/** Whether a recorded extension moved the end (its journal is the applied one, not the unused one). */
async function appliedBefore(tx: DbTransaction, input: ExtensionInput): Promise<boolean> {
  return (await tx.journal.count({ where: { reference: ledgerReferences.extension(input.clusterId, input.txSignature, input.eventIndex) } })) > 0;
}

async function clusterEvent(tx: DbTransaction, cluster: LeaseRow, reason: string, at: Date): Promise<void> {
  const trimmed = reason.length > 500 ? `${reason.slice(0, 497)}...` : reason;
  await tx.clusterEvent.create({ data: { clusterId: cluster.id, fromStatus: cluster.status, toStatus: cluster.status, reason: trimmed, at } });
}

/** "2h", "1h 30m", "45m 10s": an extension's length for people. */
export function formatSeconds(total: number): string {
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return [h ? `${h}h` : "", m ? `${m}m` : "", s || total === 0 ? `${s}s` : ""].filter(Boolean).join(" ");
}

/**
 * Records a landed extension in ONE transaction, under the cluster's row lock: a CONFIRMED EXTENSION
 * Payment, the balanced journal of the top-up (renter wallet → the cluster's escrow, like the
 * deposit), the paid end and the deposit moved, the ACTIVE allocations' end moved (the exclusion
 * constraint still guards every device), and a cluster event. Idempotent by (txSignature, eventIndex):
 * a replay returns the first record with `created: false`.
 *
 * Throws `ExtensionRefusedError` (nothing written) when the amount is not `pricePerSecond ×
 * addSeconds` or the lease cannot be extended now (see `ExtensionRefusal`; a device booked meanwhile
 * by another cluster surfaces as `devices-booked`, also when only the exclusion constraint caught it).
 * A top-up that landed on-chain but is refused here still has to be booked: `recordUnusableExtension`.
 */
export async function recordExtension(db: Db, input: ExtensionInput): Promise<RecordedExtension> {
  try {
    return await db.$transaction((tx) => recordExtensionInTx(tx, input));
  } catch (error) {
    // Another cluster booked a device after our end past the device locks (the constraint is the last guard).
    if (isExclusionViolation(error)) throw new ExtensionRefusedError(input.clusterId, { code: "devices-booked", deviceIds: [] });
    throw error;
  }
}

/**
 * `recordExtension` in the caller's transaction. Every refusal is thrown before anything is written,
 * so the caller may go on in the same transaction (`recordLandedExtension` books the top-up then).
 */
export async function recordExtensionInTx(tx: DbTransaction, input: ExtensionInput): Promise<RecordedExtension> {
  const cluster = await lockLease(tx, input.clusterId);
  const previous = await replayed(tx, input);
  if (previous) return { created: false, payment: previous, extended: await appliedBefore(tx, input), endsAt: cluster?.endsAt ?? null };
  if (cluster && (cluster.status === "RUNNING" || cluster.status === "DEGRADED")) {
    // The devices' reservation locks (the ones gang reservations try-lock), in device order: a
    // reservation of these devices racing with us waits out this transaction or reports them
    // contended, so the check below sees every booking that could overlap the extra time.
    const held = await tx.allocation.findMany({ where: { clusterId: cluster.id, status: "ACTIVE" }, select: { deviceId: true }, orderBy: { deviceId: "asc" } });
    for (const { deviceId } of held) await tx.$queryRaw`select pg_advisory_xact_lock(${RESERVATION_LOCK_SPACE}::int, hashtext(${deviceId}::text))::text`;
  }
  const check = await evaluate(tx, cluster, input.addSeconds, input.at);
  if (!check.ok) throw new ExtensionRefusedError(input.clusterId, check.refusal);
  if (input.amount !== check.amount) throw new ExtensionRefusedError(input.clusterId, { code: "amount-mismatch", expected: check.amount, amount: input.amount });
  const lease = cluster!;
  const payment = await bookTopUp(tx, lease, input, ledgerReferences.extension(lease.id, input.txSignature, input.eventIndex), `extension of cluster ${lease.id} by ${input.addSeconds} s (tx ${input.txSignature})`);
  await tx.cluster.update({ where: { id: lease.id }, data: { endsAt: check.newEndsAt, depositAmount: lease.depositAmount + input.amount } });
  await tx.allocation.updateMany({ where: { clusterId: lease.id, status: "ACTIVE" }, data: { endsAt: check.newEndsAt } });
  await clusterEvent(tx, lease, `extended by ${formatSeconds(input.addSeconds)}, new end ${check.newEndsAt.toISOString()}`, input.at);
  return { created: true, payment, extended: true, endsAt: check.newEndsAt };
}

/**
 * An extension that landed on-chain (the money is in the escrow whatever the ledger thinks of it):
 * recorded as an extension when it may be one, else booked as a top-up that the end refunds
 * (`recordUnusableExtension`), with `refusal` saying why. Idempotent by (txSignature, eventIndex); in
 * the caller's transaction when given one (the chain indexer), else in its own.
 */
export async function recordLandedExtension(db: Db | DbTransaction, input: ExtensionInput): Promise<RecordedExtension & { refusal?: ExtensionRefusal }> {
  const run = async (tx: DbTransaction) => {
    try {
      return await recordExtensionInTx(tx, input);
    } catch (error) {
      if (!(error instanceof ExtensionRefusedError) || error.refusal.code === "not-found") throw error;
      return { ...(await recordUnusableExtensionInTx(tx, input, error.refusal)), refusal: error.refusal };
    }
  };
  return "$transaction" in db ? db.$transaction(run) : run(db);
}

/** The extension recorded for a transaction signature (its first LeaseExtended event), if any. */
export async function findRecordedExtension(db: Db, txSignature: string): Promise<RecordedExtension | null> {
  const payment = await db.payment.findFirst({ where: { txSignature, kind: "EXTENSION" }, orderBy: { eventIndex: "asc" } });
  if (!payment?.clusterId) return null;
  const cluster = await db.cluster.findUnique({ where: { id: payment.clusterId }, select: { endsAt: true } });
  const applied = await db.journal.count({ where: { reference: ledgerReferences.extension(payment.clusterId, txSignature, payment.eventIndex) } });
  return { created: false, payment, extended: applied > 0, endsAt: cluster?.endsAt ?? null };
}

/**
 * Books a top-up that landed on-chain but cannot extend the lease (`recordExtension` refused it, e.g.
 * the renter sent `extend_lease` from their wallet to a lease that is ending, or another cluster
 * booked its devices meanwhile): the money is in the escrow, so the ledger holds it there too (Payment,
 * journal, deposit), the end does not move, and the end's refund returns it, exactly as the program's
 * `end_lease`/`cancel_lease` will (`refund = deposited − owed`). When the escrow was already refunded
 * (ENDED, REFUNDED), the top-up is refunded at once. Idempotent by (txSignature, eventIndex). Throws
 * only for a cluster that does not exist.
 */
export async function recordUnusableExtension(db: Db, input: ExtensionInput, refusal: ExtensionRefusal): Promise<RecordedExtension> {
  return db.$transaction((tx) => recordUnusableExtensionInTx(tx, input, refusal));
}

async function recordUnusableExtensionInTx(tx: DbTransaction, input: ExtensionInput, refusal: ExtensionRefusal): Promise<RecordedExtension> {
  const cluster = await lockLease(tx, input.clusterId);
  if (!cluster) throw new ExtensionRefusedError(input.clusterId, { code: "not-found" });
  const previous = await replayed(tx, input);
  if (previous) return { created: false, payment: previous, extended: await appliedBefore(tx, input), endsAt: cluster.endsAt };
  const why = describeRefusal(refusal);
  const payment = await bookTopUp(tx, cluster, input, ledgerReferences.unusedExtension(cluster.id, input.txSignature, input.eventIndex), `top-up of cluster ${cluster.id} that cannot extend it (${why}; tx ${input.txSignature}): refunded with the lease`);
  await tx.cluster.update({ where: { id: cluster.id }, data: { depositAmount: cluster.depositAmount + input.amount } });
  const refunded = (await tx.journal.count({ where: { reference: ledgerReferences.refund(cluster.id) } })) > 0;
  if (refunded) {
    await postJournal(tx, {
      reference: ledgerReferences.extensionRefund(cluster.id, input.txSignature, input.eventIndex),
      description: `refund of the top-up of cluster ${cluster.id} (tx ${input.txSignature}): ${why}`,
      token: cluster.paymentToken,
      occurredAt: input.at,
      lines: transfer(LedgerAccounts.escrow(cluster.id, cluster.paymentToken), LedgerAccounts.renterWallet(cluster.renterId, cluster.paymentToken), input.amount),
    });
  }
  await clusterEvent(tx, cluster, `top-up of ${input.amount} for ${formatSeconds(input.addSeconds)} not applied (${why}): ${refunded ? "refunded" : "refunded when the lease ends"}`, input.at);
  return { created: true, payment, extended: false, endsAt: cluster.endsAt };
}

/**
 * Fixes the instant the renter asked to end a running lease: the first request wins, and a lease that
 * started after the request (it was deploying when asked) ends when it started. No-op unless the
 * cluster is RUNNING or DEGRADED. The end job ends every lease at this instant when it is set (an
 * expiry or degraded end that runs after a terminate included), however late or often it runs. One
 * UPDATE: it takes the cluster's row lock, so it serializes with `recordExtension`.
 */
export async function recordEndRequest(db: Db | DbTransaction, clusterId: string, requestedAt: Date): Promise<void> {
  await db.$executeRaw`update cluster set end_requested_at = greatest(${requestedAt}::timestamptz, started_at)
                        where id = ${clusterId}::uuid and end_requested_at is null and status in ('RUNNING', 'DEGRADED')`;
}
