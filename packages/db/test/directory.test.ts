import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  chainTransaction,
  createDb,
  dailyUptime,
  deviceChecks,
  encodeCursor,
  InvalidCursorError,
  listDirectoryDevices,
  MATCH_COUNT_CAP,
  publicDeviceDetail,
  publicSupplierDetail,
  seedSimulatedNetwork,
  type Db,
  type DeviceDirectoryQuery,
  type DeviceSort,
  type DirectoryDevice,
} from "../src/index.ts";

// The explorer's directory against a real Postgres: filters return exactly what they name, keyset
// pages are stable while devices are added, counts stop at the cap, and the public views carry no
// key, token, internal id or full renter wallet.
let database: TestDatabase;
let db: Db;
const DEVICES = MATCH_COUNT_CAP + 150;

beforeAll(async () => {
  database = await createTestDatabase("directory");
  db = createDb(database.url, { max: 4 });
  await seedSimulatedNetwork(db, { suppliers: 30, devices: DEVICES, seed: 7 });
}, 120_000);

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

async function walk(query: DeviceDirectoryQuery, between?: (page: number) => Promise<void>): Promise<DirectoryDevice[]> {
  const seen: DirectoryDevice[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 200; page++) {
    const result = await listDirectoryDevices(db, { ...query, cursor, limit: 100 });
    seen.push(...result.devices);
    if (!result.nextCursor) return seen;
    cursor = result.nextCursor;
    await between?.(page);
  }
  throw new Error("did not end");
}

