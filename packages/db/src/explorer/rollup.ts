import { CONNECTIVITY_TIER_RANK, deployableByRegion, emptySizes, MAX_GPUS_PER_DEVICE, type ConnectivityTier } from "@gpumesh/core";
import type { Db, DbTransaction } from "../client.ts";
import { Prisma } from "../generated/prisma/client.ts";
import { RENTABLE_DEVICE, takenProbe } from "../placement.ts";

/**
 * The explorer rollup (issue #12): one run reads the network once and writes one snapshot, so that
 * explorer requests read a handful of rows instead of grouping every device per request. The scheduler
 * runs it every EXPLORER_EVERY_S (apps/scheduler, queue `explorer`).
 *
 * - Gauges (devices, GPUs, hired, clusters running, prices, deployable shapes) are read whole: they are
 *   the network's state at this instant, O(devices) once per run, in the job, not per request.
 * - Flows are incremental: revenue reads only the settlement journals created since the previous run's
 *   watermark (journal.created_at index), minted and burned only the chain events after its `seq`
 *   cursor. The ledger watermark trails the run by SETTLE_GRACE_MS because a journal's created_at is
 *   its transaction's start and many writers settle at once: a transaction still open at the run is
 *   counted by a later run, never lost (settlement transactions time out after 30 s). The chain indexer
 *   is the only writer of chain_event and writes in seq order, so a seq cursor misses nothing.
 * - Minute buckets keep 2 days, hour buckets 1 year (both indexed by their primary key).
 */
export const MINUTE_RETENTION_MS = 2 * 24 * 3_600_000;
export const HOUR_RETENTION_MS = 365 * 24 * 3_600_000;
export const SETTLE_GRACE_MS = 60_000;
/** Shapes the explorer shows: GPUs per cluster. */
export const CAPACITY_SHAPES = [1, 8, 64] as const;
/** Connectivity filters: `*` is any tier (LOW or better: every device); a tier means that tier or better. */
export const CAPACITY_TIERS = ["*", "MEDIUM", "HIGH", "ULTRA_HIGH"] as const satisfies readonly ("*" | ConnectivityTier)[];
export type CapacityTier = (typeof CAPACITY_TIERS)[number];
/** `any`: every device; `image`: only devices whose agents run container images (placement's `runtime` constraint). */
export const CAPACITY_RUNTIMES = ["any", "image"] as const;
export type CapacityRuntime = (typeof CAPACITY_RUNTIMES)[number];
/** The stricter verification level shown beside the matcher's floor. */
export const HIGH_VERIFICATION_BPS = 9_000;
/** How long a shape is asked for: the shortest lease (an hour) starting now. */
const SHAPE_DURATION_MS = 3_600_000;

export type Resolution = "minute" | "hour";

export interface ExplorerRollupOptions {
  /** The matcher's verification floor (MIN_VERIFICATION_SCORE_BPS): below it a device is not verified. */
  minVerificationScoreBps: number;
  now?: Date;
}

export interface ExplorerRollupResult {
  bucketAt: Date;
  takenAt: Date;
  devices: number;
  capacityRows: number;
}

const floorTo = (at: Date, ms: number) => new Date(Math.floor(at.getTime() / ms) * ms);

interface DeviceGroup {
  gpu_model_id: string | null;
  region: string;
  status: string;
  gpu_count: number;
  connectivity_tier: ConnectivityTier;
  runs_images: boolean;
  verified: boolean;
  high: boolean;
  free: boolean;
  devices: number;
  cpu_cores: number;
}

interface PriceRow {
  gpu_model_id: string | null;
  region: string | null;
  min: bigint | null;
  median: bigint | null;
  avg: bigint | null;
}

/** Every device, grouped by what the snapshot and the shapes count (a few thousand groups at most). */
function deviceGroups(tx: DbTransaction, now: Date, floorBps: number) {
  return tx.$queryRaw<DeviceGroup[]>`
    select d.gpu_model_id, d.region, d.status::text as status, d.gpu_count, d.connectivity_tier::text as connectivity_tier, d.runs_images,
           d.verification_score_bps >= ${floorBps} as verified,
           d.verification_score_bps >= ${HIGH_VERIFICATION_BPS} as high,
           (${RENTABLE_DEVICE} and d.gpu_count > 0 and d.gpu_model_id is not null and d.verification_score_bps >= ${floorBps} and probe.taken is null) as free,
           count(*)::int as devices, sum(d.cpu_cores)::int as cpu_cores
      from device d
      ${takenProbe(now, new Date(now.getTime() + SHAPE_DURATION_MS))}
     group by 1, 2, 3, 4, 5, 6, 7, 8, 9`;
}

