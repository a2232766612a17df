import { gpuModel } from "./catalogue/gpu-models.ts";

/**
 * How much MESH a device stakes (programs/gpumesh `stake_device`; constants in
 * programs/gpumesh/src/constants.rs, checked against the IDL by packages/chain/src/stake.test.ts).
 * Pure, so the rewards epoch (db), the scheduler's stake order and the web app size a stake alike.
 */

/** MESH base units of stake per basis point of weight: an H100 (10_000 bps) needs 10⁹ = 1,000 MESH. */
export const STAKE_PER_WEIGHT_UNIT = 100_000n;
/** Highest weight a stake accepts (100 H100s' worth). */
export const MAX_DEVICE_WEIGHT_BPS = 1_000_000;
/** Seconds from `request_unstake` to the earliest `withdraw_stake` (7 days). */
export const UNSTAKE_COOLDOWN_SECONDS = 604_800n;

/** Base units of MESH a device of `weightBps` must stake (`weight · STAKE_PER_WEIGHT_UNIT`). */
export function requiredStake(weightBps: number | bigint): bigint {
  if (typeof weightBps === "number" && !Number.isInteger(weightBps)) throw new RangeError(`${weightBps} is not a whole number of basis points`);
  const weight = BigInt(weightBps);
  if (weight < 0n || weight > 0xffff_ffffn) throw new RangeError(`${weightBps} does not fit in a u32`);
  return weight * STAKE_PER_WEIGHT_UNIT;
}

/**
 * A device's stake weight: its GPU model's performance weight × its GPUs (what the rewards epoch
 * weighs it by per second); 0 for a device without a catalogued GPU.
 */
export function deviceStakeWeightBps(gpuModelId: string | null, gpuCount: number): number {
  return (gpuModelId ? (gpuModel(gpuModelId)?.performanceWeightBps ?? 0) : 0) * gpuCount;
}
