import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { ratePerGpuSecond, surgeBps, utilisationBps, type ClusterRequestInput } from "@gpumesh/core";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ZodError } from "zod";
import {
  availability,
  countDoubleBookings,
  createDb,
  createHeldQuote,
  DEFAULT_QUOTE_HOLD_MS,
  getQuote,
  LivePlacement,
  QUOTE_SUPERSEDED,
  releaseHeldQuote,
  startMatchingWithHolds,
  type Db,
  type HeldQuote,
  type HeldQuoteResult,
} from "../src/index.ts";
import { seedCatalogue } from "../src/seed.ts";

// Held quotes against real Postgres: a small hand-made network so every number is predictable.
let database: TestDatabase;
let db: Db;
let renterId: string;
const now = new Date(Date.UTC(2026, 11, 1, 12));
const rates = { feeBps: 500, burnBps: 5_000 };
const ids: Record<string, string> = {};

async function device(name: string, data: { supplierId: string; gpuModelId: string; gpuCount: number; region: string; city: string; ask: bigint; status?: "ONLINE" | "OFFLINE"; score?: number }) {
  const row = await db.device.create({
    data: {
      supplierId: data.supplierId, name, gpuModelId: data.gpuModelId, gpuCount: data.gpuCount, vramGb: data.gpuModelId === "rtx-4090" ? 24 : 80,
      cpuModel: "EPYC", cpuCores: 64, ramGb: 512, diskGb: 4096, region: data.region, country: "US", city: data.city,
      bandwidthUpMbps: 10_000, bandwidthDownMbps: 10_000, securityTier: "ENCRYPTED", connectivityTier: "HIGH",
      pricePerGpuHour: data.ask, status: data.status ?? "ONLINE", verificationScoreBps: data.score ?? 9_000, lastHeartbeatAt: now,
    },
    select: { id: true },
  });
  ids[name] = row.id;
}

