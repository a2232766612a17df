import { describe, expect, it } from "vitest";
import { PlacementIndex } from "./placement-index.ts";
import { naivePlace } from "./naive.ts";
import { deviceMix } from "./select.ts";
import { device, request } from "./testing.ts";
import type { PlacementDevice, PlacementFailure, PlacementResult, PlacementSuccess } from "./types.ts";
import type { ClusterRequest } from "../schemas/cluster.ts";

function indexOf(devices: PlacementDevice[], config: { minVerificationScoreBps?: number } = {}): PlacementIndex {
  const index = new PlacementIndex(config);
  for (const d of devices) index.upsert(d);
  return index;
}

/** Places with the index and checks the naive matcher agrees exactly. */
function place(index: PlacementIndex, req: ClusterRequest, seed?: string): PlacementResult {
  const result = index.place(req, { seed });
  expect(naivePlace(index.states(), req, { seed }, index.config)).toEqual(result);
  return result;
}

function ok(result: PlacementResult): PlacementSuccess {
  if (!result.ok) throw new Error(`expected a placement, got: ${result.reason.constraint}: ${result.reason.message}`);
  return result;
}

function failed(result: PlacementResult): PlacementFailure["reason"] {
  if (result.ok) throw new Error(`expected no placement, got ${result.devices.map((d) => d.id).join(", ")}`);
  return result.reason;
}

const ids = (result: PlacementResult): string[] => ok(result).devices.map((d) => d.id);