/**
 * Asks per GPU-hour of the free devices (what a quote prices from), per model and per region: lowest,
 * median device ask, and the GPU-weighted mean (floored to a base unit).
 */
function freePrices(tx: DbTransaction, now: Date, floorBps: number) {
  return tx.$queryRaw<PriceRow[]>`
    select d.gpu_model_id, d.region, min(d.price_per_gpu_hour) as min,
           percentile_disc(0.5) within group (order by d.price_per_gpu_hour) as median,
           div(sum(d.price_per_gpu_hour * d.gpu_count), sum(d.gpu_count))::bigint as avg
      from device d
      ${takenProbe(now, new Date(now.getTime() + SHAPE_DURATION_MS))}
     where ${RENTABLE_DEVICE} and d.gpu_count > 0 and d.gpu_model_id is not null and d.verification_score_bps >= ${floorBps} and probe.taken is null
     group by grouping sets ((d.gpu_model_id), (d.region))`;
}

interface Totals {
  devices: number;
  online: number;
  gpus: number;
  gpusOnline: number;
  gpusVerified: number;
  cpuVerified: number;
  cpuOnline: number;
}

interface Breakdown {
  devices: number;
  gpus: number;
  gpusOnline: number;
  gpusAvailable: number;
}

function summarise(groups: DeviceGroup[]) {
  const totals: Totals = { devices: 0, online: 0, gpus: 0, gpusOnline: 0, gpusVerified: 0, cpuVerified: 0, cpuOnline: 0 };
  const byModel = new Map<string, Breakdown>();
  const byRegion = new Map<string, Breakdown>();
  const add = (map: Map<string, Breakdown>, key: string, g: DeviceGroup, gpus: number) => {
    const entry = map.get(key) ?? { devices: 0, gpus: 0, gpusOnline: 0, gpusAvailable: 0 };
    entry.devices += g.devices;
    entry.gpus += gpus;
    if (g.status === "ONLINE") entry.gpusOnline += gpus;
    if (g.free) entry.gpusAvailable += gpus;
    map.set(key, entry);
  };
  for (const g of groups) {
    const gpus = g.gpu_count * g.devices;
    totals.devices += g.devices;
    totals.gpus += gpus;
    if (g.status === "ONLINE") {
      totals.online += g.devices;
      totals.gpusOnline += gpus;
      totals.cpuOnline += g.cpu_cores;
    }
    // Verified: passed proof-of-work well enough to be placed (the matcher's floor), and not suspended.
    if (g.verified && g.status !== "SUSPENDED") {
      totals.gpusVerified += gpus;
      totals.cpuVerified += g.cpu_cores;
    }
    if (g.gpu_model_id) add(byModel, g.gpu_model_id, g, gpus);
    add(byRegion, g.region, g, gpus);
  }
  return { totals, byModel, byRegion };
}

export interface CapacityRow {
  gpuModelId: string;
  gpuCount: number;
  region: string;
  connectivityTier: string;
  minVerificationBps: number;
  runtime: CapacityRuntime;
  singleNode: number;
  anyNodes: number;
  freeGpus: number;
}

/** Deployable clusters per shape from the free device groups (method: core explorer/capacity.ts). */
export function capacityRows(groups: readonly DeviceGroup[], floorBps: number): CapacityRow[] {
  const rows: CapacityRow[] = [];
  const free = groups.filter((g) => g.free && g.gpu_model_id !== null && g.gpu_count <= MAX_GPUS_PER_DEVICE);
  const models = [...new Set(free.map((g) => g.gpu_model_id!))].sort();
  for (const model of models) {
    for (const runtime of CAPACITY_RUNTIMES) {
      for (const tier of CAPACITY_TIERS) {
        for (const level of [floorBps, HIGH_VERIFICATION_BPS]) {
          const byRegion = new Map<string, number[]>();
          for (const g of free) {
            if (g.gpu_model_id !== model) continue;
            if (runtime === "image" && !g.runs_images) continue;
            if (tier !== "*" && CONNECTIVITY_TIER_RANK[g.connectivity_tier] < CONNECTIVITY_TIER_RANK[tier]) continue;
            if (level === HIGH_VERIFICATION_BPS && !g.high) continue;
            const sizes = byRegion.get(g.region) ?? emptySizes();
            sizes[g.gpu_count]! += g.devices;
            byRegion.set(g.region, sizes);
          }
          for (const gpuCount of CAPACITY_SHAPES) {
            const counted = deployableByRegion(byRegion, gpuCount);
            const base = { gpuModelId: model, gpuCount, connectivityTier: tier, minVerificationBps: level, runtime };
            rows.push({ ...base, region: "*", ...counted.anyRegion });
            for (const [region, deployable] of counted.byRegion) rows.push({ ...base, region, ...deployable });
          }
          if (floorBps >= HIGH_VERIFICATION_BPS) break;
        }
      }
    }
  }
  return rows;
}

