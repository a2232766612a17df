import { GPU_MODELS, SeededRandom, type ConnectivityTier, type DeviceStatus } from "@gpumesh/core";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import {
  createDb,
  deployableCapacity,
  explorerHeadline,
  HIGH_VERIFICATION_BPS,
  modelPriceHistory,
  networkHistory,
  placeCluster,
  runExplorerRollup,
  seedCatalogue,
  SETTLE_GRACE_MS,
  type BreakdownRow,
  type Db,
} from "../src/index.ts";

/**
 * Property: the explorer's rollups equal the raw data they summarise. A seeded random history (devices
 * joining and changing state, clusters hired, settlements journaled, chain events indexed) is rolled up
 * step by step against real Postgres; after every run the snapshot is compared with the same numbers
 * computed the plain way from the raw rows, and the flows summed over the buckets with the raw totals.
 */

const FLOOR = 5_000;
const MODELS = GPU_MODELS.slice(0, 3).map((m) => m.id);
const REGIONS = ["us-east", "eu-west", "ap-south"];
const TIERS: ConnectivityTier[] = ["LOW", "MEDIUM", "HIGH", "ULTRA_HIGH"];

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase("explorer_rollup");
  db = createDb(database.url);
  await seedCatalogue(db);
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

interface RawDevice {
  id: string;
  supplierId: string;
  gpuModelId: string | null;
  gpuCount: number;
  cpuCores: number;
  region: string;
  connectivityTier: ConnectivityTier;
  status: DeviceStatus;
  price: bigint;
  score: number;
  runsImages: boolean;
}

/** What the plain way says about the network at `now` (the old per-request computation, extended). */
async function rawTruth(now: Date) {
  const devices = await db.device.findMany();
  const busyUntil = new Date(now.getTime() + 3_600_000);
  const active = await db.allocation.findMany({ where: { status: "ACTIVE" }, include: { cluster: { select: { status: true } } } });
  const busy = new Set(active.filter((a) => a.startsAt < busyUntil && a.endsAt > now).map((a) => a.deviceId));
  const hired = active.filter((a) => a.startsAt <= now && a.endsAt > now && a.cluster.status !== "REQUESTED");
  const free = devices.filter((d) => d.status === "ONLINE" && d.gpuCount > 0 && d.gpuModelId && d.verificationScoreBps >= FLOOR && !busy.has(d.id));
  const sum = (list: typeof devices) => list.reduce((s, d) => s + d.gpuCount, 0);
  const prices = (list: typeof devices) => {
    if (list.length === 0) return { min: null, median: null, avg: null };
    const sorted = list.map((d) => d.pricePerGpuHour).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const weighted = list.reduce((s, d) => s + d.pricePerGpuHour * BigInt(d.gpuCount), 0n) / BigInt(sum(list));
    return { min: sorted[0]!, median: sorted[Math.ceil(sorted.length * 0.5) - 1]!, avg: weighted };
  };
  const breakdown = (list: typeof devices) => ({
    devices: list.length,
    gpus: sum(list),
    onlineGpus: sum(list.filter((d) => d.status === "ONLINE")),
    availableGpus: sum(list.filter((d) => free.includes(d))),
    ...(() => {
      const p = prices(list.filter((d) => free.includes(d)));
      return { minPricePerGpuHour: p.min, medianPricePerGpuHour: p.median, avgPricePerGpuHour: p.avg };
    })(),
  });
  const verified = devices.filter((d) => d.verificationScoreBps >= FLOOR && d.status !== "SUSPENDED");
  return {
    suppliers: await db.supplier.count(),
    devices: { total: devices.length, online: devices.filter((d) => d.status === "ONLINE").length, hired: new Set(hired.map((a) => a.deviceId)).size },
    gpus: { total: sum(devices), verified: sum(verified), online: sum(devices.filter((d) => d.status === "ONLINE")), hired: hired.reduce((s, a) => s + a.gpuCount, 0) },
    cpus: { verifiedCores: verified.reduce((s, d) => s + d.cpuCores, 0), onlineCores: devices.filter((d) => d.status === "ONLINE").reduce((s, d) => s + d.cpuCores, 0) },
    clustersRunning: await db.cluster.count({ where: { status: { in: ["RUNNING", "DEGRADED"] } } }),
    byModel: Object.fromEntries(MODELS.filter((m) => devices.some((d) => d.gpuModelId === m)).map((m) => [m, breakdown(devices.filter((d) => d.gpuModelId === m))])),
    byRegion: Object.fromEntries(REGIONS.filter((r) => devices.some((d) => d.region === r)).map((r) => [r, breakdown(devices.filter((d) => d.region === r))])),
  };
}

