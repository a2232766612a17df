import { CLUSTER_BILLABLE, type ClusterStatus } from "@gpumesh/core";
import {
  fixLeaseEnd,
  floorSecond,
  leaseEnd,
  postRefundJournal,
  publishSafely,
  releaseAllocations,
  settleClusterPeriod,
  settlementPeriods,
  transitionClusterInTx,
  type Db,
  type PeriodSettlement,
  type PublishClusterEvent,
  type SettlementConfig,
} from "@gpumesh/db";
import type { Logger } from "pino";
import type { AgentChannel } from "../agents.ts";
import type { ChainSettlement } from "../chain.ts";

/**
 * Hourly settlement of running leases and their end. The sweep finds work; each unit of work is its
 * own idempotent job (`settle/<cluster>/<period start>`, `end/<cluster>`), and the ledger rows they
 * write are unique by the same ids, so replays change nothing.
 */
export interface SettleDeps {
  db: Db;
  chain: ChainSettlement;
  agents: AgentChannel;
  publish: PublishClusterEvent;
  config: SettlementConfig;
  logger: Logger;
  now?: () => Date;
}

export interface SweepResult {
  periods: { clusterId: string; periodStart: Date }[];
  /** Leases past their paid end, with that end (the expiry job's id names it). */
  ends: { clusterId: string; endsAt: Date }[];
  /**
   * Running leases the renter asked to end (`end_requested_at`) that have not started ending: their end
   * job was lost (the web's producer fails fast when Redis is down) or has not run yet.
   */
  requested: { clusterId: string; requestedAt: Date }[];
}

/** Complete, unsettled hours of every billable lease, and leases past their end. */
export async function findSettlementWork(db: Db, now: Date): Promise<SweepResult> {
  const billable = [...CLUSTER_BILLABLE] as ClusterStatus[];
  const clusters = await db.cluster.findMany({ where: { status: { in: billable }, startedAt: { not: null } }, select: { id: true, status: true, startedAt: true, endsAt: true, endRequestedAt: true } });
  const result: SweepResult = { periods: [], ends: [], requested: [] };
  for (const cluster of clusters) {
    const settled = await db.usageRecord.findMany({ where: { clusterId: cluster.id }, distinct: ["periodStart"], select: { periodStart: true } });
    const done = new Set(settled.map((u) => u.periodStart.getTime()));
    for (const period of settlementPeriods(cluster.startedAt!, now, cluster.endsAt)) {
      if (!done.has(period.start.getTime())) result.periods.push({ clusterId: cluster.id, periodStart: period.start });
    }
    if (cluster.endsAt && cluster.endsAt <= now) result.ends.push({ clusterId: cluster.id, endsAt: cluster.endsAt });
    else if (cluster.endRequestedAt && (cluster.status === "RUNNING" || cluster.status === "DEGRADED")) result.requested.push({ clusterId: cluster.id, requestedAt: cluster.endRequestedAt });
  }
  return result;
}

export type ExpiryOutcome =
  | { state: "ended"; refund: bigint | null }
  /** An extension moved the paid end later: nothing ended; the expiry of `endsAt` takes over. */
  | { state: "moved"; endsAt: Date };

/** The job fired before the end it names (clock skew between processes): BullMQ retries it with backoff. */
export class NotYetDueError extends Error {
  override name = "NotYetDueError";
}

/**
 * The expiry job of the paid end `endsAt` (`end/<cluster>/expiry/<endsAt>`). A lease whose end has
 * moved later since (an extension) is not ended: the caller schedules the expiry of the new end.
 * Otherwise the lease ends at its paid end (or at the renter's earlier request), as `endCluster`.
 */
export async function expireLease(deps: SettleDeps, clusterId: string, endsAt: Date): Promise<ExpiryOutcome> {
  const now = (deps.now ?? (() => new Date()))();
  const cluster = await deps.db.cluster.findUniqueOrThrow({ where: { id: clusterId }, select: { status: true, endsAt: true, endRequestedAt: true } });
  const serving = cluster.status === "RUNNING" || cluster.status === "DEGRADED";
  if (serving && cluster.endRequestedAt === null && cluster.endsAt && cluster.endsAt > now) {
    if (cluster.endsAt.getTime() > endsAt.getTime()) return { state: "moved", endsAt: cluster.endsAt };
    throw new NotYetDueError(`cluster ${clusterId}: the lease ends at ${cluster.endsAt.toISOString()}, not yet`);
  }
  const ended = await endCluster(deps, clusterId, "lease reached its paid end");
  return { state: "ended", refund: ended?.refund ?? null };
}

