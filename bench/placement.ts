/**
 * Placement benchmark: the indexed matcher (`PlacementIndex.place`) against the naive full-scan
 * matcher (`naivePlace`, same semantics) on a synthetic network, in one process.
 *
 * Method: generate a seeded network shaped like the dev seed (GPU_MODELS seedShare, REGIONS, 35 %
 * datacenter suppliers with 8-GPU servers on fast audited links, the rest prosumer boxes with 1–4
 * consumer GPUs), bulk-load the index, warm up, then time `place()` for each request with
 * process.hrtime.bigint(). After each feasible placement the devices are reserved and released again
 * (timed separately), so every request sees the same free capacity and the mutations are exercised.
 * The naive matcher runs a smaller sample of the same requests on the same index state; its results
 * are checked against the index's (they must be identical) and the speed-up is the ratio of medians.
 */
import {
  ClusterRequest,
  ConnectivityTier,
  connectivityTierFor,
  GPU_MODELS,
  PlacementIndex,
  REGIONS,
  SeededRandom,
  naivePlace,
  type PlacementDevice,
  type SecurityTier,
  type SupplierNetwork,
} from "@gpumesh/core";

export interface PlacementBenchOptions {
  /** Network sizes to test. */
  deviceCounts: number[];
  /** Cluster sizes (GPUs) and how many placements to time for each. */
  clusters: { gpus: number; samples: number; naiveSamples: number }[];
  seed?: number;
  log?: (line: string) => void;
}

export interface PlacementBenchRow {
  devices: number;
  gpus: number;
  samples: number;
  feasible: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  placementsPerSec: number;
  reserveReleaseP50Us: number;
  naiveSamples: number;
  naiveP50Us: number;
  naiveP99Us: number;
  /** naive p50 / index p50 over the same kind of request. */
  speedupP50: number;
  /** Requests where naive and index gave identical results (must equal naiveSamples). */
  agreed: number;
}

export interface PlacementBenchResult {
  rows: PlacementBenchRow[];
  build: { devices: number; ms: number; heapMb: number }[];
}

export const PLACEMENT_FULL: PlacementBenchOptions = {
  deviceCounts: [100_000, 1_000_000],
  clusters: [
    { gpus: 8, samples: 2_000, naiveSamples: 30 },
    { gpus: 64, samples: 500, naiveSamples: 20 },
  ],
};

export const PLACEMENT_QUICK: PlacementBenchOptions = {
  deviceCounts: [20_000, 100_000],
  clusters: [
    { gpus: 8, samples: 500, naiveSamples: 10 },
    { gpus: 64, samples: 200, naiveSamples: 5 },
  ],
};

const DATACENTER_MODELS = GPU_MODELS.filter((m) => ["h100-80gb", "a100-80gb", "a100-40gb", "l40s"].includes(m.id));
const PROSUMER_MODELS = GPU_MODELS.filter((m) => !DATACENTER_MODELS.includes(m));
const NETWORKS: SupplierNetwork[] = ["GPUMESH", "GPUMESH", "GPUMESH", "RENDER", "FILECOIN", "AETHIR"];

interface Supplier {
  id: string;
  region: (typeof REGIONS)[number];
  datacenter: boolean;
  network: SupplierNetwork;
  security: SecurityTier;
}

