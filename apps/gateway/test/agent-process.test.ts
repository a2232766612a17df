import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gatewayKeys } from "@gpumesh/agent-protocol";
import { createTestDatabase, freePort, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { createDb, createJoinToken, seedCatalogue, supplierOfAccount, type Db } from "@gpumesh/db";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadSchedulerEnv } from "../../scheduler/src/env.ts";
import { startScheduler, type RunningScheduler } from "../../scheduler/src/scheduler.ts";
import { loadGatewayEnv } from "../src/env.ts";
import { startGateway, type RunningGateway } from "../src/gateway.ts";

// A real `gpumesh-agent` process, end to end: join with a token from the database → start → verified
// by a real proof-of-work round (scheduler verify sweep → gateway → agent → back) → assigned by the
// deploy workflow → its workload process serving → revoked when the renter ends the lease → drained
// on SIGTERM. Real Postgres, Redis, WebSockets and processes; `nvidia-smi` is a script printing an
// RTX 4090, the one thing this machine cannot provide.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
let database: TestDatabase;
let db: Db;
let gateway: RunningGateway;
let scheduler: RunningScheduler;
let redis: Redis;
let prefix: string;
let home: string;
const agents: ChildProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase("agent_process");
  db = createDb(database.url);
  await seedCatalogue(db);
  const services = testRedis();
  prefix = `${services.prefix}:gw`;
  redis = new Redis(services.url);
  gateway = await startGateway(
    loadGatewayEnv({ DATABASE_URL: database.url, REDIS_URL: services.url, GATEWAY_PREFIX: prefix, GATEWAY_PORT: String(await freePort()), GATEWAY_AUDIENCE: "gpumesh-test", GATEWAY_HARDWARE_FLOOR: "none", LOG_LEVEL: "silent" }),
    pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }),
  );
  const env = loadSchedulerEnv({
    DATABASE_URL: database.url,
    REDIS_URL: services.url,
    QUEUE_PREFIX: services.prefix,
    AGENT_CHANNEL: "gateway",
    AGENT_GATEWAY_PREFIX: prefix,
    VERIFY_SWEEP_EVERY_S: "1",
    VERIFY_EVERY_S: "2",
    VERIFY_MATRIX_SIZE: "64",
    MIN_VERIFICATION_SCORE_BPS: "0",
    LOG_LEVEL: "silent",
  });
  scheduler = await startScheduler(env, pino({ level: "silent" }), { chainContext: null });
  home = await fs.mkdtemp(path.join(os.tmpdir(), "gpumesh-agent-"));
  await fs.mkdir(path.join(home, "bin"));
  await fs.writeFile(path.join(home, "bin/nvidia-smi"), '#!/bin/sh\necho "NVIDIA GeForce RTX 4090, 24564"\n', { mode: 0o755 });
}, 60_000);

afterAll(async () => {
  for (const agent of agents) if (agent.exitCode === null) agent.kill("SIGKILL");
  await scheduler?.stop({ force: true });
  await gateway?.stop();
  redis?.disconnect();
  await db?.$disconnect();
  await database?.drop();
  await fs.rm(home, { recursive: true, force: true });
});

