import { BN } from "./anchor.ts";
import { TOKEN_PROGRAM_ID } from "@solana/spl-token";
import { type PublicKey, SystemProgram, TransactionInstruction, type AccountMeta } from "@solana/web3.js";
import type { GpumeshInstructionName } from "./idl.ts";
import { GPUMESH_PROGRAM_ID, pdas } from "./pdas.ts";
import { gpumeshCoder } from "./program.ts";

/**
 * One builder per program instruction. Data is Anchor's discriminator ++ borsh(args) (encoded by
 * the IDL coder), account metas are in the order and with the flags of the Rust `Accounts`
 * structs; `instructions.test.ts` replays the Rust vectors byte for byte.
 */

const u64 = (value: bigint | number) => {
  const v = BigInt(value);
  if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw new RangeError(`${value} does not fit in a u64`);
  return new BN(v.toString());
};
const i64 = (value: bigint | number) => new BN(BigInt(value).toString());
const bytes32 = (value: Uint8Array) => {
  if (value.length !== 32) throw new RangeError("expected 32 bytes");
  return Array.from(value);
};

const w = (pubkey: PublicKey, isSigner = false): AccountMeta => ({ pubkey, isSigner, isWritable: true });
const r = (pubkey: PublicKey, isSigner = false): AccountMeta => ({ pubkey, isSigner, isWritable: false });

/** Account names of each instruction, in order (from the Rust `Accounts` structs). */
export const INSTRUCTION_ACCOUNTS: Record<GpumeshInstructionName, readonly string[]> = {
  initialize: ["admin", "config", "mesh_mint", "mint_authority", "rewards_vault", "token_program", "system_program"],
  update_config: ["admin", "config"],
  set_paused: ["admin", "config"],
  set_payment_mint: ["admin", "config", "mint", "payment_mint", "system_program"],
  register_supplier: ["authority", "supplier", "system_program"],
  open_lease: ["renter", "config", "payment_mint", "mint", "supplier", "lease", "escrow", "renter_token", "token_program", "system_program"],
  settle_lease: ["settlement_authority", "config", "lease", "escrow", "mint", "supplier", "supplier_token", "treasury_token", "token_program"],
  end_lease: ["caller", "config", "lease", "renter", "escrow", "mint", "supplier", "supplier_token", "treasury_token", "renter_token", "token_program"],
  crank_emissions: ["config", "mesh_mint", "mint_authority", "rewards_vault", "token_program"],
  post_reward_root: ["rewards_authority", "config"],
  claim_rewards: ["claimant", "config", "claim_record", "rewards_vault", "mesh_mint", "claimant_token", "token_program", "system_program"],
};

function build(name: GpumeshInstructionName, keys: AccountMeta[], args: Record<string, unknown>, programId: PublicKey): TransactionInstruction {
  return new TransactionInstruction({ programId, keys, data: gpumeshCoder.instruction.encode(name, args) });
}

export interface InitializeArgs {
  settlementAuthority: PublicKey;
  rewardsAuthority: PublicKey;
  treasury: PublicKey;
  feeBps: number;
  burnBps: number;
  /** Unix seconds at which emission hour 1 begins. */
  emissionStart: bigint | number;
}

export interface UpdateConfigArgs {
  admin?: PublicKey | null;
  settlementAuthority?: PublicKey | null;
  rewardsAuthority?: PublicKey | null;
  treasury?: PublicKey | null;
  feeBps?: number | null;
  burnBps?: number | null;
}

export interface OpenLeaseAccounts {
  renter: PublicKey;
  mint: PublicKey;
  /** The supplier's wallet (`Supplier.authority`); the Supplier PDA is derived from it. */
  supplierAuthority: PublicKey;
  renterToken: PublicKey;
}

export interface LeaseTerms {
  leaseId: bigint;
  pricePerSecond: bigint;
  maxSeconds: bigint;
}

export interface SettleAccounts {
  lease: PublicKey;
  mint: PublicKey;
  supplierAuthority: PublicKey;
  /** Token account of `mint` owned by the supplier's payout wallet. */
  supplierToken: PublicKey;
  /** Token account of `mint` owned by the config's treasury. */
  treasuryToken: PublicKey;
}

export interface EndAccounts extends SettleAccounts {
  renter: PublicKey;
  renterToken: PublicKey;
}