interface Previous {
  ledger_cursor: bigint;
  chain_cursor: bigint;
  mesh_minted_total: bigint;
  mesh_burned_total: bigint;
}

const ROLLUP_LOCK = 0x6578706c; // "expl": one rollup at a time across scheduler processes

/** Runs one rollup: reads the network, writes the minute and hour snapshots, prunes old buckets. */
export async function runExplorerRollup(db: Db, options: ExplorerRollupOptions): Promise<ExplorerRollupResult> {
  const now = options.now ?? new Date();
  const floorBps = options.minVerificationScoreBps;
  return db.$transaction(
    async (tx) => {
      await tx.$executeRaw`select pg_advisory_xact_lock(${ROLLUP_LOCK})`;
      // The newest run: the newest minute row, or the newest hour row after minute rows aged out.
      const [previous] = await tx.$queryRaw<Previous[]>`
        select * from (
          (select ledger_cursor, chain_cursor, mesh_minted_total, mesh_burned_total from network_snapshot where resolution = 'minute' order by bucket_at desc limit 1)
          union all
          (select ledger_cursor, chain_cursor, mesh_minted_total, mesh_burned_total from network_snapshot where resolution = 'hour' order by bucket_at desc limit 1)) r
         order by chain_cursor desc, ledger_cursor desc limit 1`;
      // Ledger watermark: milliseconds since the epoch of journal.created_at already counted.
      const ledgerFrom = previous ? new Date(Number(previous.ledger_cursor)) : new Date(0);
      const ledgerTo = new Date(Math.max(ledgerFrom.getTime(), now.getTime() - SETTLE_GRACE_MS));
      const chainFrom = previous?.chain_cursor ?? 0n;

      const [groups, prices, [suppliers], [hired], [running], revenue, [chain], [fill]] = await Promise.all([
        deviceGroups(tx, now, floorBps),
        freePrices(tx, now, floorBps),
        tx.$queryRaw<{ n: number }[]>`select count(*)::int as n from supplier`,
        // Held quotes (REQUESTED clusters holding devices while the renter pays) are not hired.
        tx.$queryRaw<{ devices: number; gpus: number }[]>`
          select count(distinct a.device_id)::int as devices, coalesce(sum(a.gpu_count), 0)::int as gpus
            from allocation a join cluster c on c.id = a.cluster_id
           where a.status = 'ACTIVE' and a.starts_at <= ${now} and a.ends_at > ${now} and c.status <> 'REQUESTED'`,
        tx.$queryRaw<{ n: number }[]>`select count(*)::int as n from cluster where status in ('RUNNING', 'DEGRADED')`,
        // Gross settled: what settlement journals took out of escrow, per token.
        tx.$queryRaw<{ token: string; gross: bigint }[]>`
          select e.token::text as token, (-sum(e.amount))::bigint as gross
            from journal j
            join ledger_entry e on e.journal_id = j.id
            join ledger_account a on a.id = e.ledger_account_id
           where j.created_at >= ${ledgerFrom} and j.created_at < ${ledgerTo}
             and j.reference like 'settle:%' and a.code like 'escrow:%'
           group by 1`,
        tx.$queryRaw<{ minted: bigint; burned: bigint; seq: bigint | null }[]>`
          select coalesce(sum(emission) filter (where name = 'EmissionsMinted'), 0)::bigint as minted,
                 coalesce(sum(burned), 0)::bigint as burned, max(seq) as seq
            from chain_event where seq > ${chainFrom}`,
        // Paid in the last 24 h (the PAID transition), filled (started) or never filled (failed or refunded
        // before running), and the seconds from payment to running.
        tx.$queryRaw<{ paid: number; filled: number; unfilled: number; median: number | null; p90: number | null }[]>`
          with paid as (
            select c.status, c.started_at, p.paid_at
              from cluster c
              join lateral (select min(e.at) as paid_at from cluster_event e where e.cluster_id = c.id and e.to_status = 'PAID') p on p.paid_at is not null
             where c.created_at >= ${new Date(now.getTime() - 24 * 3_600_000)})
          select count(*)::int as paid,
                 count(*) filter (where started_at is not null)::int as filled,
                 count(*) filter (where started_at is null and status in ('FAILED', 'REFUNDED'))::int as unfilled,
                 (percentile_disc(0.5) within group (order by ceil(extract(epoch from started_at - paid_at))) filter (where started_at is not null))::int as median,
                 (percentile_disc(0.9) within group (order by ceil(extract(epoch from started_at - paid_at))) filter (where started_at is not null))::int as p90
            from paid`,
      ]);

      const { totals, byModel, byRegion } = summarise(groups);
      const revenueOf = (token: string) => revenue.find((r) => r.token === token)?.gross ?? 0n;
      const minted = chain?.minted ?? 0n;
      const burned = chain?.burned ?? 0n;
      const snapshot = {
        takenAt: now,
        suppliers: suppliers?.n ?? 0,
        devicesTotal: totals.devices,
        devicesOnline: totals.online,
        devicesHired: hired?.devices ?? 0,
        gpusTotal: totals.gpus,
        gpusVerified: totals.gpusVerified,
        gpusOnline: totals.gpusOnline,
        gpusHired: hired?.gpus ?? 0,
        cpuCoresVerified: totals.cpuVerified,
        cpuCoresOnline: totals.cpuOnline,
        clustersRunning: running?.n ?? 0,
        revenueUsdc: revenueOf("USDC"),
        revenueMesh: revenueOf("MESH"),
        meshMinted: minted,
        meshBurned: burned,
        meshMintedTotal: (previous?.mesh_minted_total ?? 0n) + minted,
        meshBurnedTotal: (previous?.mesh_burned_total ?? 0n) + burned,
        paid24h: fill?.paid ?? 0,
        filled24h: fill?.filled ?? 0,
        unfilled24h: fill?.unfilled ?? 0,
        medianToRunningS: fill?.median ?? null,
        p90ToRunningS: fill?.p90 ?? null,
        ledgerCursor: BigInt(ledgerTo.getTime()),
        chainCursor: chain?.seq ?? chainFrom,
      };
      const modelPrice = new Map(prices.filter((p) => p.gpu_model_id !== null).map((p) => [p.gpu_model_id!, p]));
      const regionPrice = new Map(prices.filter((p) => p.region !== null).map((p) => [p.region!, p]));
      const priceColumns = (p: PriceRow | undefined) => ({ minPricePerGpuHour: p?.min ?? null, medianPricePerGpuHour: p?.median ?? null, avgPricePerGpuHour: p?.avg ?? null });

      const bucketAt = floorTo(now, 60_000);
      for (const [resolution, at] of [["minute", bucketAt], ["hour", floorTo(now, 3_600_000)]] as const) {
        await writeNetworkRow(tx, resolution, at, snapshot);
        // Gauges: the bucket keeps the last run's rows.
        await tx.modelSnapshot.deleteMany({ where: { resolution, bucketAt: at } });
        await tx.regionSnapshot.deleteMany({ where: { resolution, bucketAt: at } });
        await tx.modelSnapshot.createMany({ data: [...byModel].map(([gpuModelId, b]) => ({ resolution, bucketAt: at, gpuModelId, ...b, ...priceColumns(modelPrice.get(gpuModelId)) })) });
        await tx.regionSnapshot.createMany({ data: [...byRegion].map(([region, b]) => ({ resolution, bucketAt: at, region, ...b, ...priceColumns(regionPrice.get(region)) })) });
      }

      const capacity = capacityRows(groups, floorBps);
      await tx.capacityShape.deleteMany({});
      await tx.capacityShape.createMany({ data: capacity.map((row) => ({ ...row, takenAt: now })) });

      const minuteCutoff = new Date(now.getTime() - MINUTE_RETENTION_MS);
      const hourCutoff = new Date(now.getTime() - HOUR_RETENTION_MS);
      for (const table of ["network_snapshot", "model_snapshot", "region_snapshot"]) {
        await tx.$executeRaw`delete from ${Prisma.raw(`"${table}"`)} where (resolution = 'minute' and bucket_at < ${minuteCutoff}) or (resolution = 'hour' and bucket_at < ${hourCutoff})`;
      }
      return { bucketAt, takenAt: now, devices: totals.devices, capacityRows: capacity.length };
    },
    { timeout: 120_000, maxWait: 10_000 },
  );
}

type SnapshotValues = Omit<Prisma.NetworkSnapshotCreateInput, "resolution" | "bucketAt">;

/** Gauges and cursors take the newest run's values; flows add up over the runs in the bucket. */
async function writeNetworkRow(tx: DbTransaction, resolution: Resolution, bucketAt: Date, s: SnapshotValues) {
  await tx.networkSnapshot.upsert({
    where: { resolution_bucketAt: { resolution, bucketAt } },
    create: { resolution, bucketAt, ...s },
    update: {
      ...s,
      revenueUsdc: { increment: s.revenueUsdc as bigint },
      revenueMesh: { increment: s.revenueMesh as bigint },
      meshMinted: { increment: s.meshMinted as bigint },
      meshBurned: { increment: s.meshBurned as bigint },
    },
  });
}
