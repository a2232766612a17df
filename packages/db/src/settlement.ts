import { LedgerAccounts, settlementSplit, transfer, type LedgerLine, type PaymentToken, type SettlementSplit } from "@gpumesh/core";
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
} as const;

export interface SettlementPeriod {
  start: Date;
  end: Date;
}

/**
 * Hourly periods of a lease that started at `startedAt`, up to `until` (now, or when it ended) and
 * never past `endsAt`: [startedAt + k h, min(startedAt + (k+1) h, limit)). Only complete hours unless
 * `includePartial` (the final settlement at the end of a lease).
 */
export function settlementPeriods(startedAt: Date, until: Date, endsAt: Date | null, includePartial = false): SettlementPeriod[] {
  const limit = Math.min(until.getTime(), endsAt?.getTime() ?? Number.POSITIVE_INFINITY);
  const periods: SettlementPeriod[] = [];
  for (let start = startedAt.getTime(); start < limit; start += SETTLEMENT_PERIOD_MS) {
    const fullEnd = start + SETTLEMENT_PERIOD_MS;
    // A period that reaches the lease's own end is complete even if shorter than an hour.
    const complete = fullEnd <= limit || (endsAt !== null && limit === endsAt.getTime());
    if (!complete && !includePartial) break;
    periods.push({ start: new Date(start), end: new Date(Math.min(fullEnd, limit)) });
  }
  return periods;
}

/**
 * Splits `total` over `weights` in proportion, exactly: floor shares, then the leftover units go to
 * the largest remainders (ties: lower index). Σ result = total, to the base unit.
 */
export function proportionalSplit(total: bigint, weights: readonly bigint[]): bigint[] {
  const sum = weights.reduce((a, b) => a + b, 0n);
  if (sum === 0n) return weights.map(() => 0n);
  const shares = weights.map((w) => (total * w) / sum);
  let left = total - shares.reduce((a, b) => a + b, 0n);
  const order = weights.map((w, i) => ({ i, rem: (total * w) % sum })).sort((a, b) => (a.rem === b.rem ? a.i - b.i : a.rem > b.rem ? -1 : 1));
  for (const { i } of order) {
    if (left === 0n) break;
    shares[i]! += 1n;
    left -= 1n;
  }
  return shares;
}

async function lockCluster(tx: DbTransaction, clusterId: string) {
  const [row] = await tx.$queryRaw<{ id: string }[]>`select id::text from cluster where id = ${clusterId}::uuid for update`;
  if (!row) throw new Error(`cluster ${clusterId} does not exist`);
  return tx.cluster.findUniqueOrThrow({
    where: { id: clusterId },
    select: { id: true, renterId: true, paymentToken: true, pricePerSecond: true, depositAmount: true, startedAt: true, endsAt: true, status: true },
  });
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

/**
 * Settles one period of a cluster in one transaction: a UsageRecord per allocation that was active in
 * the period, and one balanced journal. The renter pays the agreed cluster price for the period
 * (`pricePerSecond · seconds`, exactly what the on-chain lease pays); that gross is split with
 * `settlementSplit` (fee, burn), and the suppliers' part is shared among the allocations in
 * proportion to price × GPUs × seconds served, so a replaced node is paid only for its time.
 */
export async function settleClusterPeriod(db: Db, clusterId: string, period: SettlementPeriod, config: SettlementConfig): Promise<PeriodSettlement> {
  return db.$transaction(async (tx) => {
    // The row lock serializes two settlers of the same cluster; the unique reference makes the second a no-op.
    const cluster = await lockCluster(tx, clusterId);
    const reference = ledgerReferences.settle(clusterId, period.start);
    const seconds = BigInt(Math.floor((period.end.getTime() - period.start.getTime()) / 1000));
    const split = settlementSplit(cluster.pricePerSecond, seconds, config.feeBps, config.burnBps, cluster.paymentToken === "MESH");
    const existing = await tx.usageRecord.findMany({ where: { clusterId, periodStart: period.start }, select: { allocationId: true, deviceId: true, gpuSeconds: true, amount: true } });
    const journalExists = (await tx.journal.count({ where: { reference } })) > 0;
    if (journalExists || existing.length > 0) return { clusterId, period, reference, created: false, split, token: cluster.paymentToken, usage: existing };

    const allocations = await tx.allocation.findMany({
      where: { clusterId, startsAt: { lt: period.end }, OR: [{ releasedAt: null }, { releasedAt: { gt: period.start } }] },
      select: { id: true, deviceId: true, gpuCount: true, pricePerGpuHour: true, startsAt: true, endsAt: true, releasedAt: true, acknowledgedAt: true, device: { select: { supplierId: true } } },
      orderBy: { id: "asc" },
    });
    const served = allocations
      .map((a) => {
        // Served from the later of the period start and the agent's ack until release (or the period end).
        const from = Math.max(period.start.getTime(), (a.acknowledgedAt ?? a.startsAt).getTime());
        const to = Math.min(period.end.getTime(), (a.releasedAt ?? period.end).getTime(), a.endsAt.getTime());
        const secs = BigInt(Math.max(0, Math.floor((to - from) / 1000)));
        return { allocation: a, seconds: secs, gpuSeconds: secs * BigInt(a.gpuCount) };
      })
      .filter((s) => s.seconds > 0n);
    const weights = served.map((s) => s.allocation.pricePerGpuHour * s.gpuSeconds + (s.allocation.pricePerGpuHour === 0n ? s.gpuSeconds : 0n));
    // Nobody served (all nodes down the whole period): the renter is not charged for it.
    const effective = served.length ? split : settlementSplit(0n, 0n, config.feeBps, config.burnBps, false);
    const amounts = proportionalSplit(effective.gross, weights);
    const supplierShares = proportionalSplit(effective.supplier, weights);
    const usage = served.map((s, i) => ({ allocationId: s.allocation.id, deviceId: s.allocation.deviceId, gpuSeconds: s.gpuSeconds, amount: amounts[i]! }));
    if (usage.length) {
      await tx.usageRecord.createMany({
        data: usage.map((u) => ({ ...u, clusterId, periodStart: period.start, periodEnd: period.end })),
      });
    }
    if (effective.gross > 0n) {
      // Escrow must hold the deposit before paying out of it (no-op when the payment path posted it).
      await postDepositJournal(tx, clusterId, cluster.startedAt ?? period.start);
      const token = cluster.paymentToken;
      const lines: LedgerLine[] = [{ account: LedgerAccounts.escrow(clusterId, token), amount: -effective.gross }];
      served.forEach((s, i) => lines.push({ account: LedgerAccounts.supplierEarnings(s.allocation.device.supplierId, token), amount: supplierShares[i]! }));
      lines.push({ account: LedgerAccounts.treasury(token), amount: effective.treasury });
      lines.push({ account: LedgerAccounts.burned(token), amount: effective.burn });
      await postJournal(tx, {
        reference,
        description: `settlement of cluster ${clusterId} for ${period.start.toISOString()}..${period.end.toISOString()}`,
        token: cluster.paymentToken,
        occurredAt: period.end,
        lines,
      });
    }
    return { clusterId, period, reference, created: true, split: effective, token: cluster.paymentToken, usage };
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
