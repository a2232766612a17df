import { describe, expect, it } from "vitest";
import { SeededRandom } from "../random.ts";
import { SortedList, compareCursors } from "./sorted-list.ts";

describe("SortedList", () => {
  it("matches a sorted array through random inserts and deletes (several chunk splits)", () => {
    const random = new SeededRandom(7);
    const list = new SortedList<number>((a, b) => a - b);
    const reference = new Set<number>();
    for (let step = 0; step < 6_000; step++) {
      const value = random.int(0, 3_000);
      if (random.next() < 0.6) {
        expect(list.insert(value)).toBe(!reference.has(value));
        reference.add(value);
      } else expect(list.delete(value)).toBe(reference.delete(value));
      if (step % 500 === 0) expect([...list]).toEqual([...reference].sort((a, b) => a - b));
    }
    const sorted = [...reference].sort((a, b) => a - b);
    expect([...list]).toEqual(sorted);
    expect(list.size).toBe(sorted.length);
    expect(list.first()).toBe(sorted[0]);
    expect(list.last()).toBe(sorted[sorted.length - 1]);

    // Cursors: lowerBound, rank and advance agree with the array.
    for (const probe of [-1, 0, 1_234, 2_999, 5_000]) {
      const cursor = list.lowerBound((x) => x < probe);
      const expectedRank = sorted.filter((x) => x < probe).length;
      expect(list.rank(cursor)).toBe(expectedRank);
      expect(list.at(cursor)).toBe(sorted[expectedRank]);
      const walked: number[] = [];
      for (const c = { ...cursor }; list.at(c) !== undefined; list.advance(c)) walked.push(list.at(c)!);
      expect(walked).toEqual(sorted.slice(expectedRank));
    }
    expect(compareCursors(list.lowerBound(() => true), list.end())).toBe(0);
  });

  it("deletes down to empty and starts again", () => {
    const list = new SortedList<string>((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const s of ["b", "a", "c"]) list.insert(s);
    for (const s of ["a", "b", "c"]) expect(list.delete(s)).toBe(true);
    expect(list.size).toBe(0);
    expect(list.first()).toBeUndefined();
    expect(list.delete("a")).toBe(false);
    list.insert("z");
    expect([...list]).toEqual(["z"]);
  });
});
