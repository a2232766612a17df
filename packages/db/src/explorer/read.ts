import { EMISSION_CAP, GENESIS_SUPPLY, GPU_MODELS, gpuModel, region as regionInfo } from "@gpumesh/core";
import type { Db } from "../client.ts";
import { Prisma, type NetworkSnapshot } from "../generated/prisma/client.ts";
import { HIGH_VERIFICATION_BPS, type CapacityRuntime, type CapacityTier } from "./rollup.ts";

/**
 * The explorer's reads. Each reads rollup rows only (packages/db/src/explorer/rollup.ts) through their
 * primary keys: the newest bucket, a time range of buckets, or the current shapes. None touches the
 * device, allocation, ledger or chain tables, so their cost does not grow with the network.
 */

const DAY_MS = 24 * 3_600_000;

async function latestMinute(db: Db): Promise<NetworkSnapshot | null> {
  return db.networkSnapshot.findFirst({ where: { resolution: "minute" }, orderBy: { bucketAt: "desc" } });
}

export interface BreakdownRow {
  devices: number;
  gpus: number;
  onlineGpus: number;
  availableGpus: number;
  minPricePerGpuHour: bigint | null;
  medianPricePerGpuHour: bigint | null;
  avgPricePerGpuHour: bigint | null;
}

export interface ExplorerHeadline {
  /** When the snapshot was taken; null before the first rollup (a fresh network). */
  takenAt: Date | null;
  suppliers: number;
  devices: { total: number; online: number; hired: number };
  gpus: { total: number; verified: number; online: number; hired: number };
  cpus: { verifiedCores: number; onlineCores: number };
  /** GPUs hired / GPUs online, basis points. */
  utilisationBps: number;
  clustersRunning: number;
  /** Gross settled over the last 24 h, base units per token. */
  revenue24h: { USDC: bigint; MESH: bigint };
  mesh: {
    mintedTotal: bigint;
    burnedTotal: bigint;
    minted24h: bigint;
    burned24h: bigint;
    /** Genesis + minted − burned. */
    circulating: bigint;
    /** Minted / the 300M emission cap, basis points. */
    emissionProgressBps: number;
  };
  fill24h: { paid: number; filled: number; unfilled: number; fillRateBps: number | null; medianSecondsToRunning: number | null; p90SecondsToRunning: number | null };
  byModel: ({ gpuModelId: string; name: string } & BreakdownRow)[];
  byRegion: ({ region: string; name: string; latitude: number | null; longitude: number | null } & BreakdownRow)[];
}

const breakdown = (row: { devices: number; gpus: number; gpusOnline: number; gpusAvailable: number; minPricePerGpuHour: bigint | null; medianPricePerGpuHour: bigint | null; avgPricePerGpuHour: bigint | null }): BreakdownRow => ({
  devices: row.devices,
  gpus: row.gpus,
  onlineGpus: row.gpusOnline,
  availableGpus: row.gpusAvailable,
  minPricePerGpuHour: row.minPricePerGpuHour,
  medianPricePerGpuHour: row.medianPricePerGpuHour,
  avgPricePerGpuHour: row.avgPricePerGpuHour,
});

const modelOrder = (id: string) => {
  const index = GPU_MODELS.findIndex((m) => m.id === id);
  return index < 0 ? GPU_MODELS.length : index;
};

export function emptyHeadline(): ExplorerHeadline {
  return {
    takenAt: null, suppliers: 0,
    devices: { total: 0, online: 0, hired: 0 }, gpus: { total: 0, verified: 0, online: 0, hired: 0 }, cpus: { verifiedCores: 0, onlineCores: 0 },
    utilisationBps: 0, clustersRunning: 0, revenue24h: { USDC: 0n, MESH: 0n },
    mesh: { mintedTotal: 0n, burnedTotal: 0n, minted24h: 0n, burned24h: 0n, circulating: GENESIS_SUPPLY, emissionProgressBps: 0 },
    fill24h: { paid: 0, filled: 0, unfilled: 0, fillRateBps: null, medianSecondsToRunning: null, p90SecondsToRunning: null },
    byModel: [], byRegion: [],
  };
}

