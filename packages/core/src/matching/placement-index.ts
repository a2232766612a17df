/**
 * The placement index: free capacity bucketed so a placement never scans the network.
 *
 * Layout: bucket (gpuModelId × region) → sub-bucket (runsImages × securityTier × connectivityTier ×
 * network × vramGb: ≤ 96 per VRAM size) → per GPU count (1…16) a SortedList of free devices in stored rank
 * order (price ↑, verification ↓, uptime ↓, supplier hash, id). A request picks whole sub-buckets
 * by their attributes (no per-device filtering). It handles a price cap by stopping at the first
 * device above it (price is the primary key) and walks only as far as it picks.
 *
 * Each bucket also keeps:
 * - free-GPU counters, so infeasibility messages cost O(buckets × sub-buckets);
 * - its sites ordered by free GPUs, to find co-location candidates;
 * - per site, the same per-sub-bucket, per-GPU-count sorted lists, so checking whether one site
 *   can host a whole cluster is also O(log n) and never a scan.
 *
 * Every mutation (upsert, remove, reserve, release, heartbeat) moves one device in O(log n).
 * `load()` bulk-builds an empty index with one sort per list.
 *
 * Selection/scoring lives in ./select.ts (shared with the naive matcher); see its header.
 */
import type { ClusterRequest } from "../schemas/cluster.ts";
import { CONNECTIVITY_TIER_RANK, CONNECTIVITY_TIERS, SECURITY_TIER_RANK } from "../schemas/enums.ts";
import type { ConnectivityTier, SecurityTier } from "../schemas/enums.ts";
import {
  MAX_GPUS_PER_DEVICE,
  mergeStreams,
  placeFrom,
  requestQuery,
  type CandidateSource,
  type CountFilter,
  type RankedStream,
  type RequestQuery,
} from "./select.ts";
import { SortedList, type Cursor } from "./sorted-list.ts";
import {
  ATTRIBUTE_STAGES,
  DEFAULT_MATCHER_CONFIG,
  attributeStagesPassed,
  compareSeeded,
  compareStored,
  fnv1a32,
  isFreeCandidate,
  seedPivot,
  type DeviceState,
  type MatchOptions,
  type MatcherConfig,
  type PlacementDevice,
  type PlacementResult,
  type RankedDevice,
} from "./types.ts";

interface Entry extends DeviceState, RankedDevice {
  online: boolean;
  reserved: boolean;
  /** Where the entry is listed while free (null when not listed). */
  bucket: Bucket | null;
  sub: SubBucket | null;
}

interface SubBucket {
  runsImages: boolean;
  securityTier: SecurityTier;
  connectivityTier: ConnectivityTier;
  network: string;
  vramGb: number;
  freeGpus: number;
  /** Indexed by GPU count. */
  lists: (SortedList<Entry> | undefined)[];
  /** During load(): unsorted entries per GPU count, sorted once at the end. */
  pending: (Entry[] | undefined)[];
}

interface SiteLists {
  /** Free GPUs of this site in the sub-bucket: rejects sites too small for a cluster at once. */
  gpus: number;
  /** Indexed by GPU count. */
  lists: (SortedList<Entry> | undefined)[];
}

interface SiteCount {
  site: string;
  free: number;
}

interface Bucket {
  gpuModelId: string;
  region: string;
  freeGpus: number;
  subs: Map<number, SubBucket>;
  siteFree: Map<string, number>;
  /**
   * The same free devices per site and sub-bucket, same layout as the sub-buckets (co-location
   * checks cost O(log n), no scan). Keyed by site first: one lookup finds all of a site's lists.
   */
  sites: Map<string, Map<SubBucket, SiteLists>>;
  /** Sites by free GPUs (of this model, in this region) descending, then site key. */
  siteOrder: SortedList<SiteCount>;
}

const compareSiteCounts = (a: SiteCount, b: SiteCount): number => b.free - a.free || (a.site < b.site ? -1 : a.site > b.site ? 1 : 0);

export class PlacementIndex {
  private readonly entries = new Map<string, Entry>();
  /** model → region → bucket (nested maps: no key strings built per device). */
  private readonly buckets = new Map<string, Map<string, Bucket>>();
  private readonly bucketList: Bucket[] = [];
  /** True inside load(): lists and site order are filled unsorted and sorted once at the end. */
  private bulk = false;
  readonly config: MatcherConfig;

