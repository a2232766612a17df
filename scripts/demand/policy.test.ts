import { SeededRandom } from "@gpumesh/core";
import { describe, expect, it } from "vitest";
import { planRental, utilisationBps, type Market } from "./policy.ts";

const market = (gpuModelId: string, region: string, onlineGpus: number, busyGpus: number, price: number | null): Market => ({
  gpuModelId,
  region,
  onlineGpus,
  busyGpus,
  freeGpus: onlineGpus - busyGpus,
  pricePerGpuHour: price === null ? null : String(price),
});

describe("simulated demand", () => {
  it("measures utilisation over every online GPU", () => {
    expect(utilisationBps([market("h100", "us", 80, 20, 1), market("a100", "eu", 20, 10, 1)])).toBe(3_000);
    expect(utilisationBps([])).toBe(0);
  });

  it("backs off when the network is busy or the renter holds enough, so people always find free GPUs", () => {
    const busy = [market("h100", "us", 100, 40, 2_000_000)];
    expect(planRental(busy, 0, new SeededRandom(1))).toEqual({ skip: "network 40.0% busy" });
    const quiet = [market("h100", "us", 100, 0, 2_000_000)];
    expect(planRental(quiet, 2, new SeededRandom(1))).toEqual({ skip: "already holding 2 clusters" });
  });

  it("only tries markets with a price and enough free GPUs, at most four, never twice", () => {
    const markets = [market("h100", "us", 64, 0, 2_000_000), market("h100", "eu", 8, 8, 1_900_000), market("a100", "us", 16, 0, null), ...["ap", "sa", "af", "me", "oc"].map((r) => market("l40s", r, 32, 0, 900_000))];
    for (let seed = 1; seed <= 200; seed++) {
      const plan = planRental(markets, 0, new SeededRandom(seed));
      if ("skip" in plan) throw new Error(plan.skip);
      expect(plan.attempts.length).toBeGreaterThan(0);
      expect(plan.attempts.length).toBeLessThanOrEqual(4);
      const keys = plan.attempts.map((a) => `${a.gpuModelIds[0]}/${a.regions[0]}`);
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys).not.toContain("h100/eu"); // nothing free
      expect(keys).not.toContain("a100/us"); // no price
      expect([1, 2, 4, 8]).toContain(plan.gpuCount);
      expect(plan.keepForMs).toBeGreaterThanOrEqual(2 * 60_000);
    }
  });

  it("sends more demand to the cheaper of two equal markets", () => {
    const markets = [market("cheap", "us", 64, 0, 1_000_000), market("dear", "us", 64, 0, 3_000_000)];
    let cheapFirst = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const plan = planRental(markets, 0, new SeededRandom(seed));
      if (!("skip" in plan) && plan.attempts[0]!.gpuModelIds[0] === "cheap") cheapFirst++;
    }
    expect(cheapFirst).toBeGreaterThan(220); // 62.5% expected by the weights
  });
});
