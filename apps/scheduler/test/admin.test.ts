import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSchedulerEnv } from "../src/env.ts";
import { startScheduler } from "../src/scheduler.ts";
import { waitFor } from "./helpers.ts";

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase("admin");
});

afterAll(async () => {
  await database.drop();
});

const TOKEN = "test-admin-token-0123456789abcdef";

describe("queue dashboard", () => {
  it("refuses to be configured without a strong token, and never echoes the token", () => {
    const base = { DATABASE_URL: "postgresql://x/y", REDIS_URL: "redis://h" };
    expect(() => loadSchedulerEnv({ ...base, ADMIN_PORT: "9100" })).toThrow(/^ADMIN_TOKEN: is required when ADMIN_PORT is set/);
    try {
      loadSchedulerEnv({ ...base, ADMIN_PORT: "9100", ADMIN_TOKEN: "short-secret" });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toBe("ADMIN_TOKEN: must be at least 24 characters");
    }
    expect(loadSchedulerEnv({ ...base, ADMIN_PORT: "9100", ADMIN_TOKEN: TOKEN }).ADMIN_PORT).toBe(9100);
  });

  it("serves queue counts and failed jobs (with reasons) behind bearer auth, and retries a failed job", async () => {
    const redis = testRedis();
    const env = loadSchedulerEnv({ DATABASE_URL: database.url, REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, LOG_LEVEL: "silent", ADMIN_TOKEN: TOKEN });
    const scheduler = await startScheduler(env, pino({ level: "silent" }), { sweeps: false, adminPort: 0 });
    try {
      const url = scheduler.adminUrl!;
      expect((await fetch(`${url}/queues`)).status).toBe(401);
      expect((await fetch(`${url}/queues`, { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
      const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
      const queues = (await (await fetch(`${url}/queues`, auth)).json()) as { name: string; counts: Record<string, number> }[];
      expect(queues.map((q) => q.name)).toEqual(["health", "deploy", "settle"]);

      await scheduler.queues.deploy.add("bogus", { clusterId: "x" }, { jobId: "bogus-1", attempts: 1 });
      await waitFor("the job to fail", async () => (await scheduler.queues.deploy.getJob("bogus-1"))?.failedReason);
      const failed = (await (await fetch(`${url}/queues/deploy/jobs?state=failed`, auth)).json()) as { id: string; failedReason: string }[];
      expect(failed).toEqual([expect.objectContaining({ id: "bogus-1", failedReason: "unknown deploy job bogus" })]);
      const retry = await fetch(`${url}/queues/deploy/jobs/bogus-1/retry`, { method: "POST", ...auth });
      expect(retry.status).toBe(200);
      expect((await fetch(`${url}/queues/nope/jobs`, auth)).status).toBe(404);
    } finally {
      await scheduler.stop();
    }
  });
});