describe("explorer rollups equal the raw data they summarise", () => {
  it("over a random history: gauges, breakdowns, flows summed over buckets, and deployable shapes", async () => {
    const random = new SeededRandom(2026_12_01);
    const account = await db.account.create({ data: { walletAddress: "RenterExplorer11111111111111111111111111111" } });
    const suppliers: string[] = [];
    for (let i = 0; i < 5; i++) {
      const owner = await db.account.create({ data: { walletAddress: `SupplierExplorer${i}`.padEnd(43, "1") } });
      suppliers.push((await db.supplier.create({ data: { accountId: owner.id, name: `supplier ${i}` } })).id);
    }
    const devices: RawDevice[] = [];
    let now = new Date(Date.UTC(2026, 10, 30, 10, 0, 0));
    let chainSeq = 0;
    const journaled: { at: Date; token: "USDC" | "MESH"; gross: bigint }[] = [];
    const emitted: bigint[] = [];
    const burned: bigint[] = [];

    for (let step = 0; step < 12; step++) {
      // Devices join.
      const joining = random.int(0, 8);
      for (let i = 0; i < joining; i++) {
        const cpuOnly = random.next() < 0.1;
        devices.push({
          id: randomUUID(),
          supplierId: random.pick(suppliers),
          gpuModelId: cpuOnly ? null : random.pick(MODELS),
          gpuCount: cpuOnly ? 0 : random.pick([1, 2, 4, 8, 8]),
          cpuCores: random.pick([16, 32, 64]),
          region: random.pick(REGIONS),
          connectivityTier: random.pick(TIERS),
          status: random.pick(["ONLINE", "ONLINE", "ONLINE", "OFFLINE", "REGISTERED", "SUSPENDED"] as const),
          price: BigInt(random.int(8, 30)) * 100_000n,
          score: random.pick([0, 4_000, 6_000, 9_000, 10_000]),
          runsImages: random.next() < 0.6,
        });
        const d = devices.at(-1)!;
        await db.device.create({
          data: {
            id: d.id, supplierId: d.supplierId, name: `device ${devices.length}`, gpuModelId: d.gpuModelId, gpuCount: d.gpuCount, vramGb: d.gpuCount ? 80 : 0,
            cpuModel: "EPYC", cpuCores: d.cpuCores, ramGb: 256, diskGb: 2_000, region: d.region, country: "US",
            // Its own city: every device is its own site, so co-location never changes a mix (core capacity.ts).
            city: `city-${d.id.slice(0, 8)}`,
            bandwidthUpMbps: 10_000, bandwidthDownMbps: 10_000, connectivityTier: d.connectivityTier, status: d.status,
            pricePerGpuHour: d.price, verificationScoreBps: d.score, runsImages: d.runsImages,
          },
        });
      }
      // Some change state.
      for (const d of devices) {
        if (random.next() < 0.15) {
          d.status = random.pick(["ONLINE", "OFFLINE", "SUSPENDED"] as const);
          await db.device.update({ where: { id: d.id }, data: { status: d.status } });
        }
      }
      // A cluster hires a free online GPU device, now or from a moment ago, for an hour.
      const candidates = devices.filter((d) => d.status === "ONLINE" && d.gpuCount > 0);
      if (candidates.length && random.next() < 0.7) {
        const d = random.pick(candidates);
        const taken = await db.allocation.count({ where: { deviceId: d.id, status: "ACTIVE", endsAt: { gt: now } } });
        if (taken === 0) {
          const status = random.pick(["RUNNING", "RUNNING", "DEGRADED", "REQUESTED"] as const);
          const paidAt = new Date(now.getTime() - random.int(60, 600) * 1000);
          const startedAt = status === "REQUESTED" ? null : new Date(paidAt.getTime() + random.int(5, 300) * 1000);
          const cluster = await db.cluster.create({
            data: {
              renterId: account.id, name: `c${step}`, type: "RAY", gpuModelIds: [d.gpuModelId!], gpuCount: d.gpuCount, regions: [d.region],
              durationHours: 1, pricePerSecond: 100n, depositAmount: 360_000n, status, startedAt, createdAt: paidAt,
            },
          });
          if (status !== "REQUESTED") await db.clusterEvent.create({ data: { clusterId: cluster.id, fromStatus: "REQUESTED", toStatus: "PAID", reason: "paid", at: paidAt } });
          await db.allocation.create({
            data: { clusterId: cluster.id, deviceId: d.id, gpuCount: d.gpuCount, pricePerGpuHour: d.price, startsAt: new Date(now.getTime() - 1_000), endsAt: new Date(now.getTime() + random.int(1, 3) * 3_600_000) },
          });
        }
      }
      // A never-filled request: paid, then failed.
      if (random.next() < 0.3) {
        const paidAt = new Date(now.getTime() - 120_000);
        const cluster = await db.cluster.create({
          data: { renterId: account.id, name: `f${step}`, type: "RAY", gpuModelIds: [MODELS[0]!], gpuCount: 64, regions: ["us-east"], durationHours: 1, pricePerSecond: 1n, depositAmount: 3_600n, status: "FAILED", createdAt: paidAt },
        });
        await db.clusterEvent.create({ data: { clusterId: cluster.id, fromStatus: "REQUESTED", toStatus: "PAID", reason: "paid", at: paidAt } });
      }
      // Settlements journaled (escrow → supplier, treasury), created at times around this step.
      for (let i = random.int(0, 3); i > 0; i--) {
        const token = random.pick(["USDC", "MESH"] as const);
        const gross = BigInt(random.int(1, 5_000_000));
        const at = new Date(now.getTime() - random.int(0, 50) * 1000);
        const escrow = `escrow:cluster:${randomUUID()}:${token}`;
        const journalId = randomUUID();
        await db.$transaction(async (tx) => {
          await tx.$executeRaw`insert into ledger_account (id, code, type, token) values (gen_random_uuid(), ${escrow}, 'LIABILITY', ${token}::"PaymentToken"), (gen_random_uuid(), ${`treasury:${token}`}, 'REVENUE', ${token}::"PaymentToken") on conflict (code) do nothing`;
          await tx.$executeRaw`insert into journal (id, reference, description, token, occurred_at, created_at) values (${journalId}::uuid, ${`settle:${randomUUID()}:${at.toISOString()}`}, 'test settlement', ${token}::"PaymentToken", ${at}, ${at})`;
          await tx.$executeRaw`insert into ledger_entry (journal_id, ledger_account_id, token, amount)
            select ${journalId}::uuid, id, ${token}::"PaymentToken", case when code = ${escrow} then ${-gross}::bigint else ${gross}::bigint end from ledger_account where code in (${escrow}, ${`treasury:${token}`})`;
        });
        journaled.push({ at, token, gross });
      }
      // Chain events indexed: emissions and burns.
      for (let i = random.int(0, 2); i > 0; i--) {
        const emission = random.next() < 0.5 ? BigInt(random.int(1, 4_566_210_000)) : null;
        const burn = emission === null ? BigInt(random.int(0, 1_000_000)) : null;
        chainSeq++;
        await db.$executeRaw`insert into chain_event (signature, event_index, slot, block_time, name, emission, burned, data)
          values (${`sig${chainSeq}`}, 0, ${BigInt(chainSeq)}, ${now}, ${emission !== null ? "EmissionsMinted" : "AllocationSettled"}, ${emission}::bigint, ${burn}::bigint, '{}'::jsonb)`;
        if (emission !== null) emitted.push(emission);
        if (burn !== null) burned.push(burn);
      }

      const run = await runExplorerRollup(db, { minVerificationScoreBps: FLOOR, now });
      const headline = await explorerHeadline(db);
      const truth = await rawTruth(now);
      expect(headline.takenAt).toEqual(now);
      expect(run.devices).toBe(devices.length);
      expect({ suppliers: headline.suppliers, devices: headline.devices, gpus: headline.gpus, cpus: headline.cpus, clustersRunning: headline.clustersRunning }).toEqual({
        suppliers: truth.suppliers, devices: truth.devices, gpus: truth.gpus, cpus: truth.cpus, clustersRunning: truth.clustersRunning,
      });
      const strip = ({ devices, gpus, onlineGpus, availableGpus, minPricePerGpuHour, medianPricePerGpuHour, avgPricePerGpuHour }: BreakdownRow) => ({
        devices, gpus, onlineGpus, availableGpus, minPricePerGpuHour, medianPricePerGpuHour, avgPricePerGpuHour,
      });
      expect(Object.fromEntries(headline.byModel.map((m) => [m.gpuModelId, strip(m)]))).toEqual(truth.byModel);
      expect(Object.fromEntries(headline.byRegion.map((r) => [r.region, strip(r)]))).toEqual(truth.byRegion);
      // Cumulative chain flows are exact at every run.
      expect(headline.mesh.mintedTotal).toBe(emitted.reduce((s, x) => s + x, 0n));
      expect(headline.mesh.burnedTotal).toBe(burned.reduce((s, x) => s + x, 0n));
      // Revenue counted so far: exactly the settlements journaled before the ledger watermark.
      const watermark = now.getTime() - SETTLE_GRACE_MS;
      const counted = await db.networkSnapshot.aggregate({ where: { resolution: "minute" }, _sum: { revenueUsdc: true, revenueMesh: true } });
      const expected = (token: string) => journaled.filter((j) => j.token === token && j.at.getTime() < watermark).reduce((s, j) => s + j.gross, 0n);
      expect(counted._sum.revenueUsdc ?? 0n).toBe(expected("USDC"));
      expect(counted._sum.revenueMesh ?? 0n).toBe(expected("MESH"));

      now = new Date(now.getTime() + random.int(10, 90) * 1000);
    }

    // A quiet run past the grace: every settlement counted once, in minute and hour buckets alike.
    now = new Date(now.getTime() + SETTLE_GRACE_MS + 1_000);
    await runExplorerRollup(db, { minVerificationScoreBps: FLOOR, now });
    for (const resolution of ["minute", "hour"]) {
      const sums = await db.networkSnapshot.aggregate({ where: { resolution }, _sum: { revenueUsdc: true, revenueMesh: true, meshMinted: true, meshBurned: true } });
      expect(sums._sum.revenueUsdc ?? 0n).toBe(journaled.filter((j) => j.token === "USDC").reduce((s, j) => s + j.gross, 0n));
      expect(sums._sum.revenueMesh ?? 0n).toBe(journaled.filter((j) => j.token === "MESH").reduce((s, j) => s + j.gross, 0n));
      expect(sums._sum.meshMinted ?? 0n).toBe(emitted.reduce((s, x) => s + x, 0n));
      expect(sums._sum.meshBurned ?? 0n).toBe(burned.reduce((s, x) => s + x, 0n));
    }
    // History reads the same buckets: gauges per bucket, flows summing to the totals.
    const minutes = await db.networkSnapshot.findMany({ where: { resolution: "minute" }, orderBy: { bucketAt: "asc" } });
    const online = await networkHistory(db, "gpusOnline", "24h", now);
    expect(online.points.map((p) => [p.at.getTime(), p.value])).toEqual(minutes.map((m) => [m.bucketAt.getTime(), BigInt(m.gpusOnline)]));
    const utilisation = await networkHistory(db, "utilisationBps", "1h", now);
    expect(utilisation.points.at(-1)!.value).toBe(BigInt(Math.floor((minutes.at(-1)!.gpusHired * 10_000) / Math.max(1, minutes.at(-1)!.gpusOnline))) * (minutes.at(-1)!.gpusOnline > 0 ? 1n : 0n));
    const minted = await networkHistory(db, "meshMinted", "7d", now);
    expect(minted.resolution).toBe("hour");
    expect(minted.points.reduce((sum, p) => sum + p.value, 0n)).toBe(emitted.reduce((s, x) => s + x, 0n));
    // A model's asks over time read its own snapshot rows, bucket for bucket.
    const modelMinutes = await db.modelSnapshot.findMany({ where: { resolution: "minute", gpuModelId: MODELS[0]! }, orderBy: { bucketAt: "asc" } });
    const asks = await modelPriceHistory(db, MODELS[0]!, "24h", now);
    expect(asks.points.length).toBeGreaterThan(0);
    expect(asks.points.map((p) => [p.at.getTime(), p.medianPricePerGpuHour, p.minPricePerGpuHour, p.gpusAvailable])).toEqual(
      modelMinutes.map((m) => [m.bucketAt.getTime(), m.medianPricePerGpuHour, m.minPricePerGpuHour, m.gpusAvailable]),
    );
    expect((await modelPriceHistory(db, MODELS[0]!, "7d", now)).resolution).toBe("hour");
    const headline = await explorerHeadline(db);
    expect(headline.fill24h.paid).toBe(await db.clusterEvent.count({ where: { toStatus: "PAID" } }));
    expect(headline.fill24h.unfilled).toBe(await db.cluster.count({ where: { status: "FAILED" } }));

    // Deployable shapes equal what consecutive deploys through the real placement get.
    let deployedAny = 0;
    let deployedWithImage = 0;
    for (const gpuModelId of MODELS) {
      for (const gpuCount of [1, 8]) {
        // A cluster with an image: only devices that run images, as placement takes them.
        const forImages = await deployableCapacity(db, { gpuModelId, gpuCount, runtime: "image" });
        const withImage = await deployUntilFull(gpuModelId, gpuCount, now, { image: "ghcr.io/acme/train:2" });
        expect(forImages.shapes[0]?.anyNodes ?? 0, `${gpuModelId} × ${gpuCount} with an image`).toBe(withImage);
        deployedWithImage += withImage;
        const { shapes } = await deployableCapacity(db, { gpuModelId, gpuCount });
        const deployed = await deployUntilFull(gpuModelId, gpuCount, now);
        expect(shapes[0]?.anyNodes ?? 0, `${gpuModelId} × ${gpuCount}`).toBe(deployed);
        deployedAny += deployed;
        const busy = new Set((await db.allocation.findMany({ where: { status: "ACTIVE", endsAt: { gt: now } }, select: { deviceId: true } })).map((a) => a.deviceId));
        // Each tier filter counts that tier or better.
        for (const [rank, tier] of TIERS.entries()) {
          if (tier === "LOW") continue; // LOW or better is every device: the `*` row
          const high = await deployableCapacity(db, { gpuModelId, gpuCount, region: "us-east", connectivityTier: tier, verification: "high" });
          const raw = await db.device.findMany({ where: { status: "ONLINE", gpuModelId, region: "us-east", connectivityTier: { in: TIERS.slice(rank) }, verificationScoreBps: { gte: HIGH_VERIFICATION_BPS } } });
          expect(high.shapes[0]?.singleNode ?? 0, `${gpuModelId} × ${gpuCount} ${tier}`).toBe(raw.filter((d) => d.gpuCount === gpuCount && !busy.has(d.id)).length);
        }
      }
    }
    // The history must have left something deployable, or the comparison above proves nothing.
    expect(deployedAny).toBeGreaterThan(0);
    expect(deployedWithImage).toBeGreaterThan(0);
    expect(deployedWithImage).toBeLessThan(deployedAny);
  });
});

/** Deploys the shape again and again with the scheduler's own placement, excluding what each took. */
async function deployUntilFull(gpuModelId: string, gpuCount: number, now: Date, workload: { image: string } | null = null): Promise<number> {
  const exclude = new Set<string>();
  let deployed = 0;
  for (;;) {
    const placed = await placeCluster(db, {
      cluster: {
        id: `shape-${deployed}`, name: "shape", type: "RAY", gpuModelIds: [gpuModelId], minVramGb: 0, regions: REGIONS, connectivityTier: "LOW",
        encryptedTraffic: false, complianceOnly: false, supplierNetworks: ["GPUMESH", "RENDER", "FILECOIN", "AETHIR"], durationHours: 1, billingPeriod: "HOURLY",
        paymentToken: "USDC", maxPricePerGpuHour: null, workload,
      },
      gpuCount,
      startsAt: now,
      endsAt: new Date(now.getTime() + 3_600_000),
      excludeDeviceIds: exclude,
      minVerificationScoreBps: FLOOR,
    });
    if (!placed.ok) return deployed;
    for (const d of placed.devices) exclude.add(d.deviceId);
    deployed++;
  }
}
