import { LedgerAccounts } from "@gpumesh/core";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkExtension,
  createDb,
  ExtensionRefusedError,
  ledgerBalance,
  ledgerOfLease,
  ledgerReferences,
  leaseMaxSeconds,
  MAX_LEASE_SECONDS,
  postDepositJournal,
  postRefundJournal,
  recordEndRequest,
  recordExtension,
  recordLandedExtension,
  reserveDevices,
  settleClusterPeriod,
  transitionCluster,
  type Db,
  type ExtensionInput,
} from "../src/index.ts";
import { seedCatalogue } from "../src/seed.ts";

// Lease extensions in the ledger (real Postgres): what may be extended, the top-up journaled into the
// escrow with the end and the allocations moved in one transaction, idempotent by transaction
// signature, and serialized with the renter's end request by the cluster's row lock.

let database: TestDatabase;
let db: Db;
let renterId: string;
const deviceIds: string[] = [];
const HOUR = 3_600_000;
const PRICE = 700n;

beforeAll(async () => {
  database = await createTestDatabase("extensions");
  db = createDb(database.url);
  await seedCatalogue(db);
  renterId = (await db.account.create({ data: { walletAddress: "RenterExtend111111111111111111111111111111" } })).id;
  const account = await db.account.create({ data: { walletAddress: "SupplierExtend11111111111111111111111111111" } });
  const supplier = await db.supplier.create({ data: { accountId: account.id, name: "ext" } });
  for (let i = 0; i < 24; i++) {
    const device = await db.device.create({
      data: {
        supplierId: supplier.id, name: `ext-${i}`, gpuModelId: "a100-80gb", gpuCount: 4, vramGb: 80, cpuModel: "EPYC", cpuCores: 64, ramGb: 512, diskGb: 4096,
        region: "eu-west", country: "DE", city: "Frankfurt", bandwidthUpMbps: 10_000, bandwidthDownMbps: 10_000, pricePerGpuHour: 1_000_000n, status: "ONLINE",
      },
    });
    deviceIds.push(device.id);
  }
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

let nextDevice = 0;
let nextSignature = 0;

/** A RUNNING 4-GPU cluster on a device of its own, started `startedMinutesAgo` ago for `hours`, its deposit in escrow. */
async function running(options: { hours?: number; startedMinutesAgo?: number } = {}) {
  const hours = options.hours ?? 2;
  const startedAt = new Date(Math.floor((Date.now() - (options.startedMinutesAgo ?? 10) * 60_000) / 1000) * 1000);
  const endsAt = new Date(startedAt.getTime() + hours * HOUR);
  const deviceId = deviceIds[nextDevice++]!;
  const cluster = await db.cluster.create({
    data: {
      renterId, name: "ext", type: "RAY", gpuModelIds: ["a100-80gb"], gpuCount: 4, regions: ["eu-west"], supplierNetworks: ["GPUMESH"], durationHours: hours,
      pricePerSecond: PRICE, depositAmount: PRICE * BigInt(hours * 3600), paymentToken: "USDC", status: "RUNNING", startedAt, endsAt, feeBps: 500, burnBps: 0,
    },
  });
  await reserveDevices(db, { clusterId: cluster.id, devices: [{ deviceId, gpuCount: 4, pricePerGpuHour: 1_000_000n }], startsAt: startedAt, endsAt });
  await db.allocation.updateMany({ where: { clusterId: cluster.id }, data: { acknowledgedAt: startedAt } });
  await postDepositJournal(db, cluster.id, startedAt);
  return { ...cluster, deviceId, endsAt };
}

function input(cluster: { id: string }, addSeconds: number, overrides: Partial<ExtensionInput> = {}): ExtensionInput {
  return {
    clusterId: cluster.id, accountId: renterId, amount: PRICE * BigInt(addSeconds), addSeconds, txSignature: `sig${++nextSignature}`.padEnd(64, "x"), eventIndex: 0,
    slot: 1_000 + nextSignature, at: new Date(), ...overrides,
  };
}

const escrow = (clusterId: string) => ledgerBalance(db, LedgerAccounts.escrow(clusterId, "USDC"));

async function refusal(promise: Promise<unknown>) {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(ExtensionRefusedError);
  return (error as ExtensionRefusedError).refusal;
}

describe("checkExtension", () => {
  it("quotes the top-up and the new end of a running lease, and says why not otherwise", async () => {
    const cluster = await running();
    const check = await checkExtension(db, cluster.id, 3_600);
    expect(check).toEqual({ ok: true, amount: PRICE * 3_600n, pricePerSecond: PRICE, endsAt: cluster.endsAt, newEndsAt: new Date(cluster.endsAt.getTime() + HOUR) });
    expect(await checkExtension(db, cluster.id, 0)).toEqual({ ok: false, refusal: { code: "invalid-seconds", addSeconds: 0 } });
    expect(await checkExtension(db, cluster.id, 1.5)).toMatchObject({ ok: false, refusal: { code: "invalid-seconds" } });
    expect(await checkExtension(db, "00000000-0000-0000-0000-000000000000", 60)).toEqual({ ok: false, refusal: { code: "not-found" } });
    // Beyond the longest lease (90 days, extensions included).
    expect(await checkExtension(db, cluster.id, MAX_LEASE_SECONDS)).toMatchObject({ ok: false, refusal: { code: "too-long", maxSeconds: MAX_LEASE_SECONDS, leaseSeconds: MAX_LEASE_SECONDS + 7_200 } });
    expect((await checkExtension(db, cluster.id, MAX_LEASE_SECONDS - 7_200)).ok).toBe(true);
    // Past its paid end (the program refuses too once now ≥ end_ts).
    expect(await checkExtension(db, cluster.id, 60, new Date(cluster.endsAt.getTime() + 1))).toMatchObject({ ok: false, refusal: { code: "expired" } });
    // The renter asked to end it: ending.
    await recordEndRequest(db, cluster.id, new Date());
    expect(await checkExtension(db, cluster.id, 60)).toEqual({ ok: false, refusal: { code: "ending" } });
  });

  it("refuses ended, ending and not yet running clusters", async () => {
    const ended = await running();
    await transitionCluster(db, ended.id, "ENDING", "test", { expectedFrom: "RUNNING" });
    expect(await checkExtension(db, ended.id, 60)).toEqual({ ok: false, refusal: { code: "ending" } });
    await transitionCluster(db, ended.id, "ENDED", "test", { expectedFrom: "ENDING", releaseReason: "lease ended" });
    expect(await checkExtension(db, ended.id, 60)).toEqual({ ok: false, refusal: { code: "ended", status: "ENDED" } });
    const paid = await db.cluster.create({
      data: { renterId, name: "p", type: "RAY", gpuModelIds: ["a100-80gb"], gpuCount: 4, regions: ["eu-west"], supplierNetworks: ["GPUMESH"], durationHours: 1, pricePerSecond: PRICE, depositAmount: PRICE * 3_600n, status: "DEPLOYING" },
    });
    expect(await checkExtension(db, paid.id, 60)).toEqual({ ok: false, refusal: { code: "not-running", status: "DEPLOYING" } });
  });

  it("refuses when another cluster has booked a device after the current end", async () => {
    const cluster = await running();
    const other = await db.cluster.create({
      data: { renterId, name: "o", type: "RAY", gpuModelIds: ["a100-80gb"], gpuCount: 4, regions: ["eu-west"], supplierNetworks: ["GPUMESH"], durationHours: 1, pricePerSecond: PRICE, depositAmount: PRICE * 3_600n, status: "MATCHING" },
    });
    // Booked from 30 minutes after our end: a 20-minute extension fits, an hour does not.
    const from = new Date(cluster.endsAt.getTime() + 30 * 60_000);
    await reserveDevices(db, { clusterId: other.id, devices: [{ deviceId: cluster.deviceId, gpuCount: 4, pricePerGpuHour: 1_000_000n }], startsAt: from, endsAt: new Date(from.getTime() + HOUR) });
    expect((await checkExtension(db, cluster.id, 20 * 60)).ok).toBe(true);
    expect(await checkExtension(db, cluster.id, 3_600)).toEqual({ ok: false, refusal: { code: "devices-booked", deviceIds: [cluster.deviceId] } });
    expect(await refusal(recordExtension(db, input(cluster, 3_600)))).toEqual({ code: "devices-booked", deviceIds: [cluster.deviceId] });
    expect(await db.payment.count({ where: { clusterId: cluster.id } })).toBe(0);
  });

  it("refuses more time on a device its supplier paused (the lease itself runs to its end)", async () => {
    const cluster = await running();
    await db.device.update({ where: { id: cluster.deviceId }, data: { pausedAt: new Date() } });
    try {
      expect(await checkExtension(db, cluster.id, 3_600)).toEqual({ ok: false, refusal: { code: "devices-paused", deviceIds: [cluster.deviceId] } });
      expect(await refusal(recordExtension(db, input(cluster, 3_600)))).toEqual({ code: "devices-paused", deviceIds: [cluster.deviceId] });
      expect(await db.payment.count({ where: { clusterId: cluster.id } })).toBe(0);
    } finally {
      await db.device.update({ where: { id: cluster.deviceId }, data: { pausedAt: null } });
    }
    expect((await checkExtension(db, cluster.id, 3_600)).ok).toBe(true);
  });
});

describe("recordExtension", () => {
  it("journals the top-up into escrow and moves the end, the deposit and the allocations in one transaction; a replay changes nothing", async () => {
    const cluster = await running({ hours: 2 });
    const ext = input(cluster, 5_400);
    const first = await recordExtension(db, ext);
    const newEnd = new Date(cluster.endsAt.getTime() + 5_400_000);
    expect(first).toMatchObject({ created: true, extended: true, endsAt: newEnd, payment: { kind: "EXTENSION", status: "CONFIRMED", amount: PRICE * 5_400n, clusterId: cluster.id } });
    const after = await db.cluster.findUniqueOrThrow({ where: { id: cluster.id }, include: { allocations: true, events: { orderBy: { id: "desc" }, take: 1 } } });
    expect(after.endsAt).toEqual(newEnd);
    expect(after.depositAmount).toBe(PRICE * (7_200n + 5_400n));
    expect(leaseMaxSeconds(after)).toBe(12_600n);
    expect(after.allocations.map((a) => [a.status, a.endsAt])).toEqual([["ACTIVE", newEnd]]);
    expect(after.events[0]).toMatchObject({ fromStatus: "RUNNING", toStatus: "RUNNING", reason: `extended by 1h 30m, new end ${newEnd.toISOString()}` });
    expect(await escrow(cluster.id)).toBe(after.depositAmount);
    const journal = await db.journal.findUniqueOrThrow({ where: { reference: ledgerReferences.extension(cluster.id, ext.txSignature, 0) }, include: { entries: true } });
    expect(journal.entries.reduce((sum, e) => sum + e.amount, 0n)).toBe(0n);

    // Replayed (the gateway retried, the indexer saw it too): the first record, nothing written.
    const replay = await recordExtension(db, ext);
    expect(replay).toMatchObject({ created: false, extended: true, payment: { id: first.payment.id } });
    expect(await recordLandedExtension(db, { ...ext, at: new Date() })).toMatchObject({ created: false, extended: true });
    expect(await db.payment.count({ where: { clusterId: cluster.id } })).toBe(1);
    expect(await db.journal.count({ where: { reference: { startsWith: `extension:${cluster.id}` } } })).toBe(1);
    expect((await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } })).endsAt).toEqual(newEnd);
    // The same signature for another cluster is a conflict, not a replay.
    const other = await running();
    await expect(recordExtension(db, { ...ext, clusterId: other.id })).rejects.toThrow(/already recorded/);

    // Settled to the new end, the refund is exact: escrow in = paid out + refunded.
    await settleClusterPeriod(db, cluster.id, { start: after.startedAt!, end: new Date(after.startedAt!.getTime() + HOUR) }, { feeBps: 500n, burnBps: 0n });
    await db.$transaction((tx) => postRefundJournal(tx, cluster.id, newEnd, "test"));
    expect(await escrow(cluster.id)).toBe(0n);
    expect((await ledgerOfLease(db, cluster.id)).refund).toBe(after.depositAmount - PRICE * 3_600n);
  });

  it("refuses an amount that is not price × seconds, and writes nothing", async () => {
    const cluster = await running();
    for (const amount of [PRICE * 3_600n - 1n, PRICE * 3_600n + 1n, 0n]) {
      expect(await refusal(recordExtension(db, input(cluster, 3_600, { amount })))).toEqual({ code: "amount-mismatch", expected: PRICE * 3_600n, amount });
    }
    const after = await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
    expect([after.endsAt, after.depositAmount]).toEqual([cluster.endsAt, cluster.depositAmount]);
    expect(await db.payment.count({ where: { clusterId: cluster.id } })).toBe(0);
    expect(await escrow(cluster.id)).toBe(cluster.depositAmount);
  });

  it("a top-up that landed on-chain but cannot extend: booked into escrow, end unchanged, refunded with the lease (or at once after the refund)", async () => {
    const cluster = await running();
    await recordEndRequest(db, cluster.id, new Date());
    const ext = input(cluster, 1_800);
    expect(await refusal(recordExtension(db, ext))).toEqual({ code: "ending" });
    const landed = await recordLandedExtension(db, ext);
    expect(landed).toMatchObject({ created: true, extended: false, refusal: { code: "ending" }, endsAt: cluster.endsAt });
    expect(await recordLandedExtension(db, ext)).toMatchObject({ created: false, extended: false });
    const after = await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
    expect([after.endsAt, after.depositAmount]).toEqual([cluster.endsAt, cluster.depositAmount + ext.amount]);
    await db.$transaction((tx) => postRefundJournal(tx, cluster.id, new Date(), "test"));
    expect(await escrow(cluster.id)).toBe(0n);
    expect((await ledgerOfLease(db, cluster.id)).refund).toBe(cluster.depositAmount + ext.amount);

    // After the escrow was refunded: refunded at once, and the reconciliation counts it with the refund.
    const late = input(cluster, 600);
    expect(await recordLandedExtension(db, late)).toMatchObject({ created: true, extended: false });
    expect(await escrow(cluster.id)).toBe(0n);
    const money = await ledgerOfLease(db, cluster.id);
    expect([money.deposit, money.refund]).toEqual([cluster.depositAmount + ext.amount + late.amount, cluster.depositAmount + ext.amount + late.amount]);
  });

  it("an end request racing an extension: one of them wins whole, never half an extension", async () => {
    for (let round = 0; round < 6; round++) {
      const cluster = await running();
      const ext = input(cluster, 3_600);
      const [extended] = await Promise.allSettled([recordExtension(db, ext), recordEndRequest(db, cluster.id, new Date())]);
      const after = await db.cluster.findUniqueOrThrow({ where: { id: cluster.id }, include: { allocations: true } });
      expect(after.endRequestedAt).not.toBeNull();
      const payments = await db.payment.count({ where: { clusterId: cluster.id } });
      const journals = await db.journal.count({ where: { reference: { startsWith: `extension:${cluster.id}` } } });
      if (extended.status === "fulfilled") {
        expect([payments, journals]).toEqual([1, 1]);
        expect(after.endsAt!.getTime()).toBe(cluster.endsAt.getTime() + HOUR);
        expect(after.depositAmount).toBe(cluster.depositAmount + ext.amount);
        expect(after.allocations[0]!.endsAt).toEqual(after.endsAt);
      } else {
        expect((extended.reason as ExtensionRefusedError).refusal).toEqual({ code: "ending" });
        expect([payments, journals]).toEqual([0, 0]);
        expect([after.endsAt, after.depositAmount, after.allocations[0]!.endsAt]).toEqual([cluster.endsAt, cluster.depositAmount, cluster.endsAt]);
      }
      expect(await escrow(cluster.id)).toBe(after.depositAmount);
    }
  });

  it("two extensions of one lease at once: both apply, one after the other", async () => {
    const cluster = await running();
    const [a, b] = [input(cluster, 600), input(cluster, 1_200)];
    await Promise.all([recordExtension(db, a), recordExtension(db, b)]);
    const after = await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
    expect(after.endsAt!.getTime()).toBe(cluster.endsAt.getTime() + 1_800_000);
    expect(after.depositAmount).toBe(cluster.depositAmount + a.amount + b.amount);
    expect(await escrow(cluster.id)).toBe(after.depositAmount);
  });
});
