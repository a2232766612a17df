import { readFileSync } from "node:fs";
import path from "node:path";
import { PublicKey, type TransactionInstruction } from "@solana/web3.js";
import { describe, expect, it } from "vitest";
import { DEV_ADMIN_AUTHORITY, GPUMESH_PROGRAM_ID, pdas } from "./pdas.ts";
import { decodeInstruction, INSTRUCTION_ACCOUNTS, ix } from "./instructions.ts";
import { GPUMESH_IDL } from "./idl.ts";

// programs/gpumesh/tests/vectors.rs serialises the program's own instruction builders; ours must
// produce the same bytes and the same ordered account metas.
interface Row {
  name: string;
  discriminator: string;
  data: string;
  args: Record<string, unknown>;
  accounts: { name: string; pubkey: string; is_signer: boolean; is_writable: boolean }[];
}
const vectors = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../../programs/gpumesh/vectors/instructions.json"), "utf8")) as {
  program_id: string;
  instructions: Row[];
};

const key = (byte: number) => new PublicKey(new Uint8Array(32).fill(byte));
const hexBytes = (hex: string) => Uint8Array.from(Buffer.from(hex, "hex"));

// The same inputs as `instruction_vectors` in vectors.rs.
const admin = DEV_ADMIN_AUTHORITY;
const [mesh, usdc, settlement, rewards, treasury, supplier, payout, renter, renterToken, supplierToken, treasuryToken, claimant, claimantToken] = [
  0x11, 0x12, 0x21, 0x22, 0x23, 0x31, 0x32, 0x41, 0x42, 0x43, 0x44, 0x51, 0x52,
].map(key) as [PublicKey, PublicKey, PublicKey, PublicKey, PublicKey, PublicKey, PublicKey, PublicKey, PublicKey, PublicKey, PublicKey, PublicKey, PublicKey];
const lease = pdas.lease(renter, 7n)[0];
// The stake inputs of vectors.rs: a device UUID, a supplier wallet and its MESH account, evidence.
const deviceId = "6f1c2a90-4b3e-4d0a-9c11-5e7d20334158";
const [staker, stakerToken] = [key(0x61), key(0x62)];

const built: Record<string, TransactionInstruction> = {
  initialize: ix.initialize(admin, mesh, { settlementAuthority: settlement, rewardsAuthority: rewards, treasury, feeBps: 250, burnBps: 5_000, emissionStart: 1_767_225_600n }),
  update_config: ix.updateConfig(admin, { settlementAuthority: key(0x24), feeBps: 300 }),
  set_paused: ix.setPaused(admin, true),
  set_payment_mint: ix.setPaymentMint(admin, usdc, true, 25n),
  register_supplier: ix.registerSupplier(supplier, payout),
  propose_admin: ix.proposeAdmin(admin, key(0x25)),
  accept_admin: ix.acceptAdmin(key(0x25)),
  set_payout_wallet: ix.setPayoutWallet(supplier, key(0x33)),
  open_lease: ix.openLease({ renter, mint: usdc, renterToken }, { leaseId: 7n, pricePerSecond: 1_000n, maxSeconds: 3_600n }),
  activate_lease: ix.activateLease(settlement, lease, { startTs: 1_767_225_700n, pricePerSecond: 1_000n, maxSeconds: 3_600n }),
  add_allocation: ix.addAllocation(settlement, lease, 2, supplier, { ratePerSecond: 600n, fromTs: 1_767_225_700n }),
  release_allocation: ix.releaseAllocation(settlement, lease, 2, 1_767_229_300n),
  settle_allocation: ix.settleAllocation({ lease, index: 2, mint: usdc, supplierAuthority: supplier, supplierToken, treasuryToken }, 1_767_229_200n),
  end_lease: ix.endLease(renter, { lease, renter, mint: usdc, renterToken }, null),
  close_lease: ix.closeLease(supplier, { lease, renter, mint: usdc, renterToken }),
  cancel_lease: ix.cancelLease(settlement, { lease, renter, mint: usdc, renterToken }),
  extend_lease: ix.extendLease({ lease, renter, mint: usdc, renterToken }, 1_800n),
  crank_emissions: ix.crankEmissions(mesh),
  post_reward_root: ix.postRewardRoot(rewards, 3n, new Uint8Array(32).fill(0x5e), 123_456_789n),
  claim_rewards: ix.claimRewards(claimant, mesh, claimantToken, 4_566_210_045n, [new Uint8Array(32).fill(0xab), new Uint8Array(32).fill(0xcd)]),
  stake_device: ix.stakeDevice({ authority: staker, settlementAuthority: settlement, meshMint: mesh, authorityToken: stakerToken }, { deviceId, weightBps: 10_000, amount: 1_000_000_000n }),
  request_unstake: ix.requestUnstake(staker, deviceId),
  withdraw_stake: ix.withdrawStake({ authority: staker, meshMint: mesh, authorityToken: stakerToken }, deviceId),
  slash_stake: ix.slashStake(settlement, mesh, { deviceId, amount: 123_456_789n, reason: "VanishedMidLease", evidenceHash: new Uint8Array(32).fill(0xe5) }),
};

