import type { Connection, PublicKey } from "@solana/web3.js";
import type { BN } from "./anchor.ts";
import { GPUMESH_PROGRAM_ID, pdas } from "./pdas.ts";
import { decodeAccount } from "./program.ts";

/**
 * The program's lease and allocation accounts (MONEY-V2.md), and `planLeaseSync`: given what the
 * ledger says a lease should look like and what the chain holds, the next instructions that bring the
 * chain in line. Pure; the scheduler reads both sides, sends the steps, reads again and repeats until
 * nothing is left, so a crash or a failed send at any point is finished by the next run.
 */

/** `Lease.status` (programs/gpumesh/src/constants.rs). */
export const LEASE_STATUS = { pending: 0, active: 1, ended: 2, cancelled: 3, closed: 4 } as const;
export type LeaseStatusName = keyof typeof LEASE_STATUS;
const STATUS_NAMES = Object.fromEntries(Object.entries(LEASE_STATUS).map(([name, value]) => [value, name])) as Record<number, LeaseStatusName>;

/** `Allocation.until_ts` of an allocation that is still open. */
export const OPEN_UNTIL = 0x7fff_ffff_ffff_ffffn;

export interface LeaseAccount {
  address: PublicKey;
  leaseId: bigint;
  renter: PublicKey;
  mint: PublicKey;
  pricePerSecond: bigint;
  maxSeconds: bigint;
  deposited: bigint;
  status: LeaseStatusName;
  openedAt: bigint;
  activationDeadline: bigint;
  startTs: bigint;
  endTs: bigint;
  feeBps: number;
  burnBps: number;
  isMesh: boolean;
  openRate: bigint;
  lastChangeTs: bigint;
  allocationCount: number;
  owedTotal: bigint;
  totalGross: bigint;
  totalSupplier: bigint;
  totalTreasury: bigint;
  totalBurned: bigint;
  refunded: bigint;
}

export interface AllocationAccount {
  address: PublicKey;
  index: number;
  /** The supplier's wallet (`Supplier.authority`). */
  supplier: PublicKey;
  ratePerSecond: bigint;
  fromTs: bigint;
  /** `OPEN_UNTIL` while the node serves. */
  untilTs: bigint;
  settledUntil: bigint;
  totalGross: bigint;
  totalFee: bigint;
  totalBurned: bigint;
  totalSupplier: bigint;
  totalTreasury: bigint;
}

type Raw = Record<string, unknown>;
const big = (value: unknown) => BigInt((value as BN).toString());

export function decodeLease(address: PublicKey, data: Uint8Array): LeaseAccount {
  const raw = decodeAccount<Raw>("Lease", data);
  return {
    address,
    leaseId: big(raw.lease_id),
    renter: raw.renter as PublicKey,
    mint: raw.mint as PublicKey,
    pricePerSecond: big(raw.price_per_second),
    maxSeconds: big(raw.max_seconds),
    deposited: big(raw.deposited),
    status: STATUS_NAMES[raw.status as number] ?? "pending",
    openedAt: big(raw.opened_at),
    activationDeadline: big(raw.activation_deadline),
    startTs: big(raw.start_ts),
    endTs: big(raw.end_ts),
    feeBps: raw.fee_bps as number,
    burnBps: raw.burn_bps as number,
    isMesh: raw.is_mesh as boolean,
    openRate: big(raw.open_rate),
    lastChangeTs: big(raw.last_change_ts),
    allocationCount: raw.allocation_count as number,
    owedTotal: big(raw.owed_total),
    totalGross: big(raw.total_gross),
    totalSupplier: big(raw.total_supplier),
    totalTreasury: big(raw.total_treasury),
    totalBurned: big(raw.total_burned),
    refunded: big(raw.refunded),
  };
}

export function decodeAllocation(address: PublicKey, data: Uint8Array): AllocationAccount {
  const raw = decodeAccount<Raw>("Allocation", data);
  return {
    address,
    index: raw.index as number,
    supplier: raw.supplier as PublicKey,
    ratePerSecond: big(raw.rate_per_second),
    fromTs: big(raw.from_ts),
    untilTs: big(raw.until_ts),
    settledUntil: big(raw.settled_until),
    totalGross: big(raw.total_gross),
    totalFee: big(raw.total_fee),
    totalBurned: big(raw.total_burned),
    totalSupplier: big(raw.total_supplier),
    totalTreasury: big(raw.total_treasury),
  };
}

/** The lease of (`renter`, `leaseId`); null when it was never opened. */
export async function fetchLease(connection: Connection, renter: PublicKey, leaseId: bigint, programId: PublicKey = GPUMESH_PROGRAM_ID): Promise<LeaseAccount | null> {
  const address = pdas.lease(renter, leaseId, programId)[0];
  const info = await connection.getAccountInfo(address, "confirmed");
  if (!info || !info.owner.equals(programId) || info.data.length === 0) return null;
  return decodeLease(address, info.data);
}

/** Allocations 0 … count−1 of a lease (in index order; a missing one is skipped). */
export async function fetchAllocations(connection: Connection, lease: PublicKey, count: number, programId: PublicKey = GPUMESH_PROGRAM_ID): Promise<AllocationAccount[]> {
  const addresses = Array.from({ length: count }, (_, index) => pdas.allocation(lease, index, programId)[0]);
  const out: AllocationAccount[] = [];
  // getMultipleAccounts takes at most 100 keys per call.
  for (let offset = 0; offset < addresses.length; offset += 100) {
    const slice = addresses.slice(offset, offset + 100);
    const infos = await connection.getMultipleAccountsInfo(slice, "confirmed");
    infos.forEach((info, i) => {
      if (info && info.owner.equals(programId) && info.data.length) out.push(decodeAllocation(slice[i]!, info.data));
    });
  }
  return out;
}

