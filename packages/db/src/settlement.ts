import { allocationSettlement, LedgerAccounts, settlementSplit, transfer, type LedgerLine, type PaymentToken, type SettlementSplit } from "@gpumesh/core";
import type { Db } from "./client.ts";
import { Prisma } from "./generated/prisma/client.ts";
import { postJournal } from "./ledger.ts";
import type { DbTransaction } from "./client.ts";

/**
 * Lease money in the ledger: deposit into escrow, hourly settlement of used time (escrow → suppliers,
 * fee to the treasury, burn for MESH), and the refund of what was not used. Every journal has a
 * reference derived from domain ids, so a retried job posts it once; usage rows are unique per
 * (allocation, period start) for the same reason.
 */

export const SETTLEMENT_PERIOD_MS = 3_600_000;

export interface SettlementConfig {
  feeBps: bigint;
  burnBps: bigint;
}

export const ledgerReferences = {
  deposit: (clusterId: string) => `deposit:${clusterId}`,
  settle: (clusterId: string, periodStart: Date) => `settle:${clusterId}:${periodStart.toISOString()}`,
  refund: (clusterId: string) => `refund:${clusterId}`,
  /** A lease extension's top-up into escrow (extensions.ts), one per landed LeaseExtended event. */
  extension: (clusterId: string, txSignature: string, eventIndex: number) => `extension:${clusterId}:${txSignature}:${eventIndex}`,
  /** A top-up that could not extend the lease: into escrow, refunded with the lease. */
  unusedExtension: (clusterId: string, txSignature: string, eventIndex: number) => `extension:${clusterId}:${txSignature}:${eventIndex}:unused`,
  /** The refund of such a top-up when the escrow had been refunded already (counted with the refund). */
  extensionRefund: (clusterId: string, txSignature: string, eventIndex: number) => `refund:${clusterId}:extension:${txSignature}:${eventIndex}`,
} as const;

export interface SettlementPeriod {
  start: Date;
  end: Date;
}

