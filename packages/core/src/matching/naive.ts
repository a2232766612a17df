/**
 * The naive matcher: the same semantics as `PlacementIndex.place` (it shares ./select.ts) but finds
 * candidates by scanning every device and sorting the matches, per request. It is the benchmark's
 * baseline and the property test's oracle; never use it on a real network.
 */
import type { ClusterRequest } from "../schemas/cluster.ts";
import { ArrayStream, matchesQuery, placeFrom, requestQuery, type CandidateSource, type CountFilter, type RankedStream, type RequestQuery } from "./select.ts";
import {
  DEFAULT_MATCHER_CONFIG,
  attributeStagesPassed,
  compareSeeded,
  rankedDevice,
  isFreeCandidate,
  seedPivot,
  type DeviceState,
  type MatchOptions,
  type MatcherConfig,
  type PlacementResult,
  type RankedDevice,
} from "./types.ts";

export function naivePlace(
  states: Iterable<DeviceState>,
  request: ClusterRequest,
  options?: MatchOptions,
  config: Partial<MatcherConfig> = {},
): PlacementResult {
  return placeFrom(new NaiveSource(states, request, seedPivot(options), { ...DEFAULT_MATCHER_CONFIG, ...config }));
}

class NaiveSource implements CandidateSource {
  readonly query: RequestQuery;
  private readonly groups = new Map<string, RankedDevice[]>();
  private readonly siteGroups = new Map<string, RankedDevice[]>();

  constructor(
    private readonly states: Iterable<DeviceState>,
    readonly request: ClusterRequest,
    pivot: number,
    private readonly config: MatcherConfig,
  ) {
    this.query = requestQuery(request, pivot);
    for (const state of states) {
      if (!isFreeCandidate(state, config) || !matchesQuery(state.device, this.query)) continue;
      const ranked = rankedDevice(state.device);
      const key = `${state.device.region}|${state.device.gpuCount}`;
      let group = this.groups.get(key);
      if (group === undefined) this.groups.set(key, (group = []));
      group.push(ranked);
    }
    for (const group of this.groups.values()) group.sort((a, b) => compareSeeded(a, b, pivot));
  }

  available(region: string, k: number, cap: number): number {
    return Math.min(cap, this.groups.get(`${region}|${k}`)?.length ?? 0);
  }

  ranked(region: string, k: number): RankedStream {
    return new ArrayStream(this.groups.get(`${region}|${k}`) ?? []);
  }

  largeSites(region: string, minFree: number, limit: number): string[] {
    const out = new Set<string>();
    for (const model of this.query.models) {
      const free = new Map<string, number>();
      for (const state of this.states) {
        const device = state.device;
        if (device.gpuModelId !== model || device.region !== region || !isFreeCandidate(state, this.config)) continue;
        free.set(device.siteKey, (free.get(device.siteKey) ?? 0) + device.gpuCount);
      }
      const ordered = [...free].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      for (const [site, gpus] of ordered.slice(0, limit)) if (gpus >= minFree) out.add(site);
    }
    return [...out];
  }

  siteMayHost(): boolean {
    return true;
  }

  siteAvailable(siteKey: string, region: string, k: number, cap: number): number {
    return Math.min(cap, this.siteGroup(siteKey, region, k).length);
  }

  siteRanked(siteKey: string, region: string, k: number): RankedStream {
    return new ArrayStream(this.siteGroup(siteKey, region, k));
  }

  /** Candidates of one site, region and size in rank order (the groups are rank-sorted already). */
  private siteGroup(siteKey: string, region: string, k: number): RankedDevice[] {
    const key = `${siteKey}|${region}|${k}`;
    let group = this.siteGroups.get(key);
    if (group === undefined) {
      group = (this.groups.get(`${region}|${k}`) ?? []).filter((candidate) => candidate.device.siteKey === siteKey);
      this.siteGroups.set(key, group);
    }
    return group;
  }

  countFree(filter: CountFilter): Map<string, number> {
    const counts = new Map<string, number>();
    const maxPrice = filter.price ? this.query.maxPrice : null;
    for (const state of this.states) {
      const device = state.device;
      if (!isFreeCandidate(state, this.config) || device.gpuModelId === null) continue;
      if (filter.models !== null && !filter.models.has(device.gpuModelId)) continue;
      if (filter.regions !== null && !filter.regions.has(device.region)) continue;
      if (attributeStagesPassed(this.query.attributes, device) < filter.attributeStages) continue;
      if (maxPrice !== null && device.pricePerGpuHour > maxPrice) continue;
      const key = `${device.gpuModelId}|${device.region}`;
      counts.set(key, (counts.get(key) ?? 0) + device.gpuCount);
    }
    return counts;
  }
}