  constructor(config: Partial<MatcherConfig> = {}) {
    this.config = { ...DEFAULT_MATCHER_CONFIG, ...config };
  }

  get deviceCount(): number {
    return this.entries.size;
  }

  /** Live state of every device, re-iterable (the naive matcher scans it). */
  states(): Iterable<DeviceState> {
    const entries = this.entries;
    return { [Symbol.iterator]: () => entries.values() };
  }

  state(id: string): DeviceState | undefined {
    return this.entries.get(id);
  }

  /** Adds or replaces a device; state defaults to online and free (or keeps the existing state). */
  upsert(device: PlacementDevice, state: { online?: boolean; reserved?: boolean } = {}): void {
    const previous = this.entries.get(device.id);
    if (previous !== undefined) this.unlist(previous);
    const entry: Entry = {
      device,
      supplierSalt: previous !== undefined && previous.device.supplierId === device.supplierId ? previous.supplierSalt : fnv1a32(device.supplierId),
      priceKey: Number(device.pricePerGpuHour),
      online: state.online ?? previous?.online ?? true,
      reserved: state.reserved ?? previous?.reserved ?? false,
      bucket: null,
      sub: null,
    };
    this.entries.set(device.id, entry);
    this.relist(entry);
  }

  /**
   * Bulk-loads devices into an EMPTY index (scheduler start-up): the same state as calling
   * `upsert` for each, but every sorted list is built by one sort instead of n inserts.
   */
  load(devices: Iterable<PlacementDevice>, state: (device: PlacementDevice) => { online?: boolean; reserved?: boolean } = () => ({})): void {
    if (this.entries.size > 0) throw new Error("load() needs an empty index; use upsert() to add devices");
    this.bulk = true;
    try {
      for (const device of devices) {
        if (this.entries.has(device.id)) throw new Error(`duplicate device id ${device.id} in load()`);
        this.upsert(device, state(device));
      }
    } finally {
      this.bulk = false;
    }
    for (const bucket of this.bucketList) {
      for (const sub of bucket.subs.values())
        for (let k = 0; k < sub.lists.length; k++) {
          const pending = sub.pending[k];
          if (pending === undefined) continue;
          pending.sort(compareStored);
          sub.lists[k] = SortedList.fromSorted(pending, compareStored);
          sub.pending[k] = undefined;
        }
      const sites = [...bucket.siteFree].map(([site, free]) => ({ site, free })).sort(compareSiteCounts);
      bucket.siteOrder = SortedList.fromSorted(sites, compareSiteCounts);
    }
  }

