import type { SettleDeps } from "./settle.ts";

/**
 * Cancels the on-chain lease of a cluster that never ran (FAILED/REFUNDED): the lease sync sends
 * cancel_lease, which refunds the escrow in full with no fee. Safe to repeat (a cancelled lease stays
 * cancelled, and the sync sends only what is missing).
 */
export async function cancelClusterLease(deps: SettleDeps, clusterId: string): Promise<void> {
  await deps.chain.syncLease(clusterId);
}
