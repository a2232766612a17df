/**
 * Gang placement: the selection and diagnosis logic shared by the index (`PlacementIndex`) and the
 * naive full-scan matcher, which differ only in how they find candidates (`CandidateSource`). Sharing
 * it is what lets the property test demand identical results from both.
 *
 * SCORING (lexicographic; the first difference decides):
 *   1. Exact GPU count: the chosen devices' GPUs sum to exactly `gpuCount` (devices are leased whole,
 *      renters pay per GPU, so no silent over-allocation). No such set → infeasible ("capacity").
 *   2. Fewest regions: a single allowed region that can host the whole cluster always beats spreading
 *      over several; a multi-region placement is only made when no single region can.
 *   3. Fewest sites (site = one supplier in one city): within a region we look for one site that can
 *      host the whole cluster (candidate sites: those of the spread placement plus the SITE_LOOKAHEAD
 *      sites with the most free GPUs of each requested model in that region).
 *   4. Fewest devices: the device-size mix is the one with the fewest devices (exact bounded
 *      subset-sum DP), preferring larger devices on ties; then the best-ranked devices of each size.
 *   5. Lowest total price per hour, then highest Σ verification score, then highest Σ uptime.
 *   6. Deterministic tie-breaks: device rank = (price ↑, verification ↓, uptime ↓, supplier order,
 *      id). Supplier order = mix32(hash(supplierId) XOR hash(seed)): a per-request permutation of
 *      suppliers, so for equally good offers each supplier comes first for ~1/S of requests
 *      (fairness), the same seed always gives the same answer, and a supplier's tied devices stay
 *      together.
 *      Between equal-scoring regions/sites, the lexicographically smaller region id / site key wins.
 * Fairness vs co-location: no per-supplier cap — a single site hosting a whole multi-node cluster is
 * exactly what co-location asks for; rotation only spreads wins among equally ranked offers.
 */
import { gpuModel } from "../catalogue/gpu-models.ts";
import { formatAmount } from "../money.ts";
import type { ClusterRequest } from "../schemas/cluster.ts";
import { connectivityTierSpec } from "../schemas/enums.ts";
import {
  ATTRIBUTE_STAGES,
  CONSTRAINT_ORDER,
  attributeFilter,
  attributeStagesPassed,
  compareSeeded,
  type AttributeFilter,
  type PlacementAlternative,
  type PlacementConstraint,
  type PlacementDevice,
  type PlacementFailure,
  type PlacementResult,
  type PlacementScore,
  type PlacementSuccess,
  type RankedDevice,
} from "./types.ts";

/** Devices carry at most this many GPUs (DeviceSpec allows 16; typical hosts have ≤ 8). */
export const MAX_GPUS_PER_DEVICE = 16;
/** Sites per requested model and region considered for single-site co-location, biggest first. */
export const SITE_LOOKAHEAD = 8;

export interface RankedStream {
  peek(): RankedDevice | undefined;
  next(): void;
}

/** Free GPUs per model and region under a partial filter (for diagnostics). */
export interface CountFilter {
  /** null: any model. */
  models: ReadonlySet<string> | null;
  /** null: any region. */
  regions: ReadonlySet<string> | null;
  /** How many attribute filters to apply, in order: 0 none … ATTRIBUTE_STAGES runtime+vram+connectivity+security+network. */
  attributeStages: number;
  /** Apply the request's max price. */
  price: boolean;
}

/** How a matcher exposes the candidates (devices passing every constraint) of one request. */
export interface CandidateSource {
  readonly request: ClusterRequest;
  readonly query: RequestQuery;
  /** Candidates in `region` with exactly `k` GPUs, counted up to `cap`. */
  available(region: string, k: number, cap: number): number;
  /** Candidates in `region` with exactly `k` GPUs in seeded rank order. */
  ranked(region: string, k: number): RankedStream;
  /** Per requested model (request order), up to `limit` sites of `region` with ≥ `minFree` free GPUs of it (any attributes), most free first, then site key; deduplicated. */
  largeSites(region: string, minFree: number, limit: number): string[];
  /** False only when the site certainly cannot host `minGpus` (a cheap pre-check; true is always safe). */
  siteMayHost(siteKey: string, region: string, minGpus: number): boolean;
  /** Like `available`, for one site of `region`. */
  siteAvailable(siteKey: string, region: string, k: number, cap: number): number;
  /** Like `ranked`, for one site of `region`. */
  siteRanked(siteKey: string, region: string, k: number): RankedStream;
  /** Free GPUs keyed `${gpuModelId}|${region}` (non-zero entries only). */
  countFree(filter: CountFilter): Map<string, number>;
}

