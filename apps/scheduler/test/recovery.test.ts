import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { createDb, seedSimulatedNetwork, transitionCluster, type Db } from "@gpumesh/db";
import { Queue, Worker, type MinimalJob } from "bullmq";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimulatedAgentChannel } from "../src/agents.ts";
import { CAPPED_BACKOFF, cappedExponentialBackoff, enqueueOnce, jobIds, QUEUES } from "@gpumesh/queue";
import { loadSchedulerEnv } from "../src/env.ts";
import { startScheduler, type RunningScheduler } from "../src/scheduler.ts";
import { FlakyChainSettlement, moneyOfCluster, runningCluster, timeline, waitFor, waitForStatus } from "./helpers.ts";

// No job is blocked by its own failed past, and every unfinished state has a sweep that finishes it:
// real Postgres and Redis, the repeating sweeps on a 1 s period, a chain double that can be "down".
let database: TestDatabase;
let db: Db;
const HOUR = 3_600_000;

beforeAll(async () => {
  database = await createTestDatabase("recovery");
  db = createDb(database.url);
  await seedSimulatedNetwork(db, { suppliers: 8, devices: 60 });
  await db.device.updateMany({ where: { gpuCount: { gt: 0 } }, data: { status: "ONLINE", lastHeartbeatAt: new Date(), verificationScoreBps: 9_000 } });
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

async function start(redis: ReturnType<typeof testRedis>, chain: FlakyChainSettlement, extraEnv: Record<string, string> = {}): Promise<RunningScheduler> {
  const env = loadSchedulerEnv({
    DATABASE_URL: database.url, REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, LOG_LEVEL: "silent",
    SETTLE_SWEEP_EVERY_S: "1", DEPLOY_SWEEP_EVERY_S: "60", HEALTH_SWEEP_EVERY_S: "60",
    // A short retry window: 8 attempts, 10 ms doubling, so an outage outlasts it in a second or two.
    CHAIN_RETRY_ATTEMPTS: "8", CHAIN_RETRY_DELAY_MS: "10", CHAIN_RETRY_MAX_DELAY_S: "1",
    ...extraEnv,
  });
  return startScheduler(env, pino({ level: "silent" }), { agents: new SimulatedAgentChannel(), chain });
}

async function failedAfter(queue: Queue, jobId: string, attempts: number): Promise<boolean> {
  const job = await queue.getJob(jobId);
  return job !== undefined && (await job.getState()) === "failed" && job.attemptsMade >= attempts;
}

describe("enqueueOnce", () => {
  it("retries a job its failed past holds, dedupes a completed one (unless asked to re-run it), and caps the chain backoff", async () => {
    const redis = testRedis();
    const connection = { url: redis.url, maxRetriesPerRequest: null };
    const queue = new Queue("once", { connection, prefix: redis.prefix, defaultJobOptions: { attempts: 2, removeOnFail: { age: 3600 }, removeOnComplete: { age: 3600 } } });
    let healthy = false;
    const runs: string[] = [];
    const worker = new Worker(
      "once",
      (job) => {
        runs.push(job.id!);
        return healthy ? Promise.resolve("done") : Promise.reject(new Error("down"));
      },
      { connection, prefix: redis.prefix },
    );
    try {
      expect(await enqueueOnce(queue, "work", { n: 1 }, "work/1")).toBe("added");
      await waitFor("failed", async () => (await queue.getJobState("work/1")) === "failed");
      expect(await queue.add("work", { n: 1 }, { jobId: "work/1" }).then(() => queue.getJobState("work/1"))).toBe("failed"); // a plain add is ignored
      healthy = true;
      expect(await enqueueOnce(queue, "work", { n: 1 }, "work/1")).toBe("retried");
      await waitFor("completed", async () => (await queue.getJobState("work/1")) === "completed");
      expect(await enqueueOnce(queue, "work", { n: 1 }, "work/1")).toBe("exists");
      expect(await enqueueOnce(queue, "work", { n: 1 }, "work/1", {}, { rerunCompleted: true })).toBe("added");
      await waitFor("completed again", async () => runs.length === 4 && (await queue.getJobState("work/1")) === "completed");
    } finally {
      await worker.close();
      await queue.close();
    }
    const backoff = cappedExponentialBackoff(60_000);
    const job = { opts: { backoff: { type: CAPPED_BACKOFF, delay: 1_000 } } } as unknown as MinimalJob;
    expect([1, 2, 3, 6, 7, 20].map((attempt) => backoff(attempt, CAPPED_BACKOFF, undefined, job))).toEqual([1_000, 2_000, 4_000, 32_000, 60_000, 60_000]);
  });
});

describe("recovery", () => {
  it("a chain outage longer than the retry window: once it ends, the lease is ended on-chain without anyone retrying by hand", async () => {
    // Past its paid end a minute ago.
    const cluster = await runningCluster(db, { startedAt: new Date(Date.now() - 2 * HOUR - 60_000), durationHours: 2 });
    const chain = new FlakyChainSettlement(db);
    chain.down = true;
    const scheduler = await start(testRedis(), chain);
    try {
      const settle = scheduler.queues.settle;
      // The expiry end runs the ledger to ENDED, then end_lease fails every attempt; so does the sweep's
      // own end job: both ids are now held by failed jobs (kept 30 days).
      await waitFor("the expiry end to exhaust its attempts", () => failedAfter(settle, jobIds.expiry(cluster.id, cluster.endsAt!), 8), 30_000);
      await waitFor("the sweep's end to exhaust its attempts", () => failedAfter(settle, jobIds.end(cluster.id, "sweep"), 8), 30_000);
      expect((await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } })).status).toBe("ENDED");
      expect(chain.ended.filter((e) => e.clusterId === cluster.id)).toEqual([]);

      chain.down = false;
      await waitFor("end_lease to land", async () => chain.ended.some((e) => e.clusterId === cluster.id), 20_000);
      // The sweep retried its own failed job under the same id.
      await waitFor("the sweep's end job to complete", async () => (await settle.getJobState(jobIds.end(cluster.id, "sweep"))) === "completed");
      const ended = await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
      expect(chain.ended.find((e) => e.clusterId === cluster.id)!.endedAt).toEqual(ended.endedAt);
      const money = await moneyOfCluster(db, cluster.id);
      expect(money.escrow).toBe(0n);
      expect(money.suppliers + money.treasury + money.burned + money.refund).toBe(cluster.depositAmount);
    } finally {
      await scheduler.stop();
    }
  }, 90_000);

  it("a lost node whose job failed for good is handled by the next health sweep", async () => {
    const cluster = await runningCluster(db, { startedAt: new Date(Date.now() - 10 * 60_000), durationHours: 4, nodes: 2 });
    const [lost] = await db.allocation.findMany({ where: { clusterId: cluster.id }, orderBy: { deviceId: "asc" } });
    await db.device.update({ where: { id: lost!.deviceId }, data: { status: "OFFLINE" } });
    const redis = testRedis();
    // An earlier run of the health sweep enqueued the node-lost job and it failed (a database blip):
    // its id is held by a failed job.
    const connection = { url: redis.url, maxRetriesPerRequest: null };
    const deploy = new Queue(QUEUES.deploy, { connection, prefix: redis.prefix });
    const jobId = jobIds.nodeLost(cluster.id, lost!.id);
    await deploy.add("node-lost", { clusterId: cluster.id, allocationId: lost!.id, reason: "offline" }, { jobId, attempts: 1, removeOnFail: { age: 30 * 24 * 3600 } });
    const failing = new Worker(QUEUES.deploy, () => Promise.reject(new Error("database unavailable")), { connection, prefix: redis.prefix });
    try {
      await waitFor("the node-lost job to fail", async () => (await deploy.getJobState(jobId)) === "failed");
    } finally {
      await failing.close();
    }
    const scheduler = await start(redis, new FlakyChainSettlement(db), { HEALTH_SWEEP_EVERY_S: "1" });
    try {
      await waitFor("the lost node to be released", async () => (await db.allocation.findUniqueOrThrow({ where: { id: lost!.id } })).status === "RELEASED", 20_000);
      expect((await db.allocation.findUniqueOrThrow({ where: { id: lost!.id } })).releaseReason).toMatch(/^offline: /);
      expect(await timeline(db, cluster.id)).toContain("RUNNING->DEGRADED");
    } finally {
      await scheduler.stop();
      await deploy.close();
    }
  }, 60_000);

  it("a crash between ENDING and ENDED: the restarted scheduler's sweep ends the lease", async () => {
    const cluster = await runningCluster(db, { startedAt: new Date(Date.now() - 30 * 60_000), durationHours: 4 });
    // The end job moved it to ENDING, then the process died and Redis lost the job (fresh prefix below).
    await transitionCluster(db, cluster.id, "ENDING", "terminated by the renter", { expectedFrom: "RUNNING", at: new Date(Date.now() - 5_000) });
    const chain = new FlakyChainSettlement(db);
    const scheduler = await start(testRedis(), chain);
    try {
      await waitForStatus(db, cluster.id, "ENDED", 20_000);
      expect((await timeline(db, cluster.id)).slice(-2)).toEqual(["RUNNING->ENDING", "ENDING->ENDED"]);
      expect(await db.allocation.count({ where: { clusterId: cluster.id, status: "ACTIVE" } })).toBe(0);
      const money = await moneyOfCluster(db, cluster.id);
      expect(money.escrow).toBe(0n);
      expect(money.refund).toBeGreaterThan(0n);
      expect(money.suppliers + money.treasury + money.burned + money.refund).toBe(cluster.depositAmount);
      // The refund says why the lease ended (the ENDING move's reason), not that a sweep found it.
      const refund = await db.journal.findFirstOrThrow({ where: { reference: `refund:${cluster.id}` } });
      expect(refund.description).toContain("terminated by the renter");
      await waitFor("end_lease", async () => chain.ended.some((e) => e.clusterId === cluster.id));
    } finally {
      await scheduler.stop();
    }
  }, 60_000);

  it("closes what is still open: a refunded lease never cancelled on-chain, and a quote never paid", async () => {
    const refunded = await runningCluster(db, { startedAt: new Date(Date.now() - 30 * 60_000), durationHours: 1 });
    await db.allocation.updateMany({ where: { clusterId: refunded.id }, data: { status: "RELEASED", releasedAt: new Date(), releaseReason: "test" } });
    await db.cluster.update({ where: { id: refunded.id }, data: { status: "REFUNDED", startedAt: null, endsAt: null, updatedAt: new Date(Date.now() - 10_000) } });
    const renter = await db.account.create({ data: { walletAddress: "RenterQuote111111111111111111111111111111111" } });
    const quote = (createdAt: Date) =>
      db.cluster.create({
        data: {
          renterId: renter.id, name: "quote", type: "RAY", gpuModelIds: ["h100-sxm"], gpuCount: 1, regions: ["us-east"], supplierNetworks: ["GPUMESH"],
          durationHours: 1, pricePerSecond: 10n, depositAmount: 36_000n, status: "REQUESTED", createdAt,
        },
      });
    const stale = await quote(new Date(Date.now() - 31 * 60_000));
    const fresh = await quote(new Date());
    const chain = new FlakyChainSettlement(db);
    const scheduler = await start(testRedis(), chain);
    try {
      await waitFor("cancel_lease", async () => chain.cancelled.includes(refunded.id), 20_000);
      await waitForStatus(db, stale.id, "REFUNDED", 20_000);
      const events = await db.clusterEvent.findMany({ where: { clusterId: stale.id }, orderBy: { id: "asc" } });
      expect(events.map((e) => `${e.fromStatus}->${e.toStatus}: ${e.reason}`)).toEqual(["REQUESTED->FAILED: payment not received", "FAILED->REFUNDED: closed: nothing was escrowed"]);
      // Nothing was escrowed, so nothing was booked.
      expect((await moneyOfCluster(db, stale.id)).references).toEqual([]);
      expect((await db.cluster.findUniqueOrThrow({ where: { id: fresh.id } })).status).toBe("REQUESTED");
    } finally {
      await scheduler.stop();
    }
  }, 60_000);
});
