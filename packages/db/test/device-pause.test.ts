import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { availability, createDb, createHeldQuote, DeviceUnavailableError, releaseHeldQuote, LivePlacement, placeCluster, releaseAllocations, reserveGang, runExplorerRollup, type Db, type PlacementQuery } from "../src/index.ts";
import { seedCatalogue } from "../src/seed.ts";

// A supplier's pause (migration 20261202120000_device_pause): the paused device takes no new leases
// anywhere a lease is found (candidate read, live index, availability, deployable-now, the
// reservation statement itself) and is back in all of them once resumed; every pause is a period.
let database: TestDatabase;
let db: Db;
let renterId: string;
const devices: string[] = [];
let index: LivePlacement;

const setPaused = (id: string, paused: boolean) => db.$executeRaw`update device set paused_at = case when ${paused} then coalesce(paused_at, now()) else null end where id = ${id}::uuid`;

async function newCluster(gpuCount: number): Promise<PlacementQuery["cluster"]> {
  return db.cluster.create({
    data: { renterId, name: "pause", type: "CONTAINER", gpuModelIds: ["h100-80gb"], gpuCount, regions: ["us-east"], supplierNetworks: ["GPUMESH"], durationHours: 2, pricePerSecond: 1_000n, depositAmount: 7_200_000n, status: "MATCHING" },
  });
}

function query(cluster: PlacementQuery["cluster"], gpuCount: number): PlacementQuery {
  const startsAt = new Date();
  return { cluster, gpuCount, startsAt, endsAt: new Date(startsAt.getTime() + 2 * 3_600_000), excludeDeviceIds: new Set(), minVerificationScoreBps: 5_000 };
}

/** Device ids a placement of `gpuCount` GPUs takes, from a candidate read and from the live index. */
async function placed(gpuCount: number): Promise<{ read: string[]; live: string[] }> {
  await index.settled();
  const q = query(await newCluster(gpuCount), gpuCount);
  const read = await placeCluster(db, q);
  const live = index.place(q);
  if (live?.ok) live.release();
  return { read: read.ok ? read.devices.map((d) => d.deviceId).sort() : [], live: live?.ok ? live.devices.map((d) => d.deviceId).sort() : [] };
}

beforeAll(async () => {
  database = await createTestDatabase("device_pause");
  db = createDb(database.url, { max: 6 });
  await seedCatalogue(db);
  renterId = (await db.account.create({ data: { walletAddress: "RenterPause".padEnd(43, "1") } })).id;
  const account = await db.account.create({ data: { walletAddress: "SupplierPause".padEnd(43, "1") } });
  const supplierId = (await db.supplier.create({ data: { accountId: account.id, name: "Pause DC" } })).id;
  for (let i = 0; i < 2; i++) {
    const device = await db.device.create({
      data: {
        supplierId, name: `pause-${i}`, gpuModelId: "h100-80gb", gpuCount: 8, vramGb: 80, cpuModel: "EPYC", cpuCores: 64, ramGb: 512, diskGb: 4096, region: "us-east", country: "US",
        city: "Ashburn", bandwidthUpMbps: 10_000, bandwidthDownMbps: 10_000, pricePerGpuHour: 2_000_000n + BigInt(i) * 100_000n, status: "ONLINE", verificationScoreBps: 9_000, lastHeartbeatAt: new Date(),
      },
      select: { id: true },
    });
    devices.push(device.id);
  }
  index = new LivePlacement({ url: database.url, minVerificationScoreBps: 5_000 });
  await index.start();
});

afterAll(async () => {
  await index?.close();
  await db.$disconnect();
  await database.drop();
});

