import pg from "pg";

/**
 * Records every pg query issued while the same client still runs another (what pg 8 deprecates and
 * pg 9 rejects), with the caller's stack, by wrapping `pg.Client.prototype.query` for this test file.
 */
export function watchOverlappingQueries(): { stacks: string[]; restore: () => void } {
  type Query = (this: pg.Client, ...args: unknown[]) => unknown;
  const stacks: string[] = [];
  const original = pg.Client.prototype.query as unknown as Query;
  (pg.Client.prototype as unknown as { query: Query }).query = function (this: pg.Client, ...args: unknown[]) {
    const state = this as unknown as { activeQuery?: unknown; _queryQueue?: unknown[] };
    if (state.activeQuery || (state._queryQueue?.length ?? 0) > 0) stacks.push(new Error("concurrent client.query").stack ?? "");
    return original.apply(this, args);
  };
  return { stacks, restore: () => void ((pg.Client.prototype as unknown as { query: Query }).query = original) };
}
