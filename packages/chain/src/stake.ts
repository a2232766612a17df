import { UNSTAKE_COOLDOWN_SECONDS } from "@gpumesh/core";
import type { Connection, PublicKey } from "@solana/web3.js";
import type { BN } from "./anchor.ts";
import { type DeviceId, GPUMESH_PROGRAM_ID, pdas } from "./pdas.ts";
import type { SlashReason } from "./instructions.ts";
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

/**
 * A `SlashRecord`: one slash of a stake, at `["slash", device_stake, evidence_hash]`. The program
 * creates it with the slash and never closes it, so its existence is the answer to "did this
 * evidence already slash this device?" (a second slash with the same evidence fails).
 */
export interface SlashRecordAccount {
  address: PublicKey;
  deviceStake: PublicKey;
  /** The device's UUID (lower-case, with dashes). */
  deviceId: string;
  evidenceHash: Uint8Array;
  reason: SlashReason;
  /** MESH base units burned by this slash. */
  amount: bigint;
  slot: bigint;
  /** Unix seconds of the slash (the program's clock). */
  slashedAt: bigint;
}

export function decodeSlashRecord(address: PublicKey, data: Uint8Array): SlashRecordAccount {
  const raw = decodeAccount<Raw>("SlashRecord", data);
  // An Anchor enum decodes as `{ Variant: {} }`.
  const reason = Object.keys(raw.reason as Record<string, unknown>)[0];
  if (reason !== "FailedProof" && reason !== "VanishedMidLease") throw new Error(`unknown slash reason ${String(reason)}`);
  return {
    address,
    deviceStake: raw.device_stake as PublicKey,
    deviceId: deviceIdToUuid(raw.device_id as number[]),
    evidenceHash: Uint8Array.from(raw.evidence_hash as number[]),
    reason,
    amount: big(raw.amount),
    slot: big(raw.slot),
    slashedAt: big(raw.slashed_at),
  };
}

/** The record of the slash of `deviceId`'s stake for `evidenceHash`; null when that evidence has not slashed it. */
export async function fetchSlashRecord(connection: Connection, deviceId: DeviceId, evidenceHash: Uint8Array, programId: PublicKey = GPUMESH_PROGRAM_ID): Promise<SlashRecordAccount | null> {
  const address = pdas.slashRecord(pdas.deviceStake(deviceId, programId)[0], evidenceHash, programId)[0];
  const info = await connection.getAccountInfo(address, "confirmed");
  if (!info || !info.owner.equals(programId) || info.data.length === 0) return null;
  return decodeSlashRecord(address, info.data);
}
