import {
  fixLeaseEnd,
  floorSecond,
  leaseEnd,
  postRefundJournal,
  Prisma,
  publishSafely,
  releaseAllocations,
  SETTLEMENT_PERIOD_MS,
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

/** Most leases per kind and sweep (the earliest due first); the next sweep takes the rest. */
const SWEEP_LIMIT = 1_000;

/**
 * Complete, unsettled hours of the leases that are due, leases past their paid end and ends asked for.
 * O(work due): each read is an index range over rows that are due (`cluster_settle_due`,
 * `cluster_serving_ends_at`, `cluster_serving_end_requested`), never a walk over every lease, and a
 * due lease's periods are read from where its settled prefix ends (usage_record by cluster and period).
 */
/** The settle sweep's reads, as SQL (the sweep-plans test EXPLAINs these very statements). */
export const settleSweepSql = {
  // `case when <serving> then <due time> end` is the expression the indexes hold (migration
  // 20261201031500_sweep_due_times says why): only serving leases have a value.
  periodsDue: (now: Date) => Prisma.sql`
    select id::text, started_at, ends_at, next_settle_at from cluster
     where (case when status in ('RUNNING', 'DEGRADED') then next_settle_at end) <= ${now} and started_at is not null
     order by (case when status in ('RUNNING', 'DEGRADED') then next_settle_at end) limit ${SWEEP_LIMIT}`,
  pastEnd: (now: Date) => Prisma.sql`
    select id::text, ends_at from cluster
     where (case when status in ('RUNNING', 'DEGRADED') then ends_at end) <= ${now}
     order by (case when status in ('RUNNING', 'DEGRADED') then ends_at end) limit ${SWEEP_LIMIT}`,
  endRequested: (now: Date) => Prisma.sql`
    select id::text, end_requested_at from cluster
     where (case when status in ('RUNNING', 'DEGRADED') then end_requested_at end) is not null and (ends_at is null or ends_at > ${now})
     order by (case when status in ('RUNNING', 'DEGRADED') then end_requested_at end) limit ${SWEEP_LIMIT}`,
  settledSince: (clusterId: string, from: Date) => Prisma.sql`
    select distinct period_start from usage_record where cluster_id = ${clusterId}::uuid and period_start >= ${from}`,
};

export async function findSettlementWork(db: Db, now: Date): Promise<SweepResult> {
  const [due, ends, requested] = await Promise.all([
    db.$queryRaw<{ id: string; started_at: Date; ends_at: Date | null; next_settle_at: Date }[]>(settleSweepSql.periodsDue(now)),
    db.$queryRaw<{ id: string; ends_at: Date }[]>(settleSweepSql.pastEnd(now)),
    db.$queryRaw<{ id: string; end_requested_at: Date }[]>(settleSweepSql.endRequested(now)),
  ]);
  const result: SweepResult = {
    periods: [],
    ends: ends.map((c) => ({ clusterId: c.id, endsAt: c.ends_at })),
    requested: requested.map((c) => ({ clusterId: c.id, requestedAt: c.end_requested_at })),
  };
  for (const cluster of due) {
    const from = new Date(cluster.next_settle_at.getTime() - SETTLEMENT_PERIOD_MS);
    const settled = await db.$queryRaw<{ period_start: Date }[]>(settleSweepSql.settledSince(cluster.id, from));
    const done = new Set(settled.map((u) => u.period_start.getTime()));
    const periods = settlementPeriods(cluster.started_at, now, cluster.ends_at).filter((p) => p.start >= from);
    const open = periods.filter((p) => !done.has(p.start.getTime()));
    for (const period of open) result.periods.push({ clusterId: cluster.id, periodStart: period.start });
    // Skip the settled prefix: due again when the first open period completes (or the next one, if
    // none is open). Only ever forward, and only if no job moved it meanwhile.
    const firstOpen = open[0]?.start ?? (periods.length ? periods[periods.length - 1]!.end : from);
    const next = new Date(firstOpen.getTime() + SETTLEMENT_PERIOD_MS);
    if (next > cluster.next_settle_at) {
      await db.$executeRaw`update cluster set next_settle_at = ${next} where id = ${cluster.id}::uuid and next_settle_at = ${cluster.next_settle_at}`;
    }
  }
  return result;
}

/**
 * After a period's job: if it was the lease's first period not known to be settled, the lease is due
 * next when the period after it completes. A period that billed nothing (every node down) leaves no
 * usage record for the sweep to find, so this is what moves past it.
 */
export async function markPeriodSettled(db: Db, clusterId: string, periodStart: Date): Promise<void> {
  const due = new Date(periodStart.getTime() + SETTLEMENT_PERIOD_MS);
  const next = new Date(periodStart.getTime() + 2 * SETTLEMENT_PERIOD_MS);
  await db.$executeRaw`update cluster set next_settle_at = ${next} where id = ${clusterId}::uuid and next_settle_at = ${due}`;
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
  await markPeriodSettled(deps.db, clusterId, period.start);
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
  if (!result.moved.changed) {
    // Another end of this lease (the expiry, the renter's, the sweep's resume) moved it to ENDED after
    // our read. Its chain step may be failing: this job succeeds only once the chain has the end too,
    // like a retry that finds it ENDED above (otherwise it completes while the escrow is still locked).
    await deps.chain.syncLease(clusterId);
    return null;
  }
  if (result.moved.event) await publishSafely(deps.publish, result.moved.event);
  await Promise.allSettled(result.released.map((a) => deps.agents.revoke(a.deviceId, a.id, "lease ended")));
  deps.logger.info({ cluster: clusterId, refund: result.refund.amount.toString(), endedAt: at.toISOString() }, "lease ended");
  await deps.chain.syncLease(clusterId);
  return { refund: result.refund.amount };
}
