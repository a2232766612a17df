import { sha256 } from "@noble/hashes/sha2";

/**
 * Reward merkle tree over cumulative amounts, identical to programs/gpumesh/src/merkle.rs:
 * leaf = sha256(0x00 ‖ sha256(claimant(32) ‖ cumulative_u64_le)), node = sha256(0x01 ‖ min ‖ max)
 * (bytewise order, so proofs need no direction bits). Levels pair (0,1), (2,3), …; an odd last node is
 * carried up unchanged; a one-leaf tree has root = leaf and an empty proof.
 */
export interface RewardClaim {
  /** Claimant public key, 32 bytes. */
  claimant: Uint8Array;
  cumulative: bigint;
}

function u64le(value: bigint): Uint8Array {
  if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw new RangeError("cumulative amount must fit in a u64");
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function leafHash(claim: RewardClaim): Uint8Array {
  if (claim.claimant.length !== 32) throw new RangeError("claimant must be 32 bytes");
  return sha256(concat(Uint8Array.of(0x00), sha256(concat(claim.claimant, u64le(claim.cumulative)))));
}

export function nodeHash(a: Uint8Array, b: Uint8Array): Uint8Array {
  const [low, high] = compare(a, b) <= 0 ? [a, b] : [b, a];
  return sha256(concat(Uint8Array.of(0x01), low, high));
}

export class RewardTree {
  private readonly levels: Uint8Array[][];

  constructor(readonly claims: readonly RewardClaim[]) {
    this.levels = [];
    if (claims.length === 0) return;
    this.levels.push(claims.map(leafHash));
    while (this.levels.at(-1)!.length > 1) {
      const previous = this.levels.at(-1)!;
      const next: Uint8Array[] = [];
      for (let i = 0; i < previous.length; i += 2) next.push(i + 1 < previous.length ? nodeHash(previous[i]!, previous[i + 1]!) : previous[i]!);
      this.levels.push(next);
    }
  }

  /** All-zero for an empty tree. */
  get root(): Uint8Array {
    return this.levels.at(-1)?.[0] ?? new Uint8Array(32);
  }

  proof(index: number): Uint8Array[] {
    if (index < 0 || index >= this.claims.length) throw new RangeError(`no leaf ${index}`);
    const out: Uint8Array[] = [];
    let position = index;
    for (const level of this.levels.slice(0, -1)) {
      const sibling = position ^ 1;
      if (sibling < level.length) out.push(level[sibling]!);
      position = Math.floor(position / 2);
    }
    return out;
  }
}

export function verifyClaim(root: Uint8Array, claim: RewardClaim, proof: readonly Uint8Array[]): boolean {
  const computed = proof.reduce((hash, sibling) => nodeHash(hash, sibling), leafHash(claim));
  return compare(computed, root) === 0;
}
