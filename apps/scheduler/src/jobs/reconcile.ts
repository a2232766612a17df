import { fetchAllocations, fetchLease } from "@gpumesh/chain";
import { compareLease, ledgerOfLease, recordReconciliation, type Db, type LeaseMoney, type Mismatch } from "@gpumesh/db";
import { PublicKey } from "@solana/web3.js";
import type { Logger } from "pino";
import type { ChainContext } from "../chain-context.ts";

/**
 * The reconciliation of one closed lease: per allocation and per supplier what the program paid,
 * the fee, the burn and the refund, against the ledger's journals for the same lease (the sweep
 * picks leases whose end or cancel has landed on-chain). The verdict is stored; a mismatch is logged
 * as an error and listed by the admin API (`GET /reconciliation`), never corrected here.
 */
export async function reconcileLease(deps: { db: Db; chain: ChainContext; logger: Logger }, clusterId: string): Promise<{ ok: boolean; mismatches: Mismatch[] } | null> {
  const cluster = await deps.db.cluster.findUniqueOrThrow({ where: { id: clusterId }, select: { leaseId: true, renter: { select: { walletAddress: true } } } });
  if (cluster.leaseId === null) return null;
  const { connection, programId } = deps.chain;
  const lease = await fetchLease(connection, new PublicKey(cluster.renter.walletAddress), cluster.leaseId, programId);
  const ledger = await ledgerOfLease(deps.db, clusterId);
  let mismatches: Mismatch[];
  if (!lease) {
    mismatches = [{ what: "lease account", chain: "missing", ledger: "closed lease" }];
  } else {
    const allocations = await fetchAllocations(connection, lease.address, lease.allocationCount, programId);
    const chain: LeaseMoney = {
      deposit: lease.deposited,
      grossByAllocation: new Map(allocations.map((a) => [a.index, a.totalGross])),
      supplierByWallet: new Map(),
      treasury: lease.totalTreasury,
      burned: lease.totalBurned,
      refund: lease.refunded,
    };
    for (const a of allocations) {
      const wallet = a.supplier.toBase58();
      chain.supplierByWallet.set(wallet, (chain.supplierByWallet.get(wallet) ?? 0n) + a.totalSupplier);
    }
    mismatches = compareLease(chain, ledger);
  }
  await recordReconciliation(deps.db, clusterId, mismatches);
  if (mismatches.length) deps.logger.error({ cluster: clusterId, mismatches }, "reconciliation: the chain and the ledger disagree on this lease");
  return { ok: mismatches.length === 0, mismatches };
}
