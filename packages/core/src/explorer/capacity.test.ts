import { describe, expect, it } from "vitest";
import { SeededRandom } from "../random.ts";
import { deviceMix } from "../matching/select.ts";
import { naivePlace } from "../matching/naive.ts";
import { device, request } from "../matching/testing.ts";
import type { PlacementDevice } from "../matching/types.ts";
import { deployableByRegion, emptySizes, gangsThatFit } from "./capacity.ts";

const sizes = (counts: Record<number, number>) => {
  const out = emptySizes();
  for (const [k, n] of Object.entries(counts)) out[Number(k)] = n;
  return out;
};

/** One gang at a time, the slow way: what `gangsThatFit` batches. */
function oneAtATime(start: readonly number[], total: number): number {
  const left = [...start];
  let gangs = 0;
  for (let mix = deviceMix(left, total); mix !== null; mix = deviceMix(left, total)) {
    for (let k = 1; k < mix.length; k++) left[k]! -= mix[k]!;
    gangs++;
  }
  return gangs;
}

/** Deploys the shape again and again with the real matcher, removing what each deploy took. */
function deployUntilFull(devices: PlacementDevice[], total: number, regions: string[]): number {
  let free = devices.map((d) => ({ device: d, online: true, reserved: false }));
  let deployed = 0;
  for (;;) {
    const placed = naivePlace(free, request({ gpuCount: total, regions, connectivityTier: "LOW" }), { seed: `run-${deployed}` });
    if (!placed.ok) return deployed;
    const taken = new Set(placed.devices.map((d) => d.id));
    free = free.filter((state) => !taken.has(state.device.id));
    deployed++;
  }
}

describe("gangsThatFit", () => {
  it("counts whole devices summing to exactly the shape", () => {
    // Two 8-GPU servers host two 8-GPU clusters; a 16-GPU server cannot be split for them.
    expect(gangsThatFit(sizes({ 8: 2, 16: 1 }), 8)).toBe(2);
    // 4+4 and 4+2+1+1 make two 8-GPU clusters out of mixed sizes.
    expect(gangsThatFit(sizes({ 4: 3, 2: 1, 1: 2 }), 8)).toBe(2);
    // 64 GPUs need several nodes: eight 8-GPU servers, or four 16-GPU ones.
    expect(gangsThatFit(sizes({ 8: 8, 16: 4 }), 64)).toBe(2);
    expect(gangsThatFit(sizes({ 8: 7 }), 64)).toBe(0);
    expect(gangsThatFit(sizes({ 1: 5, 8: 3 }), 1)).toBe(5);
    expect(gangsThatFit(emptySizes(), 8)).toBe(0);
  });

  it("batching gives the same count as taking one mix at a time", () => {
    const random = new SeededRandom(12);
    for (let trial = 0; trial < 300; trial++) {
      const start = emptySizes();
      for (const k of [1, 2, 4, 8, 16]) start[k] = random.int(0, 12);
      const total = random.pick([1, 2, 3, 8, 12, 64]);
      expect(gangsThatFit(start, total), `trial ${trial}`).toBe(oneAtATime(start, total));
    }
  });
});

describe("deployableByRegion", () => {
  it("equals what consecutive deploys through the matcher get, per region and over all regions", () => {
    const random = new SeededRandom(7);
    const regionIds = ["us-east", "eu-west", "ap-south"];
    for (let trial = 0; trial < 40; trial++) {
      // Every device its own supplier site, so co-location never changes the mix (see capacity.ts).
      const devices = Array.from({ length: random.int(0, 30) }, () =>
        device({ gpuCount: random.pick([1, 2, 4, 8, 8, 16]), region: random.pick(regionIds), verificationScoreBps: 9_000 }),
      );
      const total = random.pick([1, 8, 16, 64]);
      const byRegion = new Map<string, number[]>(regionIds.map((r) => [r, emptySizes()]));
      for (const d of devices) byRegion.get(d.region)![d.gpuCount]!++;
      const counted = deployableByRegion(byRegion, total);
      for (const region of regionIds) {
        expect(counted.byRegion.get(region)!.anyNodes, `trial ${trial} ${region}`).toBe(deployUntilFull(devices, total, [region]));
      }
      expect(counted.anyRegion.anyNodes, `trial ${trial} any region`).toBe(deployUntilFull(devices, total, regionIds));
      expect(counted.anyRegion.singleNode).toBe(devices.filter((d) => d.gpuCount === total).length);
      expect(counted.anyRegion.freeGpus).toBe(devices.reduce((sum, d) => sum + d.gpuCount, 0));
    }
  });
});
