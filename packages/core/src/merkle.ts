/**
 * Reward merkle tree over cumulative amounts, identical to programs/gpumesh/src/merkle.rs:
 * leaf = sha256(0x00 ‖ sha256(claimant(32) ‖ cumulative_u64_le)), node = sha256(0x01 ‖ min ‖ max)
 * (bytewise order, so proofs need no direction bits). Levels pair (0,1), (2,3), …; an odd last node is
 * carried up unchanged; a one-leaf tree has root = leaf and an empty proof.
 *
 * An epoch tree of 100,000 claimants takes 400,000 SHA-256 blocks. A general-purpose hash (a new
 * hasher object and a fresh array per call) spent most of its time allocating, so the tree hashes
 * its fixed-size messages (40, 33 and 65 bytes) with the one-or-two-block SHA-256 below, into one
 * buffer per level; merkle.test.ts checks it against @noble/hashes for every length it accepts.
 */
export interface RewardClaim {
  /** Claimant public key, 32 bytes. */
  claimant: Uint8Array;
  cumulative: bigint;
}

const K = Int32Array.from(
  [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ].map((k) => k | 0),
);
const INITIAL = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19].map((h) => h | 0));
const W = new Int32Array(64);
const H = new Int32Array(8);
/** The message being hashed, padded: at most two blocks. */
const BLOCKS = new Uint8Array(128);

/** Longest message `sha256Small` takes: two blocks less the 0x80 byte and the 8-byte length. */
export const SHA256_SMALL_MAX = 128 - 9;

