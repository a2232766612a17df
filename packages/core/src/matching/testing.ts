/** Fixtures for the matching tests (not exported from the package). */
import { ClusterRequest, type ClusterRequestInput } from "../schemas/cluster.ts";
import type { PlacementDevice } from "./types.ts";

let counter = 0;

/** A device with sensible defaults: one H100 8-GPU server in us-east at 2.00 USDC/GPU-hour, Docker runtime. */
export function device(overrides: Partial<PlacementDevice> = {}): PlacementDevice {
  counter++;
  const supplierId = overrides.supplierId ?? `supplier-${counter}`;
  return {
    id: `dev-${String(counter).padStart(5, "0")}`,
    supplierId,
    siteKey: overrides.siteKey ?? `${supplierId}:Ashburn`,
    gpuModelId: "h100-80gb",
    gpuCount: 8,
    vramGb: 80,
    region: "us-east",
    connectivityTier: "ULTRA_HIGH",
    securityTier: "COMPLIANCE",
    network: "GPUMESH",
    runsImages: true,
    pricePerGpuHour: 2_000_000n,
    verificationScoreBps: 9_000,
    uptimeBps: 9_900,
    ...overrides,
  };
}

export function request(overrides: Partial<ClusterRequestInput> = {}): ClusterRequest {
  return ClusterRequest.parse({
    name: "test",
    type: "RAY",
    gpuModelIds: ["h100-80gb"],
    gpuCount: 8,
    regions: ["us-east"],
    durationHours: 1,
    ...overrides,
  });
}
