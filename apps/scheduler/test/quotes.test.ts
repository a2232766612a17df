import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import {
  countDoubleBookings,
  createDb,
  createHeldQuote,
  seedCatalogue,
  transitionCluster,
  type Db,
  type HeldQuote,
  type HeldQuoteResult,
} from "@gpumesh/db";
import type { ClusterRequestInput } from "@gpumesh/core";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SimulatedAgentChannel } from "../src/agents.ts";
import { loadSchedulerEnv } from "../src/env.ts";
import { expireQuote, findUnfinishedClusters } from "../src/jobs/unfinished.ts";
import { startScheduler, type RunningScheduler } from "../src/scheduler.ts";
import { timeline, waitForStatus } from "./helpers.ts";

// Held quotes through the deploy workflow (issue #10): real Postgres, Redis, BullMQ, simulated agents,
// on a small hand-made network so that "the quoted devices" is a precise set.
let database: TestDatabase;
let db: Db;
const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const rates = { feeBps: 500, burnBps: 5_000 };
const servers: string[] = [];
let spare: string;
let supplierId: string;
let walletSeq = 0;

async function server(name: string, ask: bigint, region = "us-east", status: "ONLINE" | "OFFLINE" = "ONLINE"): Promise<string> {
  const row = await db.device.create({
    data: {
      supplierId, name, gpuModelId: "h100-80gb", gpuCount: 8, vramGb: 80, cpuModel: "EPYC", cpuCores: 64, ramGb: 512, diskGb: 4096,
      region, country: "US", city: "Ashburn", bandwidthUpMbps: 10_000, bandwidthDownMbps: 10_000, pricePerGpuHour: ask, status,
      verificationScoreBps: 9_000, lastHeartbeatAt: new Date(),
    },
    select: { id: true },
  });
  return row.id;
}

