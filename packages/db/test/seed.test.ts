import { GPU_MODELS, REGIONS } from "@gpumesh/core";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, networkSummary, seedSimulatedNetwork, type Db } from "../src/index.ts";

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase("seed");
  db = createDb(database.url);
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

describe("simulated network seed", () => {
  it("seeds ≥300 devices from ≥40 suppliers in ≥10 regions on ≥4 continents with the full GPU mix, once", async () => {
    expect(await seedSimulatedNetwork(db)).toBe(true);
    expect(await seedSimulatedNetwork(db)).toBe(false); // second run keeps existing data
    const summary = await networkSummary(db);
    expect(summary.devices.total).toBeGreaterThanOrEqual(300);
    expect(summary.suppliers).toBeGreaterThanOrEqual(40);
    expect(summary.byRegion.length).toBeGreaterThanOrEqual(10);
    const continents = new Set(summary.byRegion.map((r) => REGIONS.find((region) => region.id === r.region)!.continent));
    expect(continents.size).toBeGreaterThanOrEqual(4);
    // The dev mix is the models with a seed share; the catalogue table holds every model.
    expect(summary.byModel.map((m) => m.gpuModelId).sort()).toEqual(GPU_MODELS.filter((m) => m.seedShare > 0).map((m) => m.id).sort());
    expect(await db.gpuModel.count()).toBe(GPU_MODELS.length);
    expect(summary.devices.online).toBeGreaterThan(summary.devices.total * 0.7);
    expect(summary.devices.online).toBeLessThan(summary.devices.total);
  });

  it("prices every device plausibly around the model's reference price", async () => {
    const devices = await db.device.findMany({ include: { gpuModel: true } });
    for (const device of devices) {
      const reference = device.gpuModel!.referencePricePerHour;
      expect(device.pricePerGpuHour).toBeGreaterThanOrEqual((reference * 70n) / 100n);
      expect(device.pricePerGpuHour).toBeLessThanOrEqual((reference * 130n) / 100n);
      if (device.gpuModel!.hyperscalerPricePerHour) expect(device.pricePerGpuHour).toBeLessThan(device.gpuModel!.hyperscalerPricePerHour);
    }
  });
});
