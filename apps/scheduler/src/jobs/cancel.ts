import type { SettleDeps } from "./settle.ts";

/** What a chain settlement that can cancel a lease (cancel_lease, MONEY-V2.md) offers. */
interface CancellingChain {
  cancelLease?(request: { clusterId: string }): Promise<unknown>;
}

/**
 * Cancels the on-chain lease of a cluster that never ran (FAILED/REFUNDED): cancel_lease refunds the
 * escrow in full. Safe to repeat (a cancelled lease stays cancelled). A chain settlement without
 * `cancelLease` (no chain configured, or one that cannot cancel yet) has nothing to send.
 */
export async function cancelClusterLease(deps: SettleDeps, clusterId: string): Promise<void> {
  const chain = deps.chain as SettleDeps["chain"] & CancellingChain;
  await chain.cancelLease?.({ clusterId });
}