beforeAll(async () => {
  database = await createTestDatabase("quotes_deploy");
  db = createDb(database.url);
  await seedCatalogue(db);
  const account = await db.account.create({ data: { walletAddress: "SuppQuoteDeploy".padEnd(43, "1") } });
  supplierId = (await db.supplier.create({ data: { accountId: account.id, name: "Ashburn DC" } })).id;
  for (const [i, ask] of [2_000_000n, 2_010_000n, 2_020_000n, 2_030_000n].entries()) servers.push(await server(`h100-${i}`, ask));
  // A cheap server that is offline while quotes are made (it comes online to replace a lost node).
  spare = await server("h100-spare", 1_900_000n, "us-east", "OFFLINE");
  await server("h100-euw", 2_190_000n, "eu-west");
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

// Each test starts from a free network.
afterEach(async () => {
  await db.allocation.updateMany({ where: { status: "ACTIVE" }, data: { status: "RELEASED", releasedAt: new Date(), releaseReason: "test cleanup" } });
  await db.cluster.updateMany({ where: { status: { in: ["REQUESTED", "PAID", "MATCHING", "DEPLOYING", "RUNNING"] } }, data: { status: "FAILED" } });
  await db.device.update({ where: { id: spare }, data: { status: "OFFLINE" } });
  await db.device.updateMany({ where: { id: { in: servers } }, data: { status: "ONLINE" } });
});

async function renter(): Promise<string> {
  return (await db.account.create({ data: { walletAddress: `RenterQ${String(walletSeq++).padStart(4, "0")}`.padEnd(43, "A") } })).id;
}

const request = (gpuCount: number, extra: Partial<ClusterRequestInput> = {}): ClusterRequestInput => ({
  name: "quoted", type: "RAY", gpuModelIds: ["h100-80gb"], gpuCount, regions: ["us-east"], durationHours: 2, ...extra,
});

function held(result: HeldQuoteResult): HeldQuote {
  if (!result.ok) throw new Error(`expected a held quote: ${result.message}`);
  return result.quote;
}

async function quote(gpuCount: number, options: { now?: Date; ttlMs?: number; regions?: string[] } = {}): Promise<HeldQuoteResult> {
  return createHeldQuote(db, {
    accountId: await renter(),
    request: request(gpuCount, options.regions ? { regions: options.regions } : {}),
    now: options.now ?? new Date(),
    rates,
    ...(options.ttlMs ? { ttlMs: options.ttlMs } : {}),
  });
}

/** What the payment path does once open_lease is confirmed (its own job, not part of this issue). */
async function pay(clusterId: string): Promise<void> {
  const moved = await transitionCluster(db, clusterId, "PAID", "payment confirmed", { expectedFrom: "REQUESTED" });
  expect(moved.changed).toBe(true);
}

async function start(): Promise<RunningScheduler> {
  const redis = testRedis();
  const env = loadSchedulerEnv({ DATABASE_URL: database.url, REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, LOG_LEVEL: "silent", DEPLOY_CONCURRENCY: "4" });
  return startScheduler(env, silent, { sweeps: false, agents: new SimulatedAgentChannel() });
}

const activeDevices = async (clusterId: string) =>
  (await db.allocation.findMany({ where: { clusterId, status: "ACTIVE" }, select: { deviceId: true } })).map((a) => a.deviceId).sort();

describe("held quotes and the deploy workflow", () => {
  it("paying deploys exactly the quoted devices: no new match, the holds re-windowed to the real lease", async () => {
    const q = held(await quote(16));
    const quotedDevices = q.devices.map((d) => d.deviceId).sort();
    const holds = await db.allocation.findMany({ where: { clusterId: q.clusterId } });
    await pay(q.clusterId);
    const scheduler = await start();
    try {
      await scheduler.enqueueDeploy(q.clusterId);
      await waitForStatus(db, q.clusterId, "RUNNING");
      const allocations = await db.allocation.findMany({ where: { clusterId: q.clusterId } });
      // The very same allocation rows: held, claimed, acknowledged.
      expect(allocations.map((a) => a.id).sort()).toEqual(holds.map((a) => a.id).sort());
      expect(await activeDevices(q.clusterId)).toEqual(quotedDevices);
      const cluster = await db.cluster.findUniqueOrThrow({ where: { id: q.clusterId } });
      expect(cluster.pricePerSecond).toBe(q.breakdown.pricePerSecond);
      expect(cluster.depositAmount).toBe(q.breakdown.total);
      // Re-windowed from the quote's hold to the deployment (then shrunk to the real end at RUNNING).
      const started = await db.clusterEvent.findFirstOrThrow({ where: { clusterId: q.clusterId, toStatus: "MATCHING" } });
      for (const a of allocations) {
        expect(a.acknowledgedAt).not.toBeNull();
        expect(a.startsAt).toEqual(started.at);
        expect(a.endsAt).toEqual(cluster.endsAt);
      }
      expect(holds.every((h) => h.startsAt < started.at)).toBe(true);
      expect(await timeline(db, q.clusterId)).toEqual(["null->REQUESTED", "REQUESTED->PAID", "PAID->MATCHING", "MATCHING->DEPLOYING", "DEPLOYING->RUNNING"]);
      const deploying = await db.clusterEvent.findFirstOrThrow({ where: { clusterId: q.clusterId, toStatus: "DEPLOYING" } });
      expect(deploying.reason).toBe("2 device(s) reserved (held by the quote)");
      expect(await countDoubleBookings(db)).toBe(0);
    } finally {
      await scheduler.stop();
    }
  });

  it("a held quote blocks other quotes and other deployments from its devices", async () => {
    const q = held(await quote(24)); // 3 of the 4 us-east servers
    // Another quote for 16 in us-east: only 8 are free.
    const other = await quote(16);
    expect(other).toMatchObject({ ok: false, constraint: "capacity", requested: [{ gpuModelId: "h100-80gb", region: "us-east", freeGpus: 8 }] });
    // A paid cluster (not quoted) deploying in the same market cannot take them either.
    const account = await renter();
    const paid = await db.cluster.create({
      data: {
        renterId: account, name: "unquoted", type: "RAY", gpuModelIds: ["h100-80gb"], gpuCount: 16, regions: ["us-east"], supplierNetworks: ["GPUMESH"],
        durationHours: 1, pricePerSecond: 10_000n, depositAmount: 36_000_000n, status: "PAID",
      },
    });
    const scheduler = await start();
    try {
      await scheduler.enqueueDeploy(paid.id);
      await waitForStatus(db, paid.id, "REFUNDED");
      const failed = await db.clusterEvent.findFirstOrThrow({ where: { clusterId: paid.id, toStatus: "FAILED" } });
      expect(failed.reason).toMatch(/^no placement: only 8 H100 80GB GPUs/);
      expect((await activeDevices(q.clusterId)).length).toBe(3);
      expect(await countDoubleBookings(db)).toBe(0);
    } finally {
      await scheduler.stop();
    }
  });

  it("an expired quote frees its devices: the sweep fails it unpaid by its own quote_expires_at", async () => {
    const past = new Date(Date.now() - 10_000);
    const expired = held(await quote(32, { now: past, ttlMs: 5_000 })); // every us-east server, expired 5 s ago
    // Until the sweep runs, the expired quote still holds them.
    expect(await quote(8)).toMatchObject({ ok: false, constraint: "region" });
    const live = held(await quote(8, { ttlMs: 60_000, regions: ["eu-west"] }));
    // A REQUESTED cluster without quote_expires_at keeps the QUOTE_TTL_S fallback (created just now: not expired).
    const legacy = await db.cluster.create({
      data: {
        renterId: await renter(), name: "legacy", type: "RAY", gpuModelIds: ["h100-80gb"], gpuCount: 8, regions: ["us-east"], supplierNetworks: ["GPUMESH"],
        durationHours: 1, pricePerSecond: 1n, depositAmount: 3_600n, status: "REQUESTED",
      },
    });
    const now = new Date();
    const unfinished = await findUnfinishedClusters(db, now, { graceMs: 60_000, quoteTtlMs: 1_800_000 });
    expect(unfinished.expiredQuotes.map((c) => c.id)).toEqual([expired.clusterId]);
    expect(await expireQuote({ db, publish: () => undefined }, unfinished.expiredQuotes[0]!, now)).toBe(true);
    expect(await activeDevices(expired.clusterId)).toEqual([]);
    expect((await db.cluster.findUniqueOrThrow({ where: { id: expired.clusterId } })).status).toBe("REFUNDED");
    // The fallback still applies to rows without their own expiry.
    const later = new Date(now.getTime() + 1_800_001);
    expect((await findUnfinishedClusters(db, later, { graceMs: 60_000, quoteTtlMs: 1_800_000 })).expiredQuotes.map((c) => c.id).sort()).toEqual([legacy.id, live.clusterId].sort());
    // The freed servers are quotable again.
    const again = held(await quote(32));
    expect(again.devices.map((d) => d.deviceId).sort()).toEqual(expired.devices.map((d) => d.deviceId).sort());
  });

  it("two concurrent quotes for the last 8 GPUs: exactly one holds them, the other gets the typed result with alternatives", async () => {
    held(await quote(24));
    const [a, b] = await Promise.all([quote(8), quote(8)]);
    const results = [a!, b!];
    const winners = results.filter((r) => r.ok);
    const losers = results.filter((r) => !r.ok);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    const loser = losers[0]!;
    if (loser.ok) throw new Error("unreachable");
    expect(loser.constraint).toBe("region");
    expect(loser.otherRegions).toEqual([{ gpuModelId: "h100-80gb", region: "eu-west", freeGpus: 8 }]);
    expect(loser.message).toMatch(/elsewhere: 8 H100 80GB in eu-west/);
    // The winner pays and gets exactly the quoted server.
    const winner = held(winners[0]!);
    await pay(winner.clusterId);
    const scheduler = await start();
    try {
      await scheduler.enqueueDeploy(winner.clusterId);
      await waitForStatus(db, winner.clusterId, "RUNNING");
      expect(await activeDevices(winner.clusterId)).toEqual([winner.devices[0]!.deviceId]);
      expect(await countDoubleBookings(db)).toBe(0);
    } finally {
      await scheduler.stop();
    }
  });

  it("a held device that went offline before payment is replaced alone; the others deploy as quoted", async () => {
    const q = held(await quote(16));
    const [lost, kept] = q.devices.map((d) => d.deviceId) as [string, string];
    await db.device.update({ where: { id: lost }, data: { status: "OFFLINE" } });
    // A replacement is available (asks less than the quoted rate, so it is never paid below its ask).
    await db.device.update({ where: { id: spare }, data: { status: "ONLINE", lastHeartbeatAt: new Date() } });
    await pay(q.clusterId);
    const scheduler = await start();
    try {
      await scheduler.enqueueDeploy(q.clusterId);
      await waitForStatus(db, q.clusterId, "RUNNING");
      expect(await activeDevices(q.clusterId)).toEqual([kept, spare].sort());
      const released = await db.allocation.findFirstOrThrow({ where: { clusterId: q.clusterId, deviceId: lost } });
      expect(released.status).toBe("RELEASED");
      expect(released.releaseReason).toMatch(/^hold-lost: /);
      expect(await timeline(db, q.clusterId)).toEqual(["null->REQUESTED", "REQUESTED->PAID", "PAID->MATCHING", "MATCHING->DEPLOYING", "DEPLOYING->RUNNING"]);
      const deploying = await db.clusterEvent.findFirstOrThrow({ where: { clusterId: q.clusterId, toStatus: "DEPLOYING" } });
      expect(deploying.reason).toBe("replacement: 1 device(s), 8 GPU(s) reserved");
    } finally {
      await scheduler.stop();
    }
  });
});