/** The explorer's headline: the newest snapshot, its breakdowns, and the last 24 h of flows. */
export async function explorerHeadline(db: Db): Promise<ExplorerHeadline> {
  const latest = await latestMinute(db);
  if (!latest) return emptyHeadline();
  const since = new Date(latest.bucketAt.getTime() - DAY_MS);
  const [models, regions, flows] = await Promise.all([
    db.modelSnapshot.findMany({ where: { resolution: "minute", bucketAt: latest.bucketAt } }),
    db.regionSnapshot.findMany({ where: { resolution: "minute", bucketAt: latest.bucketAt } }),
    db.networkSnapshot.aggregate({
      where: { resolution: "minute", bucketAt: { gt: since, lte: latest.bucketAt } },
      _sum: { revenueUsdc: true, revenueMesh: true, meshMinted: true, meshBurned: true },
    }),
  ]);
  const settled = latest.filled24h + latest.unfilled24h;
  return {
    takenAt: latest.takenAt,
    suppliers: latest.suppliers,
    devices: { total: latest.devicesTotal, online: latest.devicesOnline, hired: latest.devicesHired },
    gpus: { total: latest.gpusTotal, verified: latest.gpusVerified, online: latest.gpusOnline, hired: latest.gpusHired },
    cpus: { verifiedCores: latest.cpuCoresVerified, onlineCores: latest.cpuCoresOnline },
    utilisationBps: latest.gpusOnline > 0 ? Math.floor((latest.gpusHired * 10_000) / latest.gpusOnline) : 0,
    clustersRunning: latest.clustersRunning,
    revenue24h: { USDC: flows._sum.revenueUsdc ?? 0n, MESH: flows._sum.revenueMesh ?? 0n },
    mesh: {
      mintedTotal: latest.meshMintedTotal,
      burnedTotal: latest.meshBurnedTotal,
      minted24h: flows._sum.meshMinted ?? 0n,
      burned24h: flows._sum.meshBurned ?? 0n,
      circulating: GENESIS_SUPPLY + latest.meshMintedTotal - latest.meshBurnedTotal,
      emissionProgressBps: Number((latest.meshMintedTotal * 10_000n) / EMISSION_CAP),
    },
    fill24h: {
      paid: latest.paid24h,
      filled: latest.filled24h,
      unfilled: latest.unfilled24h,
      fillRateBps: settled > 0 ? Math.floor((latest.filled24h * 10_000) / settled) : null,
      medianSecondsToRunning: latest.medianToRunningS,
      p90SecondsToRunning: latest.p90ToRunningS,
    },
    byModel: models
      .sort((a, b) => modelOrder(a.gpuModelId) - modelOrder(b.gpuModelId))
      .map((m) => ({ gpuModelId: m.gpuModelId, name: gpuModel(m.gpuModelId)?.name ?? m.gpuModelId, ...breakdown(m) })),
    byRegion: regions
      .sort((a, b) => b.gpus - a.gpus || (a.region < b.region ? -1 : 1))
      .map((r) => {
        const info = regionInfo(r.region);
        return { region: r.region, name: info?.name ?? r.region, latitude: info?.latitude ?? null, longitude: info?.longitude ?? null, ...breakdown(r) };
      }),
  };
}

/** When the newest snapshot was taken (the live stream polls this one primary-key row). */
export async function latestSnapshotAt(db: Db): Promise<Date | null> {
  const row = await db.networkSnapshot.findFirst({ where: { resolution: "minute" }, orderBy: { bucketAt: "desc" }, select: { takenAt: true } });
  return row?.takenAt ?? null;
}

export const HISTORY_METRICS = ["devicesOnline", "gpusOnline", "gpusHired", "utilisationBps", "clustersRunning", "revenueUsdc", "revenueMesh", "meshMinted", "meshBurned"] as const;
export type HistoryMetric = (typeof HISTORY_METRICS)[number];
export const HISTORY_RANGES = { "1h": 3_600_000, "24h": DAY_MS, "7d": 7 * DAY_MS, "30d": 30 * DAY_MS, "1y": 365 * DAY_MS } as const;
export type HistoryRange = keyof typeof HISTORY_RANGES;

export interface HistoryPoint {
  at: Date;
  /** Gauges: the value at the bucket's last run. Flows (revenue, minted, burned): the bucket's total. */
  value: bigint;
}

/** Ranges up to a day read minute buckets; longer ones hour buckets (at most 8,760 rows). */
export const resolutionOf = (range: HistoryRange) => (HISTORY_RANGES[range] <= DAY_MS ? "minute" : "hour");

