import { BN } from "./anchor.ts";
import { Keypair } from "@solana/web3.js";
import { describe, expect, it } from "vitest";
import { GPUMESH_IDL } from "./idl.ts";
import { pdas } from "./pdas.ts";
import { gpumeshCoder } from "./program.ts";
import { decodeDeviceStake, decodeSlashRecord, deviceIdToUuid, isStakeActive, MAX_DEVICE_WEIGHT_BPS, requiredStake, STAKE_PER_WEIGHT_UNIT, stakeWithdrawableAt, UNSTAKE_COOLDOWN_SECONDS } from "./stake.ts";

/** The program's exported constants (`#[constant]` in programs/gpumesh/src/constants.rs). */
const idlConstant = (name: string) => {
  const constant = (GPUMESH_IDL.constants ?? []).find((c) => c.name === name);
  if (!constant) throw new Error(`the IDL exports no ${name}`);
  return BigInt(constant.value);
};

describe("stake sizes", () => {
  it("mirrors the program's constants (read from the IDL)", () => {
    expect(STAKE_PER_WEIGHT_UNIT).toBe(idlConstant("STAKE_PER_WEIGHT_UNIT"));
    expect(BigInt(MAX_DEVICE_WEIGHT_BPS)).toBe(idlConstant("MAX_DEVICE_WEIGHT_BPS"));
    expect(UNSTAKE_COOLDOWN_SECONDS).toBe(idlConstant("UNSTAKE_COOLDOWN_SECONDS"));
    for (const weight of [1, 600, 1_670, 10_000, 22_740, MAX_DEVICE_WEIGHT_BPS]) {
      expect(requiredStake(weight)).toBe(BigInt(weight) * idlConstant("STAKE_PER_WEIGHT_UNIT"));
    }
  });

  it("an H100 stakes 1,000 MESH, proportional to the weight", () => {
    const MESH = 1_000_000n;
    expect(requiredStake(10_000)).toBe(1_000n * MESH);
    expect(requiredStake(10_000n)).toBe(1_000n * MESH);
    expect(requiredStake(1_670)).toBe(167n * MESH);
    expect(requiredStake(20_000)).toBe(2n * requiredStake(10_000));
    expect(requiredStake(0)).toBe(0n);
    expect(() => requiredStake(1.5)).toThrow(RangeError);
    expect(() => requiredStake(-1)).toThrow(RangeError);
    expect(() => requiredStake(2 ** 32)).toThrow(RangeError);
  });
});

describe("DeviceStake accounts", () => {
  const deviceId = "6f1c2a90-4b3e-4d0a-9c11-5e7d20334158";
  const address = pdas.deviceStake(deviceId)[0];
  const authority = Keypair.generate().publicKey;
  const encode = (fields: Record<string, unknown>) =>
    gpumeshCoder.accounts.encode("DeviceStake", {
      authority,
      device_id: Array.from(Buffer.from(deviceId.replace(/-/g, ""), "hex")),
      weight_bps: 10_000,
      amount: new BN("999999999"),
      required: new BN("1000000000"),
      staked_at: new BN(1_767_225_600),
      unstake_requested_at: new BN(0),
      slashed_total: new BN(1),
      bump: 254,
      vault_bump: 253,
      reserved: Array(64).fill(0),
      ...fields,
    });

  it("decodes every field (amounts as bigint, the device id as its UUID)", async () => {
    const stake = decodeDeviceStake(address, await encode({}));
    expect(stake.authority.equals(authority)).toBe(true);
    expect(stake.vault.equals(pdas.stakeVault(address)[0])).toBe(true);
    expect(stake).toMatchObject({ deviceId, weightBps: 10_000, amount: 999_999_999n, required: 1_000_000_000n, stakedAt: 1_767_225_600n, unstakeRequestedAt: 0n, slashedTotal: 1n });
    // Below the requirement (slashed by one base unit): does not count.
    expect(isStakeActive(stake)).toBe(false);
    expect(stakeWithdrawableAt(stake)).toBeNull();
  });

  it("counts while fully staked and not unstaking", async () => {
    const full = decodeDeviceStake(address, await encode({ amount: new BN("1000000000") }));
    expect(isStakeActive(full)).toBe(true);
    const unstaking = decodeDeviceStake(address, await encode({ amount: new BN("2000000000"), unstake_requested_at: new BN(100) }));
    expect(isStakeActive(unstaking)).toBe(false);
    expect(stakeWithdrawableAt(unstaking)).toBe(100n + 604_800n);
  });

  it("refuses another account type", async () => {
    const supplier = await gpumeshCoder.accounts.encode("Supplier", { authority, payout_wallet: authority, registered_at: new BN(1), bump: 1, reserved: Array(64).fill(0) });
    expect(() => decodeDeviceStake(address, supplier)).toThrow();
  });

  it("formats device ids as UUIDs", () => {
    expect(deviceIdToUuid(Buffer.from("6f1c2a904b3e4d0a9c115e7d20334158", "hex"))).toBe(deviceId);
    expect(() => deviceIdToUuid(new Uint8Array(15))).toThrow(RangeError);
  });
});

describe("SlashRecord accounts", () => {
  const deviceId = "6f1c2a90-4b3e-4d0a-9c11-5e7d20334158";
  const stake = pdas.deviceStake(deviceId)[0];
  const evidence = new Uint8Array(32).fill(0xe5);
  const address = pdas.slashRecord(stake, evidence)[0];
  const encode = (reason: Record<string, object>) =>
    gpumeshCoder.accounts.encode("SlashRecord", {
      device_stake: stake,
      device_id: Array.from(Buffer.from(deviceId.replace(/-/g, ""), "hex")),
      evidence_hash: Array.from(evidence),
      reason,
      amount: new BN("250000000"),
      slot: new BN(4_321),
      slashed_at: new BN(1_767_225_600),
      bump: 255,
      reserved: Array(64).fill(0),
    });

  it("decodes every field (the reason by name, amounts as bigint)", async () => {
    const record = decodeSlashRecord(address, await encode({ VanishedMidLease: {} }));
    expect(record.deviceStake.equals(stake)).toBe(true);
    expect(record).toMatchObject({ deviceId, evidenceHash: evidence, reason: "VanishedMidLease", amount: 250_000_000n, slot: 4_321n, slashedAt: 1_767_225_600n });
    expect(decodeSlashRecord(address, await encode({ FailedProof: {} })).reason).toBe("FailedProof");
  });

  it("sits at one address per stake and evidence", () => {
    expect(pdas.slashRecord(stake, new Uint8Array(32).fill(0xe6))[0].equals(address)).toBe(false);
    expect(pdas.slashRecord(pdas.deviceStake("6f1c2a90-4b3e-4d0a-9c11-5e7d20334159")[0], evidence)[0].equals(address)).toBe(false);
    expect(() => pdas.slashRecord(stake, new Uint8Array(31))).toThrow(RangeError);
  });

  it("refuses another account type", async () => {
    const authority = Keypair.generate().publicKey;
    const supplier = await gpumeshCoder.accounts.encode("Supplier", { authority, payout_wallet: authority, registered_at: new BN(1), bump: 1, reserved: Array(64).fill(0) });
    expect(() => decodeSlashRecord(address, supplier)).toThrow();
  });
});
