import { describe, expect, it } from "vitest";
import { GPU_MODELS } from "../catalogue/gpu-models.ts";
import { REGIONS } from "../catalogue/regions.ts";
import { SeededRandom } from "../random.ts";
import { ClusterRequest } from "../schemas/cluster.ts";
import { CONNECTIVITY_TIER_RANK, SECURITY_TIER_RANK, ConnectivityTier, SecurityTier, SupplierNetwork } from "../schemas/enums.ts";
import { naivePlace } from "./naive.ts";
import { PlacementIndex } from "./placement-index.ts";
import { requiredSecurityRank } from "./types.ts";
import type { PlacementDevice } from "./types.ts";

const MODELS = GPU_MODELS.slice(0, 3).map((m) => m.id);
const REGION_IDS = REGIONS.slice(0, 4).map((r) => r.id);

/** A small, dense random network: few suppliers, few price levels, so ties and sites matter. */
function network(random: SeededRandom, size: number): PlacementDevice[] {
  const devices: PlacementDevice[] = [];
  for (let i = 0; i < size; i++) {
    const supplier = `s${random.int(0, 12)}`;
    const region = random.pick(REGION_IDS);
    const cpu = random.next() < 0.03;
    devices.push({
      id: `d${i}`,
      supplierId: supplier,
      siteKey: `${supplier}:${region}:${random.int(0, 1)}`,
      gpuModelId: cpu ? null : random.pick(MODELS),
      gpuCount: cpu ? 0 : random.pick([1, 1, 2, 4, 8, 8]),
      vramGb: random.pick([24, 40, 80]),
      region,
      connectivityTier: random.pick(ConnectivityTier.options),
      securityTier: random.pick(SecurityTier.options),
      network: random.pick(["GPUMESH", "GPUMESH", "RENDER", "AETHIR"] as const),
      // Most agents run the process runtime today (it is the default): images fit only some devices.
      runsImages: random.next() < 0.4,
      pricePerGpuHour: BigInt(random.int(10, 14)) * 100_000n,
      verificationScoreBps: random.pick([4_000, 9_000, 10_000]),
      uptimeBps: random.pick([9_000, 10_000]),
    });
  }
  return devices;
}

function randomRequest(random: SeededRandom): ClusterRequest {
  return ClusterRequest.parse({
    name: "prop",
    type: "KUBERNETES",
    gpuModelIds: [...new Set([random.pick(MODELS), ...(random.next() < 0.3 ? [random.pick(MODELS)] : [])])],
    gpuCount: random.pick([1, 2, 3, 5, 8, 12, 16, 24, 40, 64, 200]),
    minVramGb: random.pick([0, 0, 40, 80]),
    regions: [...new Set([random.pick(REGION_IDS), ...(random.next() < 0.4 ? [random.pick(REGION_IDS)] : [])])],
    connectivityTier: random.pick(ConnectivityTier.options),
    encryptedTraffic: random.next() < 0.3,
    complianceOnly: random.next() < 0.15,
    supplierNetworks: random.next() < 0.5 ? ["GPUMESH"] : [...SupplierNetwork.options],
    durationHours: 1,
    maxPricePerGpuHour: random.next() < 0.4 ? BigInt(random.int(9, 14)) * 100_000n : undefined,
    workload: random.next() < 0.4 ? { image: "ghcr.io/acme/train:1" } : undefined,
  });
}

describe("index vs naive full scan (property)", () => {
  it("agree exactly on random networks and requests, and placements satisfy every constraint", () => {
    const random = new SeededRandom(2026);
    let feasible = 0;
    let infeasible = 0;
    const reasons = new Set<string>();
    const scopes = new Set<string>();
    for (let round = 0; round < 12; round++) {
      const devices = network(random, random.int(20, 400));
      const index = new PlacementIndex({ minVerificationScoreBps: 5_000 });
      // Half the rounds bulk-load, half upsert one by one: both must behave identically afterwards.
      if (round % 2 === 0) index.load(devices, (d) => ({ online: d.id.endsWith("7") ? false : undefined }));
      else for (const d of devices) index.upsert(d, { online: d.id.endsWith("7") ? false : undefined });
      for (let step = 0; step < 40; step++) {
        // Churn: heartbeats, reservations, releases, re-pricing.
        const target = random.pick(devices);
        const action = random.next();
        if (action < 0.2) index.heartbeat(target.id, random.next() < 0.7);
        else if (action < 0.3) index.upsert({ ...target, pricePerGpuHour: BigInt(random.int(10, 14)) * 100_000n });
        // An agent reconnecting with the other runtime moves its device to another sub-bucket.
        else if (action < 0.35) index.upsert({ ...target, runsImages: !target.runsImages });

        const request = randomRequest(random);
        const seed = `r${round}-${step}`;
        const result = index.place(request, { seed });
        expect(naivePlace(index.states(), request, { seed }, index.config)).toEqual(result);
        if (!result.ok) {
          infeasible++;
          reasons.add(result.reason.constraint);
          continue;
        }
        feasible++;
        scopes.add(result.scope);
        expect(result.devices.reduce((sum, d) => sum + d.gpuCount, 0)).toBe(request.gpuCount);
        expect(new Set(result.devices.map((d) => d.id)).size).toBe(result.devices.length);
        for (const d of result.devices) {
          const state = index.state(d.id)!;
          expect(state.online && !state.reserved).toBe(true);
          expect(d.verificationScoreBps).toBeGreaterThanOrEqual(5_000);
          expect(request.gpuModelIds).toContain(d.gpuModelId);
          expect(request.regions).toContain(d.region);
          expect(d.vramGb).toBeGreaterThanOrEqual(request.minVramGb);
          expect(CONNECTIVITY_TIER_RANK[d.connectivityTier]).toBeGreaterThanOrEqual(CONNECTIVITY_TIER_RANK[request.connectivityTier]);
          expect(SECURITY_TIER_RANK[d.securityTier]).toBeGreaterThanOrEqual(requiredSecurityRank(request));
          expect(request.supplierNetworks).toContain(d.network);
          if (request.workload) expect(d.runsImages).toBe(true);
          if (request.maxPricePerGpuHour !== undefined) expect(d.pricePerGpuHour).toBeLessThanOrEqual(request.maxPricePerGpuHour);
        }
        // Lease some placements so later requests see a changing index.
        if (random.next() < 0.5) index.reserve(result.devices.map((d) => d.id));
        if (random.next() < 0.2) index.release(devices.filter(() => random.next() < 0.3).map((d) => d.id));
      }
    }
    // The generator must exercise both outcomes.
    expect(feasible).toBeGreaterThan(50);
    expect(infeasible).toBeGreaterThan(50);
    expect(reasons.size).toBeGreaterThanOrEqual(5);
    expect(reasons).toContain("runtime");
    expect([...scopes].sort()).toEqual(["multi-region", "region", "site"]);
  });
});
