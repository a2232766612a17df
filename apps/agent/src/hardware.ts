import { execFileSync } from "node:child_process";
import os from "node:os";
import { GPU_MODELS } from "@gpumesh/core";

/** What the agent finds on the machine it runs on. */
export interface DetectedHardware {
  cpuModel: string;
  cpuCores: number;
  ramGb: number;
  gpus: { name: string; vramMb: number; gpuModelId: string | null }[];
}

/** Maps an `nvidia-smi` product name to a catalogue model (e.g. "NVIDIA H100 80GB HBM3" → h100-80gb). */
export function catalogueModelFor(name: string, vramMb: number): string | null {
  const normalized = name.toLowerCase().replace(/nvidia|geforce/g, "").trim();
  const vramGb = Math.round(vramMb / 1024);
  const candidates = GPU_MODELS.filter((model) => {
    const key = model.name.toLowerCase().replace(/\s*\d+gb$/, "");
    return normalized.includes(key) || normalized.replace(/^rtx\s+/, "").includes(key.replace(/^rtx\s+/, ""));
  });
  // Same name in two memory sizes (A100 40/80GB): the closest VRAM wins.
  candidates.sort((a, b) => Math.abs(a.vramGb - vramGb) - Math.abs(b.vramGb - vramGb));
  return candidates[0]?.id ?? null;
}

/** Parses `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(output: string): DetectedHardware["gpus"] {
  return output
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [name = "", memory = "0"] = line.split(",").map((part) => part.trim());
      const vramMb = Number.parseInt(memory, 10) || 0;
      return { name, vramMb, gpuModelId: catalogueModelFor(name, vramMb) };
    });
}

export function detectHardware(): DetectedHardware {
  let gpus: DetectedHardware["gpus"] = [];
  try {
    gpus = parseNvidiaSmi(execFileSync("nvidia-smi", ["--query-gpu=name,memory.total", "--format=csv,noheader,nounits"], { encoding: "utf8", timeout: 10_000 }));
  } catch {
    // No NVIDIA driver: a CPU-only device.
  }
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown CPU",
    cpuCores: cpus.length,
    ramGb: Math.round(os.totalmem() / 1024 ** 3),
    gpus,
  };
}
