import { base58 } from "@scure/base";
import { cumulativeEmission, SECONDS_PER_HOUR } from "./emission.ts";
import { RewardTree } from "./merkle.ts";

/**
 * Hourly reward epochs (DESIGN.md, token economics). Epoch t is emission hour t: it covers
 * [start + (t−1)·3600, start + t·3600) and can be computed once that hour is over.
 *
 * A device's contribution in an epoch is
 *   weight = GPUs × performance weight (bps, H100 = 10,000) × seconds online in the hour
 * and zero when it failed (or ignored) a verification challenge issued in the hour, or scores under
 * the verification floor. The epoch's pool is everything emitted so far that no earlier epoch handed
 * out: `C(t) − cumulative total of the previous computed epoch`. So an hour with no eligible device,
 * or an hour the job never computed, rolls into the next pool instead of being stranded in the vault.
 * The pool is split in proportion to weight, rounding down, and the few base units left by rounding
 * go one each to the largest remainders (ties by device id): Σ amounts = pool exactly.
 *
 * Amounts are cumulative per claimant (the supplier's wallet), and every claimant ever rewarded stays
 * in the tree with its unchanged total, so a proof from the latest root always pays everything owed.
 */

export interface EpochWindow {
  epoch: number;
  start: Date;
  end: Date;
}

export function epochWindow(emissionStartSeconds: number, epoch: number): EpochWindow {
  if (!Number.isSafeInteger(epoch) || epoch < 1) throw new RangeError(`epoch must be a positive integer, got ${epoch}`);
  const start = (emissionStartSeconds + (epoch - 1) * SECONDS_PER_HOUR) * 1000;
  return { epoch, start: new Date(start), end: new Date(start + SECONDS_PER_HOUR * 1000) };
}

export interface DeviceContributionInput {
  deviceId: string;
  /** Base58 wallet of the device's supplier: the claimant. */
  claimant: string;
  gpuCount: number;
  performanceWeightBps: number;
  /** Seconds of the epoch the device was online (0–3600). */
  onlineSeconds: number;
  /** False when a challenge issued in the hour failed or expired, or the score is under the floor. */
  verified: boolean;
}

export interface DeviceReward {
  deviceId: string;
  claimant: string;
  weight: bigint;
  uptimeBps: number;
  amount: bigint;
}

export function contributionWeight(input: DeviceContributionInput): bigint {
  if (!input.verified || input.gpuCount <= 0 || input.onlineSeconds <= 0) return 0n;
  const seconds = Math.min(input.onlineSeconds, SECONDS_PER_HOUR);
  return BigInt(input.gpuCount) * BigInt(input.performanceWeightBps) * BigInt(Math.floor(seconds));
}

/** Splits `pool` over the devices in proportion to their weight; Σ amounts = pool when any weight > 0. */
export function allocateEpoch(pool: bigint, devices: readonly DeviceContributionInput[]): DeviceReward[] {
  if (pool < 0n) throw new RangeError("pool must not be negative");
  const weighted = devices.map((device) => ({
    device,
    weight: contributionWeight(device),
    uptimeBps: Math.round((Math.min(Math.max(device.onlineSeconds, 0), SECONDS_PER_HOUR) * 10_000) / SECONDS_PER_HOUR),
  }));
  const total = weighted.reduce((sum, w) => sum + w.weight, 0n);
  if (total === 0n) return weighted.map((w) => ({ deviceId: w.device.deviceId, claimant: w.device.claimant, weight: 0n, uptimeBps: w.uptimeBps, amount: 0n }));
  const shares = weighted.map((w) => ({ ...w, amount: (pool * w.weight) / total, remainder: (pool * w.weight) % total }));
  let left = pool - shares.reduce((sum, s) => sum + s.amount, 0n);
  // Largest remainder first; the id breaks ties so every run (and every scheduler) agrees.
  const order = shares
    .map((share, index) => ({ share, index }))
    .filter(({ share }) => share.weight > 0n)
    .sort((a, b) => (a.share.remainder === b.share.remainder ? (a.share.device.deviceId < b.share.device.deviceId ? -1 : 1) : a.share.remainder > b.share.remainder ? -1 : 1));
  for (const { share } of order) {
    if (left === 0n) break;
    share.amount += 1n;
    left -= 1n;
  }
  return shares.map((s) => ({ deviceId: s.device.deviceId, claimant: s.device.claimant, weight: s.weight, uptimeBps: s.uptimeBps, amount: s.amount }));
}

/** The pool of epoch t: emitted up to hour t minus what earlier epochs already handed out. */
export function epochPool(epoch: number, previousCumulativeTotal: bigint): bigint {
  const pool = cumulativeEmission(epoch) - previousCumulativeTotal;
  if (pool < 0n) throw new RangeError(`epoch ${epoch}: earlier epochs handed out ${previousCumulativeTotal}, more than the ${cumulativeEmission(epoch)} emitted`);
  return pool;
}

export interface RewardLeafRecord {
  claimant: string;
  cumulative: bigint;
  /** Sibling hashes from leaf to root, hex. */
  proof: string[];
}

export interface EpochTree {
  root: string;
  total: bigint;
  leaves: RewardLeafRecord[];
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** A claimant must be a 32-byte public key in base58. */
export function isClaimant(wallet: string): boolean {
  try {
    return base58.decode(wallet).length === 32;
  } catch {
    return false;
  }
}

/**
 * The epoch's tree: previous cumulative amounts plus this epoch's rewards, one leaf per claimant,
 * ordered by claimant so the tree (and its root) does not depend on input order.
 */
export function buildEpochTree(previous: ReadonlyMap<string, bigint>, rewards: readonly Pick<DeviceReward, "claimant" | "amount">[]): EpochTree {
  const cumulative = new Map(previous);
  for (const reward of rewards) {
    if (reward.amount === 0n) continue;
    if (!isClaimant(reward.claimant)) throw new RangeError(`claimant ${reward.claimant} is not a base58 public key`);
    cumulative.set(reward.claimant, (cumulative.get(reward.claimant) ?? 0n) + reward.amount);
  }
  const claimants = [...cumulative.keys()].sort();
  const tree = new RewardTree(claimants.map((claimant) => ({ claimant: base58.decode(claimant), cumulative: cumulative.get(claimant)! })));
  return {
    root: hex(tree.root),
    total: claimants.reduce((sum, claimant) => sum + cumulative.get(claimant)!, 0n),
    leaves: claimants.map((claimant, index) => ({ claimant, cumulative: cumulative.get(claimant)!, proof: tree.proof(index).map(hex) })),
  };
}
