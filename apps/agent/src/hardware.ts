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

/** Vendor and product-line words that say nothing about which model a name is. */
const VENDOR_WORDS = new Set(["nvidia", "geforce", "tesla", "quadro", "amd", "instinct", "apple"]);
/** Words for memory, form factor or packaging: the same model in another board (H100 PCIe / SXM5 / NVL). */
const FORM_WORDS = new Set(["pcie", "sxm", "sxm2", "sxm3", "sxm4", "sxm5", "hbm", "hbm2", "hbm2e", "hbm3", "hbm3e", "nvl", "oam", "generation"]);
const MEMORY_WORD = /^(\d+)(?:g|gb|gib)$/;
/** Product names that are a catalogue model under another name. */
const ALIASES: Readonly<Record<string, string>> = { v100s: "v100" };

/** The words that name the model: lower case, split on anything not a letter or digit, without vendor, form and memory words. */
function modelWords(name: string): string[] {
  return name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== "" && !VENDOR_WORDS.has(word) && !FORM_WORDS.has(word) && !MEMORY_WORD.test(word));
}

/** Catalogue models by the words of their name ("RTX 4070 Ti" → "rtx 4070 ti", "A100 80GB" → "a100"). */
const MODELS_BY_KEY = new Map<string, (typeof GPU_MODELS)[number][]>();
for (const model of GPU_MODELS) {
  const key = modelWords(model.name).join(" ");
  MODELS_BY_KEY.set(key, [...(MODELS_BY_KEY.get(key) ?? []), model]);
}

/**
 * Maps a GPU product name as `nvidia-smi` (or rocm-smi, or macOS) reports it to a catalogue model
 * ("NVIDIA H100 80GB HBM3" → h100-80gb), or null when it is not one. The name's model words must
 * equal a model's exactly, so a variant is never taken for its neighbour: "RTX 4070 Ti" is not an
 * RTX 4070, "A10" not an A100, "RTX 6000 Ada Generation" not an RTX A6000, and "RTX 4090 Laptop
 * GPU" or "RTX 4080 SUPER" are not catalogue models at all. Where one name comes in two memory sizes
 * (A100 40/80GB, V100 16/32GB) the reported memory picks (the name's own size when none is reported).
 */
export function catalogueModelFor(name: string, vramMb: number): string | null {
  const words = modelWords(name);
  let key = words.join(" ");
  key = ALIASES[key] ?? key;
  // "GeForce 4090" without "RTX": the catalogue's names all carry it.
  const candidates = MODELS_BY_KEY.get(key) ?? MODELS_BY_KEY.get(`rtx ${key}`) ?? [];
  if (candidates.length <= 1) return candidates[0]?.id ?? null;
  const namedGb = name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .map((word) => MEMORY_WORD.exec(word)?.[1])
    .find((size) => size !== undefined);
  const vramGb = vramMb > 0 ? Math.round(vramMb / 1024) : namedGb !== undefined ? Number(namedGb) : 0;
  return [...candidates].sort((a, b) => Math.abs(a.vramGb - vramGb) - Math.abs(b.vramGb - vramGb))[0]!.id;
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
    // Decimal GB, rounded up, as RAM is sold: a "16 GB" machine whose kernel reserves some memory
    // reports ~15.4 GiB and must still meet a 16 GB floor.
    ramGb: Math.ceil(os.totalmem() / 1e9),
    gpus,
  };
}
