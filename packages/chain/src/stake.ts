import { UNSTAKE_COOLDOWN_SECONDS } from "@gpumesh/core";
import type { Connection, PublicKey } from "@solana/web3.js";
import type { BN } from "./anchor.ts";
import { type DeviceId, GPUMESH_PROGRAM_ID, pdas } from "./pdas.ts";
import { decodeAccount } from "./program.ts";

/**
 * Device stake (programs/gpumesh: `stake_device`, `request_unstake`, `withdraw_stake`,
 * `slash_stake`): each device stakes MESH in proportion to its performance weight; it counts for
 * rewards while active; unstaking takes a 7-day cooldown during which it can still be slashed;
 * slashed MESH is burned. The constants live in @gpumesh/core (`stake.ts`, shared with the rewards
 * epoch); `stake.test.ts` checks them against the IDL's exported constants.
 */

export { MAX_DEVICE_WEIGHT_BPS, requiredStake, STAKE_PER_WEIGHT_UNIT, UNSTAKE_COOLDOWN_SECONDS } from "@gpumesh/core";

/** A `DeviceStake` account (amounts in MESH base units, times in unix seconds). */
export interface DeviceStakeAccount {
  address: PublicKey;
  /** The stake's MESH vault. */
  vault: PublicKey;
  /** The supplier wallet that staked: the only key that may top up, unstake and withdraw. */
  authority: PublicKey;
  /** The device's UUID (lower-case, with dashes). */
  deviceId: string;
  weightBps: number;
  /** Staked now (deposits − slashes). */
  amount: bigint;
  /** What `amount` must reach to count (`requiredStake(weightBps)` at stake time). */
  required: bigint;
  stakedAt: bigint;
  /** 0n while no unstake was requested. */
  unstakeRequestedAt: bigint;
  slashedTotal: bigint;
}

type Raw = Record<string, unknown>;
const big = (value: unknown) => BigInt((value as BN).toString());

/** The UUID text of 16 device-id bytes. */
export function deviceIdToUuid(bytes: Uint8Array | readonly number[]): string {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  if (hex.length !== 32) throw new RangeError(`a device id is 16 bytes, got ${hex.length / 2}`);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function decodeDeviceStake(address: PublicKey, data: Uint8Array, programId: PublicKey = GPUMESH_PROGRAM_ID): DeviceStakeAccount {
  const raw = decodeAccount<Raw>("DeviceStake", data);
  return {
    address,
    vault: pdas.stakeVault(address, programId)[0],
    authority: raw.authority as PublicKey,
    deviceId: deviceIdToUuid(raw.device_id as number[]),
    weightBps: raw.weight_bps as number,
    amount: big(raw.amount),
    required: big(raw.required),
    stakedAt: big(raw.staked_at),
    unstakeRequestedAt: big(raw.unstake_requested_at),
    slashedTotal: big(raw.slashed_total),
  };
}

/**
 * Whether the stake counts for rewards (`DeviceStake::is_active`): no unstake requested and at
 * least the required amount staked.
 */
export function isStakeActive(stake: Pick<DeviceStakeAccount, "unstakeRequestedAt" | "amount" | "required">): boolean {
  return stake.unstakeRequestedAt === 0n && stake.required > 0n && stake.amount >= stake.required;
}

/** Earliest unix time `withdraw_stake` succeeds; null while no unstake was requested. */
export function stakeWithdrawableAt(stake: Pick<DeviceStakeAccount, "unstakeRequestedAt">): bigint | null {
  return stake.unstakeRequestedAt === 0n ? null : stake.unstakeRequestedAt + UNSTAKE_COOLDOWN_SECONDS;
}

/** The stake of `deviceId` now; null when the device has none (never staked, or withdrawn). */
export async function fetchDeviceStake(connection: Connection, deviceId: DeviceId, programId: PublicKey = GPUMESH_PROGRAM_ID): Promise<DeviceStakeAccount | null> {
  const address = pdas.deviceStake(deviceId, programId)[0];
  const info = await connection.getAccountInfo(address, "confirmed");
  if (!info || !info.owner.equals(programId) || info.data.length === 0) return null;
  return decodeDeviceStake(address, info.data, programId);
}
