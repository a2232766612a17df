import { sha256 } from "@noble/hashes/sha2";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils";
import { seedBytes } from "./gemm.ts";

/**
 * The agent's commitment to C: a merkle tree over C's rows. Separate from the rewards tree
 * (merkle.ts) on purpose: its own domain tags, so no hash of one tree can ever be passed off as a
 * node of the other, and positional rather than sorted pairs, so a proof for row i only verifies at
 * position i.
 *
 *   leaf_i = sha256("GPUMESH_GEMM_ROW_LEAF_V1" ‖ seed ‖ u32le(n) ‖ u32le(i) ‖ C_i as n × i32le)
 *   node   = sha256("GPUMESH_GEMM_ROW_NODE_V1" ‖ left ‖ right)
 *
 * Levels pair (0,1), (2,3), …; an odd last node is carried up unchanged. Binding the seed and n into
 * every leaf means a tree built for another challenge cannot verify against this one even where
 * rows happen to coincide. Proofs are sibling hashes from leaf to root, skipping carried levels.
 */
const LEAF_TAG = utf8ToBytes("GPUMESH_GEMM_ROW_LEAF_V1");
const NODE_TAG = utf8ToBytes("GPUMESH_GEMM_ROW_NODE_V1");

export function rowLeafHash(seedHex: string, n: number, index: number, row: ArrayLike<number>): Uint8Array {
  if (row.length !== n) throw new RangeError(`row ${index} must have ${n} values`);
  const input = new Uint8Array(LEAF_TAG.length + 32 + 8 + 4 * n);
  input.set(LEAF_TAG, 0);
  input.set(seedBytes(seedHex), LEAF_TAG.length);
  const view = new DataView(input.buffer);
  let offset = LEAF_TAG.length + 32;
  view.setUint32(offset, n, true);
  view.setUint32(offset + 4, index, true);
  offset += 8;
  for (let j = 0; j < n; j++, offset += 4) view.setInt32(offset, row[j]!, true);
  return sha256(input);
}

export function rowNodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const input = new Uint8Array(NODE_TAG.length + 64);
  input.set(NODE_TAG, 0);
  input.set(left, NODE_TAG.length);
  input.set(right, NODE_TAG.length + 32);
  return sha256(input);
}

export class RowCommitmentTree {
  private readonly levels: Uint8Array[][];

  /** `c` is C row-major (n·n values). */
  constructor(seedHex: string, readonly n: number, c: Int32Array) {
    if (c.length !== n * n) throw new RangeError(`expected ${n}×${n} results`);
    const leaves: Uint8Array[] = [];
    for (let i = 0; i < n; i++) leaves.push(rowLeafHash(seedHex, n, i, c.subarray(i * n, (i + 1) * n)));
    this.levels = [leaves];
    while (this.levels.at(-1)!.length > 1) {
      const previous = this.levels.at(-1)!;
      const next: Uint8Array[] = [];
      for (let i = 0; i < previous.length; i += 2) next.push(i + 1 < previous.length ? rowNodeHash(previous[i]!, previous[i + 1]!) : previous[i]!);
      this.levels.push(next);
    }
  }

  get root(): string {
    return bytesToHex(this.levels.at(-1)![0]!);
  }

  proof(index: number): string[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.n) throw new RangeError(`no row ${index}`);
    const out: string[] = [];
    let position = index;
    for (const level of this.levels.slice(0, -1)) {
      const sibling = position ^ 1;
      if (sibling < level.length) out.push(bytesToHex(level[sibling]!));
      position = Math.floor(position / 2);
    }
    return out;
  }
}

/**
 * Whether `row` is leaf `index` of a tree of n rows with root `rootHex`. The verifier knows n, so it
 * knows at which levels row i's ancestor had no sibling; a proof of any other length is rejected.
 */
export function verifyRowProof(seedHex: string, n: number, rootHex: string, index: number, row: ArrayLike<number>, proofHex: readonly string[]): boolean {
  if (!Number.isInteger(index) || index < 0 || index >= n || row.length !== n) return false;
  let hash = rowLeafHash(seedHex, n, index, row);
  let position = index;
  let width = n;
  let used = 0;
  while (width > 1) {
    const sibling = position ^ 1;
    if (sibling < width) {
      const siblingHex = proofHex[used++];
      if (siblingHex === undefined || !/^[0-9a-f]{64}$/.test(siblingHex)) return false;
      const siblingHash = hexToBytes(siblingHex);
      hash = position % 2 === 0 ? rowNodeHash(hash, siblingHash) : rowNodeHash(siblingHash, hash);
    }
    position = Math.floor(position / 2);
    width = Math.ceil(width / 2);
  }
  return used === proofHex.length && bytesToHex(hash) === rootHex;
}
