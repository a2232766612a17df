import http from "node:http";
import { LedgerAccounts } from "@gpumesh/core";
import { ledgerBalance, reserveDevices, type Db } from "@gpumesh/db";
import type { ChainSettlement, LeaseSyncOutcome } from "../src/chain.ts";

/** A paid cluster that fits the seeded network: `nodes` devices of the best-stocked (model, region) bucket. */
export async function paidCluster(
  db: Db,
  options: { nodes?: number; token?: "USDC" | "MESH"; durationHours?: number; pricePerSecond?: bigint; excludeBuckets?: string[] } = {},
): Promise<{ id: string; gpuCount: number; gpuModelId: string; region: string; deposit: bigint }> {
  const nodes = options.nodes ?? 2;
  const rows = await db.$queryRaw<{ gpu_model_id: string; region: string; gpu_count: number; n: bigint }[]>`
    select gpu_model_id, region, gpu_count, count(*) as n from device
     where status = 'ONLINE' and gpu_count > 0 and verification_score_bps >= 5000
       and not exists (select 1 from allocation a where a.device_id = device.id and a.status = 'ACTIVE')
     group by gpu_model_id, region, gpu_count order by count(*) desc, gpu_model_id, region, gpu_count`;
  const bucket = rows.find((r) => !options.excludeBuckets?.includes(`${r.gpu_model_id}|${r.region}|${r.gpu_count}`) && Number(r.n) >= nodes + 2);
  if (!bucket) throw new Error("seeded network has no bucket big enough");
  const renter = await db.account.upsert({
    where: { walletAddress: "RenterDep1oy111111111111111111111111111111" },
    create: { walletAddress: "RenterDep1oy111111111111111111111111111111" },
    update: {},
  });
  const durationHours = options.durationHours ?? 4;
  const pricePerSecond = options.pricePerSecond ?? 1_234n;
  const deposit = pricePerSecond * BigInt(durationHours * 3600);
  const gpuCount = bucket.gpu_count * nodes;
  const cluster = await db.cluster.create({
    data: {
      renterId: renter.id, name: "deploy-test", type: "RAY", gpuModelIds: [bucket.gpu_model_id], gpuCount, regions: [bucket.region],
      supplierNetworks: ["GPUMESH", "RENDER", "FILECOIN", "AETHIR"], durationHours, pricePerSecond, depositAmount: deposit,
      paymentToken: options.token ?? "USDC", status: "PAID",
    },
  });
  return { id: cluster.id, gpuCount, gpuModelId: bucket.gpu_model_id, region: bucket.region, deposit };
}

/**
 * A chain settlement that fails every call while `down` (an RPC outage), for the paths a real localnet
 * cannot be made to fail on cue. Otherwise it records, per cluster, the first sync that found the lease
 * over in the ledger: `ended` (ENDED: where end_lease goes out) and `cancelled` (FAILED/REFUNDED:
 * cancel_lease), and marks a finished lease closed as the gateway does.
 */
export class FlakyChainSettlement implements ChainSettlement {
  down = false;
  failures = 0;
  readonly ended: { clusterId: string; endedAt: Date | null }[] = [];
  readonly cancelled: string[] = [];

  constructor(private readonly db: Db) {}

  async syncLease(clusterId: string): Promise<LeaseSyncOutcome> {
    if (this.down) {
      this.failures++;
      throw new Error("chain unavailable (test outage)");
    }
    const cluster = await this.db.cluster.findUniqueOrThrow({ where: { id: clusterId }, select: { status: true, endedAt: true } });
    if (cluster.status === "ENDED" && !this.ended.some((e) => e.clusterId === clusterId)) this.ended.push({ clusterId, endedAt: cluster.endedAt });
    if ((cluster.status === "FAILED" || cluster.status === "REFUNDED") && !this.cancelled.includes(clusterId)) this.cancelled.push(clusterId);
    const finished = cluster.status === "ENDED" || cluster.status === "REFUNDED";
    if (finished) await this.db.cluster.updateMany({ where: { id: clusterId, chainClosedAt: null }, data: { chainClosedAt: new Date() } });
    return { signatures: [], finished };
  }
}

let nextLeaseId = BigInt(Date.now()) * 1_000n;

