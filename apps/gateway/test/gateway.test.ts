import { AgentOutbox, devDeviceKey, gatewayKeys, generateDeviceKey, signAuth, type AgentAssignment, type DeviceKey } from "@gpumesh/agent-protocol";
import { createTestDatabase, freePort, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { createDb, createJoinToken, seedCatalogue, supplierOfAccount, type Db } from "@gpumesh/db";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadGatewayEnv } from "../src/env.ts";
import { startGateway, type RunningGateway } from "../src/gateway.ts";
import { GatewayClient } from "../../agent/src/client.ts";
import { RawAgent } from "./helpers.ts";

// The agent gateway over real WebSockets, real Postgres and real Redis: joining, authentication, and
// every way an agent could try to act for another device, replay, or lie about time.
let database: TestDatabase;
let db: Db;
let gateway: RunningGateway;
let redis: Redis;
let outbox: AgentOutbox;
let supplierId: string;
let prefix: string;

const BIG_MACHINE = {
  cpuModel: "AMD EPYC 7763",
  cpuCores: 64,
  ramGb: 256,
  diskGb: 4_000,
  os: "Linux 6.8 x64",
  gpus: Array.from({ length: 4 }, () => ({ name: "NVIDIA GeForce RTX 4090", vramMb: 24_564, gpuModelId: "rtx-4090" })),
  // 1,250 / 625 MB/s: HIGH (≥ 800 / 600), its upload short of ULTRA_HIGH's 1,200.
  bandwidthUpMbps: 5_000,
  bandwidthDownMbps: 10_000,
};

beforeAll(async () => {
  database = await createTestDatabase("gateway");
  db = createDb(database.url);
  await seedCatalogue(db);
  const account = await db.account.create({ data: { walletAddress: "SuppGw1111111111111111111111111111111111111" } });
  supplierId = (await supplierOfAccount(db, account.id, "gateway test supplier")).id;
  const services = testRedis();
  prefix = `${services.prefix}:gw`;
  redis = new Redis(services.url);
  outbox = new AgentOutbox(redis, prefix);
  const env = loadGatewayEnv({
    DATABASE_URL: database.url,
    REDIS_URL: services.url,
    GATEWAY_PREFIX: prefix,
    GATEWAY_PORT: String(await freePort()),
    GATEWAY_AUDIENCE: "gpumesh-test",
    AUTH_TIMEOUT_S: "1",
    ROLLUP_EVERY_S: "3600",
    LOG_LEVEL: "silent",
  });
  gateway = await startGateway(env, pino({ level: "silent" }));
});

afterAll(async () => {
  await gateway?.stop();
  redis?.disconnect();
  await db?.$disconnect();
  await database?.drop();
});

async function token(options: { ttlMs?: number; now?: Date } = {}): Promise<string> {
  return (await createJoinToken(db, { supplierId, name: "rig", region: "eu-west", network: "GPUMESH", ...options })).token;
}

async function join(body: unknown): Promise<{ status: number; body: { error?: { code: string; field?: string; message: string; details?: string[] }; deviceId?: string } }> {
  const response = await fetch(`${gateway.url}/join`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as never };
}

/** A joined device and its key. */
async function joinedDevice(hardware: unknown = BIG_MACHINE): Promise<{ key: DeviceKey; deviceId: string }> {
  const key = generateDeviceKey();
  const result = await join({ token: await token(), publicKey: key.publicKey, hardware, agentVersion: "test" });
  expect(result.status).toBe(201);
  return { key, deviceId: result.body.deviceId! };
}

function assignment(deviceId: string): AgentAssignment {
  const now = Date.now();
  return { allocationId: randomUUID(), clusterId: randomUUID(), deviceId, clusterType: "RAY", gpuCount: 4, startsAt: new Date(now).toISOString(), endsAt: new Date(now + 3_600_000).toISOString() };
}

async function inbox(): Promise<{ kind: string; response?: { allocationId: string; deviceId: string; accepted: boolean; at: string } }[]> {
  const entries = (await redis.xrange(gatewayKeys(prefix).inbox, "-", "+")) as [string, string[]][];
  return entries.map(([, fields]) => JSON.parse(fields[1]!) as never);
}

