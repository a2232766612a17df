import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { createDb, seedSimulatedNetwork, type Db } from "@gpumesh/db";
import { QueueEvents } from "bullmq";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSchedulerEnv } from "../src/env.ts";
import { sweepStaleDevices } from "../src/jobs/health.ts";
import { startScheduler, type RunningScheduler } from "../src/scheduler.ts";

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase("health");
  db = createDb(database.url);
  await seedSimulatedNetwork(db, { suppliers: 12, devices: 60 });
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

describe("health sweep", () => {
  it("marks only online devices past their heartbeat deadline offline, once", async () => {
    const now = new Date();
    const device = await db.device.findFirstOrThrow({ where: { status: "ONLINE" } });
    await db.device.update({ where: { id: device.id }, data: { lastHeartbeatAt: new Date(now.getTime() - 10 * 60_000) } });
    const onlineBefore = await db.device.count({ where: { status: "ONLINE" } });
    const offline = await sweepStaleDevices(db, 300, now);
    expect(offline).toEqual([device.id]);
    expect(await db.device.count({ where: { status: "ONLINE" } })).toBe(onlineBefore - 1);
    expect(await sweepStaleDevices(db, 300, now)).toEqual([]);
  });

  it("runs as a repeating BullMQ job in the scheduler against real Redis", async () => {
    const redis = testRedis();
    const env = loadSchedulerEnv({ DATABASE_URL: database.url, REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, HEALTH_SWEEP_EVERY_S: "1", DEVICE_OFFLINE_AFTER_S: "60", LOG_LEVEL: "silent" });
    const stale = await db.device.findFirstOrThrow({ where: { status: "ONLINE" } });
    await db.device.update({ where: { id: stale.id }, data: { lastHeartbeatAt: new Date(Date.now() - 120_000) } });
    // Everything else is fresh.
    await db.device.updateMany({ where: { status: "ONLINE", NOT: { id: stale.id } }, data: { lastHeartbeatAt: new Date() } });
    let scheduler: RunningScheduler | undefined;
    const events = new QueueEvents("health", { connection: { url: redis.url }, prefix: redis.prefix });
    try {
      scheduler = await startScheduler(env, pino({ level: "silent" }));
      const completed = new Promise<unknown>((resolve) => events.on("completed", ({ returnvalue }) => resolve(returnvalue)));
      expect(await completed).toEqual({ offline: 1 });
      expect((await db.device.findUniqueOrThrow({ where: { id: stale.id } })).status).toBe("OFFLINE");
    } finally {
      await events.close();
      await scheduler?.stop();
    }
  });
});

describe("scheduler configuration", () => {
  it("names the bad variable", () => {
    expect(() => loadSchedulerEnv({ DATABASE_URL: "postgresql://x/y" })).toThrow(/^REDIS_URL: is required/);
    expect(() => loadSchedulerEnv({ DATABASE_URL: "postgresql://x/y", REDIS_URL: "redis://h", HEALTH_SWEEP_EVERY_S: "0" })).toThrow(/^HEALTH_SWEEP_EVERY_S: must be a positive integer/);
  });
});
