/**
 * The GPU models the network accepts. Prices are USDC base units (6 decimals) per GPU-hour.
 * Hyperscaler prices are on-demand list prices per GPU (8-GPU instances divided by 8) at the time of
 * writing; reference prices are typical decentralized-market asks. Performance weights are relative
 * dense FP16/BF16 tensor throughput, H100 = 10_000 bps; they scale block rewards (DESIGN.md).
 */
export interface GpuModelSpec {
  id: string;
  name: string;
  vendor: "NVIDIA" | "AMD";
  architecture: string;
  vramGb: number;
  performanceWeightBps: number;
  hyperscalerPricePerHour: bigint | null;
  referencePricePerHour: bigint;
  /** Share of the simulated network's devices with this model (dev seed only). */
  seedShare: number;
}

export const GPU_MODELS: readonly GpuModelSpec[] = [
  { id: "h100-80gb", name: "H100 80GB", vendor: "NVIDIA", architecture: "Hopper", vramGb: 80, performanceWeightBps: 10_000, hyperscalerPricePerHour: 12_290_000n, referencePricePerHour: 2_190_000n, seedShare: 0.12 },
  { id: "a100-80gb", name: "A100 80GB", vendor: "NVIDIA", architecture: "Ampere", vramGb: 80, performanceWeightBps: 3_160, hyperscalerPricePerHour: 5_120_000n, referencePricePerHour: 1_290_000n, seedShare: 0.12 },
  { id: "a100-40gb", name: "A100 40GB", vendor: "NVIDIA", architecture: "Ampere", vramGb: 40, performanceWeightBps: 3_160, hyperscalerPricePerHour: 4_100_000n, referencePricePerHour: 990_000n, seedShare: 0.08 },
  { id: "l40s", name: "L40S", vendor: "NVIDIA", architecture: "Ada Lovelace", vramGb: 48, performanceWeightBps: 3_660, hyperscalerPricePerHour: 2_240_000n, referencePricePerHour: 790_000n, seedShare: 0.1 },
  { id: "rtx-a6000", name: "RTX A6000", vendor: "NVIDIA", architecture: "Ampere", vramGb: 48, performanceWeightBps: 1_560, hyperscalerPricePerHour: null, referencePricePerHour: 490_000n, seedShare: 0.1 },
  { id: "rtx-4090", name: "RTX 4090", vendor: "NVIDIA", architecture: "Ada Lovelace", vramGb: 24, performanceWeightBps: 1_670, hyperscalerPricePerHour: null, referencePricePerHour: 340_000n, seedShare: 0.22 },
  { id: "rtx-3090", name: "RTX 3090", vendor: "NVIDIA", architecture: "Ampere", vramGb: 24, performanceWeightBps: 720, hyperscalerPricePerHour: null, referencePricePerHour: 220_000n, seedShare: 0.16 },
  { id: "rtx-3080", name: "RTX 3080", vendor: "NVIDIA", architecture: "Ampere", vramGb: 10, performanceWeightBps: 600, hyperscalerPricePerHour: null, referencePricePerHour: 150_000n, seedShare: 0.1 },
];

export const GPU_MODEL_IDS = GPU_MODELS.map((model) => model.id) as [string, ...string[]];

export function gpuModel(id: string): GpuModelSpec | undefined {
  return GPU_MODELS.find((model) => model.id === id);
}
