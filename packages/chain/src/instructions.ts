import { BN } from "./anchor.ts";
import { TOKEN_PROGRAM_ID } from "@solana/spl-token";
import { type PublicKey, SystemProgram, TransactionInstruction, type AccountMeta } from "@solana/web3.js";
import { GPUMESH_IDL, type GpumeshInstructionName } from "./idl.ts";
import { deviceIdBytes, type DeviceId, GPUMESH_PROGRAM_ID, pdas } from "./pdas.ts";
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
const u32 = (value: number) => {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new RangeError(`${value} does not fit in a u32`);
  return value;
};

interface IdlAccountSpec {
  name: string;
  writable?: boolean;
  signer?: boolean;
}

const idlInstructions = new Map(
  (GPUMESH_IDL.instructions as unknown as { name: string; accounts: IdlAccountSpec[] }[]).map((instruction) => [instruction.name, instruction.accounts]),
);

/** Account names of each instruction, in order (the Rust `Accounts` structs, read from the IDL). */
export const INSTRUCTION_ACCOUNTS = Object.fromEntries([...idlInstructions].map(([name, accounts]) => [name, accounts.map((a) => a.name)])) as unknown as Record<GpumeshInstructionName, readonly string[]>;

/**
 * An instruction of ours: the accounts in the order and with the signer/writable flags of the IDL
 * (the Rust `Accounts` struct), so a builder can neither misorder nor misflag an account; data is the
 * discriminator ++ borsh(args).
 */
function build(name: GpumeshInstructionName, accounts: Record<string, PublicKey>, args: Record<string, unknown>, programId: PublicKey): TransactionInstruction {
  const spec = idlInstructions.get(name);
  if (!spec) throw new Error(`the IDL has no instruction ${name}`);
  const keys: AccountMeta[] = spec.map((account) => {
    const pubkey = accounts[account.name];
    if (!pubkey) throw new Error(`${name}: account ${account.name} missing`);
    return { pubkey, isSigner: account.signer === true, isWritable: account.writable === true };
  });
  return new TransactionInstruction({ programId, keys, data: gpumeshCoder.instruction.encode(name, args) });
}

const programs = { token_program: TOKEN_PROGRAM_ID, system_program: SystemProgram.programId };

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
  settlementAuthority?: PublicKey | null;
  rewardsAuthority?: PublicKey | null;
  treasury?: PublicKey | null;
  feeBps?: number | null;
  burnBps?: number | null;
}

export interface OpenLeaseAccounts {
  renter: PublicKey;
  mint: PublicKey;
  renterToken: PublicKey;
}

export interface LeaseTerms {
  leaseId: bigint;
  pricePerSecond: bigint;
  maxSeconds: bigint;
}

/** The accounts that move a lease's escrow back to its renter (end, close, cancel, extend). */
export interface LeaseEscrowAccounts {
  lease: PublicKey;
  renter: PublicKey;
  mint: PublicKey;
  /** Token account of `mint` owned by the renter. */
  renterToken: PublicKey;
}

export interface SettleAllocationAccounts {
  lease: PublicKey;
  index: number;
  mint: PublicKey;
  /** The allocation's supplier wallet (`Supplier.authority`); the Supplier PDA is derived from it. */
  supplierAuthority: PublicKey;
  /** Token account of `mint` owned by the supplier's payout wallet. */
  supplierToken: PublicKey;
  /** Token account of `mint` owned by the config's treasury. */
  treasuryToken: PublicKey;
}

/** Why a stake is slashed (`SlashReason` in programs/gpumesh/src/state.rs). */
export type SlashReason = "FailedProof" | "VanishedMidLease";

export interface StakeDeviceAccounts {
  /** The supplier wallet: signs, pays the rents, and alone may top up, unstake and withdraw. */
  authority: PublicKey;
  /** Co-signs: attests the device's weight (and that the device is the authority's). */
  settlementAuthority: PublicKey;
  meshMint: PublicKey;
  /** MESH token account owned by `authority` (the source of a stake, the payee of a withdrawal). */
  authorityToken: PublicKey;
}

export interface SlashStakeArgs {
  deviceId: DeviceId;
  /** Base units burned from the stake (at most what is staked). */
  amount: bigint;
  reason: SlashReason;
  /** sha256 of the evidence: the failed proof's evidence or the outage record (not all zero). */
  evidenceHash: Uint8Array;
}

