import { spawn } from "node:child_process";
import path from "node:path";
import { createDb, type Db } from "@gpumesh/db";
import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { Queue, type ConnectionOptions } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "./helpers.ts";

// The production entry (src/main.ts, what `pnpm --filter @gpumesh/scheduler start` runs) drains on
// SIGTERM and SIGHUP: no new jobs, the active one finishes (or is let go after SHUTDOWN_GRACE_S), exit 0.
// A job is held active by locking the device table, which the health sweep updates.
let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase("shutdown");
  db = createDb(database.url, { max: 2 });
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

/** Holds an exclusive lock on `device` until `release()` is called. */
async function lockDevices(): Promise<{ release: () => Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const transaction = db.$transaction(
    async (tx) => {
      await tx.$executeRaw`lock table device in access exclusive mode`;
      locked();
      await released;
    },
    { timeout: 120_000 },
  );
  await isLocked;
  return {
    release: async () => {
      release();
      await transaction;
    },
  };
}

function startScheduler(redis: { url: string; prefix: string }, graceSeconds: number) {
  const { SOLANA_RPC_URL: _chain, ADMIN_PORT: _port, ...inherited } = process.env;
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: path.resolve(import.meta.dirname, ".."),
    env: {
      ...inherited,
      DATABASE_URL: database.url, REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, LOG_LEVEL: "info",
      HEALTH_SWEEP_EVERY_S: "1", SHUTDOWN_GRACE_S: String(graceSeconds), AGENT_CHANNEL: "none",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe("scheduler shutdown", () => {
  it("SIGTERM: takes no new jobs, lets the active one finish, exits 0", async () => {
    const redis = testRedis();
    const health = new Queue("health", { connection: { url: redis.url } as ConnectionOptions, prefix: redis.prefix });
    const lock = await lockDevices();
    const scheduler = startScheduler(redis, 60);
    try {
      await waitFor("a health sweep to be active (blocked on the lock)", async () => (await health.getActiveCount()) > 0, 60_000);
      // A signal during start-up would drain as well, once started; here it comes after.
      await waitFor("the scheduler to have started", async () => scheduler.output().includes("scheduler started"), 60_000);
      scheduler.child.kill("SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(scheduler.child.exitCode).toBeNull(); // draining: the job is still running
      await lock.release();
      expect(await scheduler.exited).toBe(0);
      expect(scheduler.output()).toContain('"drained":true');
      expect(await health.getActiveCount()).toBe(0);
      expect(await health.getCompletedCount()).toBeGreaterThanOrEqual(1);
    } finally {
      scheduler.child.kill("SIGKILL");
      await lock.release().catch(() => undefined);
      await health.close();
    }
  }, 120_000);

  it("SIGHUP with a job that outlasts SHUTDOWN_GRACE_S: lets go of it and exits 0 after the grace", async () => {
    const redis = testRedis();
    const health = new Queue("health", { connection: { url: redis.url } as ConnectionOptions, prefix: redis.prefix });
    const lock = await lockDevices();
    const scheduler = startScheduler(redis, 2);
    try {
      await waitFor("a health sweep to be active (blocked on the lock)", async () => (await health.getActiveCount()) > 0, 60_000);
      await waitFor("the scheduler to have started", async () => scheduler.output().includes("scheduler started"), 60_000);
      const signalled = Date.now();
      scheduler.child.kill("SIGHUP");
      expect(await scheduler.exited).toBe(0);
      expect(Date.now() - signalled).toBeGreaterThanOrEqual(1_900);
      expect(scheduler.output()).toContain("shutdown grace expired");
    } finally {
      scheduler.child.kill("SIGKILL");
      await lock.release();
      await health.close();
    }
  }, 120_000);
});
