import { createTestDatabase, freePort, startRedis, type RunningRedis, type TestDatabase } from "@gpumesh/devstack";
import { createDb, seedSimulatedNetwork, type Db } from "@gpumesh/db";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimulatedAgentChannel } from "../src/agents.ts";
import { loadSchedulerEnv } from "../src/env.ts";
import { startScheduler } from "../src/scheduler.ts";
import { paidCluster, timeline, waitForStatus } from "./helpers.ts";

// A Redis of our own (with an append-only file, like production), restarted in the middle of a
// deployment: queued jobs survive, BullMQ reconnects, the deployment completes exactly once.
let database: TestDatabase;
let db: Db;
let redis: RunningRedis;
let dataDir: string;

beforeAll(async () => {
  database = await createTestDatabase("redis_restart");
  db = createDb(database.url);
  await seedSimulatedNetwork(db, { suppliers: 8, devices: 60 });
  await db.device.updateMany({ where: { gpuCount: { gt: 0 } }, data: { status: "ONLINE", lastHeartbeatAt: new Date(), verificationScoreBps: 9_000 } });
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "gpumesh-redis-restart-"));
  redis = await startRedis({ port: await freePort(), dataDir });
});

afterAll(async () => {
  await redis?.stop();
  await fs.rm(dataDir, { recursive: true, force: true });
  await db.$disconnect();
  await database.drop();
});

describe("Redis restart", () => {
  it("a deployment in flight survives a Redis restart", async () => {
    const cluster = await paidCluster(db, { nodes: 2 });
    // Agents answer 1.5 s after the assignment: the restart happens while their answers are due.
    const agents = new SimulatedAgentChannel(() => ({ kind: "ack", delayMs: 1_500 }));
    const env = loadSchedulerEnv({ DATABASE_URL: database.url, REDIS_URL: redis.url, QUEUE_PREFIX: "restart", LOG_LEVEL: "silent" });
    const scheduler = await startScheduler(env, pino({ level: "silent" }), { agents, sweeps: false });
    try {
      await scheduler.enqueueDeploy(cluster.id);
      await waitForStatus(db, cluster.id, "DEPLOYING");
      await redis.restart();
      await waitForStatus(db, cluster.id, "RUNNING", 30_000);
      expect(await timeline(db, cluster.id)).toEqual(["PAID->MATCHING", "MATCHING->DEPLOYING", "DEPLOYING->RUNNING"]);
      const allocations = await db.allocation.findMany({ where: { clusterId: cluster.id } });
      expect(allocations.every((a) => a.status === "ACTIVE" && a.acknowledgedAt)).toBe(true);
      expect(allocations.reduce((n, a) => n + a.gpuCount, 0)).toBe(cluster.gpuCount);
      // The queue state itself survived: the first deploy job is still recorded as completed.
      const job = await scheduler.queues.deploy.getJob(`deploy/${cluster.id}`);
      expect(await job?.getState()).toBe("completed");
    } finally {
      await scheduler.stop();
    }
  }, 60_000);
});
