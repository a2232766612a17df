import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { Queue, Worker, type ConnectionOptions } from "bullmq";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAdminServer } from "../src/admin.ts";
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
const CHALLENGE = 'Basic realm="GPUMesh queues"';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const as = (authorization: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...(init.headers as Record<string, string>), authorization } });

interface BoardQueue {
  name: string;
  counts: Record<string, number>;
  jobs: { id: string; failedReason?: string; attempts: number }[];
}

describe("queue dashboard", () => {
  it("refuses to be configured without a strong token, and never echoes the token", async () => {
    const base = { DATABASE_URL: "postgresql://x/y", REDIS_URL: "redis://h" };
    expect(() => loadSchedulerEnv({ ...base, ADMIN_PORT: "9100" })).toThrow(/^ADMIN_TOKEN: is required when ADMIN_PORT is set/);
    try {
      loadSchedulerEnv({ ...base, ADMIN_PORT: "9100", ADMIN_TOKEN: "short-secret" });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toBe("ADMIN_TOKEN: must be at least 24 characters");
    }
    expect(loadSchedulerEnv({ ...base, ADMIN_PORT: "9100", ADMIN_TOKEN: TOKEN }).ADMIN_PORT).toBe(9100);
    // The server itself refuses too, whoever calls it.
    const logger = pino({ level: "silent" });
    await expect(startAdminServer({ port: 0, host: "127.0.0.1", token: undefined, queues: [], logger })).rejects.toThrow(/refusing to serve/);
    await expect(startAdminServer({ port: 0, host: "127.0.0.1", token: "short-secret", queues: [], logger })).rejects.toThrow(/refusing to serve/);
  });

  it("serves the JSON API (counts, failed jobs with reasons, retry) behind bearer or basic auth", async () => {
    const redis = testRedis();
    const env = loadSchedulerEnv({ DATABASE_URL: database.url, REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, LOG_LEVEL: "silent", ADMIN_TOKEN: TOKEN });
    const scheduler = await startScheduler(env, pino({ level: "silent" }), { sweeps: false, adminPort: 0 });
    try {
      const url = scheduler.adminUrl!;
      expect((await fetch(`${url}/queues`)).status).toBe(401);
      expect((await fetch(`${url}/queues`, as(`Bearer ${TOKEN}x`))).status).toBe(401);
      const auth = as(`Bearer ${TOKEN}`);
      const queues = (await (await fetch(`${url}/queues`, auth)).json()) as { name: string; counts: Record<string, number> }[];
      // Every queue the scheduler runs, whatever queues it has gained since this test was written.
      const running = Object.values(scheduler.queues).map((q) => q.name).sort();
      expect(running).toEqual(expect.arrayContaining(["health", "deploy", "settle"]));
      expect(queues.map((q) => q.name).sort()).toEqual(running);
      const viaBasic = (await (await fetch(`${url}/queues`, as(basic("ops", TOKEN)))).json()) as { name: string }[];
      expect(viaBasic.map((q) => q.name).sort()).toEqual(running);

      await scheduler.queues.deploy.add("bogus", { clusterId: "x" }, { jobId: "bogus-1", attempts: 1 });
      await waitFor("the job to fail", async () => (await scheduler.queues.deploy.getJob("bogus-1"))?.failedReason);
      const failed = (await (await fetch(`${url}/queues/deploy/jobs?state=failed`, auth)).json()) as { id: string; failedReason: string }[];
      expect(failed).toEqual([expect.objectContaining({ id: "bogus-1", failedReason: "unknown deploy job bogus" })]);
      expect((await fetch(`${url}/queues/deploy/jobs?state=bogus`, auth)).status).toBe(400);
      const retry = await fetch(`${url}/queues/deploy/jobs/bogus-1/retry`, { method: "POST", ...auth });
      expect(retry.status).toBe(200);
      expect((await fetch(`${url}/queues/nope/jobs`, auth)).status).toBe(404);
    } finally {
      await scheduler.stop();
    }
  });

  it("serves Bull Board for every queue it is given, behind auth on every path, and retries a failed job through it", async () => {
    const redis = testRedis();
    const connection = { url: redis.url, maxRetriesPerRequest: null } as ConnectionOptions;
    // Queue names the scheduler does not have yet: nothing about the board may be tied to today's queues.
    const verify = new Queue("verify", { connection, prefix: redis.prefix });
    const rewards = new Queue("rewards", { connection, prefix: redis.prefix });
    let attestationBroken = true;
    const worker = new Worker(
      "verify",
      async () => {
        if (attestationBroken) throw new Error("attestation mismatch on GPU 3");
        return "verified";
      },
      { connection, prefix: redis.prefix },
    );
    const admin = await startAdminServer({ port: 0, host: "127.0.0.1", token: TOKEN, queues: [verify, rewards], logger: pino({ level: "silent" }) });
    try {
      const url = admin.url;
      await rewards.add("epoch", { epoch: 7 }, { delay: 60_000 });
      await verify.add("attest", { deviceId: "dev-1" }, { jobId: "attest-1" });
      await waitFor("the attestation to fail", async () => (await verify.getJob("attest-1"))?.failedReason);

      // Without the token, nothing: not the page, not its files, not its API, not the JSON API.
      const wrong = [undefined, `Bearer ${TOKEN}x`, basic("admin", `${TOKEN}x`), basic(TOKEN, ""), `Basic ${TOKEN}`, TOKEN];
      for (const path of ["/", "/queue/verify", "/static/images/logo.svg", "/api/queues", "/api/queues/verify/attest-1", "/queues", "/nope"]) {
        for (const authorization of wrong) {
          const res = await fetch(`${url}${path}`, authorization === undefined ? {} : as(authorization));
          expect(res.status, `${path} with ${authorization ?? "no credentials"}`).toBe(401);
          expect(res.headers.get("www-authenticate")).toBe(CHALLENGE);
          const body = await res.text();
          expect(body).not.toMatch(/verify|rewards|attest|at .*\.[jt]s/);
        }
      }
      const unauthorizedRetry = await fetch(`${url}/api/queues/verify/attest-1/retry`, { method: "PUT" });
      expect(unauthorizedRetry.status).toBe(401);
      expect(await verify.getJobState("attest-1")).toBe("failed");

      // A browser (Basic) and a script (Bearer) both get the real UI.
      for (const authorization of [basic("admin", TOKEN), basic("", TOKEN), `Bearer ${TOKEN}`, `bearer ${TOKEN}`]) {
        const page = await fetch(`${url}/`, as(authorization));
        expect(page.status, authorization).toBe(200);
        expect(page.headers.get("content-type")).toMatch(/^text\/html/);
        expect(page.headers.get("x-frame-options")).toBe("DENY");
        expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
        expect(page.headers.get("x-powered-by")).toBeNull();
        const html = await page.text();
        expect(html).toContain("<title>GPUMesh queues</title>");
        const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(html)?.[1];
        expect(script).toBeDefined();
        const asset = await fetch(`${url}/${script}`, as(authorization));
        expect(asset.status).toBe(200);
        expect(asset.headers.get("content-type")).toMatch(/javascript/);
        expect(asset.headers.get("cache-control")).toBe("private, no-cache");
        expect((await asset.text()).length).toBeGreaterThan(1000);
      }
      const auth = as(basic("admin", TOKEN));
      expect((await fetch(`${url}/queue/verify/attest-1`, auth)).status).toBe(200);

      // Bull Board's API: every queue with its counts, and the failed job with its reason.
      const listing = await fetch(`${url}/api/queues?activeQueue=verify&status=failed&page=1`, auth);
      expect(listing.status).toBe(200);
      expect(listing.headers.get("cache-control")).toBe("no-store");
      const { queues } = (await listing.json()) as { queues: BoardQueue[] };
      expect(queues.map((q) => q.name)).toEqual(["verify", "rewards"]);
      const byName = Object.fromEntries(queues.map((q) => [q.name, q]));
      expect(byName.verify!.counts).toMatchObject({ failed: 1, completed: 0 });
      expect(byName.rewards!.counts).toMatchObject({ delayed: 1, failed: 0 });
      expect(byName.verify!.jobs).toEqual([expect.objectContaining({ id: "attest-1", failedReason: "attestation mismatch on GPU 3" })]);

      // Browsers replay Basic credentials on requests other sites trigger: a cross-site write is refused.
      const forged = await fetch(`${url}/api/queues/verify/attest-1/retry`, as(basic("admin", TOKEN), { method: "PUT", headers: { "sec-fetch-site": "cross-site" } }));
      expect(forged.status).toBe(403);
      expect(await verify.getJobState("attest-1")).toBe("failed");

      // Retrying through the board (as its UI does) runs the job again; fixed, it now completes.
      attestationBroken = false;
      const retry = await fetch(`${url}/api/queues/verify/attest-1/retry`, as(basic("admin", TOKEN), { method: "PUT", headers: { "sec-fetch-site": "same-origin" } }));
      expect(retry.status).toBe(204);
      await waitFor("the retried attestation to complete", async () => (await verify.getJobState("attest-1")) === "completed");
      const after = (await (await fetch(`${url}/api/queues`, auth)).json()) as { queues: BoardQueue[] };
      expect(after.queues.find((q) => q.name === "verify")!.counts).toMatchObject({ failed: 0, completed: 1 });
    } finally {
      await admin.close();
      await worker.close();
      await Promise.all([verify.close(), rewards.close()]);
    }
  });
});