function agentCli(args: string[], env: Record<string, string> = {}): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "apps/agent/src/cli.ts"), ...args], {
    cwd: root,
    env: { ...process.env, GPUMESH_AGENT_HOME: path.join(home, "agent"), PATH: `${path.join(home, "bin")}:${process.env.PATH}`, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  agents.push(child);
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

it("join → start → verified → assigned → running → revoked → drained", async () => {
  const account = await db.account.create({ data: { walletAddress: "SuppProc1111111111111111111111111111111111" } });
  const supplier = await supplierOfAccount(db, account.id, "process test supplier");
  const { token } = await createJoinToken(db, { supplierId: supplier.id, name: "garage rig", region: "eu-west", network: "GPUMESH" });

  const join = agentCli(["join", "--token", token, "--gateway", gateway.url]);
  expect(await join.exited, join.output()).toBe(0);
  expect(join.output()).toMatch(/joined as device/);
  const keyFile = await fs.stat(path.join(home, "agent/device.json"));
  expect(keyFile.mode & 0o777).toBe(0o600);
  const device = await db.device.findFirstOrThrow({ where: { supplierId: supplier.id } });
  expect(device).toMatchObject({ status: "REGISTERED", gpuModelId: "rtx-4090", gpuCount: 1, region: "eu-west" });
  expect(device.bandwidthDownMbps).toBeGreaterThan(0);

  // The token is dead.
  const again = agentCli(["join", "--token", token, "--gateway", gateway.url]);
  expect(await again.exited).toBe(1);
  expect(again.output()).toMatch(/already joined/);

  // This machine has no GPU kernel, so the agent's honest time for a GPU challenge is a CPU's: the
  // verifier refuses the RTX 4090 claim on timing (a wrong-model timing claim is caught).
  const honest = agentCli(["start"]);
  await until("the agent to connect", async () => /connected as/.test(honest.output()));
  const caught = await until("the timing claim to be refused", async () => db.verificationChallenge.findFirst({ where: { deviceId: device.id, status: "FAILED" } }));
  expect(caught.failureReason).toMatch(/^timing-too-slow: .* rtx-4090/);
  expect((await db.device.findUniqueOrThrow({ where: { id: device.id } })).status).toBe("REGISTERED");
  honest.child.kill("SIGTERM");
  expect(await honest.exited).toBe(0);

  // With the GPU simulated, its timing is too (GPUMESH_AGENT_PROOFS=simulated); the computation, the
  // commitment, the rows and their proofs are real and travel through the gateway.
  const start = agentCli(["start"], { GPUMESH_AGENT_PROOFS: "simulated" });
  await until("the agent to connect", async () => /connected as/.test(start.output()));
  const verified = await until(`the device to pass verification`, async () => {
    const row = await db.device.findUniqueOrThrow({ where: { id: device.id } });
    return row.status === "ONLINE" && row.verifiedAt ? row : undefined;
  });
  expect(verified.verificationScoreBps).toBeGreaterThan(0);
  const passed = await db.verificationChallenge.findFirstOrThrow({ where: { deviceId: device.id, status: "PASSED" } });
  expect(passed.commitment).toMatch(/^[0-9a-f]{64}$/);

  // A paid cluster that only this device fits: the deploy workflow assigns it through the gateway.
  const renter = await db.account.create({ data: { walletAddress: "RentProc1111111111111111111111111111111111" } });
  const cluster = await db.cluster.create({
    data: {
      renterId: renter.id, name: "process-runtime", type: "RAY", gpuModelIds: ["rtx-4090"], gpuCount: 1, regions: ["eu-west"],
      supplierNetworks: ["GPUMESH"], durationHours: 1, pricePerSecond: 100n, depositAmount: 360_000n, paymentToken: "USDC", status: "PAID",
    },
  });
  await scheduler.enqueueDeploy(cluster.id);
  await until("the cluster to run", async () => (await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } })).status === "RUNNING");
  const allocation = await db.allocation.findFirstOrThrow({ where: { clusterId: cluster.id } });
  expect(allocation).toMatchObject({ deviceId: device.id, status: "ACTIVE" });
  expect(allocation.acknowledgedAt).not.toBeNull();
  // The workload is a real process serving its allocation at the endpoint the agent reported.
  const url = await until("the endpoint", async () => redis.hget(`${prefix}:endpoints:${allocation.id}`, "url"));
  const served = (await (await fetch(url)).json()) as { allocationId: string; clusterId: string };
  expect(served).toMatchObject({ allocationId: allocation.id, clusterId: cluster.id });

  await scheduler.enqueueEnd(cluster.id, "renter terminated");
  await until("the lease to be revoked on the machine", async () => /stopped: /.test(start.output()));
  await expect(fetch(url)).rejects.toThrow();
  await until("the revoke to be confirmed", async () => !(await redis.hexists(gatewayKeys(prefix).outbox(device.id), `revoke:${allocation.id}`)));

  const status = agentCli(["status"]);
  expect(await status.exited).toBe(0);
  expect(status.output()).toMatch(/running \(pid \d+\), connected/);

  start.child.kill("SIGTERM");
  expect(await start.exited).toBe(0);
  expect(start.output()).toMatch(/drained/);
  // The drain frame is handled by the gateway as the agent exits.
  await expect.poll(async () => (await db.device.findUniqueOrThrow({ where: { id: device.id } })).status, { timeout: 5_000 }).toBe("OFFLINE");
}, 120_000);
