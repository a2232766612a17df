import { describe, expect, it } from "vitest";
import { GPU_MODELS } from "../catalogue/gpu-models.ts";
import { computeChallenge, deriveMatrix, deriveRowOfA, gemm, rowTimesMatrix } from "./gemm.ts";
import { checkCommitment, detectionProbability, GemmChallenge, GemmOpening, sampleRows, verdictReason, verifyOpening, type GemmCommitment, type IssuedChallenge } from "./protocol.ts";
import { RowCommitmentTree, verifyRowProof } from "./row-tree.ts";
import { nextVerificationScore } from "./score.ts";
import { GPU_INT8_DENSE_TOPS, gemmOps, plausibleElapsedMs } from "./timing.ts";

const SEED = "7f".repeat(32);
const OTHER_SEED = "a1".repeat(32);
const challenge = (overrides: Partial<IssuedChallenge> = {}): IssuedChallenge => ({
  challengeId: "0b6f2b8e-54f6-4a53-9d0e-2a8c7f3c1d01",
  deviceId: "5d1c7e0a-3b2f-4c6d-8e9f-1a2b3c4d5e6f",
  kind: "CPU_GEMM",
  seed: SEED,
  matrixSize: 64,
  ...overrides,
});

/** A complete agent for tests: computes C (or is handed a C), commits, opens what is asked. */
function agent(c: IssuedChallenge, result: Int32Array = computeChallenge(c.seed, c.matrixSize), treeSeed = c.seed) {
  const tree = new RowCommitmentTree(treeSeed, c.matrixSize, result);
  const n = c.matrixSize;
  const commitment: GemmCommitment = { type: "commitment", challengeId: c.challengeId, deviceId: c.deviceId, seed: c.seed, matrixSize: n, root: tree.root, elapsedMs: 3 };
  const open = (rows: number[]): GemmOpening => ({
    type: "opening",
    challengeId: c.challengeId,
    deviceId: c.deviceId,
    rows: rows.map((index) => ({ index, values: [...result.subarray(index * n, (index + 1) * n)], proof: tree.proof(index) })),
  });
  return { tree, commitment, open };
}

const randomness = (byte: number) => new Uint8Array(32).fill(byte);

describe("int8 GEMM challenge", () => {
  it("derives the same int8 matrices from the same seed, different ones from another seed or size", () => {
    const a = deriveMatrix(SEED, 32, "A");
    expect(deriveMatrix(SEED, 32, "A")).toEqual(a);
    expect(deriveMatrix(SEED, 32, "B")).not.toEqual(a);
    expect(deriveMatrix(OTHER_SEED, 32, "A")).not.toEqual(a);
    expect(deriveMatrix(SEED, 33, "A").subarray(0, 32 * 32)).not.toEqual(a);
    // Spans the whole int8 range, negatives included.
    expect(Math.min(...a)).toBeLessThan(-100);
    expect(Math.max(...a)).toBeGreaterThan(100);
    // A single row of A (offsets not aligned to the 32-byte blocks) equals that row of the whole matrix.
    const n = 23;
    const whole = deriveMatrix(SEED, n, "A");
    for (const row of [0, 1, 7, 22]) expect(deriveRowOfA(SEED, n, row)).toEqual(whole.subarray(row * n, (row + 1) * n));
  });

  it("multiplies exactly (int32 accumulate), and one row can be recomputed alone", () => {
    const n = 24;
    const a = deriveMatrix(SEED, n, "A");
    const b = deriveMatrix(SEED, n, "B");
    const c = gemm(a, b, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let expected = 0;
        for (let k = 0; k < n; k++) expected += a[i * n + k]! * b[k * n + j]!;
        expect(c[i * n + j]).toBe(expected);
      }
      expect(rowTimesMatrix(deriveRowOfA(SEED, n, i), b, n)).toEqual(c.subarray(i * n, (i + 1) * n));
    }
    // The extreme case stays exact: all entries -128 give n·16384 in every cell.
    const extreme = new Int8Array(n * n).fill(-128);
    expect(gemm(extreme, extreme, n).every((value) => value === n * 16_384)).toBe(true);
  });
});

