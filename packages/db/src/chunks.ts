/**
 * Prisma's query compiler splits a `createMany` above 32,766 bind values into several INSERTs and runs
 * them with `Promise.all` on ONE connection (inside the transaction it opens for them): node-postgres
 * 8 prints a deprecation for concurrent `client.query()` calls on one client, and pg 9 rejects them.
 * Splitting the rows ourselves keeps every `createMany` a single statement, so nothing of ours depends
 * on that. Inside an interactive transaction the chunks stay atomic (they run one after another on the
 * transaction's client); outside one, each chunk commits on its own.
 *
 * Prisma binds every column of the model, defaults included, not just the fields passed: count the
 * table's columns, not the row's keys.
 */
export const MAX_BINDS_PER_STATEMENT = 32_000;

/** Rows of a `columns`-column table that fit one statement. */
export function rowsPerStatement(columns: number): number {
  return Math.max(1, Math.floor(MAX_BINDS_PER_STATEMENT / Math.max(1, columns)));
}

/**
 * Calls `insert` with consecutive slices of `rows`, each small enough to be one statement for a table
 * of `columns` columns (default 64, i.e. 500 rows), one after another, never concurrently.
 */
export async function insertInChunks<T>(rows: readonly T[], insert: (chunk: T[]) => Promise<unknown>, options: { columns?: number } = {}): Promise<void> {
  const size = rowsPerStatement(options.columns ?? 64);
  for (let offset = 0; offset < rows.length; offset += size) await insert(rows.slice(offset, offset + size));
}
