/**
 * Reservation benchmark (issue #5): N concurrent cluster requests race for a fixed pool of GPUs,
 * driven by W scheduler workers, against a real Postgres. Each request runs the scheduler's real deploy
 * step (`advanceDeploy`: PAID → MATCHING → read candidates → match → reserve in one transaction with
 * the move to DEPLOYING, re-matching without the losers of a race; or FAILED → REFUNDED when nothing
 * fits), so a request per second here is a whole match-and-reserve round, journals included.
 *
 * Method: a throwaway embedded Postgres, migrated; one GPU model in two regions, 8-GPU devices
 * (5,000 GPUs = 625 devices) from 25 suppliers at slightly different prices. Requests ask for 8, 16
 * or 24 GPUs (mean 16), so demand (~16,000 GPUs) is about 3× supply: the tail of the run is pure
 * contention and failures. W workers = W Prisma clients with their own connection pools (as W scheduler
 * processes would have), each running C requests at a time. Agents are not involved (a no-op
 * channel): the bench measures reservation, not deployment. Afterwards a SQL self-join counts
 * overlapping ACTIVE allocations of one device (must be 0) and every cluster is checked to hold all
 * its GPUs or none.
 */
import { randomUUID } from "node:crypto";
import { GPU_MODELS } from "@gpumesh/core";
import { countDoubleBookings, createDb, LivePlacement, migrate, seedCatalogue, type Db } from "@gpumesh/db";
import { freePort, startPostgres, throwawayDataDir } from "@gpumesh/devstack";
import { postgresCpuMs } from "./quote.ts";
import { advanceDeploy, ReservationContendedError, type DeployDeps } from "../apps/scheduler/src/jobs/deploy.ts";

export interface ReservationBenchOptions {
  requests: number;
  gpus: number;
  workers: number;
  /** Concurrent requests per worker. */
  concurrency: number;
  /**
   * Where each worker places from: `index`, its own live placement index fed by the placement feed
   * (what the scheduler does), or `read`, a candidate read from Postgres per round (the baseline, and
   * the scheduler's fallback while its index is not ready).
   */
  placement?: "index" | "read";
  log?: (line: string) => void;
}

export const RESERVATION_FULL: ReservationBenchOptions = { requests: 1_000, gpus: 5_000, workers: 4, concurrency: 8 };
export const RESERVATION_QUICK: ReservationBenchOptions = { requests: 200, gpus: 1_000, workers: 4, concurrency: 4 };