describe("row commitment tree", () => {
  it("proves every row for power-of-two and odd sizes, and only at its own position", () => {
    for (const n of [16, 17, 23, 32]) {
      const c = computeChallenge(SEED, n);
      const tree = new RowCommitmentTree(SEED, n, c);
      for (let i = 0; i < n; i++) {
        const row = c.subarray(i * n, (i + 1) * n);
        expect(verifyRowProof(SEED, n, tree.root, i, row, tree.proof(i))).toBe(true);
        expect(verifyRowProof(SEED, n, tree.root, (i + 1) % n, row, tree.proof(i))).toBe(false);
        expect(verifyRowProof(OTHER_SEED, n, tree.root, i, row, tree.proof(i))).toBe(false);
        expect(verifyRowProof(SEED, n, tree.root, i, row, [...tree.proof(i), tree.root])).toBe(false);
      }
    }
  });
});

describe("verification round", () => {
  it("passes an honest agent", () => {
    const c = challenge();
    const honest = agent(c);
    expect(checkCommitment(c, honest.commitment, { observedMs: 50, gpuModelId: null })).toEqual({ ok: true });
    const rows = sampleRows(randomness(1), c.matrixSize, 8);
    expect(verifyOpening(c, { root: honest.tree.root, sampledRows: rows }, honest.open(rows))).toEqual({ ok: true });
    // The wire schemas accept what an honest agent sends.
    expect(GemmOpening.safeParse(JSON.parse(JSON.stringify(honest.open(rows)))).success).toBe(true);
    expect(GemmChallenge.safeParse({ ...c, deadlineAt: new Date().toISOString() }).success).toBe(true);
  });

  it("fails a wrong row even when its proof is consistent with the commitment", () => {
    const c = challenge();
    const rows = sampleRows(randomness(2), c.matrixSize, 4);
    const cheated = computeChallenge(c.seed, c.matrixSize);
    cheated[rows[2]! * c.matrixSize + 5]! += 1;
    const cheater = agent(c, cheated);
    const verdict = verifyOpening(c, { root: cheater.tree.root, sampledRows: rows }, cheater.open(rows));
    expect(verdict).toMatchObject({ ok: false, code: "wrong-result" });
    expect(verdictReason(verdict)).toContain(`C[${rows[2]}][5]`);
  });

  it("fails a wrong proof, and honest rows under a commitment to other data", () => {
    const c = challenge();
    const rows = sampleRows(randomness(3), c.matrixSize, 4);
    const honest = agent(c);
    const opening = honest.open(rows);
    opening.rows[1]!.proof[0] = "00".repeat(32);
    expect(verifyOpening(c, { root: honest.tree.root, sampledRows: rows }, opening)).toMatchObject({ ok: false, code: "proof-invalid" });
    const garbageRoot = new RowCommitmentTree(c.seed, c.matrixSize, new Int32Array(c.matrixSize ** 2)).root;
    expect(verifyOpening(c, { root: garbageRoot, sampledRows: rows }, honest.open(rows))).toMatchObject({ ok: false, code: "proof-invalid" });
  });

  it("fails rows other than those asked: a different set, one missing, or one twice", () => {
    const c = challenge();
    const honest = agent(c);
    const asked = [3, 10, 40, 63];
    const committed = { root: honest.tree.root, sampledRows: asked };
    for (const opened of [[3, 10, 40, 62], [3, 10, 40], [3, 10, 40, 40], [3, 10, 40, 63, 0]]) {
      expect(verifyOpening(c, committed, honest.open(opened))).toMatchObject({ ok: false, code: "rows-not-requested" });
    }
  });

  it("fails an answer for another seed, whether the agent admits it or not", () => {
    const c = challenge();
    const other = agent(challenge({ seed: OTHER_SEED }));
    expect(checkCommitment(c, other.commitment, { observedMs: 50, gpuModelId: null })).toMatchObject({ ok: false, code: "challenge-mismatch" });
    // The other seed's C, committed under this challenge's seed echo: the rows are consistent with
    // the root but not with this challenge's A·B.
    const rows = sampleRows(randomness(4), c.matrixSize, 4);
    const disguised = agent(c, computeChallenge(OTHER_SEED, c.matrixSize));
    expect(checkCommitment(c, disguised.commitment, { observedMs: 50, gpuModelId: null })).toEqual({ ok: true });
    expect(verifyOpening(c, { root: disguised.tree.root, sampledRows: rows }, disguised.open(rows))).toMatchObject({ ok: false, code: "wrong-result" });
    // A tree built for the other seed does not verify here at all: leaves bind the seed.
    const replayed = agent(c, computeChallenge(OTHER_SEED, c.matrixSize), OTHER_SEED);
    expect(verifyOpening(c, { root: replayed.tree.root, sampledRows: rows }, replayed.open(rows))).toMatchObject({ ok: false, code: "proof-invalid" });
    // And an opening addressed to another challenge.
    const honest = agent(c);
    expect(verifyOpening(c, { root: honest.tree.root, sampledRows: rows }, { ...honest.open(rows), challengeId: "0b6f2b8e-54f6-4a53-9d0e-2a8c7f3c1d02" })).toMatchObject({ ok: false, code: "challenge-mismatch" });
  });

  it("fails a row of the wrong length before hashing it", () => {
    const c = challenge();
    const honest = agent(c);
    const opening = honest.open([5]);
    opening.rows[0]!.values.pop();
    expect(verifyOpening(c, { root: honest.tree.root, sampledRows: [5] }, opening)).toMatchObject({ ok: false, code: "malformed-row" });
  });
});

