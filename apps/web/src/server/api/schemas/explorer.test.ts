import { describe, expect, it } from "vitest";
import { CapacityQuery } from "./explorer.ts";

describe("GET /api/v1/capacity query", () => {
  it("takes a connectivity tier filter of io.net's tiers above LOW, or * for any (the default)", () => {
    expect(CapacityQuery.parse({}).tier).toBe("*");
    for (const tier of ["MEDIUM", "HIGH", "ULTRA_HIGH"]) expect(CapacityQuery.parse({ tier }).tier).toBe(tier);
  });

  it("refuses the old tier names, and LOW (every device: *), naming the accepted values", () => {
    for (const tier of ["HIGH_SPEED", "ULTRA_HIGH_SPEED", "STANDARD", "LOW"]) {
      const parsed = CapacityQuery.safeParse({ tier });
      expect(parsed.success, tier).toBe(false);
      expect(parsed.error?.issues[0]).toMatchObject({ path: ["tier"], message: "must be *, MEDIUM, HIGH or ULTRA_HIGH" });
    }
  });
});
