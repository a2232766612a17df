import { randomUUID } from "node:crypto";
import { sha256 } from "@noble/hashes/sha2";
import { Keypair, type PublicKey } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventParser } from "../src/anchor.ts";
import { fetchDeviceStake, fetchSlashRecord, gpumeshCoder, isStakeActive, ix, pdas, ProgramError, requiredStake, sendInstructions, TransactionFailedError, stakeWithdrawableAt, UNSTAKE_COOLDOWN_SECONDS } from "../src/index.ts";
import { airdrop, bootstrapLocalnet, buildLocalnet, fundTokens, startLocalnet, tokenBalance, warpClock, type LocalnetAccounts, type RunningLocalnet } from "../src/localnet.ts";

// Device stake against a real programs/localnet process: a supplier stakes for an H100 with the
// settlement authority's co-signature, requests the unstake, cannot withdraw before the cooldown,
// is slashed (the MESH supply drops by exactly the slash), and reads the account back.

const MESH = 1_000_000n;
const H100 = 10_000;

let localnet: RunningLocalnet;
let chain: LocalnetAccounts;
const supplier = Keypair.generate();
let supplierToken: PublicKey;
const deviceId = randomUUID();
const FUNDED = 1_500n * MESH;

const connection = () => localnet.connection;
const supply = async () => BigInt((await connection().getTokenSupply(chain.meshMint)).value.amount);
const vault = () => pdas.stakeVault(pdas.deviceStake(deviceId)[0])[0];
const stakeIx = (amount: bigint, cosigner: PublicKey = chain.settlementAuthority.publicKey) =>
  ix.stakeDevice({ authority: supplier.publicKey, settlementAuthority: cosigner, meshMint: chain.meshMint, authorityToken: supplierToken }, { deviceId, weightBps: H100, amount });
const withdrawIx = () => ix.withdrawStake({ authority: supplier.publicKey, meshMint: chain.meshMint, authorityToken: supplierToken }, deviceId);

/** The program error a send was rejected with (fails the test if it went through). */
async function rejection(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProgramError);
  return (error as ProgramError).errorName;
}

beforeAll(async () => {
  localnet = await startLocalnet({ binary: await buildLocalnet() });
  chain = await bootstrapLocalnet(localnet.connection);
  await airdrop(connection(), supplier.publicKey, 10);
  supplierToken = await fundTokens(connection(), chain, chain.meshMint, supplier.publicKey, FUNDED);
}, 900_000);

afterAll(async () => {
  await localnet?.stop();
});