describe("join", () => {
  it("registers a device from a one-time token: the token dies, the device starts REGISTERED with the reported hardware", async () => {
    const key = generateDeviceKey();
    const joinToken = await token();
    const first = await join({ token: joinToken, publicKey: key.publicKey, hardware: BIG_MACHINE, agentVersion: "test" });
    expect(first.status).toBe(201);
    const device = await db.device.findUniqueOrThrow({ where: { id: first.body.deviceId! } });
    expect(device).toMatchObject({ status: "REGISTERED", gpuModelId: "rtx-4090", gpuCount: 4, vramGb: 24, cpuCores: 64, ramGb: 256, region: "eu-west", agentPublicKey: key.publicKey, bandwidthDownMbps: 10_000, bandwidthUpMbps: 5_000, connectivityTier: "HIGH" });
    // The row holds only the hash of the token.
    const row = await db.deviceJoinToken.findFirstOrThrow({ where: { deviceId: device.id } });
    expect(row.tokenHash).not.toContain(joinToken);
    expect(row.usedAt).not.toBeNull();

    const reused = await join({ token: joinToken, publicKey: generateDeviceKey().publicKey, hardware: BIG_MACHINE, agentVersion: "test" });
    expect(reused).toMatchObject({ status: 409, body: { error: { code: "TOKEN_USED", field: "token" } } });
  });

  it("refuses unknown, expired and raced tokens, reused keys and malformed fields, naming the field", async () => {
    const hardware = BIG_MACHINE;
    expect(await join({ token: "gmj_" + "x".repeat(43), publicKey: generateDeviceKey().publicKey, hardware, agentVersion: "t" })).toMatchObject({ status: 401, body: { error: { code: "TOKEN_UNKNOWN" } } });
    const expired = await token({ now: new Date(Date.now() - 2 * 3_600_000), ttlMs: 3_600_000 });
    expect(await join({ token: expired, publicKey: generateDeviceKey().publicKey, hardware, agentVersion: "t" })).toMatchObject({ status: 410, body: { error: { code: "TOKEN_EXPIRED" } } });
    const { key } = await joinedDevice();
    expect(await join({ token: await token(), publicKey: key.publicKey, hardware, agentVersion: "t" })).toMatchObject({ status: 409, body: { error: { code: "KEY_IN_USE", field: "publicKey" } } });
    expect(await join({ token: await token(), publicKey: "not-a-key".padEnd(40, "1"), hardware, agentVersion: "t" })).toMatchObject({ status: 422, body: { error: { field: "publicKey" } } });
    expect(await join({ token: await token(), publicKey: generateDeviceKey().publicKey, hardware: { ...hardware, ramGb: -1 }, agentVersion: "t" })).toMatchObject({ status: 422, body: { error: { field: "hardware.ramGb" } } });
    // Two joins racing with one token: one device.
    const raced = await token();
    const results = await Promise.all([0, 1, 2].map(() => join({ token: raced, publicKey: generateDeviceKey().publicKey, hardware, agentVersion: "t" })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    expect(await db.deviceJoinToken.count({ where: { tokenHash: { not: "" }, deviceId: { not: null } } })).toBeGreaterThan(0);
  });

  it("tells a machine below the hardware floor every reason, and leaves the token usable", async () => {
    const joinToken = await token();
    const small = { ...BIG_MACHINE, cpuCores: 2, ramGb: 8, gpus: [{ name: "NVIDIA GeForce GTX 1060 6GB", vramMb: 6_144, gpuModelId: null }] };
    const refused = await join({ token: joinToken, publicKey: generateDeviceKey().publicKey, hardware: small, agentVersion: "t" });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: "BELOW_HARDWARE_FLOOR", field: "hardware" });
    expect(refused.body.error!.details!.join(" ")).toMatch(/GTX 1060/);
    expect(refused.body.error!.details!.join(" ")).toMatch(/RAM 8 GB/);
    expect((await join({ token: joinToken, publicKey: generateDeviceKey().publicKey, hardware: BIG_MACHINE, agentVersion: "t" })).status).toBe(201);
  });
});

