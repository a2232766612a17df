import { LedgerAccounts } from "@gpumesh/core";
import { ledgerBalance, type Db } from "@gpumesh/db";

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
