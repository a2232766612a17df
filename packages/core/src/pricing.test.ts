import { describe, expect, it } from "vitest";
import {
  breakdownAtRate,
  marketPricePerGpuHour,
  priceQuote,
  PricingOverflowError,
  ratePerGpuSecond,
  SURGE_CURVE,
  surgeBps,
  surgedPricePerGpuHour,
  toTokenUnits,
  U64_MAX,
  utilisationBps,
  type PricedNode,
  type QuoteTerms,
} from "./pricing.ts";
import { SeededRandom } from "./random.ts";
import { settlementSplit } from "./settlement.ts";

const H100 = { hyperscalerPerGpuHour: 12_290_000n };
const usdc: QuoteTerms = { durationHours: 4, token: "USDC", feeBps: 500, burnBps: 5_000 };
const node = (gpuCount: number, askPerGpuHour: bigint, surge = 0n, hyper: bigint | null = H100.hyperscalerPerGpuHour): PricedNode => ({
  gpuCount,
  askPerGpuHour,
  surgeBps: surge,
  hyperscalerPerGpuHour: hyper,
});

describe("utilisation and surge", () => {
  it("is the floored share of busy GPUs, clamped, and a market with nothing online counts as full", () => {
    expect(utilisationBps({ onlineGpus: 3, busyGpus: 1 })).toBe(3_333n);
    expect(utilisationBps({ onlineGpus: 8, busyGpus: 0 })).toBe(0n);
    expect(utilisationBps({ onlineGpus: 8, busyGpus: 9 })).toBe(10_000n);
    expect(utilisationBps({ onlineGpus: 0, busyGpus: 0 })).toBe(10_000n);
    expect(() => utilisationBps({ onlineGpus: -1, busyGpus: 0 })).toThrow(RangeError);
  });

  it("is zero up to the threshold, then rises linearly to the maximum at full utilisation", () => {
    expect(surgeBps(0n)).toBe(0n);
    expect(surgeBps(SURGE_CURVE.thresholdBps)).toBe(0n);
    expect(surgeBps(SURGE_CURVE.thresholdBps + 1n)).toBe(1n); // ⌊5000·1/3000⌋
    expect(surgeBps(8_500n)).toBe(2_500n);
    expect(surgeBps(10_000n)).toBe(SURGE_CURVE.maxSurgeBps);
    expect(surgeBps(12_000n)).toBe(SURGE_CURVE.maxSurgeBps);
  });

  it("never lowers the price as utilisation rises (every utilisation, several asks)", () => {
    for (const ask of [0n, 1n, 3_599n, 150_000n, 2_190_000n, 987_654_321n]) {
      let previous = -1n;
      let drops = 0;
      for (let u = 0n; u <= 10_000n; u += 1n) {
        const price = surgedPricePerGpuHour(ask, surgeBps(u));
        if (price < previous || price < ask) drops++;
        previous = price;
      }
      expect(drops).toBe(0);
      expect(surgedPricePerGpuHour(ask, surgeBps(10_000n))).toBe((ask * 15_000n + 9_999n) / 10_000n);
    }
    // and more busy GPUs in the same market never quote lower
    let previous = 0n;
    for (let busy = 0; busy <= 64; busy++) {
      const p = marketPricePerGpuHour(2_190_000n, { onlineGpus: 64, busyGpus: busy });
      expect(p).toBeGreaterThanOrEqual(previous);
      previous = p;
    }
    expect(marketPricePerGpuHour(2_190_000n, { onlineGpus: 64, busyGpus: 0 })).toBe(2_192_400n); // ⌈2_190_000/3600⌉ = 609 per second
  });
});