describe("instruction builders match the program (instructions.json)", () => {
  it("covers every instruction of the program and the IDL", () => {
    expect(vectors.program_id).toBe(GPUMESH_PROGRAM_ID.toBase58());
    expect(vectors.instructions.map((r) => r.name).sort()).toEqual(Object.keys(built).sort());
    expect(GPUMESH_IDL.instructions.map((i) => i.name).sort()).toEqual(Object.keys(built).sort());
  });

  for (const row of vectors.instructions) {
    it(`${row.name}: data bytes and ordered account metas`, () => {
      const instruction = built[row.name]!;
      expect(instruction.programId.toBase58()).toBe(vectors.program_id);
      expect(Buffer.from(instruction.data).toString("hex")).toBe(row.data);
      expect(row.data.startsWith(row.discriminator)).toBe(true);
      expect(instruction.keys.map((k) => ({ pubkey: k.pubkey.toBase58(), is_signer: k.isSigner, is_writable: k.isWritable }))).toEqual(
        row.accounts.map(({ pubkey, is_signer, is_writable }) => ({ pubkey, is_signer, is_writable })),
      );
      expect(INSTRUCTION_ACCOUNTS[row.name as keyof typeof INSTRUCTION_ACCOUNTS]).toEqual(row.accounts.map((a) => a.name));
      // And the decoder reads the program's bytes back to the same instruction.
      const decoded = decodeInstruction({ ...instruction, data: Buffer.from(hexBytes(row.data)) } as TransactionInstruction);
      expect(decoded?.name).toBe(row.name);
      expect(Object.keys(decoded!.accounts)).toEqual(row.accounts.map((a) => a.name));
    });
  }

  it("takes a device id as UUID text or its 16 bytes, and refuses anything else", () => {
    const bytes = Uint8Array.from(Buffer.from(deviceId.replace(/-/g, ""), "hex"));
    expect(ix.requestUnstake(staker, bytes).data).toEqual(built.request_unstake!.data);
    expect(ix.requestUnstake(staker, deviceId.toUpperCase()).data).toEqual(built.request_unstake!.data);
    expect(() => ix.requestUnstake(staker, "not-a-uuid")).toThrow(RangeError);
    expect(() => ix.requestUnstake(staker, new Uint8Array(15))).toThrow(RangeError);
    expect(() => ix.stakeDevice({ authority: staker, settlementAuthority: settlement, meshMint: mesh, authorityToken: stakerToken }, { deviceId, weightBps: 2 ** 32, amount: 1n })).toThrow(RangeError);
    expect(() => ix.slashStake(settlement, mesh, { deviceId, amount: 1n, reason: "FailedProof", evidenceHash: new Uint8Array(31) })).toThrow(RangeError);
  });
});