/** A seeded synthetic network of `count` devices (about 25 devices per supplier, heavy-tailed). */
export function syntheticNetwork(count: number, seed: number): PlacementDevice[] {
  const random = new SeededRandom(seed);
  const supplierCount = Math.max(REGIONS.length, Math.round(count / 25));
  const suppliers: Supplier[] = [];
  const cumulative: number[] = [];
  let total = 0;
  for (let i = 0; i < supplierCount; i++) {
    const region = random.weighted(REGIONS, (r) => (r.continent === "North America" || r.continent === "Europe" ? 3 : 1));
    const datacenter = random.next() < 0.35;
    suppliers.push({
      id: `supplier-${i}`,
      region,
      datacenter,
      network: random.pick(NETWORKS),
      security: datacenter ? (random.next() < 0.7 ? "COMPLIANCE" : "ENCRYPTED") : random.next() < 0.3 ? "ENCRYPTED" : "STANDARD",
    });
    // Heavy tail: a few suppliers hold many machines (datacenters weigh 3× more).
    total += (datacenter ? 3 : 1) / (1 - random.next() * 0.95);
    cumulative.push(total);
  }
  const devices: PlacementDevice[] = [];
  for (let i = 0; i < count; i++) {
    const supplier = suppliers[upperBound(cumulative, random.next() * total)]!;
    const models = supplier.datacenter ? DATACENTER_MODELS : PROSUMER_MODELS;
    const model = random.weighted(models, (m) => m.seedShare);
    const city = supplier.region.sites[random.int(0, supplier.region.sites.length - 1)]!.city;
    // The links of core's simulateNetwork (the same draws), classed as a join classes them.
    const bandwidth = supplier.datacenter ? random.pick([10_000, 25_000, 100_000]) : random.pick([500, 1_000, 2_500, 5_000]);
    const upload = supplier.datacenter ? bandwidth : Math.round(bandwidth * random.pick([0.2, 0.5, 1]));
    const connectivity = connectivityTierFor({ bandwidthDownMbps: bandwidth, bandwidthUpMbps: upload });
    devices.push({
      id: `dev-${i}`,
      supplierId: supplier.id,
      siteKey: `${supplier.id}:${city}`,
      gpuModelId: model.id,
      gpuCount: supplier.datacenter ? random.pick([8, 8, 8, 4]) : random.pick([1, 1, 2, 4]),
      vramGb: model.vramGb,
      region: supplier.region.id,
      connectivityTier: connectivity,
      securityTier: supplier.security,
      network: supplier.network,
      // Datacenters run Docker, prosumers the default process runtime (no random draw: the network
      // stays the one the recorded results were measured on).
      runsImages: supplier.datacenter,
      // Prices set to the cent, 80–125 % of the reference: many equal prices, as on real markets.
      pricePerGpuHour: ((model.referencePricePerHour * BigInt(random.int(80, 125))) / 100n / 10_000n) * 10_000n,
      verificationScoreBps: random.int(5_000, 10_000),
      uptimeBps: random.int(9_000, 10_000),
    });
  }
  return devices;
}

function upperBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Requests a renter would plausibly make for `gpus` GPUs: datacenter models, 1–3 regions, mixed tiers. */
export function syntheticRequests(gpus: number, count: number, random: SeededRandom): ClusterRequest[] {
  const requests: ClusterRequest[] = [];
  const nearby = (first: (typeof REGIONS)[number]) => REGIONS.filter((r) => r.continent === first.continent);
  for (let i = 0; i < count; i++) {
    const primary = random.weighted(DATACENTER_MODELS, (m) => m.seedShare);
    const first = random.weighted(REGIONS, (r) => (r.continent === "North America" || r.continent === "Europe" ? 3 : 1));
    const regions = new Set([first.id]);
    const extra = random.int(0, 2);
    for (let j = 0; j < extra; j++) regions.add(random.pick(nearby(first)).id);
    requests.push(
      ClusterRequest.parse({
        name: `bench-${i}`,
        type: random.pick(["RAY", "KUBERNETES", "CONTAINER", "BARE_METAL"] as const),
        gpuModelIds: random.next() < 0.2 ? [primary.id, random.pick(DATACENTER_MODELS).id] : [primary.id],
        gpuCount: gpus,
        regions: [...regions],
        connectivityTier: random.pick(ConnectivityTier.options),
        encryptedTraffic: random.next() < 0.3,
        complianceOnly: random.next() < 0.2,
        supplierNetworks: random.next() < 0.6 ? ["GPUMESH"] : ["GPUMESH", "RENDER", "FILECOIN", "AETHIR"],
        durationHours: random.int(1, 72),
        maxPricePerGpuHour: random.next() < 0.4 ? (primary.referencePricePerHour * BigInt(random.int(95, 125))) / 100n : undefined,
      }),
    );
  }
  return requests;
}

function percentile(sortedNs: readonly bigint[], p: number): number {
  if (sortedNs.length === 0) return Number.NaN;
  const at = Math.min(sortedNs.length - 1, Math.ceil((p / 100) * sortedNs.length) - 1);
  return Number(sortedNs[Math.max(0, at)]!) / 1_000;
}

const sortNs = (values: bigint[]): bigint[] => values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

