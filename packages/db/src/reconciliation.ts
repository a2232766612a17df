import type { Db } from "./client.ts";
import { Prisma } from "./generated/prisma/client.ts";
import { ledgerReferences } from "./settlement.ts";

/**
 * Reconciliation of a lease: the ledger's journals for it (settlements per supplier, fee, burn, the
 * refund) against what the program paid on-chain. The ledger side is read here; the chain side is
 * read by the caller (the scheduler's reconcile job) and compared with `compareLease`. Mismatches are
 * recorded and reported, never corrected: a difference means a bug, and fixing one side by hand would
 * hide it.
 */
export interface LeaseMoney {
  deposit: bigint;
  /** Σ gross per on-chain allocation index. */
  grossByAllocation: Map<number, bigint>;
  /** Σ paid to each supplier, keyed by the supplier's wallet. */
  supplierByWallet: Map<string, bigint>;
  treasury: bigint;
  burned: bigint;
  refund: bigint;
}

export async function ledgerOfLease(db: Db, clusterId: string): Promise<LeaseMoney> {
  const cluster = await db.cluster.findUniqueOrThrow({ where: { id: clusterId }, select: { depositAmount: true, paymentToken: true } });
  const usage = await db.$queryRaw<{ chain_index: number | null; gross: bigint }[]>`
    select a.chain_index, coalesce(sum(u.amount), 0)::bigint as gross
      from usage_record u join allocation a on a.id = u.allocation_id
     where u.cluster_id = ${clusterId}::uuid group by a.chain_index`;
  // Every line of this lease's settle and refund journals (the refund of a top-up that came after the
  // refund included: `refund:<cluster>:…`), by ledger account.
  const lines = await db.$queryRaw<{ code: string; amount: bigint }[]>`
    select la.code, sum(e.amount)::bigint as amount
      from journal j join ledger_entry e on e.journal_id = j.id join ledger_account la on la.id = e.ledger_account_id
     where j.reference like ${`settle:${clusterId}:%`} or j.reference = ${ledgerReferences.refund(clusterId)} or j.reference like ${`${ledgerReferences.refund(clusterId)}:%`}
     group by la.code`;
  const token = cluster.paymentToken;
  const suppliers = await db.$queryRaw<{ id: string; wallet: string }[]>`
    select s.id::text, acc.wallet_address as wallet from supplier s join account acc on acc.id = s.account_id
     where s.id in (select d.supplier_id from allocation a join device d on d.id = a.device_id where a.cluster_id = ${clusterId}::uuid)`;
  const walletOf = new Map(suppliers.map((s) => [`earnings:supplier:${s.id}:${token}`, s.wallet]));
  const money: LeaseMoney = { deposit: cluster.depositAmount, grossByAllocation: new Map(), supplierByWallet: new Map(), treasury: 0n, burned: 0n, refund: 0n };
  for (const row of usage) if (row.chain_index !== null) money.grossByAllocation.set(row.chain_index, BigInt(row.gross));
  for (const line of lines) {
    const amount = BigInt(line.amount);
    const wallet = walletOf.get(line.code);
    if (wallet) money.supplierByWallet.set(wallet, (money.supplierByWallet.get(wallet) ?? 0n) + amount);
    else if (line.code === `treasury:${token}`) money.treasury = amount;
    else if (line.code === `burned:${token}`) money.burned = amount;
    else if (line.code.startsWith("wallet:renter:")) money.refund = amount;
  }
  return money;
}

export interface Mismatch {
  what: string;
  chain: string;
  ledger: string;
}

/** Every amount on which the chain and the ledger disagree (empty: they agree to the base unit). */
export function compareLease(chain: LeaseMoney, ledger: LeaseMoney): Mismatch[] {
  const out: Mismatch[] = [];
  const check = (what: string, a: bigint, b: bigint) => {
    if (a !== b) out.push({ what, chain: a.toString(), ledger: b.toString() });
  };
  check("deposit", chain.deposit, ledger.deposit);
  for (const index of new Set([...chain.grossByAllocation.keys(), ...ledger.grossByAllocation.keys()])) {
    check(`allocation ${index} gross`, chain.grossByAllocation.get(index) ?? 0n, ledger.grossByAllocation.get(index) ?? 0n);
  }
  for (const wallet of new Set([...chain.supplierByWallet.keys(), ...ledger.supplierByWallet.keys()])) {
    check(`supplier ${wallet}`, chain.supplierByWallet.get(wallet) ?? 0n, ledger.supplierByWallet.get(wallet) ?? 0n);
  }
  check("treasury", chain.treasury, ledger.treasury);
  check("burned", chain.burned, ledger.burned);
  check("refund", chain.refund, ledger.refund);
  return out;
}

export async function recordReconciliation(db: Db, clusterId: string, mismatches: Mismatch[]): Promise<void> {
  const row = { ok: mismatches.length === 0, mismatches: mismatches as unknown as Prisma.InputJsonValue, checkedAt: new Date() };
  await db.leaseReconciliation.upsert({ where: { clusterId }, create: { clusterId, ...row }, update: row });
}

/**
 * The reconcile sweep's statement: closed leases not reconciled yet, oldest close first, bounded. It
 * reads partial index cluster_reconcile_due (only such leases), so it costs O(limit), not O(history).
 */
export const reconcileSweepSql = (limit: number) => Prisma.sql`
  select id::text from cluster
   where lease_id is not null and chain_closed_at is not null and reconciled_at is null
   order by chain_closed_at limit ${limit}`;

/** Closed leases not reconciled yet (oldest first, bounded): the reconcile sweep's work. */
export async function leasesToReconcile(db: Db, limit = 100): Promise<string[]> {
  const rows = await db.$queryRaw<{ id: string }[]>(reconcileSweepSql(limit));
  return rows.map((r) => r.id);
}

/** Reconciliation verdicts, newest first (the admin API): all, or only the leases that disagree. */
export async function listReconciliations(db: Db, onlyMismatches = false, limit = 200) {
  const rows = await db.leaseReconciliation.findMany({
    where: onlyMismatches ? { ok: false } : {},
    orderBy: { checkedAt: "desc" },
    take: limit,
    select: { clusterId: true, checkedAt: true, ok: true, mismatches: true, cluster: { select: { leasePda: true, leaseId: true } } },
  });
  return rows.map((r) => ({ clusterId: r.clusterId, lease: r.cluster.leasePda, leaseId: r.cluster.leaseId?.toString() ?? null, checkedAt: r.checkedAt.toISOString(), ok: r.ok, mismatches: r.mismatches }));
}
