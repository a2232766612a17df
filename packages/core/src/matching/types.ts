import type { ClusterRequest } from "../schemas/cluster.ts";
import { CONNECTIVITY_TIER_RANK, SECURITY_TIER_RANK } from "../schemas/enums.ts";
import type { ConnectivityTier, SecurityTier, SupplierNetwork } from "../schemas/enums.ts";

/**
 * What the matcher needs to know about a device. The scheduler fills it from Postgres rows; a device
 * is leased whole, so `gpuCount` GPUs go to one cluster or none do.
 */
export interface PlacementDevice {
  id: string;
  supplierId: string;
  /** Co-location unit: one supplier in one city (`${supplierId}:${city}`). */
  siteKey: string;
  /** null for CPU-only devices: never placed for GPU requests. */
  gpuModelId: string | null;
  gpuCount: number;
  /** Per-GPU memory. */
  vramGb: number;
  region: string;
  connectivityTier: ConnectivityTier;
  securityTier: SecurityTier;
  network: SupplierNetwork;
  /**
   * The device's agent runs renters' container images (Docker runtime). False for the process runtime,
   * which refuses any assignment that brings a workload, and for agents that never said.
   */
  runsImages: boolean;
  /** Base units of the request's payment token per GPU-hour. */
  pricePerGpuHour: bigint;
  verificationScoreBps: number;
  uptimeBps: number;
}

/** Live state the index keeps beside each device (also the naive matcher's input shape). */
export interface DeviceState {
  readonly device: PlacementDevice;
  readonly online: boolean;
  readonly reserved: boolean;
}

export interface MatchOptions {
  /**
   * Rotates suppliers among equally-ranked devices (fairness). Pass something stable per request,
   * e.g. the cluster id; same seed + same index state → same placement.
   */
  seed?: string;
}

export interface MatcherConfig {
  /** Devices with a verification score below this floor are never candidates. */
  minVerificationScoreBps: number;
}

export const DEFAULT_MATCHER_CONFIG: MatcherConfig = { minVerificationScoreBps: 5_000 };

/**
 * Constraints in the order the matcher applies them; an infeasible result names the first that empties
 * the candidates. `runtime` (a request with a workload needs devices that run container images) comes
 * right after the market: the Postgres candidate read leaves such devices out as it leaves out other
 * models and regions (packages/db placement.ts), so both paths name it before the finer filters.
 */
export const CONSTRAINT_ORDER = ["gpuModel", "region", "runtime", "vram", "connectivity", "security", "network", "price", "capacity"] as const;
export type PlacementConstraint = (typeof CONSTRAINT_ORDER)[number];

export interface PlacementAlternative {
  gpuModelId: string;
  region: string;
  freeGpus: number;
}

export interface PlacementFailure {
  ok: false;
  reason: {
    constraint: PlacementConstraint;
    message: string;
    /** Free GPUs elsewhere that would satisfy the request with the failing constraint relaxed, most first. */
    alternatives: PlacementAlternative[];
  };
}

export interface PlacementScore {
  /** 1 = single region. */
  regions: number;
  /** 1 = the whole cluster in one supplier site (same supplier, same city). */
  sites: number;
  devices: number;
  /** Σ price × gpuCount: what the renter pays per hour, base units. */
  pricePerHourTotal: bigint;
  verificationScoreBpsSum: number;
  uptimeBpsSum: number;
}

export interface PlacementSuccess {
  ok: true;
  /** Ordered by region, site, then rank. */
  devices: PlacementDevice[];
  gpuCount: number;
  pricePerHourTotal: bigint;
  /** Highest per-GPU price among the chosen devices (≤ maxPricePerGpuHour when one was given). */
  maxPricePerGpuHour: bigint;
  scope: "site" | "region" | "multi-region";
  score: PlacementScore;
}

export type PlacementResult = PlacementSuccess | PlacementFailure;

/** Eligible to be placed at all (independent of any request): GPU device, online, free, verified enough. */
export function isFreeCandidate(state: DeviceState, config: MatcherConfig): boolean {
  const device = state.device;
  return (
    state.online &&
    !state.reserved &&
    device.gpuModelId !== null &&
    device.gpuCount > 0 &&
    device.verificationScoreBps >= config.minVerificationScoreBps
  );
}

export function requiredSecurityRank(request: Pick<ClusterRequest, "encryptedTraffic" | "complianceOnly">): number {
  if (request.complianceOnly) return SECURITY_TIER_RANK.COMPLIANCE;
  if (request.encryptedTraffic) return SECURITY_TIER_RANK.ENCRYPTED;
  return SECURITY_TIER_RANK.STANDARD;
}

