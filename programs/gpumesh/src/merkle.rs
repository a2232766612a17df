//! Reward merkle tree over cumulative amounts.
//!
//! * leaf = sha256(0x00 ‖ sha256(claimant(32) ‖ cumulative_u64_le))
//! * node = sha256(0x01 ‖ min(a, b) ‖ max(a, b)) (bytewise order, so proofs carry no
//!   direction bits)
//!
//! The 0x00 / 0x01 domain tags make a leaf and an internal node never collide, and the
//! program always derives the leaf itself from the signer and the amount, so an internal
//! node can never be presented as a leaf.
//!
//! Tree construction (off-chain, mirrored by the TS side): leaves in the given order;
//! each level pairs (0,1), (2,3), …; an odd last node is carried up unchanged. A tree of
//! one leaf has root = leaf and an empty proof.
use anchor_lang::solana_program::hash::hashv;

/// Longest proof accepted on-chain (2^32 leaves).
pub const MAX_PROOF_LEN: usize = 32;

pub fn leaf_hash(claimant: &[u8; 32], cumulative: u64) -> [u8; 32] {
    let inner = hashv(&[claimant.as_ref(), &cumulative.to_le_bytes()]).to_bytes();
    hashv(&[&[0x00], &inner]).to_bytes()
}

pub fn node_hash(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    hashv(&[&[0x01], lo.as_ref(), hi.as_ref()]).to_bytes()
}

/// Fold `proof` onto `leaf` and compare with `root`.
pub fn verify(root: &[u8; 32], leaf: [u8; 32], proof: &[[u8; 32]]) -> bool {
    let computed = proof.iter().fold(leaf, |acc, sibling| node_hash(&acc, sibling));
    computed == *root
}

/// Verify that (claimant, cumulative) is in the tree with `root`.
pub fn verify_claim(root: &[u8; 32], claimant: &[u8; 32], cumulative: u64, proof: &[[u8; 32]]) -> bool {
    verify(root, leaf_hash(claimant, cumulative), proof)
}

/// All levels of the tree, leaves first, root level last. Empty input gives no levels.
pub fn build_levels(leaves: &[[u8; 32]]) -> Vec<Vec<[u8; 32]>> {
    let mut levels = Vec::new();
    if leaves.is_empty() {
        return levels;
    }
    levels.push(leaves.to_vec());
    while levels.last().map(|l| l.len()).unwrap_or(0) > 1 {
        let prev = levels.last().unwrap();
        let next: Vec<[u8; 32]> = prev
            .chunks(2)
            .map(|pair| if pair.len() == 2 { node_hash(&pair[0], &pair[1]) } else { pair[0] })
            .collect();
        levels.push(next);
    }
    levels
}

/// Root of the tree (all zero bytes for an empty tree).
pub fn root(levels: &[Vec<[u8; 32]>]) -> [u8; 32] {
    levels.last().map(|l| l[0]).unwrap_or([0u8; 32])
}

/// Sibling path for leaf `index` (levels where the node was carried up contribute nothing).
pub fn proof(levels: &[Vec<[u8; 32]>], mut index: usize) -> Vec<[u8; 32]> {
    let mut out = Vec::new();
    for level in levels.iter().take(levels.len().saturating_sub(1)) {
        let sibling = index ^ 1;
        if sibling < level.len() {
            out.push(level[sibling]);
        }
        index /= 2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u8) -> Vec<[u8; 32]> {
        (0..n).map(|i| leaf_hash(&[i; 32], 1_000 * i as u64 + 1)).collect()
    }

    #[test]
    fn every_leaf_verifies_for_many_sizes() {
        for n in 1..=17u8 {
            let l = leaves(n);
            let levels = build_levels(&l);
            let r = root(&levels);
            for i in 0..n as usize {
                let p = proof(&levels, i);
                assert!(verify_claim(&r, &[i as u8; 32], 1_000 * i as u64 + 1, &p), "n={n} i={i}");
                assert!(!verify_claim(&r, &[i as u8; 32], 1_000 * i as u64 + 2, &p));
            }
        }
    }

    #[test]
    fn domain_separation() {
        let a = [1u8; 32];
        let b = [2u8; 32];
        assert_eq!(node_hash(&a, &b), node_hash(&b, &a));
        // An internal node is hashed with tag 0x01; a leaf with tag 0x00, so no leaf
        // computed from (claimant, amount) can equal an internal node.
        let mut tagged = vec![0x01];
        tagged.extend_from_slice(&a);
        tagged.extend_from_slice(&b);
        assert_eq!(node_hash(&a, &b), hashv(&[tagged.as_slice()]).to_bytes());
        assert_ne!(leaf_hash(&a, 0), node_hash(&a, &a));
    }

    #[test]
    fn empty_tree() {
        let levels = build_levels(&[]);
        assert_eq!(root(&levels), [0u8; 32]);
    }
}