beforeAll(async () => {
  database = await createTestDatabase("quotes");
  db = createDb(database.url, { max: 12 });
  await seedCatalogue(db);
  renterId = (await db.account.create({ data: { walletAddress: "RenterQuote11111111111111111111111111111111" } })).id;
  const supplier = async (name: string) => {
    const account = await db.account.create({ data: { walletAddress: `Supp${name}`.padEnd(43, "1") } });
    return (await db.supplier.create({ data: { accountId: account.id, name } })).id;
  };
  const dc = await supplier("Ashburn DC");
  const ams = await supplier("Amsterdam DC");
  const home = await supplier("Home rigs");
  // us-east: four 8×H100 servers in one site (asks 2.00–2.15 USDC), one offline, one barely verified.
  for (const [i, ask] of [2_000_000n, 2_050_000n, 2_100_000n, 2_150_000n].entries()) {
    await device(`h100-use-${i}`, { supplierId: dc, gpuModelId: "h100-80gb", gpuCount: 8, region: "us-east", city: "Ashburn", ask });
  }
  await device("h100-use-offline", { supplierId: dc, gpuModelId: "h100-80gb", gpuCount: 8, region: "us-east", city: "Ashburn", ask: 1_000_000n, status: "OFFLINE" });
  await device("h100-use-unverified", { supplierId: dc, gpuModelId: "h100-80gb", gpuCount: 8, region: "us-east", city: "Ashburn", ask: 1_000_000n, score: 1_000 });
  // eu-west: one 8×H100; us-east: two 8×A100 80GB; ap-south: three single RTX 4090 (no hyperscaler price).
  await device("h100-euw-0", { supplierId: ams, gpuModelId: "h100-80gb", gpuCount: 8, region: "eu-west", city: "Amsterdam", ask: 2_190_000n });
  await device("a100-use-0", { supplierId: dc, gpuModelId: "a100-80gb", gpuCount: 8, region: "us-east", city: "Ashburn", ask: 1_290_000n });
  await device("a100-use-1", { supplierId: dc, gpuModelId: "a100-80gb", gpuCount: 8, region: "us-east", city: "Ashburn", ask: 1_300_000n });
  for (let i = 0; i < 3; i++) await device(`4090-aps-${i}`, { supplierId: home, gpuModelId: "rtx-4090", gpuCount: 1, region: "ap-south", city: "Mumbai", ask: 340_000n });
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

// Every test starts from a free network: release whatever quotes the previous one left held.
afterEach(async () => {
  const held = await db.cluster.findMany({ where: { status: "REQUESTED" }, select: { id: true, renterId: true, paymentToken: true } });
  for (const c of held) await releaseHeldQuote(db, { clusterId: c.id, renterId: c.renterId, paymentToken: c.paymentToken }, { at: now, reason: "test cleanup" });
  await db.allocation.updateMany({ where: { status: "ACTIVE" }, data: { status: "RELEASED", releasedAt: now, releaseReason: "test cleanup" } });
  expect(await countDoubleBookings(db)).toBe(0);
});

const h100UsEast = (gpuCount: number, extra: Partial<ClusterRequestInput> = {}): ClusterRequestInput => ({
  name: "quote-test", type: "RAY", gpuModelIds: ["h100-80gb"], gpuCount, regions: ["us-east"], durationHours: 2, ...extra,
});

function expectHeld(result: HeldQuoteResult): HeldQuote {
  if (!result.ok) throw new Error(`expected a held quote, got: ${result.message}`);
  return result.quote;
}

describe("createHeldQuote", () => {
  it("matches, prices and holds the gang in one go: cluster REQUESTED with price and deposit, devices held until expiry", async () => {
    const quote = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100UsEast(16), now, rates }));
    // The two cheapest verified online servers of the site; the offline and the unverified one never.
    expect(quote.devices.map((d) => d.deviceId).sort()).toEqual([ids["h100-use-0"], ids["h100-use-1"]].sort());
    expect(quote.devices.every((d) => d.gpuModelId === "h100-80gb" && d.region === "us-east" && d.gpuCount === 8 && d.supplierId)).toBe(true);
    // Nothing busy (40 GPUs online incl. the unverified server): no surge; the dearer ask sets the rate.
    expect(quote.markets).toEqual([{ gpuModelId: "h100-80gb", region: "us-east", onlineGpus: 40, busyGpus: 0, utilisationBps: 0n, surgeBps: 0n }]);
    const b = quote.breakdown;
    expect(b.floorPerGpuHour).toBe(2_050_000n);
    expect(b.ratePerGpuSecond).toBe(570n); // ⌈2_050_000 / 3600⌉
    expect(b.pricePerGpuHour).toBe(2_052_000n);
    expect(b.pricePerSecond).toBe(570n * 16n);
    expect(b.total).toBe(570n * 16n * 7_200n);
    expect(b.fee).toBe(2n * ((570n * 8n * 7_200n * 500n) / 10_000n));
    expect(b.burn).toBe(0n);
    expect(b.hyperscaler?.pricePerGpuHour).toBe(12_290_000n);
    expect(quote.expiresAt.getTime()).toBe(now.getTime() + DEFAULT_QUOTE_HOLD_MS);

    const cluster = await db.cluster.findUniqueOrThrow({ where: { id: quote.clusterId }, include: { allocations: true, events: true } });
    expect(cluster).toMatchObject({ status: "REQUESTED", renterId, pricePerSecond: b.pricePerSecond, depositAmount: b.total, gpuCount: 16, durationHours: 2 });
    expect(cluster.quoteExpiresAt).toEqual(quote.expiresAt);
    expect(cluster.events.map((e) => [e.fromStatus, e.toStatus])).toEqual([[null, "REQUESTED"]]);
    expect(cluster.allocations).toHaveLength(2);
    for (const a of cluster.allocations) {
      expect(a.status).toBe("ACTIVE");
      expect(a.startsAt).toEqual(now);
      expect(a.endsAt.getTime()).toBe(now.getTime() + 2 * 3_600_000 + DEFAULT_QUOTE_HOLD_MS);
      expect(a.pricePerGpuHour).toBe(b.pricePerGpuHour);
    }
    // Read back as stored: the same breakdown, bigints intact.
    const view = await getQuote(db, quote.clusterId, now);
    expect(view).toMatchObject({ held: true, pricePerSecond: b.pricePerSecond, depositAmount: b.total, breakdown: b, devices: quote.devices });
    expect(view!.heldDeviceIds).toEqual(quote.devices.map((d) => d.deviceId).sort());
    expect((await getQuote(db, quote.clusterId, quote.expiresAt))!.held).toBe(false);
  });

  it("a held quote blocks the next one from its devices; what cannot fit comes back typed, with the nearest alternatives", async () => {
    const first = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100UsEast(16), now, rates }));
    const second = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100UsEast(16), now, rates }));
    expect(new Set([...first.devices, ...second.devices].map((d) => d.deviceId)).size).toBe(4);
    const third = await createHeldQuote(db, { accountId: renterId, request: h100UsEast(8), now, rates });
    expect(third.ok).toBe(false);
    if (third.ok) return;
    expect(third.constraint).toBe("region");
    expect(third.requested).toEqual([]);
    expect(third.otherRegions).toEqual([{ gpuModelId: "h100-80gb", region: "eu-west", freeGpus: 8 }]);
    expect(third.otherModels).toEqual([{ gpuModelId: "a100-80gb", region: "us-east", freeGpus: 16 }]);
    expect(third.message).toBe("no free H100 80GB GPUs matching the request in us-east; elsewhere: 8 H100 80GB in eu-west; other models in us-east: 16 A100 80GB in us-east");
    expect(await db.cluster.count({ where: { status: "REQUESTED" } })).toBe(2); // nothing written for the refused one

    // Too many for what is free: capacity, counting what is free where asked.
    await releaseHeldQuote(db, { clusterId: second.clusterId, renterId, paymentToken: "USDC" }, { at: now, reason: "renter cancelled" });
    const big = await createHeldQuote(db, { accountId: renterId, request: h100UsEast(24), now, rates });
    expect(big).toMatchObject({ ok: false, constraint: "capacity", requested: [{ gpuModelId: "h100-80gb", region: "us-east", freeGpus: 16 }] });
  });

  it("prices from utilisation: the busier the market, the higher the quote, never below the asks", async () => {
    const calm = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100UsEast(8), now, rates }));
    expect(calm.breakdown.surgeBps).toBe(0n);
    // 16 of 40 GPUs busy, then 24 of 40: 40 %, 60 % — below the threshold, still the floor.
    expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100UsEast(8), now, rates }));
    const third = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100UsEast(8), now, rates }));
    expect(third.markets[0]).toMatchObject({ onlineGpus: 40, busyGpus: 16, utilisationBps: 4_000n, surgeBps: 0n });
    // Another renter (the first one is at the cap): 24 of 40 busy → 60 %. Make two more GPUs' worth busy
    // by taking the unverified server out of "online" (offline): 24 of 32 = 75 % → surge ⌊5000·500/3000⌋.
    const other = (await db.account.create({ data: { walletAddress: "RenterQuote22222222222222222222222222222222" } })).id;
    await db.device.update({ where: { id: ids["h100-use-unverified"] }, data: { status: "OFFLINE" } });
    try {
      const hot = expectHeld(await createHeldQuote(db, { accountId: other, request: h100UsEast(8), now, rates }));
      expect(hot.markets[0]).toMatchObject({ onlineGpus: 32, busyGpus: 24, utilisationBps: 7_500n, surgeBps: 833n });
      const ask = hot.devices[0]!.askPerGpuHour;
      expect(ask).toBe(2_150_000n);
      expect(hot.breakdown.ratePerGpuSecond).toBe(ratePerGpuSecond((ask * 10_833n + 9_999n) / 10_000n));
      expect(hot.breakdown.pricePerGpuHour).toBeGreaterThan(calm.breakdown.pricePerGpuHour);
      expect(hot.breakdown.pricePerGpuHour).toBeGreaterThanOrEqual(ask);
    } finally {
      await db.device.update({ where: { id: ids["h100-use-unverified"] }, data: { status: "ONLINE" } });
    }
  });

  it("refuses a quote above the renter's cap after surge, and never lowers the price to fit it", async () => {
    const capped = await createHeldQuote(db, { accountId: renterId, request: h100UsEast(8, { maxPricePerGpuHour: 2_000_000n }), now, rates });
    // The 2.00 USDC server passes the matcher's cap on asks, but per-second rounding makes it 2.0016.
    expect(capped).toMatchObject({ ok: false, constraint: "price" });
    expect(await db.cluster.count({ where: { status: "REQUESTED" } })).toBe(0);
    const fits = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100UsEast(8, { maxPricePerGpuHour: 2_001_600n }), now, rates }));
    expect(fits.breakdown.pricePerGpuHour).toBe(2_001_600n);
  });

  it("MESH quotes: the same USD figure 1:1, with the burn shown as part of the fee", async () => {
    const usdc = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100UsEast(8), now, rates }));
    await releaseHeldQuote(db, { clusterId: usdc.clusterId, renterId, paymentToken: "USDC" }, { at: now, reason: "test" });
    const mesh = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100UsEast(8, { paymentToken: "MESH" }), now, rates }));
    expect(mesh.breakdown.total).toBe(usdc.breakdown.total);
    expect(mesh.breakdown.burn).toBe(mesh.breakdown.fee / 2n);
    expect(usdc.breakdown.burn).toBe(0n);
    expect((await db.cluster.findUniqueOrThrow({ where: { id: mesh.clusterId } })).paymentToken).toBe("MESH");
  });

  it("keeps at most 3 held quotes per account: a fourth releases the oldest; expired ones stop counting", async () => {
    const quotes: HeldQuote[] = [];
    for (let i = 0; i < 3; i++) quotes.push(expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100UsEast(8), now: new Date(now.getTime() + i), rates })));
    const fourth = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100UsEast(8), now: new Date(now.getTime() + 3), rates }));
    expect(fourth.superseded).toEqual([quotes[0]!.clusterId]);
    const oldest = await db.cluster.findUniqueOrThrow({ where: { id: quotes[0]!.clusterId }, include: { allocations: true, events: { orderBy: { id: "asc" } } } });
    expect(oldest.status).toBe("REFUNDED");
    expect(oldest.allocations.every((a) => a.status === "RELEASED" && a.releaseReason === QUOTE_SUPERSEDED)).toBe(true);
    expect(oldest.events.map((e) => e.toStatus)).toEqual(["REQUESTED", "FAILED", "REFUNDED"]);
    // The fourth took the last free server, then held it once the oldest was released.
    expect(await db.cluster.count({ where: { renterId, status: "REQUESTED" } })).toBe(3);

    // Past their expiry, quotes no longer count against the cap; the next quote frees their devices too.
    const later = new Date(now.getTime() + DEFAULT_QUOTE_HOLD_MS + 10);
    const fresh = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100UsEast(8), now: later, rates }));
    expect(fresh.superseded).toEqual([]);
    // (the sweep would have expired them; the cap only counts unexpired quotes)
    expect(await db.cluster.count({ where: { renterId, status: "REQUESTED", quoteExpiresAt: { gt: later } } })).toBe(1);
  });

  it("validates the request with the zod schema", async () => {
    await expect(createHeldQuote(db, { accountId: renterId, request: { ...h100UsEast(8), gpuCount: 0 }, now, rates })).rejects.toThrow(ZodError);
    await expect(createHeldQuote(db, { accountId: renterId, request: { ...h100UsEast(8), regions: ["mars-1"] }, now, rates })).rejects.toThrow(ZodError);
  });

  it("two concurrent quotes for the last 8 GPUs: exactly one holds them, the other is refused with alternatives", async () => {
    // Leave exactly one us-east H100 server free.
    expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100UsEast(24), now, rates }));
    const renters = await Promise.all([1, 2].map(async (i) => (await db.account.create({ data: { walletAddress: `RenterRace${i}`.padEnd(43, "1") } })).id));
    const results = await Promise.all(renters.map((accountId) => createHeldQuote(db, { accountId, request: h100UsEast(8), now, rates })));
    const won = results.filter((r) => r.ok);
    const lost = results.filter((r) => !r.ok);
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ ok: false, otherRegions: [{ gpuModelId: "h100-80gb", region: "eu-west", freeGpus: 8 }] });
    expect(await countDoubleBookings(db)).toBe(0);
  });
});

