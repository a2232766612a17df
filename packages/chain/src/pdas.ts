import { PublicKey } from "@solana/web3.js";

/**
 * Program-derived addresses of the gpumesh program, seed for seed as programs/gpumesh/src/pda.rs
 * (proved by `pdas.test.ts` against the Rust vectors).
 */
export const GPUMESH_PROGRAM_ID = new PublicKey("E2hY6XMekrhBJfhLTcRsePT9fkaegVxWYwGtnPp3za3Z");
/** The well-known dev admin (ed25519 seed sha256("gpumesh:dev:admin")); localnet and tests only. */
export const DEV_ADMIN_AUTHORITY = new PublicKey("8v7C8thEPZTQX2dJ2g4nVzFuy8pcFeg1vbDDEwksg7PW");

export const SEEDS = {
  config: "config",
  mintAuthority: "mint_authority",
  rewardsVault: "rewards_vault",
  paymentMint: "payment_mint",
  supplier: "supplier",
  lease: "lease",
  escrow: "escrow",
  allocation: "allocation",
  claim: "claim",
  deviceStake: "device_stake",
  stakeVault: "stake_vault",
  slashRecord: "slash",
} as const;

export type Pda = [PublicKey, number];

const utf8 = (text: string) => new TextEncoder().encode(text);

export function u64le(value: bigint | number): Uint8Array {
  const v = BigInt(value);
  if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw new RangeError(`${value} does not fit in a u64`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, true);
  return out;
}

const find = (seeds: Uint8Array[], programId: PublicKey): Pda => PublicKey.findProgramAddressSync(seeds, programId);

export function u32le(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new RangeError(`${value} does not fit in a u32`);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

/** A device's id: its database UUID (text), or those 16 bytes. */
export type DeviceId = string | Uint8Array;

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * The 16 bytes of a device id as the program's seeds and `device_id` args take them: the UUID's
 * bytes in text order (as Postgres stores a `uuid`), e.g. "6f1c2a90-4b3e-…" → 0x6f, 0x1c, ….
 */
export function deviceIdBytes(id: DeviceId): Uint8Array {
  if (typeof id !== "string") {
    if (id.length !== 16) throw new RangeError(`a device id is 16 bytes, got ${id.length}`);
    return Uint8Array.from(id);
  }
  if (!UUID.test(id)) throw new RangeError(`${id} is not a UUID`);
  const hex = id.replace(/-/g, "");
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

export const pdas = {
  config: (programId = GPUMESH_PROGRAM_ID) => find([utf8(SEEDS.config)], programId),
  mintAuthority: (programId = GPUMESH_PROGRAM_ID) => find([utf8(SEEDS.mintAuthority)], programId),
  rewardsVault: (programId = GPUMESH_PROGRAM_ID) => find([utf8(SEEDS.rewardsVault)], programId),
  paymentMint: (mint: PublicKey, programId = GPUMESH_PROGRAM_ID) => find([utf8(SEEDS.paymentMint), mint.toBytes()], programId),
  supplier: (authority: PublicKey, programId = GPUMESH_PROGRAM_ID) => find([utf8(SEEDS.supplier), authority.toBytes()], programId),
  lease: (renter: PublicKey, leaseId: bigint | number, programId = GPUMESH_PROGRAM_ID) => find([utf8(SEEDS.lease), renter.toBytes(), u64le(leaseId)], programId),
  escrow: (lease: PublicKey, programId = GPUMESH_PROGRAM_ID) => find([utf8(SEEDS.escrow), lease.toBytes()], programId),
  /** The lease's allocation number `index` (a supplier's node: its rate over the time it serves). */
  allocation: (lease: PublicKey, index: number, programId = GPUMESH_PROGRAM_ID) => find([utf8(SEEDS.allocation), lease.toBytes(), u32le(index)], programId),
  claimRecord: (claimant: PublicKey, programId = GPUMESH_PROGRAM_ID) => find([utf8(SEEDS.claim), claimant.toBytes()], programId),
  /** A device's stake (`DeviceStake`), keyed by the device's UUID. */
  deviceStake: (deviceId: DeviceId, programId = GPUMESH_PROGRAM_ID) => find([utf8(SEEDS.deviceStake), deviceIdBytes(deviceId)], programId),
  /** The stake's own MESH vault (token account whose authority is the stake PDA). */
  stakeVault: (deviceStake: PublicKey, programId = GPUMESH_PROGRAM_ID) => find([utf8(SEEDS.stakeVault), deviceStake.toBytes()], programId),
  /** The record of the slash of `deviceStake` for the evidence whose sha256 is `evidenceHash`: one slash per evidence. */
  slashRecord: (deviceStake: PublicKey, evidenceHash: Uint8Array, programId = GPUMESH_PROGRAM_ID) => {
    if (evidenceHash.length !== 32) throw new RangeError(`an evidence hash is 32 bytes, got ${evidenceHash.length}`);
    return find([utf8(SEEDS.slashRecord), deviceStake.toBytes(), evidenceHash], programId);
  },
} as const;
