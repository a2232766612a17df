import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/index.ts";
import { seedCatalogue } from "../src/seed.ts";

// Invariants the database itself enforces: these tests write raw rows past any application check.
let database: TestDatabase;
let db: Db;
let renterId: string;
let clusterId: string;
let deviceId: string;

beforeAll(async () => {
  database = await createTestDatabase("constraints");
  db = createDb(database.url);
  await seedCatalogue(db);
  const renter = await db.account.create({ data: { walletAddress: "Renter1111111111111111111111111111111111111" } });
  const supplierAccount = await db.account.create({ data: { walletAddress: "Supp1ier11111111111111111111111111111111111" } });
  const supplier = await db.supplier.create({ data: { accountId: supplierAccount.id, name: "Atlas Compute" } });
  const device = await db.device.create({
    data: {
      supplierId: supplier.id, name: "atlas-h100-0001", gpuModelId: "h100-80gb", gpuCount: 8, vramGb: 80, cpuModel: "AMD EPYC 9654",
      cpuCores: 96, ramGb: 1024, diskGb: 15360, region: "us-east", country: "US", city: "Ashburn",
      bandwidthUpMbps: 10_000, bandwidthDownMbps: 10_000, pricePerGpuHour: 2_190_000n,
    },
  });
  const cluster = await db.cluster.create({
    data: {
      renterId: renter.id, name: "llm-train", type: "RAY", gpuModelIds: ["h100-80gb"], gpuCount: 8, regions: ["us-east"],
      supplierNetworks: ["GPUMESH"], durationHours: 24, pricePerSecond: 4_866n, depositAmount: 420_422_400n,
    },
  });
  renterId = renter.id;
  clusterId = cluster.id;
  deviceId = device.id;
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

const hour = (h: number) => new Date(Date.UTC(2026, 10, 25, h));

describe("allocations", () => {
  beforeEach(async () => {
    await db.allocation.deleteMany({ where: { deviceId } });
  });

  const allocate = (startsAt: Date, endsAt: Date, status: "ACTIVE" | "RELEASED" = "ACTIVE") =>
    db.allocation.create({ data: { clusterId, deviceId, gpuCount: 8, pricePerGpuHour: 2_190_000n, startsAt, endsAt, status } });

  it("rejects a second active allocation of the same device that overlaps in time", async () => {
    await allocate(hour(0), hour(10));
    await expect(allocate(hour(9), hour(12))).rejects.toThrow(/allocation_device_no_overlap/);
    await expect(allocate(hour(2), hour(3))).rejects.toThrow(/allocation_device_no_overlap/);
    expect(await db.allocation.count({ where: { deviceId } })).toBe(1);
  });

  it("allows back-to-back periods and re-leasing after release", async () => {
    const first = await allocate(hour(0), hour(10));
    await allocate(hour(10), hour(12)); // [0,10) and [10,12) touch but do not overlap
    await db.allocation.update({ where: { id: first.id }, data: { status: "RELEASED", releasedAt: hour(5) } });
    await allocate(hour(0), hour(10));
    expect(await db.allocation.count({ where: { deviceId, status: "ACTIVE" } })).toBe(2);
  });

  it("rejects reactivating a released allocation that now overlaps an active one", async () => {
    const released = await allocate(hour(0), hour(10), "RELEASED");
    await allocate(hour(5), hour(15));
    await expect(db.allocation.update({ where: { id: released.id }, data: { status: "ACTIVE" } })).rejects.toThrow(/allocation_device_no_overlap/);
  });

  it("rejects an empty or inverted period", async () => {
    await expect(allocate(hour(5), hour(5))).rejects.toThrow(/allocation_period_valid/);
    await expect(allocate(hour(6), hour(5))).rejects.toThrow(/allocation_period_valid/);
  });

  it("holds under concurrency: of many racing overlapping inserts exactly one wins", async () => {
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => allocate(hour(i % 3), hour(20))));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  });
});

describe("payments", () => {
  it("records a transaction signature once", async () => {
    const txSignature = "5".repeat(88);
    await db.payment.create({ data: { accountId: renterId, clusterId, kind: "DEPOSIT", token: "USDC", amount: 1_000_000n, txSignature } });
    await expect(
      db.payment.create({ data: { accountId: renterId, clusterId, kind: "DEPOSIT", token: "USDC", amount: 1_000_000n, txSignature } }),
    ).rejects.toThrow(/tx_signature|Unique constraint/);
    expect(await db.payment.count({ where: { txSignature } })).toBe(1);
  });

  it("rejects a zero or negative amount", async () => {
    await expect(
      db.payment.create({ data: { accountId: renterId, kind: "DEPOSIT", token: "USDC", amount: 0n, txSignature: "6".repeat(88) } }),
    ).rejects.toThrow(/payment_amount_positive/);
  });
});

describe("value ranges", () => {
  it("rejects a device verification score outside 0..10000 and a GPU count without a model", async () => {
    await expect(db.device.update({ where: { id: deviceId }, data: { verificationScoreBps: 10_001 } })).rejects.toThrow(/device_values_valid/);
    await expect(db.device.update({ where: { id: deviceId }, data: { gpuModelId: null } })).rejects.toThrow(/device_values_valid/);
  });

  it("rejects a cluster of 0 or more than 1024 GPUs", async () => {
    await expect(db.cluster.update({ where: { id: clusterId }, data: { gpuCount: 0 } })).rejects.toThrow(/cluster_values_valid/);
    await expect(db.cluster.update({ where: { id: clusterId }, data: { gpuCount: 1025 } })).rejects.toThrow(/cluster_values_valid/);
  });
});
