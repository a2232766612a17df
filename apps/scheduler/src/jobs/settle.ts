import { CLUSTER_BILLABLE, type ClusterStatus } from "@gpumesh/core";
import {
  postRefundJournal,
  publishSafely,
  releaseAllocations,
  settleClusterPeriod,
  settlementPeriods,
  transitionCluster,
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
  ends: string[];
}

/** Complete, unsettled hours of every billable lease, and leases past their end. */
export async function findSettlementWork(db: Db, now: Date): Promise<SweepResult> {
  const billable = [...CLUSTER_BILLABLE] as ClusterStatus[];
  const clusters = await db.cluster.findMany({ where: { status: { in: billable }, startedAt: { not: null } }, select: { id: true, startedAt: true, endsAt: true } });
  const result: SweepResult = { periods: [], ends: [] };
  for (const cluster of clusters) {
    const settled = await db.usageRecord.findMany({ where: { clusterId: cluster.id }, distinct: ["periodStart"], select: { periodStart: true } });
    const done = new Set(settled.map((u) => u.periodStart.getTime()));
    for (const period of settlementPeriods(cluster.startedAt!, now, cluster.endsAt)) {
      if (!done.has(period.start.getTime())) result.periods.push({ clusterId: cluster.id, periodStart: period.start });
    }
    if (cluster.endsAt && cluster.endsAt <= now) result.ends.push(cluster.id);
  }
  return result;
}

/** Settles one complete period (ledger, then chain). */
export async function settlePeriod(deps: SettleDeps, clusterId: string, periodStart: Date): Promise<PeriodSettlement | null> {
  const now = (deps.now ?? (() => new Date()))();
  const cluster = await deps.db.cluster.findUniqueOrThrow({ where: { id: clusterId }, select: { startedAt: true, endsAt: true, endedAt: true, leaseId: true } });
  if (!cluster.startedAt) return null;
  const until = cluster.endedAt ?? now;
  const period = settlementPeriods(cluster.startedAt, until, cluster.endsAt, cluster.endedAt !== null).find((p) => p.start.getTime() === periodStart.getTime());
  if (!period) return null; // not complete yet, or not a period of this lease
  const settlement = await settleClusterPeriod(deps.db, clusterId, period, deps.config);
  // Sent on every run: the gateway treats an already settled range as done (NothingToSettle).
  if (settlement.split.gross > 0n) {
    await deps.chain.settleLease({ clusterId, leaseId: cluster.leaseId, periodStart: period.start, periodEnd: period.end, gross: settlement.split.gross });
  }
  return settlement;
}

/**
 * Ends a lease: RUNNING/DEGRADED → ENDING, settle every period up to the end (the last one partial),
 * then in one transaction release the devices, refund the unused deposit and go ENDED. Idempotent
 * from any point: a crash between steps resumes where it stopped.
 */
export async function endCluster(deps: SettleDeps, clusterId: string, reason: string): Promise<{ refund: bigint } | null> {
  const now = (deps.now ?? (() => new Date()))();
  let cluster = await deps.db.cluster.findUniqueOrThrow({ where: { id: clusterId } });
  if (cluster.status === "RUNNING" || cluster.status === "DEGRADED") {
    // The lease ends at its paid end, or now if ended early (renter, or no replacement for a lost node).
    await transitionCluster(deps.db, clusterId, "ENDING", reason, { expectedFrom: ["RUNNING", "DEGRADED"], publish: deps.publish, at: now });
    cluster = await deps.db.cluster.findUniqueOrThrow({ where: { id: clusterId } });
  }
  if (cluster.status === "ENDED") {
    // A retry whose chain step failed after the database had committed: without sending end_lease
    // again the escrow would stay locked on-chain. Repeating it is a no-op once the lease is closed.
    await deps.chain.endLease({ clusterId, leaseId: cluster.leaseId, endedAt: cluster.endedAt ?? now, refund: 0n });
    return null;
  }
  if (cluster.status !== "ENDING") return null;
  const endAt = new Date(Math.min(now.getTime(), cluster.endsAt?.getTime() ?? now.getTime()));
  if (cluster.startedAt) {
    for (const period of settlementPeriods(cluster.startedAt, endAt, cluster.endsAt, true)) {
      const settlement = await settleClusterPeriod(deps.db, clusterId, period, deps.config);
      if (settlement.created && settlement.split.gross > 0n) {
        await deps.chain.settleLease({ clusterId, leaseId: cluster.leaseId, periodStart: period.start, periodEnd: period.end, gross: settlement.split.gross });
      }
    }
  }
  const result = await deps.db.$transaction(async (tx) => {
    const moved = await transitionClusterInTx(tx, clusterId, "ENDED", "lease ended: settled and unused deposit refunded", { expectedFrom: "ENDING", at: endAt });
    const released = moved.changed ? await releaseAllocations(tx, clusterId, "lease ended", endAt) : [];
    const refund = moved.changed ? await postRefundJournal(tx, clusterId, endAt, reason) : { amount: 0n, created: false };
    return { moved, released, refund };
  });
  if (!result.moved.changed) return null;
  if (result.moved.event) await publishSafely(deps.publish, result.moved.event);
  await Promise.allSettled(result.released.map((a) => deps.agents.revoke(a.deviceId, a.id, "lease ended")));
  await deps.chain.endLease({ clusterId, leaseId: cluster.leaseId, endedAt: endAt, refund: result.refund.amount });
  deps.logger.info({ cluster: clusterId, refund: result.refund.amount.toString() }, "lease ended");
  return { refund: result.refund.amount };
}