describe("devices directory", () => {
  it("pages through every device exactly once in each sort order, ties broken by id", async () => {
    for (const sort of ["newest", "price", "gpus"] as DeviceSort[]) {
      const all = await walk({ sort });
      expect(all).toHaveLength(DEVICES);
      expect(new Set(all.map((d) => d.id)).size).toBe(DEVICES);
      for (let i = 1; i < all.length; i++) {
        const [a, b] = [all[i - 1]!, all[i]!];
        if (sort === "price") expect(a.pricePerGpuHour < b.pricePerGpuHour || (a.pricePerGpuHour === b.pricePerGpuHour && a.id < b.id)).toBe(true);
        if (sort === "gpus") expect(a.gpuCount > b.gpuCount || (a.gpuCount === b.gpuCount && a.id > b.id)).toBe(true);
        if (sort === "newest") expect(a.createdAt > b.createdAt || (a.createdAt.getTime() === b.createdAt.getTime() && a.id > b.id)).toBe(true);
      }
    }
  });

  it("keeps pages stable while devices are added: nothing repeats, nothing already there is skipped", async () => {
    const before = new Set((await db.device.findMany({ select: { id: true } })).map((d) => d.id));
    const template = await db.device.findFirstOrThrow({ where: { gpuModelId: "h100-80gb" } });
    const { id: _id, createdAt: _c, agentPublicKey: _k, nextChallengeAt: _n, ...copy } = template;
    let added = 0;
    const all = await walk({ sort: "price" }, async () => {
      // Cheapest and most expensive asks land before and after the cursor alike.
      await db.device.createMany({ data: [{ ...copy, name: `added ${added++}`, pricePerGpuHour: 1n }, { ...copy, name: `added ${added++}`, pricePerGpuHour: 999_000_000n }] });
    });
    const ids = all.map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of before) expect(ids).toContain(id);
    await db.device.deleteMany({ where: { name: { startsWith: "added " } } });
  });

  it("filters by model, region, status, network, verification and supplier, and counts only up to the cap", async () => {
    const everything = await listDirectoryDevices(db, {});
    expect(everything.matches).toEqual({ count: MATCH_COUNT_CAP, atLeast: true });

    const sample = await db.device.findFirstOrThrow({ where: { status: "ONLINE", gpuModelId: { not: null } } });
    const query: DeviceDirectoryQuery = { gpuModelId: sample.gpuModelId!, region: sample.region, status: "ONLINE", network: sample.network };
    const expected = await db.device.count({ where: { gpuModelId: sample.gpuModelId, region: sample.region, status: "ONLINE", network: sample.network } });
    const found = await walk(query);
    expect(found.length).toBe(expected);
    expect(found.every((d) => d.gpuModelId === sample.gpuModelId && d.region === sample.region && d.status === "ONLINE" && d.network === sample.network)).toBe(true);
    expect((await listDirectoryDevices(db, query)).matches).toEqual({ count: expected, atLeast: false });

    const trusted = await walk({ verification: "trusted" });
    expect(trusted.length).toBe(await db.device.count({ where: { verificationScoreBps: { gte: 9_000 } } }));
    expect(trusted.every((d) => d.verificationLevel === "trusted")).toBe(true);
    const unverified = await walk({ verification: "unverified" });
    expect(unverified.length).toBe(await db.device.count({ where: { verificationScoreBps: { lt: 5_000 } } }));

    const own = await walk({ supplierId: sample.supplierId });
    expect(own.length).toBe(await db.device.count({ where: { supplierId: sample.supplierId } }));
    expect(own.every((d) => d.supplier.id === sample.supplierId)).toBe(true);
  });

  it("searches by device id, supplier id, supplier wallet and part of a name (ILIKE wildcards taken literally)", async () => {
    const sample = await db.device.findFirstOrThrow({ include: { supplier: { include: { account: true } } } });
    expect((await listDirectoryDevices(db, { q: sample.id })).devices.map((d) => d.id)).toEqual([sample.id]);
    const bySupplier = await walk({ q: sample.supplierId });
    expect(bySupplier.length).toBe(await db.device.count({ where: { supplierId: sample.supplierId } }));
    const byWallet = await walk({ q: sample.supplier.account.walletAddress });
    expect(byWallet.every((d) => d.supplier.id === sample.supplierId)).toBe(true);
    expect(byWallet.length).toBe(bySupplier.length);
    const part = sample.supplier.name.slice(1, 6).toUpperCase();
    const byName = await walk({ q: part });
    expect(byName.some((d) => d.id === sample.id)).toBe(true);
    expect(byName.every((d) => `${d.name} ${d.supplier.name}`.toLowerCase().includes(part.toLowerCase()))).toBe(true);
    expect((await listDirectoryDevices(db, { q: "%" })).devices).toEqual([]);
  });

  it("refuses a cursor it did not issue or one from another sort order", async () => {
    const page = await listDirectoryDevices(db, { sort: "price", limit: 5 });
    await expect(listDirectoryDevices(db, { sort: "gpus", cursor: page.nextCursor! })).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(listDirectoryDevices(db, { cursor: "not-a-cursor" })).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(listDirectoryDevices(db, { sort: "price", cursor: encodeCursor("price", "1; drop table device", "00000000-0000-0000-0000-000000000000") })).rejects.toBeInstanceOf(InvalidCursorError);
  });
});

describe("uptime", () => {
  it("is the share of each UTC day the device existed outside its outages", () => {
    const now = new Date("2026-12-10T12:00:00Z");
    const days = dailyUptime(
      new Date("2026-12-08T06:00:00Z"),
      [
        { startedAt: new Date("2026-12-09T00:00:00Z"), endedAt: new Date("2026-12-09T06:00:00Z") },
        { startedAt: new Date("2026-12-10T09:00:00Z"), endedAt: null },
      ],
      4,
      now,
    );
    expect(days).toEqual([
      { day: "2026-12-07", uptimeBps: null },
      { day: "2026-12-08", uptimeBps: 10_000 },
      { day: "2026-12-09", uptimeBps: 7_500 },
      { day: "2026-12-10", uptimeBps: 7_500 },
    ]);
  });
});

