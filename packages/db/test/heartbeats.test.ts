import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, HeartbeatBatcher, writeHeartbeats, type Db } from "../src/index.ts";
import { seedCatalogue } from "../src/seed.ts";

let database: TestDatabase;
let db: Db;
const ids: string[] = [];

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
    await db.device.createMany({ data: many });
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
});
