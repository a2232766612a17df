import { describe, expect, it } from "vitest";
import { allocationSettlement, settlementSplit, ZERO_TOTALS, type AllocationTotals } from "./settlement.ts";
import { SeededRandom } from "./random.ts";

describe("allocationSettlement", () => {
  it("floors fee and burn on running totals: many small settles pay exactly what one big settle pays", () => {
    const rng = new SeededRandom(7);
    const random = () => rng.next();
    for (let trial = 0; trial < 200; trial++) {
      const rate = BigInt(1 + Math.floor(random() * 5_000));
      const feeBps = BigInt(Math.floor(random() * 1_000));
      const burnBps = BigInt(Math.floor(random() * 10_001));
      const mesh = random() < 0.5;
      let totals: AllocationTotals = ZERO_TOTALS;
      const sums = { gross: 0n, fee: 0n, burn: 0n, treasury: 0n, supplier: 0n };
      let seconds = 0n;
      for (let step = 0; step < 1 + Math.floor(random() * 20); step++) {
        const dt = BigInt(Math.floor(random() * 700));
        const result = allocationSettlement(totals, rate, dt, feeBps, burnBps, mesh);
        totals = result.totals;
        seconds += dt;
        for (const key of Object.keys(sums) as (keyof typeof sums)[]) sums[key] += result.split[key];
        expect(result.split.gross).toBe(result.split.supplier + result.split.treasury + result.split.burn);
      }
      expect(sums).toEqual(settlementSplit(rate, seconds, feeBps, burnBps, mesh));
    }
  });

  it("differs from rounding each settle on its own (which would under-collect the fee)", () => {
    // 3 settles of 1 second at 33 units, 2.5 %: each alone has a fee of 0; the total owes 2.
    let totals = ZERO_TOTALS;
    let fees = 0n;
    for (let i = 0; i < 3; i++) {
      const step = allocationSettlement(totals, 33n, 1n, 250n, 0n, false);
      totals = step.totals;
      fees += step.split.fee;
      expect(settlementSplit(33n, 1n, 250n, 0n, false).fee).toBe(0n);
    }
    expect(fees).toBe(2n);
  });

  it("refuses totals that cannot come from these rates", () => {
    expect(() => allocationSettlement({ gross: 100n, fee: 50n, burn: 0n }, 1n, 1n, 250n, 0n, false)).toThrow(RangeError);
  });
});