describe("constraints", () => {
  it("places the cheapest device that fits exactly", () => {
    const cheap = device({ pricePerGpuHour: 1_800_000n });
    const index = indexOf([device(), cheap, device({ pricePerGpuHour: 2_500_000n })]);
    const result = ok(place(index, request()));
    expect(result.devices.map((d) => d.id)).toEqual([cheap.id]);
    expect(result.gpuCount).toBe(8);
    expect(result.pricePerHourTotal).toBe(8n * 1_800_000n);
    expect(result.scope).toBe("site");
  });

  const cases: { name: string; excluded: Partial<PlacementDevice>; req?: Parameters<typeof request>[0]; constraint: string }[] = [
    { name: "GPU model", excluded: { gpuModelId: "a100-80gb" }, constraint: "gpuModel" },
    { name: "region", excluded: { region: "eu-west" }, constraint: "region" },
    { name: "runtime", excluded: { runsImages: false }, req: { workload: { image: "ghcr.io/acme/train:1" } }, constraint: "runtime" },
    { name: "VRAM", excluded: { vramGb: 40 }, req: { minVramGb: 48 }, constraint: "vram" },
    { name: "connectivity", excluded: { connectivityTier: "HIGH" }, req: { connectivityTier: "ULTRA_HIGH" }, constraint: "connectivity" },
    { name: "compliance", excluded: { securityTier: "ENCRYPTED" }, req: { complianceOnly: true }, constraint: "security" },
    { name: "encryption", excluded: { securityTier: "STANDARD" }, req: { encryptedTraffic: true }, constraint: "security" },
    { name: "supplier network", excluded: { network: "RENDER" }, req: { supplierNetworks: ["GPUMESH", "AETHIR"] }, constraint: "network" },
    { name: "price", excluded: { pricePerGpuHour: 2_000_001n }, req: { maxPricePerGpuHour: 2_000_000n }, constraint: "price" },
  ];
  for (const { name, excluded, req, constraint } of cases) {
    it(`${name}: excludes the device that fails it, keeps the one that passes`, () => {
      const bad = device({ ...excluded, pricePerGpuHour: excluded.pricePerGpuHour ?? 1_000_000n });
      const good = device({ pricePerGpuHour: 2_000_000n });
      expect(ids(place(indexOf([bad, good]), request(req)))).toEqual([good.id]);
      expect(failed(place(indexOf([bad]), request(req))).constraint).toBe(constraint);
    });
  }

  it("a cluster with a workload goes only to devices that run images; one without uses any device", () => {
    const processRuntime = device({ runsImages: false, pricePerGpuHour: 1_000_000n });
    const docker = device({ runsImages: true, pricePerGpuHour: 3_000_000n });
    const index = indexOf([processRuntime, docker]);
    const withImage = request({ workload: { image: "ghcr.io/acme/train:1", ports: [8888] } });
    expect(ids(place(index, withImage))).toEqual([docker.id]);
    expect(ids(place(index, request()))).toEqual([processRuntime.id]);
    index.reserve([docker.id]);
    const reason = failed(place(index, withImage));
    expect(reason.constraint).toBe("runtime");
    expect(reason.message).toBe("no free H100 80GB GPUs in us-east on devices that run container images");
    // Still placeable without an image.
    expect(ids(place(index, request()))).toEqual([processRuntime.id]);
  });

  it("an agent that reconnects with another runtime moves its device between sub-buckets", () => {
    const d = device({ runsImages: false });
    const index = indexOf([d]);
    const withImage = request({ workload: { image: "pytorch/pytorch:latest" } });
    expect(failed(place(index, withImage)).constraint).toBe("runtime");
    index.upsert({ ...d, runsImages: true });
    expect(ids(place(index, withImage))).toEqual([d.id]);
    expect(index.freeGpus("h100-80gb", "us-east")).toBe(8);
    index.upsert({ ...d, runsImages: false });
    expect(failed(place(index, withImage)).constraint).toBe("runtime");
  });

  it("co-locates a cluster with a workload only among a site's devices that run images", () => {
    // One big site whose devices mostly run the process runtime, and two image-capable devices
    // elsewhere: the site cannot host the cluster alone, so the placement spreads.
    const site = (runsImages: boolean) => device({ supplierId: "dc", siteKey: "dc:Ashburn", runsImages, pricePerGpuHour: 1_000_000n });
    const dc = [site(true), site(false), site(false)];
    const others = [device({ pricePerGpuHour: 2_000_000n }), device({ pricePerGpuHour: 2_000_000n })];
    const index = indexOf([...dc, ...others]);
    const result = ok(place(index, request({ gpuCount: 16, workload: { image: "ghcr.io/acme/train:1" } })));
    expect(result.devices.every((d) => d.runsImages)).toBe(true);
    expect(result.devices.map((d) => d.id)).toContain(dc[0]!.id);
    expect(ok(place(index, request({ gpuCount: 24 }))).scope).toBe("site");
  });

  it("accepts better tiers than requested (encrypted request on compliance device, standard on ultra)", () => {
    const d = device({ securityTier: "COMPLIANCE", connectivityTier: "ULTRA_HIGH" });
    expect(ids(place(indexOf([d]), request({ encryptedTraffic: true, connectivityTier: "HIGH" })))).toEqual([d.id]);
  });

  it("accepts any of the requested models and regions", () => {
    const a = device({ gpuModelId: "a100-80gb", region: "eu-west" });
    const result = place(indexOf([a]), request({ gpuModelIds: ["h100-80gb", "a100-80gb"], regions: ["us-east", "eu-west"] }));
    expect(ids(result)).toEqual([a.id]);
  });

  it("never places offline, reserved, under-verified or CPU-only devices", () => {
    const offline = device({ pricePerGpuHour: 1n });
    const reserved = device({ pricePerGpuHour: 2n });
    const unverified = device({ pricePerGpuHour: 3n, verificationScoreBps: 4_999 });
    const cpu = device({ pricePerGpuHour: 4n, gpuModelId: null, gpuCount: 0 });
    const good = device();
    const index = indexOf([offline, reserved, unverified, cpu, good], { minVerificationScoreBps: 5_000 });
    index.heartbeat(offline.id, false);
    index.reserve([reserved.id]);
    expect(ids(place(index, request()))).toEqual([good.id]);
    index.remove(good.id);
    expect(failed(place(index, request())).constraint).toBe("gpuModel");
  });

  it("devices are leased whole: the GPUs sum to exactly the request, never more", () => {
    const eight = device({ gpuCount: 8, pricePerGpuHour: 1_000_000n });
    const two = device({ gpuCount: 2 });
    const one = device({ gpuCount: 1 });
    const index = indexOf([eight, two, one]);
    expect(ids(place(index, request({ gpuCount: 3 }))).sort()).toEqual([two.id, one.id].sort());
    const reason = failed(place(index, request({ gpuCount: 4 })));
    expect(reason.constraint).toBe("capacity");
    expect(reason.message).toBe(
      "11 H100 80GB GPUs matching the request are free in us-east, but no set of whole devices adds up to exactly 4 GPUs (devices are leased whole)",
    );
  });
});

