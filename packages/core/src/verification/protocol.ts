import { sha256 } from "@noble/hashes/sha2";
import { utf8ToBytes } from "@noble/hashes/utils";
import { z } from "zod";
import { deriveMatrix, deriveRowOfA, MAX_MATRIX_SIZE, MIN_MATRIX_SIZE, rowTimesMatrix } from "./gemm.ts";
import { verifyRowProof } from "./row-tree.ts";
import { plausibleElapsedMs } from "./timing.ts";

/**
 * Proof of physical work, the messages and the verifier's checks (DESIGN.md, "Verification of
 * supplied hardware"). One round:
 *
 *   verifier → agent   GemmChallenge   (seed, n, deadline)
 *   agent → verifier   GemmCommitment  (merkle root of C's rows, time the multiplication took)
 *   verifier → agent   GemmRowRequest  (k rows drawn from fresh randomness AFTER the commitment)
 *   agent → verifier   GemmOpening     (those rows with their merkle proofs)
 *
 * Because the rows are drawn after the root is fixed, an agent that skipped or faked a fraction f of
 * the rows is caught with probability 1 − (1 − f)^k, while the verifier does O(k·n²) work against
 * the agent's O(n³). These schemas are the wire format for both sides (scheduler now, agent later).
 */
const Hex32 = z.string().regex(/^[0-9a-f]{64}$/, "must be 32 bytes as 64 lowercase hex digits");
const Int32 = z.number().int().min(-2_147_483_648).max(2_147_483_647);

export const ChallengeKind = z.enum(["CPU_GEMM", "GPU_GEMM"]);
export type ChallengeKind = z.infer<typeof ChallengeKind>;

export const MatrixSize = z.number().int().min(MIN_MATRIX_SIZE).max(MAX_MATRIX_SIZE);

export const GemmChallenge = z.object({
  challengeId: z.uuid(),
  deviceId: z.uuid(),
  kind: ChallengeKind,
  /** 32 random bytes, hex: A and B derive from it (gemm.ts). */
  seed: Hex32,
  matrixSize: MatrixSize,
  /** ISO 8601: the opening must arrive before this. */
  deadlineAt: z.iso.datetime({ offset: true }),
});
export type GemmChallenge = z.infer<typeof GemmChallenge>;

export const GemmCommitment = z.object({
  type: z.literal("commitment"),
  challengeId: z.uuid(),
  deviceId: z.uuid(),
  /** Echoed so that an answer to another challenge is named as such, not as a bad proof. */
  seed: Hex32,
  matrixSize: MatrixSize,
  /** RowCommitmentTree root over C, hex. */
  root: Hex32,
  /** Wall time of C = A·B on the device, inputs already in place, milliseconds (timing.ts). */
  elapsedMs: z.number().int().min(0).max(2_147_483_647),
});
export type GemmCommitment = z.infer<typeof GemmCommitment>;

export const GemmRowRequest = z.object({
  challengeId: z.uuid(),
  deviceId: z.uuid(),
  /** Distinct row indices, ascending. */
  rows: z.array(z.number().int().min(0).max(MAX_MATRIX_SIZE - 1)).min(1).max(MAX_MATRIX_SIZE),
});
export type GemmRowRequest = z.infer<typeof GemmRowRequest>;

export const GemmOpenedRow = z.object({
  index: z.number().int().min(0).max(MAX_MATRIX_SIZE - 1),
  /** C_index: n int32 values. */
  values: z.array(Int32).max(MAX_MATRIX_SIZE),
  /** Sibling hashes from leaf to root (row-tree.ts). */
  proof: z.array(Hex32).max(32),
});
export type GemmOpenedRow = z.infer<typeof GemmOpenedRow>;

export const GemmOpening = z.object({
  type: z.literal("opening"),
  challengeId: z.uuid(),
  deviceId: z.uuid(),
  rows: z.array(GemmOpenedRow).min(1).max(1_024),
});
export type GemmOpening = z.infer<typeof GemmOpening>;

