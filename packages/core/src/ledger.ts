import type { PaymentToken } from "./schemas/enums.ts";

/**
 * Double-entry bookkeeping, pure. A journal moves value between ledger accounts: debits are positive,
 * credits negative, and every journal sums to zero. The database enforces the same rule (a deferred
 * trigger); building journals here lets callers fail early with a precise message.
 */
export interface LedgerLine {
  /** Ledger account code, e.g. `escrow:cluster:<id>`. */
  account: string;
  amount: bigint;
}

export interface JournalDraft {
  /** Idempotency key: posting the same reference twice records it once. */
  reference: string;
  description: string;
  token: PaymentToken;
  occurredAt: Date;
  lines: LedgerLine[];
}

export class UnbalancedJournalError extends Error {
  constructor(readonly reference: string, readonly imbalance: bigint) {
    super(`journal ${reference} does not balance: lines sum to ${imbalance} (must be 0)`);
    this.name = "UnbalancedJournalError";
  }
}

/** Validates a draft and merges lines per account, dropping zero lines. */
export function balancedJournal(draft: JournalDraft): JournalDraft {
  const merged = new Map<string, bigint>();
  for (const line of draft.lines) merged.set(line.account, (merged.get(line.account) ?? 0n) + line.amount);
  const lines = [...merged].filter(([, amount]) => amount !== 0n).map(([account, amount]) => ({ account, amount }));
  const imbalance = lines.reduce((sum, line) => sum + line.amount, 0n);
  if (imbalance !== 0n) throw new UnbalancedJournalError(draft.reference, imbalance);
  if (lines.length < 2) throw new Error(`journal ${draft.reference} needs at least two non-zero lines`);
  return { ...draft, lines };
}

/** Convenience: one transfer of `amount` from `from` (credited) to `to` (debited). */
export function transfer(from: string, to: string, amount: bigint): LedgerLine[] {
  return [
    { account: to, amount },
    { account: from, amount: -amount },
  ];
}

/**
 * Standard ledger account codes, so every writer names accounts the same way. A ledger account holds
 * one token, so every code ends in its token (`treasury:USDC`, `escrow:cluster:<id>:MESH`); rewards,
 * mints and burns only ever move MESH.
 */
export const LedgerAccounts = {
  renterWallet: (accountId: string, token: PaymentToken) => `wallet:renter:${accountId}:${token}`,
  escrow: (clusterId: string, token: PaymentToken) => `escrow:cluster:${clusterId}:${token}`,
  supplierEarnings: (supplierId: string, token: PaymentToken) => `earnings:supplier:${supplierId}:${token}`,
  treasury: (token: PaymentToken) => `treasury:${token}`,
  burned: (token: PaymentToken) => `burned:${token}`,
  rewardsVault: () => "rewards:vault:MESH",
  supplierRewards: (wallet: string) => `rewards:claimant:${wallet}:MESH`,
  minted: () => "minted:MESH",
} as const;

export type LedgerAccountType = "ASSET" | "LIABILITY" | "EQUITY" | "REVENUE" | "EXPENSE";

/**
 * The ledger follows tokens through custody: renter wallets are where funds come from (ASSET), escrow
 * and unpaid earnings/rewards are owed to someone (LIABILITY), the treasury's fee is REVENUE, burned
 * tokens leave supply (EXPENSE) and minted emissions enter it (EQUITY).
 */
export function ledgerAccountType(code: string): LedgerAccountType {
  const prefix = code.split(":")[0];
  switch (prefix) {
    case "wallet":
      return "ASSET";
    case "escrow":
    case "earnings":
    case "rewards":
      return "LIABILITY";
    case "treasury":
      return "REVENUE";
    case "burned":
      return "EXPENSE";
    case "minted":
      return "EQUITY";
    default:
      throw new RangeError(`unknown ledger account code "${code}"`);
  }
}
