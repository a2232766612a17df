import { clusterEventChannel, type ClusterTransitionEvent } from "@gpumesh/core";
import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { countDoubleBookings, createDb, seedSimulatedNetwork, type Db } from "@gpumesh/db";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimulatedAgentChannel, type AgentChannel, type SimulatedBehaviour } from "../src/agents.ts";
import { RecordingChainSettlement } from "../src/chain.ts";
import { loadSchedulerEnv } from "../src/env.ts";
import { startScheduler, type RunningScheduler, type SchedulerOptions } from "../src/scheduler.ts";
import { moneyOfCluster, paidCluster, timeline, waitFor, waitForStatus } from "./helpers.ts";

// The deploy workflow end to end: real Postgres, real Redis, BullMQ workers, simulated agents.
let database: TestDatabase;
let db: Db;
const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

beforeAll(async () => {
  database = await createTestDatabase("deploy");
  db = createDb(database.url);
  await seedSimulatedNetwork(db, { suppliers: 24, devices: 300 });
  // Everything online and fresh, verified enough: the tests pick buckets from it.
  await db.device.updateMany({ where: { gpuCount: { gt: 0 } }, data: { status: "ONLINE", lastHeartbeatAt: new Date(), verificationScoreBps: 9_000 } });
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

async function start(extraEnv: Record<string, string> = {}, options: SchedulerOptions = {}, redis = testRedis()): Promise<RunningScheduler> {
  const env = loadSchedulerEnv({ DATABASE_URL: database.url, REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, LOG_LEVEL: "silent", DEPLOY_CONCURRENCY: "4", ...extraEnv });
  return startScheduler(env, silent, { sweeps: false, ...options });
}

describe("deploy workflow", () => {
  it("takes a paid cluster to running with acknowledging agents, streams each step, then ends it with settlement and refund", async () => {
    const redis = testRedis();
    const cluster = await paidCluster(db, { nodes: 2 });
    const subscriber = new Redis(redis.url);
    const streamed: ClusterTransitionEvent[] = [];
    await subscriber.subscribe(clusterEventChannel(cluster.id));
    subscriber.on("message", (_channel, message: string) => streamed.push(JSON.parse(message) as ClusterTransitionEvent));
    const agents = new SimulatedAgentChannel();
    const chain = new RecordingChainSettlement(db);
    const scheduler = await start({}, { agents, chain }, redis);
    try {
      await scheduler.enqueueDeploy(cluster.id);
      await scheduler.enqueueDeploy(cluster.id); // the payment path may call twice: one job
      await waitForStatus(db, cluster.id, "RUNNING");
      const running = await db.cluster.findUniqueOrThrow({ where: { id: cluster.id }, include: { allocations: true } });
      expect(await timeline(db, cluster.id)).toEqual(["PAID->MATCHING", "MATCHING->DEPLOYING", "DEPLOYING->RUNNING"]);
      expect(running.allocations.reduce((n, a) => n + a.gpuCount, 0)).toBe(cluster.gpuCount);
      expect(running.allocations.every((a) => a.status === "ACTIVE" && a.acknowledgedAt !== null)).toBe(true);
      expect(running.endsAt!.getTime() - running.startedAt!.getTime()).toBe(4 * 3_600_000);
      expect(running.allocations.every((a) => a.endsAt.getTime() === running.endsAt!.getTime())).toBe(true);
      expect(new Set(agents.assigned.map((a) => a.allocationId))).toEqual(new Set(running.allocations.map((a) => a.id)));
      await waitFor("streamed events", async () => streamed.length >= 3);
      expect(streamed.map((e) => e.to)).toEqual(["MATCHING", "DEPLOYING", "RUNNING"]);

      // The renter terminates early: final (partial) settlement, refund of the rest, devices released.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await scheduler.enqueueEnd(cluster.id, "terminated by the renter");
      await waitForStatus(db, cluster.id, "ENDED");
      expect(await timeline(db, cluster.id)).toEqual(["PAID->MATCHING", "MATCHING->DEPLOYING", "DEPLOYING->RUNNING", "RUNNING->ENDING", "ENDING->ENDED"]);
      expect(await db.allocation.count({ where: { clusterId: cluster.id, status: "ACTIVE" } })).toBe(0);
      const money = await moneyOfCluster(db, cluster.id);
      expect(money.escrow).toBe(0n);
      expect(money.suppliers + money.treasury + money.burned + money.refund).toBe(cluster.deposit);
      expect(money.refund).toBeGreaterThan(0n);
      expect(money.references.filter((r) => r.startsWith("settle:"))).toHaveLength(1);
      // The lease sync runs right after the ENDED commit: wait for it rather than race it.
      await waitFor("the lease synced after the end", async () => chain.ended.length === 1);
      expect(chain.ended).toHaveLength(1);
      expect(chain.ended[0]!.refund).toBe(money.refund);
      await waitFor("streamed end", async () => streamed.at(-1)?.to === "ENDED");
    } finally {
      await subscriber.quit();
      await scheduler.stop();
    }
  });

  it("replaces a node whose agent refuses, and one that never answers", async () => {
    const cluster = await paidCluster(db, { nodes: 2 });
    let calls = 0;
    const seen = new Map<string, SimulatedBehaviour>();
    const agents = new SimulatedAgentChannel((assignment) => {
      // First assignment refused, second silent (times out), everything after acks.
      const known = seen.get(assignment.allocationId);
      if (known) return known;
      calls++;
      const behaviour: SimulatedBehaviour = calls === 1 ? { kind: "refuse", reason: "GPU busy" } : calls === 2 ? { kind: "silent" } : { kind: "ack" };
      seen.set(assignment.allocationId, behaviour);
      return behaviour;
    });
    // A 3 s deadline: long enough that an acking agent on a loaded CI machine is never late.
    const scheduler = await start({ DEPLOY_ACK_TIMEOUT_S: "3", DEPLOY_MAX_REPLACEMENTS: "3" }, { agents });
    try {
      await scheduler.enqueueDeploy(cluster.id);
      await waitForStatus(db, cluster.id, "RUNNING");
      const allocations = await db.allocation.findMany({ where: { clusterId: cluster.id }, orderBy: { createdAt: "asc" } });
      const released = allocations.filter((a) => a.status === "RELEASED").map((a) => a.releaseReason!.split(":")[0]);
      // Which node gets which behaviour depends on timing (answers race with later assignments), but
      // both kinds of loss happen and each lost node was replaced exactly once.
      expect(new Set(released)).toEqual(new Set(["ack-timeout", "refused"]));
      expect(allocations.filter((a) => a.status === "ACTIVE").reduce((n, a) => n + a.gpuCount, 0)).toBe(cluster.gpuCount);
      // Replacements never reuse a device the cluster gave up.
      expect(new Set(allocations.map((a) => a.deviceId)).size).toBe(allocations.length);
      const steps = await timeline(db, cluster.id);
      expect(steps[0]).toBe("PAID->MATCHING");
      expect(steps.filter((s) => s === "DEPLOYING->MATCHING")).toHaveLength(released.length);
      expect(steps.at(-1)).toBe("DEPLOYING->RUNNING");
      expect(agents.revoked.map((r) => r.reason)).toContain("acknowledgement deadline passed");
    } finally {
      await scheduler.stop();
    }
  });

  it("fails and refunds the whole deposit when replacements run out", async () => {
    const cluster = await paidCluster(db, { nodes: 1 });
    const agents = new SimulatedAgentChannel(() => ({ kind: "refuse", reason: "maintenance" }));
    const scheduler = await start({ DEPLOY_MAX_REPLACEMENTS: "1" }, { agents });
    try {
      await scheduler.enqueueDeploy(cluster.id);
      await waitForStatus(db, cluster.id, "REFUNDED");
      const steps = await timeline(db, cluster.id);
      expect(steps.slice(-2)).toEqual(["DEPLOYING->FAILED", "FAILED->REFUNDED"]);
      expect(await db.allocation.count({ where: { clusterId: cluster.id, status: "ACTIVE" } })).toBe(0);
      expect(await db.allocation.count({ where: { clusterId: cluster.id } })).toBe(2); // first node + one replacement
      const money = await moneyOfCluster(db, cluster.id);
      expect(money.references).toEqual([`deposit:${cluster.id}`, `refund:${cluster.id}`]);
      expect(money.refund).toBe(cluster.deposit);
      expect(money.escrow).toBe(0n);
      const failed = await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
      expect(failed.endedAt).not.toBeNull();
    } finally {
      await scheduler.stop();
    }
  });

  it("fails with the matcher's reason when nothing fits", async () => {
    const cluster = await paidCluster(db, { nodes: 1 });
    await db.cluster.update({ where: { id: cluster.id }, data: { gpuCount: 1024 } });
    const scheduler = await start();
    try {
      await scheduler.enqueueDeploy(cluster.id);
      await waitForStatus(db, cluster.id, "REFUNDED");
      const failed = await db.clusterEvent.findFirstOrThrow({ where: { clusterId: cluster.id, toStatus: "FAILED" } });
      expect(failed.reason).toMatch(/^no placement: /);
      expect(await db.allocation.count({ where: { clusterId: cluster.id } })).toBe(0);
    } finally {
      await scheduler.stop();
    }
  });

  it("resumes a deployment whose worker was killed mid-deploy: no duplicate allocations or journals", async () => {
    const redis = testRedis();
    const cluster = await paidCluster(db, { nodes: 2 });
    // Worker A reserves, then hangs while handing out assignments (a process that froze or died).
    let hung = 0;
    const hanging: AgentChannel = {
      assign: () => {
        hung++;
        return new Promise<void>(() => undefined);
      },
      revoke: async () => undefined,
      onResponse: () => undefined,
      close: async () => undefined,
    };
    const fast = { lockDuration: 1_500, stalledInterval: 500 };
    const a = await start({}, { agents: hanging, workerOptions: fast }, redis);
    await a.enqueueDeploy(cluster.id);
    await waitFor("worker A to hang in assign", async () => hung > 0);
    expect((await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } })).status).toBe("DEPLOYING");
    const reserved = await db.allocation.findMany({ where: { clusterId: cluster.id } });
    await a.stop({ force: true });

    const agents = new SimulatedAgentChannel();
    const b = await start({}, { agents, workerOptions: fast }, redis);
    try {
      await waitForStatus(db, cluster.id, "RUNNING", 30_000);
      const allocations = await db.allocation.findMany({ where: { clusterId: cluster.id } });
      expect(allocations.map((x) => x.id).sort()).toEqual(reserved.map((x) => x.id).sort());
      expect(allocations.every((x) => x.status === "ACTIVE" && x.acknowledgedAt)).toBe(true);
      expect((await moneyOfCluster(db, cluster.id)).references).toEqual([`deposit:${cluster.id}`]);
      expect(await timeline(db, cluster.id)).toEqual(["PAID->MATCHING", "MATCHING->DEPLOYING", "DEPLOYING->RUNNING"]);
      expect(await countDoubleBookings(db)).toBe(0);
    } finally {
      await b.stop();
    }
  });

  it.each(["live", "read"] as const)("races many deployments from several schedulers without double booking (placement: %s)", async (placement) => {
    const redis = testRedis();
    const clusters = [];
    for (let i = 0; i < 12; i++) clusters.push(await paidCluster(db, { nodes: 1 }));
    const schedulers = await Promise.all([0, 1, 2].map(() => start({ PLACEMENT: placement }, { agents: new SimulatedAgentChannel() }, redis)));
    try {
      // Each process places from its own index once loaded (before that it reads candidates).
      if (placement === "live") await waitFor("placement indexes loaded", async () => schedulers.every((s) => s.placement?.ready), 10_000);
      else expect(schedulers.every((s) => s.placement === null)).toBe(true);
      await Promise.all(clusters.map((c, i) => schedulers[i % 3]!.enqueueDeploy(c.id)));
      for (const c of clusters) {
        await waitFor(`cluster ${c.id} settled`, async () => ["RUNNING", "REFUNDED"].includes((await db.cluster.findUniqueOrThrow({ where: { id: c.id } })).status), 30_000);
      }
      expect(await countDoubleBookings(db)).toBe(0);
      for (const c of clusters) {
        const active = await db.allocation.aggregate({ where: { clusterId: c.id, status: "ACTIVE" }, _sum: { gpuCount: true } });
        const status = (await db.cluster.findUniqueOrThrow({ where: { id: c.id } })).status;
        expect(active._sum.gpuCount ?? 0).toBe(status === "RUNNING" ? c.gpuCount : 0);
      }
      if (placement === "live") {
        // Every process's index agrees with Postgres on which devices are taken, its own reservations
        // and the other processes' alike.
        const taken = new Set((await db.allocation.findMany({ where: { status: "ACTIVE", endsAt: { gt: new Date() } }, select: { deviceId: true } })).map((a) => a.deviceId));
        const devices = await db.device.findMany({ where: { gpuCount: { gt: 0 } }, select: { id: true } });
        for (const scheduler of schedulers) {
          await scheduler.placement!.settled();
          const disagree = devices.filter((d) => scheduler.placement!.state(d.id)?.reserved !== taken.has(d.id));
          expect(disagree).toEqual([]);
        }
      }
    } finally {
      await Promise.all(schedulers.map((s) => s.stop()));
    }
  }, 60_000);

  it("health: a running cluster that loses a node goes DEGRADED, gets a replacement and runs again", async () => {
    const cluster = await paidCluster(db, { nodes: 2 });
    const scheduler = await start({ DEVICE_OFFLINE_AFTER_S: "60" }, { agents: new SimulatedAgentChannel() });
    try {
      await scheduler.enqueueDeploy(cluster.id);
      await waitForStatus(db, cluster.id, "RUNNING");
      const [victim] = await db.allocation.findMany({ where: { clusterId: cluster.id, status: "ACTIVE" }, orderBy: { deviceId: "asc" } });
      await db.device.updateMany({ where: { status: "ONLINE" }, data: { lastHeartbeatAt: new Date() } });
      await db.device.update({ where: { id: victim!.deviceId }, data: { lastHeartbeatAt: new Date(Date.now() - 120_000) } });
      await scheduler.queues.health.add("sweep", {});
      await waitFor("degraded and back", async () => (await timeline(db, cluster.id)).includes("DEGRADED->RUNNING"));
      expect((await timeline(db, cluster.id)).slice(-2)).toEqual(["RUNNING->DEGRADED", "DEGRADED->RUNNING"]);
      const allocations = await db.allocation.findMany({ where: { clusterId: cluster.id } });
      expect(allocations.find((a) => a.id === victim!.id)).toMatchObject({ status: "RELEASED", releaseReason: expect.stringMatching(/^offline: /) });
      const active = allocations.filter((a) => a.status === "ACTIVE");
      expect(active.reduce((n, a) => n + a.gpuCount, 0)).toBe(cluster.gpuCount);
      expect(active.map((a) => a.deviceId)).not.toContain(victim!.deviceId);
      const running = await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
      // The replacement serves until the lease's end, which does not move.
      expect(active.every((a) => a.endsAt.getTime() === running.endsAt!.getTime())).toBe(true);
    } finally {
      await scheduler.stop();
    }
  });

  it("a RAY cluster gets one head and N−1 workers naming it; a lost head's replacement is the new head and the workers stay workers", async () => {
    const cluster = await paidCluster(db, { nodes: 3 });
    const other = await paidCluster(db, { nodes: 2 });
    await db.cluster.update({ where: { id: other.id }, data: { type: "CONTAINER" } });
    const agents = new SimulatedAgentChannel();
    const scheduler = await start({ DEVICE_OFFLINE_AFTER_S: "60" }, { agents });
    const rolesSent = (allocationId: string) => new Set(agents.assigned.filter((a) => a.allocationId === allocationId).map((a) => JSON.stringify(a.ray ?? null)));
    try {
      await scheduler.enqueueDeploy(cluster.id);
      await scheduler.enqueueDeploy(other.id);
      await waitForStatus(db, cluster.id, "RUNNING");
      const gang = await db.allocation.findMany({ where: { clusterId: cluster.id, status: "ACTIVE" }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
      expect(gang).toHaveLength(3);
      // The head: the first of the gang by (created_at, id); every assignment of it (resends too) says so.
      const [head, ...workers] = gang;
      expect(gang.map((a) => a.rayRole)).toEqual(["HEAD", "WORKER", "WORKER"]);
      expect(rolesSent(head!.id)).toEqual(new Set([JSON.stringify({ role: "head" })]));
      for (const worker of workers) expect(rolesSent(worker.id)).toEqual(new Set([JSON.stringify({ role: "worker", headAllocationId: head!.id })]));
      // Other cluster types carry no role.
      await waitForStatus(db, other.id, "RUNNING");
      const plain = agents.assigned.filter((a) => a.clusterId === other.id);
      expect(plain.length).toBeGreaterThanOrEqual(2);
      expect(plain.every((a) => a.ray === undefined)).toBe(true);
      expect(await db.allocation.count({ where: { clusterId: other.id, rayRole: { not: null } } })).toBe(0);

      // The head's device goes offline: its replacement is the new head; the workers keep their role
      // (their agents are told the new head's address by the gateway, not by a new assignment).
      await db.device.updateMany({ where: { status: "ONLINE" }, data: { lastHeartbeatAt: new Date() } });
      await db.device.update({ where: { id: head!.deviceId }, data: { lastHeartbeatAt: new Date(Date.now() - 120_000) } });
      await scheduler.queues.health.add("sweep", {});
      await waitFor("degraded and back", async () => (await timeline(db, cluster.id)).includes("DEGRADED->RUNNING"));
      const after = await db.allocation.findMany({ where: { clusterId: cluster.id, status: "ACTIVE" } });
      const replacement = after.find((a) => !gang.some((g) => g.id === a.id))!;
      expect(replacement.rayRole).toBe("HEAD");
      expect(after.filter((a) => a.rayRole === "HEAD").map((a) => a.id)).toEqual([replacement.id]);
      expect(rolesSent(replacement.id)).toEqual(new Set([JSON.stringify({ role: "head" })]));
      for (const worker of workers) {
        expect(after.find((a) => a.id === worker.id)?.rayRole).toBe("WORKER");
        expect(rolesSent(worker.id)).toEqual(new Set([JSON.stringify({ role: "worker", headAllocationId: head!.id })]));
      }
    } finally {
      await scheduler.stop();
    }
  });

  it("health: without a replacement the lease ends early and the unused time is refunded", async () => {
    const cluster = await paidCluster(db, { nodes: 1 });
    const scheduler = await start({ DEVICE_OFFLINE_AFTER_S: "60" }, { agents: new SimulatedAgentChannel() });
    const suspended: string[] = [];
    try {
      await scheduler.enqueueDeploy(cluster.id);
      await waitForStatus(db, cluster.id, "RUNNING");
      const [victim] = await db.allocation.findMany({ where: { clusterId: cluster.id, status: "ACTIVE" } });
      // Nothing else of that model is available.
      const others = await db.device.findMany({ where: { gpuModelId: cluster.gpuModelId, status: "ONLINE", NOT: { id: victim!.deviceId } }, select: { id: true } });
      suspended.push(...others.map((d) => d.id));
      await db.device.updateMany({ where: { id: { in: suspended } }, data: { status: "SUSPENDED" } });
      await db.device.updateMany({ where: { status: "ONLINE" }, data: { lastHeartbeatAt: new Date() } });
      await db.device.update({ where: { id: victim!.deviceId }, data: { lastHeartbeatAt: new Date(Date.now() - 120_000) } });
      await scheduler.queues.health.add("sweep", {});
      await waitForStatus(db, cluster.id, "ENDED");
      expect((await timeline(db, cluster.id)).slice(-3)).toEqual(["RUNNING->DEGRADED", "DEGRADED->ENDING", "ENDING->ENDED"]);
      const ending = await db.clusterEvent.findFirstOrThrow({ where: { clusterId: cluster.id, toStatus: "ENDING" } });
      expect(ending.reason).toMatch(/^no replacement for a lost node \(no placement for a replacement: /);
      const money = await moneyOfCluster(db, cluster.id);
      expect(money.escrow).toBe(0n);
      expect(money.refund).toBeGreaterThan((cluster.deposit * 99n) / 100n); // it ran for seconds of its 4 hours
      expect(money.suppliers + money.treasury + money.burned + money.refund).toBe(cluster.deposit);
    } finally {
      await db.device.updateMany({ where: { id: { in: suspended } }, data: { status: "ONLINE", lastHeartbeatAt: new Date() } });
      await scheduler.stop();
    }
  });
});
