import { UnexpectedClusterStatusError, type ClusterStatus } from "@gpumesh/core";
import { failAndRefundSql, publishSafely, recordEndRequest } from "@gpumesh/db";
import { RELEASE } from "./deploy.ts";
import { endCluster, type SettleDeps } from "./settle.ts";

/**
 * The renter's terminate, in every non-terminal state (job `end/<cluster>/request`):
 * - before RUNNING (REQUESTED, PAID, MATCHING, DEPLOYING) it cancels the deployment: FAILED with every
 *   held device released, then REFUNDED with the whole deposit back (nothing if never paid), in one
 *   statement under the cluster row lock (a deploy step racing with it re-reads and stops); the caller
 *   then cancels the on-chain lease (job `cancel/<cluster>`).
 * - from RUNNING/DEGRADED it records the request's instant once (`end_requested_at`, first request
 *   wins) and ends the lease at that instant, however late or often the end job runs.
 * - ENDING finishes the end, ENDED re-sends end_lease (idempotent); FAILED, REFUNDED: nothing to do.
 */
export const TERMINATED_BEFORE_RUNNING = "terminated by the renter before it ran";

export type TerminateOutcome =
  | { state: "cancelled"; refund: bigint }
  | { state: "ended"; refund: bigint | null }
  | { state: "done"; status: ClusterStatus };

const MAX_STEPS = 10;

export async function terminateCluster(deps: SettleDeps, clusterId: string, reason: string, requestedAt: Date): Promise<TerminateOutcome> {
  const at = (deps.now ?? (() => new Date()))();
  for (let step = 0; step < MAX_STEPS; step++) {
    const cluster = await deps.db.cluster.findUniqueOrThrow({ where: { id: clusterId } });
    try {
      switch (cluster.status) {
        // REQUESTED was not paid (yet): nothing escrowed, the refund books nothing; a payment that lands
        // anyway finds the cluster closed and the sweep cancels its lease.
        case "REQUESTED":
        case "PAID":
        case "MATCHING":
        case "DEPLOYING": {
          const result = await failAndRefundSql(deps.db, cluster, {
            expectedFrom: cluster.status,
            at,
            reason: TERMINATED_BEFORE_RUNNING,
            failReleaseReason: `${RELEASE.failed}: terminated by the renter`,
            refundReason: cluster.status === "REQUESTED" ? "closed: nothing was escrowed" : "deposit refunded",
            why: TERMINATED_BEFORE_RUNNING,
            refundReleaseReason: `${RELEASE.failed}: refunded`,
          });
          if (!result.failed.changed) continue;
          for (const event of [result.failed.event, result.refunded.event]) if (event) await publishSafely(deps.publish, event);
          await Promise.allSettled(result.failed.released.map((a) => deps.agents.revoke(a.deviceId, a.id, "terminated by the renter")));
          deps.logger.info({ cluster: clusterId, from: cluster.status, refund: result.refund.amount.toString() }, "terminated before running: deployment cancelled, deposit refunded");
          return { state: "cancelled", refund: result.refund.amount };
        }
        case "RUNNING":
        case "DEGRADED":
          await recordEndRequest(deps.db, clusterId, requestedAt);
          return { state: "ended", refund: (await endCluster(deps, clusterId, reason))?.refund ?? null };
        // ENDING: finish the end. ENDED: nothing left in the ledger, but a retried terminate whose
        // end_lease failed sends it again (a closed lease makes that a no-op).
        case "ENDING":
        case "ENDED":
          return { state: "ended", refund: (await endCluster(deps, clusterId, reason))?.refund ?? null };
        default:
          return { state: "done", status: cluster.status };
      }
    } catch (error) {
      // A deploy step (or another terminate) moved the cluster first: re-read and act on its new state.
      if (error instanceof UnexpectedClusterStatusError) continue;
      throw error;
    }
  }
  throw new Error(`cluster ${clusterId}: terminate did not settle after ${MAX_STEPS} steps`);
}
