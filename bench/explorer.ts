/**
 * Explorer benchmark (issue #12): latency of the explorer's endpoint handlers — the headline
 * (GET /api/v1/network), deployable capacity (GET /api/v1/capacity, default and filtered), GPU model
 * markets (/models) and one metric's 24 h history (/network/history) — at 100,000 devices and
 * 10,000,000 usage records, against the old per-request path (`networkSummary`, which groups every
 * device per request) as the baseline in the same process and Postgres. Goal: p99 under 20 ms.
 *
 * Method: a throwaway embedded Postgres, migrated; devices, suppliers, clusters, allocations (40 % of
 * the online GPU devices busy) and usage records written by SQL generate_series (seeded by row number,
 * so every run writes the same network); rollup history as a long-running network has it (2 days of
 * minute buckets, 1 year of hour buckets for the network, every model and every region), then one real
 * rollup run (`runExplorerRollup`, timed: the scheduler's cost per tick), then ANALYZE. Each handler is
 * the same db read the route's service calls plus the route's JSON serialisation (bigints as strings);
 * Next's own request handling is not included. Timed sequentially (one request at a time) after a
 * warm-up.
 */
import os from "node:os";
import { deployableCapacity, explorerHeadline, createDb, migrate, modelMarkets, networkHistory, networkSummary, runExplorerRollup, seedCatalogue, type Db } from "@gpumesh/db";
import { freePort, startPostgres, throwawayDataDir } from "@gpumesh/devstack";

export interface ExplorerBenchOptions {
  devices: number;
  usageRecords: number;
  requests: number;
  baselineRequests: number;
  log?: (line: string) => void;
}

export const EXPLORER_FULL: ExplorerBenchOptions = { devices: 100_000, usageRecords: 10_000_000, requests: 500, baselineRequests: 100 };
export const EXPLORER_QUICK: ExplorerBenchOptions = { devices: 10_000, usageRecords: 500_000, requests: 200, baselineRequests: 50 };

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const toJson = (value: unknown) => JSON.stringify(value, (_key, inner: unknown) => (typeof inner === "bigint" ? inner.toString() : inner));

async function timeIt(requests: number, handler: () => Promise<unknown>): Promise<{ p50: number; p99: number; max: number }> {
  for (let i = 0; i < Math.min(20, requests); i++) toJson(await handler()); // warm-up: plans, pool, JIT
  const times: number[] = [];
  for (let i = 0; i < requests; i++) {
    const started = performance.now();
    toJson(await handler());
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), max: times.at(-1) ?? 0 };
}

