import { balancedJournal, ledgerAccountType, type JournalDraft } from "@gpumesh/core";
import type { Db } from "./client.ts";

export interface PostedJournal {
  journalId: string;
  /** False when a journal with the same reference already existed (idempotent replay). */
  created: boolean;
}

type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

/**
 * Posts a balanced journal once per `reference`. Runs in the caller's transaction when given one, so
 * a journal commits together with the domain change it records (a settlement, a payment).
 */
export async function postJournal(db: Db | Tx, draft: JournalDraft): Promise<PostedJournal> {
  const journal = balancedJournal(draft);
  const run = async (tx: Tx): Promise<PostedJournal> => {
    const existing = await tx.journal.findUnique({ where: { reference: journal.reference }, select: { id: true } });
    if (existing) return { journalId: existing.id, created: false };
    const accountIds = new Map<string, string>();
    for (const line of journal.lines) {
      const account = await tx.ledgerAccount.upsert({
        where: { code: line.account },
        create: { code: line.account, type: ledgerAccountType(line.account), token: journal.token },
        update: {},
        select: { id: true, token: true },
      });
      if (account.token !== journal.token) throw new Error(`ledger account ${line.account} holds ${account.token}, not ${journal.token}`);
      accountIds.set(line.account, account.id);
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
  return "$transaction" in db ? db.$transaction(run) : run(db);
}

/** Balance of a ledger account (sum of its entries), in base units. */
export async function ledgerBalance(db: Db | Tx, code: string): Promise<bigint> {
  const result = await db.ledgerEntry.aggregate({ where: { ledgerAccount: { code } }, _sum: { amount: true } });
  return result._sum.amount ?? 0n;
}