/** A RUNNING lease on `nodes` free devices, acknowledged at `startedAt`, with an on-chain lease id. */
export async function runningCluster(db: Db, options: { startedAt: Date; durationHours: number; nodes?: number; pricePerSecond?: bigint }) {
  const devices = await db.device.findMany({ where: { gpuCount: { gt: 0 }, status: "ONLINE", allocations: { none: {} } }, take: options.nodes ?? 1, orderBy: { id: "asc" } });
  const renter = await db.account.create({ data: { walletAddress: `RenterRun${Math.random().toString(36).slice(2, 12)}`.padEnd(43, "1") } });
  const pricePerSecond = options.pricePerSecond ?? 100n;
  const endsAt = new Date(options.startedAt.getTime() + options.durationHours * 3_600_000);
  const cluster = await db.cluster.create({
    data: {
      renterId: renter.id, name: "running", type: "RAY", gpuModelIds: [devices[0]!.gpuModelId!], gpuCount: devices.reduce((n, d) => n + d.gpuCount, 0),
      regions: [devices[0]!.region], supplierNetworks: ["GPUMESH"], durationHours: options.durationHours, pricePerSecond,
      depositAmount: pricePerSecond * BigInt(options.durationHours * 3600), status: "RUNNING", startedAt: options.startedAt, endsAt, leaseId: nextLeaseId++,
    },
  });
  await reserveDevices(db, {
    clusterId: cluster.id,
    devices: devices.map((d) => ({ deviceId: d.id, gpuCount: d.gpuCount, pricePerGpuHour: d.pricePerGpuHour })),
    startsAt: options.startedAt,
    endsAt,
  });
  await db.allocation.updateMany({ where: { clusterId: cluster.id }, data: { acknowledgedAt: options.startedAt } });
  return cluster;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function waitForStatus(db: Db, clusterId: string, status: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(`cluster ${clusterId} to be ${status}`, async () => (await db.cluster.findUniqueOrThrow({ where: { id: clusterId } })).status === status, timeoutMs);
}

export async function timeline(db: Db, clusterId: string): Promise<string[]> {
  const events = await db.clusterEvent.findMany({ where: { clusterId }, orderBy: { id: "asc" } });
  return events.map((e) => `${e.fromStatus}->${e.toStatus}`);
}

/** Escrow in = Σ supplier + treasury + burned + refund, to the base unit (DESIGN.md invariant), per cluster. */
export async function moneyOfCluster(db: Db, clusterId: string) {
  const journals = await db.journal.findMany({ where: { reference: { contains: clusterId } }, include: { entries: { include: { ledgerAccount: true } } } });
  const sum = (prefix: string, excludeRefs: (ref: string) => boolean = () => false) =>
    journals.filter((j) => !excludeRefs(j.reference)).flatMap((j) => j.entries).filter((e) => e.ledgerAccount.code.startsWith(prefix)).reduce((a, e) => a + e.amount, 0n);
  const { paymentToken } = await db.cluster.findUniqueOrThrow({ where: { id: clusterId }, select: { paymentToken: true } });
  return {
    references: journals.map((j) => j.reference).sort(),
    escrow: await ledgerBalance(db, LedgerAccounts.escrow(clusterId, paymentToken)),
    suppliers: sum("earnings:supplier:"),
    treasury: sum("treasury"),
    burned: sum("burned"),
    refund: sum("wallet:renter:", (ref) => ref.startsWith("deposit:")),
  };
}

/**
 * The Solana JSON-RPC HTTP methods a validator serves (solana.com/docs/rpc/http). The scheduler must
 * use only these against a chain, so that pointing SOLANA_RPC_URL at solana-test-validator or devnet
 * works as it does against programs/localnet (whose extra `gpumesh_*` methods are for tests only).
 */
export const STANDARD_RPC_METHODS = new Set([
  "getAccountInfo", "getBalance", "getBlock", "getBlockCommitment", "getBlockHeight", "getBlockProduction", "getBlocks",
  "getBlocksWithLimit", "getBlockTime", "getClusterNodes", "getEpochInfo", "getEpochSchedule", "getFeeForMessage",
  "getFirstAvailableBlock", "getGenesisHash", "getHealth", "getHighestSnapshotSlot", "getIdentity", "getInflationGovernor",
  "getInflationRate", "getInflationReward", "getLargestAccounts", "getLatestBlockhash", "getLeaderSchedule", "getMaxRetransmitSlot",
  "getMaxShredInsertSlot", "getMinimumBalanceForRentExemption", "getMultipleAccounts", "getProgramAccounts",
  "getRecentPerformanceSamples", "getRecentPrioritizationFees", "getSignaturesForAddress", "getSignatureStatuses", "getSlot",
  "getSlotLeader", "getSlotLeaders", "getStakeMinimumDelegation", "getSupply", "getTokenAccountBalance", "getTokenAccountsByDelegate",
  "getTokenAccountsByOwner", "getTokenLargestAccounts", "getTokenSupply", "getTransaction", "getTransactionCount", "getVersion",
  "getVoteAccounts", "isBlockhashValid", "minimumLedgerSlot", "requestAirdrop", "sendTransaction", "simulateTransaction",
]);

/** An HTTP proxy in front of a JSON-RPC node that records every method called through it. */
export async function rpcRecorder(target: string): Promise<{ url: string; methods: Set<string>; close(): Promise<void> }> {
  const methods = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      try {
        const parsed = JSON.parse(body.toString("utf8")) as { method?: string } | { method?: string }[];
        for (const call of Array.isArray(parsed) ? parsed : [parsed]) if (call.method) methods.add(call.method);
      } catch {
        methods.add("(unparseable request)");
      }
      fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body }).then(
        async (upstream) => {
          res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" });
          res.end(Buffer.from(await upstream.arrayBuffer()));
        },
        (error: unknown) => {
          res.writeHead(502);
          res.end(String(error));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    methods,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
