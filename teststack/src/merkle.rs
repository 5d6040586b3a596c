//! The log's RFC 6962 Merkle tree: leaf and node hashing, tree heads and inclusion proofs.
//!
//! Complete, aligned subtrees are cached level by level as leaves are appended, so a tree head
//! or an inclusion proof costs O(log² n) hashes however large the log grows.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// RFC 6962 leaf hash: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

/// RFC 6962 interior node hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// An append-only Merkle tree over leaf hashes.
#[derive(Debug, Default, Clone)]
pub struct Tree {
    /// `levels[k][i]` is the hash of the complete subtree of the 2^k leaves starting at i·2^k.
    levels: Vec<Vec<Hash>>,
}

/// Largest power of two strictly smaller than `n` (n ≥ 2).
fn split_point(n: u64) -> u64 {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

impl Tree {
    pub fn new() -> Self {
        Self {
            levels: vec![Vec::new()],
        }
    }

    pub fn len(&self) -> u64 {
        self.levels[0].len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a leaf hash and returns its index.
    pub fn push(&mut self, leaf: Hash) -> u64 {
        self.levels[0].push(leaf);
        let mut k = 0;
        while self.levels[k].len().is_multiple_of(2) {
            let n = self.levels[k].len();
            let parent = node_hash(&self.levels[k][n - 2], &self.levels[k][n - 1]);
            if self.levels.len() == k + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[k + 1].push(parent);
            k += 1;
        }
        self.len() - 1
    }

    /// MTH of the `size` leaves starting at `start`; `start` is aligned as RFC 6962's recursion
    /// guarantees, and `start + size <= len`.
    fn subtree(&self, start: u64, size: u64) -> Hash {
        if size == 0 {
            return Sha256::digest([]).into();
        }
        if size.is_power_of_two() && start.is_multiple_of(size) {
            let k = size.trailing_zeros() as usize;
            return self.levels[k][(start >> k) as usize];
        }
        let k = split_point(size);
        node_hash(&self.subtree(start, k), &self.subtree(start + k, size - k))
    }

    /// The root hash of the tree made of the first `size` leaves (`size <= len`).
    pub fn root(&self, size: u64) -> Option<Hash> {
        (size <= self.len()).then(|| self.subtree(0, size))
    }

    /// The audit path for leaf `index` in the tree of the first `size` leaves, leaf to root.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<Hash>> {
        if index >= size || size > self.len() {
            return None;
        }
        let mut out = Vec::new();
        self.path(index, 0, size, &mut out);
        Some(out)
    }

    fn path(&self, m: u64, start: u64, n: u64, out: &mut Vec<Hash>) {
        if n <= 1 {
            return;
        }
        let k = split_point(n);
        if m < k {
            self.path(m, start, k, out);
            out.push(self.subtree(start + k, n - k));
        } else {
            self.path(m - k, start + k, n - k, out);
            out.push(self.subtree(start, k));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC 6962 definition, computed naively.
    fn naive_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
            }
        }
    }

    /// RFC 9162 §2.1.3.2, written independently of the proof generator above.
    fn verify(index: u64, size: u64, leaf: Hash, proof: &[Hash], root: Hash) -> bool {
        if index >= size {
            return false;
        }
        let (mut fnode, mut snode, mut r) = (index, size - 1, leaf);
        for p in proof {
            if snode == 0 {
                return false;
            }
            if fnode & 1 == 1 || fnode == snode {
                r = node_hash(p, &r);
                if fnode & 1 == 0 {
                    while fnode & 1 == 0 && fnode != 0 {
                        fnode >>= 1;
                        snode >>= 1;
                    }
                }
            } else {
                r = node_hash(&r, p);
            }
            fnode >>= 1;
            snode >>= 1;
        }
        snode == 0 && r == root
    }

    #[test]
    fn roots_and_proofs_match_the_definition_for_every_size_and_index() {
        let leaves: Vec<Hash> = (0..70u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut tree = Tree::new();
        for (i, l) in leaves.iter().enumerate() {
            assert_eq!(tree.push(*l), i as u64);
        }
        for size in 1..=leaves.len() as u64 {
            let root = tree.root(size).unwrap();
            assert_eq!(root, naive_root(&leaves[..size as usize]), "size {size}");
            for index in 0..size {
                let proof = tree.inclusion_proof(index, size).unwrap();
                assert!(verify(index, size, leaves[index as usize], &proof, root));
                // A proof for one leaf never proves another.
                let other = leaves[((index + 1) % size) as usize];
                if size > 1 {
                    assert!(!verify(index, size, other, &proof, root));
                }
            }
        }
    }

    #[test]
    fn out_of_range_requests_are_refused() {
        let mut tree = Tree::new();
        assert_eq!(tree.root(0), Some(Sha256::digest([]).into()));
        assert_eq!(tree.root(1), None);
        tree.push(leaf_hash(b"a"));
        assert_eq!(tree.inclusion_proof(1, 1), None);
        assert_eq!(tree.inclusion_proof(0, 2), None);
        assert_eq!(tree.inclusion_proof(0, 1), Some(vec![]));
    }
}
