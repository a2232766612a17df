import { AgentOutbox, gatewayKeys, generateDeviceKey, type AgentAssignment, type DeviceKey, type GatewayMessage } from "@gpumesh/agent-protocol";
import { createTestDatabase, freePort, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { createDb, createJoinToken, seedCatalogue, supplierOfAccount, type Db } from "@gpumesh/db";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadGatewayEnv } from "../src/env.ts";
import { startGateway, type RunningGateway } from "../src/gateway.ts";
import { GatewayClient } from "../../agent/src/client.ts";
import { NodeAgent } from "../../agent/src/node.ts";
import { SimulatedRuntime } from "../../agent/src/runtime/runtime.ts";

// A Ray cluster forming across real agent connections: the head reports its address, the gateway
// forwards it to every worker of the cluster (one connected before the head, one that connects late,
// one that reconnects, one assigned afterwards), and a replaced head's address reaches the workers,
// which rejoin it. Real gateway, Postgres, Redis and WebSockets; agents are the real NodeAgent and
// client over the simulated runtime (nothing runs; the address each worker was started with is kept).
let database: TestDatabase;
let db: Db;
let gateway: RunningGateway;
let redis: Redis;
let outbox: AgentOutbox;
let supplierId: string;
let prefix: string;
const clients: GatewayClient[] = [];

const MACHINE = {
  cpuModel: "AMD EPYC 7763", cpuCores: 64, ramGb: 256, diskGb: 4_000, os: "Linux 6.8 x64",
  gpus: Array.from({ length: 4 }, () => ({ name: "NVIDIA GeForce RTX 4090", vramMb: 24_564, gpuModelId: "rtx-4090" })),
  bandwidthUpMbps: 1_000, bandwidthDownMbps: 1_000,
};

beforeAll(async () => {
  database = await createTestDatabase("gateway_ray");
  db = createDb(database.url);
  await seedCatalogue(db);
  const account = await db.account.create({ data: { walletAddress: "SuppRay11111111111111111111111111111111111" } });
  supplierId = (await supplierOfAccount(db, account.id, "ray test supplier")).id;
  const services = testRedis();
  prefix = `${services.prefix}:gw`;
  redis = new Redis(services.url);
  outbox = new AgentOutbox(redis, prefix);
  gateway = await startGateway(
    loadGatewayEnv({ DATABASE_URL: database.url, REDIS_URL: services.url, GATEWAY_PREFIX: prefix, GATEWAY_PORT: String(await freePort()), GATEWAY_AUDIENCE: "gpumesh-test", ROLLUP_EVERY_S: "3600", LOG_LEVEL: "silent" }),
    pino({ level: "silent" }),
  );
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.stop()));
  await gateway?.stop();
  redis?.disconnect();
  await db?.$disconnect();
  await database?.drop();
});

async function device(): Promise<{ key: DeviceKey; deviceId: string }> {
  const key = generateDeviceKey();
  const { token } = await createJoinToken(db, { supplierId, name: "rig", region: "eu-west", network: "GPUMESH" });
  const response = await fetch(`${gateway.url}/join`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token, publicKey: key.publicKey, hardware: MACHINE, agentVersion: "test" }) });
  expect(response.status).toBe(201);
  return { key, deviceId: ((await response.json()) as { deviceId: string }).deviceId };
}

