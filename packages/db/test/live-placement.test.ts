import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { availability, createDb, LivePlacement, placeCluster, releaseAllocations, reserveGang, type Db, type PlacementQuery } from "../src/index.ts";
import { seedCatalogue } from "../src/seed.ts";

/**
 * The live placement index against a real Postgres: every change another connection commits (a
 * reservation, a release, a device going offline, a price change, a new device) reaches the index
 * through the placement feed, and its placements equal a fresh candidate read's.
 */
let database: TestDatabase;
let db: Db;
let supplierId: string;
let renterId: string;
const live: LivePlacement[] = [];

async function newDevice(i: number, overrides: { pricePerGpuHour?: bigint; status?: "ONLINE" | "OFFLINE"; region?: string } = {}): Promise<string> {
  const device = await db.device.create({
    data: {
      supplierId, name: `live-${i}`, gpuModelId: "h100-80gb", gpuCount: 8, vramGb: 80, cpuModel: "EPYC", cpuCores: 64, ramGb: 512, diskGb: 4096,
      region: overrides.region ?? "us-east", country: "US", city: `city-${i % 3}`, bandwidthUpMbps: 10_000, bandwidthDownMbps: 10_000,
      pricePerGpuHour: overrides.pricePerGpuHour ?? 2_000_000n + BigInt(i) * 1_000n, status: overrides.status ?? "ONLINE", verificationScoreBps: 9_000,
    },
    select: { id: true },
  });
  return device.id;
}

async function newCluster(gpuCount: number): Promise<PlacementQuery["cluster"]> {
  return db.cluster.create({
    data: {
      renterId, name: "live", type: "RAY", gpuModelIds: ["h100-80gb"], gpuCount, regions: ["us-east"], supplierNetworks: ["GPUMESH"],
      durationHours: 2, pricePerSecond: 1_000n, depositAmount: 7_200_000n, status: "MATCHING",
    },
  });
}

function query(cluster: PlacementQuery["cluster"], gpuCount: number, exclude: string[] = []): PlacementQuery {
  const startsAt = new Date();
  return { cluster, gpuCount, startsAt, endsAt: new Date(startsAt.getTime() + 3 * 3_600_000), excludeDeviceIds: new Set(exclude), minVerificationScoreBps: 5_000 };
}

async function started(): Promise<LivePlacement> {
  const index = new LivePlacement({ url: database.url, minVerificationScoreBps: 5_000 });
  live.push(index);
  await index.start();
  return index;
}

/** The index's placement (released at once) next to a fresh candidate read's. */
async function both(index: LivePlacement, q: PlacementQuery) {
  const fromIndex = index.place(q);
  if (fromIndex?.ok) fromIndex.release();
  const fromRead = await placeCluster(db, q);
  const ids = (outcome: typeof fromRead | typeof fromIndex) => (outcome?.ok ? outcome.devices.map((d) => d.deviceId).sort() : outcome?.reason ?? "not ready");
  return { index: ids(fromIndex), read: ids(fromRead) };
}

beforeAll(async () => {
  database = await createTestDatabase("live-placement");
  db = createDb(database.url, { max: 6 });
  await seedCatalogue(db);
  const renter = await db.account.create({ data: { walletAddress: "RenterLive11111111111111111111111111111111111".slice(0, 44) } });
  const account = await db.account.create({ data: { walletAddress: "SupplierLive111111111111111111111111111111111".slice(0, 44) } });
  supplierId = (await db.supplier.create({ data: { accountId: account.id, name: "Live Compute" } })).id;
  renterId = renter.id;
  for (let i = 0; i < 12; i++) await newDevice(i, i === 11 ? { status: "OFFLINE" } : {});
});

afterAll(async () => {
  await Promise.allSettled(live.map((index) => index.close()));
  await db.$disconnect();
  await database.drop();
});