export function runPlacementBench(options: PlacementBenchOptions): PlacementBenchResult {
  const log = options.log ?? ((line: string) => console.log(line));
  const seed = options.seed ?? 20_261_125;
  const result: PlacementBenchResult = { rows: [], build: [] };
  for (const count of options.deviceCounts) {
    const devices = syntheticNetwork(count, seed);
    globalThis.gc?.();
    const start = process.hrtime.bigint();
    const index = new PlacementIndex({ minVerificationScoreBps: 6_000 });
    // Bulk load (as the scheduler does at start-up); 5 % offline: indexed but not candidates.
    let position = 0;
    index.load(devices, () => ({ online: position++ % 20 !== 7 }));
    const buildMs = Number(process.hrtime.bigint() - start) / 1e6;
    const heapMb = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
    result.build.push({ devices: count, ms: buildMs, heapMb });
    log(`built index over ${count.toLocaleString("en-US")} devices in ${buildMs.toFixed(0)} ms (heap ${heapMb} MB)`);

    const random = new SeededRandom(seed + count);
    for (const cluster of options.clusters) {
      const requests = syntheticRequests(cluster.gpus, cluster.samples, random);
      // Warm-up (JIT) on other requests.
      for (const request of syntheticRequests(cluster.gpus, 200, random)) index.place(request, { seed: request.name });

      const times: bigint[] = [];
      const mutate: bigint[] = [];
      const results = [];
      let feasible = 0;
      for (const request of requests) {
        const t0 = process.hrtime.bigint();
        const placed = index.place(request, { seed: request.name });
        const t1 = process.hrtime.bigint();
        times.push(t1 - t0);
        results.push(placed);
        if (placed.ok) {
          feasible++;
          const ids = placed.devices.map((d) => d.id);
          const m0 = process.hrtime.bigint();
          index.reserve(ids);
          index.release(ids);
          mutate.push(process.hrtime.bigint() - m0);
        }
      }
      const totalNs = times.reduce((sum, t) => sum + t, 0n);
      sortNs(times);
      sortNs(mutate);

      const naiveTimes: bigint[] = [];
      let agreed = 0;
      for (let i = 0; i < cluster.naiveSamples && i < requests.length; i++) {
        const request = requests[i]!;
        const t0 = process.hrtime.bigint();
        const naive = naivePlace(index.states(), request, { seed: request.name }, index.config);
        naiveTimes.push(process.hrtime.bigint() - t0);
        if (JSON.stringify(naive, bigintJson) === JSON.stringify(results[i], bigintJson)) agreed++;
      }
      sortNs(naiveTimes);
      const row: PlacementBenchRow = {
        devices: count,
        gpus: cluster.gpus,
        samples: requests.length,
        feasible,
        p50Us: percentile(times, 50),
        p99Us: percentile(times, 99),
        meanUs: Number(totalNs) / requests.length / 1_000,
        placementsPerSec: (requests.length * 1e9) / Number(totalNs),
        reserveReleaseP50Us: percentile(mutate, 50),
        naiveSamples: naiveTimes.length,
        naiveP50Us: percentile(naiveTimes, 50),
        naiveP99Us: percentile(naiveTimes, 99),
        speedupP50: percentile(naiveTimes, 50) / percentile(times, 50),
        agreed,
      };
      result.rows.push(row);
      log(
        `  ${cluster.gpus} GPUs: p50 ${row.p50Us.toFixed(1)} µs, p99 ${row.p99Us.toFixed(1)} µs, ${Math.round(row.placementsPerSec).toLocaleString("en-US")}/s` +
          ` (${feasible}/${requests.length} feasible); naive p50 ${(row.naiveP50Us / 1_000).toFixed(1)} ms → ${Math.round(row.speedupP50).toLocaleString("en-US")}×` +
          `, naive agreed ${agreed}/${naiveTimes.length}`,
      );
    }
  }
  log("");
  log(placementTable(result));
  return result;
}

function bigintJson(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** The results as a Markdown table (pasted into bench/RESULTS.md). */
export function placementTable(result: PlacementBenchResult): string {
  const lines = [
    "| devices | GPUs | placements | feasible | p50 (µs) | p99 (µs) | placements/s | reserve+release p50 (µs) | naive p50 (ms) | naive p99 (ms) | speed-up (p50) | naive agreed |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const row of result.rows) {
    lines.push(
      `| ${row.devices.toLocaleString("en-US")} | ${row.gpus} | ${row.samples} | ${row.feasible} | ${row.p50Us.toFixed(1)} | ${row.p99Us.toFixed(1)} | ` +
        `${Math.round(row.placementsPerSec).toLocaleString("en-US")} | ${row.reserveReleaseP50Us.toFixed(1)} | ${(row.naiveP50Us / 1_000).toFixed(1)} | ` +
        `${(row.naiveP99Us / 1_000).toFixed(1)} | ${Math.round(row.speedupP50).toLocaleString("en-US")}× | ${row.agreed}/${row.naiveSamples} |`,
    );
  }
  return lines.join("\n");
}
