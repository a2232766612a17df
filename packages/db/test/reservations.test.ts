import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidClusterTransitionError, UnexpectedClusterStatusError } from "@gpumesh/core";
import {
  countDoubleBookings,
  createDb,
  DeviceUnavailableError,
  ledgerBalance,
  failAndRefundSql,
  refundFailedSql,
  releaseAllocations,
  reservationFailure,
  reserveDevices,
  reserveDevicesInTx,
  reserveGang,
  sqlState,
  startMatchingSql,
  transitionCluster,
  type Db,
  type GangReservation,
} from "../src/index.ts";
import { seedCatalogue } from "../src/seed.ts";

let database: TestDatabase;
let db: Db;
let deviceIds: string[] = [];
let renterId: string;

const hour = (h: number) => new Date(Date.UTC(2026, 10, 25, 0) + h * 3_600_000);

async function newCluster(status: "MATCHING" | "PAID" | "FAILED" | "DEGRADED" = "MATCHING"): Promise<string> {
  const cluster = await db.cluster.create({
    data: {
      renterId, name: "gang", type: "RAY", gpuModelIds: ["h100-80gb"], gpuCount: 8, regions: ["us-east"],
      supplierNetworks: ["GPUMESH"], durationHours: 24, pricePerSecond: 1_000n, depositAmount: 86_400_000n, status,
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

/**
 * Reserves `deviceId` for `clusterId` in a transaction left open (its row and advisory locks held)
 * until `commit()` is called; `first` settles when that transaction has committed.
 */
async function holdReservation(clusterId: string, deviceId: string, fromHour: number, toHour: number) {
  let inserted!: () => void;
  const insertedP = new Promise<void>((resolve) => (inserted = resolve));
  let commit!: () => void;
  const commitP = new Promise<void>((resolve) => (commit = resolve));
  const first = db.$transaction(async (tx) => {
    await reserveDevicesInTx(tx, { clusterId, devices: claims([deviceId]), startsAt: hour(fromHour), endsAt: hour(toHour) });
    inserted();
    await commitP;
  }, { timeout: 20_000 });
  await insertedP;
  return { commit, first };
}

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
    const { commit, first } = await holdReservation(a, deviceIds[14]!, 50, 60);
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

// The deploy step's single-statement path (migration 20261125000400_reservation_fn): the same
// guarantees as the interactive transactions above, checked the same way.
describe("gang reservation in one statement (gpumesh_reserve_gang)", () => {
  const gang = (clusterId: string, ids: readonly string[], from: number, to: number) => ({
    clusterId, devices: claims(ids), startsAt: hour(from), endsAt: hour(to), expected: "MATCHING" as const, reason: "test: reserved", at: hour(from), heldGpus: 0,
  });
  const events = (clusterId: string) => db.clusterEvent.findMany({ where: { clusterId }, orderBy: { id: "asc" } });

  it("reserves the gang and moves the cluster to DEPLOYING with its event, in one commit; a replay finds it moved", async () => {
    const c = await newCluster();
    const result = await reserveGang(db, gang(c, [deviceIds[0]!, deviceIds[1]!], 300, 310));
    expect(result.outcome).toBe("reserved");
    if (result.outcome !== "reserved") return;
    const rows = await db.allocation.findMany({ where: { clusterId: c }, orderBy: { deviceId: "asc" } });
    expect(rows.map((r) => [r.id, r.deviceId, r.status, r.gpuCount, r.pricePerGpuHour])).toEqual(
      result.allocations.map((a) => [a.id, a.deviceId, "ACTIVE", 8, 2_000_000n]),
    );
    expect([...result.allocations.map((a) => a.deviceId)].sort()).toEqual([deviceIds[0], deviceIds[1]].sort());
    expect((await db.cluster.findUniqueOrThrow({ where: { id: c } })).status).toBe("DEPLOYING");
    const timeline = await events(c);
    expect(timeline.map((e) => [e.fromStatus, e.toStatus, e.reason])).toEqual([["MATCHING", "DEPLOYING", "test: reserved"]]);
    expect(result.event).toMatchObject({ eventId: timeline[0]!.id.toString(), clusterId: c, from: "MATCHING", to: "DEPLOYING" });
    // A retried job: the cluster is no longer MATCHING, nothing more is written.
    expect(await reserveGang(db, gang(c, [deviceIds[2]!], 300, 310))).toEqual({ outcome: "moved", status: "DEPLOYING" });
    expect(await db.allocation.count({ where: { clusterId: c } })).toBe(2);
    await releaseAllocations(db, c, "test cleanup");
  });

  it("refuses when the cluster holds other GPUs than the caller saw", async () => {
    const c = await newCluster();
    await reserveDevices(db, { clusterId: c, devices: claims([deviceIds[3]!]), startsAt: hour(300), endsAt: hour(310) });
    expect(await reserveGang(db, gang(c, [deviceIds[4]!], 300, 310))).toEqual({ outcome: "moved", status: "MATCHING" });
    expect(await db.allocation.count({ where: { clusterId: c } })).toBe(1);
    expect(await events(c)).toEqual([]);
    await releaseAllocations(db, c, "test cleanup");
  });

  it("names taken, offline and unknown devices and writes nothing (no allocation, no move, no event)", async () => {
    const a = await newCluster();
    const b = await newCluster();
    await reserveDevices(db, { clusterId: a, devices: claims([deviceIds[5]!]), startsAt: hour(320), endsAt: hour(330) });
    const offline = (await db.device.findFirstOrThrow({ where: { status: "OFFLINE" } })).id;
    const unknown = "00000000-0000-4000-8000-000000000000";
    const attempt = reserveGang(db, gang(b, [deviceIds[6]!, deviceIds[5]!, offline, unknown], 325, 335));
    await expect(attempt).rejects.toBeInstanceOf(DeviceUnavailableError);
    const error = (await attempt.catch((e: unknown) => e)) as DeviceUnavailableError;
    expect([...error.deviceIds].sort()).toEqual([deviceIds[5]!, offline, unknown].sort());
    expect(error.reasons).toEqual({ [deviceIds[5]!]: "reserved", [offline]: "not-online", [unknown]: "unknown" });
    expect(await db.allocation.count({ where: { clusterId: b } })).toBe(0);
    expect((await db.cluster.findUniqueOrThrow({ where: { id: b } })).status).toBe("MATCHING");
    expect(await events(b)).toEqual([]);
    await releaseAllocations(db, a, "test cleanup");
  });

  it("fails fast with 'contended' while another transaction holds a device's reservation lock", async () => {
    const a = await newCluster();
    const b = await newCluster();
    const { commit, first } = await holdReservation(a, deviceIds[7]!, 340, 350);
    const started = Date.now();
    await expect(reserveGang(db, gang(b, [deviceIds[8]!, deviceIds[7]!], 345, 355))).rejects.toMatchObject({
      deviceIds: [deviceIds[7]], reasons: { [deviceIds[7]!]: "contended" },
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    commit();
    await first;
    expect(await db.allocation.count({ where: { clusterId: b } })).toBe(0);
    expect(await events(b)).toEqual([]);
    await releaseAllocations(db, a, "test cleanup");
  });

  it("maps a race lost at the exclusion constraint inside the function to the device, rolling back the move", async () => {
    const a = await newCluster();
    const b = await newCluster();
    let inserted!: () => void;
    const insertedP = new Promise<void>((resolve) => (inserted = resolve));
    let commit!: () => void;
    const commitP = new Promise<void>((resolve) => (commit = resolve));
    // The winner skips the try-lock and holds its insert open: the loser's pre-check sees nothing, its
    // INSERT waits for the winner's commit and then hits the constraint (23P01) inside the function.
    const first = db.$transaction(async (tx) => {
      await reserveDevicesInTx(tx, { clusterId: a, devices: claims([deviceIds[9]!, deviceIds[10]!]), startsAt: hour(360), endsAt: hour(370) }, { tryLock: false });
      inserted();
      await commitP;
    }, { timeout: 20_000 });
    await insertedP;
    const second = reserveGang(db, { ...gang(b, [deviceIds[11]!, deviceIds[10]!], 365, 375), tryLock: false }).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 300));
    commit();
    await first;
    const error = await second;
    expect(error).toBeInstanceOf(DeviceUnavailableError);
    expect(error).toMatchObject({ deviceIds: [deviceIds[10]], reasons: { [deviceIds[10]!]: "reserved" } });
    expect(await db.allocation.count({ where: { clusterId: b } })).toBe(0);
    expect((await db.cluster.findUniqueOrThrow({ where: { id: b } })).status).toBe("MATCHING");
    expect(await events(b)).toEqual([]);
    await releaseAllocations(db, a, "test cleanup");
  });

  it("holds under concurrency: 60 racing gangs from 4 clients, each all or nothing with its move, zero overlaps", async () => {
    const clusters = await Promise.all(Array.from({ length: 60 }, () => newCluster()));
    let rng = 7;
    const next = () => (rng = (rng * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const requests = clusters.map((clusterId) => {
      const size = 2 + Math.floor(next() * 4);
      const picked = new Set<string>();
      while (picked.size < size) picked.add(deviceIds[Math.floor(next() * deviceIds.length)]!);
      const start = 400 + Math.floor(next() * 6);
      return gang(clusterId, [...picked], start, start + 4);
    });
    const clients = Array.from({ length: 4 }, () => createDb(database.url, { max: 8 }));
    try {
      const results = await Promise.allSettled(requests.map((request, i) => reserveGang(clients[i % clients.length]!, request)));
      for (const result of results) if (result.status === "rejected") expect(result.reason).toBeInstanceOf(DeviceUnavailableError);
      const won = results.filter((r) => r.status === "fulfilled").length;
      expect(won).toBeGreaterThan(0);
      expect(won).toBeLessThan(60);
      expect(await countDoubleBookings(db)).toBe(0);
      for (const [i, request] of requests.entries()) {
        const held = await db.allocation.count({ where: { clusterId: request.clusterId, status: "ACTIVE" } });
        const { status } = await db.cluster.findUniqueOrThrow({ where: { id: request.clusterId } });
        const moves = await db.clusterEvent.count({ where: { clusterId: request.clusterId } });
        if (results[i]!.status === "fulfilled") expect([held, status, moves]).toEqual([request.devices.length, "DEPLOYING", 1]);
        else expect([held, status, moves]).toEqual([0, "MATCHING", 0]);
      }
    } finally {
      await Promise.all(clients.map((client) => client.$disconnect()));
    }
  });
});

describe("deploy-step transitions in one statement", () => {
  it("transitionCluster: moves with its event and stamps, replays as a no-op, refuses stale and invalid moves", async () => {
    const c = await newCluster();
    await expect(transitionCluster(db, c, "RUNNING", "too early", { expectedFrom: "MATCHING" })).rejects.toBeInstanceOf(InvalidClusterTransitionError);
    await expect(transitionCluster(db, c, "DEPLOYING", "stale", { expectedFrom: "PAID" })).rejects.toBeInstanceOf(UnexpectedClusterStatusError);
    expect(await db.clusterEvent.count({ where: { clusterId: c } })).toBe(0);
    await reserveDevices(db, { clusterId: c, devices: claims([deviceIds[12]!]), startsAt: hour(500), endsAt: hour(510) });
    const published: unknown[] = [];
    const failed = await transitionCluster(db, c, "FAILED", "nothing fits", { expectedFrom: "MATCHING", at: hour(500), releaseReason: "deploy-failed: nothing fits", publish: (e) => published.push(e) });
    expect(failed).toMatchObject({ changed: true, from: "MATCHING", to: "FAILED", released: [{ deviceId: deviceIds[12] }] });
    expect(published).toEqual([failed.event]);
    const row = await db.cluster.findUniqueOrThrow({ where: { id: c }, include: { allocations: true, events: true } });
    expect(row.status).toBe("FAILED");
    expect(row.endedAt).toEqual(hour(500));
    expect(row.allocations.map((a) => [a.status, a.releaseReason])).toEqual([["RELEASED", "deploy-failed: nothing fits"]]);
    expect(row.events.map((e) => [e.fromStatus, e.toStatus, e.id.toString()])).toEqual([["MATCHING", "FAILED", failed.event!.eventId]]);
    expect(await transitionCluster(db, c, "FAILED", "again", { expectedFrom: "MATCHING" })).toMatchObject({ changed: false, event: null });
    expect(await db.clusterEvent.count({ where: { clusterId: c } })).toBe(1);
  });

  it("startMatchingSql and refundFailedSql: deposit once, refund everything once, balanced, escrow back to zero", async () => {
    const c = await newCluster("PAID");
    const cluster = await db.cluster.findUniqueOrThrow({ where: { id: c } });
    const started = await startMatchingSql(db, cluster, "deployment started", hour(600));
    expect(started).toMatchObject({ changed: true, from: "PAID", to: "MATCHING" });
    await expect(startMatchingSql(db, cluster, "again", hour(600))).resolves.toMatchObject({ changed: false });
    const escrow = `escrow:cluster:${c}:USDC`;
    expect(await ledgerBalance(db, escrow)).toBe(86_400_000n);
    await transitionCluster(db, c, "FAILED", "nothing fits", { expectedFrom: "MATCHING", at: hour(600) });
    const options = { at: hour(601), reason: "deposit refunded", why: "deployment failed", releaseReason: "deploy-failed: refunded" };
    const refunded = await refundFailedSql(db, cluster, options);
    expect(refunded).toMatchObject({ changed: true, from: "FAILED", to: "REFUNDED", refund: { amount: 86_400_000n, created: true } });
    const replay = await refundFailedSql(db, cluster, options);
    expect(replay).toMatchObject({ changed: false, refund: { amount: 0n, created: false } });
    expect(await ledgerBalance(db, escrow)).toBe(0n);
    const journals = await db.journal.findMany({ where: { reference: { in: [`deposit:${c}`, `refund:${c}`] } }, include: { entries: true } });
    expect(journals.map((j) => j.reference).sort()).toEqual([`deposit:${c}`, `refund:${c}`]);
    for (const journal of journals) expect(journal.entries.reduce((sum, e) => sum + e.amount, 0n)).toBe(0n);
    const timeline = await db.clusterEvent.findMany({ where: { clusterId: c }, orderBy: { id: "asc" } });
    expect(timeline.map((e) => `${e.fromStatus}->${e.toStatus}`)).toEqual(["PAID->MATCHING", "MATCHING->FAILED", "FAILED->REFUNDED"]);
  });

  it("failAndRefundSql: MATCHING → FAILED → REFUNDED in one statement, releasing, refunding once; a replay changes nothing", async () => {
    const c = await newCluster();
    const cluster = await db.cluster.findUniqueOrThrow({ where: { id: c } });
    await reserveDevices(db, { clusterId: c, devices: claims([deviceIds[13]!]), startsAt: hour(700), endsAt: hour(710) });
    const options = {
      expectedFrom: "MATCHING" as const, at: hour(700), reason: "no placement: test", failReleaseReason: "deploy-failed: no placement",
      refundReason: "deposit refunded", why: "deployment failed", refundReleaseReason: "deploy-failed: refunded",
    };
    const result = await failAndRefundSql(db, cluster, options);
    expect(result.failed).toMatchObject({ changed: true, from: "MATCHING", to: "FAILED", released: [{ deviceId: deviceIds[13] }] });
    expect(result.refunded).toMatchObject({ changed: true, from: "FAILED", to: "REFUNDED" });
    expect(result.refund).toEqual({ amount: 86_400_000n, created: true });
    const row = await db.cluster.findUniqueOrThrow({ where: { id: c }, include: { allocations: true, events: { orderBy: { id: "asc" } } } });
    expect(row.status).toBe("REFUNDED");
    expect(row.allocations.map((a) => [a.status, a.releaseReason])).toEqual([["RELEASED", "deploy-failed: no placement"]]);
    expect(row.events.map((e) => [`${e.fromStatus}->${e.toStatus}`, e.id.toString()])).toEqual([
      ["MATCHING->FAILED", result.failed.event!.eventId],
      ["FAILED->REFUNDED", result.refunded.event!.eventId],
    ]);
    expect(await ledgerBalance(db, `escrow:cluster:${c}:USDC`)).toBe(0n);
    await expect(failAndRefundSql(db, cluster, options)).rejects.toBeInstanceOf(UnexpectedClusterStatusError);
    expect(await db.clusterEvent.count({ where: { clusterId: c } })).toBe(2);
    expect(await db.journal.count({ where: { reference: { in: [`deposit:${c}`, `refund:${c}`] } } })).toBe(2);
  });
});
