import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ApiError } from "./errors.ts";
import { encodeCursor, PageQuery, pageOf, readCursor } from "./pagination.ts";

const Key = z.object({ before: z.number().int() });

describe("cursor pagination", () => {
  it("pages through rows with an opaque cursor that reads back as the last item's key", () => {
    const rows = [9, 8, 7].map((epoch) => ({ epoch }));
    const page = pageOf(rows, 2, (last) => ({ before: last.epoch }));
    expect(page.items).toEqual([{ epoch: 9 }, { epoch: 8 }]);
    expect(page.next_cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(readCursor(page.next_cursor!, Key)).toEqual({ before: 8 });
    expect(pageOf(rows.slice(0, 2), 2, (last) => ({ before: last.epoch })).next_cursor).toBeNull();
  });

  it.each(["%%%", "bm90IGpzb24", encodeCursor({ before: "x" }), encodeCursor([1])])("refuses %s as 422 naming cursor", (cursor) => {
    let thrown: unknown;
    try {
      readCursor(cursor, Key);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ApiError);
    expect((thrown as ApiError).status).toBe(422);
    expect((thrown as ApiError).field).toBe("cursor");
  });

  it("takes limit 1–100 (default 20) from the query string", () => {
    expect(PageQuery.parse({}).limit).toBe(20);
    expect(PageQuery.parse({ limit: "100" }).limit).toBe(100);
    for (const limit of ["0", "101", "2.5", "ten"]) expect(PageQuery.safeParse({ limit }).success, limit).toBe(false);
  });
});