/**
 * The per-device filters after model and region, in CONSTRAINT_ORDER. Shared by the index (which
 * applies them to whole sub-buckets) and the naive matcher (per device), so both mean the same thing.
 */
export interface AttributeFilter {
  /** The request brings a workload (always an image): only devices that run images can serve it. */
  needsImages: boolean;
  minVramGb: number;
  minConnectivityRank: number;
  minSecurityRank: number;
  networks: ReadonlySet<string>;
}

export function attributeFilter(request: ClusterRequest): AttributeFilter {
  return {
    needsImages: request.workload !== undefined,
    minVramGb: request.minVramGb,
    minConnectivityRank: CONNECTIVITY_TIER_RANK[request.connectivityTier],
    minSecurityRank: requiredSecurityRank(request),
    networks: new Set(request.supplierNetworks),
  };
}

/** The number of attribute filters: a device (or sub-bucket) passing all of them passes this many stages. */
export const ATTRIBUTE_STAGES = 5;

/** How many of the attribute filters (runtime, vram, connectivity, security, network) a device passes, in order. */
export function attributeStagesPassed(
  filter: AttributeFilter,
  attrs: { runsImages: boolean; vramGb: number; connectivityTier: ConnectivityTier; securityTier: SecurityTier; network: string },
): number {
  if (filter.needsImages && !attrs.runsImages) return 0;
  if (attrs.vramGb < filter.minVramGb) return 1;
  if (CONNECTIVITY_TIER_RANK[attrs.connectivityTier] < filter.minConnectivityRank) return 2;
  if (SECURITY_TIER_RANK[attrs.securityTier] < filter.minSecurityRank) return 3;
  if (!filter.networks.has(attrs.network)) return 4;
  return ATTRIBUTE_STAGES;
}

/**
 * 32-bit FNV-1a with murmur3's finaliser: a cheap, stable hash for supplier rotation (not
 * security-relevant). The finaliser spreads short, similar strings ("cluster-1", "cluster-2") over
 * the whole range, which the rotation's fairness depends on.
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return mix32(hash);
}

/** A device as the matchers rank it: the salt is hash(supplierId), computed once. */
export interface RankedDevice {
  readonly device: PlacementDevice;
  readonly supplierSalt: number;
  /** Number(pricePerGpuHour): monotonic in the price, so unequal keys order prices without bigint maths. */
  readonly priceKey: number;
}

/** murmur3's 32-bit finaliser: a bijection on uint32 that scrambles every input bit into every output bit. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Rank order used everywhere (the "seeded rank"): price ascending, verification score descending,
 * uptime descending, then the supplier's position in a per-request permutation of suppliers
 * (mix32(hash(supplierId) XOR hash(seed))), then device id. Among equally good offers each supplier
 * is therefore first for about 1/S of the seeds (fairness), the result is reproducible for a seed,
 * and one supplier's tied devices stay adjacent (co-location).
 */
export function compareSeeded(a: RankedDevice, b: RankedDevice, pivot: number): number {
  const da = a.device;
  const db = b.device;
  // Equal keys can still hide different prices above 2^53 base units: then compare the bigints.
  if (a.priceKey !== b.priceKey) return a.priceKey - b.priceKey;
  if (da.pricePerGpuHour !== db.pricePerGpuHour) return da.pricePerGpuHour < db.pricePerGpuHour ? -1 : 1;
  if (da.verificationScoreBps !== db.verificationScoreBps) return db.verificationScoreBps - da.verificationScoreBps;
  if (da.uptimeBps !== db.uptimeBps) return db.uptimeBps - da.uptimeBps;
  if (a.supplierSalt !== b.supplierSalt) return mix32(a.supplierSalt ^ pivot) - mix32(b.supplierSalt ^ pivot);
  return da.id < db.id ? -1 : da.id > db.id ? 1 : 0;
}

export function rankedDevice(device: PlacementDevice): RankedDevice {
  return { device, supplierSalt: fnv1a32(device.supplierId), priceKey: Number(device.pricePerGpuHour) };
}

/** The stored (seed-independent) order: any fixed order that groups equal offers (price, verification, uptime) into runs. */
export function compareStored(a: RankedDevice, b: RankedDevice): number {
  return compareSeeded(a, b, 0);
}

export function seedPivot(options: MatchOptions | undefined): number {
  return fnv1a32(options?.seed ?? "");
}
