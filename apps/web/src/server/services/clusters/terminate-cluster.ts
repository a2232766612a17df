import "server-only";
import { floorSecond, recordEndRequest } from "@gpumesh/db";
import { ApiError, notFound } from "../../api/errors.ts";
import { db } from "../../db.ts";
import { logger } from "../../logger.ts";
import { producer } from "../../queue.ts";

/**
 * The end as billed: whole seconds, as the chain bills and the end job fixes it (`leaseEnd`,
 * `fixLeaseEnd`). The stored request keeps milliseconds until that job runs (a request made while the
 * lease was starting is clamped to `started_at`), so answering it raw would name an instant the lease
 * does not end at, and a second click would answer a different one.
 */
const billedEnd = (at: Date | null) => (at ? floorSecond(at) : null);

/**
 * The renter ends a running cluster now. The end instant is fixed in Postgres first (the first
 * request wins; served time up to it is paid, the rest refunded), then the scheduler's end job
 * settles, ends the lease on-chain (`end_lease` refunds the rest to the renter's wallet) and releases
 * the nodes. A second click is a no-op that answers the same end.
 */
export async function terminateCluster(accountId: string, clusterId: string, now = new Date()): Promise<{ clusterId: string; endRequestedAt: Date | null; status: string }> {
  const cluster = await db.cluster.findFirst({ where: { id: clusterId, renterId: accountId }, select: { id: true, status: true, endRequestedAt: true } });
  if (!cluster) throw notFound("cluster");
  if (cluster.status === "ENDING" || cluster.status === "ENDED" || cluster.endRequestedAt) {
    return { clusterId, endRequestedAt: billedEnd(cluster.endRequestedAt), status: cluster.status };
  }
  if (cluster.status === "FAILED" || cluster.status === "REFUNDED") throw new ApiError("CONFLICT", "this cluster is already closed and refunded");
  if (cluster.status === "REQUESTED") throw new ApiError("CONFLICT", "this quote was never paid; there is nothing to terminate");
  if (cluster.status !== "RUNNING" && cluster.status !== "DEGRADED") {
    // Still deploying (PAID, MATCHING, DEPLOYING): the end job cancels the deployment and refunds the
    // whole deposit. Nothing is recorded before the job runs, so a lost enqueue must be retried.
    await producer().requestEnd(clusterId, now, "terminated by the renter").catch((error: unknown) => {
      logger.warn({ err: error, clusterId }, "end enqueue failed");
      throw new ApiError("UNAVAILABLE", "could not reach the scheduler; nothing changed, try again");
    });
    return { clusterId, endRequestedAt: null, status: cluster.status };
  }
  await recordEndRequest(db, clusterId, floorSecond(now));
  const after = await db.cluster.findUniqueOrThrow({ where: { id: clusterId }, select: { endRequestedAt: true, status: true } });
  if (!after.endRequestedAt) throw new ApiError("CONFLICT", `the cluster is ${after.status.toLowerCase()} now; reload to see its state`);
  await producer()
    .requestEnd(clusterId, after.endRequestedAt, "terminated by the renter")
    .catch((error: unknown) => logger.warn({ err: error, clusterId }, "end enqueue failed; the settle sweep ends leases past their requested end"));
  return { clusterId, endRequestedAt: billedEnd(after.endRequestedAt), status: after.status };
}
