//! Signed checkpoints (C2SP `tlog-checkpoint` in a `signed-note`), as Rekor v1 writes them: the
//! origin `<name> - <tree id>`, the tree size, the base64 root hash, then one signature line
//! `— <name> base64(key hint ‖ ECDSA signature)` where the key hint is the first four bytes of
//! SHA-256 of the log key's DER SPKI. The name is the log's host (with its port), as for
//! `rekor.sigstore.dev`: sigstore-js only accepts a signature whose name matches the log's base
//! URL in the trusted root.

use p256::ecdsa::{DerSignature, SigningKey, signature::Signer};

use crate::keys::{b64, key_id};

/// The name a log at `base_url` signs its checkpoints with: its host and port
/// (`http://127.0.0.1:8080` → `127.0.0.1:8080`), as Rekor uses its hostname.
pub fn log_name(base_url: &str) -> &str {
    let rest = base_url.split_once("://").map_or(base_url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// The checkpoint origin line for a tree.
pub fn origin(name: &str, tree_id: i64) -> String {
    format!("{name} - {tree_id}")
}

/// A signed checkpoint, under `name`, for a tree of `size` leaves with root `root`.
pub fn sign(key: &SigningKey, name: &str, tree_id: i64, size: u64, root: &[u8; 32]) -> String {
    let text = format!("{}\n{size}\n{}\n", origin(name, tree_id), b64(root));
    let sig: DerSignature = key.sign(text.as_bytes());
    let mut blob = key_id(key.verifying_key())[..4].to_vec();
    blob.extend_from_slice(sig.as_bytes());
    format!("{text}\n\u{2014} {name} {}\n", b64(&blob))
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
        assert_eq!(log_name("http://127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(log_name("https://rekor.example.com/"), "rekor.example.com");
        let note = sign(&key, "127.0.0.1:8080", 42, 7, &[9; 32]);
        let (text, sigs) = note.split_once("\n\n").unwrap();
        let text = format!("{text}\n");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            ["127.0.0.1:8080 - 42", "7", &STANDARD.encode([9u8; 32])]
        );
        let line = sigs.strip_suffix('\n').unwrap();
        let rest = line.strip_prefix("\u{2014} 127.0.0.1:8080 ").unwrap();
        let blob = STANDARD.decode(rest).unwrap();
        assert_eq!(&blob[..4], &key_id(key.verifying_key())[..4]);
        let sig = DerSignature::from_bytes(&blob[4..]).unwrap();
        assert!(key.verifying_key().verify(text.as_bytes(), &sig).is_ok());
        assert!(key.verifying_key().verify(b"other", &sig).is_err());
    }
}
