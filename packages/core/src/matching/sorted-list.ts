/**
 * A sorted multiset of unique items under a total order, stored as a list of sorted chunks (the
 * layout of Python's `sortedcontainers`). Locating a position is two binary searches (O(log n));
 * insert/delete move at most one chunk's elements (≤ 2·LOAD) plus, on a split or an emptied chunk,
 * one splice of the chunk table (n / LOAD entries) — in practice far cheaper than a balanced tree in
 * JS because it is all contiguous arrays. Cursors are positions (chunk, offset); they are valid
 * until the next mutation.
 */
const LOAD = 256;

export interface Cursor {
  chunk: number;
  offset: number;
}

export class SortedList<T> {
  private chunks: T[][] = [];
  private count = 0;

  constructor(private readonly compare: (a: T, b: T) => number) {}

  /** Builds a list from items already sorted by `compare` and unique (bulk loading), in O(n). */
  static fromSorted<T>(items: readonly T[], compare: (a: T, b: T) => number): SortedList<T> {
    const list = new SortedList(compare);
    for (let i = 0; i < items.length; i += LOAD) list.chunks.push(items.slice(i, i + LOAD));
    list.count = items.length;
    return list;
  }

  get size(): number {
    return this.count;
  }

  /** Adds an item; returns false (and changes nothing) when an equal item is already present. */
  insert(item: T): boolean {
    const chunks = this.chunks;
    if (chunks.length === 0) {
      chunks.push([item]);
      this.count = 1;
      return true;
    }
    // First chunk whose last element is ≥ item; past the end → append to the last chunk.
    let c = this.chunkFor((last) => this.compare(last, item) < 0);
    if (c === chunks.length) c = chunks.length - 1;
    const chunk = chunks[c]!;
    const at = lowerBoundIn(chunk, (x) => this.compare(x, item) < 0);
    if (at < chunk.length && this.compare(chunk[at]!, item) === 0) return false;
    chunk.splice(at, 0, item);
    this.count++;
    if (chunk.length > 2 * LOAD) chunks.splice(c + 1, 0, chunk.splice(LOAD));
    return true;
  }

  /** Removes the item equal to `item`; returns whether one was present. */
  delete(item: T): boolean {
    const c = this.chunkFor((last) => this.compare(last, item) < 0);
    const chunk = this.chunks[c];
    if (chunk === undefined) return false;
    const at = lowerBoundIn(chunk, (x) => this.compare(x, item) < 0);
    if (at >= chunk.length || this.compare(chunk[at]!, item) !== 0) return false;
    chunk.splice(at, 1);
    this.count--;
    if (chunk.length === 0) this.chunks.splice(c, 1);
    return true;
  }

  first(): T | undefined {
    return this.chunks[0]?.[0];
  }

  last(): T | undefined {
    const chunk = this.chunks[this.chunks.length - 1];
    return chunk?.[chunk.length - 1];
  }

  /**
   * First position whose item is not `before` (the predicate must be true for a prefix of the list
   * and false afterwards). Returns the end cursor when every item is before.
   */
  lowerBound(before: (item: T) => boolean): Cursor {
    const c = this.chunkFor(before);
    const chunk = this.chunks[c];
    if (chunk === undefined) return this.end();
    return { chunk: c, offset: lowerBoundIn(chunk, before) };
  }

  /** Number of items before a cursor. O(log n + n / LOAD). */
  rank(cursor: Cursor): number {
    let n = cursor.offset;
    for (let c = 0; c < cursor.chunk && c < this.chunks.length; c++) n += this.chunks[c]!.length;
    return n;
  }

  begin(): Cursor {
    return { chunk: 0, offset: 0 };
  }

  end(): Cursor {
    return { chunk: this.chunks.length, offset: 0 };
  }

  /** The item at a cursor, or undefined at the end. */
  at(cursor: Cursor): T | undefined {
    return this.chunks[cursor.chunk]?.[cursor.offset];
  }

  /** Moves a cursor one step forward, in place. */
  advance(cursor: Cursor): void {
    cursor.offset++;
    const chunk = this.chunks[cursor.chunk];
    if (chunk !== undefined && cursor.offset >= chunk.length) {
      cursor.chunk++;
      cursor.offset = 0;
    }
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (const chunk of this.chunks) yield* chunk;
  }

  /** Index of the first chunk whose last item is not `before`. */
  private chunkFor(before: (item: T) => boolean): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid]!;
      if (before(chunk[chunk.length - 1]!)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export function compareCursors(a: Cursor, b: Cursor): number {
  return a.chunk !== b.chunk ? a.chunk - b.chunk : a.offset - b.offset;
}

function lowerBoundIn<T>(array: readonly T[], before: (item: T) => boolean): number {
  let lo = 0;
  let hi = array.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(array[mid]!)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