describe("infeasible requests explain themselves", () => {
  it("names the region and what is free elsewhere", () => {
    const index = indexOf([
      ...Array.from({ length: 5 }, () => device({ region: "us-east" })),
      device({ region: "ap-south" }),
      device({ region: "eu-west", gpuModelId: "a100-80gb" }),
    ]);
    const reason = failed(place(index, request({ regions: ["eu-west"] })));
    expect(reason.constraint).toBe("region");
    expect(reason.message).toBe("no free H100 80GB GPUs in eu-west (elsewhere: 40 in us-east, 8 in ap-south)");
    expect(reason.alternatives).toEqual([
      { gpuModelId: "h100-80gb", region: "us-east", freeGpus: 40 },
      { gpuModelId: "h100-80gb", region: "ap-south", freeGpus: 8 },
    ]);
  });

  it("says how many are free when there are too few", () => {
    const index = indexOf([
      device({ region: "eu-west", gpuCount: 8 }),
      device({ region: "eu-west", gpuCount: 4 }),
      ...Array.from({ length: 5 }, () => device({ region: "us-east" })),
    ]);
    const reason = failed(place(index, request({ regions: ["eu-west"], gpuCount: 64 })));
    expect(reason.constraint).toBe("capacity");
    expect(reason.message).toBe("only 12 H100 80GB GPUs matching the request are free in eu-west, 64 requested (elsewhere: 40 in us-east)");
  });

  it("names the runtime before the finer filters, and what runs images elsewhere", () => {
    const index = indexOf([device({ runsImages: false, vramGb: 40 }), device({ region: "eu-west" })]);
    const reason = failed(place(index, request({ minVramGb: 80, workload: { image: "ghcr.io/acme/train:1" } })));
    expect(reason.constraint).toBe("runtime");
    expect(reason.message).toBe("no free H100 80GB GPUs in us-east on devices that run container images (elsewhere: 8 in eu-west)");
  });

  it("names the first constraint in order that empties the candidates", () => {
    // Fails VRAM, network and price: VRAM comes first.
    const index = indexOf([device({ vramGb: 40, network: "RENDER", pricePerGpuHour: 9_000_000n })]);
    const reason = failed(place(index, request({ minVramGb: 80, maxPricePerGpuHour: 1_000_000n })));
    expect(reason.constraint).toBe("vram");
    expect(reason.message).toBe("no free H100 80GB GPUs in us-east with at least 80 GB of VRAM per GPU");
  });

  it("connectivity failure names the tier and its measured minimums; a lower tier is served by a higher one", () => {
    const index = indexOf([device({ connectivityTier: "MEDIUM" })]);
    const reason = failed(place(index, request({ connectivityTier: "HIGH" })));
    expect(reason.constraint).toBe("connectivity");
    expect(reason.message).toBe("no free H100 80GB GPUs in us-east with high (≥ 800 / 600 MB/s) connectivity or better");
    expect(place(index, request({ connectivityTier: "MEDIUM" })).ok).toBe(true);
    expect(place(index, request({ connectivityTier: "LOW" })).ok).toBe(true);
  });

  it("price failure quotes the cap", () => {
    const index = indexOf([device({ pricePerGpuHour: 2_500_000n })]);
    const reason = failed(place(index, request({ maxPricePerGpuHour: 2_190_000n })));
    expect(reason.constraint).toBe("price");
    expect(reason.message).toBe("no free H100 80GB GPUs in us-east at or below 2.19 USDC per GPU-hour");
  });

  it("unknown-to-the-network model lists what the regions do have", () => {
    const index = indexOf([device({ gpuModelId: "rtx-4090", gpuCount: 2 })]);
    const reason = failed(place(index, request()));
    expect(reason.constraint).toBe("gpuModel");
    expect(reason.message).toBe("no free H100 80GB GPUs on the network (free in the requested regions: 2 RTX 4090 in us-east)");
  });
});

