import { z } from "zod";
import { ApiError } from "./errors.ts";

/**
 * Cursor pagination for list endpoints. A cursor is opaque to clients: base64url of a small JSON value
 * (the sort key of the last item served), so a list stays stable while rows are added and never costs
 * an OFFSET scan. Use it in three steps:
 *
 *   query: PageQuery                                    // ?cursor=…&limit=1..100 (default 20)
 *   const after = readCursor(query.cursor, z.object({ epoch: z.number().int() }));   // 422 naming `cursor` when bad
 *   rows = findMany({ where: after ? { epoch: { lt: after.epoch } } : {}, take: query.limit + 1, orderBy: … })
 *   return pageOf(rows, query.limit, (last) => ({ epoch: last.epoch }));             // { items, next_cursor }
 *
 * and describe the response with `Page(ItemSchema)` in the operations table.
 */
export const PageQuery = z.object({
  cursor: z.string().max(512, "must be a cursor from a previous page's next_cursor").optional().describe("The `next_cursor` of the previous page; omit for the first page"),
  limit: z.coerce
    .number({ error: "must be a number from 1 to 100" })
    .int("must be a whole number")
    .min(1, "must be at least 1")
    .max(100, "must be at most 100")
    .default(20)
    .describe("Items per page (1–100)"),
});
export type PageQuery = z.infer<typeof PageQuery>;

/** `{ items, next_cursor }`: next_cursor is null on the last page. */
export function Page<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    next_cursor: z.string().nullable().describe("Pass as `cursor` for the next page; null when this is the last page"),
  });
}

export interface PageOf<T> {
  items: T[];
  next_cursor: string | null;
}

export const encodeCursor = (key: unknown): string => Buffer.from(JSON.stringify(key), "utf8").toString("base64url");

const badCursor = () => new ApiError("VALIDATION", "cursor: not a cursor this list issued; start again without one", "cursor");

/** The sort key a cursor carries, checked against `shape`; undefined when there is no cursor; 422 naming `cursor` when bad. */
export function readCursor<T>(cursor: string | undefined, shape: z.ZodType<T>): T | undefined {
  if (cursor === undefined || cursor === "") return undefined;
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw badCursor();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw badCursor();
  }
  const parsed = shape.safeParse(decoded);
  if (!parsed.success) throw badCursor();
  return parsed.data;
}

/** One page from `limit + 1` rows fetched in order: the extra row only says whether there is a next page. */
export function pageOf<T>(rows: T[], limit: number, keyOf: (last: T) => unknown): PageOf<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, next_cursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
