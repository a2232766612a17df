import { createDb, epochContributionInputs, seedCatalogue, writeMirroredStakes, type Db } from "@gpumesh/db";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { Keypair } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type * as WalletRewardsModule from "../src/server/services/rewards/wallet-rewards.ts";

// The rewards page's read against real Postgres: every hour since the wallet's first GPU device
// joined is listed, and each device that earned nothing in it is there with the reason the rewards
// job applied. The web's db module is this test's database; the chain is unreachable (the claimed
// amount then comes from the indexed claims).
const holder = vi.hoisted(() => ({ db: undefined as unknown }));
vi.mock("server-only", () => ({}));
vi.mock("../src/server/db.ts", () => ({ db: holder.db }));
vi.mock("../src/server/chain.ts", () => ({
  chain: () => {
    throw new Error("no chain in this test");
  },
}));

const HOUR = 3_600_000;
let database: TestDatabase;
let db: Db;
let walletRewards: typeof WalletRewardsModule.walletRewards;
const wallet = Keypair.generate().publicKey.toBase58();
const retiredWallet = Keypair.generate().publicKey.toBase58();
const hourStart = new Date(Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR);
const ids: Record<string, string> = {};

beforeAll(async () => {
  database = await createTestDatabase("wallet_rewards");
  db = createDb(database.url);
  holder.db = db;
  ({ walletRewards } = await import("../src/server/services/rewards/wallet-rewards.ts"));
  await seedCatalogue(db);
  const device = async (accountWallet: string, name: string, extra: { createdAt?: Date; agentPublicKey?: string | null; status?: "ONLINE" | "OFFLINE" } = {}) => {
    const account = await db.account.upsert({ where: { walletAddress: accountWallet }, create: { walletAddress: accountWallet }, update: {} });
    const supplier = await db.supplier.upsert({ where: { accountId: account.id }, create: { accountId: account.id, name: `supplier of ${name}` }, update: {} });
    const created = await db.device.create({
      data: {
        supplierId: supplier.id, name, gpuModelId: "h100-80gb", gpuCount: 8, vramGb: 80, cpuModel: "AMD EPYC 9654", cpuCores: 96, ramGb: 1024, diskGb: 15360,
        region: "us-east", country: "US", city: "Ashburn", bandwidthUpMbps: 10_000, bandwidthDownMbps: 10_000, pricePerGpuHour: 2_190_000n,
        status: extra.status ?? "ONLINE", verificationScoreBps: 9_000, createdAt: extra.createdAt ?? new Date(hourStart.getTime() - 24 * HOUR),
        agentPublicKey: extra.agentPublicKey === null ? null : Keypair.generate().publicKey.toBase58(),
      },
    });
    ids[name] = created.id;
    return created.id;
  };
  await device(wallet, "a-earned");
  const offline = await device(wallet, "b-offline");
  const failed = await device(wallet, "c-check-failed");
  await device(wallet, "d-unverified");
  // Removed: OFFLINE since it joined a day before the hour (the insert trigger opens that outage).
  await device(wallet, "e-removed", { status: "OFFLINE", agentPublicKey: null });
  const halfHour = await device(wallet, "h-half-hour");
  await device(wallet, "f-joined-later", { createdAt: new Date(hourStart.getTime() + 2 * HOUR) });
  await device(Keypair.generate().publicKey.toBase58(), "g-someone-else");
  await device(retiredWallet, "i-only-device-removed", { status: "OFFLINE", agentPublicKey: null });
  const unstaked = await device(wallet, "j-not-staked");
  const unstaking = await device(wallet, "k-unstaking");
  const slashed = await device(wallet, "l-slashed");
  // Stakes as the indexer mirrors them: every device staked its 8,000 MESH but these three.
  await writeMirroredStakes(db, { deviceIds: Object.values(ids).filter((id) => id !== unstaked && id !== unstaking && id !== slashed) });
  await writeMirroredStakes(db, { deviceIds: [unstaking], status: "UNSTAKING" });
  await writeMirroredStakes(db, { deviceIds: [slashed], shortBy: 250_000_000n });
  // Offline from before the hour to after it; offline for the middle half hour.
  await db.deviceOutage.createMany({
    data: [
      { deviceId: offline, startedAt: new Date(hourStart.getTime() - 10 * 60_000), endedAt: new Date(hourStart.getTime() + 2 * HOUR) },
      { deviceId: halfHour, startedAt: new Date(hourStart.getTime() + 15 * 60_000), endedAt: new Date(hourStart.getTime() + 45 * 60_000) },
    ],
  });
  await db.verificationChallenge.create({
    data: { deviceId: failed, kind: "GPU_GEMM", seed: "ab".repeat(32), matrixSize: 128, status: "FAILED", issuedAt: new Date(hourStart.getTime() + 10 * 60_000), deadlineAt: new Date(hourStart.getTime() + 11 * 60_000) },
  });
  const weight = 8n * 10_000n * 3_600n;
  for (const [epoch, start] of [[1, hourStart], [2, new Date(hourStart.getTime() + HOUR)]] as const) {
    await db.rewardEpoch.create({ data: { epoch, hourStart: start, emission: 1_000_000n, cumulativeTotal: 1_000_000n * BigInt(epoch), pool: 1_000_000n, totalWeight: weight, status: "COMPUTED" } });
  }
  await db.rewardContribution.create({ data: { epoch: 1, deviceId: ids["a-earned"]!, gpuSeconds: 8n * 3_600n, weightBps: 10_000, uptimeBps: 10_000, weight, amount: 1_000_000n } });
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

describe("walletRewards", () => {
  it("lists every hour since the first device joined, and in each the devices that earned nothing with why", async () => {
    const rewards = await walletRewards(wallet, { limit: 10 });
    expect(rewards.epochs.items.map((e) => e.epoch)).toEqual([2, 1]);
    const first = rewards.epochs.items.find((e) => e.epoch === 1)!;
    expect(first.amount).toBe(1_000_000n);
    const byName = new Map(first.devices.map((d) => [d.name, d]));
    // Earned first; the devices that joined later, were removed and offline, or are someone else's are not there.
    expect(first.devices.map((d) => d.name)).toEqual(["a-earned", "b-offline", "c-check-failed", "d-unverified", "h-half-hour", "j-not-staked", "k-unstaking", "l-slashed"]);
    expect(byName.get("a-earned")).toMatchObject({ reason: "EARNED", verified: true, onlineSeconds: 3_600, amount: 1_000_000n });
    expect(byName.get("b-offline")).toMatchObject({ reason: "OFFLINE", verified: false, onlineSeconds: 0, uptimeBps: 0, weight: 0n, amount: 0n });
    expect(byName.get("c-check-failed")).toMatchObject({ reason: "CHECK_FAILED", onlineSeconds: 3_600, weight: 0n, amount: 0n });
    expect(byName.get("d-unverified")).toMatchObject({ reason: "NOT_VERIFIED", onlineSeconds: 3_600, uptimeBps: 10_000, amount: 0n });
    expect(byName.get("h-half-hour")).toMatchObject({ reason: "NOT_VERIFIED", onlineSeconds: 1_800, uptimeBps: 5_000, amount: 0n });
    // No rewards without stake: the page says which stake is missing (8 H100s need 8,000 MESH).
    expect(byName.get("j-not-staked")).toMatchObject({ reason: "NOT_STAKED", requiredStake: 8_000_000_000n, amount: 0n });
    expect(byName.get("k-unstaking")).toMatchObject({ reason: "UNSTAKING", amount: 0n });
    expect(byName.get("l-slashed")).toMatchObject({ reason: "STAKE_BELOW_REQUIRED", requiredStake: 8_000_000_000n, amount: 0n });
    // The rewards job's own input agrees: these three are not staked, the others are.
    const staked = new Map((await epochContributionInputs(db, { epoch: 1, start: hourStart, end: new Date(hourStart.getTime() + HOUR) }, 0)).map((i) => [i.deviceId, i.staked]));
    expect(["j-not-staked", "k-unstaking", "l-slashed", "a-earned", "d-unverified"].map((name) => staked.get(ids[name]!))).toEqual([false, false, false, true, true]);
    // Seconds online are the rewards job's own input for the hour, device by device.
    const inputs = await epochContributionInputs(db, { epoch: 1, start: hourStart, end: new Date(hourStart.getTime() + HOUR) }, 0);
    for (const device of first.devices) expect(device.onlineSeconds, device.name).toBe(inputs.find((i) => i.deviceId === device.deviceId)!.onlineSeconds);
    // The hour after has no contribution at all: every device that existed in it is listed (the late
    // joiner joined as it ended).
    const second = rewards.epochs.items.find((e) => e.epoch === 2)!;
    expect(second.amount).toBe(0n);
    expect(second.devices.map((d) => [d.name, d.reason])).toEqual([
      ["a-earned", "NOT_VERIFIED"],
      ["b-offline", "OFFLINE"],
      ["c-check-failed", "NOT_VERIFIED"],
      ["d-unverified", "NOT_VERIFIED"],
      ["h-half-hour", "NOT_VERIFIED"],
      ["j-not-staked", "NOT_STAKED"],
      ["k-unstaking", "UNSTAKING"],
      ["l-slashed", "STAKE_BELOW_REQUIRED"],
    ]);
  });

  it("pages the hours newest first; a wallet without devices, or with only removed ones, has none", async () => {
    const page = await walletRewards(wallet, { limit: 1 });
    expect(page.epochs.items.map((e) => e.epoch)).toEqual([2]);
    expect(page.epochs.next_cursor).not.toBeNull();
    const next = await walletRewards(wallet, { limit: 1, cursor: page.epochs.next_cursor! });
    expect(next.epochs.items.map((e) => e.epoch)).toEqual([1]);
    expect(next.epochs.next_cursor).toBeNull();
    const nobody = await walletRewards(Keypair.generate().publicKey.toBase58(), { limit: 10 });
    expect(nobody.epochs.items).toEqual([]);
    expect(nobody.claimable).toBe(0n);
    // A supplier whose devices were all removed (and never earned) has no hours listed, not endless empty ones.
    expect((await walletRewards(retiredWallet, { limit: 10 })).epochs.items).toEqual([]);
  });
});
