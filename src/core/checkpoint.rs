//! Checkpoints: C2SP signed notes carrying a log's origin, tree size and root hash, and their
//! verification with an ECDSA log key (Rekor v1 style: key hint = SHA-256(DER SPKI)[..4],
//! signature = DER ECDSA over SHA-256 of the note text).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::keys::{HashAlg, PublicKey};
use super::merkle::Hash;

/// Most signature lines a note may carry (the spec asks verifiers to accept at least 16).
pub const MAX_SIGNATURES: usize = 64;
/// Largest note accepted.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    #[error("checkpoint has no signature from the log key (key hint {expected_hint})")]
    NoSignatureForKey { expected_hint: String },
    #[error("checkpoint signature by {name:?} does not verify with the log key")]
    BadSignature { name: String },
    #[error("checkpoint is for tree size {checkpoint}, the inclusion proof for {proof}")]
    SizeMismatch { checkpoint: u64, proof: u64 },
    #[error("checkpoint root hash {checkpoint} differs from the inclusion proof root {proof}")]
    RootMismatch { checkpoint: String, proof: String },
}

/// One signature line of a signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_hint: [u8; 4],
    pub signature: Vec<u8>,
}

/// A parsed checkpoint. `text` is the exact signed message (ends with `\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root_hash: Hash,
    pub extensions: Vec<String>,
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

fn parse_size(s: &str) -> Result<u64, CheckpointError> {
    let bad = CheckpointError::Malformed("tree size is not a canonical decimal number");
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return Err(bad);
    }
    s.parse().map_err(|_| bad)
}

