import { balancedJournal, ledgerAccountType, type JournalDraft } from "@gpumesh/core";
import type { Db, DbTransaction } from "./client.ts";
import { SQLSTATE, sqlState } from "./errors.ts";

export interface PostedJournal {
  journalId: string;
  /** False when a journal with the same reference already existed (idempotent replay). */
  created: boolean;
}

/**
 * Posts a balanced journal once per `reference`. Runs in the caller's transaction when given one, so
 * a journal commits together with the domain change it records (a settlement, a payment).
 *
 * Safe under concurrency: ledger accounts are created with `ON CONFLICT DO NOTHING` (two writers
 * creating the same account: the second waits for the first, then finds the row), and a journal that
 * another writer posted with the same reference in between is reported as a replay. Inside a caller's
 * transaction that unique violation has already aborted the transaction, so it propagates and the
 * caller (a job) retries, then sees the replay.
 */
export async function postJournal(db: Db | DbTransaction, draft: JournalDraft): Promise<PostedJournal> {
  const journal = balancedJournal(draft);
  const run = async (tx: DbTransaction): Promise<PostedJournal> => {
    const existing = await tx.journal.findUnique({ where: { reference: journal.reference }, select: { id: true } });
    if (existing) return { journalId: existing.id, created: false };
    const codes = [...new Set(journal.lines.map((line) => line.account))].sort();
    await tx.$executeRaw`
      insert into ledger_account (id, code, type, token)
      select gen_random_uuid(), code, type::"LedgerAccountType", ${journal.token}::"PaymentToken"
        from unnest(${codes}::text[], ${codes.map(ledgerAccountType)}::text[]) as a(code, type)
      on conflict (code) do nothing`;
    const accounts = await tx.ledgerAccount.findMany({ where: { code: { in: codes } }, select: { id: true, code: true, token: true } });
    const accountIds = new Map<string, string>();
    for (const account of accounts) {
      if (account.token !== journal.token) throw new Error(`ledger account ${account.code} holds ${account.token}, not ${journal.token}`);
      accountIds.set(account.code, account.id);
    }
    const created = await tx.journal.create({
      data: {
        reference: journal.reference,
        description: journal.description,
        token: journal.token,
        occurredAt: journal.occurredAt,
        entries: {
          create: journal.lines.map((line) => ({ ledgerAccountId: accountIds.get(line.account)!, token: journal.token, amount: line.amount })),
        },
      },
      select: { id: true },
    });
    return { journalId: created.id, created: true };
  };
  if (!("$transaction" in db)) return run(db);
  try {
    return await db.$transaction(run);
  } catch (error) {
    if (sqlState(error) !== SQLSTATE.uniqueViolation) throw error;
    const existing = await db.journal.findUnique({ where: { reference: journal.reference }, select: { id: true } });
    if (!existing) throw error;
    return { journalId: existing.id, created: false };
  }
}

/** Balance of a ledger account (sum of its entries), in base units. */
export async function ledgerBalance(db: Db | DbTransaction, code: string): Promise<bigint> {
  const result = await db.ledgerEntry.aggregate({ where: { ledgerAccount: { code } }, _sum: { amount: true } });
  return result._sum.amount ?? 0n;
}
