import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, HeartbeatBatcher, insertInChunks, writeHeartbeats, type Db } from "../src/index.ts";
import { seedCatalogue } from "../src/seed.ts";
import { watchOverlappingQueries } from "./pg-overlap.ts";

let database: TestDatabase;
let db: Db;
const ids: string[] = [];

// Every query issued on a client that is still running one, with its stack, so a failure names the caller.
const watch = watchOverlappingQueries();
const overlapping = watch.stacks;

beforeAll(async () => {
  database = await createTestDatabase("heartbeats");
  db = createDb(database.url);
  await seedCatalogue(db);
  const account = await db.account.create({ data: { walletAddress: "SupplierHeartbeat11111111111111111111111111" } });
  const supplier = await db.supplier.create({ data: { accountId: account.id, name: "hb" } });
  for (const status of ["ONLINE", "OFFLINE", "SUSPENDED", "REGISTERED"] as const) {
    const device = await db.device.create({
      data: {
        supplierId: supplier.id, name: status, gpuModelId: "rtx-4090", gpuCount: 1, vramGb: 24, cpuModel: "Ryzen", cpuCores: 16, ramGb: 64, diskGb: 1024,
        region: "eu-west", country: "DE", city: "Berlin", bandwidthUpMbps: 1_000, bandwidthDownMbps: 1_000, pricePerGpuHour: 400_000n, status,
      },
    });
    ids.push(device.id);
  }
});

afterAll(async () => {
  watch.restore();
  await db.$disconnect();
  await database.drop();
});

describe("heartbeat ingest", () => {
  it("moves last_heartbeat_at forward only, brings OFFLINE back ONLINE, leaves SUSPENDED and REGISTERED alone", async () => {
    const t1 = new Date("2026-11-25T10:00:00Z");
    const t0 = new Date("2026-11-25T09:59:00Z");
    expect(await writeHeartbeats(db, ids.map((deviceId) => ({ deviceId, at: t1 })))).toBe(4);
    await writeHeartbeats(db, [{ deviceId: ids[0]!, at: t0 }]); // late, reordered
    const devices = await db.device.findMany({ where: { id: { in: ids } } });
    const byName = Object.fromEntries(devices.map((d) => [d.name, d]));
    expect(byName.ONLINE!.lastHeartbeatAt).toEqual(t1);
    expect(devices.map((d) => [d.name, d.status]).sort()).toEqual([["OFFLINE", "ONLINE"], ["ONLINE", "ONLINE"], ["REGISTERED", "REGISTERED"], ["SUSPENDED", "SUSPENDED"]]);
  });

  it("batches: every record() resolves after its heartbeat is written, the latest per device wins", async () => {
    const batcher = new HeartbeatBatcher(db, { maxBatch: 3, maxDelayMs: 10 });
    const base = Date.parse("2026-11-25T11:00:00Z");
    await Promise.all(Array.from({ length: 20 }, (_, i) => batcher.record(ids[i % 2]!, new Date(base + i * 1000))));
    const [a, b] = await Promise.all([db.device.findUniqueOrThrow({ where: { id: ids[0]! } }), db.device.findUniqueOrThrow({ where: { id: ids[1]! } })]);
    expect(a.lastHeartbeatAt).toEqual(new Date(base + 18_000));
    expect(b.lastHeartbeatAt).toEqual(new Date(base + 19_000));
  });

  it("never deadlocks when concurrent batches touch the same devices with different plans (big and small batches)", async () => {
    const supplier = await db.supplier.findFirstOrThrow({ where: { name: "hb" } });
    const many = Array.from({ length: 8_000 }, (_, i) => ({
      id: crypto.randomUUID(), supplierId: supplier.id, name: `fleet-${i}`, gpuModelId: "rtx-4090", gpuCount: 1, vramGb: 24, cpuModel: "Ryzen", cpuCores: 16, ramGb: 64,
      diskGb: 1024, region: "eu-west", country: "DE", city: "Berlin", bandwidthUpMbps: 1_000, bandwidthDownMbps: 1_000, pricePerGpuHour: 400_000n, status: "ONLINE" as const,
    }));
    overlapping.length = 0;
    // One statement per chunk: a single createMany of 8,000 rows is split by Prisma into INSERTs it
    // runs concurrently on one connection.
    await insertInChunks(many, (chunk) => db.device.createMany({ data: chunk }), { columns: 32 });
    expect(overlapping).toEqual([]);
    let seed = 3;
    const sample = (n: number) => {
      const picked = new Set<string>();
      while (picked.size < n) picked.add(many[((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) % many.length)]!.id);
      return [...picked].map((deviceId) => ({ deviceId, at: new Date() }));
    };
    // A big batch (seq scan + hash join: physical order) racing small ones (index lookups: id order).
    for (let round = 0; round < 12; round++) {
      await Promise.all([writeHeartbeats(db, sample(5_000)), writeHeartbeats(db, sample(4_000)), ...Array.from({ length: 4 }, () => writeHeartbeats(db, sample(300)))]);
    }
    expect(await db.device.count({ where: { name: { startsWith: "fleet-" }, lastHeartbeatAt: { not: null } } })).toBeGreaterThan(7_000);
  }, 120_000);

  it("never issues two queries at once on one connection (pg 9 rejects it): batches in flight use their own", async () => {
    const fleet = (await db.device.findMany({ where: { name: { startsWith: "fleet-" } }, select: { id: true } })).map((d) => d.id);
    expect(fleet.length).toBeGreaterThan(1_000);
    overlapping.length = 0;
    const batcher = new HeartbeatBatcher(db, { maxBatch: 1_000, maxDelayMs: 5, concurrency: 2 });
    await Promise.all(Array.from({ length: 6_000 }, (_, i) => batcher.record(fleet[i % fleet.length]!, new Date(Date.parse("2026-11-25T12:00:00Z") + i))));
    await batcher.drain();
    expect(overlapping).toEqual([]);
  });

  it("the detector above works: a createMany over Prisma's bind limit does overlap queries (why insertInChunks exists)", async () => {
    const supplier = await db.supplier.findFirstOrThrow({ where: { name: "hb" } });
    const rows = Array.from({ length: 3_000 }, (_, i) => ({
      supplierId: supplier.id, name: `overlap-${i}`, gpuModelId: "rtx-4090", gpuCount: 1, vramGb: 24, cpuModel: "Ryzen", cpuCores: 16, ramGb: 64,
      diskGb: 1024, region: "eu-west", country: "DE", city: "Berlin", bandwidthUpMbps: 1_000, bandwidthDownMbps: 1_000, pricePerGpuHour: 400_000n, status: "OFFLINE" as const,
    }));
    overlapping.length = 0;
    await db.device.createMany({ data: rows });
    // Prisma 7.10 behaviour; if a Prisma upgrade stops doing it, this expectation may go (insertInChunks stays harmless).
    expect(overlapping.length).toBeGreaterThan(0);
  });
});
