import { describe, expect, it } from "vitest";
import { measuredLink } from "./format.ts";

describe("measuredLink", () => {
  it("shows the measured Mbps and the MB/s the connectivity tiers are stated in, rounded down", () => {
    expect(measuredLink({ bandwidthDownMbps: 12_800, bandwidthUpMbps: 9_599 })).toBe("12,800 Mbps down, 9,599 Mbps up (1,600 / 1,199 MB/s)");
    expect(measuredLink({ bandwidthDownMbps: 500, bandwidthUpMbps: 100 })).toBe("500 Mbps down, 100 Mbps up (62 / 12 MB/s)");
  });
});
