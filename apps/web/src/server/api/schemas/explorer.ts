import { CONNECTIVITY_TIER_FIGURES, GpuModelId, RegionId } from "@gpumesh/core";
import { CAPACITY_RUNTIMES, CAPACITY_TIERS } from "@gpumesh/db";
import { z } from "zod";
import { Amount, Timestamp } from "./common.ts";

/*
 * The explorer home's HTTP views (issue #12). Every number comes from the scheduler's rollups
 * (packages/db/src/explorer): `takenAt` says when; it is null on a fresh network before the first one.
 */

const Int = z.number().int();
const Bps = Int.describe("Basis points (1/100 of a percent)");

const Breakdown = {
  devices: Int.describe("Devices registered"),
  gpus: Int.describe("GPUs on those devices"),
  onlineGpus: Int.describe("GPUs on online devices"),
  availableGpus: Int.describe("GPUs free for the next hour and verified enough to be placed"),
  minPricePerGpuHour: Amount.nullable().describe("Lowest ask per GPU-hour among free devices (USDC base units); null when none is free"),
  medianPricePerGpuHour: Amount.nullable().describe("Median ask per GPU-hour among free devices (USDC base units)"),
  avgPricePerGpuHour: Amount.nullable().describe("GPU-weighted mean ask per GPU-hour among free devices (USDC base units, floored)"),
};

export const NetworkHeadline = z
  .object({
    takenAt: Timestamp.nullable().describe("When the snapshot was taken; null before the first one (a fresh network)"),
    suppliers: Int,
    devices: z.object({ total: Int, online: Int, hired: Int.describe("Devices serving a paid cluster now") }),
    gpus: z.object({ total: Int, verified: Int.describe("GPUs on devices whose proof-of-work score clears the placement floor"), online: Int, hired: Int }),
    cpus: z.object({ verifiedCores: Int, onlineCores: Int }),
    utilisationBps: Bps.describe("GPUs hired / GPUs online"),
    clustersRunning: Int,
    revenue24h: z.object({ USDC: Amount, MESH: Amount }).describe("Gross settled to suppliers and treasury over the last 24 h, per payment token"),
    mesh: z.object({
      mintedTotal: Amount,
      burnedTotal: Amount,
      minted24h: Amount,
      burned24h: Amount,
      circulating: Amount.describe("Genesis supply + minted − burned (MESH base units)"),
      emissionProgressBps: Bps.describe("Minted so far / the 300,000,000 MESH emission cap"),
    }),
    fill24h: z
      .object({
        paid: Int.describe("Clusters paid in the last 24 h"),
        filled: Int.describe("Of those, clusters that reached running"),
        unfilled: Int.describe("Of those, clusters that failed or were refunded without ever running"),
        fillRateBps: Bps.nullable().describe("filled / (filled + unfilled); null when none finished deploying"),
        medianSecondsToRunning: Int.nullable(),
        p90SecondsToRunning: Int.nullable(),
      })
      .describe("Fill rate and time from payment to running over the last 24 h"),
    byModel: z.array(z.object({ gpuModelId: z.string(), name: z.string(), ...Breakdown })),
    byRegion: z.array(z.object({ region: z.string(), name: z.string(), latitude: z.number().nullable(), longitude: z.number().nullable(), ...Breakdown })),
  })
  .meta({ id: "NetworkHeadline" });

export const HistoryMetric = z.enum(["devicesOnline", "gpusOnline", "gpusHired", "utilisationBps", "clustersRunning", "revenueUsdc", "revenueMesh", "meshMinted", "meshBurned"]);
export const HistoryRange = z.enum(["1h", "24h", "7d", "30d", "1y"]);

export const HistoryQuery = z.object({
  metric: HistoryMetric.describe("Gauges (devicesOnline, gpusOnline, gpusHired, utilisationBps, clustersRunning) are the bucket's last value; flows (revenueUsdc, revenueMesh, meshMinted, meshBurned) its total, in base units"),
  range: HistoryRange.default("24h").describe("Up to 24h: minute buckets; longer: hour buckets"),
});

export const HistoryResponse = z
  .object({
    metric: HistoryMetric,
    range: HistoryRange,
    resolution: z.enum(["minute", "hour"]),
    points: z.array(z.object({ at: Timestamp, value: Amount.describe("The metric's value as a decimal string") })),
  })
  .meta({ id: "NetworkHistory" });