describe("availability", () => {
  it("per model × region: online, busy, free GPUs, the price after utilisation and the hyperscaler price", async () => {
    expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100UsEast(16), now, rates }));
    const table = await availability(db, { now });
    const row = (model: string, region: string) => table.find((r) => r.gpuModelId === model && r.region === region);
    expect(table.map((r) => `${r.gpuModelId}|${r.region}`)).toEqual(["a100-80gb|us-east", "h100-80gb|eu-west", "h100-80gb|us-east", "rtx-4090|ap-south"]);
    // 40 online (the unverified server counts as online, not as free), 16 held by the quote.
    expect(row("h100-80gb", "us-east")).toEqual({
      gpuModelId: "h100-80gb", region: "us-east", onlineGpus: 40, busyGpus: 16, freeGpus: 16, utilisationBps: 4_000n, surgeBps: 0n,
      cheapestAskPerGpuHour: 2_100_000n, pricePerGpuHour: ratePerGpuSecond(2_100_000n) * 3_600n, hyperscalerPricePerGpuHour: 12_290_000n,
      // The free GPUs by what else a request filters on: here one segment (the two free servers are alike).
      segments: [{
        connectivityTier: expect.any(String), securityTier: "ENCRYPTED", network: "GPUMESH", runsImages: false, freeGpus: 16,
        cheapestAskPerGpuHour: 2_100_000n, pricePerGpuHour: ratePerGpuSecond(2_100_000n) * 3_600n,
      }],
    });
    expect(row("rtx-4090", "ap-south")).toMatchObject({ onlineGpus: 3, freeGpus: 3, hyperscalerPricePerGpuHour: null, pricePerGpuHour: 342_000n });
    // Filters use the device index; a fully busy market has no price.
    const filtered = await availability(db, { now, gpuModelIds: ["h100-80gb"], regions: ["eu-west"] });
    expect(filtered.map((r) => r.region)).toEqual(["eu-west"]);
    expectHeld(await createHeldQuote(db, { accountId: renterId, request: { ...h100UsEast(8), regions: ["eu-west"] }, now, rates }));
    const full = (await availability(db, { now, gpuModelIds: ["h100-80gb"], regions: ["eu-west"] }))[0]!;
    expect(full).toMatchObject({ busyGpus: 8, freeGpus: 0, utilisationBps: 10_000n, surgeBps: surgeBps(utilisationBps({ onlineGpus: 8, busyGpus: 8 })), pricePerGpuHour: null });
  });
});