export const ix = {
  initialize(admin: PublicKey, meshMint: PublicKey, args: InitializeArgs, programId = GPUMESH_PROGRAM_ID) {
    return build(
      "initialize",
      [w(admin, true), w(pdas.config(programId)[0]), w(meshMint), r(pdas.mintAuthority(programId)[0]), w(pdas.rewardsVault(programId)[0]), r(TOKEN_PROGRAM_ID), r(SystemProgram.programId)],
      {
        args: {
          settlement_authority: args.settlementAuthority,
          rewards_authority: args.rewardsAuthority,
          treasury: args.treasury,
          fee_bps: args.feeBps,
          burn_bps: args.burnBps,
          emission_start: i64(args.emissionStart),
        },
      },
      programId,
    );
  },

  updateConfig(admin: PublicKey, args: UpdateConfigArgs, programId = GPUMESH_PROGRAM_ID) {
    return build(
      "update_config",
      [r(admin, true), w(pdas.config(programId)[0])],
      {
        args: {
          admin: args.admin ?? null,
          settlement_authority: args.settlementAuthority ?? null,
          rewards_authority: args.rewardsAuthority ?? null,
          treasury: args.treasury ?? null,
          fee_bps: args.feeBps ?? null,
          burn_bps: args.burnBps ?? null,
        },
      },
      programId,
    );
  },

  setPaused(admin: PublicKey, paused: boolean, programId = GPUMESH_PROGRAM_ID) {
    return build("set_paused", [r(admin, true), w(pdas.config(programId)[0])], { paused }, programId);
  },

  setPaymentMint(admin: PublicKey, mint: PublicKey, enabled: boolean, minPricePerSecond: bigint, programId = GPUMESH_PROGRAM_ID) {
    return build(
      "set_payment_mint",
      [w(admin, true), r(pdas.config(programId)[0]), r(mint), w(pdas.paymentMint(mint, programId)[0]), r(SystemProgram.programId)],
      { enabled, min_price_per_second: u64(minPricePerSecond) },
      programId,
    );
  },

  registerSupplier(authority: PublicKey, payoutWallet: PublicKey, programId = GPUMESH_PROGRAM_ID) {
    return build("register_supplier", [w(authority, true), w(pdas.supplier(authority, programId)[0]), r(SystemProgram.programId)], { payout_wallet: payoutWallet }, programId);
  },

  openLease(accounts: OpenLeaseAccounts, terms: LeaseTerms, programId = GPUMESH_PROGRAM_ID) {
    const lease = pdas.lease(accounts.renter, terms.leaseId, programId)[0];
    return build(
      "open_lease",
      [
        w(accounts.renter, true),
        r(pdas.config(programId)[0]),
        r(pdas.paymentMint(accounts.mint, programId)[0]),
        r(accounts.mint),
        r(pdas.supplier(accounts.supplierAuthority, programId)[0]),
        w(lease),
        w(pdas.escrow(lease, programId)[0]),
        w(accounts.renterToken),
        r(TOKEN_PROGRAM_ID),
        r(SystemProgram.programId),
      ],
      { lease_id: u64(terms.leaseId), price_per_second: u64(terms.pricePerSecond), max_seconds: u64(terms.maxSeconds) },
      programId,
    );
  },

  settleLease(settlementAuthority: PublicKey, accounts: SettleAccounts, programId = GPUMESH_PROGRAM_ID) {
    return build(
      "settle_lease",
      [
        r(settlementAuthority, true),
        r(pdas.config(programId)[0]),
        w(accounts.lease),
        w(pdas.escrow(accounts.lease, programId)[0]),
        w(accounts.mint),
        r(pdas.supplier(accounts.supplierAuthority, programId)[0]),
        w(accounts.supplierToken),
        w(accounts.treasuryToken),
        r(TOKEN_PROGRAM_ID),
      ],
      {},
      programId,
    );
  },

  endLease(caller: PublicKey, accounts: EndAccounts, programId = GPUMESH_PROGRAM_ID) {
    return build(
      "end_lease",
      [
        r(caller, true),
        r(pdas.config(programId)[0]),
        w(accounts.lease),
        w(accounts.renter),
        w(pdas.escrow(accounts.lease, programId)[0]),
        w(accounts.mint),
        r(pdas.supplier(accounts.supplierAuthority, programId)[0]),
        w(accounts.supplierToken),
        w(accounts.treasuryToken),
        w(accounts.renterToken),
        r(TOKEN_PROGRAM_ID),
      ],
      {},
      programId,
    );
  },

  crankEmissions(meshMint: PublicKey, programId = GPUMESH_PROGRAM_ID) {
    return build(
      "crank_emissions",
      [w(pdas.config(programId)[0]), w(meshMint), r(pdas.mintAuthority(programId)[0]), w(pdas.rewardsVault(programId)[0]), r(TOKEN_PROGRAM_ID)],
      {},
      programId,
    );
  },

  postRewardRoot(rewardsAuthority: PublicKey, epoch: bigint, root: Uint8Array, totalCumulative: bigint, programId = GPUMESH_PROGRAM_ID) {
    return build(
      "post_reward_root",
      [r(rewardsAuthority, true), w(pdas.config(programId)[0])],
      { epoch: u64(epoch), root: bytes32(root), total_cumulative: u64(totalCumulative) },
      programId,
    );
  },

  claimRewards(claimant: PublicKey, meshMint: PublicKey, claimantToken: PublicKey, cumulative: bigint, proof: readonly Uint8Array[], programId = GPUMESH_PROGRAM_ID) {
    return build(
      "claim_rewards",
      [
        w(claimant, true),
        w(pdas.config(programId)[0]),
        w(pdas.claimRecord(claimant, programId)[0]),
        w(pdas.rewardsVault(programId)[0]),
        r(meshMint),
        w(claimantToken),
        r(TOKEN_PROGRAM_ID),
        r(SystemProgram.programId),
      ],
      { cumulative: u64(cumulative), proof: proof.map(bytes32) },
      programId,
    );
  },
} as const;

export interface DecodedInstruction {
  name: GpumeshInstructionName;
  /** Borsh-decoded args with the IDL's (snake_case) names; integers as BN. */
  args: Record<string, unknown>;
  /** Account metas by name (order of the Rust `Accounts` struct). */
  accounts: Record<string, AccountMeta>;
}

/** Decodes a gpumesh instruction (null when it is not one of ours or does not decode). */
export function decodeInstruction(instruction: TransactionInstruction, programId = GPUMESH_PROGRAM_ID): DecodedInstruction | null {
  if (!instruction.programId.equals(programId)) return null;
  const decoded = gpumeshCoder.instruction.decode(Buffer.from(instruction.data));
  if (!decoded) return null;
  const name = decoded.name as GpumeshInstructionName;
  const names = INSTRUCTION_ACCOUNTS[name];
  if (!names) return null;
  const accounts: Record<string, AccountMeta> = {};
  names.forEach((accountName, index) => {
    const meta = instruction.keys[index];
    if (meta) accounts[accountName] = meta;
  });
  return { name, args: decoded.data as Record<string, unknown>, accounts };
}
