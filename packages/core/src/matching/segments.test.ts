import { describe, expect, it } from "vitest";
import { freeFor, segmentServes, type FreeSegment, type SegmentFilter } from "./segments.ts";

const any: SegmentFilter = { connectivityTier: "LOW", encryptedTraffic: false, complianceOnly: false, supplierNetworks: ["GPUMESH", "RENDER", "FILECOIN", "AETHIR"], needsImages: false };
const segment = (extra: Partial<FreeSegment>): FreeSegment => ({ connectivityTier: "MEDIUM", securityTier: "STANDARD", network: "GPUMESH", runsImages: true, freeGpus: 8, pricePerGpuHour: 2_000_000n, ...extra });

describe("free segments of a market", () => {
  it("serve a request by the matcher's rules: tier and security at least, network chosen, images only where they run", () => {
    expect(segmentServes(segment({}), any)).toBe(true);
    expect(segmentServes(segment({ connectivityTier: "MEDIUM" }), { ...any, connectivityTier: "HIGH" })).toBe(false);
    expect(segmentServes(segment({ connectivityTier: "ULTRA_HIGH" }), { ...any, connectivityTier: "HIGH" })).toBe(true);
    expect(segmentServes(segment({ securityTier: "STANDARD" }), { ...any, encryptedTraffic: true })).toBe(false);
    expect(segmentServes(segment({ securityTier: "COMPLIANCE" }), { ...any, encryptedTraffic: true })).toBe(true);
    expect(segmentServes(segment({ securityTier: "ENCRYPTED" }), { ...any, complianceOnly: true })).toBe(false);
    expect(segmentServes(segment({ network: "RENDER" }), { ...any, supplierNetworks: ["GPUMESH"] })).toBe(false);
    expect(segmentServes(segment({ runsImages: false }), { ...any, needsImages: true })).toBe(false);
    expect(segmentServes(segment({ runsImages: false }), any)).toBe(true);
  });

  it("count the GPUs that serve and take the cheapest price among them, in bigints or wire strings", () => {
    const segments = [segment({ pricePerGpuHour: 3_000_000n }), segment({ runsImages: false, freeGpus: 16, pricePerGpuHour: 1_000_000n }), segment({ network: "AETHIR", freeGpus: 1, pricePerGpuHour: 900_000n })];
    expect(freeFor(segments, any)).toEqual({ freeGpus: 25, pricePerGpuHour: 900_000n });
    expect(freeFor(segments, { ...any, needsImages: true, supplierNetworks: ["GPUMESH"] })).toEqual({ freeGpus: 8, pricePerGpuHour: 3_000_000n });
    expect(freeFor(segments, { ...any, complianceOnly: true })).toEqual({ freeGpus: 0, pricePerGpuHour: null });
    const wire = segments.map((s) => ({ ...s, pricePerGpuHour: s.pricePerGpuHour.toString() }));
    // Compared as numbers, not as text ("900000" sorts after "3000000").
    expect(freeFor(wire, any)).toEqual({ freeGpus: 25, pricePerGpuHour: "900000" });
  });
});
