import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { createDb, loadCandidates, seedSimulatedNetwork, type Db } from "@gpumesh/db";
import { QueueEvents } from "bullmq";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SimulatedAgentChannel, type SimulatedVerification } from "../src/agents.ts";
import { loadSchedulerEnv } from "../src/env.ts";
import { sweepStaleDevices } from "../src/jobs/health.ts";
import type { SweepResult } from "../src/jobs/verify.ts";
import { CHALLENGE_RETENTION_MS, pruneChallengeHistory } from "../src/jobs/verify.ts";
import { startScheduler, type RunningScheduler } from "../src/scheduler.ts";
import { waitFor } from "./helpers.ts";

// The verify queue end to end: real Postgres, real Redis, BullMQ workers, simulated agents that really
// compute the GEMM (or cheat, or stay silent).
let database: TestDatabase;
let db: Db;
/** Devices the seed left ONLINE or REGISTERED: the ones a sweep challenges. */
let eligibleIds: string[];
const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

beforeAll(async () => {
  database = await createTestDatabase("verify");
  db = createDb(database.url);
  await seedSimulatedNetwork(db, { suppliers: 10, devices: 40 });
  eligibleIds = (await db.device.findMany({ where: { status: { in: ["ONLINE", "REGISTERED"] } }, select: { id: true } })).map((d) => d.id);
});