/** The request, pre-digested once for the hot path. */
export interface RequestQuery {
  models: string[];
  modelSet: ReadonlySet<string>;
  regions: string[];
  regionSet: ReadonlySet<string>;
  attributes: AttributeFilter;
  maxPrice: bigint | null;
  pivot: number;
}

export function requestQuery(request: ClusterRequest, pivot: number): RequestQuery {
  const models = [...new Set(request.gpuModelIds)];
  const regions = [...new Set(request.regions)].sort();
  return {
    models,
    modelSet: new Set(models),
    regions,
    regionSet: new Set(regions),
    attributes: attributeFilter(request),
    maxPrice: request.maxPricePerGpuHour ?? null,
    pivot,
  };
}

/** Whether a (free, eligible) device passes every constraint of the request. */
export function matchesQuery(device: PlacementDevice, query: RequestQuery): boolean {
  return (
    device.gpuModelId !== null &&
    query.modelSet.has(device.gpuModelId) &&
    query.regionSet.has(device.region) &&
    attributeStagesPassed(query.attributes, device) === ATTRIBUTE_STAGES &&
    (query.maxPrice === null || device.pricePerGpuHour <= query.maxPrice)
  );
}

/** k-way merge of rank-ordered streams. */
export class MergedStream implements RankedStream {
  private best = -1;
  constructor(
    private readonly streams: RankedStream[],
    private readonly pivot: number,
  ) {
    this.pick();
  }
  peek(): RankedDevice | undefined {
    return this.best < 0 ? undefined : this.streams[this.best]!.peek();
  }
  next(): void {
    if (this.best < 0) return;
    this.streams[this.best]!.next();
    this.pick();
  }
  private pick(): void {
    let best = -1;
    let bestItem: RankedDevice | undefined;
    for (let i = 0; i < this.streams.length; i++) {
      const item = this.streams[i]!.peek();
      if (item !== undefined && (bestItem === undefined || compareSeeded(item, bestItem, this.pivot) < 0)) {
        best = i;
        bestItem = item;
      }
    }
    this.best = best;
  }
}

export class ArrayStream implements RankedStream {
  private at = 0;
  constructor(private readonly items: readonly RankedDevice[]) {}
  peek(): RankedDevice | undefined {
    return this.items[this.at];
  }
  next(): void {
    this.at++;
  }
}

export function mergeStreams(streams: RankedStream[], pivot: number): RankedStream {
  return streams.length === 1 ? streams[0]! : new MergedStream(streams, pivot);
}

/**
 * Fewest-devices mix: counts[k] devices of k GPUs summing to exactly `total`, with counts[k] ≤
 * available[k]; among mixes with the fewest devices, the one using the most large devices.
 * Bounded subset-sum DP, O(total² · Σ 1/k) worst case — microseconds for 8 or 64 GPUs.
 */
export function deviceMix(available: readonly number[], total: number): number[] | null {
  // Fast path: if the largest available size divides the total and there are enough of them, that
  // mix reaches the lower bound ⌈total / largest⌉ and is the DP's answer (it prefers large devices).
  let largest = 0;
  for (let k = Math.min(total, available.length - 1); k >= 1; k--) {
    if ((available[k] ?? 0) > 0) {
      largest = k;
      break;
    }
  }
  if (largest > 0 && total % largest === 0 && (available[largest] ?? 0) >= total / largest) {
    const counts = new Array<number>(available.length).fill(0);
    counts[largest] = total / largest;
    return counts;
  }
  const INF = 0x3fffffff;
  const sizes: number[] = [];
  for (let k = 1; k < available.length; k++) if ((available[k] ?? 0) > 0 && k <= total) sizes.push(k);
  // layers[i][n]: fewest devices making n GPUs from sizes[0..i).
  const layers: Int32Array[] = [];
  let prev = new Int32Array(total + 1).fill(INF);
  prev[0] = 0;
  layers.push(prev);
  for (const k of sizes) {
    const limit = Math.min(available[k] ?? 0, Math.floor(total / k));
    const cur = new Int32Array(total + 1).fill(INF);
    for (let n = 0; n <= total; n++) {
      let best = INF;
      for (let x = 0, m = n; x <= limit && m >= 0; x++, m -= k) {
        const v = prev[m]! + x;
        if (v < best) best = v;
      }
      cur[n] = best;
    }
    layers.push(cur);
    prev = cur;
  }
  if (prev[total]! >= INF) return null;
  const counts = new Array<number>(available.length).fill(0);
  let n = total;
  for (let i = sizes.length - 1; i >= 0; i--) {
    const k = sizes[i]!;
    const cur = layers[i + 1]!;
    const below = layers[i]!;
    const limit = Math.min(available[k] ?? 0, Math.floor(n / k));
    // Largest count of this (larger) size that still achieves the optimum.
    for (let x = limit; x >= 0; x--) {
      if (below[n - x * k]! + x === cur[n]) {
        counts[k] = x;
        n -= x * k;
        break;
      }
    }
  }
  return counts;
}

