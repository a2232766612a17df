import { sha256 } from "@noble/hashes/sha2";
import { hexToBytes, utf8ToBytes } from "@noble/hashes/utils";

/**
 * The challenge's work: C = A·B over n×n matrices with int8 entries and int32 results. Integer
 * arithmetic is exact on every CPU and GPU, so an honest answer is bit-identical wherever it was
 * computed and the verifier can compare rows with `===`.
 *
 * A and B come from the 32-byte seed by a sha256 counter stream, so the verifier sends 32 bytes
 * instead of 2n² and can regenerate any single row of A without the rest (it only ever needs
 * A_i and B to check row i of C).
 *
 *   block_j(M) = sha256("GPUMESH_GEMM_MATRIX_V1" ‖ seed ‖ M ‖ u32le(n) ‖ u32le(j)),  M ∈ {'A', 'B'}
 *   M = (block_0 ‖ block_1 ‖ …)[0 .. n²), row-major, each byte read as a signed int8.
 *
 * n is part of the hash input so that the same seed at another size gives unrelated matrices.
 */
export const MIN_MATRIX_SIZE = 16;
/**
 * |C_ij| ≤ n·128² must fit an int32 (n < 131_072); the lower cap keeps the verifier's O(k·n²)
 * recomputation and the agent's n² result in memory reasonable.
 */
export const MAX_MATRIX_SIZE = 8_192;

const MATRIX_DOMAIN = utf8ToBytes("GPUMESH_GEMM_MATRIX_V1");
const BLOCK = 32;

export type MatrixLabel = "A" | "B";

export function seedBytes(seedHex: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(seedHex)) throw new RangeError("seed must be 32 bytes as 64 lowercase hex digits");
  return hexToBytes(seedHex);
}

function checkSize(n: number): void {
  if (!Number.isInteger(n) || n < MIN_MATRIX_SIZE || n > MAX_MATRIX_SIZE) throw new RangeError(`matrix size must be an integer in [${MIN_MATRIX_SIZE}, ${MAX_MATRIX_SIZE}]`);
}

/** Bytes [offset, offset + length) of matrix `label`'s stream. */
function streamBytes(seed: Uint8Array, label: MatrixLabel, n: number, offset: number, length: number): Int8Array {
  const out = new Int8Array(length);
  const input = new Uint8Array(MATRIX_DOMAIN.length + 32 + 1 + 4 + 4);
  input.set(MATRIX_DOMAIN, 0);
  input.set(seed, MATRIX_DOMAIN.length);
  input[MATRIX_DOMAIN.length + 32] = label.charCodeAt(0);
  const view = new DataView(input.buffer);
  view.setUint32(MATRIX_DOMAIN.length + 33, n, true);
  const counterAt = MATRIX_DOMAIN.length + 37;
  let written = 0;
  for (let block = Math.floor(offset / BLOCK); written < length; block++) {
    view.setUint32(counterAt, block, true);
    const digest = sha256(input);
    const start = written === 0 ? offset - block * BLOCK : 0;
    const take = Math.min(BLOCK - start, length - written);
    // Int8Array.set from a Uint8Array reinterprets nothing: copy through a signed view of the digest.
    out.set(new Int8Array(digest.buffer, digest.byteOffset + start, take), written);
    written += take;
  }
  return out;
}

/** The whole of A or B, row-major. */
export function deriveMatrix(seedHex: string, n: number, label: MatrixLabel): Int8Array {
  checkSize(n);
  return streamBytes(seedBytes(seedHex), label, n, 0, n * n);
}

/** Row i of A alone (n bytes of the stream): what the verifier needs besides B. */
export function deriveRowOfA(seedHex: string, n: number, row: number): Int8Array {
  checkSize(n);
  if (!Number.isInteger(row) || row < 0 || row >= n) throw new RangeError(`row ${row} is outside a ${n}×${n} matrix`);
  return streamBytes(seedBytes(seedHex), "A", n, row * n, n);
}

/** C = A·B, row-major, exact (see MAX_MATRIX_SIZE). The agent's O(n³) part. */
export function gemm(a: Int8Array, b: Int8Array, n: number): Int32Array {
  if (a.length !== n * n || b.length !== n * n) throw new RangeError(`expected two ${n}×${n} matrices`);
  const c = new Int32Array(n * n);
  // i-k-j order walks B and C row-wise (cache friendly); each product fits easily in a double.
  for (let i = 0; i < n; i++) {
    const rowOffset = i * n;
    for (let k = 0; k < n; k++) {
      const aik = a[rowOffset + k]!;
      if (aik === 0) continue;
      const bOffset = k * n;
      for (let j = 0; j < n; j++) c[rowOffset + j] = c[rowOffset + j]! + aik * b[bOffset + j]!;
    }
  }
  return c;
}

/** Row i of C from A_i and B: the verifier's O(n²) recomputation of one sampled row. */
export function rowTimesMatrix(aRow: Int8Array, b: Int8Array, n: number): Int32Array {
  if (aRow.length !== n || b.length !== n * n) throw new RangeError(`expected a row of ${n} and an ${n}×${n} matrix`);
  const out = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const aik = aRow[k]!;
    if (aik === 0) continue;
    const bOffset = k * n;
    for (let j = 0; j < n; j++) out[j] = out[j]! + aik * b[bOffset + j]!;
  }
  return out;
}

/** An honest agent's full computation (CPU path): derive A and B, multiply. */
export function computeChallenge(seedHex: string, n: number): Int32Array {
  return gemm(deriveMatrix(seedHex, n, "A"), deriveMatrix(seedHex, n, "B"), n);
}
