/**
 * Heartbeat ingest benchmark (issue #5): sustained heartbeats per second into Postgres, with the
 * latency until each heartbeat is durable (p50/p99).
 *
 * Method: a throwaway embedded Postgres, migrated, with D devices. A producer offers R heartbeats per
 * second for S seconds (every 5 ms a slice of R/200 heartbeats for random devices) to one
 * `HeartbeatBatcher` (packages/db/src/heartbeats.ts: in-memory coalescing, one UPDATE … FROM unnest
 * per batch in device-id order, at most 2 batches in flight). Latency runs from `record()` to the resolution of
 * its promise (the batch containing it has committed). Achieved rate = heartbeats resolved / wall time.
 *
 * Baseline, same process and database: one UPDATE per heartbeat (the same `writeHeartbeats` statement
 * with one row) from as many concurrent writers as the pool has connections, for `baselineSeconds`;
 * the ratio is batched / baseline heartbeats per second.
 */
import { randomUUID } from "node:crypto";
import { createDb, HeartbeatBatcher, insertInChunks, migrate, seedCatalogue, writeHeartbeats, type Db } from "@gpumesh/db";
import { freePort, startPostgres, throwawayDataDir } from "@gpumesh/devstack";

export interface HeartbeatBenchOptions {
  devices: number;
  ratePerSec: number;
  seconds: number;
  maxBatch: number;
  maxDelayMs: number;
  /** Seconds of the one-UPDATE-per-heartbeat baseline. */
  baselineSeconds: number;
  log?: (line: string) => void;
}

export const HEARTBEAT_FULL: HeartbeatBenchOptions = { devices: 50_000, ratePerSec: 25_000, seconds: 10, maxBatch: 5_000, maxDelayMs: 25, baselineSeconds: 5 };
export const HEARTBEAT_QUICK: HeartbeatBenchOptions = { devices: 10_000, ratePerSec: 20_000, seconds: 3, maxBatch: 5_000, maxDelayMs: 25, baselineSeconds: 2 };

export interface HeartbeatBenchResult {
  offered: number;
  completed: number;
  seconds: number;
  heartbeatsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  baselinePerSec: number;
  /** heartbeatsPerSec / baselinePerSec. */
  ratio: number;
}

/** One UPDATE per heartbeat, `writers` at a time, for `seconds`: heartbeats per second. */
export async function baselineRate(db: Db, ids: readonly string[], writers: number, seconds: number): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  let state = 11;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < until) {
        await writeHeartbeats(db, [{ deviceId: ids[((state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0) % ids.length)]!, at: new Date() }]);
        done++;
      }
    }),
  );
  return done / seconds;
}

async function seedDevices(db: Db, count: number): Promise<string[]> {
  await seedCatalogue(db);
  const account = await db.account.create({ data: { walletAddress: "BenchHeartbeatSupplier".padEnd(44, "1") } });
  const supplier = await db.supplier.create({ data: { accountId: account.id, name: "heartbeat-bench" } });
  const ids: string[] = [];
  for (let offset = 0; offset < count; offset += 5_000) {
    const rows = Array.from({ length: Math.min(5_000, count - offset) }, (_, i) => {
      const id = randomUUID();
      ids.push(id);
      return {
        id, supplierId: supplier.id, name: `hb-${offset + i}`, gpuModelId: "rtx-4090", gpuCount: 1, vramGb: 24, cpuModel: "Ryzen", cpuCores: 16,
        ramGb: 64, diskGb: 2048, region: "eu-west", country: "DE", city: "Berlin", bandwidthUpMbps: 1_000, bandwidthDownMbps: 1_000,
        pricePerGpuHour: 400_000n, status: "ONLINE" as const,
      };
    });
    // One statement per slice: a createMany of 5,000 devices is split by Prisma into INSERTs run at once on one connection (chunks.ts).
    await insertInChunks(rows, (data) => db.device.createMany({ data }), { columns: 32 });
  }
  return ids;
}

export async function runHeartbeatBench(options: HeartbeatBenchOptions = HEARTBEAT_FULL): Promise<HeartbeatBenchResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const postgres = await startPostgres({ dataDir: await throwawayDataDir("bench-heartbeat"), port: await freePort(), database: "bench", persistent: false });
  const db = createDb(postgres.url, { max: 4 });
  try {
    await migrate(postgres.url);
    const ids = await seedDevices(db, options.devices);
    const batcher = new HeartbeatBatcher(db, { maxBatch: options.maxBatch, maxDelayMs: options.maxDelayMs });
    // Warm-up (connection, plan cache).
    await Promise.all(ids.slice(0, 2_000).map((id) => batcher.record(id)));
    log(`${options.devices} devices, offering ${options.ratePerSec} heartbeats/s for ${options.seconds} s (batch ≤ ${options.maxBatch}, ≤ ${options.maxDelayMs} ms)`);
    const latencies: number[] = [];
    const inflight: Promise<void>[] = [];
    let offered = 0;
    let state = 7;
    const pick = () => ids[((state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0) % ids.length)]!;
    const started = performance.now();
    const tickMs = 5;
    const perTick = options.ratePerSec / (1000 / tickMs);
    await new Promise<void>((resolve) => {
      const tick = () => {
        const elapsed = performance.now() - started;
        if (elapsed >= options.seconds * 1000) return resolve();
        // Catch up to the offered rate even if a timer fired late (open-loop load).
        const due = Math.floor((elapsed / tickMs + 1) * perTick) - offered;
        for (let i = 0; i < due; i++) {
          const t = performance.now();
          inflight.push(batcher.record(pick()).then(() => void latencies.push(performance.now() - t)));
        }
        offered += Math.max(0, due);
        setTimeout(tick, tickMs);
      };
      tick();
    });
    await batcher.drain();
    await Promise.all(inflight);
    const seconds = (performance.now() - started) / 1000;
    const baselinePerSec = await baselineRate(db, ids, 4, options.baselineSeconds);
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
    const result: HeartbeatBenchResult = {
      offered,
      completed: latencies.length,
      seconds,
      heartbeatsPerSec: latencies.length / seconds,
      p50Ms: q(0.5),
      p99Ms: q(0.99),
      maxMs: latencies.at(-1) ?? 0,
      baselinePerSec,
      ratio: latencies.length / seconds / baselinePerSec,
    };
    log(`${result.heartbeatsPerSec.toFixed(0)} heartbeats/s sustained (${result.completed} in ${seconds.toFixed(2)} s), durable latency p50 ${result.p50Ms.toFixed(1)} ms p99 ${result.p99Ms.toFixed(1)} ms max ${result.maxMs.toFixed(1)} ms`);
    log(`baseline, one UPDATE per heartbeat (4 writers): ${baselinePerSec.toFixed(0)}/s → batched is ${result.ratio.toFixed(1)}× the baseline`);
    return result;
  } finally {
    await db.$disconnect();
    await postgres.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runHeartbeatBench(process.argv.includes("--quick") ? HEARTBEAT_QUICK : HEARTBEAT_FULL);
}