describe("priceQuote", () => {
  it("prices a whole gang at one per GPU-second rate set by its highest ask, never below any device's ask", () => {
    const q = priceQuote([node(8, 2_000_000n), node(8, 2_190_000n)], usdc);
    expect(q.ratePerGpuSecond).toBe(609n); // ⌈2_190_000 / 3600⌉ = ⌈608.33⌉
    expect(q.pricePerGpuHour).toBe(2_192_400n);
    expect(q.floorPerGpuHour).toBe(2_190_000n);
    expect(q.pricePerSecond).toBe(609n * 16n);
    expect(q.seconds).toBe(14_400n);
    expect(q.gpuHours).toBe(64n);
    expect(q.total).toBe(609n * 16n * 14_400n);
    // every node's settlement rate ⌊price · g / G⌋ is exactly r · g and covers its ask per second
    for (const n of [node(8, 2_000_000n), node(8, 2_190_000n)]) {
      const rate = (q.pricePerSecond * BigInt(n.gpuCount)) / BigInt(q.gpuCount);
      expect(rate).toBe(q.ratePerGpuSecond * BigInt(n.gpuCount));
      expect(rate * 3_600n).toBeGreaterThanOrEqual(n.askPerGpuHour * BigInt(n.gpuCount));
    }
  });

  it("applies each device's own market surge and lets the dearest surged device set the rate", () => {
    // A cheap device in a hot market (+50 %) outprices a dearer one in a quiet market.
    const q = priceQuote([node(4, 1_000_000n, 5_000n), node(4, 1_400_000n, 0n)], usdc);
    expect(q.floorPerGpuHour).toBe(1_000_000n);
    expect(q.surgeBps).toBe(5_000n);
    expect(q.ratePerGpuSecond).toBe(417n); // ⌈1_500_000 / 3600⌉
    // Floors: the surge never pushes anyone below their ask, and with no surge the floor is the price.
    const calm = priceQuote([node(1, 3_600n)], usdc);
    expect(calm.ratePerGpuSecond).toBe(1n);
    expect(calm.pricePerGpuHour).toBe(3_600n);
    // A zero ask still pays the program's minimum of 1 base unit per GPU-second.
    expect(priceQuote([node(2, 0n)], usdc).pricePerSecond).toBe(2n);
  });

  it("rounds up exactly once: 1 base unit above a multiple of 3600 costs a whole unit per GPU-second", () => {
    expect(ratePerGpuSecond(7_200n)).toBe(2n);
    expect(ratePerGpuSecond(7_201n)).toBe(3n);
    expect(surgedPricePerGpuHour(1n, 1n)).toBe(2n); // ⌈1 · 10001 / 10⁴⌉
    expect(surgedPricePerGpuHour(10_000n, 1n)).toBe(10_001n);
  });

  it("shows fee and burn as parts of the total, split per node as settlement splits them", () => {
    const rng = new SeededRandom(10);
    for (let trial = 0; trial < 300; trial++) {
      const nodes = Array.from({ length: 1 + rng.int(0, 5) }, () => node(rng.pick([1, 2, 4, 8]), BigInt(rng.int(0, 5_000_000)), BigInt(rng.int(0, 5_000))));
      const token = rng.next() < 0.5 ? "USDC" : "MESH";
      const terms: QuoteTerms = { durationHours: rng.int(1, 2_160), token, feeBps: rng.int(0, 10_000), burnBps: rng.int(0, 10_000) };
      const q = priceQuote(nodes, terms);
      expect(q.total).toBe(q.pricePerSecond * BigInt(terms.durationHours) * 3_600n);
      expect(q.suppliers + q.treasury + q.burn).toBe(q.total);
      expect(q.fee).toBe(q.treasury + q.burn);
      // the same amounts settlementSplit gives per node over the full term
      let fee = 0n;
      let burn = 0n;
      for (const n of nodes) {
        const split = settlementSplit(q.ratePerGpuSecond * BigInt(n.gpuCount), q.seconds, BigInt(terms.feeBps), BigInt(terms.burnBps), token === "MESH");
        fee += split.fee;
        burn += split.burn;
      }
      expect([q.fee, q.burn]).toEqual([fee, burn]);
      if (token === "USDC") expect(q.burn).toBe(0n);
    }
  });

  it("MESH and USDC: the same USD figure at 1:1 (only the burn differs); another rate converts asks upward", () => {
    const nodes = [node(8, 2_190_000n, 1_234n)];
    const inUsdc = priceQuote(nodes, usdc);
    const inMesh = priceQuote(nodes, { ...usdc, token: "MESH" });
    expect(inMesh.total).toBe(inUsdc.total);
    expect(inMesh.fee).toBe(inUsdc.fee);
    expect(inUsdc.burn).toBe(0n);
    expect(inMesh.burn).toBe(inMesh.fee / 2n);
    expect(inMesh.treasury).toBe(inMesh.fee - inMesh.burn);
    // 1 USDC = 4 MESH (0.25 USD per MESH): asks and list prices convert, rounded up.
    const rates = { USDC: { tokenUnits: 1n, usdcUnits: 1n }, MESH: { tokenUnits: 4n, usdcUnits: 1n } };
    const meshAt4 = priceQuote(nodes, { ...usdc, token: "MESH", rates });
    expect(meshAt4.floorPerGpuHour).toBe(8_760_000n);
    expect(meshAt4.ratePerGpuSecond).toBe(ratePerGpuSecond(toTokenUnits(surgedPricePerGpuHour(2_190_000n, 1_234n), "MESH", rates)));
    expect(meshAt4.hyperscaler!.pricePerGpuHour).toBe(12_290_000n * 4n);
    expect(toTokenUnits(3n, "MESH", { ...rates, MESH: { tokenUnits: 1n, usdcUnits: 2n } })).toBe(2n); // ⌈1.5⌉
  });

  it("compares with the hyperscaler list price, and has no comparison where a model has none", () => {
    const q = priceQuote([node(8, 2_190_000n)], usdc);
    expect(q.hyperscaler).toEqual({
      pricePerGpuHour: 12_290_000n,
      total: 12_290_000n * 8n * 4n,
      saving: 12_290_000n * 32n - q.total,
      savingBps: ((12_290_000n * 32n - q.total) * 10_000n) / (12_290_000n * 32n),
    });
    expect(q.hyperscaler!.savingBps).toBe(8_216n); // 82 % cheaper
    expect(priceQuote([node(8, 2_190_000n), node(1, 340_000n, 0n, null)], usdc).hyperscaler).toBeNull();
    // dearer than the list price: a negative saving, not a clamp
    const dear = priceQuote([node(1, 20_000_000n)], usdc);
    expect(dear.hyperscaler!.saving).toBeLessThan(0n);
    expect(dear.hyperscaler!.savingBps).toBeLessThan(0n);
  });

  it("is exact at overflow-sized inputs and refuses what the program's u64 cannot hold", () => {
    // The largest deposit that fits: r · G · seconds ≤ 2^64 − 1 with G = 1, 1 hour.
    const maxRate = U64_MAX / 3_600n;
    const big = breakdownAtRate(maxRate, [{ gpuCount: 1, hyperscalerPerGpuHour: null }], { ...usdc, durationHours: 1, feeBps: 10_000, burnBps: 10_000, token: "MESH" }, { floorPerGpuHour: 0n, surgeBps: 0n });
    expect(big.total).toBe(maxRate * 3_600n);
    expect(big.fee).toBe(big.total);
    expect(big.burn).toBe(big.total);
    expect(() => breakdownAtRate(maxRate + 1n, [{ gpuCount: 1, hyperscalerPerGpuHour: null }], { ...usdc, durationHours: 1 }, { floorPerGpuHour: 0n, surgeBps: 0n })).toThrow(PricingOverflowError);
    // An absurd ask (far above u64) is priced exactly and then refused, not wrapped or rounded.
    expect(() => priceQuote([node(1024, 1n << 80n, 5_000n)], { ...usdc, durationHours: 2_160 })).toThrow(PricingOverflowError);
    expect(surgedPricePerGpuHour(1n << 80n, 5_000n)).toBe(((1n << 80n) * 15_000n) / 10_000n);
  });

  it("rejects nonsense inputs", () => {
    expect(() => priceQuote([], usdc)).toThrow(RangeError);
    expect(() => priceQuote([node(0, 1n)], usdc)).toThrow(RangeError);
    expect(() => priceQuote([node(1, -1n)], usdc)).toThrow(RangeError);
    expect(() => priceQuote([node(1, 1n)], { ...usdc, durationHours: 0 })).toThrow(RangeError);
    expect(() => priceQuote([node(1, 1n)], { ...usdc, feeBps: 10_001 })).toThrow(RangeError);
    expect(() => surgeBps(-1n)).toThrow(RangeError);
  });

  it("is deterministic: the same inputs give the same breakdown", () => {
    const nodes = [node(8, 2_000_000n, 700n), node(4, 2_100_000n, 0n)];
    expect(priceQuote(nodes, usdc)).toEqual(priceQuote([...nodes].reverse(), usdc));
  });
});
