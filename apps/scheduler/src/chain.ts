import { billedAllocations, leaseMaxSeconds, type Db } from "@gpumesh/db";
import { fetchAllocations, fetchLease, pdas, planLeaseSync, type ChainGateway, type DesiredLease } from "@gpumesh/chain";
import { type Keypair, PublicKey } from "@solana/web3.js";
import type { Logger } from "pino";

/**
 * The on-chain side of a lease. `syncLease` brings the program's lease of a cluster in line with the
 * ledger: activation at the real start, one allocation per node as nodes are billed and released (in
 * time order), settles up to what the ledger settled (same `until`), the end at the ledger's end
 * instant, and a full cancel for a deployment that never ran. It reads both sides and sends only what
 * is missing, so it is safe to run any number of times, from any job, after any crash.
 * `GatewayChainSettlement` sends through the chain gateway; `RecordingChainSettlement` (no chain
 * configured, tests) records what was asked.
 */
export interface LeaseSyncOutcome {
  /** Transactions sent by this run. */
  signatures: string[];
  /** Nothing is left to do on-chain for this lease (cancelled, or ended and paid out). */
  finished: boolean;
  /** Why nothing was sent: the cluster has no on-chain lease, or the chain cannot follow (reported). */
  skipped?: string;
  problem?: string;
}

export interface ChainSettlement {
  syncLease(clusterId: string): Promise<LeaseSyncOutcome>;
}

const FINISHED_STATUSES = new Set(["ENDED", "REFUNDED"]);

/** Nothing is left on-chain for this cluster's lease: the sweeps stop looking at it. */
async function markChainClosed(db: Db, clusterId: string): Promise<void> {
  await db.cluster.updateMany({ where: { id: clusterId, chainClosedAt: null }, data: { chainClosedAt: new Date() } });
}

/** One `syncLease` call as `RecordingChainSettlement` saw it: the cluster's state at that moment. */
export interface RecordedSync {
  clusterId: string;
  status: string | null;
  endedAt: Date | null;
  /** The ledger's refund of the cluster at that moment (what end_lease or cancel_lease would return). */
  refund: bigint;
}

export class RecordingChainSettlement implements ChainSettlement {
  readonly syncs: RecordedSync[] = [];

  constructor(private readonly db?: Db) {}

  /** The first sync of each cluster after it ended: where end_lease would go out. */
  get ended(): RecordedSync[] {
    return firstPerCluster(this.syncs.filter((s) => s.status === "ENDED"));
  }

  /** The first sync of each cluster after it failed: where cancel_lease would go out. */
  get cancelled(): RecordedSync[] {
    return firstPerCluster(this.syncs.filter((s) => s.status === "FAILED" || s.status === "REFUNDED"));
  }

  async syncLease(clusterId: string): Promise<LeaseSyncOutcome> {
    const cluster = await this.db?.cluster.findUnique({ where: { id: clusterId }, select: { status: true, endedAt: true } });
    const refund = await this.db?.journal.findUnique({ where: { reference: `refund:${clusterId}` }, select: { entries: { where: { amount: { gt: 0n } }, select: { amount: true } } } });
    this.syncs.push({ clusterId, status: cluster?.status ?? null, endedAt: cluster?.endedAt ?? null, refund: refund?.entries.reduce((sum, e) => sum + e.amount, 0n) ?? 0n });
    // Without a chain there is no escrow to unwind: a finished cluster is closed as far as the chain goes.
    const finished = cluster ? FINISHED_STATUSES.has(cluster.status) : false;
    if (finished && this.db) await markChainClosed(this.db, clusterId);
    return { signatures: [], finished, skipped: "no chain configured" };
  }
}

function firstPerCluster(syncs: RecordedSync[]): RecordedSync[] {
  const seen = new Set<string>();
  return syncs.filter((s) => !seen.has(s.clusterId) && seen.add(s.clusterId));
}

/** Sync rounds per run: each round sends what one snapshot allows (activation, then allocations, settles, end, close). */
const MAX_ROUNDS = 6;

export class GatewayChainSettlement implements ChainSettlement {
  constructor(
    private readonly db: Db,
    private readonly chain: { gateway: ChainGateway; settlementAuthority: Keypair; config(): Promise<{ meshMint: PublicKey }> },
    private readonly logger: Logger,
  ) {}