describe("scoring and co-location", () => {
  it("prefers fewer, larger devices to cheaper fragments", () => {
    const big = device({ gpuCount: 8, pricePerGpuHour: 2_500_000n });
    const small = Array.from({ length: 8 }, () => device({ gpuCount: 1, pricePerGpuHour: 1_000_000n }));
    expect(ids(place(indexOf([big, ...small]), request()))).toEqual([big.id]);
  });

  it("prefers one region over a cheaper spread across regions", () => {
    const east = [device({ region: "us-east", pricePerGpuHour: 3_000_000n }), device({ region: "us-east", pricePerGpuHour: 3_000_000n })];
    const west = device({ region: "us-west", pricePerGpuHour: 1_000_000n });
    const result = ok(place(indexOf([...east, west]), request({ gpuCount: 16, regions: ["us-east", "us-west"] })));
    expect(result.devices.map((d) => d.region)).toEqual(["us-east", "us-east"]);
    expect(result.score.regions).toBe(1);
  });

  it("spreads across regions only when no single region can host the cluster", () => {
    const index = indexOf([device({ region: "us-east" }), device({ region: "us-west" })]);
    const result = ok(place(index, request({ gpuCount: 16, regions: ["us-east", "us-west"] })));
    expect(result.scope).toBe("multi-region");
    expect(result.score.regions).toBe(2);
  });

  it("prefers a single site over cheaper devices from several suppliers", () => {
    const cheapA = device({ pricePerGpuHour: 1_000_000n });
    const cheapB = device({ pricePerGpuHour: 1_000_000n });
    const siteA = device({ supplierId: "dc", siteKey: "dc:Ashburn", pricePerGpuHour: 2_000_000n });
    const siteB = device({ supplierId: "dc", siteKey: "dc:Ashburn", pricePerGpuHour: 2_000_000n });
    const result = ok(place(indexOf([cheapA, cheapB, siteA, siteB]), request({ gpuCount: 16 })));
    expect(result.devices.map((d) => d.id).sort()).toEqual([siteA.id, siteB.id].sort());
    expect(result.scope).toBe("site");
    expect(result.score.sites).toBe(1);
  });

  it("within the same shape, cheaper wins, then higher verification, then higher uptime", () => {
    const a = device({ pricePerGpuHour: 2_000_000n, verificationScoreBps: 9_000, uptimeBps: 9_000 });
    const b = device({ pricePerGpuHour: 2_000_000n, verificationScoreBps: 9_500, uptimeBps: 9_000 });
    const c = device({ pricePerGpuHour: 2_000_000n, verificationScoreBps: 9_500, uptimeBps: 9_100 });
    const d = device({ pricePerGpuHour: 1_999_999n, verificationScoreBps: 6_000, uptimeBps: 5_000 });
    const index = indexOf([a, b, c, d]);
    expect(ids(place(index, request()))).toEqual([d.id]);
    index.remove(d.id);
    expect(ids(place(index, request()))).toEqual([c.id]);
    index.remove(c.id);
    expect(ids(place(index, request()))).toEqual([b.id]);
  });
});

describe("ties and fairness", () => {
  const tied = (supplier: string) => device({ supplierId: supplier, siteKey: `${supplier}:Ashburn` });

  it("same state and seed give the same placement, whatever the insertion order", () => {
    const devices = Array.from({ length: 20 }, (_, i) => tied(`s${i % 7}`));
    const forward = indexOf(devices);
    const backward = indexOf([...devices].reverse());
    for (const seed of ["a", "b", "cluster-42"]) {
      expect(ids(place(forward, request(), seed))).toEqual(ids(place(backward, request(), seed)));
      expect(ids(place(forward, request(), seed))).toEqual(ids(place(forward, request(), seed)));
    }
  });

  it("rotates among equally good suppliers as the seed changes", () => {
    const suppliers = ["alpha", "bravo", "charlie", "delta", "echo"];
    const index = indexOf(suppliers.flatMap((s) => [tied(s), tied(s)]));
    const winners = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const winner = ok(index.place(request(), { seed: `cluster-${i}` })).devices[0]!.supplierId;
      winners.set(winner, (winners.get(winner) ?? 0) + 1);
    }
    expect([...winners.keys()].sort()).toEqual(suppliers);
    for (const count of winners.values()) expect(count).toBeGreaterThan(10);
  });

  it("keeps one supplier's tied devices together for a multi-device cluster", () => {
    const index = indexOf(["x", "y", "z"].flatMap((s) => [tied(s), tied(s), tied(s)]));
    for (const seed of ["1", "2", "3", "4"]) {
      const result = ok(place(index, request({ gpuCount: 16 }), seed));
      expect(new Set(result.devices.map((d) => d.supplierId)).size).toBe(1);
    }
  });
});

