import { describe, expect, it } from "vitest";
import { cumulativeEmission, EMISSION_CAP, GENESIS_SUPPLY, MESH_UNIT } from "./emission.ts";
import { HOURS_PER_YEAR, projectSupply } from "./tokenomics.ts";

const base = { initialDemand: 10_000_000n * MESH_UNIT, demandGrowthBps: 2_500, feeBps: 500, burnShareBps: 5_000, years: 20 };

describe("projectSupply", () => {
  it("with no burn, supply is genesis plus the emission schedule, year by year", () => {
    const rows = projectSupply({ ...base, burnShareBps: 0 });
    expect(rows).toHaveLength(20);
    for (const row of rows) {
      expect(row.burned).toBe(0n);
      expect(row.cumulativeEmitted).toBe(cumulativeEmission(row.year * HOURS_PER_YEAR));
      expect(row.supply).toBe(GENESIS_SUPPLY + row.cumulativeEmitted);
    }
    // Year 1 emits ≈37.7M MESH (8 %/yr of genesis at the start, decaying within the year), and 20
    // years (175,200 hours) reach all but the last 119 hours of the 300M cap (hour 175,319).
    expect(Number(rows[0]!.emitted / MESH_UNIT)).toBeGreaterThan(37_000_000);
    expect(Number(rows[0]!.emitted / MESH_UNIT)).toBeLessThan(40_000_000);
    expect(rows[19]!.cumulativeEmitted).toBe(cumulativeEmission(175_200));
    expect(EMISSION_CAP - rows[19]!.cumulativeEmitted).toBeLessThan(50_000n * MESH_UNIT);
    expect(projectSupply({ ...base, years: 21 })[20]!.cumulativeEmitted).toBe(EMISSION_CAP);
  });

  it("burns fee × burn share of demand, demand compounding yearly", () => {
    const rows = projectSupply(base);
    // Year 1: 10M MESH × 5 % fee × 50 % burned = 250,000 MESH.
    expect(rows[0]!.burned).toBe(250_000n * MESH_UNIT);
    expect(rows[1]!.demand).toBe(12_500_000n * MESH_UNIT);
    expect(rows[1]!.burned).toBe(312_500n * MESH_UNIT);
    for (const row of rows) expect(row.supply).toBe(GENESIS_SUPPLY + row.cumulativeEmitted - row.cumulativeBurned);
    expect(rows[19]!.supply).toBeLessThan(projectSupply({ ...base, burnShareBps: 0 })[19]!.supply);
  });

  it("high demand turns supply deflationary once burns outrun the decaying emission, never below zero", () => {
    const rows = projectSupply({ ...base, initialDemand: 20_000_000n * MESH_UNIT, demandGrowthBps: 10_000, feeBps: 10_000, burnShareBps: 10_000 });
    // Year 1 burns 20M of ≈37.7M emitted (supply grows); year 2 burns 40M, more than it emits.
    expect(rows[0]!.supply).toBeGreaterThan(GENESIS_SUPPLY);
    expect(rows[1]!.supply).toBeLessThan(rows[0]!.supply);
    expect(rows.at(-1)!.supply).toBe(0n);
    for (const row of rows) expect(row.supply).toBeGreaterThanOrEqual(0n);
  });

  it("refuses settings outside their ranges", () => {
    expect(() => projectSupply({ ...base, feeBps: 10_001 })).toThrow(/feeBps/);
    expect(() => projectSupply({ ...base, burnShareBps: -1 })).toThrow(/burnShareBps/);
    expect(() => projectSupply({ ...base, years: 0 })).toThrow(/years/);
    expect(() => projectSupply({ ...base, initialDemand: -1n })).toThrow(/initialDemand/);
  });
});