/** Each metric as a SQL expression over network_snapshot (from this fixed list only, never from input). */
const METRIC_SQL: Record<HistoryMetric, string> = {
  devicesOnline: "devices_online::bigint",
  gpusOnline: "gpus_online::bigint",
  gpusHired: "gpus_hired::bigint",
  utilisationBps: "case when gpus_online > 0 then (gpus_hired::bigint * 10000) / gpus_online else 0 end",
  clustersRunning: "clusters_running::bigint",
  revenueUsdc: "revenue_usdc",
  revenueMesh: "revenue_mesh",
  meshMinted: "mesh_minted",
  meshBurned: "mesh_burned",
};

/**
 * One metric per bucket, computed in SQL and packed into one text value (`<epoch ms>:<value>,…`): a
 * 1,440-bucket day is one index range scan and one row over the wire, with no row objects to build.
 */
export async function networkHistory(db: Db, metric: HistoryMetric, range: HistoryRange, now = new Date()): Promise<{ resolution: "minute" | "hour"; points: HistoryPoint[] }> {
  const resolution = resolutionOf(range);
  const [row] = await db.$queryRaw<{ packed: string | null }[]>`
    select string_agg((extract(epoch from bucket_at) * 1000)::bigint::text || ':' || (${Prisma.raw(METRIC_SQL[metric])})::text, ',' order by bucket_at) as packed
      from network_snapshot
     where resolution = ${resolution} and bucket_at > ${new Date(now.getTime() - HISTORY_RANGES[range])}`;
  return { resolution, points: unpack(row?.packed ?? null, (at, value) => ({ at, value: BigInt(value) })) };
}

/** `<epoch ms>:<value>` pairs joined by commas (an empty value: SQL null) → points, in order. */
function unpack<T>(packed: string | null, point: (at: Date, value: string) => T): T[] {
  if (!packed) return [];
  return packed.split(",").map((pair) => {
    const colon = pair.indexOf(":");
    return point(new Date(Number(pair.slice(0, colon))), pair.slice(colon + 1));
  });
}

export interface ModelPricePoint {
  at: Date;
  /** Asks per GPU-hour over the model's free GPUs in the bucket (USDC base units); null when none was free. */
  minPricePerGpuHour: bigint | null;
  medianPricePerGpuHour: bigint | null;
  gpusAvailable: number;
}

/** One model's asks over time, from model_snapshot (its primary key serves the range). */
export async function modelPriceHistory(db: Db, gpuModelId: string, range: HistoryRange, now = new Date()): Promise<{ resolution: "minute" | "hour"; points: ModelPricePoint[] }> {
  const resolution = resolutionOf(range);
  const rows = await db.modelSnapshot.findMany({
    where: { resolution, gpuModelId, bucketAt: { gt: new Date(now.getTime() - HISTORY_RANGES[range]) } },
    orderBy: { bucketAt: "asc" },
    select: { bucketAt: true, minPricePerGpuHour: true, medianPricePerGpuHour: true, gpusAvailable: true },
  });
  return { resolution, points: rows.map((row) => ({ at: row.bucketAt, minPricePerGpuHour: row.minPricePerGpuHour, medianPricePerGpuHour: row.medianPricePerGpuHour, gpusAvailable: row.gpusAvailable })) };
}

export interface ModelMarket extends BreakdownRow {
  gpuModelId: string;
  name: string;
  /** Median ask 24 h ago (the hour bucket a day back), for the trend; null when none was free then. */
  medianPricePerGpuHour24hAgo: bigint | null;
  /** Hourly median asks over the last 24 h, oldest first. */
  priceHistory: { at: Date; medianPricePerGpuHour: bigint | null }[];
}