function compress(block: Uint8Array, offset: number): void {
  for (let t = 0; t < 16; t++) {
    const i = offset + t * 4;
    W[t] = (block[i]! << 24) | (block[i + 1]! << 16) | (block[i + 2]! << 8) | block[i + 3]!;
  }
  for (let t = 16; t < 64; t++) {
    const w15 = W[t - 15]!;
    const w2 = W[t - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[t] = (W[t - 16]! + s0 + W[t - 7]! + s1) | 0;
  }
  let a = H[0]!, b = H[1]!, c = H[2]!, d = H[3]!, e = H[4]!, f = H[5]!, g = H[6]!, h = H[7]!;
  for (let t = 0; t < 64; t++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[t]! + W[t]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}

/**
 * SHA-256 of `message[0, length)` (at most SHA256_SMALL_MAX bytes), written to `out` at `outOffset`.
 * `message` may be BLOCKS itself (callers below assemble their message in place).
 */
export function sha256Small(message: Uint8Array, length: number, out: Uint8Array, outOffset = 0): void {
  if (length < 0 || length > SHA256_SMALL_MAX) throw new RangeError(`sha256Small takes at most ${SHA256_SMALL_MAX} bytes`);
  if (message !== BLOCKS) BLOCKS.set(message.subarray(0, length));
  const blocks = length + 9 <= 64 ? 1 : 2;
  const end = blocks * 64;
  BLOCKS[length] = 0x80;
  BLOCKS.fill(0, length + 1, end - 4);
  const bits = length * 8;
  BLOCKS[end - 4] = bits >>> 24;
  BLOCKS[end - 3] = (bits >>> 16) & 0xff;
  BLOCKS[end - 2] = (bits >>> 8) & 0xff;
  BLOCKS[end - 1] = bits & 0xff;
  H.set(INITIAL);
  for (let block = 0; block < blocks; block++) compress(BLOCKS, block * 64);
  for (let i = 0; i < 8; i++) {
    const word = H[i]!;
    const o = outOffset + i * 4;
    out[o] = word >>> 24;
    out[o + 1] = (word >>> 16) & 0xff;
    out[o + 2] = (word >>> 8) & 0xff;
    out[o + 3] = word & 0xff;
  }
}

const MAX_U64 = 0xffff_ffff_ffff_ffffn;
const INNER = new Uint8Array(32);

/** The leaf hash of `claimant` (32 bytes at `claimantOffset`) with `cumulative`, into `out` at `outOffset`. */
function writeLeaf(claimant: Uint8Array, claimantOffset: number, cumulative: bigint, out: Uint8Array, outOffset: number): void {
  if (cumulative < 0n || cumulative > MAX_U64) throw new RangeError("cumulative amount must fit in a u64");
  for (let i = 0; i < 32; i++) BLOCKS[i] = claimant[claimantOffset + i]!;
  const low = Number(cumulative & 0xffff_ffffn);
  const high = Number(cumulative >> 32n);
  for (let i = 0; i < 4; i++) {
    BLOCKS[32 + i] = (low >>> (8 * i)) & 0xff;
    BLOCKS[36 + i] = (high >>> (8 * i)) & 0xff;
  }
  sha256Small(BLOCKS, 40, INNER);
  BLOCKS[0] = 0x00;
  BLOCKS.set(INNER, 1);
  sha256Small(BLOCKS, 33, out, outOffset);
}

/** node(a, b) for the 32-byte hashes at `a[ai]` and `b[bi]`, into `out` at `outOffset`. */
function writeNode(a: Uint8Array, ai: number, b: Uint8Array, bi: number, out: Uint8Array, outOffset: number): void {
  let order = 0;
  for (let i = 0; i < 32 && order === 0; i++) order = a[ai + i]! - b[bi + i]!;
  BLOCKS[0] = 0x01;
  for (let i = 0; i < 32; i++) {
    BLOCKS[(order <= 0 ? 1 : 33) + i] = a[ai + i]!;
    BLOCKS[(order <= 0 ? 33 : 1) + i] = b[bi + i]!;
  }
  sha256Small(BLOCKS, 65, out, outOffset);
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function leafHash(claim: RewardClaim): Uint8Array {
  if (claim.claimant.length !== 32) throw new RangeError("claimant must be 32 bytes");
  const out = new Uint8Array(32);
  writeLeaf(claim.claimant, 0, claim.cumulative, out, 0);
  return out;
}

export function nodeHash(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== 32 || b.length !== 32) throw new RangeError("node children must be 32-byte hashes");
  const out = new Uint8Array(32);
  writeNode(a, 0, b, 0, out, 0);
  return out;
}

export class RewardTree {
  /** Level 0 = leaves; each level is its hashes back to back, 32 bytes each. */
  private readonly levels: Uint8Array[] = [];
  readonly size: number;

  /**
   * `claims` as objects, or (the fast path for a whole epoch) claimants packed 32 bytes each in one
   * buffer with their amounts alongside.
   */
  constructor(claims: readonly RewardClaim[] | { claimants: Uint8Array; cumulatives: readonly bigint[] }) {
    let leaves: Uint8Array;
    if (Array.isArray(claims)) {
      const list = claims as readonly RewardClaim[];
      leaves = new Uint8Array(list.length * 32);
      list.forEach((claim, i) => {
        if (claim.claimant.length !== 32) throw new RangeError("claimant must be 32 bytes");
        writeLeaf(claim.claimant, 0, claim.cumulative, leaves, i * 32);
      });
    } else {
      const packed = claims as { claimants: Uint8Array; cumulatives: readonly bigint[] };
      if (packed.claimants.length !== packed.cumulatives.length * 32) throw new RangeError("one 32-byte claimant per cumulative amount");
      leaves = new Uint8Array(packed.cumulatives.length * 32);
      packed.cumulatives.forEach((cumulative, i) => writeLeaf(packed.claimants, i * 32, cumulative, leaves, i * 32));
    }
    this.size = leaves.length / 32;
    if (this.size === 0) return;
    this.levels.push(leaves);
    for (let count = this.size; count > 1; ) {
      const previous = this.levels.at(-1)!;
      const nextCount = Math.ceil(count / 2);
      const next = new Uint8Array(nextCount * 32);
      for (let i = 0; i + 1 < count; i += 2) writeNode(previous, i * 32, previous, (i + 1) * 32, next, (i / 2) * 32);
      if (count % 2 === 1) next.set(previous.subarray((count - 1) * 32, count * 32), (nextCount - 1) * 32);
      this.levels.push(next);
      count = nextCount;
    }
  }

  /** All-zero for an empty tree. */
  get root(): Uint8Array {
    return this.levels.at(-1)?.slice(0, 32) ?? new Uint8Array(32);
  }

  proof(index: number): Uint8Array[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) throw new RangeError(`no leaf ${index}`);
    const out: Uint8Array[] = [];
    let position = index;
    for (const level of this.levels.slice(0, -1)) {
      const sibling = position ^ 1;
      if (sibling * 32 < level.length) out.push(level.slice(sibling * 32, sibling * 32 + 32));
      position = Math.floor(position / 2);
    }
    return out;
  }
}

export function verifyClaim(root: Uint8Array, claim: RewardClaim, proof: readonly Uint8Array[]): boolean {
  if (proof.some((sibling) => sibling.length !== 32)) return false;
  const computed = proof.reduce((hash, sibling) => nodeHash(hash, sibling), leafHash(claim));
  return compare(computed, root) === 0;
}
