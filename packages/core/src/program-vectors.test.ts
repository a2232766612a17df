import { readFileSync } from "node:fs";
import path from "node:path";
import { base58, hex } from "@scure/base";
import { describe, expect, it } from "vitest";
import { cumulativeEmission, emissionHour, hourlyEmission, qPow } from "./emission.ts";
import { leafHash, nodeHash, RewardTree } from "./merkle.ts";
import { allocationSettlement, settlementSplit, ZERO_TOTALS, type AllocationTotals } from "./settlement.ts";

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

  it("settlement sequences: an allocation settled step by step, fees on running totals, match the program to the base unit", () => {
    const vectors = load<{
      sequences: {
        rate_per_second: string;
        from_ts: string;
        allocation_until_ts: string | null;
        lease_end_ts: string;
        fee_bps: number;
        burn_bps: number;
        is_mesh: boolean;
        settlements: { now: string; until: string | null; nothing_to_settle: boolean; from_ts: string; until_ts: string; split: Split; totals: { gross: string; fee: string; burned: string; supplier: string; treasury: string } }[];
      }[];
    }>("settlement.json");
    expect(vectors.sequences.length).toBeGreaterThan(3);
    for (const seq of vectors.sequences) {
      let settled = BigInt(seq.from_ts);
      let totals: AllocationTotals = ZERO_TOTALS;
      const paid = { supplier: 0n, treasury: 0n };
      for (const step of seq.settlements) {
        // t = min(until ?? now, now, allocation until, lease end): the program's clamp.
        const candidates = [BigInt(step.until ?? step.now), BigInt(step.now), BigInt(seq.lease_end_ts), ...(seq.allocation_until_ts ? [BigInt(seq.allocation_until_ts)] : [])];
        const t = candidates.reduce((a, b) => (a < b ? a : b));
        const nothing = t <= settled;
        expect(nothing).toBe(step.nothing_to_settle);
        const seconds = nothing ? 0n : t - settled;
        const result = allocationSettlement(totals, BigInt(seq.rate_per_second), seconds, BigInt(seq.fee_bps), BigInt(seq.burn_bps), seq.is_mesh);
        expect({ gross: result.split.gross.toString(), fee: result.split.fee.toString(), burn: result.split.burn.toString(), treasury: result.split.treasury.toString(), supplier: result.split.supplier.toString() }).toEqual(step.split);
        if (!nothing) {
          settled = t;
          totals = result.totals;
          paid.supplier += result.split.supplier;
          paid.treasury += result.split.treasury;
        }
        expect(step.until_ts).toBe(settled.toString());
        expect({ gross: totals.gross.toString(), fee: totals.fee.toString(), burned: totals.burn.toString(), supplier: paid.supplier.toString(), treasury: paid.treasury.toString() }).toEqual(step.totals);
      }
    }
  });

  it("settlement ends: what allocations are owed at the end and the renter's refund match the program", () => {
    const vectors = load<{
      ends: { price_per_second: string; max_seconds: string; allocations: { rate_per_second: string; from_ts: string; until_ts: string | null }[]; end_ts: string; owed_total: string; deposit: string; refund: string }[];
    }>("settlement.json");
    expect(vectors.ends.length).toBeGreaterThan(2);
    for (const end of vectors.ends) {
      // Each allocation is owed its rate over [from, until or the end): the ledger's per-node billing.
      const owed = end.allocations.reduce((sum, a) => sum + BigInt(a.rate_per_second) * (BigInt(a.until_ts ?? end.end_ts) - BigInt(a.from_ts)), 0n);
      expect(owed.toString()).toBe(end.owed_total);
      const deposit = BigInt(end.price_per_second) * BigInt(end.max_seconds);
      expect(deposit.toString()).toBe(end.deposit);
      expect((deposit - owed).toString()).toBe(end.refund);
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
