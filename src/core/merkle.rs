//! RFC 6962 / RFC 9162 Merkle tree hashing and inclusion-proof verification.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error(
        "inclusion proof has {got} hashes, a tree of size {size} needs {expected} for leaf {index}"
    )]
    WrongProofLength {
        index: u64,
        size: u64,
        got: usize,
        expected: usize,
    },
    #[error("inclusion proof computes root {computed}, expected {expected}")]
    RootMismatch { computed: String, expected: String },
}

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Verify that `leaf` is at `index` in the tree of `size` leaves whose root is `root`
/// (RFC 9162 §2.1.3.2). `proof` is ordered from the leaf towards the root.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    // Expected length: the levels where the paths of `index` and `size-1` differ, plus the
    // left siblings on the right border above them.
    let last = size - 1;
    let inner = u64::BITS - (index ^ last).leading_zeros();
    // `inner` is 64 when `index` and `last` differ in the top bit (trees above 2^63 leaves);
    // a plain `>>` by 64 overflows.
    let border = index.checked_shr(inner).unwrap_or(0).count_ones() as usize;
    let inner = inner as usize;
    let expected = inner + border;
    if proof.len() != expected {
        return Err(MerkleError::WrongProofLength {
            index,
            size,
            got: proof.len(),
            expected,
        });
    }
    let mut r = *leaf;
    for (level, sibling) in proof[..inner].iter().enumerate() {
        r = if (index >> level) & 1 == 0 {
            node_hash(&r, sibling)
        } else {
            node_hash(sibling, &r)
        };
    }
    for sibling in &proof[inner..] {
        r = node_hash(sibling, &r);
    }
    if &r != root {
        return Err(MerkleError::RootMismatch {
            computed: hex::encode(r),
            expected: hex::encode(root),
        });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Reference tree hash (RFC 6962 §2.1 MTH) computed by recursion.
    pub(crate) fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaves[0],
            n => {
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    /// Reference audit path (RFC 6962 §2.1.1 PATH).
    pub(crate) fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n <= 1 {
            return vec![];
        }
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        if m < k {
            let mut p = path(m, &leaves[..k]);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = path(m - k, &leaves[k..]);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
            .collect()
    }

    #[test]
    fn hand_computed_three_leaf_tree() {
        let l = leaves(3);
        let root = node_hash(&node_hash(&l[0], &l[1]), &l[2]);
        verify_inclusion(0, 3, &l[0], &[l[1], l[2]], &root).unwrap();
        verify_inclusion(1, 3, &l[1], &[l[0], l[2]], &root).unwrap();
        verify_inclusion(2, 3, &l[2], &[node_hash(&l[0], &l[1])], &root).unwrap();
        verify_inclusion(0, 1, &l[0], &[], &l[0]).unwrap();
    }

    #[test]
    fn every_index_of_trees_up_to_eight_and_beyond() {
        for n in 1..=17 {
            let l = leaves(n);
            let root = mth(&l);
            for m in 0..n {
                let p = path(m, &l);
                verify_inclusion(m as u64, n as u64, &l[m], &p, &root)
                    .unwrap_or_else(|e| panic!("n={n} m={m}: {e}"));
            }
        }
    }

    #[test]
    fn wrong_sibling_fails_everywhere() {
        for n in 2..=8 {
            let l = leaves(n);
            let root = mth(&l);
            for m in 0..n {
                let p = path(m, &l);
                for i in 0..p.len() {
                    let mut bad = p.clone();
                    bad[i][0] ^= 1;
                    assert!(matches!(
                        verify_inclusion(m as u64, n as u64, &l[m], &bad, &root),
                        Err(MerkleError::RootMismatch { .. })
                    ));
                }
            }
        }
    }

    #[test]
    fn wrong_leaf_index_or_root_fails() {
        let l = leaves(8);
        let root = mth(&l);
        let p = path(3, &l);
        assert!(
            verify_inclusion(3, 8, &l[4], &p, &root).is_err(),
            "wrong leaf"
        );
        assert!(
            verify_inclusion(2, 8, &l[3], &p, &root).is_err(),
            "wrong index"
        );
        assert!(
            verify_inclusion(3, 8, &l[3], &p, &[0; 32]).is_err(),
            "wrong root"
        );
        let p7 = path(3, &l[..7]);
        assert!(
            verify_inclusion(3, 7, &l[3], &p7, &root).is_err(),
            "root of another size"
        );
    }

    #[test]
    fn too_long_and_too_short_proofs() {
        for n in 1..=8 {
            let l = leaves(n);
            let root = mth(&l);
            for m in 0..n {
                let mut p = path(m, &l);
                p.push([9; 32]);
                assert!(matches!(
                    verify_inclusion(m as u64, n as u64, &l[m], &p, &root),
                    Err(MerkleError::WrongProofLength { .. })
                ));
                p.pop();
                if !p.is_empty() {
                    p.pop();
                    assert!(matches!(
                        verify_inclusion(m as u64, n as u64, &l[m], &p, &root),
                        Err(MerkleError::WrongProofLength { .. })
                    ));
                }
            }
        }
    }

    #[test]
    fn tree_above_2_pow_63_leaves_does_not_overflow_shift() {
        // Leaf 0 of a tree of 2^63 + 1 leaves: its path and the last leaf's differ in bit 63,
        // so the proof has 64 hashes, all right siblings.
        let leaf = leaf_hash(b"leaf 0");
        let proof: Vec<Hash> = (0..64u8).map(|i| [i; 32]).collect();
        let root = proof.iter().fold(leaf, |r, s| node_hash(&r, s));
        verify_inclusion(0, (1 << 63) + 1, &leaf, &proof, &root).unwrap();
        assert!(matches!(
            verify_inclusion(0, u64::MAX, &leaf, &[], &root),
            Err(MerkleError::WrongProofLength { expected: 64, .. })
        ));
    }

    #[test]
    fn index_not_below_size() {
        let l = leaves(4);
        let root = mth(&l);
        assert_eq!(
            verify_inclusion(4, 4, &l[0], &[], &root),
            Err(MerkleError::IndexOutOfRange { index: 4, size: 4 })
        );
        assert!(verify_inclusion(0, 0, &l[0], &[], &root).is_err());
        assert!(verify_inclusion(u64::MAX, 3, &l[0], &[], &root).is_err());
    }
}
