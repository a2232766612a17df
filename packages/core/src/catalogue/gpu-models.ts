/**
 * The GPU models the network accepts. Prices are USDC base units (6 decimals) per GPU-hour.
 * Hyperscaler prices are on-demand list prices per GPU (8-GPU instances divided by 8) at the time of
 * writing; reference prices are typical decentralized-market asks. Performance weights are relative
 * dense FP16/BF16 tensor throughput, H100 = 10_000 bps; they scale block rewards (DESIGN.md).
 *
 * Sources and conventions of the figures (one basis for every model, so weights compare):
 * - performanceWeightBps = round(dense TFLOPS / 989.4 · 1000) · 10, where dense TFLOPS is the
 *   vendor's datasheet/whitepaper peak FP16/BF16 matrix throughput WITHOUT sparsity and with FP32
 *   accumulate (what BF16/FP16 training runs), and 989.4 is the H100 SXM's figure. GeForce cards
 *   run FP32-accumulate at half their FP16-accumulate rate, so their figure is that half (e.g. RTX
 *   4090 165.2, RTX 3090 71, RTX 5090 209.5, as the original entries already did); datacenter and
 *   RTX professional cards run both at the same rate. Turing (T4) and Volta (V100) have FP16 tensor
 *   cores only (no BF16); AMD Instinct: the CDNA matrix-core FP16/BF16 peak. Apple silicon has no
 *   matrix units in its GPU: its FP16 shader rate (= FP32 rate: ALUs × 2 × clock; M2 Ultra 76-core
 *   27.2, M3 Max 40-core 14.3, M4 Max 40-core ≈ 17.2 TFLOPS).
 * - hyperscalerPricePerHour: on-demand Linux list price in a US region of an instance with that
 *   model, per GPU (AWS unless noted); null where none of AWS, Azure or GCP rents it on demand.
 * - referencePricePerHour: a typical ask per GPU-hour on decentralized/community marketplaces at the
 *   time of writing (rounded estimates, not quotes).
 * - vramGb: the model's memory per GPU as sold (the largest common configuration where it varies;
 *   a device row carries the memory it actually reports). Apple: the chip's top unified-memory
 *   configuration, shared by CPU and GPU.
 *
 * The first eight entries are the original catalogue and the dev seed's mix (seedShare); later
 * models have seedShare 0, so the simulated network and the dev seed are unchanged (keep them after
 * the first eight: `SeededRandom.weighted` falls back to the last item).
 */
export interface GpuModelSpec {
  id: string;
  name: string;
  vendor: "NVIDIA" | "AMD" | "APPLE";
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

