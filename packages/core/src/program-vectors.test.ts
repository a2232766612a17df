import { readFileSync } from "node:fs";
import path from "node:path";
import { base58, hex } from "@scure/base";
import { describe, expect, it } from "vitest";
import { cumulativeEmission, emissionHour, hourlyEmission, qPow } from "./emission.ts";
import { leafHash, nodeHash, RewardTree } from "./merkle.ts";
import { settlementSplit } from "./settlement.ts";

// Cross-language truth: the Rust tests of programs/gpumesh write these vectors from the program's own
// code; the TypeScript maths must reproduce every number and hash exactly.
const vectorsDir = path.resolve(import.meta.dirname, "../../../programs/gpumesh/vectors");
const load = <T>(name: string): T => JSON.parse(readFileSync(path.join(vectorsDir, name), "utf8")) as T;

interface Split {
  gross: string;
  fee: string;
  burn: string;
  treasury: string;
  supplier: string;
}

describe("Rust shared vectors", () => {
  it("emission: q^N, cumulative and hourly amounts, and crank amounts match the program", () => {
    const vectors = load<{
      hours: { hour: string; q_pow: string; cumulative: string; emission: string }[];
      cranks: { emission_start: string; now: string; minted_so_far: string; hour: string; mint: string }[];
    }>("emission.json");
    expect(vectors.hours.length).toBeGreaterThan(5);
    for (const row of vectors.hours) {
      const hour = Number(row.hour);
      expect(qPow(hour).toString(), `q^${hour}`).toBe(row.q_pow);
      expect(cumulativeEmission(hour).toString(), `C(${hour})`).toBe(row.cumulative);
      expect(hourlyEmission(hour).toString(), `E(${hour})`).toBe(row.emission);
    }
    for (const crank of vectors.cranks) {
      const hour = emissionHour(Number(crank.now), Number(crank.emission_start));
      expect(String(hour)).toBe(crank.hour);
      const due = cumulativeEmission(hour) - BigInt(crank.minted_so_far);
      expect((due > 0n ? due : 0n).toString()).toBe(crank.mint);
    }
  });

  it("settlement: gross, fee, burn, treasury, supplier and refund match to the base unit", () => {
    const vectors = load<{
      cases: { price_per_second: string; fee_bps: number; burn_bps: number; is_mesh: boolean; deposit: string; seconds: string; split: Split; refund: string }[];
    }>("settlement.json");
    expect(vectors.cases.length).toBeGreaterThan(3);
    for (const row of vectors.cases) {
      const split = settlementSplit(BigInt(row.price_per_second), BigInt(row.seconds), BigInt(row.fee_bps), BigInt(row.burn_bps), row.is_mesh);
      expect({ gross: split.gross.toString(), fee: split.fee.toString(), burn: split.burn.toString(), treasury: split.treasury.toString(), supplier: split.supplier.toString() }).toEqual(row.split);
      expect((BigInt(row.deposit) - split.gross).toString()).toBe(row.refund);
    }
  });

  it("merkle: leaves, roots and proofs match the program's tree", () => {
    const vectors = load<{
      node_example: { a: string; b: string; node: string };
      trees: { root: string; claims: { claimant: string; cumulative: string; leaf: string; proof: string[] }[] }[];
    }>("merkle.json");
    expect(hex.encode(nodeHash(hex.decode(vectors.node_example.a), hex.decode(vectors.node_example.b)))).toBe(vectors.node_example.node);
    for (const tree of vectors.trees) {
      const claims = tree.claims.map((claim) => ({ claimant: base58.decode(claim.claimant), cumulative: BigInt(claim.cumulative) }));
      const built = new RewardTree(claims);
      expect(hex.encode(built.root)).toBe(tree.root);
      tree.claims.forEach((claim, index) => {
        expect(hex.encode(leafHash(claims[index]!))).toBe(claim.leaf);
        expect(built.proof(index).map((node) => hex.encode(node))).toEqual(claim.proof);
      });
    }
  });
});
