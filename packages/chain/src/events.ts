import { BN, EventParser } from "./anchor.ts";
import { PublicKey } from "@solana/web3.js";
import { GPUMESH_PROGRAM_ID } from "./pdas.ts";
import { gpumeshCoder } from "./program.ts";

/**
 * The program's `emit!` events (programs/gpumesh/src/events.rs), decoded from transaction logs
 * ("Program data: <base64>") with Anchor's EventParser and converted to plain TS values:
 * integers as bigint, keys as PublicKey, byte arrays as Uint8Array.
 */
export interface GpumeshEvents {
  ConfigInitialized: { admin: PublicKey; meshMint: PublicKey; treasury: PublicKey; settlementAuthority: PublicKey; rewardsAuthority: PublicKey; feeBps: number; burnBps: number; emissionStart: bigint };
  ConfigUpdated: { admin: PublicKey; settlementAuthority: PublicKey; rewardsAuthority: PublicKey; treasury: PublicKey; feeBps: number; burnBps: number };
  PausedSet: { paused: boolean };
  PaymentMintSet: { mint: PublicKey; enabled: boolean; isMesh: boolean; minPricePerSecond: bigint };
  SupplierRegistered: { supplier: PublicKey; authority: PublicKey; payoutWallet: PublicKey };
  PayoutWalletChanged: { supplier: PublicKey; authority: PublicKey; oldPayoutWallet: PublicKey; payoutWallet: PublicKey };
  AdminProposed: { admin: PublicKey; pendingAdmin: PublicKey };
  AdminAccepted: { oldAdmin: PublicKey; admin: PublicKey };
  LeaseOpened: { lease: PublicKey; leaseId: bigint; renter: PublicKey; mint: PublicKey; pricePerSecond: bigint; maxSeconds: bigint; openedAt: bigint; activationDeadline: bigint; deposited: bigint };
  LeaseActivated: { lease: PublicKey; leaseId: bigint; startTs: bigint; endTs: bigint };
  AllocationAdded: { lease: PublicKey; allocation: PublicKey; index: number; supplier: PublicKey; ratePerSecond: bigint; fromTs: bigint; openRate: bigint };
  AllocationReleased: { lease: PublicKey; allocation: PublicKey; index: number; untilTs: bigint; gross: bigint; openRate: bigint };
  AllocationSettled: {
    lease: PublicKey;
    allocation: PublicKey;
    index: number;
    supplier: PublicKey;
    fromTs: bigint;
    untilTs: bigint;
    gross: bigint;
    fee: bigint;
    burned: bigint;
    treasury: bigint;
    supplierAmount: bigint;
    totalGross: bigint;
    totalFee: bigint;
  };
  LeaseEnded: { lease: PublicKey; leaseId: bigint; endedBy: PublicKey; endTs: bigint; owedTotal: bigint; totalGross: bigint; refund: bigint; closed: boolean };
  LeaseClosed: { lease: PublicKey; leaseId: bigint; totalGross: bigint; totalSupplier: bigint; totalTreasury: bigint; totalBurned: bigint; refunded: bigint; dust: bigint };
  LeaseCancelled: { lease: PublicKey; leaseId: bigint; cancelledBy: PublicKey; refund: bigint };
  LeaseExtended: { lease: PublicKey; leaseId: bigint; extraSeconds: bigint; maxSeconds: bigint; deposited: bigint; endTs: bigint };
  EmissionsMinted: { hour: bigint; amount: bigint; totalMinted: bigint };
  RewardRootPosted: { epoch: bigint; root: Uint8Array; totalCumulative: bigint };
  RewardsClaimed: { claimant: PublicKey; epoch: bigint; amount: bigint; cumulative: bigint };
  DeviceStaked: { deviceStake: PublicKey; deviceId: Uint8Array; authority: PublicKey; weightBps: number; amount: bigint; total: bigint; required: bigint; created: boolean };
  DeviceUnstakeRequested: { deviceStake: PublicKey; deviceId: Uint8Array; authority: PublicKey; amount: bigint; requestedAt: bigint; withdrawableAt: bigint };
  DeviceStakeWithdrawn: { deviceStake: PublicKey; deviceId: Uint8Array; authority: PublicKey; amount: bigint; dust: bigint; slashedTotal: bigint };
  DeviceStakeSlashed: {
    deviceStake: PublicKey;
    deviceId: Uint8Array;
    authority: PublicKey;
    amount: bigint;
    remaining: bigint;
    slashedTotal: bigint;
    /** The Anchor enum as decoded: `{ FailedProof: {} }` or `{ VanishedMidLease: {} }`. */
    reason: Record<string, unknown>;
    evidenceHash: Uint8Array;
  };
}

export type GpumeshEventName = keyof GpumeshEvents;
export type GpumeshEvent = { [K in GpumeshEventName]: { name: K; data: GpumeshEvents[K] } }[GpumeshEventName];

const EVENT_NAMES: ReadonlySet<string> = new Set<GpumeshEventName>([
  "ConfigInitialized",
  "ConfigUpdated",
  "PausedSet",
  "PaymentMintSet",
  "SupplierRegistered",
  "PayoutWalletChanged",
  "AdminProposed",
  "AdminAccepted",
  "LeaseOpened",
  "LeaseActivated",
  "AllocationAdded",
  "AllocationReleased",
  "AllocationSettled",
  "LeaseEnded",
  "LeaseClosed",
  "LeaseCancelled",
  "LeaseExtended",
  "EmissionsMinted",
  "RewardRootPosted",
  "RewardsClaimed",
  "DeviceStaked",
  "DeviceUnstakeRequested",
  "DeviceStakeWithdrawn",
  "DeviceStakeSlashed",
]);

const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function plain(value: unknown): unknown {
  if (BN.isBN(value)) return BigInt((value as BN).toString());
  if (value instanceof PublicKey) return value;
  if (Array.isArray(value) && value.every((v) => typeof v === "number")) return Uint8Array.from(value as number[]);
  if (value instanceof Uint8Array) return Uint8Array.from(value);
  return value;
}

function convert(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).map(([key, value]) => [camel(key), plain(value)]));
}

/** Every gpumesh event in a transaction's log messages, in emission order. */
export function parseEvents(logs: readonly string[], programId: PublicKey = GPUMESH_PROGRAM_ID): GpumeshEvent[] {
  const parser = new EventParser(programId, gpumeshCoder);
  const out: GpumeshEvent[] = [];
  for (const event of parser.parseLogs([...logs])) {
    if (!EVENT_NAMES.has(event.name)) continue;
    out.push({ name: event.name, data: convert(event.data as Record<string, unknown>) } as GpumeshEvent);
  }
  return out;
}

/** The first event named `name` in `logs`, or undefined. */
export function findEvent<K extends GpumeshEventName>(logs: readonly string[], name: K, programId: PublicKey = GPUMESH_PROGRAM_ID): GpumeshEvents[K] | undefined {
  const event = parseEvents(logs, programId).find((e) => e.name === name);
  return event?.data as GpumeshEvents[K] | undefined;
}