describe("timing plausibility", () => {
  const commit = (c: IssuedChallenge, elapsedMs: number): GemmCommitment => ({ ...agent(challenge({ matrixSize: 16 })).commitment, challengeId: c.challengeId, deviceId: c.deviceId, seed: c.seed, matrixSize: c.matrixSize, elapsedMs });

  it("has a throughput figure for every GPU model in the catalogue", () => {
    for (const model of GPU_MODELS) expect(GPU_INT8_DENSE_TOPS[model.id], model.id).toBeGreaterThan(0);
  });

  it("classes GPUs at a large size: too slow for the claimed model, too fast for it, or plausible", () => {
    const c = challenge({ kind: "GPU_GEMM", matrixSize: 8_192 });
    const msAt = (tops: number, efficiency: number) => Math.round((gemmOps(8_192) * 1000) / (tops * 1e12 * efficiency));
    const context = (gpuModelId: string) => ({ observedMs: 60_000, gpuModelId });
    // An H100 at 60 % of its peak is plausible; an RTX 3080 at 60 % claiming to be an H100 is not.
    expect(checkCommitment(c, commit(c, msAt(1_979, 0.6)), context("h100-80gb"))).toEqual({ ok: true });
    expect(checkCommitment(c, commit(c, msAt(238, 0.6)), context("h100-80gb"))).toMatchObject({ ok: false, code: "timing-too-slow" });
    expect(checkCommitment(c, commit(c, msAt(238, 0.6)), context("rtx-3080"))).toEqual({ ok: true });
    // A claimed RTX 3080 that answers faster than its peak allows.
    expect(checkCommitment(c, commit(c, 1), context("rtx-3080"))).toMatchObject({ ok: false, code: "timing-too-fast" });
    // A CPU pretending to be a GPU (5 TOPS int8, a strong server).
    expect(checkCommitment(c, commit(c, msAt(5, 1)), context("rtx-3080"))).toMatchObject({ ok: false, code: "timing-too-slow" });
    expect(checkCommitment(c, commit(c, 1), context("no-such-gpu"))).toMatchObject({ ok: false, code: "unknown-model" });
  });

  it("uses generous CPU bounds, but not unlimited ones", () => {
    const small = challenge({ matrixSize: 128 });
    expect(plausibleElapsedMs("CPU_GEMM", 128, null)).toEqual({ minMs: 0, maxMs: 1_042 });
    expect(checkCommitment(small, commit(small, 900), { observedMs: 5_000, gpuModelId: null })).toEqual({ ok: true });
    expect(checkCommitment(small, commit(small, 5_000), { observedMs: 60_000, gpuModelId: null })).toMatchObject({ ok: false, code: "timing-too-slow" });
    const big = challenge({ matrixSize: 8_192 });
    expect(checkCommitment(big, commit(big, 1), { observedMs: 60_000, gpuModelId: null })).toMatchObject({ ok: false, code: "timing-too-fast" });
  });

  it("refuses a claimed time longer than the verifier saw pass", () => {
    const c = challenge();
    expect(checkCommitment(c, commit(c, 900), { observedMs: 100, gpuModelId: null })).toEqual({ ok: true });
    expect(checkCommitment(c, commit(c, 5_000), { observedMs: 1_000, gpuModelId: null })).toMatchObject({ ok: false, code: "elapsed-exceeds-observed" });
  });
});

