import { sha256 } from "@noble/hashes/sha2";
import { describe, expect, it } from "vitest";
import { leafHash, nodeHash, RewardTree, sha256Small, SHA256_SMALL_MAX, verifyClaim, type RewardClaim } from "./merkle.ts";
import { SeededRandom } from "./random.ts";

const claim = (byte: number, cumulative: bigint): RewardClaim => ({ claimant: new Uint8Array(32).fill(byte), cumulative });

describe("reward merkle tree", () => {
  it("proves every claim for trees of 1 to 17 leaves and rejects a changed amount", () => {
    for (let n = 1; n <= 17; n++) {
      const claims = Array.from({ length: n }, (_, i) => claim(i, 1_000n * BigInt(i) + 1n));
      const tree = new RewardTree(claims);
      claims.forEach((c, i) => {
        expect(verifyClaim(tree.root, c, tree.proof(i))).toBe(true);
        expect(verifyClaim(tree.root, { ...c, cumulative: c.cumulative + 1n }, tree.proof(i))).toBe(false);
      });
    }
  });

  it("rejects another claimant's proof and an internal node presented as a leaf", () => {
    const claims = [claim(1, 10n), claim(2, 20n), claim(3, 30n), claim(4, 40n)];
    const tree = new RewardTree(claims);
    expect(verifyClaim(tree.root, claims[0]!, tree.proof(1))).toBe(false);
    const internal = nodeHash(leafHash(claims[0]!), leafHash(claims[1]!));
    expect(internal).not.toEqual(leafHash(claims[0]!));
    // A one-leaf tree: root = leaf, empty proof.
    const single = new RewardTree([claims[2]!]);
    expect(single.root).toEqual(leafHash(claims[2]!));
    expect(single.proof(0)).toEqual([]);
  });

  it("is order-independent at each node (no direction bits)", () => {
    const a = new Uint8Array(32).fill(7);
    const b = new Uint8Array(32).fill(9);
    expect(nodeHash(a, b)).toEqual(nodeHash(b, a));
  });

  it("hashes like @noble/hashes' SHA-256 for every message length it takes", () => {
    const random = new SeededRandom(12);
    const out = new Uint8Array(40);
    for (let length = 0; length <= SHA256_SMALL_MAX; length++) {
      for (let run = 0; run < 3; run++) {
        const message = Uint8Array.from({ length }, () => random.int(0, 255));
        sha256Small(message, length, out, 5);
        expect(out.subarray(5, 37)).toEqual(sha256(message));
      }
    }
    expect(() => sha256Small(new Uint8Array(120), 120, out)).toThrow(RangeError);
  });

  it("builds the same root and proofs as the plain definition (sha256 over concatenations, arrays of levels)", () => {
    const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
    const le = (v: bigint) => Uint8Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));
    const plainLeaf = (c: RewardClaim) => sha256(concat(Uint8Array.of(0), sha256(concat(c.claimant, le(c.cumulative)))));
    const less = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) <= 0;
    const plainNode = (a: Uint8Array, b: Uint8Array) => sha256(concat(Uint8Array.of(1), ...(less(a, b) ? [a, b] : [b, a])));
    const random = new SeededRandom(99);
    for (const n of [1, 2, 3, 5, 8, 13, 31, 64, 100]) {
      const claims = Array.from({ length: n }, () => ({ claimant: Uint8Array.from({ length: 32 }, () => random.int(0, 255)), cumulative: BigInt(random.int(0, 2 ** 31)) * 4_294_967_296n + BigInt(random.int(0, 2 ** 31)) }));
      let level = claims.map(plainLeaf);
      const levels = [level];
      while (level.length > 1) {
        const next: Uint8Array[] = [];
        for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? plainNode(level[i]!, level[i + 1]!) : level[i]!);
        levels.push((level = next));
      }
      const tree = new RewardTree(claims);
      const packed = new RewardTree({ claimants: concat(...claims.map((c) => c.claimant)), cumulatives: claims.map((c) => c.cumulative) });
      expect(tree.root).toEqual(level[0]);
      expect(packed.root).toEqual(level[0]);
      claims.forEach((c, i) => {
        expect(leafHash(c)).toEqual(plainLeaf(c));
        expect(packed.proof(i)).toEqual(tree.proof(i));
        expect(verifyClaim(tree.root, c, tree.proof(i))).toBe(true);
      });
    }
    expect(new RewardTree([]).root).toEqual(new Uint8Array(32));
  });
});
