import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { gatewayKeys, generateDeviceKey, signAuth, type DeviceKey, type OpenedAssignment } from "@gpumesh/agent-protocol";
import { createTestDatabase, freePort, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { createDb, createHeldQuote, createJoinToken, seedCatalogue, supplierOfAccount, type Db } from "@gpumesh/db";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { WebSocket } from "ws";
import { loadSchedulerEnv } from "../../scheduler/src/env.ts";
import { startScheduler, type RunningScheduler } from "../../scheduler/src/scheduler.ts";
import { GatewayClient } from "../../agent/src/client.ts";
import { NodeAgent } from "../../agent/src/node.ts";
import { SimulatedRuntime, type StartOptions } from "../../agent/src/runtime/runtime.ts";
import { loadGatewayEnv } from "../src/env.ts";
import { startGateway, type RunningGateway } from "../src/gateway.ts";

// A renter's secret env value from the quote to the container, and nowhere in plaintext on the way:
// the web's quote (createHeldQuote, sealed with WORKLOAD_SECRETS_KEY) → the cluster row → the real
// scheduler's deploy job (opens it, seals it to the device's agent key) → the device's outbox in Redis →
// the real gateway → over the device's WebSocket → the real NodeAgent, which opens it and hands it to
// its runtime. Real Postgres, Redis, gateway, scheduler and WebSockets. The runtime is the simulated one
// recording what each lease was started with (the process runtime refuses workloads; the Docker
// runtime's own test covers turning the opened env into the container's); what the gateway relays is
// read as raw frames by a socket authenticated as the device before the agent itself connects.
const SECRET = "wandb-4f1c9e0b7d2a-do-not-leak";
let database: TestDatabase;
let db: Db;
let gateway: RunningGateway;
let scheduler: RunningScheduler;
let redis: Redis;
let redisPrefix: string;
let prefix: string;
let logs = "";
const workloadSecretsKey = randomBytes(32);
const clients: GatewayClient[] = [];

const MACHINE = {
  cpuModel: "AMD EPYC 7763", cpuCores: 64, ramGb: 256, diskGb: 4_000, os: "Linux 6.8 x64",
  gpus: Array.from({ length: 4 }, () => ({ name: "NVIDIA GeForce RTX 4090", vramMb: 24_564, gpuModelId: "rtx-4090" })),
  bandwidthUpMbps: 1_000, bandwidthDownMbps: 1_000,
};

/** Everything the gateway and the scheduler log, at debug level: the secret must not be in it either. */
const logStream = new Writable({
  write(chunk: Buffer, _encoding, done) {
    logs += chunk.toString();
    done();
  },
});

beforeAll(async () => {
  database = await createTestDatabase("gateway_sealed_env");
  db = createDb(database.url);
  await seedCatalogue(db);
  const services = testRedis();
  redisPrefix = services.prefix;
  prefix = `${services.prefix}:gw`;
  redis = new Redis(services.url);
  gateway = await startGateway(
    loadGatewayEnv({ DATABASE_URL: database.url, REDIS_URL: services.url, GATEWAY_PREFIX: prefix, GATEWAY_PORT: String(await freePort()), GATEWAY_AUDIENCE: "gpumesh-test", ROLLUP_EVERY_S: "3600", LOG_LEVEL: "debug" }),
    pino({ level: "debug" }, logStream),
  );
  const env = loadSchedulerEnv({
    DATABASE_URL: database.url, REDIS_URL: services.url, QUEUE_PREFIX: services.prefix, AGENT_CHANNEL: "gateway", AGENT_GATEWAY_PREFIX: prefix,
    MIN_VERIFICATION_SCORE_BPS: "0", PLACEMENT: "read", LOG_LEVEL: "debug", WORKLOAD_SECRETS_KEY: workloadSecretsKey.toString("base64"),
  });
  scheduler = await startScheduler(env, pino({ level: "debug" }, logStream), { chainContext: null, sweeps: false });
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.stop()));
  await scheduler?.stop({ force: true });
  await gateway?.stop();
  redis?.disconnect();
  await db?.$disconnect();
  await database?.drop();
});