  // ── NVIDIA datacenter (dense FP16/BF16 TFLOPS in the comments) ───────────────────────────────────
  // H200 SXM 989.4 (as H100 SXM); Azure ND H200 v5 $84.80 per 8 GPUs.
  { id: "h200-141gb", name: "H200 141GB", vendor: "NVIDIA", architecture: "Hopper", vramGb: 141, performanceWeightBps: 10_000, hyperscalerPricePerHour: 10_600_000n, referencePricePerHour: 2_990_000n, seedShare: 0 },
  // HGX B200 2,250 (4,500 sparse); AWS p6-b200.48xlarge $113.93 per 8 GPUs.
  { id: "b200-180gb", name: "B200 180GB", vendor: "NVIDIA", architecture: "Blackwell", vramGb: 180, performanceWeightBps: 22_740, hyperscalerPricePerHour: 14_241_600n, referencePricePerHour: 4_490_000n, seedShare: 0 },
  // GH200 (Grace Hopper superchip, 96 GB HBM3 GPU) 989.4; not rented on demand by AWS/Azure/GCP.
  { id: "gh200-96gb", name: "GH200 96GB", vendor: "NVIDIA", architecture: "Hopper", vramGb: 96, performanceWeightBps: 10_000, hyperscalerPricePerHour: null, referencePricePerHour: 1_690_000n, seedShare: 0 },
  // A40 149.7.
  { id: "a40", name: "A40", vendor: "NVIDIA", architecture: "Ampere", vramGb: 48, performanceWeightBps: 1_510, hyperscalerPricePerHour: null, referencePricePerHour: 390_000n, seedShare: 0 },
  // A30 165.
  { id: "a30", name: "A30", vendor: "NVIDIA", architecture: "Ampere", vramGb: 24, performanceWeightBps: 1_670, hyperscalerPricePerHour: null, referencePricePerHour: 290_000n, seedShare: 0 },
  // A10 125; AWS g5.xlarge (A10G, AWS's A10 variant) $1.006.
  { id: "a10", name: "A10", vendor: "NVIDIA", architecture: "Ampere", vramGb: 24, performanceWeightBps: 1_260, hyperscalerPricePerHour: 1_006_000n, referencePricePerHour: 320_000n, seedShare: 0 },
  // L40 181.05.
  { id: "l40", name: "L40", vendor: "NVIDIA", architecture: "Ada Lovelace", vramGb: 48, performanceWeightBps: 1_830, hyperscalerPricePerHour: null, referencePricePerHour: 690_000n, seedShare: 0 },
  // L4 121; AWS g6.xlarge $0.8048.
  { id: "l4", name: "L4", vendor: "NVIDIA", architecture: "Ada Lovelace", vramGb: 24, performanceWeightBps: 1_220, hyperscalerPricePerHour: 804_800n, referencePricePerHour: 330_000n, seedShare: 0 },
  // T4 65 (FP16 mixed precision; a 70 W card that rarely sustains it); AWS g4dn.xlarge $0.526.
  { id: "t4", name: "T4", vendor: "NVIDIA", architecture: "Turing", vramGb: 16, performanceWeightBps: 660, hyperscalerPricePerHour: 526_000n, referencePricePerHour: 120_000n, seedShare: 0 },
  // V100 SXM2 125 (PCIe 112); AWS p3.2xlarge $3.06 (16 GB), p3dn.24xlarge $31.212 per 8 GPUs (32 GB).
  { id: "v100-16gb", name: "V100 16GB", vendor: "NVIDIA", architecture: "Volta", vramGb: 16, performanceWeightBps: 1_260, hyperscalerPricePerHour: 3_060_000n, referencePricePerHour: 140_000n, seedShare: 0 },
  { id: "v100-32gb", name: "V100 32GB", vendor: "NVIDIA", architecture: "Volta", vramGb: 32, performanceWeightBps: 1_260, hyperscalerPricePerHour: 3_901_500n, referencePricePerHour: 190_000n, seedShare: 0 },

  // ── NVIDIA RTX professional ──────────────────────────────────────────────────────────────────────
  // RTX 6000 Ada 364.2; RTX A5000 111.1; RTX A4000 76.7.
  { id: "rtx-6000-ada", name: "RTX 6000 Ada", vendor: "NVIDIA", architecture: "Ada Lovelace", vramGb: 48, performanceWeightBps: 3_680, hyperscalerPricePerHour: null, referencePricePerHour: 740_000n, seedShare: 0 },
  { id: "rtx-a5000", name: "RTX A5000", vendor: "NVIDIA", architecture: "Ampere", vramGb: 24, performanceWeightBps: 1_120, hyperscalerPricePerHour: null, referencePricePerHour: 220_000n, seedShare: 0 },
  { id: "rtx-a4000", name: "RTX A4000", vendor: "NVIDIA", architecture: "Ampere", vramGb: 16, performanceWeightBps: 780, hyperscalerPricePerHour: null, referencePricePerHour: 170_000n, seedShare: 0 },