/** Settles one complete period in the ledger, then brings the on-chain lease in line (settles the same period). */
export async function settlePeriod(deps: SettleDeps, clusterId: string, periodStart: Date): Promise<PeriodSettlement | null> {
  const now = (deps.now ?? (() => new Date()))();
  const cluster = await deps.db.cluster.findUniqueOrThrow({ where: { id: clusterId }, select: { startedAt: true, endsAt: true, endedAt: true, endRequestedAt: true, status: true } });
  if (!cluster.startedAt) return null;
  const end = leaseEnd(cluster);
  const until = cluster.endedAt ?? now;
  const period = settlementPeriods(cluster.startedAt, until, end, cluster.endedAt !== null).find((p) => p.start.getTime() === periodStart.getTime());
  if (!period) return null; // not complete yet, or not a period of this lease
  const settlement = await settleClusterPeriod(deps.db, clusterId, period, deps.config);
  await deps.chain.syncLease(clusterId);
  return settlement;
}

/**
 * Ends a lease: RUNNING/DEGRADED → ENDING, fix the end instant once (the renter's request, or the paid
 * end, never before the last on-chain change), settle every period up to it (the last one partial),
 * then in one transaction release the devices, refund the unused deposit and go ENDED at that instant;
 * then the on-chain lease follows (settles, end_lease with the same end, escrow closed). Idempotent
 * from any point: a crash between steps resumes where it stopped, and a retry bills exactly the same.
 */
export async function endCluster(deps: SettleDeps, clusterId: string, reason: string): Promise<{ refund: bigint } | null> {
  const now = (deps.now ?? (() => new Date()))();
  let cluster = await deps.db.cluster.findUniqueOrThrow({ where: { id: clusterId } });
  // An end nobody asked for is the lease's paid end, or now if that is earlier.
  const asked = cluster.endsAt && cluster.endsAt < now ? cluster.endsAt : now;
  if (cluster.status === "RUNNING" || cluster.status === "DEGRADED") {
    // The end instant is fixed with the move to ENDING, in one transaction (the renter's request if it
    // came first): a crash after it and a retry later still end, and bill, at the same instant.
    const moved = await deps.db.$transaction(async (tx) => {
      const result = await transitionClusterInTx(tx, clusterId, "ENDING", reason, { expectedFrom: ["RUNNING", "DEGRADED"], at: now });
      if (result.changed) await tx.$executeRaw`update cluster set end_requested_at = coalesce(end_requested_at, ${asked}::timestamptz) where id = ${clusterId}::uuid`;
      return result;
    });
    if (moved.event) await publishSafely(deps.publish, moved.event);
    cluster = await deps.db.cluster.findUniqueOrThrow({ where: { id: clusterId } });
  }
  if (cluster.status === "ENDED") {
    // A retry whose chain step failed after the database had committed: the chain must still end the
    // lease, or the escrow stays locked. The sync sends only what is missing.
    await deps.chain.syncLease(clusterId);
    return null;
  }
  if (cluster.status !== "ENDING") return null;
  // The end instant the ledger and the chain both use (`asked` only where none was stored yet).
  const endAt = await fixLeaseEnd(deps.db, clusterId, asked);
  if (cluster.startedAt && endAt) {
    for (const period of settlementPeriods(cluster.startedAt, endAt, endAt, true)) {
      await settleClusterPeriod(deps.db, clusterId, period, deps.config);
    }
  }
  const at = endAt ?? floorSecond(now);
  const result = await deps.db.$transaction(async (tx) => {
    const moved = await transitionClusterInTx(tx, clusterId, "ENDED", "lease ended: settled and unused deposit refunded", { expectedFrom: "ENDING", at });
    const released = moved.changed ? await releaseAllocations(tx, clusterId, "lease ended", at) : [];
    const refund = moved.changed ? await postRefundJournal(tx, clusterId, at, reason) : { amount: 0n, created: false };
    return { moved, released, refund };
  });
  if (!result.moved.changed) return null;
  if (result.moved.event) await publishSafely(deps.publish, result.moved.event);
  await Promise.allSettled(result.released.map((a) => deps.agents.revoke(a.deviceId, a.id, "lease ended")));
  deps.logger.info({ cluster: clusterId, refund: result.refund.amount.toString(), endedAt: at.toISOString() }, "lease ended");
  await deps.chain.syncLease(clusterId);
  return { refund: result.refund.amount };
}
