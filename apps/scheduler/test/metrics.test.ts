import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { createDb, seedSimulatedNetwork, type Db } from "@gpumesh/db";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimulatedAgentChannel } from "../src/agents.ts";
import { RecordingChainSettlement } from "../src/chain.ts";
import { loadSchedulerEnv } from "../src/env.ts";
import { startScheduler } from "../src/scheduler.ts";
import { paidCluster, waitFor, waitForStatus } from "./helpers.ts";

// GET /metrics after real work: a cluster deployed to RUNNING, a job that failed, a job left waiting.
let database: TestDatabase;
let db: Db;
const TOKEN = "test-metrics-token-0123456789abcdef";

beforeAll(async () => {
  database = await createTestDatabase("metrics");
  db = createDb(database.url);
  await seedSimulatedNetwork(db, { suppliers: 8, devices: 80 });
  await db.device.updateMany({ where: { gpuCount: { gt: 0 } }, data: { status: "ONLINE", lastHeartbeatAt: new Date(), verificationScoreBps: 9_000 } });
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(body: string): Sample[] {
  return body
    .split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not an exposition line: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe("scheduler metrics", () => {
  it("serves queue depths and ages, job latencies and failures, reservations, devices by status and reconciliation mismatches behind the admin token", async () => {
    const redis = testRedis();
    const env = loadSchedulerEnv({ DATABASE_URL: database.url, REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, LOG_LEVEL: "silent", ADMIN_TOKEN: TOKEN });
    const scheduler = await startScheduler(env, pino({ level: "silent" }), { sweeps: false, adminPort: 0, agents: new SimulatedAgentChannel(), chain: new RecordingChainSettlement(db) });
    try {
      // One reconciliation that disagreed (the reconcile job's verdict row) and one that agreed.
      const [bad, good] = [await paidCluster(db, { nodes: 1 }), await paidCluster(db, { nodes: 1 })];
      await db.$executeRaw`insert into lease_reconciliation (cluster_id, ok, mismatches) values (${bad.id}::uuid, false, '[{"what":"refund"}]'::jsonb), (${good.id}::uuid, true, '[]'::jsonb)`;
      await db.cluster.updateMany({ where: { id: { in: [bad.id, good.id] } }, data: { status: "FAILED" } });

      const cluster = await paidCluster(db, { nodes: 2 });
      await scheduler.enqueueDeploy(cluster.id);
      await waitForStatus(db, cluster.id, "RUNNING");
      await scheduler.queues.deploy.add("bogus", { clusterId: "x" }, { jobId: "bogus-1", attempts: 1 });
      await waitFor("the bogus job to fail", async () => (await scheduler.queues.deploy.getJob("bogus-1"))?.failedReason);
      // No worker takes index jobs without a chain: this one waits.
      await scheduler.queues.index.add("pass", {}, { jobId: "waiting-1" });
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await scheduler.queues.index.add("pass", {}, { jobId: "waiting-2" }); // newer: the age is the older one's

      const url = `${scheduler.adminUrl!}/metrics`;
      expect((await fetch(url)).status).toBe(401);
      const response = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const samples = parse(await response.text());

      // Reservations: one gang of two devices for a new cluster.
      expect(value(samples, "gpumesh_gang_reservations_total", { kind: "new" })).toBe(1);
      expect(value(samples, "gpumesh_gang_reservations_total", { kind: "replacement" })).toBe(0);
      expect(value(samples, "gpumesh_reserved_devices_total")).toBe(2);
      expect(value(samples, "gpumesh_reservation_races_lost_total")).toBe(0);

      // Job latencies per queue: the deploy steps completed, in plausible time.
      const deployed = value(samples, "gpumesh_job_duration_seconds_count", { queue: "deploy", outcome: "completed" });
      expect(deployed).toBeGreaterThanOrEqual(1);
      const deployedSeconds = samples.filter((s) => s.name === "gpumesh_job_duration_seconds_sum" && s.labels.queue === "deploy" && s.labels.outcome === "completed").reduce((n, s) => n + s.value, 0);
      expect(deployedSeconds).toBeGreaterThan(0);
      expect(deployedSeconds).toBeLessThan(30);
      expect(value(samples, "gpumesh_job_duration_seconds_bucket", { queue: "deploy", name: "deploy", outcome: "completed", le: "+Inf" })).toBeGreaterThanOrEqual(1);
      expect(value(samples, "gpumesh_job_wait_seconds_count", { queue: "deploy", name: "deploy" })).toBe(1);

      // Failures: the bogus job, final (one attempt allowed).
      expect(value(samples, "gpumesh_job_failures_total", { queue: "deploy", name: "bogus", final: "true" })).toBe(1);
      expect(value(samples, "gpumesh_job_duration_seconds_count", { queue: "deploy", name: "bogus", outcome: "failed" })).toBe(1);

      // Queue depths and ages: every queue reported; the index job waits for over a second, deploy has nothing waiting.
      for (const queue of ["health", "deploy", "settle", "verify", "index", "rewards"]) expect(value(samples, "gpumesh_queue_jobs", { queue, state: "waiting" })).toBeDefined();
      expect(value(samples, "gpumesh_queue_jobs", { queue: "index", state: "waiting" })).toBe(2);
      expect(value(samples, "gpumesh_queue_jobs", { queue: "deploy", state: "failed" })).toBe(1);
      const age = value(samples, "gpumesh_queue_oldest_waiting_seconds", { queue: "index" })!;
      expect(age).toBeGreaterThanOrEqual(1);
      expect(age).toBeLessThan(60);
      expect(value(samples, "gpumesh_queue_oldest_waiting_seconds", { queue: "deploy" })).toBe(0);

      // Devices by status, as Postgres has them.
      const byStatus = await db.device.groupBy({ by: ["status"], _count: true });
      for (const row of byStatus) expect(value(samples, "gpumesh_devices", { status: row.status })).toBe(row._count);
      expect(value(samples, "gpumesh_devices", { status: "SUSPENDED" })).toBe(byStatus.find((r) => r.status === "SUSPENDED")?._count ?? 0);

      expect(value(samples, "gpumesh_reconciliation_mismatches")).toBe(1);
      // No chain here: nothing indexed, nothing missed; the series is there for alerts from the start.
      expect(value(samples, "gpumesh_chain_transactions_missed_total")).toBe(0);
      // Heartbeats were set fresh in beforeAll (seconds ago), the seed's REGISTERED devices do not count.
      const heartbeatAge = value(samples, "gpumesh_online_oldest_heartbeat_seconds")!;
      expect(heartbeatAge).toBeGreaterThan(0);
      expect(heartbeatAge).toBeLessThan(120);
      // Process metrics come along.
      expect(value(samples, "gpumesh_scheduler_process_resident_memory_bytes")).toBeGreaterThan(0);
    } finally {
      await scheduler.stop();
    }
  }, 60_000);
});