interface Candidate {
  devices: RankedDevice[];
  score: PlacementScore;
  scope: PlacementSuccess["scope"];
  /** Final tie-break between equal scores. */
  key: string;
}

function scoreOf(devices: readonly RankedDevice[]): PlacementScore {
  const regions = new Set<string>();
  const sites = new Set<string>();
  let price = 0n;
  let verification = 0;
  let uptime = 0;
  for (const { device } of devices) {
    regions.add(device.region);
    sites.add(device.siteKey);
    price += device.pricePerGpuHour * BigInt(device.gpuCount);
    verification += device.verificationScoreBps;
    uptime += device.uptimeBps;
  }
  return {
    regions: regions.size,
    sites: sites.size,
    devices: devices.length,
    pricePerHourTotal: price,
    verificationScoreBpsSum: verification,
    uptimeBpsSum: uptime,
  };
}

export function compareCandidates(a: Candidate, b: Candidate): number {
  const x = a.score;
  const y = b.score;
  if (x.regions !== y.regions) return x.regions - y.regions;
  if (x.sites !== y.sites) return x.sites - y.sites;
  if (x.devices !== y.devices) return x.devices - y.devices;
  if (x.pricePerHourTotal !== y.pricePerHourTotal) return x.pricePerHourTotal < y.pricePerHourTotal ? -1 : 1;
  if (x.verificationScoreBpsSum !== y.verificationScoreBpsSum) return y.verificationScoreBpsSum - x.verificationScoreBpsSum;
  if (x.uptimeBpsSum !== y.uptimeBpsSum) return y.uptimeBpsSum - x.uptimeBpsSum;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function better(current: Candidate | null, next: Candidate | null): Candidate | null {
  if (next === null) return current;
  if (current === null) return next;
  return compareCandidates(next, current) < 0 ? next : current;
}

/** Takes the best-ranked `mix[k]` devices of each size k across `regions`. */
function spread(source: CandidateSource, regions: readonly string[], mix: readonly number[]): RankedDevice[] {
  return take(mix, (k) =>
    mergeStreams(
      regions.map((region) => source.ranked(region, k)),
      source.query.pivot,
    ),
  );
}

/** Takes the best-ranked `mix[k]` devices of each size k from the given streams. */
function take(mix: readonly number[], streamFor: (k: number) => RankedStream): RankedDevice[] {
  const chosen: RankedDevice[] = [];
  for (let k = mix.length - 1; k >= 1; k--) {
    let want = mix[k] ?? 0;
    if (want === 0) continue;
    const stream = streamFor(k);
    for (let item = stream.peek(); item !== undefined && want > 0; stream.next(), item = stream.peek()) {
      chosen.push(item);
      want--;
    }
    if (want > 0) throw new Error(`matcher invariant: availability promised ${mix[k]} devices of ${k} GPUs`);
  }
  return chosen;
}

/** The best placement inside one site, or null when the site cannot host the whole cluster. */
function placeInSite(source: CandidateSource, region: string, siteKey: string, total: number): Candidate | null {
  if (!source.siteMayHost(siteKey, region, total)) return null;
  const available = new Array<number>(MAX_GPUS_PER_DEVICE + 1).fill(0);
  for (let k = 1; k <= Math.min(total, MAX_GPUS_PER_DEVICE); k++) available[k] = source.siteAvailable(siteKey, region, k, Math.floor(total / k));
  const mix = deviceMix(available, total);
  if (mix === null) return null;
  const devices = take(mix, (k) => source.siteRanked(siteKey, region, k));
  return { devices, score: scoreOf(devices), scope: "site", key: siteKey };
}

function placeInRegion(source: CandidateSource, region: string, mix: readonly number[], total: number): Candidate {
  const devices = spread(source, [region], mix);
  const score = scoreOf(devices);
  let best: Candidate = { devices, score, scope: score.sites === 1 ? "site" : "region", key: region };
  if (score.sites === 1) return best;
  // Co-location: can a single site host it all? Candidates: the spread's sites and the biggest sites.
  const sites = new Set(devices.map((candidate) => candidate.device.siteKey));
  for (const site of source.largeSites(region, total, SITE_LOOKAHEAD)) sites.add(site);
  let bestSite: Candidate | null = null;
  for (const site of [...sites].sort()) bestSite = better(bestSite, placeInSite(source, region, site, total));
  if (bestSite !== null) best = bestSite;
  return best;
}

function availableIn(source: CandidateSource, region: string, total: number): number[] {
  const available = new Array<number>(MAX_GPUS_PER_DEVICE + 1).fill(0);
  for (let k = 1; k <= Math.min(total, MAX_GPUS_PER_DEVICE); k++) available[k] = source.available(region, k, Math.floor(total / k));
  return available;
}

/** Places the source's request. Deterministic: same candidates + same seed → same result. */
export function placeFrom(source: CandidateSource): PlacementResult {
  const total = source.request.gpuCount;
  const regions = source.query.regions;
  const union = new Array<number>(MAX_GPUS_PER_DEVICE + 1).fill(0);
  let best: Candidate | null = null;
  for (const region of regions) {
    const available = availableIn(source, region, total);
    for (let k = 1; k <= MAX_GPUS_PER_DEVICE; k++) union[k] = Math.min(union[k]! + available[k]!, Math.floor(total / k));
    const mix = deviceMix(available, total);
    if (mix !== null) best = better(best, placeInRegion(source, region, mix, total));
  }
  if (best === null && regions.length > 1) {
    const mix = deviceMix(union, total);
    if (mix !== null) {
      const devices = spread(source, regions, mix);
      best = { devices, score: scoreOf(devices), scope: "multi-region", key: "" };
    }
  }
  if (best === null) return diagnose(source);
  return success(best, source.query.pivot);
}

function success(candidate: Candidate, pivot: number): PlacementSuccess {
  const ordered = [...candidate.devices].sort((a, b) => {
    if (a.device.region !== b.device.region) return a.device.region < b.device.region ? -1 : 1;
    if (a.device.siteKey !== b.device.siteKey) return a.device.siteKey < b.device.siteKey ? -1 : 1;
    return compareSeeded(a, b, pivot);
  });
  let maxPrice = 0n;
  let gpus = 0;
  for (const { device } of ordered) {
    if (device.pricePerGpuHour > maxPrice) maxPrice = device.pricePerGpuHour;
    gpus += device.gpuCount;
  }
  return {
    ok: true,
    devices: ordered.map((candidate) => candidate.device),
    gpuCount: gpus,
    pricePerHourTotal: candidate.score.pricePerHourTotal,
    maxPricePerGpuHour: maxPrice,
    scope: candidate.scope,
    score: candidate.score,
  };
}

// ---------------------------------------------------------------------------------------------
// Diagnosis: which constraint empties the candidate set first (CONSTRAINT_ORDER), and what is free
// instead. Runs only for infeasible requests; O(buckets) on the index except where a price cap must
// be checked against the sorted lists.

const MAX_ALTERNATIVES = 10;

function sumCounts(counts: Map<string, number>): number {
  let sum = 0;
  for (const value of counts.values()) sum += value;
  return sum;
}

function toAlternatives(counts: Map<string, number>): PlacementAlternative[] {
  const list: PlacementAlternative[] = [];
  for (const [key, freeGpus] of counts) {
    const [gpuModelId = "", region = ""] = key.split("|");
    list.push({ gpuModelId, region, freeGpus });
  }
  list.sort((a, b) => b.freeGpus - a.freeGpus || cmpStr(a.gpuModelId, b.gpuModelId) || cmpStr(a.region, b.region));
  return list.slice(0, MAX_ALTERNATIVES);
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function modelNames(models: readonly string[]): string {
  return models.map((id) => gpuModel(id)?.name ?? id).join(" or ");
}

/**
 * " (elsewhere: 40 in us-east, 8 in ap-south)". For a model failure the alternatives are other
 * models in the requested regions; otherwise they are the requested models outside those regions.
 */
function describeAlternatives(alternatives: readonly PlacementAlternative[], query: RequestQuery, otherModels: boolean): string {
  const showModel = otherModels || query.models.length > 1;
  const parts = alternatives
    .filter((alternative) => otherModels || !query.regionSet.has(alternative.region))
    .slice(0, 5)
    .map((alternative) => `${alternative.freeGpus}${showModel ? ` ${modelNames([alternative.gpuModelId])}` : ""} in ${alternative.region}`);
  return parts.length === 0 ? "" : ` (${otherModels ? "free in the requested regions" : "elsewhere"}: ${parts.join(", ")})`;
}

function attributeClause(constraint: PlacementConstraint, request: ClusterRequest): string {
  switch (constraint) {
    case "runtime":
      return "on devices that run container images";
    case "vram":
      return `with at least ${request.minVramGb} GB of VRAM per GPU`;
    case "connectivity":
      return `with ${connectivityTierSpec(request.connectivityTier).label.replace(/^\w/, (c) => c.toLowerCase())} connectivity or better`;
    case "security":
      return request.complianceOnly ? "from compliance-grade suppliers" : "with end-to-end encrypted traffic";
    case "network":
      return `on supplier network${request.supplierNetworks.length > 1 ? "s" : ""} ${request.supplierNetworks.join(", ")}`;
    case "price":
      return `at or below ${formatAmount(request.maxPricePerGpuHour ?? 0n, request.paymentToken)} ${request.paymentToken} per GPU-hour`;
    default:
      return "";
  }
}

export function diagnose(source: CandidateSource): PlacementFailure {
  const { request, query } = source;
  const names = modelNames(query.models);
  const where = query.regions.join(", ");
  const fail = (constraint: PlacementConstraint, message: string, alternatives: PlacementAlternative[]): PlacementFailure => ({
    ok: false,
    reason: { constraint, message, alternatives },
  });

  const anywhere = source.countFree({ models: query.modelSet, regions: null, attributeStages: 0, price: false });
  if (sumCounts(anywhere) === 0) {
    const alternatives = toAlternatives(source.countFree({ models: null, regions: query.regionSet, attributeStages: 0, price: false }));
    return fail("gpuModel", `no free ${names} GPUs on the network${describeAlternatives(alternatives, query, true)}`, alternatives);
  }
  const inRegions = source.countFree({ models: query.modelSet, regions: query.regionSet, attributeStages: 0, price: false });
  if (sumCounts(inRegions) === 0) {
    const alternatives = toAlternatives(anywhere);
    return fail("region", `no free ${names} GPUs in ${where}${describeAlternatives(alternatives, query, false)}`, alternatives);
  }
  // runtime, vram, connectivity, security, network, then price: constraint i+2 in CONSTRAINT_ORDER is
  // attribute stage i+1 (price is the stage after the last attribute).
  const priceStage = ATTRIBUTE_STAGES + 1;
  for (let stage = 1; stage <= priceStage; stage++) {
    const constraint = CONSTRAINT_ORDER[stage + 1]!;
    if (stage === priceStage && query.maxPrice === null) break;
    const counts = source.countFree({
      models: query.modelSet,
      regions: query.regionSet,
      attributeStages: Math.min(stage, ATTRIBUTE_STAGES),
      price: stage === priceStage,
    });
    if (sumCounts(counts) === 0) {
      // What is free elsewhere with everything before the failing constraint applied.
      const alternatives = toAlternatives(
        source.countFree({ models: query.modelSet, regions: null, attributeStages: stage - 1, price: false }),
      );
      return fail(
        constraint,
        `no free ${names} GPUs in ${where} ${attributeClause(constraint, request)}${describeAlternatives(alternatives, query, false)}`,
        alternatives,
      );
    }
  }
  const matching = source.countFree({ models: query.modelSet, regions: query.regionSet, attributeStages: ATTRIBUTE_STAGES, price: true });
  const matchingTotal = sumCounts(matching);
  const alternatives = toAlternatives(source.countFree({ models: query.modelSet, regions: null, attributeStages: ATTRIBUTE_STAGES, price: true }));
  const perRegion = new Map<string, number>();
  for (const [key, gpus] of matching) {
    const region = key.split("|")[1] ?? "";
    perRegion.set(region, (perRegion.get(region) ?? 0) + gpus);
  }
  const breakdown = query.regions.length > 1 ? ` (${query.regions.map((region) => `${perRegion.get(region) ?? 0} in ${region}`).join(", ")})` : "";
  const message =
    matchingTotal < request.gpuCount
      ? `only ${matchingTotal} ${names} GPUs matching the request are free in ${where}${breakdown}, ${request.gpuCount} requested${describeAlternatives(alternatives, query, false)}`
      : `${matchingTotal} ${names} GPUs matching the request are free in ${where}${breakdown}, but no set of whole devices adds up to exactly ${request.gpuCount} GPUs (devices are leased whole)${describeAlternatives(alternatives, query, false)}`;
  return fail("capacity", message, alternatives);
}