/** A real node agent on the simulated runtime; `host` names its (simulated) machine. */
function agent(key: DeviceKey, host: string) {
  const runtime = new SimulatedRuntime(host);
  const client = new GatewayClient(gateway.url, key, { agentVersion: "test", running: () => runtime.running(), runsImages: true, audience: "gpumesh-test", maxBackoffMs: 200 });
  const acks: string[] = [];
  const rejoined: string[] = [];
  const refusals: string[] = [];
  const rayHeads: string[] = [];
  client.on("message", (message: GatewayMessage) => {
    if (message.type === "ray-head") rayHeads.push(message.address);
  });
  client.on("refused", (error) => refusals.push(error.code));
  new NodeAgent(client, runtime, { events: { assigned: (assignment, outcome) => outcome.accepted && acks.push(assignment.allocationId), rejoined: (_id, address) => rejoined.push(address) } });
  clients.push(client);
  const connected = () => new Promise<void>((resolve) => client.once("connected", () => resolve()));
  return {
    runtime, client, acks, rejoined, refusals, rayHeads,
    async start() {
      const up = connected();
      client.start();
      await up;
    },
  };
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

it("the head's address reaches every worker of its cluster: early, late, reconnecting, assigned later, and after the head is replaced", async () => {
  const [head, early, late, newHead, laterWorker] = await Promise.all([device(), device(), device(), device(), device()]);
  const renter = await db.account.create({ data: { walletAddress: "RenterRay111111111111111111111111111111111" } });
  const cluster = await db.cluster.create({
    data: {
      renterId: renter.id, name: "ray", type: "RAY", gpuModelIds: ["rtx-4090"], gpuCount: 16, regions: ["eu-west"], supplierNetworks: ["GPUMESH"],
      durationHours: 1, pricePerSecond: 100n, depositAmount: 360_000n, paymentToken: "USDC", status: "DEPLOYING",
    },
  });
  const startsAt = new Date();
  const endsAt = new Date(Date.now() + 3_600_000);
  // What the scheduler's deploy step writes (roles: packages/db ray-roles.ts) and queues.
  const allocate = async (deviceId: string, rayRole: "HEAD" | "WORKER") =>
    (await db.allocation.create({ data: { clusterId: cluster.id, deviceId, gpuCount: 4, pricePerGpuHour: 1_000n, startsAt, endsAt, status: "ACTIVE", rayRole } })).id;
  const assign = (deviceId: string, allocationId: string, ray: AgentAssignment["ray"]) =>
    outbox.assign(deviceId, { allocationId, clusterId: cluster.id, deviceId, clusterType: "RAY", gpuCount: 4, startsAt: startsAt.toISOString(), endsAt: endsAt.toISOString(), ray });
  const headId = await allocate(head.deviceId, "HEAD");
  const earlyId = await allocate(early.deviceId, "WORKER");
  const lateId = await allocate(late.deviceId, "WORKER");
  await assign(head.deviceId, headId, { role: "head" });
  await assign(early.deviceId, earlyId, { role: "worker", headAllocationId: headId });
  await assign(late.deviceId, lateId, { role: "worker", headAllocationId: headId });

  // A worker connected before its head: it waits, neither started nor acknowledged.
  const earlyAgent = agent(early.key, "early.gpumesh.invalid");
  await earlyAgent.start();
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(earlyAgent.acks).toEqual([]);
  expect(earlyAgent.runtime.running()).toEqual([]);

  const headAgent = agent(head.key, "head.gpumesh.invalid");
  await headAgent.start();
  await until("the head acknowledged and the early worker joined it", () => headAgent.acks.includes(headId) && earlyAgent.acks.includes(earlyId));
  expect(earlyAgent.runtime.joined.get(earlyId)).toBe("head.gpumesh.invalid:6379");
  expect(await redis.hgetall(gatewayKeys(prefix).endpoints(headId))).toEqual({ "ray-dashboard": "http://head.gpumesh.invalid:8265/", "ray-head": "head.gpumesh.invalid:6379" });

  // A worker that connects late finds the address waiting in its outbox with its assignment.
  const lateAgent = agent(late.key, "late.gpumesh.invalid");
  await lateAgent.start();
  await until("the late worker joined", () => lateAgent.acks.includes(lateId));
  expect(lateAgent.runtime.joined.get(lateId)).toBe("head.gpumesh.invalid:6379");

  // A reconnect sends the address again; the same address restarts nothing.
  await earlyAgent.client.stop();
  await earlyAgent.start();
  await until("the address sent again after the reconnect", () => earlyAgent.rayHeads.length === 2);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(earlyAgent.rejoined).toEqual([]);

  // Only the head may say where the head is: a worker's claim is refused and reaches no one.
  earlyAgent.client.send({ type: "endpoint", allocationId: earlyId, kind: "ray-head", url: "evil.example:6379" });
  await until("the worker's claim refused", () => earlyAgent.refusals.includes("NOT_YOURS"));
  expect(lateAgent.rayHeads).toEqual(["head.gpumesh.invalid:6379"]);

  // The head's node is lost and replaced (what the scheduler does): the new head's address reaches both
  // workers, which restart to join it; the old head is told to stop.
  await db.allocation.update({ where: { id: headId }, data: { status: "RELEASED", releasedAt: new Date(), releaseReason: "offline: test" } });
  await outbox.revoke(head.deviceId, headId, "node lost");
  const newHeadId = await allocate(newHead.deviceId, "HEAD");
  await assign(newHead.deviceId, newHeadId, { role: "head" });
  const newHeadAgent = agent(newHead.key, "new-head.gpumesh.invalid");
  await newHeadAgent.start();
  await until("both workers rejoined the new head", () => earlyAgent.rejoined.length === 1 && lateAgent.rejoined.length === 1);
  expect(earlyAgent.runtime.joined.get(earlyId)).toBe("new-head.gpumesh.invalid:6379");
  expect(lateAgent.runtime.joined.get(lateId)).toBe("new-head.gpumesh.invalid:6379");
  await until("the old head stopped", () => headAgent.runtime.running().length === 0);
  // The old head, replaced, cannot point the workers back at itself.
  headAgent.client.send({ type: "endpoint", allocationId: headId, kind: "ray-head", url: "head.gpumesh.invalid:6379" });
  await until("the old head's claim refused", () => headAgent.refusals.includes("NOT_YOURS"));

  // A worker assigned after the head reported (a lost worker's replacement) gets the address with its
  // assignment, from the scheduler's side of the outbox.
  const laterId = await allocate(laterWorker.deviceId, "WORKER");
  await assign(laterWorker.deviceId, laterId, { role: "worker", headAllocationId: newHeadId });
  expect(JSON.parse((await redis.hget(gatewayKeys(prefix).outbox(laterWorker.deviceId), `ray-head:${laterId}`))!)).toEqual({
    type: "ray-head", allocationId: laterId, headAllocationId: newHeadId, address: "new-head.gpumesh.invalid:6379", expiresAt: endsAt.getTime(),
  });
  const laterAgent = agent(laterWorker.key, "later.gpumesh.invalid");
  await laterAgent.start();
  await until("the later worker joined", () => laterAgent.acks.includes(laterId));
  expect(laterAgent.runtime.joined.get(laterId)).toBe("new-head.gpumesh.invalid:6379");

  // A revoked worker's address leaves its outbox with it.
  await outbox.revoke(late.deviceId, lateId, "cluster ended");
  expect(Object.keys(await redis.hgetall(gatewayKeys(prefix).outbox(late.deviceId)))).toEqual([`revoke:${lateId}`]);
  // One released without a revoke (its device went offline) stops being sent when its lease ends.
  expect((await outbox.pending(laterWorker.deviceId)).map((item) => item.field)).toContain(`ray-head:${laterId}`);
  expect((await outbox.pending(laterWorker.deviceId, new Date(endsAt.getTime() + 1))).map((item) => item.field)).not.toContain(`ray-head:${laterId}`);
  expect(await redis.hexists(gatewayKeys(prefix).outbox(laterWorker.deviceId), `ray-head:${laterId}`)).toBe(0);
});
