/**
 * The minimum hardware a machine must have to join GPUMesh as a device (docs/hardware-floor.md has
 * the same table).
 *
 * | What                   | GPU machine                                          | CPU-only machine |
 * |------------------------|------------------------------------------------------|------------------|
 * | GPU model              | a catalogue model (gpu-models.ts), one per machine   | none             |
 * | GPU performance weight | ≥ the RTX 3050's (180 bps, H100 = 10,000)            | —                |
 * | VRAM per GPU           | ≥ 8 GB (as reported: MiB / 1024, rounded)            | —                |
 * | CPU cores              | ≥ 4 (logical CPUs, as the OS counts them)            | ≥ 8              |
 * | RAM                    | ≥ 16 GB                                              | ≥ 16 GB          |
 * | Disk                   | ≥ 100 GB                                             | ≥ 100 GB         |
 * | Bandwidth up and down  | ≥ 10 Mbps each, when measured to the gateway         | the same         |
 *
 * Rules:
 * - A machine with at least one GPU is a GPU machine. Every GPU must map to a catalogue model
 *   (`gpuModelId`; the agent maps product names, apps/agent/src/hardware.ts); a GPU that does not
 *   is named in the problem ("GPU "Tesla K80" is not a GPUMesh catalogue model"). Its model's
 *   performance weight must be at least the RTX 3050's, and its reported memory at least 8 GB (so
 *   a 6 GB RTX 3050 board is refused even though the model is in the catalogue). A device has one
 *   GPU model (matching, pricing and rewards are per model), so a machine with two is refused.
 * - A machine without GPUs joins as a CPU device (CPU_GEMM verification) under the CPU-only floor.
 * - Bandwidth is checked only when it was measured (the report's fields are absent otherwise).
 * - Values are compared as reported: the agent rounds RAM and VRAM to whole GB (GiB).
 *
 * Catalogue models below the weight floor (they stay in the catalogue for pricing and renters'
 * choices, but a machine with one cannot join): Apple M3 Max (140 bps) and M4 Max (170 bps).
 */
import { gpuModel, type GpuModelSpec } from "./gpu-models.ts";

/** What the agent reports about its machine when it joins. */
export interface HardwareReport {
  cpuModel: string;
  cpuCores: number;
  ramGb: number;
  diskGb: number;
  os: string;
  gpus: { name: string; vramMb: number; gpuModelId: string | null }[];
  /** Measured to the gateway; absent when not measured. */
  bandwidthUpMbps?: number;
  bandwidthDownMbps?: number;
}

/** The model whose class is the floor for GPUs. */
const FLOOR_GPU_MODEL_ID = "rtx-3050";
const FLOOR_GPU_MODEL: GpuModelSpec = (() => {
  const model = gpuModel(FLOOR_GPU_MODEL_ID);
  if (model === undefined) throw new Error(`the hardware floor's GPU model ${FLOOR_GPU_MODEL_ID} is not in the catalogue`);
  return model;
})();

export const HARDWARE_FLOOR: {
  minGpuWeightBps: number;
  minVramGb: number;
  minRamGb: number;
  minDiskGb: number;
  minCpuCores: number;
  minBandwidthMbps: number;
  cpuOnly: { minCpuCores: number; minRamGb: number; minDiskGb: number };
} = Object.freeze({
  minGpuWeightBps: FLOOR_GPU_MODEL.performanceWeightBps,
  minVramGb: 8,
  minRamGb: 16,
  minDiskGb: 100,
  minCpuCores: 4,
  minBandwidthMbps: 10,
  cpuOnly: Object.freeze({ minCpuCores: 8, minRamGb: 16, minDiskGb: 100 }),
});

/**
 * One clear sentence per problem (empty: the machine may join). GPU machines: every GPU must be a
 * catalogue model at or above the RTX 3050 class (weight and VRAM); unknown GPUs are named.
 * CPU-only machines join as CPU devices under the cpuOnly floor.
 */
export function hardwareFloorProblems(report: HardwareReport): string[] {
  const problems: string[] = [];
  const gpuMachine = report.gpus.length > 0;

  // Identical GPUs (an 8-GPU server) give one sentence, not eight.
  const groups = new Map<string, { name: string; vramMb: number; gpuModelId: string | null; count: number }>();
  for (const gpu of report.gpus) {
    const key = JSON.stringify([gpu.name, gpu.vramMb, gpu.gpuModelId]);
    const group = groups.get(key);
    if (group) group.count += 1;
    else groups.set(key, { ...gpu, count: 1 });
  }
  const models = new Set<string>();
  for (const { name, vramMb, gpuModelId, count } of groups.values()) {
    const label = `GPU "${name}"${count > 1 ? ` (×${count})` : ""}`;
    const model = gpuModelId === null ? undefined : gpuModel(gpuModelId);
    models.add(model?.name ?? name);
    if (model === undefined) {
      problems.push(gpuModelId === null ? `${label} is not a GPUMesh catalogue model` : `${label} reports model "${gpuModelId}", which is not in the GPUMesh catalogue`);
      continue;
    }
    if (!(model.performanceWeightBps >= HARDWARE_FLOOR.minGpuWeightBps)) {
      problems.push(
        `${label} (${model.name}) has a performance weight of ${model.performanceWeightBps} bps, below the ${FLOOR_GPU_MODEL.name} class minimum of ${HARDWARE_FLOOR.minGpuWeightBps} bps (H100 = 10,000)`,
      );
    }
    const vramGb = Math.round(vramMb / 1024);
    if (!(vramGb >= HARDWARE_FLOOR.minVramGb)) problems.push(`${label} has ${vramGb} GB of VRAM, below the ${HARDWARE_FLOOR.minVramGb} GB minimum`);
  }
  if (models.size > 1) {
    problems.push(`Mixed GPUs: this machine has ${models.size} GPU models (${[...models].join(", ")}); a device must have one model`);
  }

  const floor = gpuMachine ? HARDWARE_FLOOR : HARDWARE_FLOOR.cpuOnly;
  const forKind = gpuMachine ? "" : " for a CPU-only device";
  if (!(report.cpuCores >= floor.minCpuCores)) {
    problems.push(`${report.cpuCores} CPU ${report.cpuCores === 1 ? "core is" : "cores are"} below the ${floor.minCpuCores}-core minimum${forKind}`);
  }
  if (!(report.ramGb >= floor.minRamGb)) problems.push(`RAM ${report.ramGb} GB is below the ${floor.minRamGb} GB minimum${forKind}`);
  if (!(report.diskGb >= floor.minDiskGb)) problems.push(`Disk ${report.diskGb} GB is below the ${floor.minDiskGb} GB minimum${forKind}`);

  const minMbps = HARDWARE_FLOOR.minBandwidthMbps;
  if (typeof report.bandwidthUpMbps === "number" && !(report.bandwidthUpMbps >= minMbps)) {
    problems.push(`Upload bandwidth ${report.bandwidthUpMbps} Mbps is below the ${minMbps} Mbps minimum`);
  }
  if (typeof report.bandwidthDownMbps === "number" && !(report.bandwidthDownMbps >= minMbps)) {
    problems.push(`Download bandwidth ${report.bandwidthDownMbps} Mbps is below the ${minMbps} Mbps minimum`);
  }
  return problems;
}
