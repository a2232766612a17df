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
  /**
   * Its on-chain stake (as the indexer mirrored it) is active and at least the device's required
   * stake (`requiredStake(deviceStakeWeightBps(...))`): no rewards without stake (DESIGN.md).
   */
  staked: boolean;
  /** Its supplier paused it at some moment of the hour (it took no new leases): no reward. */
  paused?: boolean;
}

export interface DeviceReward {
  deviceId: string;
  claimant: string;
  weight: bigint;
  uptimeBps: number;
  amount: bigint;
}

export function contributionWeight(input: DeviceContributionInput): bigint {
  if (!input.verified || !input.staked || input.paused || input.gpuCount <= 0 || input.onlineSeconds <= 0) return 0n;
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
  return decodeClaimantInto(wallet, new Uint8Array(32), 0);
}

const BASE58_DIGITS = (() => {
  const digits = new Int8Array(128).fill(-1);
  [..."123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"].forEach((c, i) => (digits[c.charCodeAt(0)] = i));
  return digits;
})();
const LIMBS = new Uint32Array(8);

/**
 * Decodes a base58 public key into `out[offset, offset + 32)`; false when `wallet` is not exactly 32
 * bytes of base58 (same answer as @scure/base's decoder plus a length check, which spent ~15 µs per
 * key: 1.5 s for an epoch of 100,000 claimants). The value is built in eight 32-bit limbs, one digit
 * at a time; leading '1's are leading zero bytes, and a canonical encoding has no more of them.
 */
export function decodeClaimantInto(wallet: string, out: Uint8Array, offset: number): boolean {
  if (wallet.length === 0 || wallet.length > 44) return false;
  LIMBS.fill(0);
  let leadingOnes = 0;
  while (leadingOnes < wallet.length && wallet.charCodeAt(leadingOnes) === 49) leadingOnes++;
  for (let i = 0; i < wallet.length; i++) {
    const code = wallet.charCodeAt(i);
    let carry = code < 128 ? BASE58_DIGITS[code]! : -1;
    if (carry < 0) return false;
    for (let limb = 7; limb >= 0; limb--) {
      const value = LIMBS[limb]! * 58 + carry;
      LIMBS[limb] = value >>> 0;
      carry = Math.floor(value / 4_294_967_296);
    }
    if (carry !== 0) return false; // ≥ 2^256
  }
  for (let limb = 0; limb < 8; limb++) {
    const word = LIMBS[limb]!;
    const o = offset + limb * 4;
    out[o] = word >>> 24;
    out[o + 1] = (word >>> 16) & 0xff;
    out[o + 2] = (word >>> 8) & 0xff;
    out[o + 3] = word & 0xff;
  }
  let zeroBytes = 0;
  while (zeroBytes < 32 && out[offset + zeroBytes] === 0) zeroBytes++;
  return zeroBytes === leadingOnes;
}

/**
 * One epoch's tree over cumulative amounts: one leaf per claimant, ordered by claimant (JavaScript
 * string order, i.e. Postgres `collate "C"` for base58), so the root does not depend on input order.
 * Proofs are built from it on demand instead of being stored per claimant per epoch.
 */
export class EpochClaimTree {
  readonly root: string;
  readonly total: bigint;
  readonly claimants: readonly string[];
  private readonly cumulatives: bigint[];
  private readonly index = new Map<string, number>();
  private readonly tree: RewardTree;

  constructor(balances: Iterable<readonly [string, bigint]>) {
    const entries = [...balances];
    // Usually in order already (read with `order by claimant collate "C"`): then no sort at all.
    if (entries.some(([claimant], i) => i > 0 && entries[i - 1]![0] > claimant)) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const packed = new Uint8Array(entries.length * 32);
    let total = 0n;
    entries.forEach(([claimant, cumulative], i) => {
      if (i > 0 && entries[i - 1]![0] === claimant) throw new RangeError(`claimant ${claimant} appears twice`);
      if (!decodeClaimantInto(claimant, packed, i * 32)) throw new RangeError(`claimant ${claimant} is not a base58 public key`);
      total += cumulative;
    });
    this.claimants = entries.map(([claimant]) => claimant);
    this.cumulatives = entries.map(([, cumulative]) => cumulative);
    this.tree = new RewardTree({ claimants: packed, cumulatives: this.cumulatives });
    this.root = hex(this.tree.root);
    this.total = total;
  }

  get size(): number {
    return this.claimants.length;
  }

  /** The claimant's leaf and its proof (hex siblings, leaf to root); null when it is not in the tree. */
  claim(claimant: string): RewardLeafRecord | null {
    // Built on the first lookup: computing an epoch needs only the root.
    if (this.index.size === 0) this.claimants.forEach((c, i) => this.index.set(c, i));
    const i = this.index.get(claimant);
    if (i === undefined) return null;
    return { claimant, cumulative: this.cumulatives[i]!, proof: this.tree.proof(i).map(hex) };
  }
}

/**
 * The epoch's tree: previous cumulative amounts plus this epoch's rewards, one leaf per claimant,
 * ordered by claimant so the tree (and its root) does not depend on input order. Every leaf comes
 * with its proof: the reference the stored, on-demand form (packages/db/src/rewards.ts) is tested
 * against, and fine for small trees.
 */
export function buildEpochTree(previous: ReadonlyMap<string, bigint>, rewards: readonly Pick<DeviceReward, "claimant" | "amount">[]): EpochTree {
  const cumulative = new Map(previous);
  for (const reward of rewards) {
    if (reward.amount === 0n) continue;
    if (!isClaimant(reward.claimant)) throw new RangeError(`claimant ${reward.claimant} is not a base58 public key`);
    cumulative.set(reward.claimant, (cumulative.get(reward.claimant) ?? 0n) + reward.amount);
  }
  const tree = new EpochClaimTree(cumulative);
  return { root: tree.root, total: tree.total, leaves: tree.claimants.map((claimant) => tree.claim(claimant)!) };
}
