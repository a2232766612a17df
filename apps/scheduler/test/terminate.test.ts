import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { createDb, postDepositJournal, recordEndRequest, seedSimulatedNetwork, type Db } from "@gpumesh/db";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimulatedAgentChannel } from "../src/agents.ts";
import { loadSchedulerEnv } from "../src/env.ts";
import { terminateCluster, TERMINATED_BEFORE_RUNNING } from "../src/jobs/terminate.ts";
import { jobIds } from "@gpumesh/queue";
import { startScheduler, type RunningScheduler, type SchedulerOptions } from "../src/scheduler.ts";
import { FlakyChainSettlement, moneyOfCluster, paidCluster, runningCluster, timeline, waitFor, waitForStatus } from "./helpers.ts";

// The renter's terminate in every state: before RUNNING it cancels and refunds in full, after it the
// lease ends at the first request's instant. Real Postgres and Redis, no repeating sweeps.
let database: TestDatabase;
let db: Db;
const silent = pino({ level: "silent" });
const HOUR = 3_600_000;

beforeAll(async () => {
  database = await createTestDatabase("terminate");
  db = createDb(database.url);
  await seedSimulatedNetwork(db, { suppliers: 16, devices: 160 });
  await db.device.updateMany({ where: { gpuCount: { gt: 0 } }, data: { status: "ONLINE", lastHeartbeatAt: new Date(), verificationScoreBps: 9_000 } });
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

async function start(chain: FlakyChainSettlement, options: SchedulerOptions = {}): Promise<RunningScheduler> {
  const redis = testRedis();
  const env = loadSchedulerEnv({
    DATABASE_URL: database.url, REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, LOG_LEVEL: "silent",
    CHAIN_RETRY_ATTEMPTS: "8", CHAIN_RETRY_DELAY_MS: "10", CHAIN_RETRY_MAX_DELAY_S: "1",
  });
  return startScheduler(env, silent, { sweeps: false, chain, ...options });
}

/** A terminate run straight against the ledger, as a second request would run it. */
function terminateAgain(scheduler: RunningScheduler, chain: FlakyChainSettlement, clusterId: string) {
  const deps = { db, chain, agents: scheduler.agents, publish: () => undefined, config: { feeBps: 500n, burnBps: 5_000n }, logger: silent };
  return terminateCluster(deps, clusterId, "terminated by the renter", new Date());
}

async function expectCancelledAndRefunded(scheduler: RunningScheduler, chain: FlakyChainSettlement, cluster: { id: string; deposit: bigint }, from: string) {
  await waitForStatus(db, cluster.id, "REFUNDED");
  expect((await timeline(db, cluster.id)).slice(-2)).toEqual([`${from}->FAILED`, "FAILED->REFUNDED"]);
  const failed = await db.clusterEvent.findFirstOrThrow({ where: { clusterId: cluster.id, toStatus: "FAILED" } });
  expect(failed.reason).toBe(TERMINATED_BEFORE_RUNNING);
  expect(await db.allocation.count({ where: { clusterId: cluster.id, status: "ACTIVE" } })).toBe(0);
  const money = await moneyOfCluster(db, cluster.id);
  expect(money.references).toEqual([`deposit:${cluster.id}`, `refund:${cluster.id}`]);
  expect(money.refund).toBe(cluster.deposit);
  expect(money.escrow).toBe(0n);
  await waitFor("the on-chain lease to be cancelled", async () => chain.cancelled.includes(cluster.id));
  // A later terminate changes nothing.
  const before = await timeline(db, cluster.id);
  await scheduler.enqueueEnd(cluster.id, "terminated by the renter");
  expect(await terminateAgain(scheduler, chain, cluster.id)).toEqual({ state: "done", status: "REFUNDED" });
  expect(await timeline(db, cluster.id)).toEqual(before);
  expect((await moneyOfCluster(db, cluster.id)).references).toEqual(money.references);
}

describe("terminate", () => {
  it("before RUNNING, in PAID: the deployment is cancelled, the deposit refunded in full and the lease cancelled on-chain", async () => {
    const cluster = await paidCluster(db, { nodes: 1 });
    await postDepositJournal(db, cluster.id); // what the payment path books
    const chain = new FlakyChainSettlement(db);
    const scheduler = await start(chain);
    try {
      await scheduler.enqueueEnd(cluster.id, "terminated by the renter");
      await expectCancelledAndRefunded(scheduler, chain, cluster, "PAID");
      expect(await db.allocation.count({ where: { clusterId: cluster.id } })).toBe(0);
    } finally {
      await scheduler.stop();
    }
  });

  it("before RUNNING, in DEPLOYING: held devices are released and revoked, the deposit refunded in full", async () => {
    const cluster = await paidCluster(db, { nodes: 2 });
    const agents = new SimulatedAgentChannel(() => ({ kind: "silent" })); // never acks: stays DEPLOYING
    const chain = new FlakyChainSettlement(db);
    const scheduler = await start(chain, { agents });
    try {
      await scheduler.enqueueDeploy(cluster.id);
      await waitForStatus(db, cluster.id, "DEPLOYING");
      const held = await db.allocation.findMany({ where: { clusterId: cluster.id, status: "ACTIVE" } });
      expect(held.length).toBe(2);
      await scheduler.enqueueEnd(cluster.id, "terminated by the renter");
      await expectCancelledAndRefunded(scheduler, chain, cluster, "DEPLOYING");
      const revoked = agents.revoked.filter((r) => r.reason === "terminated by the renter").map((r) => r.allocationId);
      expect(new Set(revoked)).toEqual(new Set(held.map((a) => a.id)));
    } finally {
      await scheduler.stop();
    }
  });

  it("before payment, in REQUESTED: closed with nothing booked", async () => {
    const cluster = await paidCluster(db, { nodes: 1 });
    await db.cluster.update({ where: { id: cluster.id }, data: { status: "REQUESTED" } });
    const chain = new FlakyChainSettlement(db);
    const scheduler = await start(chain);
    try {
      await scheduler.enqueueEnd(cluster.id, "terminated by the renter");
      await waitForStatus(db, cluster.id, "REFUNDED");
      expect(await timeline(db, cluster.id)).toEqual(["REQUESTED->FAILED", "FAILED->REFUNDED"]);
      expect((await moneyOfCluster(db, cluster.id)).references).toEqual([]);
    } finally {
      await scheduler.stop();
    }
  });

  it("racing a deployment: every cluster ends refunded or ended, with no device held and the escrow empty", async () => {
    const clusters = [];
    for (let i = 0; i < 6; i++) {
      const cluster = await paidCluster(db, { nodes: 1 });
      await postDepositJournal(db, cluster.id);
      clusters.push(cluster);
    }
    const chain = new FlakyChainSettlement(db);
    const scheduler = await start(chain);
    try {
      // Terminates land at every point of the deployment: before it starts, while matching, deploying, just running.
      await Promise.all(
        clusters.map(async (c, i) => {
          await scheduler.enqueueDeploy(c.id);
          await new Promise((resolve) => setTimeout(resolve, i * 15));
          await scheduler.enqueueEnd(c.id, "terminated by the renter");
        }),
      );
      for (const c of clusters) {
        await waitFor(`cluster ${c.id} to be over`, async () => ["REFUNDED", "ENDED"].includes((await db.cluster.findUniqueOrThrow({ where: { id: c.id } })).status));
        expect(await db.allocation.count({ where: { clusterId: c.id, status: "ACTIVE" } })).toBe(0);
        const money = await moneyOfCluster(db, c.id);
        expect(money.escrow).toBe(0n);
        expect(money.suppliers + money.treasury + money.burned + money.refund).toBe(c.deposit);
      }
    } finally {
      await scheduler.stop();
    }
  });

  it("the first request's instant is kept, and one made while it was deploying counts from its start", async () => {
    const startedAt = new Date(Math.floor((Date.now() - HOUR) / 1000) * 1000);
    const cluster = await runningCluster(db, { startedAt, durationHours: 4 });
    const first = new Date(startedAt.getTime() + 10 * 60_000);
    await recordEndRequest(db, cluster.id, first);
    await recordEndRequest(db, cluster.id, new Date(first.getTime() + 60_000));
    expect((await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } })).endRequestedAt).toEqual(first);
    const early = await runningCluster(db, { startedAt, durationHours: 4 });
    await recordEndRequest(db, early.id, new Date(startedAt.getTime() - 30_000));
    expect((await db.cluster.findUniqueOrThrow({ where: { id: early.id } })).endRequestedAt).toEqual(startedAt);
  });

  it("twice while RUNNING, the first end failing on-chain until after the second: the lease ends at the first request", async () => {
    const startedAt = new Date(Math.floor((Date.now() - 2 * HOUR) / 1000) * 1000);
    const cluster = await runningCluster(db, { startedAt, durationHours: 4 });
    const first = new Date(startedAt.getTime() + 90 * 60_000 + 17_000); // 1 h 30 min 17 s in
    let clock = first;
    const chain = new FlakyChainSettlement(db);
    chain.down = true;
    const scheduler = await start(chain, { now: () => clock });
    try {
      await scheduler.enqueueEnd(cluster.id, "terminated by the renter");
      const job = jobIds.end(cluster.id, "request");
      await waitFor("the end to exhaust its attempts", async () => {
        const j = await scheduler.queues.settle.getJob(job);
        return j !== undefined && (await j.getState()) === "failed" && j.attemptsMade >= 8;
      });
      // Twenty minutes later the renter presses terminate again; the chain is back.
      clock = new Date(first.getTime() + 20 * 60_000);
      chain.down = false;
      await scheduler.enqueueEnd(cluster.id, "terminated by the renter");
      await waitFor("end_lease", async () => chain.ended.some((e) => e.clusterId === cluster.id));
      const ended = await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
      expect(ended.status).toBe("ENDED");
      expect(ended.endRequestedAt).toEqual(first);
      expect(ended.endedAt).toEqual(first);
      expect(chain.ended.find((e) => e.clusterId === cluster.id)!.endedAt).toEqual(first);
      const lastPeriod = await db.usageRecord.aggregate({ where: { clusterId: cluster.id }, _max: { periodEnd: true } });
      expect(lastPeriod._max.periodEnd).toEqual(first);
      const money = await moneyOfCluster(db, cluster.id);
      expect(money.escrow).toBe(0n);
      expect(money.suppliers + money.treasury + money.burned + money.refund).toBe(cluster.depositAmount);
      expect(await scheduler.queues.settle.getJobState(job)).toBe("completed");
    } finally {
      await scheduler.stop();
    }
  });
});
