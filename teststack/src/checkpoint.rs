//! Signed checkpoints (C2SP `tlog-checkpoint` in a `signed-note`), as Rekor v1 writes them: the
//! origin `<name> - <tree id>`, the tree size, the base64 root hash, then one signature line
//! `— <name> base64(key hint ‖ ECDSA signature)` where the key hint is the first four bytes of
//! SHA-256 of the log key's DER SPKI.

use p256::ecdsa::{DerSignature, SigningKey, signature::Signer};

use crate::keys::{b64, key_id};

/// The name the log signs its checkpoints with (a self-hosted Rekor uses its hostname).
pub const LOG_NAME: &str = "signet-teststack";

/// The checkpoint origin line for a tree.
pub fn origin(tree_id: i64) -> String {
    format!("{LOG_NAME} - {tree_id}")
}

/// A signed checkpoint for a tree of `size` leaves with root `root`.
pub fn sign(key: &SigningKey, tree_id: i64, size: u64, root: &[u8; 32]) -> String {
    let text = format!("{}\n{size}\n{}\n", origin(tree_id), b64(root));
    let sig: DerSignature = key.sign(text.as_bytes());
    let mut blob = key_id(key.verifying_key())[..4].to_vec();
    blob.extend_from_slice(sig.as_bytes());
    format!("{text}\n\u{2014} {LOG_NAME} {}\n", b64(&blob))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{Engine, engine::general_purpose::STANDARD};
    use p256::ecdsa::signature::Verifier;
    use p256::elliptic_curve::Generate;

    #[test]
    fn note_has_the_c2sp_shape_and_a_verifiable_signature() {
        let key = SigningKey::generate();
        let note = sign(&key, 42, 7, &[9; 32]);
        let (text, sigs) = note.split_once("\n\n").unwrap();
        let text = format!("{text}\n");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            ["signet-teststack - 42", "7", &STANDARD.encode([9u8; 32])]
        );
        let line = sigs.strip_suffix('\n').unwrap();
        let rest = line.strip_prefix("\u{2014} signet-teststack ").unwrap();
        let blob = STANDARD.decode(rest).unwrap();
        assert_eq!(&blob[..4], &key_id(key.verifying_key())[..4]);
        let sig = DerSignature::from_bytes(&blob[4..]).unwrap();
        assert!(key.verifying_key().verify(text.as_bytes(), &sig).is_ok());
        assert!(key.verifying_key().verify(b"other", &sig).is_err());
    }
}