  remove(id: string): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    this.unlist(entry);
    this.entries.delete(id);
    return true;
  }

  /** Online/offline from heartbeats (or their absence). */
  heartbeat(id: string, online: boolean): void {
    const entry = this.entries.get(id);
    if (entry === undefined || entry.online === online) return;
    entry.online = online;
    this.relist(entry);
  }

  /**
   * Marks devices leased, all or nothing: throws (changing nothing) if any is unknown or already
   * reserved. Postgres stays the source of truth; this mirrors a committed reservation.
   */
  reserve(ids: readonly string[]): void {
    const entries = ids.map((id) => {
      const entry = this.entries.get(id);
      if (entry === undefined) throw new Error(`unknown device ${id}`);
      if (entry.reserved) throw new Error(`device ${id} is already reserved`);
      return entry;
    });
    if (new Set(ids).size !== ids.length) throw new Error("duplicate device ids in reservation");
    for (const entry of entries) {
      entry.reserved = true;
      this.relist(entry);
    }
  }

  /** Frees devices (lease ended); unknown ids are ignored. */
  release(ids: readonly string[]): void {
    for (const id of ids) {
      const entry = this.entries.get(id);
      if (entry === undefined || !entry.reserved) continue;
      entry.reserved = false;
      this.relist(entry);
    }
  }

  /** Free GPUs per (model, region), all eligible devices (explorer-style totals). */
  freeGpus(gpuModelId: string, region: string): number {
    return this.bucket(gpuModelId, region)?.freeGpus ?? 0;
  }

  place(request: ClusterRequest, options?: MatchOptions): PlacementResult {
    return placeFrom(new IndexSource(this, request, seedPivot(options)));
  }

  // -- internals ------------------------------------------------------------------------------

  /** @internal buckets for the view. */
  bucket(gpuModelId: string, region: string): Bucket | undefined {
    return this.buckets.get(gpuModelId)?.get(region);
  }

  /** @internal */
  allBuckets(): Iterable<Bucket> {
    return this.bucketList;
  }

  private relist(entry: Entry): void {
    const shouldList = isFreeCandidate(entry, this.config);
    if (shouldList && entry.sub === null) this.list(entry);
    else if (!shouldList && entry.sub !== null) this.unlist(entry);
  }

  private list(entry: Entry): void {
    const device = entry.device;
    const model = device.gpuModelId!;
    let byRegion = this.buckets.get(model);
    if (byRegion === undefined) this.buckets.set(model, (byRegion = new Map()));
    let bucket = byRegion.get(device.region);
    if (bucket === undefined) {
      bucket = { gpuModelId: model, region: device.region, freeGpus: 0, subs: new Map(), siteFree: new Map(), sites: new Map(), siteOrder: new SortedList(compareSiteCounts) };
      byRegion.set(device.region, bucket);
      this.bucketList.push(bucket);
    }
    const subKey = subBucketKey(device);
    let sub = bucket.subs.get(subKey);
    if (sub === undefined) {
      sub = { runsImages: device.runsImages, securityTier: device.securityTier, connectivityTier: device.connectivityTier, network: device.network, vramGb: device.vramGb, freeGpus: 0, lists: [], pending: [] };
      bucket.subs.set(subKey, sub);
    }
    const k = device.gpuCount;
    if (this.bulk) {
      (sub.pending[k] ??= []).push(entry);
      sub.lists[k] ??= new SortedList<Entry>(compareStored);
    } else (sub.lists[k] ??= new SortedList<Entry>(compareStored)).insert(entry);
    sub.freeGpus += k;
    bucket.freeGpus += k;
    this.adjustSite(bucket, device.siteKey, k);
    let siteSubs = bucket.sites.get(device.siteKey);
    if (siteSubs === undefined) bucket.sites.set(device.siteKey, (siteSubs = new Map()));
    let site = siteSubs.get(sub);
    if (site === undefined) siteSubs.set(sub, (site = { gpus: 0, lists: [] }));
    (site.lists[k] ??= new SortedList<Entry>(compareStored)).insert(entry);
    site.gpus += k;
    entry.bucket = bucket;
    entry.sub = sub;
  }

  private unlist(entry: Entry): void {
    const bucket = entry.bucket;
    const sub = entry.sub;
    if (bucket === null || sub === null) return;
    const device = entry.device;
    const k = device.gpuCount;
    sub.lists[k]!.delete(entry);
    sub.freeGpus -= k;
    bucket.freeGpus -= k;
    this.adjustSite(bucket, device.siteKey, -k);
    const siteSubs = bucket.sites.get(device.siteKey)!;
    const site = siteSubs.get(sub)!;
    site.lists[k]!.delete(entry);
    site.gpus -= k;
    if (site.gpus === 0) {
      siteSubs.delete(sub);
      if (siteSubs.size === 0) bucket.sites.delete(device.siteKey);
    }
    entry.bucket = null;
    entry.sub = null;
  }

  private adjustSite(bucket: Bucket, site: string, delta: number): void {
    const before = bucket.siteFree.get(site) ?? 0;
    const after = before + delta;
    if (this.bulk) {
      bucket.siteFree.set(site, after); // siteOrder is rebuilt at the end of load()
      return;
    }
    if (before > 0) bucket.siteOrder.delete({ site, free: before });
    if (after > 0) {
      bucket.siteOrder.insert({ site, free: after });
      bucket.siteFree.set(site, after);
    } else bucket.siteFree.delete(site);
  }
}

const NETWORK_CODE: Record<PlacementDevice["network"], number> = { GPUMESH: 0, RENDER: 1, FILECOIN: 2, AETHIR: 3 };

/** A number unique per (vram, security, connectivity, network, runtime): cheaper Map keys than strings. */
function subBucketKey(device: PlacementDevice): number {
  return (((device.vramGb * 3 + SECURITY_TIER_RANK[device.securityTier]) * CONNECTIVITY_TIERS.length + CONNECTIVITY_TIER_RANK[device.connectivityTier]) * 4 + NETWORK_CODE[device.network]) * 2 + (device.runsImages ? 1 : 0);
}