/** What an agent sends back, on whatever channel carries it. */
export const VerificationAnswer = z.discriminatedUnion("type", [GemmCommitment, GemmOpening]);
export type VerificationAnswer = z.infer<typeof VerificationAnswer>;

/** Why an answer failed; the scheduler stores `code: detail` as the challenge's failure reason. */
export type VerificationFailureCode =
  | "challenge-mismatch"
  | "elapsed-exceeds-observed"
  | "unknown-model"
  | "timing-too-fast"
  | "timing-too-slow"
  | "rows-not-requested"
  | "malformed-row"
  | "proof-invalid"
  | "wrong-result";

export type Verdict = { ok: true } | { ok: false; code: VerificationFailureCode; detail: string };

const fail = (code: VerificationFailureCode, detail: string): Verdict => ({ ok: false, code, detail });

/** Fits the challenge table's failure_reason column (varchar 200). */
export function verdictReason(verdict: Verdict): string | null {
  return verdict.ok ? null : `${verdict.code}: ${verdict.detail}`.slice(0, 200);
}

/** The fields of an issued challenge the checks need. */
export interface IssuedChallenge {
  challengeId: string;
  deviceId: string;
  kind: ChallengeKind;
  seed: string;
  matrixSize: number;
}

/**
 * The agent's self-reported time can never exceed what the verifier saw between issuing the
 * challenge and receiving the commitment; this slack absorbs clock differences between scheduler
 * processes.
 */
export const OBSERVATION_SLACK_MS = 2_000;

/**
 * Checks a commitment before rows are requested: it answers this challenge, and its timing is
 * plausible for the hardware the device claims (`gpuModelId`, used for GPU_GEMM).
 */
export function checkCommitment(challenge: IssuedChallenge, commitment: GemmCommitment, context: { observedMs: number; gpuModelId: string | null }): Verdict {
  for (const field of ["challengeId", "deviceId", "seed", "matrixSize"] as const) {
    if (commitment[field] !== challenge[field]) return fail("challenge-mismatch", `${field} ${String(commitment[field])} does not match the challenge's ${String(challenge[field])}`);
  }
  if (commitment.elapsedMs > context.observedMs + OBSERVATION_SLACK_MS) {
    return fail("elapsed-exceeds-observed", `claimed ${commitment.elapsedMs} ms but answered ${context.observedMs} ms after the challenge was issued`);
  }
  const bounds = plausibleElapsedMs(challenge.kind, challenge.matrixSize, context.gpuModelId);
  if (!bounds) return fail("unknown-model", `no int8 throughput on record for GPU model ${context.gpuModelId ?? "(none)"}`);
  const hardware = challenge.kind === "GPU_GEMM" ? `a ${context.gpuModelId}` : "a CPU";
  if (commitment.elapsedMs < bounds.minMs) return fail("timing-too-fast", `${commitment.elapsedMs} ms is under the ${bounds.minMs} ms ${hardware} needs at n=${challenge.matrixSize}`);
  if (commitment.elapsedMs > bounds.maxMs) return fail("timing-too-slow", `${commitment.elapsedMs} ms is over the ${bounds.maxMs} ms allowed for ${hardware} at n=${challenge.matrixSize}`);
  return { ok: true };
}

const SAMPLE_DOMAIN = utf8ToBytes("GPUMESH_GEMM_SAMPLE_V1");

/**
 * k distinct row indices in [0, n), ascending, from the verifier's `randomness` (at least 16 fresh
 * random bytes drawn after the commitment arrived: rows known in advance could be computed alone).
 * Uniform: 32-bit words from a sha256 counter stream, rejection-sampled to avoid modulo bias.
 */