/** Per model: counts, free GPUs, asks and their trend over the last day (hour buckets). */
export async function modelMarkets(db: Db): Promise<{ takenAt: Date | null; models: ModelMarket[] }> {
  const latest = await latestMinute(db);
  if (!latest) return { takenAt: null, models: [] };
  const since = new Date(latest.bucketAt.getTime() - DAY_MS);
  // The day of hour buckets, one packed row per model (one range scan of the primary key, ~1,000
  // rows folded in SQL): building a row object per bucket was most of this handler's time.
  const [current, hourly] = await Promise.all([
    db.modelSnapshot.findMany({ where: { resolution: "minute", bucketAt: latest.bucketAt } }),
    db.$queryRaw<{ gpu_model_id: string; packed: string }[]>`
      select gpu_model_id, string_agg((extract(epoch from bucket_at) * 1000)::bigint::text || ':' || coalesce(median_price_per_gpu_hour::text, ''), ',' order by bucket_at) as packed
        from model_snapshot
       where resolution = 'hour' and bucket_at >= ${new Date(since.getTime() - 3_600_000)}
       group by gpu_model_id`,
  ]);
  const historyOf = new Map(hourly.map((row) => [row.gpu_model_id, unpack(row.packed, (at, median) => ({ bucketAt: at, medianPricePerGpuHour: median === "" ? null : BigInt(median) }))]));
  const dayAgoHour = new Date(Math.floor(since.getTime() / 3_600_000) * 3_600_000);
  return {
    takenAt: latest.takenAt,
    models: current
      .sort((a, b) => modelOrder(a.gpuModelId) - modelOrder(b.gpuModelId))
      .map((m) => {
        const history = historyOf.get(m.gpuModelId) ?? [];
        return {
          gpuModelId: m.gpuModelId,
          name: gpuModel(m.gpuModelId)?.name ?? m.gpuModelId,
          ...breakdown(m),
          medianPricePerGpuHour24hAgo: history.find((h) => h.bucketAt.getTime() === dayAgoHour.getTime())?.medianPricePerGpuHour ?? null,
          priceHistory: history.filter((h) => h.bucketAt > since).map((h) => ({ at: h.bucketAt, medianPricePerGpuHour: h.medianPricePerGpuHour })),
        };
      }),
  };
}

export interface CapacityFilter {
  gpuModelId?: string | undefined;
  gpuCount?: number | undefined;
  /** A region id, or `*` (any region; the default). */
  region?: string | undefined;
  /** `*` (any; the default), MEDIUM, HIGH or ULTRA_HIGH: that tier or better (CAPACITY_TIERS). */
  connectivityTier?: CapacityTier | undefined;
  /** `verified` (the matcher's floor; the default) or `high` (≥ 90 %). */
  verification?: "verified" | "high" | undefined;
  /** `any` (the default) or `image`: only devices that run container images (CAPACITY_RUNTIMES). */
  runtime?: CapacityRuntime | undefined;
}

export interface CapacityShapeView {
  gpuModelId: string;
  name: string;
  gpuCount: number;
  region: string;
  connectivityTier: string;
  minVerificationBps: number;
  runtime: CapacityRuntime;
  singleNode: number;
  anyNodes: number;
  freeGpus: number;
}

/** Deployable now by shape (the rows the newest rollup left), filtered on their key. */
export async function deployableCapacity(db: Db, filter: CapacityFilter): Promise<{ takenAt: Date | null; shapes: CapacityShapeView[] }> {
  const rows = await db.capacityShape.findMany({
    where: {
      ...(filter.gpuModelId ? { gpuModelId: filter.gpuModelId } : {}),
      ...(filter.gpuCount ? { gpuCount: filter.gpuCount } : {}),
      region: filter.region ?? "*",
      connectivityTier: filter.connectivityTier ?? "*",
      runtime: filter.runtime ?? "any",
    },
  });
  // The floor is the rollup's MIN_VERIFICATION_SCORE_BPS: the lower of the two levels stored. A key
  // with no device at the high level has only floor rows, and they must not answer for "high".
  const levels = [...new Set(rows.map((r) => r.minVerificationBps))].sort((a, b) => a - b);
  const level = filter.verification === "high" ? levels.find((bps) => bps >= HIGH_VERIFICATION_BPS) : levels[0];
  const shapes = rows
    .filter((r) => r.minVerificationBps === level)
    .sort((a, b) => modelOrder(a.gpuModelId) - modelOrder(b.gpuModelId) || a.gpuCount - b.gpuCount)
    .map((r) => ({ gpuModelId: r.gpuModelId, name: gpuModel(r.gpuModelId)?.name ?? r.gpuModelId, gpuCount: r.gpuCount, region: r.region, connectivityTier: r.connectivityTier, minVerificationBps: r.minVerificationBps, runtime: r.runtime as CapacityRuntime, singleNode: r.singleNode, anyNodes: r.anyNodes, freeGpus: r.freeGpus }));
  return { takenAt: rows[0]?.takenAt ?? null, shapes };
}
