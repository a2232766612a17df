import { generateDeviceKey } from "@gpumesh/agent-protocol";
import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { randomBytes } from "node:crypto";
import { createDb, sealWorkloadAtRest, seedSimulatedNetwork, type Db } from "@gpumesh/db";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimulatedAgentChannel } from "../src/agents.ts";
import { loadSchedulerEnv } from "../src/env.ts";
import { startScheduler, type RunningScheduler, type SchedulerOptions } from "../src/scheduler.ts";
import { paidCluster, timeline, waitForStatus } from "./helpers.ts";

// A cluster that brings a workload is deployed only on devices whose agents run images: a process-runtime
// agent would refuse it (apps/agent runtime/process.ts), costing the cluster a replacement each time.
let database: TestDatabase;
let db: Db;
const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const workload = { image: "ghcr.io/acme/train:2", env: { EPOCHS: "3" } };

beforeAll(async () => {
  database = await createTestDatabase("runtime_placement");
  db = createDb(database.url);
  await seedSimulatedNetwork(db, { suppliers: 12, devices: 160 });
  await db.device.updateMany({ where: { gpuCount: { gt: 0 } }, data: { status: "ONLINE", lastHeartbeatAt: new Date(), verificationScoreBps: 9_000 } });
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

async function start(extraEnv: Record<string, string> = {}, options: SchedulerOptions = {}): Promise<RunningScheduler> {
  const redis = testRedis();
  const env = loadSchedulerEnv({ DATABASE_URL: database.url, REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, LOG_LEVEL: "silent", ...extraEnv });
  return startScheduler(env, silent, { sweeps: false, ...options });
}

/** Agents as the runtimes answer: a device that does not run images refuses an assignment with a workload. */
function agentsOf(processRuntime: ReadonlySet<string>): SimulatedAgentChannel {
  return new SimulatedAgentChannel((assignment) =>
    assignment.workload && processRuntime.has(assignment.deviceId) ? { kind: "refuse", reason: "this device runs its owner's command, not renters' images" } : { kind: "ack", delayMs: 20 },
  );
}

describe("deploying a cluster with a workload", () => {
  it("reserves only devices that run images, even when process-runtime devices are cheaper", async () => {
    const cluster = await paidCluster(db, { nodes: 2 });
    await db.cluster.update({ where: { id: cluster.id }, data: { workload } });
    // In the cluster's market, only the two dearest devices of its size run images.
    const market = await db.device.findMany({ where: { gpuModelId: cluster.gpuModelId, region: cluster.region, status: "ONLINE" }, orderBy: [{ pricePerGpuHour: "desc" }, { id: "asc" }] });
    const size = cluster.gpuCount / 2;
    const images = market.filter((d) => d.gpuCount === size).slice(0, 2).map((d) => d.id);
    await db.device.updateMany({ where: { id: { in: market.map((d) => d.id) } }, data: { runsImages: false } });
    await db.device.updateMany({ where: { id: { in: images } }, data: { runsImages: true } });
    // Their agents' keys: the workload's env values are sealed to them (a device that runs anything has one).
    for (const id of images) await db.device.update({ where: { id }, data: { agentPublicKey: generateDeviceKey().publicKey } });
    const processRuntime = new Set(market.map((d) => d.id).filter((id) => !images.includes(id)));
    expect(processRuntime.size).toBeGreaterThan(0);

    const agents = agentsOf(processRuntime);
    const scheduler = await start({ DEPLOY_MAX_REPLACEMENTS: "0" }, { agents });
    try {
      await scheduler.enqueueDeploy(cluster.id);
      await waitForStatus(db, cluster.id, "RUNNING");
      const allocations = await db.allocation.findMany({ where: { clusterId: cluster.id } });
      // Nothing refused, nothing replaced: the two image-capable devices, first time.
      expect(allocations.map((a) => a.deviceId).sort()).toEqual([...images].sort());
      expect(allocations.every((a) => a.status === "ACTIVE" && a.acknowledgedAt !== null)).toBe(true);
      expect(await timeline(db, cluster.id)).toEqual(["PAID->MATCHING", "MATCHING->DEPLOYING", "DEPLOYING->RUNNING"]);
      expect(agents.assigned.every((a) => a.workload?.image === workload.image)).toBe(true);
      // A row from before sealing at rest (env in clear) deploys as before, its env sealed to each device on the way out.
      expect(agents.assigned.every((a) => a.workload?.sealedEnv !== undefined && !("env" in a.workload))).toBe(true);
    } finally {
      await scheduler.stop();
    }
  });

  it("fails at once, naming the runtime, where no device runs images; without an image the same cluster deploys", async () => {
    const cluster = await paidCluster(db, { nodes: 1 });
    await db.device.updateMany({ where: { gpuModelId: cluster.gpuModelId, region: cluster.region }, data: { runsImages: false } });
    const processRuntime = new Set((await db.device.findMany({ where: { gpuModelId: cluster.gpuModelId, region: cluster.region }, select: { id: true } })).map((d) => d.id));
    await db.cluster.update({ where: { id: cluster.id }, data: { workload } });
    const plain = await paidCluster(db, { nodes: 1 });
    const agents = agentsOf(processRuntime);
    const scheduler = await start({}, { agents });
    try {
      await scheduler.enqueueDeploy(cluster.id);
      await waitForStatus(db, cluster.id, "REFUNDED");
      const failed = await db.clusterEvent.findFirstOrThrow({ where: { clusterId: cluster.id, toStatus: "FAILED" } });
      expect(failed.reason).toContain("on devices that run container images");
      // No device was tried (and refused) on the way.
      expect(await db.allocation.count({ where: { clusterId: cluster.id } })).toBe(0);

      await scheduler.enqueueDeploy(plain.id);
      await waitForStatus(db, plain.id, "RUNNING");
    } finally {
      await scheduler.stop();
    }
  });

  it("stops and refunds in full, rather than retrying for ever, a workload whose sealed env this scheduler's key cannot open", async () => {
    const cluster = await paidCluster(db, { nodes: 1 });
    const market = await db.device.findMany({ where: { gpuModelId: cluster.gpuModelId, region: cluster.region }, select: { id: true } });
    for (const { id } of market) await db.device.update({ where: { id }, data: { runsImages: true, agentPublicKey: generateDeviceKey().publicKey } });
    // Sealed by the web with one key; this scheduler was started with another.
    await db.cluster.update({ where: { id: cluster.id }, data: { workload: sealWorkloadAtRest({ ...workload, env: { WANDB_API_KEY: "secret-value" } }, cluster.id, randomBytes(32)) as object } });
    const agents = agentsOf(new Set());
    const scheduler = await start({ WORKLOAD_SECRETS_KEY: randomBytes(32).toString("base64") }, { agents });
    try {
      await scheduler.enqueueDeploy(cluster.id);
      await waitForStatus(db, cluster.id, "REFUNDED");
      expect(await timeline(db, cluster.id)).toEqual(["PAID->MATCHING", "MATCHING->DEPLOYING", "DEPLOYING->FAILED", "FAILED->REFUNDED"]);
      const failed = await db.clusterEvent.findFirstOrThrow({ where: { clusterId: cluster.id, toStatus: "FAILED" } });
      expect(failed.reason).toBe("the workload's secret environment could not be opened (a server key problem on GPUMesh's side)");
      // Nothing was sent to an agent, and the devices are free again.
      expect(agents.assigned.filter((a) => a.clusterId === cluster.id)).toEqual([]);
      expect(await db.allocation.count({ where: { clusterId: cluster.id, status: "ACTIVE" } })).toBe(0);
    } finally {
      await scheduler.stop();
    }
  });
});