describe("authentication", () => {
  it("binds the connection to the device whose key signed this connection's nonce", async () => {
    const { key, deviceId } = await joinedDevice();
    const { agent, welcome } = await RawAgent.authenticated(gateway.url, key);
    expect(welcome.deviceId).toBe(deviceId);
    agent.close();
  });

  it("refuses a bad signature, a replayed auth frame from another connection, an unknown key, silence and messages before auth", async () => {
    const { key } = await joinedDevice();
    const wrong = await RawAgent.connect(gateway.url);
    wrong.send({ type: "auth", publicKey: key.publicKey, signature: signAuth(generateDeviceKey(), "gpumesh-test", wrong.hello.nonce), agentVersion: "t" });
    expect((await wrong.next("error")).code).toBe("AUTH_FAILED");
    expect((await wrong.closedWith()).code).toBe(4401);

    // A captured auth frame (valid for its own connection) replayed on a new one.
    const first = await RawAgent.connect(gateway.url);
    const captured = { type: "auth", publicKey: key.publicKey, signature: signAuth(key, "gpumesh-test", first.hello.nonce), agentVersion: "t" };
    first.close();
    const replay = await RawAgent.connect(gateway.url);
    replay.send(captured);
    expect((await replay.next("error")).code).toBe("AUTH_FAILED");

    // Signed for another network's gateway.
    const otherNetwork = await RawAgent.connect(gateway.url);
    otherNetwork.send({ type: "auth", publicKey: key.publicKey, signature: signAuth(key, "gpumesh-mainnet", otherNetwork.hello.nonce), agentVersion: "t" });
    expect((await otherNetwork.next("error")).code).toBe("AUTH_FAILED");

    const stranger = generateDeviceKey();
    const unknown = await RawAgent.connect(gateway.url);
    unknown.send({ type: "auth", publicKey: stranger.publicKey, signature: signAuth(stranger, "gpumesh-test", unknown.hello.nonce), agentVersion: "t" });
    expect((await unknown.next("error")).code).toBe("UNKNOWN_DEVICE");
    expect((await unknown.closedWith()).code).toBe(4410);

    const early = await RawAgent.connect(gateway.url);
    early.send({ type: "heartbeat", seq: 1, sentAt: new Date().toISOString(), running: [] });
    expect((await early.next("error")).code).toBe("AUTH_REQUIRED");

    const silent = await RawAgent.connect(gateway.url);
    expect((await silent.closedWith(3_000)).code).toBe(4408);
  });

  it("records the agent's runtime at every connection: images or not; an agent that does not say cannot run them", async () => {
    const { key, deviceId } = await joinedDevice();
    const runsImages = async () => (await db.device.findUniqueOrThrow({ where: { id: deviceId } })).runsImages;
    expect(await runsImages()).toBe(false); // joined, never connected
    const connectAs = async (options: { runsImages?: boolean }) => {
      const client = new GatewayClient(gateway.url, key, { agentVersion: "test", running: () => [], ...options });
      const connected = new Promise<void>((resolve) => client.once("connected", () => resolve()));
      client.start();
      await connected;
      await client.stop();
    };
    // `gpumesh-agent start --runtime docker`: recorded before the welcome, so placement sees it at once.
    await connectAs({ runsImages: true });
    expect(await runsImages()).toBe(true);
    // Restarted with the process runtime.
    await connectAs({ runsImages: false });
    expect(await runsImages()).toBe(false);
    await connectAs({ runsImages: true });
    // An agent from before the field says nothing: taken as no images (it may be the process runtime).
    const { agent } = await RawAgent.authenticated(gateway.url, key);
    expect(await runsImages()).toBe(false);
    agent.close();
    // A malformed claim is no auth at all.
    const liar = await RawAgent.connect(gateway.url);
    liar.send({ type: "auth", publicKey: key.publicKey, signature: signAuth(key, "gpumesh-test", liar.hello.nonce), agentVersion: "t", runsImages: "yes" });
    expect((await liar.next("error")).code).toBe("BAD_MESSAGE");
    expect(await runsImages()).toBe(false);
    liar.close();
  });

  it("keeps one connection per device: a second connection with the same key replaces the first", async () => {
    const { key } = await joinedDevice();
    const { agent: first } = await RawAgent.authenticated(gateway.url, key);
    const { agent: second } = await RawAgent.authenticated(gateway.url, key);
    expect((await first.next("error")).code).toBe("REPLACED");
    expect((await first.closedWith()).code).toBe(4409);
    second.send({ type: "heartbeat", seq: 1, sentAt: new Date().toISOString(), running: [] });
    await second.next("heartbeat-ack");
    second.close();
  });
});

