import { base58 } from "@scure/base";
import { describe, expect, it } from "vitest";
import { cumulativeEmission, hourlyEmission } from "./emission.ts";
import { verifyClaim } from "./merkle.ts";
import { allocateEpoch, buildEpochTree, contributionWeight, decodeClaimantInto, EpochClaimTree, epochPool, epochWindow, isClaimant, type DeviceContributionInput } from "./rewards.ts";
import { SeededRandom } from "./random.ts";

const wallet = (n: number) => base58.encode(Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + n * 13) % 256));
const device = (id: string, overrides: Partial<DeviceContributionInput> = {}): DeviceContributionInput => ({
  deviceId: id,
  claimant: wallet(1),
  gpuCount: 8,
  performanceWeightBps: 10_000,
  onlineSeconds: 3_600,
  verified: true,
  staked: true,
  ...overrides,
});

describe("reward epochs", () => {
  it("epoch t covers hour t after the emission start", () => {
    const window = epochWindow(1_700_000_000, 3);
    expect(window.start.getTime()).toBe((1_700_000_000 + 7_200) * 1000);
    expect(window.end.getTime() - window.start.getTime()).toBe(3_600_000);
    expect(() => epochWindow(0, 0)).toThrow(RangeError);
  });

  it("weighs GPUs × performance × seconds online, and nothing for a failed verification", () => {
    expect(contributionWeight(device("a"))).toBe(8n * 10_000n * 3_600n);
    expect(contributionWeight(device("a", { onlineSeconds: 1_800 }))).toBe(8n * 10_000n * 1_800n);
    expect(contributionWeight(device("a", { performanceWeightBps: 3_160, gpuCount: 4 }))).toBe(4n * 3_160n * 3_600n);
    expect(contributionWeight(device("a", { verified: false }))).toBe(0n);
    // No rewards without stake (unstaked, unstaking or below the required amount: all `staked: false`).
    expect(contributionWeight(device("a", { staked: false }))).toBe(0n);
    expect(contributionWeight(device("a", { onlineSeconds: 0 }))).toBe(0n);
    // A clock glitch cannot give more than a full hour.
    expect(contributionWeight(device("a", { onlineSeconds: 9_999 }))).toBe(contributionWeight(device("a")));
  });

  it("splits the pool in proportion to weight, to the base unit", () => {
    const rewards = allocateEpoch(1_000n, [device("a"), device("b", { onlineSeconds: 1_800 }), device("c", { verified: false }), device("d", { gpuCount: 1 })]);
    expect(rewards.map((r) => r.amount)).toEqual([615n, 308n, 0n, 77n]);
    expect(rewards.reduce((s, r) => s + r.amount, 0n)).toBe(1_000n);
    expect(rewards.find((r) => r.deviceId === "b")?.uptimeBps).toBe(5_000);
  });

  it("conserves any pool over random networks, and is independent of input order", () => {
    const random = new SeededRandom(7);
    for (let run = 0; run < 200; run++) {
      const devices = Array.from({ length: random.int(1, 40) }, (_, i) =>
        device(`d${i}`, { gpuCount: random.int(1, 8), performanceWeightBps: random.int(500, 10_000), onlineSeconds: random.int(0, 3_600), verified: random.next() > 0.1 }),
      );
      const pool = BigInt(random.int(0, 10_000_000)) * 1_000n + BigInt(random.int(0, 999));
      const rewards = allocateEpoch(pool, devices);
      const anyWeight = devices.some((d) => contributionWeight(d) > 0n);
      expect(rewards.reduce((s, r) => s + r.amount, 0n)).toBe(anyWeight ? pool : 0n);
      const shuffled = allocateEpoch(pool, [...devices].reverse());
      expect(new Map(shuffled.map((r) => [r.deviceId, r.amount]))).toEqual(new Map(rewards.map((r) => [r.deviceId, r.amount])));
    }
  });

  it("rolls what earlier epochs did not hand out into the next pool", () => {
    expect(epochPool(1, 0n)).toBe(hourlyEmission(1));
    expect(epochPool(2, hourlyEmission(1))).toBe(hourlyEmission(2));
    // Epoch 1 had no eligible device: epoch 2's pool holds both hours.
    expect(epochPool(2, 0n)).toBe(cumulativeEmission(2));
    expect(() => epochPool(1, cumulativeEmission(1) + 1n)).toThrow(/more than/);
  });

  it("keeps every claimant's cumulative amount in the tree, with proofs that verify", () => {
    const first = buildEpochTree(new Map(), [
      { claimant: wallet(1), amount: 100n },
      { claimant: wallet(2), amount: 50n },
      { claimant: wallet(1), amount: 25n },
      { claimant: wallet(3), amount: 0n },
    ]);
    expect(first.total).toBe(175n);
    expect(first.leaves.map((l) => [l.claimant, l.cumulative])).toEqual([[wallet(1), 125n], [wallet(2), 50n]].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)));
    const second = buildEpochTree(new Map(first.leaves.map((l) => [l.claimant, l.cumulative])), [{ claimant: wallet(3), amount: 10n }]);
    expect(second.total).toBe(185n);
    expect(second.leaves).toHaveLength(3);
    const root = Uint8Array.from(Buffer.from(second.root, "hex"));
    for (const leaf of second.leaves) {
      const proof = leaf.proof.map((h) => Uint8Array.from(Buffer.from(h, "hex")));
      expect(verifyClaim(root, { claimant: base58.decode(leaf.claimant), cumulative: leaf.cumulative }, proof)).toBe(true);
      expect(verifyClaim(root, { claimant: base58.decode(leaf.claimant), cumulative: leaf.cumulative + 1n }, proof)).toBe(false);
    }
    expect(() => buildEpochTree(new Map(), [{ claimant: "not-a-key", amount: 1n }])).toThrow(/not a base58 public key/);
  });

  it("decodes claimants exactly like @scure/base (32 bytes, leading '1's as zero bytes) and refuses anything else", () => {
    const random = new SeededRandom(21);
    const out = new Uint8Array(40);
    for (let run = 0; run < 2_000; run++) {
      const bytes = Uint8Array.from({ length: 32 }, () => random.int(0, 255));
      bytes.fill(0, 0, random.next() < 0.2 ? random.int(1, 32) : 0); // leading zero bytes: leading '1's
      const wallet = base58.encode(bytes);
      expect(decodeClaimantInto(wallet, out, 3)).toBe(true);
      expect(out.subarray(3, 35)).toEqual(bytes);
      expect(isClaimant(wallet)).toBe(true);
    }
    const scureSays = (s: string) => {
      try {
        return base58.decode(s).length === 32;
      } catch {
        return false;
      }
    };
    const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0OIl-";
    const tricky = ["", "1", "1".repeat(32), "1".repeat(33), "1" + base58.encode(new Uint8Array(32).fill(255)), base58.encode(new Uint8Array(33).fill(255)), base58.encode(new Uint8Array(31).fill(9)), "BenchHeartbeatSupplier".padEnd(44, "1"), "not-a-key", "é".repeat(40)];
    for (let run = 0; run < 3_000; run++) tricky.push(Array.from({ length: random.int(40, 45) }, () => alphabet[random.int(0, alphabet.length - 1)]).join(""));
    for (const s of tricky) expect([s, isClaimant(s)]).toEqual([s, scureSays(s)]);
  });

  it("builds a claimant's proof on demand from the same tree as the full build", () => {
    const balances = new Map(Array.from({ length: 257 }, (_, i) => [wallet(i), BigInt(i + 1) * 1_000_003n] as const));
    const full = buildEpochTree(balances, []);
    const onDemand = new EpochClaimTree([...balances].reverse());
    expect(onDemand.root).toBe(full.root);
    expect(onDemand.total).toBe(full.total);
    for (const leaf of full.leaves) expect(onDemand.claim(leaf.claimant)).toEqual(leaf);
    expect(onDemand.claim(base58.encode(new Uint8Array(32).fill(200)))).toBeNull();
    expect(() => new EpochClaimTree([[wallet(1), 1n], [wallet(1), 2n]])).toThrow(/twice/);
  });
});