describe("a paused device", () => {
  it("is recorded as one period per pause, however often it is paused again", async () => {
    const [first] = devices;
    await setPaused(first!, true);
    await setPaused(first!, true);
    let periods = await db.devicePause.findMany({ where: { deviceId: first }, orderBy: { id: "asc" } });
    expect(periods).toHaveLength(1);
    expect(periods[0]!.endedAt).toBeNull();
    await setPaused(first!, false);
    periods = await db.devicePause.findMany({ where: { deviceId: first }, orderBy: { id: "asc" } });
    expect(periods).toHaveLength(1);
    expect(periods[0]!.endedAt!.getTime()).toBeGreaterThanOrEqual(periods[0]!.startedAt.getTime());
    expect((await db.device.findUniqueOrThrow({ where: { id: first } })).pausedAt).toBeNull();
  });

  it("is not placed, counted free or deployable, and is back everywhere once resumed", async () => {
    const [cheap, dear] = devices;
    expect(await placed(8)).toEqual({ read: [cheap], live: [cheap] });
    await setPaused(cheap!, true);
    // The candidate read and every scheduler's live index (through the placement feed) skip it.
    expect(await placed(8)).toEqual({ read: [dear], live: [dear] });
    expect(await placed(16)).toEqual({ read: [], live: [] });
    // Idle, it is neither supply nor free: the market shows only the other device.
    const [market] = await availability(db, { now: new Date(), gpuModelIds: ["h100-80gb"], regions: ["us-east"] });
    expect(market).toMatchObject({ onlineGpus: 8, busyGpus: 0, freeGpus: 8, cheapestAskPerGpuHour: 2_100_000n });
    expect(index.marketLoad("h100-80gb", "us-east")).toEqual({ onlineGpus: 8, busyGpus: 0 });
    // The explorer's deployable-now counts it out.
    await runExplorerRollup(db, { minVerificationScoreBps: 5_000, now: new Date() });
    const shape = await db.capacityShape.findFirst({ where: { gpuModelId: "h100-80gb", gpuCount: 8, region: "us-east", connectivityTier: "*", runtime: "any", minVerificationBps: { lte: 5_000 } }, orderBy: { minVerificationBps: "desc" } });
    expect(shape).toMatchObject({ freeGpus: 8, anyNodes: 1 });

    await setPaused(cheap!, false);
    expect(await placed(8)).toEqual({ read: [cheap], live: [cheap] });
    expect(await placed(16)).toEqual({ read: [cheap, dear].sort(), live: [cheap, dear].sort() });
  });

  it("is refused by the reservation statement itself, so a placement made just before the pause fails over", async () => {
    const [cheap, dear] = devices;
    const cluster = await newCluster(8);
    const q = query(cluster, 8);
    await setPaused(cheap!, true);
    try {
      const refused = await reserveGang(db, { clusterId: cluster.id, devices: [{ deviceId: cheap!, gpuCount: 8, pricePerGpuHour: 2_000_000n }], startsAt: q.startsAt, endsAt: q.endsAt, expected: "MATCHING", reason: "matched", at: q.startsAt, heldGpus: 0 }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(DeviceUnavailableError);
      expect((refused as DeviceUnavailableError).reasons).toEqual({ [cheap!]: "paused" });
      expect(await db.allocation.count({ where: { clusterId: cluster.id } })).toBe(0);
      // The other device is reserved as usual.
      expect(await reserveGang(db, { clusterId: cluster.id, devices: [{ deviceId: dear!, gpuCount: 8, pricePerGpuHour: 2_100_000n }], startsAt: q.startsAt, endsAt: q.endsAt, expected: "MATCHING", reason: "matched", at: q.startsAt, heldGpus: 0 })).toMatchObject({ outcome: "reserved" });
    } finally {
      await releaseAllocations(db, cluster.id, "test over", new Date());
      await setPaused(cheap!, false);
    }
  });

  it("keeps serving the lease it has: paused while leased, it still counts as busy supply", async () => {
    const [cheap] = devices;
    const cluster = await newCluster(8);
    const q = query(cluster, 8);
    expect(await reserveGang(db, { clusterId: cluster.id, devices: [{ deviceId: cheap!, gpuCount: 8, pricePerGpuHour: 2_000_000n }], startsAt: q.startsAt, endsAt: q.endsAt, expected: "MATCHING", reason: "matched", at: q.startsAt, heldGpus: 0 })).toMatchObject({ outcome: "reserved" });
    await setPaused(cheap!, true);
    try {
      expect(await db.allocation.count({ where: { clusterId: cluster.id, status: "ACTIVE" } })).toBe(1);
      const [market] = await availability(db, { now: new Date(), gpuModelIds: ["h100-80gb"], regions: ["us-east"] });
      expect(market).toMatchObject({ onlineGpus: 16, busyGpus: 8, freeGpus: 8 });
      await index.settled();
      expect(index.marketLoad("h100-80gb", "us-east")).toEqual({ onlineGpus: 16, busyGpus: 8 });
      // A quote prices its surge from the same load, and takes the other device.
      const quote = await createHeldQuote(db, { accountId: renterId, request: { name: "pause", type: "CONTAINER", gpuModelIds: ["h100-80gb"], gpuCount: 8, regions: ["us-east"], durationHours: 1 }, now: new Date(), rates: { feeBps: 500, burnBps: 5_000 } });
      if (!quote.ok) throw new Error(quote.message);
      expect(quote.quote.markets[0]).toMatchObject({ onlineGpus: 16, busyGpus: 8 });
      expect(quote.quote.devices.map((d) => d.deviceId)).toEqual([devices[1]]);
      await releaseHeldQuote(db, { clusterId: quote.quote.clusterId, renterId, paymentToken: "USDC" }, { at: new Date(), reason: "test over" });
    } finally {
      await releaseAllocations(db, cluster.id, "test over", new Date());
      await setPaused(cheap!, false);
    }
  });
});