describe("after authentication", () => {
  it("stamps heartbeats with the gateway's clock (a future sentAt changes nothing) and refuses replayed seq", async () => {
    const { key, deviceId } = await joinedDevice();
    const { agent } = await RawAgent.authenticated(gateway.url, key);
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const before = Date.now();
    agent.send({ type: "heartbeat", seq: 5, sentAt: future, running: [] });
    const ack = await agent.next("heartbeat-ack");
    expect(Math.abs(Date.parse(ack.serverTime) - Date.now())).toBeLessThan(2_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const score = Number(await redis.zscore(gatewayKeys(prefix).live, deviceId));
    expect(score).toBeGreaterThanOrEqual(before);
    expect(score).toBeLessThanOrEqual(Date.now());
    const row = await db.device.findUniqueOrThrow({ where: { id: deviceId } });
    expect(row.lastHeartbeatAt!.getTime()).toBeLessThanOrEqual(Date.now());

    agent.send({ type: "heartbeat", seq: 5, sentAt: new Date().toISOString(), running: [] });
    expect(await agent.next("error")).toMatchObject({ code: "REPLAYED", seq: 5 });
    agent.send({ type: "heartbeat", seq: 4, sentAt: new Date().toISOString(), running: [] });
    expect(await agent.next("error")).toMatchObject({ code: "REPLAYED", seq: 4 });
    agent.send({ type: "heartbeat", seq: 6, sentAt: new Date().toISOString(), running: [] });
    expect((await agent.next("heartbeat-ack")).seq).toBe(6);
    agent.close();
  });

  it("delivers assignments durably and accepts an ack only from the device it was assigned to", async () => {
    const a = await joinedDevice();
    const b = await joinedDevice();
    const work = assignment(a.deviceId);
    // Assigned while A is offline: delivered when it connects.
    await outbox.assign(a.deviceId, work);
    const { agent: agentA } = await RawAgent.authenticated(gateway.url, a.key);
    expect((await agentA.next("assign")).assignment.allocationId).toBe(work.allocationId);
    // Reconnecting before answering: delivered again.
    agentA.close();
    const { agent: againA } = await RawAgent.authenticated(gateway.url, a.key);
    expect((await againA.next("assign")).assignment.allocationId).toBe(work.allocationId);

    const { agent: agentB } = await RawAgent.authenticated(gateway.url, b.key);
    agentB.send({ type: "ack", seq: 1, allocationId: work.allocationId, accepted: false, reason: "sabotage" });
    expect(await agentB.next("error")).toMatchObject({ code: "NOT_YOURS", seq: 1 });
    expect((await inbox()).filter((e) => e.response?.allocationId === work.allocationId)).toEqual([]);

    const before = Date.now();
    againA.send({ type: "ack", seq: 1, allocationId: work.allocationId, accepted: true });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const responses = (await inbox()).filter((e) => e.response?.allocationId === work.allocationId);
    expect(responses).toHaveLength(1);
    expect(responses[0]!.response).toMatchObject({ deviceId: a.deviceId, accepted: true, allocationId: work.allocationId });
    expect(Date.parse(responses[0]!.response!.at)).toBeGreaterThanOrEqual(before);
    // Answered once: a second ack is refused and records nothing.
    againA.send({ type: "ack", seq: 2, allocationId: work.allocationId, accepted: false });
    expect(await againA.next("error")).toMatchObject({ code: "NOT_YOURS", seq: 2 });
    expect((await inbox()).filter((e) => e.response?.allocationId === work.allocationId)).toHaveLength(1);
    againA.close();
    agentB.close();
  });

  it("sends a revoke before any new work, drops the unanswered assignment, and keeps the revoke until confirmed", async () => {
    const a = await joinedDevice();
    const old = assignment(a.deviceId);
    await outbox.assign(a.deviceId, old);
    await outbox.revoke(a.deviceId, old.allocationId, "cluster ended");
    // A revoked allocation is never assigned again.
    expect(await outbox.assign(a.deviceId, old)).toBe(false);
    const fresh = assignment(a.deviceId);
    await outbox.assign(a.deviceId, fresh);
    const { agent } = await RawAgent.authenticated(gateway.url, a.key);
    await agent.next("revoke");
    await agent.next("assign");
    const order = agent.frames.filter((f) => f.type === "revoke" || f.type === "assign").map((f) => (f.type === "revoke" ? `revoke:${f.allocationId}` : `assign:${f.assignment.allocationId}`));
    expect(order).toEqual([`revoke:${old.allocationId}`, `assign:${fresh.allocationId}`]);
    agent.send({ type: "revoked", seq: 1, allocationId: old.allocationId });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(Object.keys(await redis.hgetall(gatewayKeys(prefix).outbox(a.deviceId)))).toEqual([`assign:${fresh.allocationId}`]);
    agent.close();
  });

  it("refuses proof answers for another device's challenge", async () => {
    const a = await joinedDevice();
    const b = await joinedDevice();
    const challengeId = randomUUID();
    const seed = "ab".repeat(32);
    await outbox.challenge(a.deviceId, { challengeId, deviceId: a.deviceId, kind: "GPU_GEMM", seed, matrixSize: 16, deadlineAt: new Date(Date.now() + 60_000).toISOString() });
    const { agent: agentB } = await RawAgent.authenticated(gateway.url, b.key);
    const commitment = { type: "commitment", challengeId, deviceId: a.deviceId, seed, matrixSize: 16, root: "cd".repeat(32), elapsedMs: 0 };
    agentB.send({ type: "commitment", seq: 1, commitment });
    expect((await agentB.next("error")).code).toBe("NOT_YOURS");
    // Naming itself does not help either: the challenge is not in B's outbox.
    agentB.send({ type: "commitment", seq: 2, commitment: { ...commitment, deviceId: b.deviceId } });
    expect((await agentB.next("error")).code).toBe("NOT_YOURS");
    expect((await inbox()).filter((e) => e.kind === "commitment")).toEqual([]);
    agentB.close();
  });

  it("a draining agent takes its device offline at once, and a heartbeat before the drain does not bring it back", async () => {
    const a = await joinedDevice();
    await db.device.update({ where: { id: a.deviceId }, data: { status: "ONLINE" } });
    const { agent } = await RawAgent.authenticated(gateway.url, a.key);
    agent.send({ type: "heartbeat", seq: 1, sentAt: new Date().toISOString(), running: [] });
    await agent.next("heartbeat-ack");
    agent.send({ type: "drain", seq: 2, reason: "SIGTERM" });
    await expect.poll(async () => (await db.device.findUniqueOrThrow({ where: { id: a.deviceId } })).status).toBe("OFFLINE");
    agent.send({ type: "heartbeat", seq: 3, sentAt: new Date().toISOString(), running: [] });
    await agent.next("heartbeat-ack");
    await gateway.flushRollup();
    expect((await db.device.findUniqueOrThrow({ where: { id: a.deviceId } })).status).toBe("OFFLINE");
    agent.close();
  });

  it("a device removed while connected is cut off at the next rollup even if the removal's notice never came", async () => {
    const a = await joinedDevice();
    await db.device.update({ where: { id: a.deviceId }, data: { status: "ONLINE" } });
    const { agent } = await RawAgent.authenticated(gateway.url, a.key);
    // What the web app's removal writes, without its Redis notice.
    await db.device.update({ where: { id: a.deviceId }, data: { agentPublicKey: null, status: "OFFLINE" } });
    agent.send({ type: "heartbeat", seq: 1, sentAt: new Date().toISOString(), running: [] });
    await agent.next("heartbeat-ack");
    await gateway.flushRollup();
    expect((await agent.next("error")).code).toBe("UNKNOWN_DEVICE");
    expect((await agent.closedWith()).code).toBe(4410);
    expect((await db.device.findUniqueOrThrow({ where: { id: a.deviceId } })).status).toBe("OFFLINE");
  });

  it("an agent signs only for the network it joined", async () => {
    const { key } = await joinedDevice();
    const client = new GatewayClient(gateway.url, key, { agentVersion: "test", running: () => [], audience: "gpumesh-mainnet" });
    const refused = new Promise<string>((resolve) => client.on("refused", (error) => resolve(error.message)));
    client.start();
    expect(await refused).toMatch(/joined "gpumesh-mainnet"; not signing/);
    await client.stop();
    expect(client.deviceId).toBeUndefined();
  });

  it("refuses malformed frames without closing", async () => {
    const { key } = await joinedDevice();
    const { agent } = await RawAgent.authenticated(gateway.url, key);
    agent.socket.send("{not json");
    expect((await agent.next("error")).code).toBe("BAD_MESSAGE");
    agent.send({ type: "ack", seq: 1, allocationId: "not-a-uuid", accepted: true });
    expect((await agent.next("error")).code).toBe("BAD_MESSAGE");
    agent.send({ type: "heartbeat", seq: 2, sentAt: new Date().toISOString(), running: [] });
    await agent.next("heartbeat-ack");
    agent.close();
  });
});

it("dev device keys are deterministic", () => {
  expect(devDeviceKey(3).publicKey).toBe(devDeviceKey(3).publicKey);
  expect(devDeviceKey(3).publicKey).not.toBe(devDeviceKey(4).publicKey);
});