describe("row sampling", () => {
  it("draws k distinct rows in range, sorted, determined by the verifier's randomness", () => {
    const rows = sampleRows(randomness(9), 64, 8);
    expect(rows).toHaveLength(8);
    expect(new Set(rows).size).toBe(8);
    expect(rows).toEqual([...rows].sort((a, b) => a - b));
    expect(rows.every((r) => Number.isInteger(r) && r >= 0 && r < 64)).toBe(true);
    expect(sampleRows(randomness(9), 64, 8)).toEqual(rows);
    expect(sampleRows(randomness(10), 64, 8)).not.toEqual(rows);
    expect(sampleRows(randomness(9), 16, 16)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(() => sampleRows(randomness(9), 16, 17)).toThrow(RangeError);
  });

  it("reaches every row about equally often", () => {
    const counts = new Array<number>(16).fill(0);
    for (let t = 0; t < 3_200; t++) {
      const bytes = new Uint8Array(16);
      new DataView(bytes.buffer).setUint32(0, t, true);
      counts[sampleRows(bytes, 16, 1)[0]!]!++;
    }
    // 200 expected per row; ±60 is over 4 standard deviations.
    for (const count of counts) expect(Math.abs(count - 200)).toBeLessThan(60);
  });
});

describe("verification score", () => {
  it("rises half way on a pass, drops a quarter on a miss, to a quarter on a failure", () => {
    const passes = [0];
    for (let i = 0; i < 3; i++) passes.push(nextVerificationScore(passes.at(-1)!, "PASSED"));
    expect(passes).toEqual([0, 5_000, 7_500, 8_750]);
    expect(nextVerificationScore(9_999, "PASSED")).toBe(10_000);
    const misses = [10_000];
    for (let i = 0; i < 3; i++) misses.push(nextVerificationScore(misses.at(-1)!, "EXPIRED"));
    expect(misses).toEqual([10_000, 7_500, 5_625, 4_218]);
    expect(nextVerificationScore(1, "EXPIRED")).toBe(0);
    // One failure puts even a perfect device under the default matching floor (5,000).
    expect(nextVerificationScore(10_000, "FAILED")).toBe(2_500);
    expect(nextVerificationScore(nextVerificationScore(2_500, "PASSED"), "PASSED")).toBeGreaterThanOrEqual(5_000);
  });
});

describe("detection probability per challenge", () => {
  it("is 1 − C(n−m, k)/C(n, k), at least 1 − (1 − f)^k, and what sampleRows achieves empirically", () => {
    expect(detectionProbability(128, 0, 8)).toBe(0);
    expect(detectionProbability(128, 1, 8)).toBeCloseTo(8 / 128, 12);
    expect(detectionProbability(128, 121, 8)).toBe(1);
    for (const [n, m, k] of [[128, 32, 8], [128, 8, 8], [1024, 10, 16], [64, 16, 4]] as const) {
      const exact = detectionProbability(n, m, k);
      expect(exact).toBeGreaterThanOrEqual(1 - (1 - m / n) ** k - 1e-12);
      // The faked rows are the first m (the sampler cannot know which ones are faked; any m-set is the same).
      let caught = 0;
      const trials = 4_000;
      for (let trial = 0; trial < trials; trial++) {
        const randomness = new Uint8Array(16);
        new DataView(randomness.buffer).setUint32(0, trial * 7919 + n, true);
        new DataView(randomness.buffer).setUint32(4, m * 104_729 + k, true);
        if (sampleRows(randomness, n, k).some((row) => row < m)) caught++;
      }
      // Binomial standard error at 4,000 trials is at most 0.8%: 4σ.
      expect(Math.abs(caught / trials - exact)).toBeLessThan(0.032);
    }
    expect(detectionProbability(128, 32, 8)).toBeCloseTo(0.9073, 4);
  });
});