impl Checkpoint {
    pub fn parse(envelope: &str) -> Result<Self, CheckpointError> {
        use CheckpointError::Malformed;
        if envelope.len() > MAX_NOTE_BYTES {
            return Err(Malformed("note is too large"));
        }
        if envelope.matches("\n\n").count() != 1 {
            return Err(Malformed(
                "expected exactly one blank line between text and signatures",
            ));
        }
        let split = envelope
            .find("\n\n")
            .ok_or(Malformed("missing blank line before signatures"))?;
        let text = &envelope[..=split];
        let sigs = &envelope[split + 2..];

        let mut lines = text.strip_suffix('\n').unwrap_or(text).split('\n');
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or(Malformed("missing origin"))?;
        let size = parse_size(lines.next().ok_or(Malformed("missing tree size"))?)?;
        let root_b64 = lines.next().ok_or(Malformed("missing root hash"))?;
        let root_hash: Hash = B64
            .decode(root_b64)
            .map_err(|_| Malformed("root hash is not base64"))?
            .try_into()
            .map_err(|_| Malformed("root hash is not 32 bytes"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(Malformed("empty extension line"));
        }

        if sigs.is_empty() || !sigs.ends_with('\n') {
            return Err(Malformed(
                "signature block must be non-empty and end with a newline",
            ));
        }
        let mut signatures = Vec::new();
        for line in sigs[..sigs.len() - 1].split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(Malformed("too many signature lines"));
            }
            let rest = line
                .strip_prefix("\u{2014} ")
                .ok_or(Malformed("signature line does not start with an em dash"))?;
            let (name, sig_b64) = rest
                .split_once(' ')
                .ok_or(Malformed("signature line has no key name"))?;
            if name.is_empty() || name.contains(char::is_whitespace) || name.contains('+') {
                return Err(Malformed("invalid key name"));
            }
            let raw = B64
                .decode(sig_b64)
                .map_err(|_| Malformed("signature is not base64"))?;
            if raw.len() < 5 {
                return Err(Malformed("signature is too short"));
            }
            let (hint, signature) = raw.split_at(4);
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_hint: [hint[0], hint[1], hint[2], hint[3]],
                signature: signature.to_vec(),
            });
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root_hash,
            extensions,
            text: text.to_owned(),
            signatures,
        })
    }

    /// Verify that a signature with `key_hint` by `key` covers the note. Lines with other hints
    /// (witness cosignatures, unknown keys) are ignored, as the spec requires.
    pub fn verify_signature(
        &self,
        key: &PublicKey,
        key_hint: [u8; 4],
    ) -> Result<(), CheckpointError> {
        let mut candidates = self
            .signatures
            .iter()
            .filter(|s| s.key_hint == key_hint)
            .peekable();
        let first = candidates.peek().map(|s| s.name.clone());
        for sig in candidates {
            if key
                .verify_shared(HashAlg::Sha256, self.text.as_bytes(), &sig.signature)
                .is_ok()
            {
                return Ok(());
            }
        }
        match first {
            Some(name) => Err(CheckpointError::BadSignature { name }),
            None => Err(CheckpointError::NoSignatureForKey {
                expected_hint: hex::encode(key_hint),
            }),
        }
    }

    /// Check that the (already verified) checkpoint commits to the proof's tree.
    pub fn check_matches(&self, size: u64, root: &Hash) -> Result<(), CheckpointError> {
        if &self.root_hash != root {
            return Err(CheckpointError::RootMismatch {
                checkpoint: hex::encode(self.root_hash),
                proof: hex::encode(root),
            });
        }
        if self.size != size {
            return Err(CheckpointError::SizeMismatch {
                checkpoint: self.size,
                proof: size,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::keys::sha256;
    use crate::core::keys::test_keys::*;

    /// Sign a note text the way Rekor v1 does.
    pub(crate) fn sign_note(key: &p256::ecdsa::SigningKey, name: &str, text: &str) -> String {
        let hint = &sha256(&spki_der(key))[..4];
        let mut raw = hint.to_vec();
        raw.extend(sign_der(key, text.as_bytes()));
        format!("{text}\n\u{2014} {name} {}\n", B64.encode(raw))
    }

    fn text(size: u64, root: &Hash) -> String {
        format!("rekor.local - 42\n{size}\n{}\n", B64.encode(root))
    }

    fn setup() -> (p256::ecdsa::SigningKey, PublicKey, [u8; 4]) {
        let k = p256_key();
        let spki = spki_der(&k);
        let pk = PublicKey::from_spki_der(&spki).unwrap();
        let h = sha256(&spki);
        (k, pk, [h[0], h[1], h[2], h[3]])
    }

    #[test]
    fn parses_and_verifies_valid_note() {
        let (k, pk, hint) = setup();
        let note = sign_note(&k, "rekor.local", &text(7, &[3; 32]));
        let cp = Checkpoint::parse(&note).unwrap();
        assert_eq!(cp.origin, "rekor.local - 42");
        assert_eq!(cp.size, 7);
        assert_eq!(cp.root_hash, [3; 32]);
        assert!(cp.extensions.is_empty());
        cp.verify_signature(&pk, hint).unwrap();
        cp.check_matches(7, &[3; 32]).unwrap();
    }

    #[test]
    fn ignores_unknown_lines_and_keeps_extensions() {
        let (k, pk, hint) = setup();
        let t = "rekor.local - 42\n7\nAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=\nTimestamp: 1\n";
        let mut note = sign_note(&k, "rekor.local", t);
        note.push_str("\u{2014} witness AAAAAAAAAAAAAAAA\n");
        let cp = Checkpoint::parse(&note).unwrap();
        assert_eq!(cp.extensions, vec!["Timestamp: 1".to_owned()]);
        assert_eq!(cp.signatures.len(), 2);
        cp.verify_signature(&pk, hint).unwrap();
    }

    #[test]
    fn rejects_malformed_notes() {
        let (k, _, _) = setup();
        let good = sign_note(&k, "rekor.local", &text(7, &[3; 32]));
        let cases = [
            good.replacen("\n\n", "\n", 1),             // missing blank line
            good.replacen("\n\n", "\n\n\n", 1),         // two blank lines
            good.replacen("rekor.local - 42\n", "", 1), // missing origin
            good.replacen("\n7\n", "\n07\n", 1),        // leading zero
            good.replacen("\n7\n", "\nseven\n", 1),     // not a number
            good.replacen("AwMD", "!!!!", 1),           // bad base64 root
            good.replacen("AwMDAwMD", "AwMD", 1),       // short root
            good.replacen("\u{2014} ", "- ", 1),        // no em dash
            good.replacen(" rekor.local ", " rekor+local ", 1), // bad name
            good.trim_end_matches('\n').to_owned(),     // no final newline
            format!("{}\u{2014} x %%%%\n", good),       // bad signature base64
            format!("{}\u{2014} x AAAA\n", good),       // signature too short
        ];
        for (i, case) in cases.iter().enumerate() {
            assert!(
                matches!(Checkpoint::parse(case), Err(CheckpointError::Malformed(_))),
                "case {i} parsed: {case:?}"
            );
        }
    }

    #[test]
    fn rejects_unknown_hint_and_bad_signature() {
        let (k, pk, hint) = setup();
        let other = p256_key();
        let note = sign_note(&other, "rekor.local", &text(7, &[3; 32]));
        let cp = Checkpoint::parse(&note).unwrap();
        assert!(matches!(
            cp.verify_signature(&pk, hint),
            Err(CheckpointError::NoSignatureForKey { .. })
        ));
        // Right hint, but the text was altered after signing.
        let note = sign_note(&k, "rekor.local", &text(7, &[3; 32])).replacen("\n7\n", "\n8\n", 1);
        let cp = Checkpoint::parse(&note).unwrap();
        assert_eq!(
            cp.verify_signature(&pk, hint),
            Err(CheckpointError::BadSignature {
                name: "rekor.local".into()
            })
        );
    }

    #[test]
    fn rejects_root_and_size_mismatch() {
        let (k, _, _) = setup();
        let cp = Checkpoint::parse(&sign_note(&k, "n", &text(7, &[3; 32]))).unwrap();
        assert!(matches!(
            cp.check_matches(7, &[4; 32]),
            Err(CheckpointError::RootMismatch { .. })
        ));
        assert!(matches!(
            cp.check_matches(8, &[3; 32]),
            Err(CheckpointError::SizeMismatch { .. })
        ));
    }
}
