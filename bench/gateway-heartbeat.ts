/**
 * Heartbeats through the real agent gateway (issue #11), and the liveness store alone at a million
 * devices.
 *
 * 1. Gateway: a throwaway Postgres (migrated, D devices with dev keys) and Redis; the gateway runs as
 *    its own process (apps/gateway/src/main.ts, as in production); this process opens D WebSockets,
 *    authenticates each with its device key (the real challenge–response), then offers R heartbeats
 *    per second for S seconds spread over the connections (open loop, every 5 ms). Measured: acks per
 *    second and ack latency (send → heartbeat-ack, which the gateway sends after recording the beat
 *    for Redis), p50/p99. The load generator shares the machine's 2 cores with the gateway, Redis and
 *    Postgres, so the figure is a floor for the gateway alone.
 * 2. Liveness store alone: Liveness.beat (one ZADD GT of 1,000 members per call, 8 calls in flight)
 *    over 1,000,000 device ids, N beats: beats per second. 1M devices every 15 s need 66,667/s.
 * Baseline (same process, same Postgres): today's path before the gateway, one UPDATE per heartbeat
 * (writeHeartbeats with one row, 4 writers); ratios are gateway and liveness rates over it.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { devDeviceKey, GatewayMessage, Liveness, parseFrame, signAuth } from "@gpumesh/agent-protocol";
import { createDb, insertInChunks, migrate, seedCatalogue, type Db } from "@gpumesh/db";
import { baselineRate } from "./heartbeat.ts";
import { freePort, startPostgres, startRedis, throwawayDataDir } from "@gpumesh/devstack";
import { Redis } from "ioredis";
import WebSocket from "ws";

export interface GatewayBenchOptions {
  devices: number;
  ratePerSec: number;
  seconds: number;
  livenessDevices: number;
  livenessBeats: number;
  baselineSeconds: number;
  log?: (line: string) => void;
}

export const GATEWAY_FULL: GatewayBenchOptions = { devices: 2_000, ratePerSec: 25_000, seconds: 10, livenessDevices: 1_000_000, livenessBeats: 3_000_000, baselineSeconds: 5 };
export const GATEWAY_QUICK: GatewayBenchOptions = { devices: 500, ratePerSec: 10_000, seconds: 3, livenessDevices: 1_000_000, livenessBeats: 1_000_000, baselineSeconds: 2 };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

async function seedDevices(db: Db, count: number): Promise<string[]> {
  await seedCatalogue(db);
  const account = await db.account.create({ data: { walletAddress: "BenchGatewaySupplier".padEnd(44, "1") } });
  const supplier = await db.supplier.create({ data: { accountId: account.id, name: "gateway-bench" } });
  const ids: string[] = [];
  const rows = Array.from({ length: count }, (_, i) => {
    const id = randomUUID();
    ids.push(id);
    return {
      id, supplierId: supplier.id, name: `gw-${i}`, gpuModelId: "rtx-4090", gpuCount: 1, vramGb: 24, cpuModel: "Ryzen", cpuCores: 16, ramGb: 64, diskGb: 2048,
      region: "eu-west", country: "DE", city: "Berlin", bandwidthUpMbps: 1_000, bandwidthDownMbps: 1_000, pricePerGpuHour: 400_000n, status: "ONLINE" as const,
      agentPublicKey: devDeviceKey(i).publicKey,
    };
  });
  await insertInChunks(rows, (data) => db.device.createMany({ data }), { columns: 33 });
  return ids;
}

interface Connection {
  socket: WebSocket;
  seq: number;
  sent: Map<number, number>;
}

async function connect(url: string, index: number, audience: string, onAck: (ms: number) => void): Promise<Connection> {
  const key = devDeviceKey(index);
  const socket = new WebSocket(`${url.replace(/^http/, "ws")}/agent`);
  const connection: Connection = { socket, seq: 0, sent: new Map() };
  await new Promise<void>((resolve, reject) => {
    socket.on("message", (data) => {
      const message = parseFrame(GatewayMessage, data.toString());
      if (!message) return;
      if (message.type === "hello") socket.send(JSON.stringify({ type: "auth", publicKey: key.publicKey, signature: signAuth(key, audience, message.nonce), agentVersion: "bench" }));
      else if (message.type === "welcome") resolve();
      else if (message.type === "heartbeat-ack") {
        const sent = connection.sent.get(message.seq);
        connection.sent.delete(message.seq);
        if (sent !== undefined) onAck(performance.now() - sent);
      } else if (message.type === "error") reject(new Error(`${message.code}: ${message.message}`));
    });
    socket.on("error", reject);
  });
  return connection;
}

export async function runGatewayBench(options: GatewayBenchOptions = GATEWAY_FULL): Promise<void> {
  const log = options.log ?? ((line: string) => console.log(line));
  const postgres = await startPostgres({ dataDir: await throwawayDataDir("bench-gateway"), port: await freePort(), database: "bench", persistent: false });
  const redisServer = await startRedis({ port: await freePort() });
  const db = createDb(postgres.url, { max: 4 });
  const gatewayPort = await freePort();
  const audience = "gpumesh-bench";
  const gateway = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: path.join(root, "apps/gateway"),
    env: { ...process.env, DATABASE_URL: postgres.url, REDIS_URL: redisServer.url, GATEWAY_PORT: String(gatewayPort), GATEWAY_AUDIENCE: audience, LOG_LEVEL: "warn" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const connections: Connection[] = [];
  const redis = new Redis(redisServer.url);
  try {
    await migrate(postgres.url);
    const ids = await seedDevices(db, options.devices);
    const url = `http://127.0.0.1:${gatewayPort}`;
    for (let attempt = 0; ; attempt++) {
      try {
        if ((await fetch(`${url}/health`)).ok) break;
      } catch {
        if (attempt > 100) throw new Error("the gateway did not start");
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const latencies: number[] = [];
    let acks = 0;
    let measuring = false;
    const onAck = (ms: number) => {
      if (!measuring) return;
      acks++;
      latencies.push(ms);
    };
    const authStarted = performance.now();
    for (let i = 0; i < options.devices; i += 100) {
      connections.push(...(await Promise.all(Array.from({ length: Math.min(100, options.devices - i) }, (_, j) => connect(url, i + j, audience, onAck)))));
    }
    log(`${options.devices} agents authenticated over WebSockets in ${((performance.now() - authStarted) / 1000).toFixed(1)} s (ed25519 challenge–response each)`);

    const beat = (connection: Connection) => {
      const seq = ++connection.seq;
      connection.sent.set(seq, performance.now());
      connection.socket.send(`{"type":"heartbeat","seq":${seq},"sentAt":"${new Date().toISOString()}","running":[]}`);
    };
    // Warm-up, then the measured window.
    for (const connection of connections) beat(connection);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    measuring = true;
    let offered = 0;
    let next = 0;
    const started = performance.now();
    const perTick = options.ratePerSec / 200;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const elapsed = performance.now() - started;
        if (elapsed >= options.seconds * 1000) return resolve();
        const due = Math.floor((elapsed / 5 + 1) * perTick) - offered;
        for (let i = 0; i < due; i++) beat(connections[next++ % connections.length]!);
        offered += Math.max(0, due);
        setTimeout(tick, 5);
      };
      tick();
    });
    const windowSeconds = (performance.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // acks in flight
    measuring = false;
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
    const gatewayRate = acks / windowSeconds;
    const baseline = await baselineRate(db, ids, 4, options.baselineSeconds);
    log(`gateway: offered ${offered} heartbeats in ${windowSeconds.toFixed(1)} s (${(offered / windowSeconds).toFixed(0)}/s); acked ${acks} → ${gatewayRate.toFixed(0)}/s, ack latency p50 ${q(0.5).toFixed(1)} ms p99 ${q(0.99).toFixed(1)} ms max ${(latencies.at(-1) ?? 0).toFixed(1)} ms (goal ≥ 20,000/s: ${gatewayRate >= 20_000 ? "met" : "NOT met"})`);
    log(`baseline, one UPDATE per heartbeat (4 writers): ${baseline.toFixed(0)}/s → the gateway path is ${(gatewayRate / baseline).toFixed(1)}× it`);
    const live = await redis.zcard("gw:live");
    log(`liveness entries after the run: ${live} of ${options.devices} devices`);

    // 2. The liveness store alone at a million devices.
    const liveness = new Liveness(redis, "bench");
    const members = Array.from({ length: options.livenessDevices }, (_, i) => `device-${i}`);
    const batch = 1_000;
    let cursor = 0;
    const livenessStarted = performance.now();
    let written = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (written < options.livenessBeats) {
          const slice: { deviceId: string; at: number }[] = [];
          const at = Date.now();
          for (let i = 0; i < batch; i++) slice.push({ deviceId: members[cursor++ % members.length]!, at });
          written += batch;
          await liveness.beat(slice);
        }
      }),
    );
    const livenessSeconds = (performance.now() - livenessStarted) / 1000;
    const livenessRate = written / livenessSeconds;
    const memory = await redis.memory("USAGE", "bench:live");
    log(
      `liveness store alone: ${written} beats over ${options.livenessDevices} devices in ${livenessSeconds.toFixed(2)} s → ${livenessRate.toFixed(0)}/s (1M devices every 15 s need 66,667/s; goal ≥ 200,000/s: ${livenessRate >= 200_000 ? "met" : "NOT met"}); the set holds ${await redis.zcard("bench:live")} devices in ${((memory ?? 0) / 1024 / 1024).toFixed(0)} MiB; ${(livenessRate / baseline).toFixed(0)}× the one-UPDATE baseline`,
    );
  } finally {
    for (const connection of connections) connection.socket.terminate();
    gateway.kill("SIGTERM");
    await new Promise((resolve) => gateway.once("exit", resolve));
    redis.disconnect();
    await db.$disconnect();
    await redisServer.stop();
    await postgres.stop();
  }
}