describe("incremental index", () => {
  it("reserve, release, heartbeat, price change and removal update placements and counters", () => {
    const a = device({ pricePerGpuHour: 1_000_000n });
    const b = device({ pricePerGpuHour: 2_000_000n });
    const index = indexOf([a, b]);
    expect(index.freeGpus("h100-80gb", "us-east")).toBe(16);
    expect(ids(place(index, request()))).toEqual([a.id]);

    index.reserve([a.id]);
    expect(index.freeGpus("h100-80gb", "us-east")).toBe(8);
    expect(ids(place(index, request()))).toEqual([b.id]);
    expect(() => index.reserve([b.id, a.id])).toThrow(/already reserved/);
    expect(index.state(b.id)?.reserved).toBe(false); // all or nothing

    index.heartbeat(b.id, false);
    expect(failed(place(index, request())).constraint).toBe("gpuModel");
    index.heartbeat(b.id, true);
    index.release([a.id]);
    expect(ids(place(index, request()))).toEqual([a.id]);

    index.upsert({ ...a, pricePerGpuHour: 3_000_000n });
    expect(ids(place(index, request()))).toEqual([b.id]);
    index.reserve([b.id]);
    index.upsert({ ...b, region: "eu-west" }); // moves, stays reserved
    expect(index.state(b.id)?.reserved).toBe(true);
    expect(ids(place(index, request()))).toEqual([a.id]);
    index.remove(a.id);
    expect(index.freeGpus("h100-80gb", "us-east")).toBe(0);
    index.release([b.id]);
    expect(index.freeGpus("h100-80gb", "eu-west")).toBe(8);
  });
});

describe("bulk load", () => {
  it("gives the same placements as one-by-one upserts, and the index keeps working after it", () => {
    const devices = Array.from({ length: 1_500 }, (_, i) =>
      device({ supplierId: `s${i % 37}`, siteKey: `s${i % 37}:Ashburn`, gpuCount: [1, 2, 4, 8][i % 4], pricePerGpuHour: BigInt(1_000_000 + (i % 13) * 10_000) }),
    );
    const loaded = new PlacementIndex();
    loaded.load(devices);
    const upserted = indexOf(devices);
    expect(() => loaded.load([device()])).toThrow(/empty index/);
    for (const gpus of [1, 3, 8, 16, 64, 200]) {
      const req = request({ gpuCount: gpus });
      expect(place(loaded, req, `seed-${gpus}`)).toEqual(upserted.place(req, { seed: `seed-${gpus}` }));
    }
    const first = ok(place(loaded, request({ gpuCount: 64 })));
    loaded.reserve(first.devices.map((d) => d.id));
    expect(ids(place(loaded, request({ gpuCount: 64 })))).not.toEqual(first.devices.map((d) => d.id));
  });
});

describe("deviceMix", () => {
  const avail = (counts: Record<number, number>) => Array.from({ length: 17 }, (_, k) => counts[k] ?? 0);
  it("finds the fewest devices, preferring large ones", () => {
    expect(deviceMix(avail({ 8: 10, 1: 10 }), 16)?.[8]).toBe(2);
    const mix = deviceMix(avail({ 8: 1, 5: 2, 1: 2 }), 10)!;
    expect(mix[5]).toBe(2); // 5+5 beats 8+1+1
    expect(mix[8]).toBe(0);
  });
  it("returns null when no exact sum exists", () => {
    expect(deviceMix(avail({ 8: 3 }), 12)).toBeNull();
    expect(deviceMix(avail({ 2: 10 }), 7)).toBeNull();
  });
});
