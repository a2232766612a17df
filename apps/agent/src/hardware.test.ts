import { describe, expect, it } from "vitest";
import { catalogueModelFor, parseNvidiaSmi } from "./hardware.ts";

describe("GPU detection", () => {
  it("maps nvidia-smi names to catalogue models, telling A100 40GB from 80GB by memory", () => {
    const gpus = parseNvidiaSmi(
      ["NVIDIA H100 80GB HBM3, 81559", "NVIDIA A100-SXM4-40GB, 40960", "NVIDIA A100 80GB PCIe, 81920", "NVIDIA GeForce RTX 4090, 24564", "NVIDIA L40S, 46068", "NVIDIA RTX A6000, 49140", "Tesla T4, 15360"].join("\n"),
    );
    expect(gpus.map((gpu) => gpu.gpuModelId)).toEqual(["h100-80gb", "a100-40gb", "a100-80gb", "rtx-4090", "l40s", "rtx-a6000", null]);
  });

  it("leaves models outside the catalogue unmatched and matches SXM naming", () => {
    expect(catalogueModelFor("Tesla T4", 15360)).toBeNull();
    expect(catalogueModelFor("NVIDIA A100 SXM4 40GB", 40960)).toBe("a100-40gb");
  });
});