/** What the ledger says a lease must look like on-chain (all instants in unix seconds). */
export interface DesiredLease {
  /** The terms the server quoted: activation checks them against the lease. */
  terms: { pricePerSecond: bigint; maxSeconds: bigint; mint: PublicKey };
  /** When the cluster started serving (activation); null while it has not. */
  startTs: bigint | null;
  /** The deployment failed or was cancelled before it ran: the lease must be cancelled (100 % back). */
  cancel: boolean;
  allocations: {
    index: number;
    supplier: PublicKey;
    ratePerSecond: bigint;
    fromTs: bigint;
    untilTs: bigint | null;
    /** Σ gross the ledger has settled for this allocation, and up to which instant. */
    ledgerGross: bigint;
    ledgerSettledUntil: bigint | null;
  }[];
  /** The fixed end of the lease once the cluster ENDED; null while it runs. */
  endTs: bigint | null;
}

export type LeaseStep =
  | { kind: "cancel"; reason: string }
  | { kind: "activate"; startTs: bigint }
  | { kind: "add"; index: number; supplier: PublicKey; ratePerSecond: bigint; fromTs: bigint }
  | { kind: "release"; index: number; untilTs: bigint }
  | { kind: "settle"; index: number; supplier: PublicKey; until: bigint }
  | { kind: "end"; endTs: bigint }
  | { kind: "close" };

export interface LeaseSyncPlan {
  steps: LeaseStep[];
  /** Nothing left to do on-chain for this lease, ever (cancelled, or ended and fully paid out). */
  finished: boolean;
  /** Why the chain cannot follow the ledger (reported, never forced). */
  problem?: string;
}

const sameTerms = (lease: LeaseAccount, terms: DesiredLease["terms"]) =>
  lease.pricePerSecond === terms.pricePerSecond && lease.maxSeconds === terms.maxSeconds && lease.mint.equals(terms.mint);

/**
 * The next steps for `lease` (null: never opened) to follow `desired`. Changes to allocations come in
 * time order (a release before an add at the same instant), as the program requires; settles only
 * up to what the ledger has settled; the end once every allocation change is on-chain; close once
 * everything owed is paid. Returns steps valid against this snapshot; after sending them, plan again.
 */
export function planLeaseSync(desired: DesiredLease, lease: LeaseAccount | null, allocations: readonly AllocationAccount[], escrowOpen: boolean): LeaseSyncPlan {
  if (!lease) return { steps: [], finished: false, problem: "the lease is not on-chain" };
  switch (lease.status) {
    case "cancelled":
    case "closed":
      return { steps: [], finished: true };
    case "pending": {
      if (desired.cancel) return { steps: [{ kind: "cancel", reason: "the deployment never ran" }], finished: false };
      if (!sameTerms(lease, desired.terms)) {
        // A lease opened outside the server, with other terms: never served, refunded in full.
        return { steps: [{ kind: "cancel", reason: "the lease's terms differ from the quote" }], finished: false, problem: "terms differ from the quote" };
      }
      if (desired.startTs === null) return { steps: [], finished: false };
      return { steps: [{ kind: "activate", startTs: desired.startTs }], finished: false };
    }
    case "active":
    case "ended":
      break;
  }
  const onChain = new Map(allocations.map((a) => [a.index, a]));
  const steps: LeaseStep[] = [];
  if (lease.status === "active") {
    const changes: { at: bigint; step: LeaseStep }[] = [];
    for (const want of desired.allocations) {
      const have = onChain.get(want.index);
      if (!have && want.index >= lease.allocationCount) {
        changes.push({ at: want.fromTs, step: { kind: "add", index: want.index, supplier: want.supplier, ratePerSecond: want.ratePerSecond, fromTs: want.fromTs } });
      }
      if (want.untilTs !== null && (!have || have.untilTs === OPEN_UNTIL)) {
        changes.push({ at: want.untilTs, step: { kind: "release", index: want.index, untilTs: want.untilTs } });
      }
    }
    changes.sort((a, b) => (a.at === b.at ? (a.step.kind === b.step.kind ? indexOf(a.step) - indexOf(b.step) : a.step.kind === "release" ? -1 : 1) : a.at < b.at ? -1 : 1));
    if (changes.length) return { steps: changes.map((c) => c.step), finished: false };
  }
  for (const want of desired.allocations) {
    const have = onChain.get(want.index);
    if (have && want.ledgerSettledUntil !== null && have.totalGross < want.ledgerGross && have.settledUntil < want.ledgerSettledUntil) {
      steps.push({ kind: "settle", index: want.index, supplier: have.supplier, until: want.ledgerSettledUntil });
    }
  }
  if (steps.length) return { steps, finished: false };
  if (lease.status === "active") {
    return desired.endTs !== null ? { steps: [{ kind: "end", endTs: desired.endTs }], finished: false } : { steps: [], finished: false };
  }
  // Ended: close the escrow once everything owed is paid (end_lease closes it itself when it can).
  if (lease.totalGross >= lease.owedTotal) return escrowOpen ? { steps: [{ kind: "close" }], finished: false } : { steps: [], finished: true };
  return { steps: [], finished: false };
}

const indexOf = (step: LeaseStep) => ("index" in step ? step.index : 0);