export function sampleRows(randomness: Uint8Array, n: number, k: number): number[] {
  if (randomness.length < 16) throw new RangeError("sampling needs at least 16 bytes of randomness");
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`cannot sample ${k} distinct rows of ${n}`);
  const limit = Math.floor(2 ** 32 / n) * n;
  const input = new Uint8Array(SAMPLE_DOMAIN.length + randomness.length + 4);
  input.set(SAMPLE_DOMAIN, 0);
  input.set(randomness, SAMPLE_DOMAIN.length);
  const inputView = new DataView(input.buffer);
  const chosen = new Set<number>();
  for (let counter = 0; chosen.size < k; counter++) {
    inputView.setUint32(input.length - 4, counter, true);
    const block = sha256(input);
    const words = new DataView(block.buffer, block.byteOffset, block.byteLength);
    for (let w = 0; w < 8 && chosen.size < k; w++) {
      const word = words.getUint32(w * 4, true);
      if (word < limit) chosen.add(word % n);
    }
  }
  return [...chosen].sort((a, b) => a - b);
}

/**
 * Probability that one challenge catches a device which faked `fakedRows` of the n rows of C (any
 * wrong value in a row makes that row fail): the k rows are drawn without replacement after the
 * commitment, so a miss means all k landed among the n − m honest rows:
 *   P(caught) = 1 − C(n − m, k) / C(n, k) = 1 − Π_{i<k} (n − m − i) / (n − i)  ≥  1 − (1 − m/n)^k.
 * At the defaults (n = 128, k = 8): a device faking a quarter of the rows is caught 90.7% of the time (1 − 0.75⁸ = 90.0% with replacement)
 * per challenge, and over 24 hourly challenges with probability 1 − 10⁻²⁴ or so; one faked row is
 * caught with probability k/n = 6.25% per challenge.
 */
export function detectionProbability(n: number, fakedRows: number, k: number): number {
  if (fakedRows <= 0) return 0;
  if (fakedRows + k > n) return 1;
  let miss = 1;
  for (let i = 0; i < k; i++) miss *= (n - fakedRows - i) / (n - i);
  return 1 - miss;
}

/**
 * The final check: the opened rows are exactly the requested ones, each is the leaf its proof claims
 * under the committed root, and each equals A_i·B recomputed here. Cheap checks run first; B is
 * derived once, only if every proof holds.
 */
export function verifyOpening(challenge: IssuedChallenge, committed: { root: string; sampledRows: readonly number[] }, opening: GemmOpening): Verdict {
  if (opening.challengeId !== challenge.challengeId) return fail("challenge-mismatch", `opening is for challenge ${opening.challengeId}`);
  if (opening.deviceId !== challenge.deviceId) return fail("challenge-mismatch", `opening comes from device ${opening.deviceId}`);
  const asked = [...committed.sampledRows].sort((a, b) => a - b);
  const opened = opening.rows.map((row) => row.index).sort((a, b) => a - b);
  if (opened.length !== asked.length || opened.some((index, i) => index !== asked[i])) {
    return fail("rows-not-requested", `asked for rows [${asked.join(",")}], got [${opened.join(",")}]`);
  }
  const n = challenge.matrixSize;
  for (const row of opening.rows) {
    if (row.values.length !== n) return fail("malformed-row", `row ${row.index} has ${row.values.length} values, expected ${n}`);
  }
  for (const row of opening.rows) {
    if (!verifyRowProof(challenge.seed, n, committed.root, row.index, row.values, row.proof)) {
      return fail("proof-invalid", `row ${row.index} does not verify against the committed root`);
    }
  }
  const b = deriveMatrix(challenge.seed, n, "B");
  for (const row of opening.rows) {
    const expected = rowTimesMatrix(deriveRowOfA(challenge.seed, n, row.index), b, n);
    const column = row.values.findIndex((value, j) => value !== expected[j]);
    if (column >= 0) return fail("wrong-result", `C[${row.index}][${column}] is ${row.values[column]}, expected ${expected[column]}`);
  }
  return { ok: true };
}
