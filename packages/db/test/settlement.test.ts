import { allocationSettlement, LedgerAccounts, settlementSplit, ZERO_TOTALS } from "@gpumesh/core";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createDb,
  ledgerBalance,
  ledgerReferences,
  postRefundJournal,
  reserveDevices,
  settleClusterPeriod,
  settlementPeriods,
  transitionCluster,
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
  it("cuts hourly periods from the start, complete only unless asked, never past the lease end", () => {
    expect(settlementPeriods(t0, at(150), at(240)).map((p) => [p.start, p.end])).toEqual([[t0, at(60)], [at(60), at(120)]]);
    expect(settlementPeriods(t0, at(150), at(240), true).at(-1)).toEqual({ start: at(120), end: at(150) });
    // A lease of 90 minutes: the second period ends at the lease end and counts as complete.
    expect(settlementPeriods(t0, at(500), at(90)).map((p) => p.end)).toEqual([at(60), at(90)]);
    // Whole seconds, as on-chain: a start with milliseconds is floored.
    expect(settlementPeriods(new Date(t0.getTime() + 999), at(61), at(90))[0]).toEqual({ start: t0, end: at(60) });
  });
});

describe("settling a running cluster", () => {
  it("bills each node for the seconds it served, with fees on its running totals, idempotently, never a node that was down, and refunds the rest", async () => {
    const pricePerSecond = 5_001n; // 12 GPUs: 8-GPU node 3334/s, 4-GPU node 1667/s (Σ 5001)
    const cluster = await db.cluster.create({
      data: {
        renterId, name: "s", type: "KUBERNETES", gpuModelIds: ["a100-80gb"], gpuCount: 12, regions: ["eu-west"], supplierNetworks: ["GPUMESH"],
        durationHours: 3, pricePerSecond, depositAmount: pricePerSecond * 3n * 3600n, paymentToken: "MESH", status: "RUNNING", startedAt: t0, endsAt: at(180),
        feeBps: 500, burnBps: 5_000,
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
    // Both acknowledged before the lease started: both bill from its start.
    await db.allocation.updateMany({ where: { clusterId: cluster.id }, data: { acknowledgedAt: new Date(t0.getTime() - 5_000) } });
    // The ledger uses the lease's snapshotted rates, not the config's.
    const other = { feeBps: 0n, burnBps: 0n };

    const period = { start: t0, end: at(60) };
    // Two settlers at once (retry + second scheduler): one writes, the other sees it done.
    const [a, b] = await Promise.all([settleClusterPeriod(db, cluster.id, period, other), settleClusterPeriod(db, cluster.id, period, other)]);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    const big = settlementSplit(3_334n, 3600n, 500n, 5_000n, true);
    const small = settlementSplit(1_667n, 3600n, 500n, 5_000n, true);
    const first = a.created ? a : b;
    expect(first.split.gross).toBe(big.gross + small.gross);
    expect(first.split.burn).toBe(big.burn + small.burn);
    const usage = await db.usageRecord.findMany({ where: { clusterId: cluster.id }, orderBy: { amount: "desc" } });
    expect(usage.map((u) => u.amount)).toEqual([big.gross, small.gross]);
    expect(usage.map((u) => u.gpuSeconds)).toEqual([8n * 3600n, 4n * 3600n]);
    expect(await ledgerBalance(db, LedgerAccounts.supplierEarnings(supplierIds[0]!, "MESH"))).toBe(big.supplier);
    expect(await ledgerBalance(db, LedgerAccounts.supplierEarnings(supplierIds[1]!, "MESH"))).toBe(small.supplier);
    expect(await ledgerBalance(db, LedgerAccounts.burned("MESH"))).toBe(big.burn + small.burn);
    expect(await ledgerBalance(db, LedgerAccounts.treasury("MESH"))).toBe(big.treasury + small.treasury);
    expect(await db.journal.count({ where: { reference: ledgerReferences.settle(cluster.id, t0) } })).toBe(1);
    const billed = await db.allocation.findMany({ where: { clusterId: cluster.id }, orderBy: { chainIndex: "asc" } });
    expect(billed.map((x) => x.chainIndex)).toEqual([0, 1]);
    expect(billed.map((x) => x.ratePerSecond).sort()).toEqual([1_667n, 3_334n]);
    expect(billed.every((x) => x.billedFrom?.getTime() === t0.getTime())).toBe(true);

    // Device 1 is lost at minute 90 and 0.7 s: it is paid for its 30 whole minutes only, its fee on its running total.
    await db.allocation.updateMany({ where: { clusterId: cluster.id, deviceId: deviceIds[1]! }, data: { status: "RELEASED", releasedAt: new Date(at(90).getTime() + 700) } });
    const second = await settleClusterPeriod(db, cluster.id, { start: at(60), end: at(120) }, other);
    expect(second.usage.map((u) => u.gpuSeconds).sort()).toEqual([4n * 1800n, 8n * 3600n].sort());
    const smallStep = allocationSettlement({ gross: small.gross, fee: small.fee, burn: small.burn }, 1_667n, 1_800n, 500n, 5_000n, true).split;
    const bigStep = allocationSettlement({ gross: big.gross, fee: big.fee, burn: big.burn }, 3_334n, 3_600n, 500n, 5_000n, true).split;
    expect(second.split.gross).toBe(smallStep.gross + bigStep.gross);
    // Fees on running totals: the two periods of each node pay exactly the split of its whole time.
    const smallWhole = allocationSettlement(ZERO_TOTALS, 1_667n, 5_400n, 500n, 5_000n, true).split;
    expect(await ledgerBalance(db, LedgerAccounts.supplierEarnings(supplierIds[1]!, "MESH"))).toBe(smallWhole.supplier);
    expect((await db.allocation.findFirstOrThrow({ where: { clusterId: cluster.id, deviceId: deviceIds[1]! } })).billedUntil).toEqual(at(90));

    const refund = await db.$transaction((tx) => postRefundJournal(tx, cluster.id, at(120), "ended early"));
    const settled = first.split.gross + second.split.gross;
    expect(refund.amount).toBe(cluster.depositAmount - settled);
    expect(await ledgerBalance(db, LedgerAccounts.escrow(cluster.id, "MESH"))).toBe(0n);
    const again = await db.$transaction((tx) => postRefundJournal(tx, cluster.id, at(121), "replay"));
    expect(again.created).toBe(false);
    expect(await ledgerBalance(db, LedgerAccounts.renterWallet(renterId, "MESH"))).toBe(-settled);
  });

  it("never books a deposit nor a refund for a cluster that was never paid", async () => {
    const cluster = await db.cluster.create({
      data: {
        renterId, name: "unpaid", type: "KUBERNETES", gpuModelIds: ["a100-80gb"], gpuCount: 1, regions: ["eu-west"], supplierNetworks: ["GPUMESH"],
        durationHours: 1, pricePerSecond: 10n, depositAmount: 36_000n, paymentToken: "USDC", status: "REQUESTED",
      },
    });
    // The quote expires unpaid: REQUESTED → FAILED, and the refund step that follows finds nothing escrowed.
    await transitionCluster(db, cluster.id, "FAILED", "payment not received", { expectedFrom: "REQUESTED", at: at(1) });
    const refund = await db.$transaction((tx) => postRefundJournal(tx, cluster.id, at(1), "payment not received"));
    expect(refund).toEqual({ amount: 0n, created: false });
    expect(await db.journal.count({ where: { reference: { in: [ledgerReferences.deposit(cluster.id), ledgerReferences.refund(cluster.id)] } } })).toBe(0);
  });
});