/** Compares the seed-independent prefix of the rank: price ↑, verification ↓, uptime ↓. */
function compareOffer(a: PlacementDevice, b: PlacementDevice): number {
  if (a.pricePerGpuHour !== b.pricePerGpuHour) return a.pricePerGpuHour < b.pricePerGpuHour ? -1 : 1;
  if (a.verificationScoreBps !== b.verificationScoreBps) return b.verificationScoreBps - a.verificationScoreBps;
  return b.uptimeBps - a.uptimeBps;
}

/**
 * Walks one sorted list in seeded rank order. The stored order already sorts by offer (price,
 * verification, uptime); only a run of equal offers needs reordering by the per-request supplier
 * permutation, so such a run is collected and sorted when reached (O(L log L) for a run of L; runs
 * of one — the common case — cost nothing). Stops at the first device above the price cap.
 */
class SeededStream implements RankedStream {
  private readonly cursor: Cursor;
  /** The current run of equal offers, already in seeded order, or null in a run of one. */
  private run: Entry[] | null = null;
  private runAt = 0;
  private current: Entry | undefined;

  constructor(
    private readonly list: SortedList<Entry>,
    private readonly pivot: number,
    private readonly maxPrice: bigint | null,
  ) {
    this.cursor = list.begin();
    this.load();
  }

  peek(): RankedDevice | undefined {
    return this.current;
  }

  next(): void {
    if (this.run !== null && ++this.runAt < this.run.length) {
      this.current = this.run[this.runAt];
      return;
    }
    this.run = null;
    this.load();
  }

  /** Loads the item (or run) at the cursor and moves the cursor past it. */
  private load(): void {
    const list = this.list;
    const first = list.at(this.cursor);
    if (first === undefined || (this.maxPrice !== null && first.device.pricePerGpuHour > this.maxPrice)) {
      this.current = undefined;
      return;
    }
    list.advance(this.cursor);
    let following = list.at(this.cursor);
    if (following === undefined || compareOffer(following.device, first.device) !== 0 || this.pivot === 0) {
      // Pivot 0 is the stored order itself, so no reordering either.
      this.current = first;
      return;
    }
    const run: Entry[] = [first];
    while (following !== undefined && compareOffer(following.device, first.device) === 0) {
      run.push(following);
      list.advance(this.cursor);
      following = list.at(this.cursor);
    }
    const pivot = this.pivot;
    run.sort((a, b) => compareSeeded(a, b, pivot));
    this.run = run;
    this.runAt = 0;
    this.current = run[0];
  }
}

/** The index seen through one request. */
class IndexSource implements CandidateSource {
  readonly query: RequestQuery;
  /** Sub-buckets passing every attribute filter, per region. */
  private readonly passing = new Map<string, SubBucket[]>();
  private readonly passingSets = new Map<string, Set<SubBucket>>();
  private lastSite = "";
  private lastRegion = "";
  private lastLists: SiteLists[] = [];

  constructor(
    private readonly index: PlacementIndex,
    readonly request: ClusterRequest,
    pivot: number,
  ) {
    this.query = requestQuery(request, pivot);
    for (const region of this.query.regions) {
      const subs: SubBucket[] = [];
      for (const model of this.query.models) {
        const bucket = index.bucket(model, region);
        if (bucket === undefined) continue;
        for (const sub of bucket.subs.values()) if (sub.freeGpus > 0 && attributeStagesPassed(this.query.attributes, sub) === ATTRIBUTE_STAGES) subs.push(sub);
      }
      this.passing.set(region, subs);
      this.passingSets.set(region, new Set(subs));
    }
  }

  available(region: string, k: number, cap: number): number {
    const maxPrice = this.query.maxPrice;
    let n = 0;
    for (const sub of this.passing.get(region) ?? []) {
      const list = sub.lists[k];
      if (list === undefined || list.size === 0) continue;
      if (maxPrice === null || list.last()!.device.pricePerGpuHour <= maxPrice) n += list.size;
      else n += countUpTo(list, maxPrice, cap - n);
      if (n >= cap) return cap;
    }
    return n;
  }