  // ── NVIDIA GeForce (FP32-accumulate figures) ─────────────────────────────────────────────────────
  // RTX 5090 209.5; 5080 112.6; 5070 Ti 87.9.
  { id: "rtx-5090", name: "RTX 5090", vendor: "NVIDIA", architecture: "Blackwell", vramGb: 32, performanceWeightBps: 2_120, hyperscalerPricePerHour: null, referencePricePerHour: 590_000n, seedShare: 0 },
  { id: "rtx-5080", name: "RTX 5080", vendor: "NVIDIA", architecture: "Blackwell", vramGb: 16, performanceWeightBps: 1_140, hyperscalerPricePerHour: null, referencePricePerHour: 290_000n, seedShare: 0 },
  { id: "rtx-5070-ti", name: "RTX 5070 Ti", vendor: "NVIDIA", architecture: "Blackwell", vramGb: 16, performanceWeightBps: 890, hyperscalerPricePerHour: null, referencePricePerHour: 220_000n, seedShare: 0 },
  // RTX 4080 97.5; 4070 Ti 80.2; 4070 58.3; 4060 Ti 44.1 (8 GB and 16 GB boards; the 16 GB listed).
  { id: "rtx-4080", name: "RTX 4080", vendor: "NVIDIA", architecture: "Ada Lovelace", vramGb: 16, performanceWeightBps: 990, hyperscalerPricePerHour: null, referencePricePerHour: 240_000n, seedShare: 0 },
  { id: "rtx-4070-ti", name: "RTX 4070 Ti", vendor: "NVIDIA", architecture: "Ada Lovelace", vramGb: 12, performanceWeightBps: 810, hyperscalerPricePerHour: null, referencePricePerHour: 170_000n, seedShare: 0 },
  { id: "rtx-4070", name: "RTX 4070", vendor: "NVIDIA", architecture: "Ada Lovelace", vramGb: 12, performanceWeightBps: 590, hyperscalerPricePerHour: null, referencePricePerHour: 140_000n, seedShare: 0 },
  { id: "rtx-4060-ti", name: "RTX 4060 Ti", vendor: "NVIDIA", architecture: "Ada Lovelace", vramGb: 16, performanceWeightBps: 450, hyperscalerPricePerHour: null, referencePricePerHour: 110_000n, seedShare: 0 },
  // RTX 3090 Ti 80; 3080 Ti 68.2; 3070 40.6; 3060 25.4 (12 GB board); 3050 18.2 (8 GB board).
  { id: "rtx-3090-ti", name: "RTX 3090 Ti", vendor: "NVIDIA", architecture: "Ampere", vramGb: 24, performanceWeightBps: 810, hyperscalerPricePerHour: null, referencePricePerHour: 240_000n, seedShare: 0 },
  { id: "rtx-3080-ti", name: "RTX 3080 Ti", vendor: "NVIDIA", architecture: "Ampere", vramGb: 12, performanceWeightBps: 690, hyperscalerPricePerHour: null, referencePricePerHour: 170_000n, seedShare: 0 },
  { id: "rtx-3070", name: "RTX 3070", vendor: "NVIDIA", architecture: "Ampere", vramGb: 8, performanceWeightBps: 410, hyperscalerPricePerHour: null, referencePricePerHour: 110_000n, seedShare: 0 },
  { id: "rtx-3060", name: "RTX 3060", vendor: "NVIDIA", architecture: "Ampere", vramGb: 12, performanceWeightBps: 260, hyperscalerPricePerHour: null, referencePricePerHour: 80_000n, seedShare: 0 },
  { id: "rtx-3050", name: "RTX 3050", vendor: "NVIDIA", architecture: "Ampere", vramGb: 8, performanceWeightBps: 180, hyperscalerPricePerHour: null, referencePricePerHour: 50_000n, seedShare: 0 },

  // ── AMD Instinct ─────────────────────────────────────────────────────────────────────────────────
  // MI300X 1,307.4; Azure ND MI300X v5 $48 per 8 GPUs. MI250 362.1 for the whole OAM module (two
  // GCDs, which ROCm shows as two 64 GB devices; 128 GB per module).
  { id: "mi300x", name: "MI300X", vendor: "AMD", architecture: "CDNA 3", vramGb: 192, performanceWeightBps: 13_210, hyperscalerPricePerHour: 6_000_000n, referencePricePerHour: 1_990_000n, seedShare: 0 },
  { id: "mi250", name: "MI250", vendor: "AMD", architecture: "CDNA 2", vramGb: 128, performanceWeightBps: 3_660, hyperscalerPricePerHour: null, referencePricePerHour: 690_000n, seedShare: 0 },

  // ── Apple silicon (unified memory as VRAM; GPU FP16 = FP32 shader rate, see above) ─────────────────
  // M2 Ultra 27.2 (192 GB); M3 Max 14.3 (128 GB); M4 Max ≈ 17.2 (128 GB). AWS rents Macs, but not these chips.
  { id: "apple-m2-ultra", name: "M2 Ultra", vendor: "APPLE", architecture: "Apple M2", vramGb: 192, performanceWeightBps: 270, hyperscalerPricePerHour: null, referencePricePerHour: 390_000n, seedShare: 0 },
  { id: "apple-m3-max", name: "M3 Max", vendor: "APPLE", architecture: "Apple M3", vramGb: 128, performanceWeightBps: 140, hyperscalerPricePerHour: null, referencePricePerHour: 240_000n, seedShare: 0 },
  { id: "apple-m4-max", name: "M4 Max", vendor: "APPLE", architecture: "Apple M4", vramGb: 128, performanceWeightBps: 170, hyperscalerPricePerHour: null, referencePricePerHour: 290_000n, seedShare: 0 },
];

export const GPU_MODEL_IDS = GPU_MODELS.map((model) => model.id) as [string, ...string[]];

export function gpuModel(id: string): GpuModelSpec | undefined {
  return GPU_MODELS.find((model) => model.id === id);
}