describe("startMatchingWithHolds", () => {
  it("claims a paid quote's held devices: re-windows those still online, releases those gone", async () => {
    const quote = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100UsEast(16), now, rates }));
    await db.cluster.update({ where: { id: quote.clusterId }, data: { status: "PAID" } });
    const gone = quote.devices[0]!.deviceId;
    await db.device.update({ where: { id: gone }, data: { status: "OFFLINE" } });
    try {
      const at = new Date(now.getTime() + 60_000);
      const endsAt = new Date(at.getTime() + 2 * 3_600_000 + 600_000);
      const cluster = await db.cluster.findUniqueOrThrow({ where: { id: quote.clusterId } });
      const claimed = await startMatchingWithHolds(db, cluster, { reason: "deploy", at, endsAt, releaseReason: "hold-lost: test" });
      expect(claimed.changed).toBe(true);
      expect(claimed.released.map((r) => r.deviceId)).toEqual([gone]);
      expect(claimed.kept.map((k) => k.deviceId)).toEqual([quote.devices[1]!.deviceId]);
      const allocations = await db.allocation.findMany({ where: { clusterId: quote.clusterId } });
      const kept = allocations.find((a) => a.status === "ACTIVE")!;
      expect([kept.startsAt, kept.endsAt]).toEqual([at, endsAt]);
      expect(allocations.find((a) => a.deviceId === gone)).toMatchObject({ status: "RELEASED", releaseReason: "hold-lost: test" });
      expect((await db.cluster.findUniqueOrThrow({ where: { id: quote.clusterId } })).status).toBe("MATCHING");
      expect(await db.journal.count({ where: { reference: `deposit:${quote.clusterId}` } })).toBe(1);
      // A replay claims nothing and changes nothing.
      const again = await startMatchingWithHolds(db, cluster, { reason: "deploy", at, endsAt, releaseReason: "hold-lost: test" });
      expect(again).toMatchObject({ changed: false, kept: [], released: [] });
    } finally {
      await db.device.update({ where: { id: gone }, data: { status: "ONLINE" } });
      await db.allocation.updateMany({ where: { clusterId: quote.clusterId, status: "ACTIVE" }, data: { status: "RELEASED", releasedAt: now, releaseReason: "test cleanup" } });
    }
  });
});