  ranked(region: string, k: number): RankedStream {
    const streams: RankedStream[] = [];
    for (const sub of this.passing.get(region) ?? []) {
      const list = sub.lists[k];
      if (list !== undefined && list.size > 0) streams.push(new SeededStream(list, this.query.pivot, this.query.maxPrice));
    }
    return mergeStreams(streams, this.query.pivot);
  }

  largeSites(region: string, minFree: number, limit: number): string[] {
    const out = new Set<string>();
    for (const model of this.query.models) {
      const bucket = this.index.bucket(model, region);
      if (bucket === undefined) continue;
      let taken = 0;
      for (const { site, free } of bucket.siteOrder) {
        if (free < minFree || taken >= limit) break;
        out.add(site);
        taken++;
      }
    }
    return [...out];
  }

  /**
   * The site's lists in every passing sub-bucket. placeInSite asks about one site many times in a
   * row (pre-check, then each device size), so the last answer is memoised.
   */
  private siteLists(siteKey: string, region: string): SiteLists[] {
    if (siteKey === this.lastSite && region === this.lastRegion) return this.lastLists;
    const lists: SiteLists[] = [];
    const passing = this.passingSets.get(region);
    for (const model of this.query.models) {
      const siteSubs = this.index.bucket(model, region)?.sites.get(siteKey);
      if (siteSubs !== undefined && passing !== undefined) for (const [sub, site] of siteSubs) if (passing.has(sub)) lists.push(site);
    }
    this.lastSite = siteKey;
    this.lastRegion = region;
    this.lastLists = lists;
    return lists;
  }

  siteMayHost(siteKey: string, region: string, minGpus: number): boolean {
    // The site's free GPUs passing every attribute filter (price aside) must reach the cluster size.
    let free = 0;
    for (const site of this.siteLists(siteKey, region)) free += site.gpus;
    return free >= minGpus;
  }

  siteAvailable(siteKey: string, region: string, k: number, cap: number): number {
    let n = 0;
    for (const site of this.siteLists(siteKey, region)) {
      const list = site.lists[k];
      if (list === undefined || list.size === 0) continue;
      n += this.query.maxPrice === null ? list.size : countUpTo(list, this.query.maxPrice, cap - n);
      if (n >= cap) return cap;
    }
    return n;
  }

  siteRanked(siteKey: string, region: string, k: number): RankedStream {
    const streams: RankedStream[] = [];
    for (const site of this.siteLists(siteKey, region)) {
      const list = site.lists[k];
      if (list !== undefined && list.size > 0) streams.push(new SeededStream(list, this.query.pivot, this.query.maxPrice));
    }
    return mergeStreams(streams, this.query.pivot);
  }

  countFree(filter: CountFilter): Map<string, number> {
    const counts = new Map<string, number>();
    const maxPrice = filter.price ? this.query.maxPrice : null;
    for (const bucket of this.index.allBuckets()) {
      if (bucket.freeGpus === 0) continue;
      if (filter.models !== null && !filter.models.has(bucket.gpuModelId)) continue;
      if (filter.regions !== null && !filter.regions.has(bucket.region)) continue;
      let gpus = 0;
      for (const sub of bucket.subs.values()) {
        if (sub.freeGpus === 0 || attributeStagesPassed(this.query.attributes, sub) < filter.attributeStages) continue;
        if (maxPrice === null) gpus += sub.freeGpus;
        else
          for (let k = 1; k <= MAX_GPUS_PER_DEVICE; k++) {
            const list = sub.lists[k];
            if (list !== undefined && list.size > 0) gpus += k * countUpTo(list, maxPrice, Number.POSITIVE_INFINITY);
          }
      }
      if (gpus > 0) counts.set(`${bucket.gpuModelId}|${bucket.region}`, gpus);
    }
    return counts;
  }
}

/** Devices in a price-sorted list at or below maxPrice (capped): a binary search, no walk. */
function countUpTo(list: SortedList<Entry>, maxPrice: bigint, cap: number): number {
  if (list.last()!.device.pricePerGpuHour <= maxPrice) return Math.min(list.size, cap);
  if (list.first()!.device.pricePerGpuHour > maxPrice) return 0;
  return Math.min(cap, list.rank(list.lowerBound((entry) => entry.device.pricePerGpuHour <= maxPrice)));
}
