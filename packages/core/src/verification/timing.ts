import type { ChallengeKind } from "./protocol.ts";

/**
 * Timing plausibility: does the time an agent reports for C = A·B fit the hardware it claims?
 *
 * The work is ops(n) = 2·n³ integer operations (a multiply and an add per term). For a claimed
 * throughput ceiling P (ops/s) and floor F (ops/s):
 *
 *   minMs = ⌊0.9 · ops / P · 1000⌋          faster than the hardware's peak is impossible: the answer
 *                                            was precomputed, or the device is not what it claims
 *   maxMs = ⌈overhead + ops / F · 1000⌉     far slower than the claimed hardware ever runs
 *
 * GPU_GEMM: P = the claimed model's dense int8 tensor peak (table below), F = 25 % of P (tuned int8
 * GEMM kernels reach 50-70 % at these sizes; a card of a lower class does not reach a quarter of a
 * higher class's peak), overhead 2 ms: the agent times the kernel alone (device events around the
 * multiplication, inputs already resident), so only launch jitter and the millisecond rounding of
 * the report remain.
 * CPU_GEMM: generous bounds, since CPUs vary widely and the claim is not a model: P = 250 TOPS
 * (above any current server CPU with AMX/VNNI), F = 10⁸ ops/s (one slow core running plain
 * interpreted code), overhead 1 s (the agent times wall clock on a host that may be busy).
 *
 * Scale matters. ops(128) ≈ 4·10⁶: every GPU takes microseconds (reported as 0 ms) and every CPU a
 * few ms, so at the default size only correctness and gross lies are caught. At n = 8192
 * (ops ≈ 1.1·10¹²) the bounds class GPUs: a claimed H100 must answer within 5 ms (an RTX 3080 needs
 * ≥ 4.6 ms at its peak, ~8 ms in practice), a claimed RTX 3080 cannot answer under 4 ms, and a CPU
 * needs hundreds of ms. Correctness of the opened rows is checked at every n.
 */
export const GPU_INT8_DENSE_TOPS: Readonly<Record<string, number>> = {
  // Vendor datasheet/whitepaper dense (non-sparse) INT8 tensor throughput, fastest variant of each
  // model, rounded up (it is a ceiling). One entry per catalogue model (verification.test.ts checks).
  "h100-80gb": 1_979,
  "a100-80gb": 624,
  "a100-40gb": 624,
  l40s: 733,
  "rtx-a6000": 310,
  "rtx-4090": 661,
  "rtx-3090": 284,
  "rtx-3080": 238,
  "h200-141gb": 1_979,
  "b200-180gb": 4_500,
  "gh200-96gb": 1_979,
  a40: 300,
  a30: 330,
  a10: 250,
  l40: 362,
  l4: 243,
  t4: 130,
  // Volta has no INT8 tensor path (DP4A: 62.8 TOPS); its FP16 tensor peak, which an exact int8
  // GEMM split over FP16 tensor cores could approach, is the ceiling.
  "v100-16gb": 125,
  "v100-32gb": 125,
  "rtx-6000-ada": 729,
  "rtx-a5000": 222,
  "rtx-a4000": 154,
  "rtx-5090": 838,
  "rtx-5080": 451,
  "rtx-5070-ti": 352,
  "rtx-4080": 390,
  "rtx-4070-ti": 321,
  "rtx-4070": 234,
  "rtx-4060-ti": 177,
  "rtx-3090-ti": 320,
  "rtx-3080-ti": 273,
  "rtx-3070": 163,
  "rtx-3060": 102,
  "rtx-3050": 73,
  mi300x: 2_615,
  mi250: 363,
  // Apple GPUs have no int8 matrix units: their FP16/FP32 shader rate (ALUs × 2 × clock) bounds an
  // int8 GEMM on the GPU. (The Neural Engine's TOPS do not apply: it does not run an exact int GEMM.)
  "apple-m2-ultra": 28,
  "apple-m3-max": 15,
  "apple-m4-max": 18,
};

export const TIMING = {
  tooFastMargin: 0.9,
  gpuMinEfficiency: 0.25,
  gpuOverheadMs: 2,
  cpuPeakOpsPerS: 250e12,
  cpuFloorOpsPerS: 1e8,
  cpuOverheadMs: 1_000,
} as const;

export function gemmOps(n: number): number {
  return 2 * n ** 3;
}

/** Plausible elapsed time in ms for a challenge, or undefined when a GPU claim has no figure on record. */
export function plausibleElapsedMs(kind: ChallengeKind, n: number, gpuModelId: string | null): { minMs: number; maxMs: number } | undefined {
  const ops = gemmOps(n);
  if (kind === "CPU_GEMM") {
    return {
      minMs: Math.floor((TIMING.tooFastMargin * ops * 1000) / TIMING.cpuPeakOpsPerS),
      maxMs: Math.ceil(TIMING.cpuOverheadMs + (ops * 1000) / TIMING.cpuFloorOpsPerS),
    };
  }
  const tops = gpuModelId === null ? undefined : GPU_INT8_DENSE_TOPS[gpuModelId];
  if (tops === undefined) return undefined;
  const peak = tops * 1e12;
  return {
    minMs: Math.floor((TIMING.tooFastMargin * ops * 1000) / peak),
    maxMs: Math.ceil(TIMING.gpuOverheadMs + (ops * 1000) / (peak * TIMING.gpuMinEfficiency)),
  };
}