/** Whole seconds: the chain's clock has no milliseconds, so every billed instant is floored to a second. */
export function floorSecond(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

const seconds = (date: Date) => BigInt(Math.floor(date.getTime() / 1000));
const maxDate = (...dates: (Date | null | undefined)[]) => new Date(Math.max(...dates.filter((d): d is Date => !!d).map((d) => d.getTime())));
const minDate = (...dates: (Date | null | undefined)[]) => new Date(Math.min(...dates.filter((d): d is Date => !!d).map((d) => d.getTime())));

/**
 * Hourly periods of a lease that started at `startedAt`, up to `until` (now, or when it ended) and
 * never past `endsAt`: [start + k h, min(start + (k+1) h, limit)), in whole seconds (the on-chain
 * `settle_allocation(until)` names the same instants). Only complete hours unless `includePartial`
 * (the final settlement at the end of a lease).
 */
export function settlementPeriods(startedAt: Date, until: Date, endsAt: Date | null, includePartial = false): SettlementPeriod[] {
  const first = floorSecond(startedAt).getTime();
  const limit = Math.min(floorSecond(until).getTime(), endsAt ? floorSecond(endsAt).getTime() : Number.POSITIVE_INFINITY);
  const periods: SettlementPeriod[] = [];
  for (let start = first; start < limit; start += SETTLEMENT_PERIOD_MS) {
    const fullEnd = start + SETTLEMENT_PERIOD_MS;
    // A period that reaches the lease's own end is complete even if shorter than an hour.
    const complete = fullEnd <= limit || (endsAt !== null && limit === floorSecond(endsAt).getTime());
    if (!complete && !includePartial) break;
    periods.push({ start: new Date(start), end: new Date(Math.min(fullEnd, limit)) });
  }
  return periods;
}

async function lockCluster(tx: DbTransaction, clusterId: string) {
  const [row] = await tx.$queryRaw<{ id: string }[]>`select id::text from cluster where id = ${clusterId}::uuid for update`;
  if (!row) throw new Error(`cluster ${clusterId} does not exist`);
  return tx.cluster.findUniqueOrThrow({
    where: { id: clusterId },
    select: {
      id: true, renterId: true, paymentToken: true, pricePerSecond: true, depositAmount: true, gpuCount: true, startedAt: true, endsAt: true,
      endedAt: true, endRequestedAt: true, status: true, feeBps: true, burnBps: true,
    },
  });
}

type LockedCluster = Awaited<ReturnType<typeof lockCluster>>;

/** The fee and burn rates a cluster settles at: its lease's snapshot, else the configured ones. */
export function clusterRates(cluster: { feeBps: number | null; burnBps: number | null }, config: SettlementConfig): SettlementConfig {
  return { feeBps: cluster.feeBps === null ? config.feeBps : BigInt(cluster.feeBps), burnBps: cluster.burnBps === null ? config.burnBps : BigInt(cluster.burnBps) };
}

/**
 * The base units per second one node bills: its share of the renter's price for the whole cluster,
 * `⌊price · gpus / cluster gpus⌋`. Σ over a full cluster ≤ price (the program's `open_rate ≤ price`), the
 * rounding dust goes back with the refund.
 */
export function allocationRate(cluster: { pricePerSecond: bigint; gpuCount: number }, gpuCount: number): bigint {
  if (cluster.gpuCount <= 0) return 0n;
  return (cluster.pricePerSecond * BigInt(gpuCount)) / BigInt(cluster.gpuCount);
}

/** A cluster's billed allocation, as the program's `Allocation` holds it. */
export interface BilledAllocation {
  id: string;
  deviceId: string;
  supplierId: string;
  chainIndex: number;
  ratePerSecond: bigint;
  billedFrom: Date;
  billedUntil: Date | null;
  gpuCount: number;
}

/** Whole seconds an allocation serves before `until`: from its `billed_from` to its `billed_until`, the lease's end or `until`. */
function servedSeconds(allocation: { billedFrom: Date; billedUntil: Date | null }, end: Date | null, until: Date): bigint {
  const to = minDate(until, allocation.billedUntil, end);
  const served = seconds(to) - seconds(allocation.billedFrom);
  return served > 0n ? served : 0n;
}

/**
 * The instant of the last on-chain change of a lease (activation, allocation added or released): a new
 * change may not be earlier (the program keeps `last_change_ts` monotone so Σ open rates is exact at
 * every instant).
 */
function lastChange(start: Date, billed: { billedFrom: Date | null; billedUntil: Date | null }[]): Date {
  return maxDate(start, ...billed.map((a) => a.billedFrom), ...billed.map((a) => a.billedUntil));
}

/**
 * The earliest instant a new billing change (or the end) may take: not before the last on-chain change,
 * nor before time already settled (a period once paid is never re-cut by a late-noticed change; the
 * program's `settled_until_max` refuses it too).
 */
async function earliestChange(tx: DbTransaction, clusterId: string, start: Date, billed: { billedFrom: Date | null; billedUntil: Date | null }[]): Promise<Date> {
  const settled = await tx.usageRecord.aggregate({ where: { clusterId }, _max: { periodEnd: true } });
  return maxDate(lastChange(start, billed), settled._max.periodEnd);
}

/**
 * Assigns, once and in time order, how each node of a running lease is billed: an acknowledged node
 * gets the next on-chain allocation index, its rate and `billed_from` (the lease start for the first
 * gang, the agent's ack for a replacement); a released one gets `billed_until`. Instants are whole
 * seconds and never earlier than the last change already assigned (a late-noticed event is clamped
 * forward, exactly as the program would clamp it). Idempotent; call it under the cluster's row lock.
 * Returns the billed allocations.
 */
async function planBilling(tx: DbTransaction, cluster: LockedCluster): Promise<BilledAllocation[]> {
  const rows = await tx.allocation.findMany({
    where: { clusterId: cluster.id },
    select: { id: true, deviceId: true, gpuCount: true, acknowledgedAt: true, releasedAt: true, chainIndex: true, ratePerSecond: true, billedFrom: true, billedUntil: true, device: { select: { supplierId: true } } },
    orderBy: [{ acknowledgedAt: "asc" }, { id: "asc" }],
  });
  const billed = () =>
    rows
      .filter((a) => a.chainIndex !== null)
      .map((a) => ({ id: a.id, deviceId: a.deviceId, supplierId: a.device.supplierId, chainIndex: a.chainIndex!, ratePerSecond: a.ratePerSecond!, billedFrom: a.billedFrom!, billedUntil: a.billedUntil, gpuCount: a.gpuCount }))
      .sort((a, b) => a.chainIndex - b.chainIndex);
  if (!cluster.startedAt) return billed();
  const start = floorSecond(cluster.startedAt);
  const end = leaseEnd(cluster);
  type Change = { at: Date; kind: "release" | "add"; row: (typeof rows)[number] };
  const changes: Change[] = [];
  for (const row of rows) {
    let adding = false;
    if (row.chainIndex === null && row.acknowledgedAt) {
      // A node serves from the lease's start (the first gang) or its own ack (a replacement), if it was
      // not released by then (a node lost while the cluster was still deploying never served).
      const from = maxDate(start, floorSecond(row.acknowledgedAt));
      adding = !row.releasedAt || floorSecond(row.releasedAt) > from;
      if (adding) changes.push({ at: from, kind: "add", row });
    }
    if (row.releasedAt && row.billedUntil === null && (row.chainIndex !== null || adding)) {
      changes.push({ at: floorSecond(row.releasedAt), kind: "release", row });
    }
  }
  if (!changes.length) return billed();
  // Time order; at the same instant a release frees its rate before an add takes one.
  changes.sort((a, b) => a.at.getTime() - b.at.getTime() || (a.kind === b.kind ? 0 : a.kind === "release" ? -1 : 1));
  let last = await earliestChange(tx, cluster.id, start, rows);
  let nextIndex = rows.reduce((n, a) => Math.max(n, (a.chainIndex ?? -1) + 1), 0);
  for (const change of changes) {
    const at = maxDate(change.at, last);
    const row = change.row;
    if (change.kind === "add") {
      if (end && at >= end) continue; // acknowledged after the lease's end: never billed
      const rate = allocationRate(cluster, row.gpuCount);
      const open = rows.filter((a) => a.chainIndex !== null && a.billedUntil === null).reduce((sum, a) => sum + a.ratePerSecond!, 0n);
      if (open + rate > cluster.pricePerSecond) throw new Error(`cluster ${cluster.id}: billing node ${row.deviceId} would exceed the lease's price (${open} + ${rate} > ${cluster.pricePerSecond})`);
      Object.assign(row, { chainIndex: nextIndex++, ratePerSecond: rate, billedFrom: at });
      await tx.allocation.update({ where: { id: row.id }, data: { chainIndex: row.chainIndex, ratePerSecond: rate, billedFrom: at } });
    } else {
      if (row.chainIndex === null) continue; // released before it was ever billed
      const until = end ? minDate(at, end) : at;
      row.billedUntil = until;
      await tx.allocation.update({ where: { id: row.id }, data: { billedUntil: until } });
    }
    last = at;
  }
  return billed();
}

/**
 * The instant a lease's billing ends, in whole seconds: the end fixed at ENDED; while running, the
 * renter's end request when there is one (clamped to its paid end), else its paid end.
 */
export function leaseEnd(cluster: { endsAt: Date | null; endedAt: Date | null; endRequestedAt: Date | null; status: string }): Date | null {
  if (cluster.status === "ENDED" && cluster.endedAt) return floorSecond(cluster.endedAt);
  if (!cluster.endsAt) return null;
  const paidEnd = floorSecond(cluster.endsAt);
  return cluster.endRequestedAt ? minDate(paidEnd, floorSecond(cluster.endRequestedAt)) : paidEnd;
}

/**
 * Fixes the instant a lease ends, once, under the cluster's row lock: the renter's request if there is
 * one, else `fallback` (the paid end, or now), clamped to the paid end and never before the earliest
 * allowed change (the program refuses an end earlier than its last change or time already paid).
 * Pending billing changes are planned first. Stored in `end_requested_at` and returned; null for a
 * lease that never started.
 */
export async function fixLeaseEnd(db: Db, clusterId: string, fallback: Date): Promise<Date | null> {
  return db.$transaction(async (tx) => {
    const locked = await lockCluster(tx, clusterId);
    if (!locked.startedAt) return null;
    const cluster = { ...locked, endRequestedAt: locked.endRequestedAt ?? fallback };
    const billed = await planBilling(tx, cluster);
    const end = leaseEnd(cluster);
    if (!end) return null;
    const fixed = maxDate(end, await earliestChange(tx, clusterId, floorSecond(locked.startedAt), billed));
    if (locked.endRequestedAt?.getTime() !== fixed.getTime()) await tx.cluster.update({ where: { id: clusterId }, data: { endRequestedAt: fixed } });
    return fixed;
  });
}

/** The billed allocations of a cluster (billing planned first, under the cluster's lock). */
export async function billedAllocations(db: Db, clusterId: string): Promise<BilledAllocation[]> {
  return db.$transaction(async (tx) => planBilling(tx, await lockCluster(tx, clusterId)));
}

/** Records the renter's deposit in escrow (renter wallet → escrow). Called once payment is confirmed; replays are no-ops. */
export async function postDepositJournal(db: Db | DbTransaction, clusterId: string, occurredAt = new Date()): Promise<{ created: boolean }> {
  const cluster = await db.cluster.findUniqueOrThrow({ where: { id: clusterId }, select: { renterId: true, paymentToken: true, depositAmount: true } });
  if (cluster.depositAmount === 0n) return { created: false };
  const posted = await postJournal(db, {
    reference: ledgerReferences.deposit(clusterId),
    description: `deposit of cluster ${clusterId} into escrow`,
    token: cluster.paymentToken,
    occurredAt,
    lines: transfer(LedgerAccounts.renterWallet(cluster.renterId, cluster.paymentToken), LedgerAccounts.escrow(clusterId, cluster.paymentToken), cluster.depositAmount),
  });
  return { created: posted.created };
}

export interface PeriodSettlement {
  clusterId: string;
  period: SettlementPeriod;
  reference: string;
  /** False when this period was already settled (replay): nothing written. */
  created: boolean;
  split: SettlementSplit;
  token: PaymentToken;
  usage: { allocationId: string; deviceId: string; gpuSeconds: bigint; amount: bigint }[];
}

const ZERO_SPLIT: SettlementSplit = { gross: 0n, fee: 0n, burn: 0n, treasury: 0n, supplier: 0n };

/** Statuses in which a lease's periods may be settled (it has started, and its money is still in escrow). */
const SETTLEABLE: ReadonlySet<string> = new Set(["RUNNING", "DEGRADED", "ENDING", "ENDED"]);

/**
 * Settles one period of a cluster in one transaction, exactly as the program's `settle_allocation`
 * pays it: every billed node is paid `rate · seconds it served in the period` (from its `billed_from`
 * to its `billed_until` or the lease's end), with fee and burn floored on that node's running totals
 * (`allocationSettlement`), so the period journals of a node add up to what the chain pays it however
 * the chain's settles are cut. One UsageRecord per node that served, one balanced journal. A node that
 * was down is not billed: the renter pays for served GPU-seconds only. Never pays past the deposit.
 */
export async function settleClusterPeriod(db: Db, clusterId: string, period: SettlementPeriod, config: SettlementConfig): Promise<PeriodSettlement> {
  return db.$transaction(async (tx) => {
    // The row lock serializes two settlers of the same cluster; the unique reference makes the second a no-op.
    const cluster = await lockCluster(tx, clusterId);
    const reference = ledgerReferences.settle(clusterId, period.start);
    const token = cluster.paymentToken;
    const existing = await tx.usageRecord.findMany({ where: { clusterId, periodStart: period.start }, select: { allocationId: true, deviceId: true, gpuSeconds: true, amount: true } });
    const journalExists = (await tx.journal.count({ where: { reference } })) > 0;
    if (journalExists || existing.length > 0) {
      const gross = existing.reduce((sum, u) => sum + u.amount, 0n);
      return { clusterId, period, reference, created: false, split: { ...ZERO_SPLIT, gross }, token, usage: existing };
    }
    if (!SETTLEABLE.has(cluster.status) || !cluster.startedAt) throw new Error(`cluster ${clusterId} is ${cluster.status}: nothing to settle`);
    const billed = await planBilling(tx, cluster);
    const end = leaseEnd(cluster);
    const rates = clusterRates(cluster, config);
    const mesh = token === "MESH";
    const total = { ...ZERO_SPLIT };
    const lines: LedgerLine[] = [];
    const usage: PeriodSettlement["usage"] = [];
    for (const allocation of billed) {
      // The node's running total at the period's start is what it earns by then (its plan is fixed), so
      // periods may be settled in any order and still add up to the program's running-total fees.
      const before = servedSeconds(allocation, end, period.start);
      const served = servedSeconds(allocation, end, period.end) - before;
      if (served <= 0n) continue;
      const prior = allocation.ratePerSecond * before;
      const priorSplit = settlementSplit(1n, prior, rates.feeBps, rates.burnBps, mesh);
      const { split } = allocationSettlement({ gross: prior, fee: priorSplit.fee, burn: priorSplit.burn }, allocation.ratePerSecond, served, rates.feeBps, rates.burnBps, mesh);
      for (const key of Object.keys(total) as (keyof SettlementSplit)[]) total[key] += split[key];
      usage.push({ allocationId: allocation.id, deviceId: allocation.deviceId, gpuSeconds: served * BigInt(allocation.gpuCount), amount: split.gross });
      if (split.supplier > 0n) lines.push({ account: LedgerAccounts.supplierEarnings(allocation.supplierId, token), amount: split.supplier });
    }
    if (total.gross > 0n && (await tx.journal.count({ where: { reference: ledgerReferences.refund(clusterId) } })) > 0) {
      // The escrow was already refunded: paying from it now would pay with the renter's money twice.
      throw new Error(`cluster ${clusterId}: escrow already refunded, ${period.start.toISOString()} cannot be settled any more`);
    }
    const settledBefore = await tx.usageRecord.aggregate({ where: { clusterId }, _sum: { amount: true } });
    if ((settledBefore._sum.amount ?? 0n) + total.gross > cluster.depositAmount) {
      throw new Error(`cluster ${clusterId}: settling ${period.start.toISOString()} would pay ${total.gross} past the deposit of ${cluster.depositAmount}`);
    }
    if (usage.length) await tx.usageRecord.createMany({ data: usage.map((u) => ({ ...u, clusterId, periodStart: period.start, periodEnd: period.end })) });
    if (total.gross > 0n) {
      // Escrow must hold the deposit before paying out of it (no-op when the payment path posted it).
      await postDepositJournal(tx, clusterId, cluster.startedAt);
      lines.unshift({ account: LedgerAccounts.escrow(clusterId, token), amount: -total.gross });
      lines.push({ account: LedgerAccounts.treasury(token), amount: total.treasury });
      lines.push({ account: LedgerAccounts.burned(token), amount: total.burn });
      await postJournal(tx, {
        reference,
        description: `settlement of cluster ${clusterId} for ${period.start.toISOString()}..${period.end.toISOString()}`,
        token,
        occurredAt: period.end,
        lines: lines.filter((line) => line.amount !== 0n),
      });
    }
    return { clusterId, period, reference, created: true, split: total, token, usage };
  }, { timeout: 30_000 });
}

/**
 * A `gpumesh_refund_escrow(…)` call (migration 20261125000400_reservation_fn), the one refund of a
 * cluster's escrow: what is left of the deposit (deposit − Σ gross settled) goes back to the renter,
 * the deposit journal first if the payment path has not posted it (same reference, so never twice).
 * `go` = false makes it a no-op, so a caller can chain it on a transition's `changed` in one statement.
 */
export function refundEscrowSql(go: Prisma.Sql, cluster: { id: string; renterId: string; paymentToken: PaymentToken }, at: Date, why: string): Prisma.Sql {
  const token = cluster.paymentToken;
  return Prisma.sql`gpumesh_refund_escrow(${go}, ${cluster.id}::uuid, ${at}::timestamptz,
       ${ledgerReferences.deposit(cluster.id)}::text, ${`deposit of cluster ${cluster.id} into escrow`}::text,
       ${ledgerReferences.refund(cluster.id)}::text, ${`refund of unused deposit of cluster ${cluster.id}: ${why}`}::text,
       ${LedgerAccounts.renterWallet(cluster.renterId, token)}::text, ${LedgerAccounts.escrow(cluster.id, token)}::text)`;
}

/**
 * The escrow refund (`refundEscrowSql`) in the caller's transaction, with the status change it
 * belongs to. Idempotent by reference.
 */
export async function postRefundJournal(tx: DbTransaction, clusterId: string, occurredAt: Date, why: string): Promise<{ amount: bigint; created: boolean }> {
  const cluster = await tx.cluster.findUniqueOrThrow({ where: { id: clusterId }, select: { id: true, renterId: true, paymentToken: true } });
  const [row] = await tx.$queryRaw<{ amount: bigint; created: boolean }[]>`select amount, created from ${refundEscrowSql(Prisma.sql`true`, cluster, occurredAt, why)} r`;
  return { amount: BigInt(row!.amount), created: row!.created };
}
