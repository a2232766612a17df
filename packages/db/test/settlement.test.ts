import { LedgerAccounts, settlementSplit } from "@gpumesh/core";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createDb,
  ledgerBalance,
  ledgerReferences,
  postRefundJournal,
  proportionalSplit,
  reserveDevices,
  settleClusterPeriod,
  settlementPeriods,
  type Db,
} from "../src/index.ts";
import { seedCatalogue } from "../src/seed.ts";

let database: TestDatabase;
let db: Db;
let renterId: string;
const supplierIds: string[] = [];
const deviceIds: string[] = [];
const t0 = new Date("2026-11-25T10:00:00Z");
const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);
const config = { feeBps: 500n, burnBps: 5_000n };

beforeAll(async () => {
  database = await createTestDatabase("settlement");
  db = createDb(database.url);
  await seedCatalogue(db);
  renterId = (await db.account.create({ data: { walletAddress: "RenterSett1e111111111111111111111111111111" } })).id;
  for (let i = 0; i < 2; i++) {
    const account = await db.account.create({ data: { walletAddress: `SupplierSett1e${i}11111111111111111111111111111`.slice(0, 44) } });
    const supplier = await db.supplier.create({ data: { accountId: account.id, name: `s${i}` } });
    supplierIds.push(supplier.id);
    const device = await db.device.create({
      data: {
        supplierId: supplier.id, name: `d${i}`, gpuModelId: "a100-80gb", gpuCount: i === 0 ? 8 : 4, vramGb: 80, cpuModel: "EPYC", cpuCores: 64,
        ramGb: 512, diskGb: 4096, region: "eu-west", country: "DE", city: "Frankfurt", bandwidthUpMbps: 10_000, bandwidthDownMbps: 10_000,
        pricePerGpuHour: i === 0 ? 1_500_000n : 1_000_000n, status: "ONLINE",
      },
    });
    deviceIds.push(device.id);
  }
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

describe("settlement maths", () => {
  it("splits proportionally and exactly", () => {
    expect(proportionalSplit(100n, [1n, 1n, 1n])).toEqual([34n, 33n, 33n]);
    expect(proportionalSplit(10n, [0n, 0n])).toEqual([0n, 0n]);
    const shares = proportionalSplit(1_000_003n, [12n, 4n, 7n]);
    expect(shares.reduce((a, b) => a + b, 0n)).toBe(1_000_003n);
  });

  it("cuts hourly periods from the start, complete only unless asked, never past the lease end", () => {
    expect(settlementPeriods(t0, at(150), at(240)).map((p) => [p.start, p.end])).toEqual([[t0, at(60)], [at(60), at(120)]]);
    expect(settlementPeriods(t0, at(150), at(240), true).at(-1)).toEqual({ start: at(120), end: at(150) });
    // A lease of 90 minutes: the second period ends at the lease end and counts as complete.
    expect(settlementPeriods(t0, at(500), at(90)).map((p) => p.end)).toEqual([at(60), at(90)]);
  });
});

describe("settling a running cluster", () => {
  it("writes usage and one balanced journal per period (fee, MESH burn), idempotently, and refunds the rest", async () => {
    const pricePerSecond = 5_000n; // 12 GPUs
    const cluster = await db.cluster.create({
      data: {
        renterId, name: "s", type: "KUBERNETES", gpuModelIds: ["a100-80gb"], gpuCount: 12, regions: ["eu-west"], supplierNetworks: ["GPUMESH"],
        durationHours: 3, pricePerSecond, depositAmount: pricePerSecond * 3n * 3600n, paymentToken: "MESH", status: "RUNNING", startedAt: t0, endsAt: at(180),
      },
    });
    await reserveDevices(db, {
      clusterId: cluster.id,
      devices: [
        { deviceId: deviceIds[0]!, gpuCount: 8, pricePerGpuHour: 1_500_000n },
        { deviceId: deviceIds[1]!, gpuCount: 4, pricePerGpuHour: 1_000_000n },
      ],
      startsAt: t0,
      endsAt: at(180),
    });
    await db.allocation.updateMany({ where: { clusterId: cluster.id }, data: { acknowledgedAt: t0 } });

    const period = { start: t0, end: at(60) };
    // Two settlers at once (retry + second scheduler): one writes, the other sees it done.
    const [a, b] = await Promise.all([settleClusterPeriod(db, cluster.id, period, config), settleClusterPeriod(db, cluster.id, period, config)]);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    const split = settlementSplit(pricePerSecond, 3600n, 500n, 5_000n, true);
    expect(a.split).toEqual(split);
    expect(await db.usageRecord.count({ where: { clusterId: cluster.id } })).toBe(2);
    const usage = await db.usageRecord.findMany({ where: { clusterId: cluster.id }, orderBy: { amount: "desc" } });
    // Weights 8 × 1.5 : 4 × 1.0 = 3 : 1.
    expect(usage.map((u) => u.amount)).toEqual([(split.gross * 3n) / 4n, split.gross / 4n]);
    expect(usage.map((u) => u.gpuSeconds)).toEqual([8n * 3600n, 4n * 3600n]);
    expect(await ledgerBalance(db, LedgerAccounts.supplierEarnings(supplierIds[0]!, "MESH"))).toBe((split.supplier * 3n) / 4n);
    expect(await ledgerBalance(db, LedgerAccounts.supplierEarnings(supplierIds[1]!, "MESH"))).toBe(split.supplier / 4n);
    expect(await ledgerBalance(db, LedgerAccounts.burned("MESH"))).toBe(split.burn);
    expect(await ledgerBalance(db, LedgerAccounts.treasury("MESH"))).toBe(split.treasury);
    expect(await db.journal.count({ where: { reference: ledgerReferences.settle(cluster.id, t0) } })).toBe(1);

    // Device 1 is released at minute 90 (a lost node): it is paid only for its 30 minutes.
    await db.allocation.updateMany({ where: { clusterId: cluster.id, deviceId: deviceIds[1]! }, data: { status: "RELEASED", releasedAt: at(90) } });
    const second = await settleClusterPeriod(db, cluster.id, { start: at(60), end: at(120) }, config);
    expect(second.usage.map((u) => u.gpuSeconds).sort()).toEqual([4n * 1800n, 8n * 3600n].sort());

    const refund = await db.$transaction((tx) => postRefundJournal(tx, cluster.id, at(120), "ended early"));
    expect(refund.amount).toBe(cluster.depositAmount - 2n * split.gross);
    expect(await ledgerBalance(db, LedgerAccounts.escrow(cluster.id, "MESH"))).toBe(0n);
    const again = await db.$transaction((tx) => postRefundJournal(tx, cluster.id, at(121), "replay"));
    expect(again.created).toBe(false);
    expect(await ledgerBalance(db, LedgerAccounts.renterWallet(renterId, "MESH"))).toBe(-2n * split.gross);
  });
});
