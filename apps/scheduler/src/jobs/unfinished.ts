import { UnexpectedClusterStatusError } from "@gpumesh/core";
import { failAndRefundSql, publishSafely, type Db, type PaymentToken, type PublishClusterEvent } from "@gpumesh/db";

/**
 * The settle sweep's lifecycle half: every cluster state that some job must still finish, found by
 * status (indexed) and bounded, so that a lost job, a crash between two steps or an outage longer
 * than a job's retries is finished by the next sweep. The deploy sweep covers PAID, MATCHING,
 * DEPLOYING, DEGRADED and FAILED (refund); `findSettlementWork` the running leases past their end.
 */
export interface UnfinishedClusters {
  /** ENDING: the end job stopped between ENDING and ENDED (crash, lost job); with the reason it ended for. */
  ending: { clusterId: string; reason: string }[];
  /** ENDED, but end_lease may not have landed (the chain still holds the escrow). */
  unclosedEnded: string[];
  /** FAILED/REFUNDED with an on-chain lease not yet cancelled. */
  unclosedCancelled: string[];
  /** REQUESTED past the quote's validity (its quote_expires_at, else createdAt + quoteTtlMs): never paid; expiring releases its held devices. */
  expiredQuotes: { id: string; renterId: string; paymentToken: PaymentToken }[];
}

export interface UnfinishedOptions {
  /** Clusters moved within this long are left to the job that moved them. */
  graceMs: number;
  /** Validity of a REQUESTED cluster without its own quote_expires_at (QUOTE_TTL_S). */
  quoteTtlMs: number;
  /** Most clusters per kind and sweep (the oldest first); the next sweep takes the rest. */
  limit?: number;
}

export const PAYMENT_NOT_RECEIVED = "payment not received";

export async function findUnfinishedClusters(db: Db, now: Date, options: UnfinishedOptions): Promise<UnfinishedClusters> {
  const take = options.limit ?? 1_000;
  const settled = new Date(now.getTime() - options.graceMs);
  const [ending, ended, cancelled, quotes] = await Promise.all([
    db.cluster.findMany({
      where: { status: "ENDING", updatedAt: { lt: settled } },
      select: { id: true, events: { where: { toStatus: "ENDING" }, orderBy: { id: "desc" }, take: 1, select: { reason: true } } },
      orderBy: { updatedAt: "asc" },
      take,
    }),
    db.cluster.findMany({ where: { status: "ENDED", leaseId: { not: null }, chainClosedAt: null, updatedAt: { lt: settled } }, select: { id: true }, orderBy: { updatedAt: "asc" }, take }),
    db.cluster.findMany({ where: { status: { in: ["FAILED", "REFUNDED"] }, leaseId: { not: null }, chainClosedAt: null, updatedAt: { lt: settled } }, select: { id: true }, orderBy: { updatedAt: "asc" }, take }),
    // A held quote expires at its own quote_expires_at (packages/db quotes.ts: minutes, so its devices
    // come back quickly); a cluster created without one lasts QUOTE_TTL_S from its creation.
    db.cluster.findMany({
      where: {
        status: "REQUESTED",
        OR: [{ quoteExpiresAt: { lte: now } }, { quoteExpiresAt: null, createdAt: { lt: new Date(now.getTime() - options.quoteTtlMs) } }],
      },
      select: { id: true, renterId: true, paymentToken: true },
      orderBy: { createdAt: "asc" },
      take,
    }),
  ]);
  return {
    ending: ending.map((c) => ({ clusterId: c.id, reason: c.events[0]?.reason ?? "lease end resumed" })),
    unclosedEnded: ended.map((c) => c.id),
    unclosedCancelled: cancelled.map((c) => c.id),
    expiredQuotes: quotes,
  };
}

/**
 * REQUESTED → FAILED → REFUNDED for a quote nobody paid in time, in one statement: its held devices are
 * released with the move, and nothing was escrowed, so the refund books nothing (gpumesh_refund_escrow
 * skips clusters never paid). False when it was paid meanwhile.
 */
export async function expireQuote(deps: { db: Db; publish: PublishClusterEvent }, cluster: { id: string; renterId: string; paymentToken: PaymentToken }, at: Date): Promise<boolean> {
  try {
    const result = await failAndRefundSql(deps.db, cluster, {
      expectedFrom: "REQUESTED",
      at,
      reason: PAYMENT_NOT_RECEIVED,
      failReleaseReason: PAYMENT_NOT_RECEIVED,
      refundReason: "closed: nothing was escrowed",
      why: PAYMENT_NOT_RECEIVED,
      refundReleaseReason: PAYMENT_NOT_RECEIVED,
    });
    for (const event of [result.failed.event, result.refunded.event]) if (event) await publishSafely(deps.publish, event);
    return result.failed.changed;
  } catch (error) {
    if (error instanceof UnexpectedClusterStatusError) return false;
    throw error;
  }
}