beforeEach(async () => {
  // Each test starts from a network nobody has challenged yet.
  await db.verificationChallenge.deleteMany();
  await db.device.updateMany({ where: { id: { in: eligibleIds } }, data: { status: "ONLINE", lastHeartbeatAt: new Date(), verificationScoreBps: 9_000, nextChallengeAt: new Date() } });
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

async function start(extraEnv: Record<string, string>, agents: SimulatedAgentChannel): Promise<{ scheduler: RunningScheduler; events: QueueEvents; sweep: (id: string) => Promise<SweepResult>; close: () => Promise<void> }> {
  const redis = testRedis();
  const env = loadSchedulerEnv({
    DATABASE_URL: database.url, REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, LOG_LEVEL: "silent",
    VERIFY_MATRIX_SIZE: "64", VERIFY_SAMPLED_ROWS: "4", VERIFY_DEADLINE_S: "4", VERIFY_EVERY_S: "3600", ...extraEnv,
  });
  const scheduler = await startScheduler(env, silent, { sweeps: false, agents });
  const events = new QueueEvents("verify", { connection: { url: redis.url }, prefix: redis.prefix });
  await events.waitUntilReady();
  return {
    scheduler,
    events,
    // A sweep through the queue, as the repeating job runs it.
    sweep: async (id) => (await (await scheduler.queues.verify.add("sweep", {}, { jobId: `test-sweep/${id}` })).waitUntilFinished(events)) as SweepResult,
    close: async () => {
      await events.close();
      await scheduler.stop();
    },
  };
}

const eligible = () => db.device.count({ where: { status: { in: ["ONLINE", "REGISTERED"] } } });

describe("verify queue", () => {
  it("issues at most a batch per sweep, never two challenges to a device in a period, even from racing sweeps", async () => {
    const { sweep, close } = await start({ VERIFY_BATCH: "7" }, new SimulatedAgentChannel());
    try {
      const total = await eligible();
      expect(total).toBeGreaterThan(14);
      const racing = await Promise.all([sweep("a"), sweep("b")]);
      for (const result of racing) expect(result.issued).toBeLessThanOrEqual(7);
      let sweeps = 0;
      while ((await db.verificationChallenge.count()) < total) {
        expect((await sweep(`next-${sweeps++}`)).issued).toBeLessThanOrEqual(7);
        expect(sweeps).toBeLessThan(total);
      }
      // Everyone challenged once; sweeping again (challenges still open or already closed) issues nothing.
      const perDevice = await db.verificationChallenge.groupBy({ by: ["deviceId"], _count: { _all: true } });
      expect(perDevice).toHaveLength(total);
      expect(perDevice.every((d) => d._count._all === 1)).toBe(true);
      await waitFor("every challenge closed", async () => (await db.verificationChallenge.count({ where: { status: "PENDING" } })) === 0);
      expect((await sweep("after")).issued).toBe(0);
      expect(await db.verificationChallenge.count()).toBe(total);
    } finally {
      await close();
    }
  });

  it("challenges each device again once its own period comes round, spread over the period rather than all at once", async () => {
    // 20 devices on a 4 s period: after the first round, each falls due at its own phase.
    const twenty = eligibleIds.slice(0, 20);
    await db.device.updateMany({ where: { id: { notIn: twenty } }, data: { status: "OFFLINE" } });
    const { sweep, close } = await start({ VERIFY_EVERY_S: "4" }, new SimulatedAgentChannel());
    try {
      expect((await sweep("round-1")).issued).toBe(20);
      const t0 = (await db.verificationChallenge.findFirstOrThrow()).issuedAt.getTime();
      await waitFor("the first round closed", async () => (await db.verificationChallenge.count({ where: { status: "PASSED" } })) === 20);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + 2_500 - Date.now())));
      // Part way through the period only the devices whose phase has passed are due again.
      const halfWay = (await sweep("half-way")).issued;
      expect(halfWay).toBeGreaterThan(0);
      expect(halfWay).toBeLessThan(20);
      await waitFor("the half-way challenges closed", async () => (await db.verificationChallenge.count({ where: { status: "PASSED" } })) === 20 + halfWay);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + 4_300 - Date.now())));
      // A full period on, every device has had its second challenge (some of the half-way ones may
      // already be on their third), and none was ever challenged twice within half a period.
      expect((await sweep("full-period")).issued).toBeGreaterThanOrEqual(20 - halfWay);
      const challenges = await db.verificationChallenge.findMany({ orderBy: { issuedAt: "asc" } });
      const byDevice = new Map<string, typeof challenges>();
      for (const c of challenges) byDevice.set(c.deviceId, [...(byDevice.get(c.deviceId) ?? []), c]);
      expect(byDevice.size).toBe(20);
      for (const list of byDevice.values()) {
        expect(list.length).toBeGreaterThanOrEqual(2);
        for (let i = 1; i < list.length; i++) expect(list[i]!.issuedAt.getTime() - list[i - 1]!.issuedAt.getTime()).toBeGreaterThanOrEqual(2_000);
      }
    } finally {
      await close();
    }
  });

  it("passes honest devices, fails cheaters with a reason, expires the silent, and promotes a registered device", async () => {
    const devices = await db.device.findMany({ where: { status: "ONLINE", gpuCount: { gt: 0 } }, orderBy: { name: "asc" }, take: 6 });
    const [honest, cheater, garbage, mute, liar, registered] = devices.map((d) => d.id) as [string, string, string, string, string, string];
    await db.device.update({ where: { id: honest }, data: { verificationScoreBps: 6_000, verifiedAt: null } });
    // Only these six are challenged: the rest of the network is offline for this test.
    await db.device.updateMany({ where: { id: { notIn: devices.map((d) => d.id) } }, data: { status: "OFFLINE" } });
    // Just joined: its agent connected two minutes ago (devices never heard from are not challenged).
    await db.device.update({ where: { id: registered }, data: { status: "REGISTERED", verificationScoreBps: 0, verifiedAt: null, lastHeartbeatAt: new Date(Date.now() - 120_000) } });
    const behaviours = new Map<string, SimulatedVerification>([
      [cheater, { kind: "wrong-rows" }],
      [garbage, { kind: "garbage-commitment" }],
      [mute, { kind: "silent" }],
      [liar, { kind: "honest", elapsedMs: 3_600_000 }],
    ]);
    const agents = new SimulatedAgentChannel(undefined, { verification: (c) => behaviours.get(c.deviceId) ?? { kind: "honest" } });
    const cheaterDevice = devices[1]!;
    const candidateQuery = {
      cluster: {
        id: "00000000-0000-4000-8000-000000000000", name: "probe", type: "RAY" as const, gpuModelIds: [cheaterDevice.gpuModelId!], minVramGb: 0, regions: [cheaterDevice.region],
        connectivityTier: "LOW" as const, encryptedTraffic: false, complianceOnly: false, supplierNetworks: ["GPUMESH" as const, "RENDER" as const, "FILECOIN" as const, "AETHIR" as const],
        durationHours: 1, billingPeriod: "HOURLY" as const, paymentToken: "USDC" as const, maxPricePerGpuHour: null, workload: null,
      },
      gpuCount: 1, startsAt: new Date(), endsAt: new Date(Date.now() + 3_600_000), excludeDeviceIds: new Set<string>(), minVerificationScoreBps: 5_000,
    };
    expect((await loadCandidates(db, candidateQuery)).map((c) => c.device.id)).toContain(cheater);

    const started = new Date();
    const { sweep, close } = await start({}, agents);
    try {
      const first = await sweep("first");
      expect(first.issued).toBe(6);
      const challengeOf = (deviceId: string) => db.verificationChallenge.findFirstOrThrow({ where: { deviceId } });
      // The silent device's deadline (3 s) passes by its delayed expire job; the sweep is not needed.
      await waitFor("all six challenges closed", async () => (await db.verificationChallenge.count({ where: { deviceId: { in: devices.map((d) => d.id) }, status: { not: "PENDING" } } })) === 6, 15_000);
      expect((await sweep("second")).issued).toBe(0);

      const passed = await challengeOf(honest);
      expect(passed).toMatchObject({ status: "PASSED", failureReason: null, kind: "GPU_GEMM", matrixSize: 64 });
      expect(passed.commitment).toMatch(/^[0-9a-f]{64}$/);
      expect(passed.sampledRows).toHaveLength(4);
      expect(new Set(passed.sampledRows).size).toBe(4);
      const honestDevice = await db.device.findUniqueOrThrow({ where: { id: honest } });
      expect(honestDevice.verificationScoreBps).toBe(8_000);
      expect(honestDevice.verifiedAt!.getTime()).toBeGreaterThanOrEqual(started.getTime());

      expect(await challengeOf(cheater)).toMatchObject({ status: "FAILED", failureReason: expect.stringMatching(/^wrong-result: C\[\d+\]\[0\]/) });
      expect((await db.device.findUniqueOrThrow({ where: { id: cheater } })).verificationScoreBps).toBe(2_250);
      // Under the matching floor: the matcher no longer offers it.
      expect((await loadCandidates(db, candidateQuery)).map((c) => c.device.id)).not.toContain(cheater);

      expect(await challengeOf(garbage)).toMatchObject({ status: "FAILED", failureReason: expect.stringMatching(/^proof-invalid: /) });
      const lie = await challengeOf(liar);
      expect(lie).toMatchObject({ status: "FAILED", elapsedMs: 3_600_000, failureReason: expect.stringMatching(/^elapsed-exceeds-observed: /) });
      expect(lie.sampledRows).toEqual([]); // failed on the commitment: no rows were asked for

      expect(await challengeOf(mute)).toMatchObject({ status: "EXPIRED", commitment: null, failureReason: "no commitment before the deadline" });
      expect((await db.device.findUniqueOrThrow({ where: { id: mute } })).verificationScoreBps).toBe(6_750);
      expect(agents.rowRequests.some((r) => r.challengeId === (lie.id))).toBe(false);

      // A registered device that proves itself goes online, with a heartbeat the health sweep respects.
      const promoted = await db.device.findUniqueOrThrow({ where: { id: registered } });
      expect(promoted).toMatchObject({ status: "ONLINE", verificationScoreBps: 5_000 });
      expect(promoted.verifiedAt).not.toBeNull();
      expect(await sweepStaleDevices(db, 90)).not.toContain(registered);
    } finally {
      await close();
    }
  });

  it("treats a re-delivered answer as the same answer: one verdict, one score change", async () => {
    const device = await db.device.findFirstOrThrow({ where: { status: "ONLINE", gpuCount: { gt: 0 } }, orderBy: { name: "desc" } });
    const agents = new SimulatedAgentChannel();
    const answers: unknown[] = [];
    agents.onVerificationAnswer((answer) => void answers.push(answer));
    const { scheduler, events, sweep, close } = await start({}, agents);
    try {
      await sweep("only");
      const challenge = await waitFor("the device's challenge to pass", async () => db.verificationChallenge.findFirst({ where: { deviceId: device.id, status: "PASSED" } }));
      const score = (await db.device.findUniqueOrThrow({ where: { id: device.id } })).verificationScoreBps;
      expect(score).toBe(9_500);
      // The channel delivers the same commitment and opening again (a duplicate on the wire, a
      // reconnecting agent): the jobs dedupe or find the challenge closed.
      const mine = answers.filter((a) => (a as { challengeId: string }).challengeId === challenge.id);
      expect(mine.map((a) => (a as { type: string }).type).sort()).toEqual(["commitment", "opening"]);
      for (const answer of mine) {
        const type = (answer as { type: string }).type;
        const replay = await scheduler.queues.verify.add(type, { answer, receivedAt: new Date().toISOString() }, { jobId: `replay/${challenge.id}/${type}` });
        expect(await replay.waitUntilFinished(events)).toEqual({ state: "ignored", reason: "challenge already passed" });
      }
      expect((await db.device.findUniqueOrThrow({ where: { id: device.id } })).verificationScoreBps).toBe(9_500);
      expect((await db.verificationChallenge.findUniqueOrThrow({ where: { id: challenge.id } })).status).toBe("PASSED");
    } finally {
      await close();
    }
  });
});

describe("challenge history", () => {
  it("prunes closed challenges past their retention, oldest first, and never an open one", async () => {
    const [a, b] = eligibleIds;
    const old = new Date(Date.now() - CHALLENGE_RETENTION_MS - 86_400_000);
    const recent = new Date(Date.now() - 3_600_000);
    const row = (deviceId: string, issuedAt: Date, status: "PASSED" | "PENDING") => ({
      deviceId: deviceId!, kind: "GPU_GEMM" as const, seed: "ab".repeat(32), matrixSize: 16, status, issuedAt, deadlineAt: new Date(issuedAt.getTime() + 60_000),
    });
    await db.verificationChallenge.createMany({ data: [row(a!, old, "PASSED"), row(b!, old, "PENDING"), row(a!, recent, "PASSED")] });
    expect(await pruneChallengeHistory(db, new Date(Date.now() - CHALLENGE_RETENTION_MS))).toBe(1);
    const left = await db.verificationChallenge.findMany({ orderBy: { issuedAt: "asc" } });
    expect(left.map((c) => [c.status, c.issuedAt.getTime()])).toEqual([["PENDING", old.getTime()], ["PASSED", recent.getTime()]]);
  });
});
