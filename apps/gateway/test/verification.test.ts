import { devDeviceKey } from "@gpumesh/agent-protocol";
import { createTestDatabase, freePort, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { createDb, seedCatalogue, type Db } from "@gpumesh/db";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { GatewayClient } from "../../agent/src/client.ts";
import { NodeAgent, type ProofMode } from "../../agent/src/node.ts";
import { SimulatedRuntime } from "../../agent/src/runtime/runtime.ts";
import { loadSchedulerEnv } from "../../scheduler/src/env.ts";
import { startScheduler, type RunningScheduler } from "../../scheduler/src/scheduler.ts";
import { loadGatewayEnv } from "../src/env.ts";
import { startGateway, type RunningGateway } from "../src/gateway.ts";

// Proof of physical work through the real path: the scheduler's verify sweep issues a challenge, the
// gateway delivers it over the device's WebSocket, the agent's NodeAgent computes (honestly or not),
// commits and opens rows, and the scheduler's verifier judges. One device per behaviour.
let database: TestDatabase;
let db: Db;
let gateway: RunningGateway;
let scheduler: RunningScheduler;
const clients: GatewayClient[] = [];
const modes: ProofMode[] = ["simulated", "wrong-rows", "garbage-root"];
const deviceIds: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase("verification_gateway");
  db = createDb(database.url);
  await seedCatalogue(db);
  const account = await db.account.create({ data: { walletAddress: "SuppVerif1111111111111111111111111111111111" } });
  const supplier = await db.supplier.create({ data: { accountId: account.id, name: "verification test" } });
  for (const [index] of modes.entries()) {
    const device = await db.device.create({
      data: {
        supplierId: supplier.id, name: `rig-${index}`, gpuModelId: "rtx-4090", gpuCount: 1, vramGb: 24, cpuModel: "Ryzen", cpuCores: 16, ramGb: 64, diskGb: 2_000,
        region: "eu-west", country: "NL", city: "Amsterdam", bandwidthUpMbps: 1_000, bandwidthDownMbps: 1_000, pricePerGpuHour: 340_000n, status: "REGISTERED",
        agentPublicKey: devDeviceKey(9_000 + index).publicKey,
      },
    });
    deviceIds.push(device.id);
  }
  const services = testRedis();
  const prefix = `${services.prefix}:gw`;
  gateway = await startGateway(
    loadGatewayEnv({ DATABASE_URL: database.url, REDIS_URL: services.url, GATEWAY_PREFIX: prefix, GATEWAY_PORT: String(await freePort()), GATEWAY_AUDIENCE: "gpumesh-test", LOG_LEVEL: "silent" }),
    pino({ level: "silent" }),
  );
  scheduler = await startScheduler(
    loadSchedulerEnv({
      DATABASE_URL: database.url, REDIS_URL: services.url, QUEUE_PREFIX: services.prefix, AGENT_CHANNEL: "gateway", AGENT_GATEWAY_PREFIX: prefix,
      VERIFY_SWEEP_EVERY_S: "1", VERIFY_MATRIX_SIZE: "64", VERIFY_SAMPLED_ROWS: "16", LOG_LEVEL: "silent",
    }),
    pino({ level: "silent" }),
    { chainContext: null },
  );
  for (const [index, proofs] of modes.entries()) {
    const runtime = new SimulatedRuntime();
    const client = new GatewayClient(gateway.url, devDeviceKey(9_000 + index), { agentVersion: "test", running: () => runtime.running() });
    new NodeAgent(client, runtime, { proofs });
    client.start();
    clients.push(client);
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.stop()));
  await scheduler?.stop({ force: true });
  await gateway?.stop();
  await db?.$disconnect();
  await database?.drop();
});

it("passes an honest device and fails one wrong row set and one wrong root, each with its reason", async () => {
  const verdicts = await (async () => {
    const deadline = Date.now() + 40_000;
    for (;;) {
      const closed = await db.verificationChallenge.findMany({ where: { deviceId: { in: deviceIds }, status: { not: "PENDING" } } });
      const byDevice = deviceIds.map((id) => closed.find((c) => c.deviceId === id));
      if (byDevice.every(Boolean)) return byDevice.map((c) => c!);
      if (Date.now() > deadline) throw new Error(`verdicts so far: ${JSON.stringify(closed.map((c) => [c.deviceId, c.status, c.failureReason]))}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  const [honest, wrongRows, wrongRoot] = verdicts;
  expect(honest).toMatchObject({ status: "PASSED", failureReason: null });
  expect(honest!.sampledRows).toHaveLength(16);
  expect(wrongRows!.status).toBe("FAILED");
  expect(wrongRows!.failureReason).toMatch(/^wrong-result: C\[\d+\]\[\d+\] is -?\d+, expected -?\d+/);
  expect(wrongRoot!.status).toBe("FAILED");
  expect(wrongRoot!.failureReason).toMatch(/proof|root/);
  const devices = await db.device.findMany({ where: { id: { in: deviceIds } }, orderBy: { name: "asc" } });
  expect(devices.map((d) => d.status)).toEqual(["ONLINE", "REGISTERED", "REGISTERED"]);
}, 60_000);