export interface ReservationBenchResult {
  placement: "index" | "read";
  requests: number;
  gpus: number;
  workers: number;
  seconds: number;
  requestsPerSec: number;
  reserved: number;
  refunded: number;
  gpusReserved: number;
  p50Ms: number;
  p99Ms: number;
  doubleBookings: number;
  partialClusters: number;
  /** Requests whose reservation lost every race in one round and went round again after a backoff. */
  contendedRetries: number;
  /** Reservation statements that lost a race for a device (each costs a round trip; the job places again). */
  racesLost: number;
  /** CPU seconds (user + system) of this Node process during the timed part; Postgres runs beside it. */
  nodeCpuSeconds: number;
  /** CPU seconds of Postgres's backends and workers during the timed part (/proc; 0 off Linux). */
  postgresCpuSeconds: number;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

async function seed(db: Db, gpus: number, requests: number, rng: () => number): Promise<string[]> {
  await seedCatalogue(db);
  const model = GPU_MODELS.find((m) => m.id === "h100-80gb") ?? GPU_MODELS[0]!;
  const suppliers: string[] = [];
  for (let s = 0; s < 25; s++) {
    const account = await db.account.create({ data: { walletAddress: `BenchSupp1ier${String(s).padStart(3, "0")}`.padEnd(44, "1") } });
    suppliers.push((await db.supplier.create({ data: { accountId: account.id, name: `bench-${s}` } })).id);
  }
  const devices = Math.ceil(gpus / 8);
  const regions = ["us-east", "eu-west"];
  await db.device.createMany({
    data: Array.from({ length: devices }, (_, i) => ({
      supplierId: suppliers[i % suppliers.length]!, name: `bench-${i}`, gpuModelId: model.id, gpuCount: 8, vramGb: model.vramGb,
      cpuModel: "EPYC", cpuCores: 64, ramGb: 1024, diskGb: 8192, region: regions[i % 2]!, country: "US", city: `city-${i % 25}`,
      bandwidthUpMbps: 10_000, bandwidthDownMbps: 10_000, pricePerGpuHour: model.referencePricePerHour + BigInt(i % 7) * 10_000n,
      status: "ONLINE" as const, verificationScoreBps: 9_000, lastHeartbeatAt: new Date(),
    })),
  });
  const renter = await db.account.create({ data: { walletAddress: "BenchRenter".padEnd(44, "1") } });
  const ids: string[] = [];
  const rows = Array.from({ length: requests }, (_, i) => {
    const id = randomUUID();
    ids.push(id);
    const gpuCount = 8 * (1 + Math.floor(rng() * 3));
    return {
      id, renterId: renter.id, name: `bench-${i}`, type: "RAY" as const, gpuModelIds: [model.id], gpuCount, regions,
      supplierNetworks: ["GPUMESH" as const], durationHours: 2, pricePerSecond: 1_000n, depositAmount: 7_200_000n, status: "PAID" as const,
    };
  });
  await db.cluster.createMany({ data: rows });
  return ids;
}

export async function runReservationBench(options: ReservationBenchOptions = RESERVATION_FULL): Promise<ReservationBenchResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  let state = 20261125;
  const rng = () => ((state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
  const postgres = await startPostgres({ dataDir: await throwawayDataDir("bench-reservation"), port: await freePort(), database: "bench", persistent: false });
  const clients: Db[] = [];
  const indexes: LivePlacement[] = [];
  const placement = options.placement ?? "index";
  try {
    await migrate(postgres.url);
    const admin = createDb(postgres.url, { max: 4 });
    clients.push(admin);
    const clusterIds = await seed(admin, options.gpus, options.requests, rng);
    const noop = async () => undefined;
    const logger = { debug: noop, info: noop, warn: noop, error: noop } as unknown as DeployDeps["logger"];
    let racesLost = 0;
    const metrics: DeployDeps["metrics"] = { gangReserved: () => undefined, reservationRaceLost: () => racesLost++ };
    const config = { ackTimeoutMs: 120_000, maxReplacements: 3, maxReserveAttempts: 5, minVerificationScoreBps: 5_000 };
    const workers = await Promise.all(Array.from({ length: options.workers }, async () => {
      const db = createDb(postgres.url, { max: options.concurrency + 2 });
      clients.push(db);
      let live: LivePlacement | undefined;
      if (placement === "index") {
        live = new LivePlacement({ url: postgres.url, minVerificationScoreBps: config.minVerificationScoreBps });
        indexes.push(live);
        await live.start();
      }
      const deps: DeployDeps = {
        db,
        ...(live ? { placement: live } : {}),
        metrics,
        // One in-flight registry per worker, as each scheduler process has.
        inflight: new Set<string>(),
        logger,
        publish: noop,
        agents: { assign: noop, revoke: noop, onResponse: () => undefined, close: noop },
        schedule: { ackDeadline: noop, running: noop, endEarly: noop, leaseChanged: noop },
        config,
      };
      return deps;
    }));
    log(`${placement === "index" ? "live index" : "candidate reads"}: ${options.requests} requests for ${options.gpus} GPUs (${Math.ceil(options.gpus / 8)} devices), ${options.workers} workers × ${options.concurrency} concurrent`);
    const latencies: number[] = [];
    let next = 0;
    let retries = 0;
    const started = process.hrtime.bigint();
    const cpuBefore = process.cpuUsage();
    const postgresBefore = postgresCpuMs(postgres.pid);
    await Promise.all(
      workers.flatMap((deps) =>
        Array.from({ length: options.concurrency }, async () => {
          for (;;) {
            const index = next++;
            if (index >= clusterIds.length) return;
            const t = process.hrtime.bigint();
            // A run that lost every race is retried by BullMQ with backoff; do the same here.
            for (let attempt = 0; ; attempt++) {
              try {
                await advanceDeploy(deps, clusterIds[index]!);
                break;
              } catch (error) {
                if (!(error instanceof ReservationContendedError) || attempt >= 12) throw error;
                retries++;
                await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 20 * 2 ** attempt) * (0.5 + rng())));
              }
            }
            latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
          }
        }),
      ),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    const postgresCpuSeconds = (postgresCpuMs(postgres.pid) - postgresBefore) / 1000;
    const statuses = await admin.cluster.groupBy({ by: ["status"], _count: true });
    const count = (status: string) => statuses.find((s) => s.status === status)?._count ?? 0;
    const held = await admin.$queryRaw<{ cluster_id: string; gpus: bigint; wanted: number }[]>`
      select c.id as cluster_id, coalesce(sum(a.gpu_count) filter (where a.status = 'ACTIVE'), 0) as gpus, c.gpu_count as wanted
        from cluster c left join allocation a on a.cluster_id = c.id group by c.id`;
    const partialClusters = held.filter((h) => Number(h.gpus) !== 0 && Number(h.gpus) !== h.wanted).length;
    const gpusReserved = held.reduce((n, h) => n + Number(h.gpus), 0);
    latencies.sort((a, b) => a - b);
    const result: ReservationBenchResult = {
      placement,
      requests: options.requests,
      gpus: options.gpus,
      workers: options.workers,
      seconds,
      requestsPerSec: options.requests / seconds,
      reserved: count("DEPLOYING"),
      refunded: count("REFUNDED"),
      gpusReserved,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      doubleBookings: await countDoubleBookings(admin),
      partialClusters,
      contendedRetries: retries,
      racesLost,
      nodeCpuSeconds: (cpu.user + cpu.system) / 1e6,
      postgresCpuSeconds,
    };
    log(
      `${result.requestsPerSec.toFixed(0)} requests/s (${seconds.toFixed(2)} s), reserved ${result.reserved} clusters / ${gpusReserved} GPUs, ` +
        `refunded ${result.refunded}, latency p50 ${result.p50Ms.toFixed(1)} ms p99 ${result.p99Ms.toFixed(1)} ms, ` +
        `double bookings ${result.doubleBookings}, partial clusters ${partialClusters}, contended retries ${retries}, races lost ${racesLost}, ` +
        `CPU per request: node ${((result.nodeCpuSeconds * 1000) / options.requests).toFixed(2)} ms, postgres ${((postgresCpuSeconds * 1000) / options.requests).toFixed(2)} ms`,
    );
    if (result.doubleBookings !== 0 || partialClusters !== 0 || result.reserved + result.refunded !== options.requests) {
      throw new Error(`reservation bench: invariant violated ${JSON.stringify(result)}`);
    }
    return result;
  } finally {
    await Promise.allSettled(indexes.map((live) => live.close()));
    await Promise.allSettled(clients.map((c) => c.$disconnect()));
    await postgres.stop();
  }
}

/** The baseline (candidate reads) and the live index, back to back in one process on fresh databases. */
export async function runReservationComparison(options: ReservationBenchOptions = RESERVATION_FULL): Promise<ReservationBenchResult[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const read = await runReservationBench({ ...options, placement: "read" });
  const index = await runReservationBench({ ...options, placement: "index" });
  log(`live index vs candidate reads: ${(index.requestsPerSec / read.requestsPerSec).toFixed(2)}× the requests/s, p99 ${index.p99Ms.toFixed(0)} ms vs ${read.p99Ms.toFixed(0)} ms`);
  return [read, index];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runReservationComparison(process.argv.includes("--quick") ? RESERVATION_QUICK : RESERVATION_FULL);
}
