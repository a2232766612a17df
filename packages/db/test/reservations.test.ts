import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  countDoubleBookings,
  createDb,
  DeviceUnavailableError,
  releaseAllocations,
  reservationFailure,
  reserveDevices,
  reserveDevicesInTx,
  sqlState,
  type Db,
  type GangReservation,
} from "../src/index.ts";
import { seedCatalogue } from "../src/seed.ts";

let database: TestDatabase;
let db: Db;
let deviceIds: string[] = [];
let renterId: string;

const hour = (h: number) => new Date(Date.UTC(2026, 10, 25, 0) + h * 3_600_000);

async function newCluster(): Promise<string> {
  const cluster = await db.cluster.create({
    data: {
      renterId, name: "gang", type: "RAY", gpuModelIds: ["h100-80gb"], gpuCount: 8, regions: ["us-east"],
      supplierNetworks: ["GPUMESH"], durationHours: 24, pricePerSecond: 1_000n, depositAmount: 86_400_000n, status: "MATCHING",
    },
    select: { id: true },
  });
  return cluster.id;
}

const claims = (ids: readonly string[]) => ids.map((deviceId) => ({ deviceId, gpuCount: 8, pricePerGpuHour: 2_000_000n }));

beforeAll(async () => {
  database = await createTestDatabase("reservations");
  db = createDb(database.url, { max: 30 });
  await seedCatalogue(db);
  const renter = await db.account.create({ data: { walletAddress: "RenterGang111111111111111111111111111111111" } });
  const supplierAccount = await db.account.create({ data: { walletAddress: "SupplierGang1111111111111111111111111111111" } });
  const supplier = await db.supplier.create({ data: { accountId: supplierAccount.id, name: "Gang Compute" } });
  renterId = renter.id;
  for (let i = 0; i < 24; i++) {
    const device = await db.device.create({
      data: {
        supplierId: supplier.id, name: `gang-${i}`, gpuModelId: "h100-80gb", gpuCount: 8, vramGb: 80, cpuModel: "EPYC", cpuCores: 64,
        ramGb: 512, diskGb: 4096, region: "us-east", country: "US", city: "Ashburn", bandwidthUpMbps: 10_000, bandwidthDownMbps: 10_000,
        pricePerGpuHour: 2_000_000n, status: i === 23 ? "OFFLINE" : "ONLINE",
      },
      select: { id: true },
    });
    deviceIds.push(device.id);
  }
  deviceIds = deviceIds.slice(0, 23); // the last one is offline: kept aside for the offline test
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

describe("gang reservation", () => {
  it("reserves all devices of a gang, and refuses a gang touching a taken device without writing anything", async () => {
    const a = await newCluster();
    const b = await newCluster();
    const got = await reserveDevices(db, { clusterId: a, devices: claims(deviceIds.slice(0, 3)), startsAt: hour(0), endsAt: hour(10) });
    expect(got.map((r) => r.deviceId).sort()).toEqual(deviceIds.slice(0, 3).sort());
    expect(got[0]!.pricePerGpuHour).toBe(2_000_000n);
    const attempt = reserveDevices(db, { clusterId: b, devices: claims(deviceIds.slice(2, 6)), startsAt: hour(5), endsAt: hour(20) });
    await expect(attempt).rejects.toBeInstanceOf(DeviceUnavailableError);
    await expect(attempt).rejects.toMatchObject({ deviceIds: [deviceIds[2]], reasons: { [deviceIds[2]!]: "reserved" } });
    expect(await db.allocation.count({ where: { clusterId: b } })).toBe(0);
    // Back-to-back is fine: [0,10) then [10,20).
    await reserveDevices(db, { clusterId: b, devices: claims(deviceIds.slice(2, 6)), startsAt: hour(10), endsAt: hour(20) });
    await releaseAllocations(db, a, "test cleanup", hour(1));
    await releaseAllocations(db, b, "test cleanup", hour(1));
  });

  it("reports offline and unknown devices", async () => {
    const c = await newCluster();
    const offline = (await db.device.findFirstOrThrow({ where: { status: "OFFLINE" } })).id;
    const unknown = "00000000-0000-4000-8000-000000000000";
    await expect(reserveDevices(db, { clusterId: c, devices: claims([deviceIds[10]!, offline, unknown]), startsAt: hour(0), endsAt: hour(1) })).rejects.toMatchObject({
      reasons: { [offline]: "not-online", [unknown]: "unknown" },
    });
  });

  it("maps a race lost at the exclusion constraint (23P01) to DeviceUnavailableError naming the device", async () => {
    const a = await newCluster();
    const b = await newCluster();
    const winner: GangReservation = { clusterId: a, devices: claims([deviceIds[12]!, deviceIds[13]!]), startsAt: hour(30), endsAt: hour(40) };
    const loser: GangReservation = { clusterId: b, devices: claims([deviceIds[11]!, deviceIds[13]!]), startsAt: hour(35), endsAt: hour(45) };
    let inserted!: () => void;
    const insertedP = new Promise<void>((resolve) => (inserted = resolve));
    let commit!: () => void;
    const commitP = new Promise<void>((resolve) => (commit = resolve));
    // The winner inserts and holds its transaction open; the loser's pre-check sees nothing yet and its
    // INSERT blocks on the winner's uncommitted row until the winner commits, then fails with 23P01.
    const first = db.$transaction(async (tx) => {
      await reserveDevicesInTx(tx, winner, { tryLock: false });
      inserted();
      await commitP;
    }, { timeout: 20_000 });
    await insertedP;
    // With the advisory try-lock (the default) the loser would fail fast as "contended" (next test);
    // without it this exercises the constraint, the guard that holds whatever the writers do.
    const second = db.$transaction((tx) => reserveDevicesInTx(tx, loser, { tryLock: false }), { timeout: 20_000 }).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 300));
    commit();
    await first;
    const error = await second;
    expect(error).not.toBeInstanceOf(DeviceUnavailableError); // raw constraint error: the pre-check could not see it
    expect(sqlState(error)).toBe("23P01");
    const typed = await reservationFailure(db, loser, error);
    expect(typed).toBeInstanceOf(DeviceUnavailableError);
    expect(typed!.deviceIds).toEqual([deviceIds[13]]);
    expect(await db.allocation.count({ where: { clusterId: b } })).toBe(0);
    await releaseAllocations(db, a, "test cleanup");
  });

  it("fails fast with 'contended' while another transaction is reserving the same device", async () => {
    const a = await newCluster();
    const b = await newCluster();
    let inserted!: () => void;
    const insertedP = new Promise<void>((resolve) => (inserted = resolve));
    let commit!: () => void;
    const commitP = new Promise<void>((resolve) => (commit = resolve));
    const first = db.$transaction(async (tx) => {
      await reserveDevicesInTx(tx, { clusterId: a, devices: claims([deviceIds[14]!]), startsAt: hour(50), endsAt: hour(60) });
      inserted();
      await commitP;
    }, { timeout: 20_000 });
    await insertedP;
    const started = Date.now();
    const attempt = reserveDevices(db, { clusterId: b, devices: claims([deviceIds[15]!, deviceIds[14]!]), startsAt: hour(55), endsAt: hour(65) });
    await expect(attempt).rejects.toMatchObject({ deviceIds: [deviceIds[14]], reasons: { [deviceIds[14]!]: "contended" } });
    expect(Date.now() - started).toBeLessThan(5_000); // did not wait for the other transaction
    commit();
    await first;
    await releaseAllocations(db, a, "test cleanup");
  });

  it("holds under concurrency: 50 racing gangs over overlapping device sets, each all or nothing, zero overlaps", async () => {
    const clusters = await Promise.all(Array.from({ length: 50 }, () => newCluster()));
    // Gangs of 2..5 devices out of 23, overlapping periods: lots of contention.
    let rng = 42;
    const next = () => (rng = (rng * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const requests: GangReservation[] = clusters.map((clusterId) => {
      const size = 2 + Math.floor(next() * 4);
      const picked = new Set<string>();
      while (picked.size < size) picked.add(deviceIds[Math.floor(next() * deviceIds.length)]!);
      const start = Math.floor(next() * 6);
      return { clusterId, devices: claims([...picked]), startsAt: hour(100 + start), endsAt: hour(100 + start + 4) };
    });
    // Several Prisma clients = several pools, like several scheduler processes.
    const clients = Array.from({ length: 4 }, () => createDb(database.url, { max: 8 }));
    try {
      const results = await Promise.allSettled(requests.map((request, i) => reserveDevices(clients[i % clients.length]!, request)));
      const won = results.filter((r) => r.status === "fulfilled").length;
      for (const result of results) if (result.status === "rejected") expect(result.reason).toBeInstanceOf(DeviceUnavailableError);
      expect(won).toBeGreaterThan(0);
      expect(won).toBeLessThan(50);
      expect(await countDoubleBookings(db)).toBe(0);
      // All or nothing: each cluster holds either its whole gang or nothing.
      for (const [i, request] of requests.entries()) {
        const held = await db.allocation.count({ where: { clusterId: request.clusterId, status: "ACTIVE" } });
        expect([0, request.devices.length]).toContain(held);
        expect(held > 0).toBe(results[i]!.status === "fulfilled");
      }
    } finally {
      await Promise.all(clients.map((client) => client.$disconnect()));
    }
  });

  it("releases idempotently, keeping the first reason", async () => {
    const c = await newCluster();
    await reserveDevices(db, { clusterId: c, devices: claims([deviceIds[20]!, deviceIds[21]!]), startsAt: hour(200), endsAt: hour(210) });
    const partial = await releaseAllocations(db, c, "node refused", hour(200), { deviceIds: [deviceIds[20]!] });
    expect(partial.map((r) => r.deviceId)).toEqual([deviceIds[20]]);
    expect((await releaseAllocations(db, c, "cluster ended", hour(201))).map((r) => r.deviceId)).toEqual([deviceIds[21]]);
    expect(await releaseAllocations(db, c, "cluster ended", hour(202))).toEqual([]);
    const rows = await db.allocation.findMany({ where: { clusterId: c }, orderBy: { releasedAt: "asc" } });
    expect(rows.map((r) => r.releaseReason)).toEqual(["node refused", "cluster ended"]);
    // Released devices are free again.
    await reserveDevices(db, { clusterId: await newCluster(), devices: claims([deviceIds[20]!]), startsAt: hour(200), endsAt: hour(210) });
  });
});