describe("createHeldQuote from a live placement index", () => {
  // Real time here: the index's "taken" is Postgres's now(), where the tests above use a fixed instant.
  const quoteAt = () => new Date();
  const strip = (result: HeldQuoteResult) =>
    result.ok
      ? { ok: true, devices: result.quote.devices, markets: result.quote.markets, breakdown: result.quote.breakdown }
      : { ok: false, constraint: result.constraint, message: result.message, requested: result.requested, otherRegions: result.otherRegions, otherModels: result.otherModels };

  it("quotes exactly what a candidate read quotes (devices, surge, price, refusals and alternatives) and marks its holds taken", async () => {
    const live = new LivePlacement({ url: database.url, minVerificationScoreBps: 5_000 });
    await live.start();
    try {
      const asks: ClusterRequestInput[] = [h100UsEast(16), h100UsEast(16), h100UsEast(8), h100UsEast(24), h100UsEast(8, { maxPricePerGpuHour: 1_000_000n }),
        { name: "q", type: "RAY", gpuModelIds: ["rtx-4090"], gpuCount: 2, regions: ["ap-south"], durationHours: 1 },
        // No device here runs images: refused with constraint runtime either way.
        h100UsEast(8, { workload: { image: "ghcr.io/acme/train:2" } })];
      // Same sequence twice from a free network: reads, then the index; each quote holds what it got.
      const run = async (placement?: LivePlacement) => {
        const out = [];
        for (const request of asks) {
          const result = await createHeldQuote(db, { accountId: renterId, request, now: quoteAt(), rates, maxHeldQuotes: 10, ...(placement ? { placement } : {}) });
          if (result.ok && placement) {
            // The hold is in the index at once (no wait for the feed), and Postgres agrees.
            for (const d of result.quote.devices) expect(placement.state(d.deviceId)?.reserved).toBe(true);
          }
          out.push(strip(result));
        }
        const held = await db.cluster.findMany({ where: { status: "REQUESTED" }, select: { id: true, renterId: true, paymentToken: true } });
        for (const c of held) await releaseHeldQuote(db, { clusterId: c.id, renterId: c.renterId, paymentToken: c.paymentToken }, { at: quoteAt(), reason: "test" });
        return out;
      };
      const fromReads = await run();
      await live.settled();
      const fromIndex = await run(live);
      expect(fromIndex).toEqual(fromReads);
      expect(fromReads.filter((r) => r.ok)).toHaveLength(3);
      await live.settled();
      // Released: free again in the index.
      for (const name of ["h100-use-0", "h100-use-1", "h100-use-2", "h100-use-3"]) expect(live.state(ids[name]!)?.reserved).toBe(false);
    } finally {
      await live.close();
    }
  });

  it("a device taken behind the index's back: the hold refuses it, the index learns it is taken, and the quote takes the next one", async () => {
    const live = new LivePlacement({ url: database.url, minVerificationScoreBps: 5_000 });
    await live.start();
    const raw = new pg.Client({ connectionString: database.url });
    await raw.connect();
    try {
      // Another process's reservation the feed has not delivered yet: inserted with triggers off (no NOTIFY).
      const other = await db.cluster.create({
        data: { renterId, name: "other", type: "RAY", gpuModelIds: ["h100-80gb"], gpuCount: 8, regions: ["us-east"], supplierNetworks: ["GPUMESH"], durationHours: 2, pricePerSecond: 1n, depositAmount: 7_200n, status: "MATCHING" },
      });
      await raw.query("set session_replication_role = replica");
      await raw.query(
        `insert into allocation (id, cluster_id, device_id, gpu_count, price_per_gpu_hour, starts_at, ends_at, status)
         values (gen_random_uuid(), $1, $2, 8, 2000000, now(), now() + interval '3 hours', 'ACTIVE')`,
        [other.id, ids["h100-use-0"]],
      );
      expect(live.state(ids["h100-use-0"]!)?.reserved).toBe(false);
      const quote = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100UsEast(8), now: quoteAt(), rates, placement: live }));
      expect(quote.devices.map((d) => d.deviceId)).toEqual([ids["h100-use-1"]]);
      expect(live.state(ids["h100-use-0"]!)?.reserved).toBe(true);
      expect(await countDoubleBookings(db)).toBe(0);
    } finally {
      await raw.end();
      await live.close();
    }
  });
});