/** The network, written by SQL: row i's attributes are functions of i (the same network every run). */
async function seed(db: Db, options: ExplorerBenchOptions) {
  await seedCatalogue(db);
  const suppliers = Math.max(48, Math.round(options.devices / 25));
  await db.$executeRawUnsafe(`
    insert into account (id, wallet_address) select gen_random_uuid(), 'BenchExplorer' || lpad(i::text, 31, '0') from generate_series(1, ${suppliers}) i`);
  await db.$executeRawUnsafe(`
    insert into supplier (id, account_id, name) select gen_random_uuid(), id, 'supplier ' || wallet_address from account where wallet_address like 'BenchExplorer%'`);
  await db.$executeRawUnsafe(`
    with s as (select id, row_number() over (order by id) as n from supplier),
         m as (select id, row_number() over (order by id) as n, count(*) over () as total from gpu_model),
         r as (select * from unnest(array['us-east','us-central','us-west','ca-central','sa-east','eu-west','eu-central','eu-north','ap-northeast','ap-southeast','ap-south','au-east','af-south']) with ordinality as r(id, n))
    insert into device (id, supplier_id, name, gpu_model_id, gpu_count, vram_gb, cpu_model, cpu_cores, ram_gb, disk_gb, region, country, city,
                        bandwidth_up_mbps, bandwidth_down_mbps, connectivity_tier, status, price_per_gpu_hour, verification_score_bps, last_heartbeat_at)
    select gen_random_uuid(), s.id, 'device ' || i, m.id, (array[1, 2, 4, 8, 8, 16])[1 + i % 6], 80, 'EPYC', 64, 512, 4000, r.id, 'US', 'city ' || (i % 40),
           -- One link per tier (core connectivityTierFor): LOW, MEDIUM, HIGH, ULTRA_HIGH.
           (array[1000, 4000, 8000, 16000])[1 + i % 4], (array[1000, 4000, 8000, 16000])[1 + i % 4],
           (array['LOW', 'MEDIUM', 'HIGH', 'ULTRA_HIGH'])[1 + i % 4]::"ConnectivityTier",
           (case when i % 10 < 8 then 'ONLINE' when i % 10 = 8 then 'OFFLINE' else 'REGISTERED' end)::"DeviceStatus",
           800000 + (i * 7919) % 2000000, (array[0, 6000, 9000, 10000])[1 + i % 4], now()
      from generate_series(1, ${options.devices}) i
      join s on s.n = 1 + i % ${suppliers}
      join m on m.n = 1 + i % m.total
      join r on r.n = 1 + i % 13`);
  // 40 % of the online GPU devices serve a running cluster (one cluster per 10 allocations).
  const renter = await db.account.create({ data: { walletAddress: "BenchExplorerRenter".padEnd(44, "1") } });
  await db.$executeRawUnsafe(`
    create temporary table busy as
      select id as device_id, gpu_count, price_per_gpu_hour, row_number() over (order by id) as n from device where status = 'ONLINE' and id::text < '66666666'`);
  await db.$executeRawUnsafe(`
    insert into cluster (id, renter_id, name, type, gpu_model_ids, gpu_count, regions, duration_hours, price_per_second, deposit_amount, status, started_at, created_at, updated_at)
    select gen_random_uuid(), '${renter.id}', 'bench ' || c, 'RAY', array['h100-80gb'], 8, array['us-east'], 24, 100, 8640000, 'RUNNING',
           now() - interval '2 hours', now() - interval '2 hours', now()
      from generate_series(1, (select ceil(count(*) / 10.0)::int from busy)) c`);
  await db.$executeRawUnsafe(`
    with c as (select id, row_number() over (order by id) as n from cluster)
    insert into allocation (id, cluster_id, device_id, gpu_count, price_per_gpu_hour, starts_at, ends_at, status)
    select gen_random_uuid(), c.id, b.device_id, greatest(b.gpu_count, 1), b.price_per_gpu_hour, now() - interval '2 hours', now() + interval '22 hours', 'ACTIVE'
      from busy b join c on c.n = 1 + (b.n - 1) / 10`);
  // Usage records: one per allocation and hour, hours back in time, until there are enough of them.
  const allocations = await db.allocation.count();
  const perAllocation = Math.ceil(options.usageRecords / allocations);
  await db.$executeRawUnsafe(`
    insert into usage_record (id, allocation_id, cluster_id, device_id, period_start, period_end, gpu_seconds, amount)
    select gen_random_uuid(), a.id, a.cluster_id, a.device_id, a.starts_at - (h || ' hours')::interval, a.starts_at - ((h - 1) || ' hours')::interval, 3600 * a.gpu_count, 2000000
      from (select * from allocation order by id) a cross join generate_series(1, ${perAllocation}) h
     limit ${options.usageRecords}`);
  // Rollup history as a long-running network has it: 2 days of minutes and a year of hours.
  for (const [resolution, step, count] of [["minute", "1 minute", 2 * 24 * 60], ["hour", "1 hour", 365 * 24]] as const) {
    const bucket = resolution === "minute" ? "date_trunc('minute', now())" : "date_trunc('hour', now())";
    await db.$executeRawUnsafe(`
      insert into network_snapshot select '${resolution}', ${bucket} - (k || ' ${step.split(" ")[1]}')::interval, now(), 2000, 100000, 80000, 30000, 500000, 400000, 390000, 150000,
             6000000, 5000000, 3000, 123456789, 987654, 4566000000, 1000000, 1000000000000, 50000000, 100, 95, 3, 40, 120, 0, 0
        from generate_series(1, ${count}) k`);
    await db.$executeRawUnsafe(`
      insert into model_snapshot select '${resolution}', ${bucket} - (k || ' ${step.split(" ")[1]}')::interval, m.id, 12000, 60000, 50000, 20000, 800000, 1200000, 1300000
        from generate_series(1, ${count}) k cross join gpu_model m`);
    await db.$executeRawUnsafe(`
      insert into region_snapshot select '${resolution}', ${bucket} - (k || ' ${step.split(" ")[1]}')::interval, r, 7000, 35000, 30000, 12000, 800000, 1200000, 1300000
        from generate_series(1, ${count}) k cross join unnest(array['us-east','us-central','us-west','ca-central','sa-east','eu-west','eu-central','eu-north','ap-northeast','ap-southeast','ap-south','au-east','af-south']) r`);
  }
}