describe("public device, supplier and transaction pages", () => {
  it("show a device's spec, checks, leases and epochs, and nothing private", async () => {
    const device = await db.device.findFirstOrThrow({ where: { status: "ONLINE" }, include: { supplier: { include: { account: true } } } });
    await db.device.update({ where: { id: device.id }, data: { agentPublicKey: "AgentKey1111111111111111111111111111111111" } });
    const renterWallet = "Renter1111111111111111111111111111111111111";
    const renter = await db.account.create({ data: { walletAddress: renterWallet } });
    const start = new Date(Date.now() - 3 * 3_600_000);
    const cluster = await db.cluster.create({
      data: {
        renterId: renter.id, name: "secret cluster name", type: "RAY", gpuModelIds: [device.gpuModelId!], gpuCount: device.gpuCount, regions: [device.region], durationHours: 2,
        pricePerSecond: 100n, depositAmount: 720_000n, status: "ENDED", leaseId: 4242n, leasePda: "LeasePda11111111111111111111111111111111111", startedAt: start, endsAt: new Date(start.getTime() + 7_200_000), endedAt: new Date(start.getTime() + 7_200_000),
      },
    });
    const allocation = await db.allocation.create({
      data: { clusterId: cluster.id, deviceId: device.id, gpuCount: device.gpuCount, pricePerGpuHour: device.pricePerGpuHour, startsAt: start, endsAt: new Date(start.getTime() + 7_200_000), status: "RELEASED", chainIndex: 0, billedFrom: start, billedUntil: new Date(start.getTime() + 7_200_000) },
    });
    await db.usageRecord.create({ data: { allocationId: allocation.id, clusterId: cluster.id, deviceId: device.id, periodStart: start, periodEnd: new Date(start.getTime() + 3_600_000), gpuSeconds: 3_600n, amount: 360_000n } });
    const challenge = await db.verificationChallenge.create({ data: { deviceId: device.id, kind: "CPU_GEMM", seed: "ab".repeat(32), matrixSize: 256, status: "PASSED", deadlineAt: new Date(), commitment: "cd".repeat(32), elapsedMs: 120, sampledRows: [3, 17, 200] } });
    await db.device.update({ where: { id: device.id }, data: { status: "OFFLINE" } });

    const detail = (await publicDeviceDetail(db, device.id))!;
    expect(detail.device.status).toBe("OFFLINE");
    expect(detail.device.statusReason).toMatch(/^No heartbeat since/);
    expect(detail.supplier).toMatchObject({ id: device.supplierId, name: device.supplier.name });
    expect(detail.checks.checks[0]).toMatchObject({ id: challenge.id, seed: challenge.seed, root: challenge.commitment, rowsOpened: [3, 17, 200], status: "PASSED" });
    expect(detail.leases).toEqual([expect.objectContaining({ leaseId: 4242n, renter: "Rent…1111", state: "ended", token: "USDC", clusterType: "RAY" })]);
    expect(detail.totals).toMatchObject({ leaseGross: { USDC: 360_000n, MESH: 0n }, leases: 1 });
    expect(detail.uptime.days).toHaveLength(30);
    expect(detail.uptime.days.at(-1)!.uptimeBps).toBeLessThanOrEqual(10_000);

    const json = JSON.stringify(detail, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    for (const secret of ["AgentKey1111", renterWallet, renter.id, cluster.id, allocation.id, "secret cluster name", device.supplier.accountId, device.supplier.account.walletAddress]) expect(json).not.toContain(secret);

    expect(await publicDeviceDetail(db, "00000000-0000-0000-0000-000000000000")).toBeNull();
    const more = await deviceChecks(db, device.id, { limit: 1 });
    expect(more.checks).toHaveLength(1);
  });

  it("finds a supplier by id, on-chain address or wallet, with totals that add up and a truncated wallet", async () => {
    const supplier = await db.supplier.findFirstOrThrow({ include: { account: true } });
    await db.supplier.update({ where: { id: supplier.id }, data: { onChainAddress: "SupplierPda111111111111111111111111111111111" } });
    const byId = (await publicSupplierDetail(db, supplier.id))!;
    expect(byId.totals.devices).toBe(await db.device.count({ where: { supplierId: supplier.id } }));
    expect(byId.totals.gpus).toBe((await db.device.aggregate({ where: { supplierId: supplier.id }, _sum: { gpuCount: true } }))._sum.gpuCount);
    expect(byId.devices.devices.every((d) => d.supplier.id === supplier.id)).toBe(true);
    expect(byId.earnings).toHaveLength(30);
    expect(byId.supplier.wallet).not.toBe(supplier.account.walletAddress);
    expect((await publicSupplierDetail(db, "SupplierPda111111111111111111111111111111111"))!.supplier.id).toBe(supplier.id);
    expect((await publicSupplierDetail(db, supplier.account.walletAddress))!.supplier.id).toBe(supplier.id);
    expect(await publicSupplierDetail(db, "11111111111111111111111111111111")).toBeNull();
    expect(JSON.stringify(byId, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))).not.toContain(supplier.accountId);
  });

  it("decodes a transaction's events with their token and links them to the supplier and devices concerned", async () => {
    const supplier = await db.supplier.findFirstOrThrow({ where: { onChainAddress: { not: null } } });
    const device = await db.device.findFirstOrThrow({ where: { allocations: { some: { chainIndex: 0 } } } });
    const meshMint = "MeshMint11111111111111111111111111111111111";
    await db.chainEvent.createMany({
      data: [
        { signature: "cfg", eventIndex: 0, slot: 1n, name: "ConfigInitialized", data: { meshMint } },
        { signature: "reg", eventIndex: 0, slot: 2n, name: "SupplierRegistered", data: { supplier: supplier.onChainAddress!, authority: "Auth1111111111111111111111111111111111111111", payoutWallet: "Auth1111111111111111111111111111111111111111" } },
        { signature: "open", eventIndex: 0, slot: 3n, name: "LeaseOpened", lease: "LeasePda11111111111111111111111111111111111", leaseId: 4242n, mint: "UsdcMint11111111111111111111111111111111111", deposit: 720_000n, data: { lease: "LeasePda11111111111111111111111111111111111", leaseId: "4242", renter: "Renter1111111111111111111111111111111111111", deposited: "720000", pricePerSecond: "100" } },
        { signature: "open", eventIndex: 1, slot: 3n, name: "AllocationAdded", lease: "LeasePda11111111111111111111111111111111111", mint: "UsdcMint11111111111111111111111111111111111", data: { lease: "LeasePda11111111111111111111111111111111111", index: 0, supplier: supplier.onChainAddress!, ratePerSecond: "100", openRate: "100" } },
        { signature: "mint", eventIndex: 0, slot: 4n, name: "EmissionsMinted", mint: meshMint, emission: 4_566_210_000n, data: { hour: "1", amount: "4566210000", totalMinted: "4566210000" } },
      ],
    });
    expect((await publicSupplierDetail(db, supplier.id))!.supplier.registeredSignature).toBe("reg");
    const registration = (await chainTransaction(db, "reg"))!;
    expect(registration.events).toEqual([expect.objectContaining({ name: "SupplierRegistered", token: null, supplier: { id: supplier.id, name: supplier.name } })]);

    const open = (await chainTransaction(db, "open"))!;
    expect(open.slot).toBe(3n);
    expect(open.events.map((e) => e.name)).toEqual(["LeaseOpened", "AllocationAdded"]);
    expect(open.events[0]).toMatchObject({ token: "USDC", amounts: [{ field: "deposited", units: 720_000n }, { field: "pricePerSecond", units: 100n }], leaseId: 4242n });
    expect(open.events[0]!.fields).toContainEqual({ field: "renter", value: "Rent…1111" });
    expect(open.events[0]!.devices.map((d) => d.id)).toContain(device.id);
    expect(open.events[1]).toMatchObject({ supplier: { id: supplier.id }, devices: [{ id: device.id, name: device.name }] });

    expect((await chainTransaction(db, "mint"))!.events[0]).toMatchObject({ token: "MESH", amounts: [{ field: "amount", units: 4_566_210_000n }, { field: "totalMinted", units: 4_566_210_000n }] });
    expect(await chainTransaction(db, "nope")).toBeNull();
  });
});
