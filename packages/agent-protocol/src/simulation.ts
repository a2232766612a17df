import { GPU_INT8_DENSE_TOPS, type GemmChallenge } from "@gpumesh/core";

/**
 * The time a simulated device reports for a challenge (dev's simulated fleet, tests). CPU_GEMM: the
 * real time of the multiplication in this process. GPU_GEMM: the simulated device stands for a GPU,
 * whose int8 kernel at simulated sizes takes microseconds (at half the fastest catalogue model's
 * peak, reported in whole ms as an agent would); this process's CPU time says nothing about it.
 */
export function simulatedElapsedMs(challenge: Pick<GemmChallenge, "kind" | "matrixSize">, cpuMs: number): number {
  if (challenge.kind === "CPU_GEMM") return Math.round(cpuMs);
  const peak = Math.max(...Object.values(GPU_INT8_DENSE_TOPS)) * 1e12;
  return Math.floor((2 * challenge.matrixSize ** 3 * 1000) / (peak * 0.5));
}
