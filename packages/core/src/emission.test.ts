import { describe, expect, it } from "vitest";
import { cumulativeEmission, EMISSION_CAP, EMISSION_END_HOUR, emissionHour, hourlyEmission, MESH_UNIT } from "./emission.ts";

const mesh = (units: bigint) => Number(units) / Number(MESH_UNIT);

describe("MESH emission schedule", () => {
  it("emits ≈4,566.21 MESH in hour 1 and ≈4,566.15 in hour 2 (DESIGN.md)", () => {
    expect(mesh(hourlyEmission(1))).toBeCloseTo(4_566.21, 2);
    expect(mesh(hourlyEmission(2))).toBeCloseTo(4_566.15, 2);
    expect(hourlyEmission(2)).toBeLessThan(hourlyEmission(1));
  });

  it("matches the real-valued closed form to within a base unit per hour of rounding", () => {
    const d = 1.38869523959793e-5;
    const closedForm = (n: number) => (500_000_000 * (0.08 / 8760) * (1 - Math.pow(1 - d, n))) / d;
    for (const hours of [1, 24, 8_760, 100_000]) {
      expect(mesh(cumulativeEmission(hours))).toBeCloseTo(closedForm(hours), 0);
    }
  });

  it("reaches exactly 300,000,000 MESH at hour 175,319 and never more", () => {
    expect(cumulativeEmission(EMISSION_END_HOUR - 1)).toBeLessThan(EMISSION_CAP);
    expect(cumulativeEmission(EMISSION_END_HOUR)).toBe(EMISSION_CAP);
    expect(cumulativeEmission(10_000_000)).toBe(EMISSION_CAP);
    expect(hourlyEmission(EMISSION_END_HOUR + 1)).toBe(0n);
    expect(hourlyEmission(EMISSION_END_HOUR)).toBeGreaterThan(0n);
  });

  it("telescopes: the hourly amounts add up to the cumulative total", () => {
    let sum = 0n;
    for (let t = 1; t <= 500; t++) sum += hourlyEmission(t);
    expect(sum).toBe(cumulativeEmission(500));
  });

  it("counts completed hours from the emission start", () => {
    expect(emissionHour(1_000, 1_000)).toBe(0);
    expect(emissionHour(1_000 + 3_599, 1_000)).toBe(0);
    expect(emissionHour(1_000 + 3_600, 1_000)).toBe(1);
    expect(emissionHour(500, 1_000)).toBe(0);
  });
});
