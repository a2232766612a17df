import { GPU_MODELS } from "@gpumesh/core";
import { describe, expect, it } from "vitest";
import { catalogueModelFor, parseNvidiaSmi } from "./hardware.ts";

describe("GPU detection", () => {
  it("maps nvidia-smi names to catalogue models, telling A100 40GB from 80GB by memory", () => {
    const gpus = parseNvidiaSmi(
      ["NVIDIA H100 80GB HBM3, 81559", "NVIDIA A100-SXM4-40GB, 40960", "NVIDIA A100 80GB PCIe, 81920", "NVIDIA GeForce RTX 4090, 24564", "NVIDIA L40S, 46068", "NVIDIA RTX A6000, 49140", "Tesla T4, 15360", "Tesla K80, 11441"].join("\n"),
    );
    expect(gpus.map((gpu) => gpu.gpuModelId)).toEqual(["h100-80gb", "a100-40gb", "a100-80gb", "rtx-4090", "l40s", "rtx-a6000", "t4", null]);
  });

  it("leaves models outside the catalogue unmatched and matches SXM naming", () => {
    expect(catalogueModelFor("Tesla K80", 11441)).toBeNull();
    expect(catalogueModelFor("NVIDIA A100 SXM4 40GB", 40960)).toBe("a100-40gb");
  });

  // Product names as `nvidia-smi --query-gpu=name,memory.total` prints them (memory in MiB), and as
  // rocm-smi / macOS name AMD and Apple parts. null: not a catalogue model, and never its neighbour.
  const REAL_NAMES: [name: string, vramMb: number, id: string | null][] = [
    ["NVIDIA H100 80GB HBM3", 81559, "h100-80gb"],
    ["NVIDIA H100 PCIe", 81559, "h100-80gb"],
    ["NVIDIA H100 NVL", 95830, "h100-80gb"],
    ["NVIDIA H200", 143771, "h200-141gb"],
    ["NVIDIA H200 NVL", 143771, "h200-141gb"],
    ["NVIDIA B200", 183359, "b200-180gb"],
    ["NVIDIA GH200 480GB", 97871, "gh200-96gb"],
    ["NVIDIA H800", 81559, null],
    ["NVIDIA A100-SXM4-40GB", 40960, "a100-40gb"],
    ["NVIDIA A100-SXM4-80GB", 81920, "a100-80gb"],
    ["NVIDIA A100-PCIE-40GB", 40960, "a100-40gb"],
    ["NVIDIA A100 80GB PCIe", 81920, "a100-80gb"],
    ["NVIDIA A10", 23028, "a10"],
    ["NVIDIA A10G", 23028, null],
    ["NVIDIA A30", 24576, "a30"],
    ["NVIDIA A40", 46068, "a40"],
    ["NVIDIA L4", 23034, "l4"],
    ["NVIDIA L40", 46068, "l40"],
    ["NVIDIA L40S", 46068, "l40s"],
    ["Tesla T4", 15360, "t4"],
    ["Tesla V100-SXM2-16GB", 16384, "v100-16gb"],
    ["Tesla V100-SXM2-32GB", 32768, "v100-32gb"],
    ["Tesla V100-PCIE-16GB", 16384, "v100-16gb"],
    ["Tesla V100S-PCIE-32GB", 32768, "v100-32gb"],
    ["NVIDIA RTX A4000", 16376, "rtx-a4000"],
    ["NVIDIA RTX A5000", 24564, "rtx-a5000"],
    ["NVIDIA RTX A6000", 49140, "rtx-a6000"],
    ["NVIDIA RTX 6000 Ada Generation", 49140, "rtx-6000-ada"],
    ["NVIDIA RTX 5000 Ada Generation", 32760, null],
    ["Quadro RTX 6000", 24576, null],
    ["NVIDIA GeForce RTX 5090", 32607, "rtx-5090"],
    ["NVIDIA GeForce RTX 5080", 16303, "rtx-5080"],
    ["NVIDIA GeForce RTX 5070 Ti", 16303, "rtx-5070-ti"],
    ["NVIDIA GeForce RTX 5070", 12227, null],
    ["NVIDIA GeForce RTX 4090", 24564, "rtx-4090"],
    ["NVIDIA GeForce RTX 4090 Laptop GPU", 16376, null],
    ["NVIDIA GeForce RTX 4080", 16376, "rtx-4080"],
    ["NVIDIA GeForce RTX 4080 SUPER", 16376, null],
    ["NVIDIA GeForce RTX 4070 Ti", 12282, "rtx-4070-ti"],
    ["NVIDIA GeForce RTX 4070 Ti SUPER", 16376, null],
    ["NVIDIA GeForce RTX 4070", 12282, "rtx-4070"],
    ["NVIDIA GeForce RTX 4060 Ti", 8188, "rtx-4060-ti"],
    ["NVIDIA GeForce RTX 4060 Ti", 16380, "rtx-4060-ti"],
    ["NVIDIA GeForce RTX 4060", 8188, null],
    ["NVIDIA GeForce RTX 3090 Ti", 24564, "rtx-3090-ti"],
    ["NVIDIA GeForce RTX 3090", 24576, "rtx-3090"],
    ["NVIDIA GeForce RTX 3080 Ti", 12288, "rtx-3080-ti"],
    ["NVIDIA GeForce RTX 3080", 10240, "rtx-3080"],
    ["NVIDIA GeForce RTX 3080", 12288, "rtx-3080"],
    ["NVIDIA GeForce RTX 3070", 8192, "rtx-3070"],
    ["NVIDIA GeForce RTX 3060", 12288, "rtx-3060"],
    ["NVIDIA GeForce RTX 3060 Ti", 8192, null],
    ["NVIDIA GeForce RTX 3050", 8192, "rtx-3050"],
    ["NVIDIA GeForce GTX 1080 Ti", 11264, null],
    ["AMD Instinct MI300X", 196592, "mi300x"],
    ["AMD Instinct MI250", 65536, "mi250"],
    ["AMD Instinct MI250X", 65536, null],
    ["Apple M2 Ultra", 196608, "apple-m2-ultra"],
    ["Apple M3 Max", 131072, "apple-m3-max"],
    ["Apple M4 Max", 131072, "apple-m4-max"],
    ["Apple M3 Pro", 36864, null],
    ["", 0, null],
  ];

  it.each(REAL_NAMES)("%s (%i MiB) → %s", (name, vramMb, id) => {
    expect(catalogueModelFor(name, vramMb)).toBe(id);
  });

  it("maps every catalogue model's own name to its id", () => {
    for (const model of GPU_MODELS) {
      const vendor = model.vendor === "APPLE" ? "Apple" : model.vendor;
      expect(catalogueModelFor(`${vendor} ${model.name}`, model.vramGb * 1024), model.name).toBe(model.id);
      expect(catalogueModelFor(model.name, model.vramGb * 1024), model.name).toBe(model.id);
    }
  });

  it("takes the size in the name when no memory is reported", () => {
    expect(catalogueModelFor("NVIDIA A100-SXM4-80GB", 0)).toBe("a100-80gb");
    expect(catalogueModelFor("Tesla V100-SXM2-32GB", 0)).toBe("v100-32gb");
  });
});