  async syncLease(clusterId: string): Promise<LeaseSyncOutcome> {
    const cluster = await this.db.cluster.findUniqueOrThrow({
      where: { id: clusterId },
      select: {
        leaseId: true, status: true, startedAt: true, endedAt: true, durationHours: true, pricePerSecond: true, depositAmount: true, paymentToken: true, chainClosedAt: true,
        renter: { select: { walletAddress: true } },
      },
    });
    if (cluster.leaseId === null) return { signatures: [], finished: true, skipped: "no on-chain lease" };
    if (cluster.chainClosedAt) return { signatures: [], finished: true };
    let renter: PublicKey;
    try {
      renter = new PublicKey(cluster.renter.walletAddress);
    } catch {
      // A dev account whose "wallet" is not a key cannot hold a lease: nothing on-chain to wait for.
      await markChainClosed(this.db, clusterId);
      return { signatures: [], finished: true, skipped: "renter wallet is not a Solana address" };
    }
    const { gateway, settlementAuthority } = this.chain;
    const connection = gateway.connection;
    const meshMint = (await this.chain.config()).meshMint;
    const signatures: string[] = [];
    let problem: string | undefined;
    // What the ledger wants does not change while this run sends; only the chain's side is read again.
    let desired: DesiredLease | undefined;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const lease = await fetchLease(connection, renter, cluster.leaseId, gateway.programId);
      if (!lease) return { signatures, finished: false, problem: "the lease is not on-chain" };
      if (!desired) {
        // The ledger settles at the lease's own rates, as the program snapshotted them when it was paid.
        await this.db.cluster.updateMany({ where: { id: clusterId, feeBps: null }, data: { feeBps: lease.feeBps, burnBps: lease.burnBps } });
        desired = await this.desired(clusterId, cluster, lease.mint, meshMint);
      }
      const allocations = await fetchAllocations(connection, lease.address, lease.allocationCount, gateway.programId);
      const escrowOpen = (await connection.getAccountInfo(pdas.escrow(lease.address, gateway.programId)[0], "confirmed")) !== null;
      const plan = planLeaseSync(desired, lease, allocations, escrowOpen);
      if (plan.problem && plan.problem !== problem) {
        problem = plan.problem;
        this.logger.warn({ cluster: clusterId, lease: lease.address.toBase58(), problem }, "the on-chain lease cannot follow the ledger");
      }
      if (plan.finished) {
        await markChainClosed(this.db, clusterId);
        return { signatures, finished: true, ...(problem ? { problem } : {}) };
      }
      if (!plan.steps.length) return { signatures, finished: false, ...(problem ? { problem } : {}) };
      signatures.push(...(await gateway.sendLeaseSteps(settlementAuthority, lease, plan.steps)));
      this.logger.info({ cluster: clusterId, lease: lease.address.toBase58(), steps: plan.steps.map((s) => s.kind) }, "lease synced on-chain");
    }
    return { signatures, finished: false, ...(problem ? { problem } : {}) };
  }

  /** What the ledger says the lease must look like. */
  private async desired(
    clusterId: string,
    cluster: { status: string; startedAt: Date | null; endedAt: Date | null; durationHours: number; pricePerSecond: bigint; depositAmount: bigint; paymentToken: string },
    leaseMint: PublicKey,
    meshMint: PublicKey,
  ): Promise<DesiredLease> {
    // Whole unix seconds, floored like the ledger's billing instants.
    const unix = (date: Date) => BigInt(Math.floor(date.getTime() / 1000));
    // The mint is the one the quote named: MESH for a MESH cluster, anything else for USDC.
    const mintMatches = leaseMint.equals(meshMint) === (cluster.paymentToken === "MESH");
    // max_seconds grows with every extend_lease (the quoted duration plus each extension's seconds):
    // a lease extended while still Pending on-chain is activated with its extended terms.
    const terms = { pricePerSecond: cluster.pricePerSecond, maxSeconds: leaseMaxSeconds(cluster), mint: mintMatches ? leaseMint : PublicKey.default };
    const started = cluster.startedAt !== null && ["RUNNING", "DEGRADED", "ENDING", "ENDED"].includes(cluster.status);
    if (!started) return { terms, startTs: null, cancel: ["FAILED", "REFUNDED"].includes(cluster.status), allocations: [], endTs: null };
    const billed = await billedAllocations(this.db, clusterId);
    const suppliers = await this.db.device.findMany({ where: { id: { in: billed.map((b) => b.deviceId) } }, select: { id: true, supplier: { select: { account: { select: { walletAddress: true } } } } } });
    const wallet = new Map(suppliers.map((d) => [d.id, d.supplier.account.walletAddress]));
    const usage = await this.db.usageRecord.groupBy({ by: ["allocationId"], where: { clusterId }, _sum: { amount: true }, _max: { periodEnd: true } });
    const ledger = new Map(usage.map((u) => [u.allocationId, u]));
    return {
      terms,
      startTs: unix(cluster.startedAt!),
      cancel: false,
      allocations: billed.map((b) => ({
        index: b.chainIndex,
        supplier: new PublicKey(wallet.get(b.deviceId)!),
        ratePerSecond: b.ratePerSecond,
        fromTs: unix(b.billedFrom),
        untilTs: b.billedUntil ? unix(b.billedUntil) : null,
        ledgerGross: ledger.get(b.id)?._sum.amount ?? 0n,
        ledgerSettledUntil: ledger.get(b.id)?._max.periodEnd ? unix(ledger.get(b.id)!._max.periodEnd!) : null,
      })),
      endTs: cluster.status === "ENDED" && cluster.endedAt ? unix(cluster.endedAt) : null,
    };
  }
}
