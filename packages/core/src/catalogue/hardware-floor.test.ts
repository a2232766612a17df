import { describe, expect, it } from "vitest";
import { GPU_MODELS, gpuModel } from "./gpu-models.ts";
import { HARDWARE_FLOOR, hardwareFloorProblems, type HardwareReport } from "./hardware-floor.ts";

const gpu = (name: string, vramMb: number, gpuModelId: string | null) => ({ name, vramMb, gpuModelId });
const RTX_4090 = gpu("NVIDIA GeForce RTX 4090", 24564, "rtx-4090");

/** A machine that passes every rule: one RTX 4090, comfortable CPU, RAM, disk and link. */
function machine(overrides: Partial<HardwareReport> = {}): HardwareReport {
  return { cpuModel: "AMD Ryzen 9 7950X", cpuCores: 32, ramGb: 64, diskGb: 2000, os: "Ubuntu 24.04", gpus: [RTX_4090], bandwidthUpMbps: 500, bandwidthDownMbps: 1000, ...overrides };
}

describe("hardware floor", () => {
  it("has the documented values, the GPU weight being the RTX 3050's", () => {
    expect(HARDWARE_FLOOR).toEqual({
      minGpuWeightBps: gpuModel("rtx-3050")!.performanceWeightBps,
      minVramGb: 8,
      minRamGb: 16,
      minDiskGb: 100,
      minCpuCores: 4,
      minBandwidthMbps: 10,
      cpuOnly: { minCpuCores: 8, minRamGb: 16, minDiskGb: 100 },
    });
    expect(HARDWARE_FLOOR.minGpuWeightBps).toBe(180);
    expect(Object.isFrozen(HARDWARE_FLOOR) && Object.isFrozen(HARDWARE_FLOOR.cpuOnly)).toBe(true);
  });

  it("lets a machine at or above every minimum join", () => {
    expect(hardwareFloorProblems(machine())).toEqual([]);
    // Exactly at the floor: an 8 GB RTX 3050 (nvidia-smi says 8192 MiB; a 4060 Ti 8GB says 8188), 4 cores, 16 GB, 100 GB, 10 Mbps.
    const edge = machine({ cpuCores: 4, ramGb: 16, diskGb: 100, bandwidthUpMbps: 10, bandwidthDownMbps: 10, gpus: [gpu("NVIDIA GeForce RTX 3050", 8192, "rtx-3050")] });
    expect(hardwareFloorProblems(edge)).toEqual([]);
    expect(hardwareFloorProblems(machine({ gpus: [gpu("NVIDIA GeForce RTX 4060 Ti", 8188, "rtx-4060-ti")] }))).toEqual([]);
    // An 8-GPU server.
    expect(hardwareFloorProblems(machine({ cpuCores: 192, ramGb: 2048, diskGb: 30_720, gpus: Array.from({ length: 8 }, () => gpu("NVIDIA H100 80GB HBM3", 81559, "h100-80gb")) }))).toEqual([]);
  });

  it("names the measured value and the minimum for RAM, disk and CPU cores", () => {
    expect(hardwareFloorProblems(machine({ ramGb: 8 }))).toEqual(["RAM 8 GB is below the 16 GB minimum"]);
    expect(hardwareFloorProblems(machine({ diskGb: 64 }))).toEqual(["Disk 64 GB is below the 100 GB minimum"]);
    expect(hardwareFloorProblems(machine({ cpuCores: 2 }))).toEqual(["2 CPU cores are below the 4-core minimum"]);
    expect(hardwareFloorProblems(machine({ cpuCores: 1 }))).toEqual(["1 CPU core is below the 4-core minimum"]);
  });

  it("checks bandwidth only when it was measured", () => {
    expect(hardwareFloorProblems(machine({ bandwidthUpMbps: 5 }))).toEqual(["Upload bandwidth 5 Mbps is below the 10 Mbps minimum"]);
    expect(hardwareFloorProblems(machine({ bandwidthDownMbps: 9 }))).toEqual(["Download bandwidth 9 Mbps is below the 10 Mbps minimum"]);
    expect(hardwareFloorProblems(machine({ bandwidthUpMbps: undefined, bandwidthDownMbps: undefined }))).toEqual([]);
    const { bandwidthUpMbps: _up, bandwidthDownMbps: _down, ...unmeasured } = machine();
    expect(hardwareFloorProblems(unmeasured)).toEqual([]);
  });

  it("names GPUs that are not catalogue models", () => {
    expect(hardwareFloorProblems(machine({ gpus: [gpu("Tesla K80", 11441, null)] }))).toEqual(['GPU "Tesla K80" is not a GPUMesh catalogue model']);
    expect(hardwareFloorProblems(machine({ gpus: [gpu("NVIDIA Mystery X", 81920, "mystery-x")] }))).toEqual(['GPU "NVIDIA Mystery X" reports model "mystery-x", which is not in the GPUMesh catalogue']);
    // Identical GPUs are one sentence.
    expect(hardwareFloorProblems(machine({ gpus: Array.from({ length: 4 }, () => gpu("Tesla K80", 11441, null)) }))).toEqual(['GPU "Tesla K80" (×4) is not a GPUMesh catalogue model']);
  });

  it("refuses catalogue models below the RTX 3050 class weight", () => {
    expect(hardwareFloorProblems(machine({ gpus: [gpu("Apple M3 Max", 131072, "apple-m3-max")] }))).toEqual([
      'GPU "Apple M3 Max" (M3 Max) has a performance weight of 140 bps, below the RTX 3050 class minimum of 180 bps (H100 = 10,000)',
    ]);
    // Which catalogue models the weight rule refuses (documented in hardware-floor.ts and docs/hardware-floor.md).
    const below = GPU_MODELS.filter((model) => model.performanceWeightBps < HARDWARE_FLOOR.minGpuWeightBps).map((model) => model.id);
    expect(below).toEqual(["apple-m3-max", "apple-m4-max"]);
  });

  it("refuses a GPU with less than 8 GB of VRAM, even of a catalogue model", () => {
    expect(hardwareFloorProblems(machine({ gpus: [gpu("NVIDIA GeForce RTX 3050", 6144, "rtx-3050")] }))).toEqual(['GPU "NVIDIA GeForce RTX 3050" has 6 GB of VRAM, below the 8 GB minimum']);
  });

  it("refuses a machine with more than one GPU model", () => {
    const problems = hardwareFloorProblems(machine({ gpus: [RTX_4090, RTX_4090, gpu("NVIDIA GeForce RTX 3090", 24576, "rtx-3090")] }));
    expect(problems).toEqual(["Mixed GPUs: this machine has 2 GPU models (RTX 4090, RTX 3090); a device must have one model"]);
    // The same model with different reported memory (A100 40/80GB are two models; two 4060 Ti boards are one).
    expect(hardwareFloorProblems(machine({ gpus: [gpu("NVIDIA GeForce RTX 4060 Ti", 8188, "rtx-4060-ti"), gpu("NVIDIA GeForce RTX 4060 Ti", 16380, "rtx-4060-ti")] }))).toEqual([]);
    // An unknown card next to a catalogue one: both problems.
    expect(hardwareFloorProblems(machine({ gpus: [RTX_4090, gpu("NVIDIA GeForce GTX 1080 Ti", 11264, null)] }))).toEqual([
      'GPU "NVIDIA GeForce GTX 1080 Ti" is not a GPUMesh catalogue model',
      "Mixed GPUs: this machine has 2 GPU models (RTX 4090, NVIDIA GeForce GTX 1080 Ti); a device must have one model",
    ]);
  });

  it("lets a CPU-only machine join as a CPU device under the CPU-only floor", () => {
    const cpu = machine({ gpus: [], cpuCores: 8, ramGb: 16, diskGb: 100 });
    expect(hardwareFloorProblems(cpu)).toEqual([]);
    // 4 cores are enough beside a GPU, not alone.
    expect(hardwareFloorProblems({ ...cpu, cpuCores: 4 })).toEqual(["4 CPU cores are below the 8-core minimum for a CPU-only device"]);
    expect(hardwareFloorProblems({ ...cpu, ramGb: 8 })).toEqual(["RAM 8 GB is below the 16 GB minimum for a CPU-only device"]);
    expect(hardwareFloorProblems({ ...cpu, diskGb: 50 })).toEqual(["Disk 50 GB is below the 100 GB minimum for a CPU-only device"]);
    expect(hardwareFloorProblems({ ...cpu, bandwidthUpMbps: 2 })).toEqual(["Upload bandwidth 2 Mbps is below the 10 Mbps minimum"]);
  });

  it("lists every problem of a machine, one sentence each", () => {
    const problems = hardwareFloorProblems({ cpuModel: "Intel Celeron", cpuCores: 2, ramGb: 4, diskGb: 32, os: "Ubuntu", gpus: [gpu("NVIDIA GeForce GT 1030", 2048, null)], bandwidthUpMbps: 1, bandwidthDownMbps: 5 });
    expect(problems).toEqual([
      'GPU "NVIDIA GeForce GT 1030" is not a GPUMesh catalogue model',
      "2 CPU cores are below the 4-core minimum",
      "RAM 4 GB is below the 16 GB minimum",
      "Disk 32 GB is below the 100 GB minimum",
      "Upload bandwidth 1 Mbps is below the 10 Mbps minimum",
      "Download bandwidth 5 Mbps is below the 10 Mbps minimum",
    ]);
  });
});