export const CapacityQuery = z.object({
  model: GpuModelId.optional().describe("Only this GPU model"),
  gpus: z.enum(["1", "8", "64"], { error: "must be 1, 8 or 64" }).transform(Number).optional().describe("Only this shape (GPUs per cluster)"),
  region: z.union([RegionId, z.literal("*")]).default("*").describe("A region id, or * for any region (the default)"),
  tier: z.enum(CAPACITY_TIERS, { error: `must be ${CAPACITY_TIERS.slice(0, -1).join(", ")} or ${CAPACITY_TIERS.at(-1)}` }).default("*").describe(`Connectivity tier or better; * for any. ${CONNECTIVITY_TIER_FIGURES}`),
  verification: z.enum(["verified", "high"], { error: "must be verified or high" }).default("verified").describe("verified: the placement floor; high: a proof-of-work score of 90 % or more"),
  runtime: z
    .enum(CAPACITY_RUNTIMES, { error: "must be any or image" })
    .default("any")
    .describe("any: every device; image: only devices whose agents run container images, the ones a cluster with workload.image can use"),
});

export const CapacityShape = z
  .object({
    gpuModelId: z.string(),
    name: z.string(),
    gpuCount: Int.describe("GPUs per cluster"),
    region: z.string().describe("Region id, or * for any region"),
    connectivityTier: z.enum(CAPACITY_TIERS).describe("The tier filter this row counts (that tier or better); * for any"),
    minVerificationBps: Int,
    runtime: z.enum(CAPACITY_RUNTIMES).describe("The runtime filter this row counts: any, or image (devices that run container images)"),
    singleNode: Int.describe("Clusters of this shape that fit on one device each"),
    anyNodes: Int.describe("Clusters of this shape that fit on one or several devices (whole devices, as a deploy takes them)"),
    freeGpus: Int.describe("Free GPUs of the model passing the filters"),
  })
  .meta({ id: "CapacityShape" });

export const CapacityResponse = z.object({ takenAt: Timestamp.nullable(), shapes: z.array(CapacityShape) }).meta({ id: "DeployableCapacity" });

export const ModelsResponse = z
  .object({
    takenAt: Timestamp.nullable(),
    models: z.array(
      z.object({
        gpuModelId: z.string(),
        name: z.string(),
        ...Breakdown,
        medianPricePerGpuHour24hAgo: Amount.nullable().describe("The median ask in the hour a day ago; null when none was free then"),
        priceHistory: z.array(z.object({ at: Timestamp, medianPricePerGpuHour: Amount.nullable() })).describe("Hourly median asks over the last 24 h"),
      }),
    ),
  })
  .meta({ id: "GpuModelMarkets" });

export const ModelHistoryParams = z.object({ gpuModelId: GpuModelId.describe("A GPU model id of the catalogue (GET /api/v1/models)") });
export const ModelHistoryQuery = z.object({ range: HistoryRange.default("24h").describe("Up to 24h: minute buckets; longer: hour buckets") });

export const ModelHistoryResponse = z
  .object({
    gpuModelId: z.string(),
    range: HistoryRange,
    resolution: z.enum(["minute", "hour"]),
    points: z.array(
      z.object({
        at: Timestamp,
        minPricePerGpuHour: Amount.nullable().describe("Lowest ask per GPU-hour over the model's free GPUs (USDC base units); null when none was free"),
        medianPricePerGpuHour: Amount.nullable().describe("Median ask per GPU-hour over the model's free GPUs; null when none was free"),
        gpusAvailable: z.number().int().describe("Free GPUs of the model"),
      }),
    ),
  })
  .meta({ id: "GpuModelPriceHistory" });

export const RegionsResponse = z
  .object({ takenAt: Timestamp.nullable(), regions: z.array(z.object({ region: z.string(), name: z.string(), latitude: z.number().nullable(), longitude: z.number().nullable(), ...Breakdown })) })
  .meta({ id: "RegionMarkets" });

export const NetworkStream = z.string().describe("text/event-stream: `event: network` with the NetworkHeadline JSON at once and after every new snapshot; `: ping` comments every 15 s");