const deviceIdArg = (deviceId: DeviceId) => Array.from(deviceIdBytes(deviceId));

/** The stake PDA of `deviceId` and its vault. */
function stakeAccounts(deviceId: DeviceId, programId: PublicKey): { device_stake: PublicKey; stake_vault: PublicKey } {
  const deviceStake = pdas.deviceStake(deviceId, programId)[0];
  return { device_stake: deviceStake, stake_vault: pdas.stakeVault(deviceStake, programId)[0] };
}

const opt = (value: bigint | number | null | undefined) => (value === null || value === undefined ? null : i64(value));

export const ix = {
  initialize(admin: PublicKey, meshMint: PublicKey, args: InitializeArgs, programId = GPUMESH_PROGRAM_ID) {
    return build(
      "initialize",
      { admin, config: pdas.config(programId)[0], mesh_mint: meshMint, mint_authority: pdas.mintAuthority(programId)[0], rewards_vault: pdas.rewardsVault(programId)[0], ...programs },
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
      { admin, config: pdas.config(programId)[0] },
      {
        args: {
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

  /** Step one of the admin handover: the admin names its successor. */
  proposeAdmin(admin: PublicKey, newAdmin: PublicKey, programId = GPUMESH_PROGRAM_ID) {
    return build("propose_admin", { admin, config: pdas.config(programId)[0] }, { new_admin: newAdmin }, programId);
  },

  /** Step two: the proposed admin signs to take the role. */
  acceptAdmin(newAdmin: PublicKey, programId = GPUMESH_PROGRAM_ID) {
    return build("accept_admin", { new_admin: newAdmin, config: pdas.config(programId)[0] }, {}, programId);
  },

  setPaused(admin: PublicKey, paused: boolean, programId = GPUMESH_PROGRAM_ID) {
    return build("set_paused", { admin, config: pdas.config(programId)[0] }, { paused }, programId);
  },

  setPaymentMint(admin: PublicKey, mint: PublicKey, enabled: boolean, minPricePerSecond: bigint, programId = GPUMESH_PROGRAM_ID) {
    return build(
      "set_payment_mint",
      { admin, config: pdas.config(programId)[0], mint, payment_mint: pdas.paymentMint(mint, programId)[0], ...programs },
      { enabled, min_price_per_second: u64(minPricePerSecond) },
      programId,
    );
  },

  registerSupplier(authority: PublicKey, payoutWallet: PublicKey, programId = GPUMESH_PROGRAM_ID) {
    return build("register_supplier", { authority, supplier: pdas.supplier(authority, programId)[0], ...programs }, { payout_wallet: payoutWallet }, programId);
  },

  /** The supplier rotates the wallet its payouts go to. */
  setPayoutWallet(authority: PublicKey, payoutWallet: PublicKey, programId = GPUMESH_PROGRAM_ID) {
    return build("set_payout_wallet", { authority, supplier: pdas.supplier(authority, programId)[0] }, { payout_wallet: payoutWallet }, programId);
  },

  /** The renter escrows `price · max` for a Pending lease (the server builds it from its quote; the wallet signs). */
  openLease(accounts: OpenLeaseAccounts, terms: LeaseTerms, programId = GPUMESH_PROGRAM_ID) {
    const lease = pdas.lease(accounts.renter, terms.leaseId, programId)[0];
    return build(
      "open_lease",
      {
        renter: accounts.renter,
        config: pdas.config(programId)[0],
        payment_mint: pdas.paymentMint(accounts.mint, programId)[0],
        mint: accounts.mint,
        lease,
        escrow: pdas.escrow(lease, programId)[0],
        renter_token: accounts.renterToken,
        ...programs,
      },
      { lease_id: u64(terms.leaseId), price_per_second: u64(terms.pricePerSecond), max_seconds: u64(terms.maxSeconds) },
      programId,
    );
  },

  /** Pending → Active from `startTs`, only if the terms are the lease's (the quote the server issued). */
  activateLease(settlementAuthority: PublicKey, lease: PublicKey, args: { startTs: bigint | number; pricePerSecond: bigint; maxSeconds: bigint }, programId = GPUMESH_PROGRAM_ID) {
    return build(
      "activate_lease",
      { settlement_authority: settlementAuthority, config: pdas.config(programId)[0], lease },
      { start_ts: i64(args.startTs), price_per_second: u64(args.pricePerSecond), max_seconds: u64(args.maxSeconds) },
      programId,
    );
  },

  /** Allocation number `index` (the lease's `allocation_count`): `supplierAuthority` is paid `ratePerSecond` from `fromTs`. */
  addAllocation(settlementAuthority: PublicKey, lease: PublicKey, index: number, supplierAuthority: PublicKey, args: { ratePerSecond: bigint; fromTs: bigint | number }, programId = GPUMESH_PROGRAM_ID) {
    return build(
      "add_allocation",
      {
        settlement_authority: settlementAuthority,
        config: pdas.config(programId)[0],
        lease,
        supplier: pdas.supplier(supplierAuthority, programId)[0],
        allocation: pdas.allocation(lease, index, programId)[0],
        ...programs,
      },
      { rate_per_second: u64(args.ratePerSecond), from_ts: i64(args.fromTs) },
      programId,
    );
  },

  /** The node behind allocation `index` stopped serving at `untilTs`. */
  releaseAllocation(settlementAuthority: PublicKey, lease: PublicKey, index: number, untilTs: bigint | number, programId = GPUMESH_PROGRAM_ID) {
    return build(
      "release_allocation",
      { settlement_authority: settlementAuthority, config: pdas.config(programId)[0], lease, allocation: pdas.allocation(lease, index, programId)[0] },
      { until_ts: i64(untilTs) },
      programId,
    );
  },

  /** Pays an allocation what it is owed up to `until` (or now); anyone may send it. */
  settleAllocation(accounts: SettleAllocationAccounts, until: bigint | number | null, programId = GPUMESH_PROGRAM_ID) {
    return build(
      "settle_allocation",
      {
        config: pdas.config(programId)[0],
        lease: accounts.lease,
        allocation: pdas.allocation(accounts.lease, accounts.index, programId)[0],
        escrow: pdas.escrow(accounts.lease, programId)[0],
        mint: accounts.mint,
        supplier: pdas.supplier(accounts.supplierAuthority, programId)[0],
        supplier_token: accounts.supplierToken,
        treasury_token: accounts.treasuryToken,
        ...programs,
      },
      { until: opt(until) },
      programId,
    );
  },

  /** Active → Ended at `endTs` (the authority's fixed end; null: now, or the expiry); unused deposit back to the renter. */
  endLease(caller: PublicKey, accounts: LeaseEscrowAccounts, endTs: bigint | number | null = null, programId = GPUMESH_PROGRAM_ID) {
    return build("end_lease", { caller, ...escrowAccounts(accounts, programId) }, { end_ts: opt(endTs) }, programId);
  },

  /** Ended and fully paid: the escrow's dust back to the renter, escrow closed. Anyone may send it. */
  closeLease(caller: PublicKey, accounts: LeaseEscrowAccounts, programId = GPUMESH_PROGRAM_ID) {
    return build("close_lease", { caller, ...escrowAccounts(accounts, programId) }, {}, programId);
  },

  /** Pending → Cancelled, 100 % back to the renter. */
  cancelLease(caller: PublicKey, accounts: LeaseEscrowAccounts, programId = GPUMESH_PROGRAM_ID) {
    return build("cancel_lease", { caller, ...escrowAccounts(accounts, programId) }, {}, programId);
  },

  /** The renter buys `extraSeconds` more at the lease's price. */
  extendLease(accounts: LeaseEscrowAccounts, extraSeconds: bigint, programId = GPUMESH_PROGRAM_ID) {
    return build("extend_lease", escrowAccounts(accounts, programId), { extra_seconds: u64(extraSeconds) }, programId);
  },

  crankEmissions(meshMint: PublicKey, programId = GPUMESH_PROGRAM_ID) {
    return build(
      "crank_emissions",
      { config: pdas.config(programId)[0], mesh_mint: meshMint, mint_authority: pdas.mintAuthority(programId)[0], rewards_vault: pdas.rewardsVault(programId)[0], ...programs },
      {},
      programId,
    );
  },

  postRewardRoot(rewardsAuthority: PublicKey, epoch: bigint, root: Uint8Array, totalCumulative: bigint, programId = GPUMESH_PROGRAM_ID) {
    return build(
      "post_reward_root",
      { rewards_authority: rewardsAuthority, config: pdas.config(programId)[0] },
      { epoch: u64(epoch), root: bytes32(root), total_cumulative: u64(totalCumulative) },
      programId,
    );
  },

  claimRewards(claimant: PublicKey, meshMint: PublicKey, claimantToken: PublicKey, cumulative: bigint, proof: readonly Uint8Array[], programId = GPUMESH_PROGRAM_ID) {
    return build(
      "claim_rewards",
      {
        claimant,
        config: pdas.config(programId)[0],
        claim_record: pdas.claimRecord(claimant, programId)[0],
        rewards_vault: pdas.rewardsVault(programId)[0],
        mesh_mint: meshMint,
        claimant_token: claimantToken,
        ...programs,
      },
      { cumulative: u64(cumulative), proof: proof.map(bytes32) },
      programId,
    );
  },

  /**
   * The supplier stakes `amount` MESH for a device of `weightBps` (create, or top up at the same
   * weight). Needs both signatures: the supplier's and the settlement authority's (the attestation).
   */
  stakeDevice(accounts: StakeDeviceAccounts, args: { deviceId: DeviceId; weightBps: number; amount: bigint }, programId = GPUMESH_PROGRAM_ID) {
    return build(
      "stake_device",
      {
        authority: accounts.authority,
        settlement_authority: accounts.settlementAuthority,
        config: pdas.config(programId)[0],
        ...stakeAccounts(args.deviceId, programId),
        mesh_mint: accounts.meshMint,
        authority_token: accounts.authorityToken,
        ...programs,
      },
      { device_id: deviceIdArg(args.deviceId), weight_bps: u32(args.weightBps), amount: u64(args.amount) },
      programId,
    );
  },

  /** The stake's authority starts the unstake cooldown (the stake stops counting for rewards). */
  requestUnstake(authority: PublicKey, deviceId: DeviceId, programId = GPUMESH_PROGRAM_ID) {
    return build("request_unstake", { authority, device_stake: pdas.deviceStake(deviceId, programId)[0] }, { device_id: deviceIdArg(deviceId) }, programId);
  },

  /** After the cooldown: what is left of the stake back to the authority; stake and vault closed. */
  withdrawStake(accounts: Omit<StakeDeviceAccounts, "settlementAuthority">, deviceId: DeviceId, programId = GPUMESH_PROGRAM_ID) {
    return build(
      "withdraw_stake",
      {
        authority: accounts.authority,
        config: pdas.config(programId)[0],
        ...stakeAccounts(deviceId, programId),
        mesh_mint: accounts.meshMint,
        authority_token: accounts.authorityToken,
        ...programs,
      },
      { device_id: deviceIdArg(deviceId) },
      programId,
    );
  },

  /**
   * The settlement authority burns `amount` of a device's stake, naming the reason and the evidence's
   * hash. It creates the slash record of (stake, evidence) and pays its rent, so the same evidence never
   * slashes twice: a second one fails (System Program error 0, account in use); `fetchSlashRecord`
   * tells a caller whether that is what happened.
   */
  slashStake(settlementAuthority: PublicKey, meshMint: PublicKey, args: SlashStakeArgs, programId = GPUMESH_PROGRAM_ID) {
    const stake = stakeAccounts(args.deviceId, programId);
    return build(
      "slash_stake",
      {
        settlement_authority: settlementAuthority,
        config: pdas.config(programId)[0],
        ...stake,
        slash_record: pdas.slashRecord(stake.device_stake, args.evidenceHash, programId)[0],
        mesh_mint: meshMint,
        ...programs,
      },
      { device_id: deviceIdArg(args.deviceId), amount: u64(args.amount), reason: { [args.reason]: {} }, evidence_hash: bytes32(args.evidenceHash) },
      programId,
    );
  },
} as const;

/** The accounts that return a lease's escrow to its renter (end, close, cancel) or fill it (extend). */
function escrowAccounts(accounts: LeaseEscrowAccounts, programId: PublicKey): Record<string, PublicKey> {
  return {
    renter: accounts.renter,
    config: pdas.config(programId)[0],
    lease: accounts.lease,
    escrow: pdas.escrow(accounts.lease, programId)[0],
    mint: accounts.mint,
    renter_token: accounts.renterToken,
    ...programs,
  };
}

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
