import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { createDb, seedSimulatedNetwork, type Db } from "@gpumesh/db";
import { QueueEvents } from "bullmq";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSchedulerEnv } from "../src/env.ts";
import { sweepStaleDevices } from "../src/jobs/health.ts";
import { slashableOutages, vanishedBeyondGrace } from "../src/jobs/slash.ts";
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
    // A grace no longer than the offline deadline would slash a device for its first missed heartbeats.
    expect(() => loadSchedulerEnv({ DATABASE_URL: "postgresql://x/y", REDIS_URL: "redis://h", DEVICE_OFFLINE_AFTER_S: "900" })).toThrow(/^VANISH_GRACE_S: must be longer than DEVICE_OFFLINE_AFTER_S \(900\)/);
    expect(loadSchedulerEnv({ DATABASE_URL: "postgresql://x/y", REDIS_URL: "redis://h" }).VANISH_GRACE_S).toBe(900);
  });
});

describe("vanished mid-lease: the verdict on an outage", () => {
  const startedAt = new Date("2026-12-01T10:00:00Z");
  const at = (seconds: number) => new Date(startedAt.getTime() + seconds * 1000);
  const outage = (endedAt: Date | null, allocationId: string | null = "0b9c3a8e-6a51-4a55-9d5e-2f1b8f3c7d10") => ({ startedAt, endedAt, allocationId });

  it("slashes only an outage of a device serving a lease that lasted longer than the grace", () => {
    // Still offline: undecided until the grace has passed, vanished after.
    expect(vanishedBeyondGrace(outage(null), 900, at(900))).toBeNull();
    expect(vanishedBeyondGrace(outage(null), 900, at(901))).toBe(true);
    // Back at or before the grace: never; back after it (the sweep ran late): vanished all the same.
    expect(vanishedBeyondGrace(outage(at(900)), 900, at(5_000))).toBe(false);
    expect(vanishedBeyondGrace(outage(at(901)), 900, at(5_000))).toBe(true);
    expect(vanishedBeyondGrace(outage(at(300)), 900, at(300))).toBe(false);
    // Serving no lease when it went offline: nothing to slash for.
    expect(vanishedBeyondGrace(outage(null, null), 900, at(5_000))).toBe(false);
    // Its lease was to end within the grace anyway (gone in its last minutes): not slashed.
    expect(vanishedBeyondGrace({ ...outage(null), leaseEndsAt: at(900) }, 900, at(5_000))).toBe(false);
    expect(vanishedBeyondGrace({ ...outage(null), leaseEndsAt: at(901) }, 900, at(5_000))).toBe(true);
  });

  it("spares the outages of a mass outage: at or above the threshold of devices silent around it", () => {
    const gone = (silentAround: number) => ({ ...outage(null), silentAround });
    const back = { ...outage(at(300)), silentAround: 1 };
    const { slash, spared } = slashableOutages([gone(1), gone(9), gone(10), gone(40), back], { graceS: 900, massOutage: 10 }, at(5_000));
    expect(slash.map((o) => o.silentAround)).toEqual([1, 9]);
    expect(spared.map((o) => o.silentAround)).toEqual([10, 40]);
  });
});