describe("live placement index", () => {
  it("loads every device and places as a candidate read does", async () => {
    const index = await started();
    expect(index.ready).toBe(true);
    expect(index.deviceCount).toBe(12);
    const cluster = await newCluster(24);
    const { index: fromIndex, read } = await both(index, query(cluster, 24));
    expect(fromIndex).toHaveLength(3);
    expect(fromIndex).toEqual(read);
  });

  it("follows reservations and releases committed by another connection", async () => {
    const index = await started();
    const cluster = await newCluster(16);
    const q = query(cluster, 16);
    const before = index.place(q);
    expect(before?.ok).toBe(true);
    if (!before?.ok) return;
    before.release();
    // Another scheduler (here: the test's own connection) reserves exactly those devices.
    const reserved = await reserveGang(db, { clusterId: cluster.id, devices: before.devices, startsAt: q.startsAt, endsAt: q.endsAt, expected: "MATCHING", reason: "test", at: q.startsAt, heldGpus: 0 });
    expect(reserved.outcome).toBe("reserved");
    await index.settled();
    for (const device of before.devices) expect(index.state(device.deviceId)?.reserved).toBe(true);
    // The market's load (what a quote's surge is priced from) as Postgres counts it.
    const [market] = await availability(db, { now: new Date(), gpuModelIds: ["h100-80gb"], regions: ["us-east"] });
    expect(index.marketLoad("h100-80gb", "us-east")).toEqual({ onlineGpus: market!.onlineGpus, busyGpus: market!.busyGpus });
    expect(market!.busyGpus).toBeGreaterThanOrEqual(16);
    const other = await newCluster(16);
    const next = await both(index, query(other, 16));
    expect(next.index).toEqual(next.read);
    expect(next.index).not.toEqual(expect.arrayContaining([before.devices[0]!.deviceId]));
    // Released: free again, in the index as in Postgres.
    await releaseAllocations(db, cluster.id, "test over", new Date());
    await index.settled();
    for (const device of before.devices) expect(index.state(device.deviceId)?.reserved).toBe(false);
    const [after] = await availability(db, { now: new Date(), gpuModelIds: ["h100-80gb"], regions: ["us-east"] });
    expect(index.marketLoad("h100-80gb", "us-east")).toEqual({ onlineGpus: after!.onlineGpus, busyGpus: after!.busyGpus });
    expect((await both(index, query(other, 16))).index).toEqual(before.devices.map((d) => d.deviceId).sort());
  });

  it("follows devices going offline, price changes and new devices", async () => {
    const index = await started();
    const cluster = await newCluster(8);
    const cheapest = (await both(index, query(cluster, 8))).index[0]!;
    await db.device.update({ where: { id: cheapest }, data: { status: "OFFLINE" } });
    await index.settled();
    expect(index.state(cheapest)?.online).toBe(false);
    const [market] = await availability(db, { now: new Date(), gpuModelIds: ["h100-80gb"], regions: ["us-east"] });
    expect(index.marketLoad("h100-80gb", "us-east").onlineGpus).toBe(market!.onlineGpus);
    let now = await both(index, query(cluster, 8));
    expect(now.index).toEqual(now.read);
    expect(now.index).not.toContain(cheapest);
    // A new device cheaper than all: placed first once the feed names it.
    const added = await newDevice(99, { pricePerGpuHour: 1_000_000n });
    await index.settled();
    now = await both(index, query(cluster, 8));
    expect(now.index).toEqual([added]);
    expect(now.read).toEqual([added]);
    // Priced out: no longer the first choice.
    await db.device.update({ where: { id: added }, data: { pricePerGpuHour: 9_000_000n } });
    await index.settled();
    now = await both(index, query(cluster, 8));
    expect(now.index).toEqual(now.read);
    expect(now.index).not.toContain(added);
    await db.device.update({ where: { id: cheapest }, data: { status: "ONLINE" } });
    await index.settled();
    // An agent reconnecting with the Docker runtime: the device can now take a cluster that brings an image.
    const withImage = { ...cluster, workload: { image: "ghcr.io/acme/train:2" } };
    expect((await both(index, query(withImage, 8))).index).toEqual(expect.stringMatching(/container images|runtime|image/i));
    await db.device.update({ where: { id: cheapest }, data: { runsImages: true } });
    await index.settled();
    now = await both(index, query(withImage, 8));
    expect(now.index).toEqual([cheapest]);
    expect(now.read).toEqual([cheapest]);
  });

  it("holds a placement from the process's other jobs until released, and leaves out excluded devices", async () => {
    const index = await started();
    const cluster = await newCluster(8);
    const first = index.place(query(cluster, 8));
    expect(first?.ok).toBe(true);
    if (!first?.ok) return;
    const second = index.place(query(cluster, 8));
    expect(second?.ok).toBe(true);
    if (!second?.ok) return;
    expect(second.devices[0]!.deviceId).not.toBe(first.devices[0]!.deviceId);
    second.release();
    first.release();
    const again = index.place(query(cluster, 8, [first.devices[0]!.deviceId]));
    expect(again?.ok && again.devices[0]!.deviceId).not.toBe(first.devices[0]!.deviceId);
    if (again?.ok) again.release();
    // Excluding does not leave the device taken afterwards.
    expect(index.state(first.devices[0]!.deviceId)?.reserved).toBe(false);
  });

  it("a device marked taken after a lost race that was already released again is freed by the confirming read", async () => {
    const index = await started();
    const cluster = await newCluster(8);
    const placed = index.place(query(cluster, 8));
    expect(placed?.ok).toBe(true);
    if (!placed?.ok) return;
    placed.release();
    const id = placed.devices[0]!.deviceId;
    // The race's winner reserved and released before the loser reports it: nothing holds it any more.
    index.lostRace([id], { [id]: "reserved" });
    expect(index.state(id)?.reserved).toBe(true);
    await index.settled();
    expect(index.state(id)?.reserved).toBe(false);
  });

  it("reports contention when only this process's in-flight holds stand in the way", async () => {
    const index = await started();
    const free = (await db.device.count({ where: { status: "ONLINE", allocations: { none: { status: "ACTIVE" } } } })) * 8;
    const cluster = await newCluster(free);
    const all = index.place(query(cluster, free));
    expect(all?.ok).toBe(true);
    const more = index.place(query(cluster, 8));
    expect(more).toMatchObject({ ok: false, contended: true });
    if (all?.ok) all.release();
    const tooBig = index.place(query(cluster, free + 8));
    expect(tooBig).toMatchObject({ ok: false });
    expect(tooBig && "contended" in tooBig ? tooBig.contended : undefined).toBeUndefined();
  });

  it("is not ready while its feed is down, then reloads and catches up", async () => {
    const index = await started();
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      // Kill the listener's connection as a Postgres restart or a network cut would.
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where query ilike 'listen gpumesh_placement%' and pid <> pg_backend_pid()`);
      await expect.poll(() => index.ready, { timeout: 5_000 }).toBe(false);
      const cluster = await newCluster(8);
      expect(index.place(query(cluster, 8))).toBeNull();
      // Changed while it was down: must be in the index after the reload.
      const added = await newDevice(100, { pricePerGpuHour: 500_000n });
      await expect.poll(() => index.ready, { timeout: 15_000 }).toBe(true);
      await index.settled();
      expect(index.state(added)?.online).toBe(true);
      const now = await both(index, query(cluster, 8));
      expect(now.index).toEqual([added]);
      expect(now.read).toEqual([added]);
    } finally {
      await admin.end();
    }
  });
});