export async function runExplorerBench(options: ExplorerBenchOptions) {
  const log = options.log ?? console.log;
  const postgres = await startPostgres({ dataDir: await throwawayDataDir("bench-explorer"), port: await freePort(), database: "bench", persistent: false });
  const db = createDb(postgres.url, { max: 4 });
  try {
    await migrate(postgres.url);
    let started = Date.now();
    await seed(db, options);
    log(`seeded ${options.devices.toLocaleString("en-US")} devices, ${(await db.usageRecord.count()).toLocaleString("en-US")} usage records, ${(await db.allocation.count()).toLocaleString("en-US")} busy devices in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    await db.$executeRawUnsafe("analyze");
    started = Date.now();
    const run = await runExplorerRollup(db, { minVerificationScoreBps: 5_000, now: new Date() });
    const rollupMs = Date.now() - started;
    log(`one rollup run (the scheduler's tick): ${rollupMs} ms, ${run.capacityRows} capacity rows`);
    const load0 = os.loadavg()[0]!;
    const handlers: [string, () => Promise<unknown>, number][] = [
      ["GET /api/v1/network (headline)", () => explorerHeadline(db), options.requests],
      ["GET /api/v1/capacity (default filters)", () => deployableCapacity(db, {}), options.requests],
      ["GET /api/v1/capacity?model=h100-80gb&region=eu-west&tier=HIGH&verification=high", () => deployableCapacity(db, { gpuModelId: "h100-80gb", region: "eu-west", connectivityTier: "HIGH", verification: "high" }), options.requests],
      ["GET /api/v1/models", () => modelMarkets(db), options.requests],
      ["GET /api/v1/network/history?metric=gpusOnline&range=24h", () => networkHistory(db, "gpusOnline", "24h"), options.requests],
      ["baseline: networkSummary per request (the old GET /api/v1/network)", () => networkSummary(db), options.baselineRequests],
    ];
    const results = [];
    for (const [name, handler, requests] of handlers) {
      const timed = await timeIt(requests, handler);
      results.push({ name, requests, ...timed });
      log(`${name}: p50 ${timed.p50.toFixed(1)} ms, p99 ${timed.p99.toFixed(1)} ms, max ${timed.max.toFixed(1)} ms (${requests} requests)`);
    }
    const load1 = os.loadavg()[0]!;
    log(`load average (1 min) ${load0.toFixed(2)} → ${load1.toFixed(2)}`);
    const worst = Math.max(...results.slice(0, -1).map((r) => r.p99));
    log(`goal p99 < 20 ms for the explorer handlers: ${worst < 20 ? "met" : "NOT met"} (worst p99 ${worst.toFixed(1)} ms)`);
    return { rollupMs, results, load: [load0, load1] };
  } finally {
    await db.$disconnect();
    await postgres.stop();
  }
}
