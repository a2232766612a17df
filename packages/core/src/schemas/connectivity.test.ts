import { describe, expect, it } from "vitest";
import { simulateNetwork } from "../simulation.ts";
import { CONNECTIVITY_TIER_RANK, CONNECTIVITY_TIERS, ConnectivityTier, connectivityTierFor, connectivityTierSpec, megabytesPerSecond } from "./enums.ts";

const tierOf = (bandwidthDownMbps: number, bandwidthUpMbps: number) => connectivityTierFor({ bandwidthDownMbps, bandwidthUpMbps });

describe("connectivity tiers", () => {
  it("are io.net's four, lowest first, with their download/upload minimums in MB/s", () => {
    expect(CONNECTIVITY_TIERS.map((t) => [t.tier, t.minDownMBps, t.minUpMBps])).toEqual([
      ["LOW", 100, 10],
      ["MEDIUM", 400, 300],
      ["HIGH", 800, 600],
      ["ULTRA_HIGH", 1_600, 1_200],
    ]);
    expect(CONNECTIVITY_TIERS.map((t) => t.tier)).toEqual(ConnectivityTier.options);
    for (const spec of CONNECTIVITY_TIERS) expect(connectivityTierSpec(spec.tier)).toBe(spec);
    expect(ConnectivityTier.options.map((tier) => CONNECTIVITY_TIER_RANK[tier])).toEqual([0, 1, 2, 3]);
  });

  it("labels and explains each tier with its figures", () => {
    expect(CONNECTIVITY_TIERS.map((t) => t.label)).toEqual(["Low (any link)", "Medium (≥ 400 / 300 MB/s)", "High (≥ 800 / 600 MB/s)", "Ultra-high (≥ 1,600 / 1,200 MB/s)"]);
    expect(connectivityTierSpec("LOW").explanation).toMatch(/^Every device; most reach 100\/10 MB\/s/);
    expect(connectivityTierSpec("ULTRA_HIGH").explanation).toContain("1,600 MB/s download and 1,200 MB/s upload");
  });

  // Measured in megabits per second; a tier's minimum X MB/s is X × 8 Mbps.
  const boundaries: { tier: ConnectivityTier; below: ConnectivityTier; downMbps: number; upMbps: number }[] = [
    { tier: "MEDIUM", below: "LOW", downMbps: 3_200, upMbps: 2_400 },
    { tier: "HIGH", below: "MEDIUM", downMbps: 6_400, upMbps: 4_800 },
    { tier: "ULTRA_HIGH", below: "HIGH", downMbps: 12_800, upMbps: 9_600 },
  ];
  for (const { tier, below, downMbps, upMbps } of boundaries) {
    it(`${tier}: exactly at ${downMbps}/${upMbps} Mbps is in it; 1 Mbps short on download or on upload is not`, () => {
      expect(tierOf(downMbps, upMbps)).toBe(tier);
      expect(tierOf(downMbps - 1, upMbps)).toBe(below); // download-limited
      expect(tierOf(downMbps, upMbps - 1)).toBe(below); // upload-limited
      // A huge download does not make up for a short upload, nor the other way round.
      expect(tierOf(1_000_000, upMbps - 1)).toBe(below);
      expect(tierOf(downMbps - 1, 1_000_000)).toBe(below);
    });
  }

  it("shows a measured Mbps figure in whole MB/s, rounded down", () => {
    expect([megabytesPerSecond(3_199), megabytesPerSecond(3_200), megabytesPerSecond(9_600), megabytesPerSecond(12_807)]).toEqual([399, 400, 1_200, 1_600]);
  });

  it("LOW is the floor: a link below 100/10 MB/s is still LOW, as is one at it", () => {
    expect(tierOf(800, 80)).toBe("LOW");
    expect(tierOf(799, 80)).toBe("LOW");
    expect(tierOf(800, 79)).toBe("LOW");
    expect(tierOf(10, 10)).toBe("LOW");
    expect(tierOf(0, 0)).toBe("LOW");
  });

  it("an asymmetric link is classed by the tier both directions reach", () => {
    // 2.5 Gbps down, 10 Gbps up: download holds it to LOW (3,200 Mbps needed for MEDIUM).
    expect(tierOf(2_500, 10_000)).toBe("LOW");
    // 10 Gbps down, 5 Gbps up: upload reaches HIGH's 4,800, download HIGH's 6,400 but not ULTRA_HIGH's 12,800.
    expect(tierOf(10_000, 5_000)).toBe("HIGH");
    // 100 Gbps down, 3 Gbps up: MEDIUM (upload 2,400 ≤ 3,000 < 4,800).
    expect(tierOf(100_000, 3_000)).toBe("MEDIUM");
  });

  it("the simulated fleet (pnpm dev's seed) has devices in all four tiers, each classed from its measured link", () => {
    const { devices } = simulateNetwork({ suppliers: 48, devices: 360 });
    const counts = new Map<ConnectivityTier, number>();
    for (const d of devices) {
      expect(d.connectivityTier).toBe(tierOf(d.bandwidthDownMbps, d.bandwidthUpMbps));
      counts.set(d.connectivityTier, (counts.get(d.connectivityTier) ?? 0) + 1);
    }
    for (const tier of ConnectivityTier.options) expect(counts.get(tier) ?? 0, tier).toBeGreaterThan(0);
  });
});