describe("device stake on localnet", () => {
  it("stakes an H100's 1,000 MESH, co-signed by the settlement authority (a stranger's co-signature is refused)", async () => {
    const stranger = Keypair.generate();
    expect(await rejection(sendInstructions(connection(), [stakeIx(requiredStake(H100), stranger.publicKey)], [supplier, stranger]))).toBe("Unauthorized");
    expect(await rejection(sendInstructions(connection(), [stakeIx(requiredStake(H100) - 1n)], [supplier, chain.settlementAuthority]))).toBe("StakeBelowRequired");

    const before = await supply();
    await sendInstructions(connection(), [stakeIx(requiredStake(H100))], [supplier, chain.settlementAuthority]);
    expect(requiredStake(H100)).toBe(1_000n * MESH);
    expect(await tokenBalance(connection(), supplierToken)).toBe(FUNDED - 1_000n * MESH);
    expect(await tokenBalance(connection(), vault())).toBe(1_000n * MESH);
    expect(await supply()).toBe(before);
    const stake = await fetchDeviceStake(connection(), deviceId);
    expect(stake).toMatchObject({ deviceId, weightBps: H100, amount: 1_000n * MESH, required: 1_000n * MESH, unstakeRequestedAt: 0n, slashedTotal: 0n });
    expect(stake!.authority.equals(supplier.publicKey)).toBe(true);
    expect(stake!.vault.equals(vault())).toBe(true);
    expect(isStakeActive(stake!)).toBe(true);
    // A second order for the same device (signed before the first landed): refused, no MESH moves.
    expect(await rejection(sendInstructions(connection(), [stakeIx(requiredStake(H100))], [supplier, chain.settlementAuthority]))).toBe("StakeAboveRequired");
    expect(await tokenBalance(connection(), supplierToken)).toBe(FUNDED - 1_000n * MESH);
  });

  it("requests the unstake (no longer active) and cannot withdraw before the cooldown", async () => {
    await sendInstructions(connection(), [ix.requestUnstake(supplier.publicKey, deviceId)], [supplier]);
    const stake = (await fetchDeviceStake(connection(), deviceId))!;
    expect(stake.unstakeRequestedAt).toBeGreaterThan(0n);
    expect(isStakeActive(stake)).toBe(false);
    expect(stakeWithdrawableAt(stake)).toBe(stake.unstakeRequestedAt + UNSTAKE_COOLDOWN_SECONDS);
    expect(await rejection(sendInstructions(connection(), [withdrawIx()], [supplier]))).toBe("UnstakeCooldownActive");
    await warpClock(localnet.url, Number(UNSTAKE_COOLDOWN_SECONDS) - 3_600);
    expect(await rejection(sendInstructions(connection(), [withdrawIx()], [supplier]))).toBe("UnstakeCooldownActive");
    expect(await tokenBalance(connection(), vault())).toBe(1_000n * MESH);
  });

  it("is slashed during the cooldown: the MESH is burned (supply drops) and the event names reason and evidence", async () => {
    const evidence = sha256(new TextEncoder().encode(`outage ${deviceId} lease 42`));
    const slash = (amount: bigint) => ix.slashStake(chain.settlementAuthority.publicKey, chain.meshMint, { deviceId, amount, reason: "VanishedMidLease", evidenceHash: evidence });
    expect(await rejection(sendInstructions(connection(), [slash(1_000n * MESH + 1n)], [chain.settlementAuthority]))).toBe("SlashExceedsStake");
    // Only the settlement authority slashes: the supplier cannot (nor, here, anyone else).
    const bySupplier = ix.slashStake(supplier.publicKey, chain.meshMint, { deviceId, amount: MESH, reason: "FailedProof", evidenceHash: evidence });
    expect(await rejection(sendInstructions(connection(), [bySupplier], [supplier]))).toBe("Unauthorized");

    const before = await supply();
    const { signature } = await sendInstructions(connection(), [slash(250n * MESH)], [chain.settlementAuthority]);
    expect(await supply()).toBe(before - 250n * MESH);
    expect(await tokenBalance(connection(), vault())).toBe(750n * MESH);
    expect(await tokenBalance(connection(), supplierToken)).toBe(FUNDED - 1_000n * MESH);

    const tx = await connection().getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    const events = [...new EventParser(chain.programId, gpumeshCoder).parseLogs(tx!.meta!.logMessages!)];
    const slashed = events.find((e) => e.name === "DeviceStakeSlashed")!.data as Record<string, unknown>;
    expect(Uint8Array.from(slashed.evidence_hash as number[])).toEqual(evidence);
    expect(slashed.reason).toEqual({ VanishedMidLease: {} });
    expect(BigInt(String(slashed.amount))).toBe(250n * MESH);
    expect(BigInt(String(slashed.remaining))).toBe(750n * MESH);
    expect(Uint8Array.from(slashed.device_id as number[])).toEqual(Uint8Array.from(Buffer.from(deviceId.replace(/-/g, ""), "hex")));

    // The slash left its record: this evidence has slashed this stake, for this much, at this slot.
    const record = await fetchSlashRecord(connection(), deviceId, evidence);
    expect(record).toMatchObject({ deviceId, evidenceHash: evidence, reason: "VanishedMidLease", amount: 250n * MESH, slot: BigInt(tx!.slot) });
    expect(await fetchSlashRecord(connection(), deviceId, sha256(new TextEncoder().encode("another offence")))).toBeNull();
    // The same evidence again (a retried job, a second scheduler) is refused by the runtime: the
    // record's address is in use. Nothing more is burned.
    const again = await sendInstructions(connection(), [slash(MESH)], [chain.settlementAuthority]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(again).toBeInstanceOf(TransactionFailedError);
    expect((again as TransactionFailedError).logs.join("\n")).toMatch(/already in use/);
    expect(await supply()).toBe(before - 250n * MESH);
    expect(await tokenBalance(connection(), vault())).toBe(750n * MESH);
  });

  it("reads the slashed stake back, then withdraws what is left after the cooldown and the account is gone", async () => {
    const stake = (await fetchDeviceStake(connection(), deviceId))!;
    expect(stake).toMatchObject({ amount: 750n * MESH, required: 1_000n * MESH, slashedTotal: 250n * MESH });
    expect(isStakeActive(stake)).toBe(false);
    await warpClock(localnet.url, 3_600);
    await sendInstructions(connection(), [withdrawIx()], [supplier]);
    expect(await tokenBalance(connection(), supplierToken)).toBe(FUNDED - 250n * MESH);
    expect(await fetchDeviceStake(connection(), deviceId)).toBeNull();
    expect(await connection().getAccountInfo(vault())).toBeNull();
    // A second withdrawal finds no stake (Anchor's AccountNotInitialized, 3012 = 0xbc4).
    const again = await sendInstructions(connection(), [withdrawIx()], [supplier]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(again).toBeInstanceOf(TransactionFailedError);
    expect((again as Error).message).toMatch(/0xbc4/);
  });
});
