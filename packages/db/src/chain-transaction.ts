import type { Db } from "./client.ts";
import { truncateWallet } from "./directory-detail.ts";

/**
 * One of our program's transactions as the chain indexer recorded it (`chain_event`): its events in
 * order, their amounts labelled with their token, and links to the devices and suppliers they concern.
 * Amount fields stay base units (bigint); the page formats them. Wallets of renters are truncated
 * like everywhere else in the explorer (the full key is on-chain for whoever looks there).
 */

export type EventToken = "USDC" | "MESH";

export interface TransactionEvent {
  index: number;
  name: string;
  /** Token of the amounts; null when the event moves none. */
  token: EventToken | null;
  amounts: { field: string; units: bigint }[];
  /** The event's other fields, as recorded (integers as decimal strings, keys base58). */
  fields: { field: string; value: string }[];
  supplier: { id: string; name: string } | null;
  devices: { id: string; name: string }[];
  /** The lease's on-chain id, for lease events. */
  leaseId: bigint | null;
}

export interface ChainTransaction {
  signature: string;
  slot: bigint;
  blockTime: Date | null;
  events: TransactionEvent[];
}

/** Which fields of each event are token amounts (base units); the rest are shown as they are. */
const AMOUNT_FIELDS: Record<string, readonly string[]> = {
  LeaseOpened: ["deposited", "pricePerSecond"],
  LeaseExtended: ["deposited"],
  AllocationAdded: ["ratePerSecond", "openRate"],
  AllocationReleased: ["gross", "openRate"],
  AllocationSettled: ["gross", "fee", "burned", "treasury", "supplierAmount", "totalGross", "totalFee"],
  LeaseEnded: ["owedTotal", "totalGross", "refund"],
  LeaseClosed: ["totalGross", "totalSupplier", "totalTreasury", "totalBurned", "refunded", "dust"],
  LeaseCancelled: ["refund"],
  EmissionsMinted: ["amount", "totalMinted"],
  RewardRootPosted: ["totalCumulative"],
  RewardsClaimed: ["amount", "cumulative"],
  PaymentMintSet: ["minPricePerSecond"],
};

/** Wallets of renters (whoever opened or ended a lease): truncated, as the explorer shows renters. */
const RENTER_FIELDS = new Set(["renter", "endedBy", "cancelledBy"]);
/** Events whose `supplier` field is a Supplier account. */
const SUPPLIER_EVENTS = new Set(["SupplierRegistered", "PayoutWalletChanged", "AllocationAdded", "AllocationSettled"]);
const ALLOCATION_EVENTS = new Set(["AllocationAdded", "AllocationReleased", "AllocationSettled"]);

/** The transaction's events, or null when the indexer recorded none under this signature. */
export async function chainTransaction(db: Db, signature: string): Promise<ChainTransaction | null> {
  const rows = await db.chainEvent.findMany({ where: { signature }, orderBy: { eventIndex: "asc" } });
  const first = rows[0];
  if (!first) return null;
  const data = rows.map((row) => (row.data ?? {}) as Record<string, string | number | boolean | null>);
  const text = (value: unknown) => (typeof value === "string" ? value : null);

  const supplierKeys = new Set<string>();
  const claimants = new Set<string>();
  const leases = new Set<string>();
  rows.forEach((row, i) => {
    const supplier = text(data[i]!.supplier);
    if (SUPPLIER_EVENTS.has(row.name) && supplier) supplierKeys.add(supplier);
    if (row.claimant) claimants.add(row.claimant);
    if (row.lease) leases.add(row.lease);
  });
  const [meshMint, suppliers, claimantSuppliers, allocations] = await Promise.all([
    db.chainEvent.findFirst({ where: { name: "ConfigInitialized" }, orderBy: { seq: "desc" }, select: { data: true } }).then((row) => text((row?.data as Record<string, unknown> | undefined)?.meshMint)),
    supplierKeys.size ? db.supplier.findMany({ where: { onChainAddress: { in: [...supplierKeys] } }, select: { id: true, name: true, onChainAddress: true } }) : [],
    claimants.size ? db.supplier.findMany({ where: { account: { walletAddress: { in: [...claimants] } } }, select: { id: true, name: true, account: { select: { walletAddress: true } } } }) : [],
    leases.size
      ? db.allocation.findMany({
          where: { cluster: { leasePda: { in: [...leases] } }, chainIndex: { not: null } },
          select: { chainIndex: true, cluster: { select: { leasePda: true } }, device: { select: { id: true, name: true } } },
          orderBy: { chainIndex: "asc" },
        })
      : [],
  ]);
  const supplierByAddress = new Map(suppliers.map((s) => [s.onChainAddress!, { id: s.id, name: s.name }]));
  const supplierByWallet = new Map(claimantSuppliers.map((s) => [s.account.walletAddress, { id: s.id, name: s.name }]));

  const events = rows.map((row, i): TransactionEvent => {
    const fields = data[i]!;
    const amountFields = AMOUNT_FIELDS[row.name] ?? [];
    const isMesh = row.name === "PaymentMintSet" ? fields.isMesh === true : row.mint !== null ? row.mint === meshMint : row.name === "EmissionsMinted" || row.name === "RewardsClaimed" || row.name === "RewardRootPosted";
    const amounts = amountFields.filter((field) => typeof fields[field] === "string" && /^\d+$/.test(fields[field])).map((field) => ({ field, units: BigInt(fields[field] as string) }));
    const supplierKey = text(fields.supplier);
    const index = typeof fields.index === "number" ? fields.index : null;
    const devices = row.lease
      ? allocations
          .filter((a) => a.cluster.leasePda === row.lease && (!ALLOCATION_EVENTS.has(row.name) || a.chainIndex === index))
          .map((a) => a.device)
          .filter((device, k, all) => all.findIndex((d) => d.id === device.id) === k)
      : [];
    return {
      index: row.eventIndex,
      name: row.name,
      token: amounts.length ? (isMesh ? "MESH" : "USDC") : null,
      amounts,
      fields: Object.entries(fields)
        .filter(([field]) => !amountFields.includes(field))
        .map(([field, value]) => ({ field, value: RENTER_FIELDS.has(field) && typeof value === "string" ? truncateWallet(value) : String(value) })),
      supplier: (SUPPLIER_EVENTS.has(row.name) && supplierKey ? supplierByAddress.get(supplierKey) : row.claimant ? supplierByWallet.get(row.claimant) : undefined) ?? null,
      devices,
      leaseId: row.leaseId,
    };
  });
  return { signature, slot: first.slot, blockTime: first.blockTime, events };
}

/** The newest indexed signatures of an event kind (the explorer links a few of each). */
export async function recentSignatures(db: Db, name: string, limit = 10): Promise<{ signature: string; blockTime: Date | null }[]> {
  return db.chainEvent.findMany({ where: { name }, orderBy: { seq: "desc" }, take: limit, select: { signature: true, blockTime: true } });
}
