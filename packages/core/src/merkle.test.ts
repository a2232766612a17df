import { describe, expect, it } from "vitest";
import { leafHash, nodeHash, RewardTree, verifyClaim, type RewardClaim } from "./merkle.ts";

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
});