/** The simulated runtime, keeping what each lease was started with (its opened env included). */
class RecordingRuntime extends SimulatedRuntime {
  readonly started: OpenedAssignment[] = [];
  override async start(assignment: OpenedAssignment, options: StartOptions = {}) {
    this.started.push(assignment);
    return super.start(assignment, options);
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Every value this test's services hold in Redis (queues, outboxes, inbox, liveness), as text. */
async function everythingInRedis(): Promise<string> {
  const keys = await redis.keys(`${redisPrefix}*`);
  const values = await Promise.all(
    keys.map(async (key) => {
      const type = await redis.type(key);
      if (type === "string") return redis.get(key);
      if (type === "hash") return redis.hgetall(key);
      if (type === "list") return redis.lrange(key, 0, -1);
      if (type === "set") return redis.smembers(key);
      if (type === "zset") return redis.zrange(key, 0, -1, "WITHSCORES");
      if (type === "stream") return redis.xrange(key, "-", "+");
      return `${key}: ${type}`;
    }),
  );
  return JSON.stringify(values);
}

/** Connects as the device, records the raw frames the gateway sends until `enough`, then closes without answering. */
function tap(key: DeviceKey, enough: (frames: string[]) => boolean): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${gateway.url.replace(/^http/, "ws")}/agent`);
    const frames: string[] = [];
    const timer = setTimeout(() => reject(new Error(`tap: no assignment; frames: ${frames.join("\n")}`)), 10_000);
    socket.on("message", (data) => {
      const text = String(data);
      frames.push(text);
      const message = JSON.parse(text) as { type: string; audience?: string; nonce?: string };
      if (message.type === "hello") socket.send(JSON.stringify({ type: "auth", publicKey: key.publicKey, signature: signAuth(key, message.audience!, message.nonce!), agentVersion: "tap", runsImages: true }));
      if (enough(frames)) {
        clearTimeout(timer);
        socket.close();
        resolve(frames);
      }
    });
    socket.on("error", reject);
  });
}

it("a secret env value reaches the agent's runtime, and is in plaintext in no cluster row, outbox, relayed frame or log", async () => {
  const account = await db.account.create({ data: { walletAddress: "SuppSeal1111111111111111111111111111111111" } });
  const supplier = await supplierOfAccount(db, account.id, "sealed env supplier");
  const key = generateDeviceKey();
  const { token } = await createJoinToken(db, { supplierId: supplier.id, name: "rig", region: "eu-west", network: "GPUMESH" });
  const joined = await fetch(`${gateway.url}/join`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token, publicKey: key.publicKey, hardware: MACHINE, agentVersion: "test" }) });
  expect(joined.status).toBe(201);
  const deviceId = ((await joined.json()) as { deviceId: string }).deviceId;
  // Verified and online already (the verification rounds have their own tests), running images.
  await db.device.update({ where: { id: deviceId }, data: { status: "ONLINE", verificationScoreBps: 9_000, verifiedAt: new Date(), lastHeartbeatAt: new Date(), runsImages: true } });

  // The web's quote: what POST /api/v1/quotes stores.
  const renter = await db.account.create({ data: { walletAddress: "RentSeal1111111111111111111111111111111111" } });
  const workload = { image: "ghcr.io/acme/train:2", command: ["python", "train.py"], env: { WANDB_API_KEY: SECRET, EPOCHS: "3" } };
  const quoted = await createHeldQuote(db, {
    accountId: renter.id, now: new Date(), rates: { feeBps: 500, burnBps: 5_000 }, workloadSecretsKey,
    request: { name: "sealed", type: "CONTAINER", gpuModelIds: ["rtx-4090"], gpuCount: 4, regions: ["eu-west"], durationHours: 1, workload },
  });
  if (!quoted.ok) throw new Error(`no quote: ${quoted.message}`);
  const clusterId = quoted.quote.clusterId;
  const clusterRow = async () => (await db.$queryRaw<{ text: string }[]>`select row_to_json(c)::text as text from cluster c where id = ${clusterId}::uuid`)[0]!.text;
  expect(await clusterRow()).toContain("WANDB_API_KEY");
  expect(await clusterRow()).not.toContain(SECRET);

  // Paid (the payment path's own tests cover the chain): the deploy job assigns it through the gateway.
  await db.cluster.update({ where: { id: clusterId }, data: { status: "PAID" } });
  await scheduler.enqueueDeploy(clusterId);
  const outbox = await until("the assignment in the device's outbox", async () => {
    const entries = await redis.hgetall(gatewayKeys(prefix).outbox(deviceId));
    return Object.keys(entries).some((field) => field.startsWith("assign:")) ? entries : undefined;
  });
  const queued = JSON.stringify(outbox);
  expect(queued).toContain("sealedEnv");
  expect(queued).not.toContain(SECRET);
  expect(queued).not.toContain("WANDB_API_KEY");
  expect(await everythingInRedis()).not.toContain(SECRET);

  // What the gateway relays over the device's connection, byte for byte.
  const frames = await tap(key, (seen) => seen.some((frame) => frame.includes('"type":"assign"')));
  const assign = frames.find((frame) => frame.includes('"type":"assign"'))!;
  expect(assign).toContain("sealedEnv");
  expect(frames.join("\n")).not.toContain(SECRET);

  // The device's own agent opens it and starts the lease with the renter's value.
  const runtime = new RecordingRuntime();
  const client = new GatewayClient(gateway.url, key, { agentVersion: "test", running: () => runtime.running(), runsImages: true, audience: "gpumesh-test", maxBackoffMs: 200 });
  clients.push(client);
  new NodeAgent(client, runtime, { deviceKey: key });
  client.start();
  await until("the cluster to run", async () => (await db.cluster.findUniqueOrThrow({ where: { id: clusterId } })).status === "RUNNING");
  expect(runtime.started.map((a) => a.workload)).toEqual([workload]);

  // And after all of it: nothing in plaintext at rest or in the queues, nothing in either service's logs.
  expect(await clusterRow()).not.toContain(SECRET);
  expect(await everythingInRedis()).not.toContain(SECRET);
  expect(logs).toContain(deviceId);
  expect(logs).not.toContain(SECRET);
}, 60_000);
