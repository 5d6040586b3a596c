//! Checkpoints: C2SP signed notes carrying a log's origin (the first line), tree size and root
//! hash, and their verification with a log key:
//! - Ed25519 (Rekor v2): key ID = SHA-256(name || "\n" || 0x01 || 32-byte key)[..4], signature =
//!   64 raw bytes over the note text;
//! - ECDSA (Rekor v1, and rekor-tiles logs with ECDSA keys): key ID = SHA-256(DER SPKI)[..4]
//!   (the name is not hashed), signature = DER ECDSA over the note text hashed with the log's
//!   hash (SHA-256 for P-256).
//!
//! Signature lines from other keys (witness cosignatures, unknown keys of the same name) are
//! ignored, as the signed-note spec requires; a note without a verifying line from the log key
//! is rejected.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::keys::{HashAlg, PublicKey, sha256};
use super::merkle::Hash;

/// The C2SP signed-note signature type byte of Ed25519 keys.
pub const ED25519_SIGNATURE_TYPE: u8 = 0x01;

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
    #[error("checkpoint has no signature by {name:?} with the log key (key hint {expected_hint})")]
    NoSignatureByName { name: String, expected_hint: String },
    #[error("checkpoint is for log {found:?}, expected {expected:?}")]
    OriginMismatch { expected: String, found: String },
    #[error("checkpoint signature by {name:?} does not verify with the log key")]
    BadSignature { name: String },
    #[error("checkpoint is for tree size {checkpoint}, the inclusion proof for {proof}")]
    SizeMismatch { checkpoint: u64, proof: u64 },
    #[error("checkpoint root hash {checkpoint} differs from the inclusion proof root {proof}")]
    RootMismatch { checkpoint: String, proof: String },
}

/// The 32-byte C2SP key hash of an Ed25519 note key: SHA-256(name || "\n" || 0x01 || key). Its
/// first four bytes are the key ID in signature lines; Rekor v2 uses all 32 as the log ID.
pub fn ed25519_key_hash(name: &str, key: &[u8; 32]) -> [u8; 32] {
    let mut msg = Vec::with_capacity(name.len() + 2 + key.len());
    msg.extend_from_slice(name.as_bytes());
    msg.push(b'\n');
    msg.push(ED25519_SIGNATURE_TYPE);
    msg.extend_from_slice(key);
    sha256(&msg)
}

/// The key hash of an ECDSA note key: SHA-256(DER SPKI), without the name (Rekor v1's and
/// rekor-tiles' convention; it is also the RFC 6962 log ID).
pub fn ecdsa_key_hash(spki_der: &[u8]) -> [u8; 32] {
    sha256(spki_der)
}

fn key_id(hash: &[u8; 32]) -> [u8; 4] {
    [hash[0], hash[1], hash[2], hash[3]]
}

/// Whose signature a checkpoint must carry: the log key, its 4-byte key ID, the hash ECDSA
/// signatures are made over, and (for C2SP-conformant logs) the signer's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    /// `None` accepts any name (Rekor v1: a self-hosted log signs with its host name, which need
    /// not be the name the trusted root knows it by).
    pub name: Option<String>,
    pub key: PublicKey,
    pub key_id: [u8; 4],
    /// The hash an ECDSA signature covers; Ed25519 signs the text itself and ignores it.
    pub hash: HashAlg,
}

impl NoteVerifier {
    /// A verifier for a log that signs under `name` (Rekor v2: the origin). The key ID follows
    /// the key type: Ed25519 per C2SP (name, type byte, key), ECDSA the SPKI hash.
    pub fn named(name: &str, key: PublicKey, spki_der: &[u8], hash: HashAlg) -> Self {
        let id = match &key {
            PublicKey::Ed25519(raw) => key_id(&ed25519_key_hash(name, raw)),
            PublicKey::P256(_) | PublicKey::P384(_) => key_id(&ecdsa_key_hash(spki_der)),
        };
        Self {
            name: Some(name.to_owned()),
            key,
            key_id: id,
            hash,
        }
    }

    /// A verifier matching signature lines by key ID alone (Rekor v1 style).
    pub fn any_name(key: PublicKey, key_id: [u8; 4], hash: HashAlg) -> Self {
        Self {
            name: None,
            key,
            key_id,
            hash,
        }
    }
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

    /// Verify that a signature with `key_hint` by `key` covers the note (Rekor v1 style: any
    /// name, ECDSA over SHA-256). Lines with other hints (witness cosignatures, unknown keys)
    /// are ignored, as the spec requires.
    pub fn verify_signature(
        &self,
        key: &PublicKey,
        key_hint: [u8; 4],
    ) -> Result<(), CheckpointError> {
        self.verify(&NoteVerifier::any_name(
            key.clone(),
            key_hint,
            HashAlg::Sha256,
        ))
    }

    /// Verify that a line with the verifier's key ID (and name, when it has one) carries a
    /// signature by its key over the note text. Every other line is ignored; among several
    /// candidate lines one verifying is enough.
    pub fn verify(&self, verifier: &NoteVerifier) -> Result<(), CheckpointError> {
        let mut candidates = self
            .signatures
            .iter()
            .filter(|s| s.key_hint == verifier.key_id)
            .filter(|s| verifier.name.as_ref().is_none_or(|n| *n == s.name))
            .peekable();
        let first = candidates.peek().map(|s| s.name.clone());
        for sig in candidates {
            if verifier
                .key
                .verify_shared(verifier.hash, self.text.as_bytes(), &sig.signature)
                .is_ok()
            {
                return Ok(());
            }
        }
        let expected_hint = hex::encode(verifier.key_id);
        match (first, &verifier.name) {
            (Some(name), _) => Err(CheckpointError::BadSignature { name }),
            (None, Some(name)) => Err(CheckpointError::NoSignatureByName {
                name: name.clone(),
                expected_hint,
            }),
            (None, None) => Err(CheckpointError::NoSignatureForKey { expected_hint }),
        }
    }

    /// Check that the note is a checkpoint of the log with origin `expected` (its first line).
    pub fn check_origin(&self, expected: &str) -> Result<(), CheckpointError> {
        if self.origin != expected {
            return Err(CheckpointError::OriginMismatch {
                expected: expected.to_owned(),
                found: self.origin.clone(),
            });
        }
        Ok(())
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
    use crate::core::keys::test_keys::*;

    /// Sign a note text the way Rekor v2 (rekor-tiles) does with an Ed25519 key: key ID over
    /// name, type byte and key, raw signature over the text.
    pub(crate) fn sign_note_ed25519(
        key: &ring::signature::Ed25519KeyPair,
        name: &str,
        text: &str,
    ) -> String {
        let raw = crate::core::keys::test_keys::ed25519_raw(key);
        let mut line = ed25519_key_hash(name, &raw)[..4].to_vec();
        line.extend_from_slice(key.sign(text.as_bytes()).as_ref());
        format!("{text}\n\u{2014} {name} {}\n", B64.encode(line))
    }

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

    fn ed25519_verifier(seed: u8, name: &str) -> NoteVerifier {
        let k = ed25519_key(seed);
        let spki = ed25519_spki(&k);
        NoteVerifier::named(
            name,
            PublicKey::from_spki_der(&spki).unwrap(),
            &spki,
            HashAlg::Sha256,
        )
    }

    #[test]
    fn ed25519_note_key_id_follows_c2sp() {
        // The staging Rekor v2 log (conformance rekor2-* cases): key ID f30d5a99 = logId[..4].
        let spki = B64
            .decode("MCowBQYDK2VwAyEAPn+AREHoBaZ7wgS1zBqpxmLSGnyhxXj4lFxSdWVB8o8=")
            .unwrap();
        let Ok(PublicKey::Ed25519(raw)) = PublicKey::from_spki_der(&spki) else {
            panic!("not an Ed25519 key")
        };
        let hash = ed25519_key_hash("log2025-alpha1.rekor.sigstage.dev", &raw);
        assert_eq!(
            B64.encode(hash),
            "8w1amZ2S5mJIQkQmPxdMuOrL/oJkvFg9MnQXmeOCXck="
        );
        let v = NoteVerifier::named(
            "log2025-alpha1.rekor.sigstage.dev",
            PublicKey::Ed25519(raw),
            &spki,
            HashAlg::Sha256,
        );
        assert_eq!(hex::encode(v.key_id), "f30d5a99");
        // ECDSA keys: the SPKI hash, whatever the name.
        let (k, pk, hint) = setup();
        let v = NoteVerifier::named("any.name", pk, &spki_der(&k), HashAlg::Sha256);
        assert_eq!(v.key_id, hint);
        assert_eq!(ecdsa_key_hash(&spki_der(&k))[..4], hint);
    }

    #[test]
    fn ed25519_notes_verify_by_name_and_key() {
        let k = ed25519_key(3);
        let t = "log.example\n7\nAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=\n";
        let mut note = sign_note_ed25519(&k, "log.example", t);
        // A witness cosignature (type 0x04: 8-byte timestamp + signature) is ignored.
        note.push_str(&format!(
            "\u{2014} witness.example {}\n",
            B64.encode([[9u8; 4].as_slice(), &[0u8; 72]].concat())
        ));
        let cp = Checkpoint::parse(&note).unwrap();
        cp.check_origin("log.example").unwrap();
        cp.verify(&ed25519_verifier(3, "log.example")).unwrap();
        // Rekor v1 style (any name) works with the same key ID too.
        let v = ed25519_verifier(3, "log.example");
        cp.verify(&NoteVerifier::any_name(
            v.key.clone(),
            v.key_id,
            HashAlg::Sha256,
        ))
        .unwrap();

        // Another name gives another key ID: no line for it.
        assert_eq!(
            cp.verify(&ed25519_verifier(3, "log.other")),
            Err(CheckpointError::NoSignatureByName {
                name: "log.other".into(),
                expected_hint: hex::encode(ed25519_verifier(3, "log.other").key_id),
            })
        );
        // Same key ID, another name on the line: not the log's line.
        let renamed = note.replacen("\u{2014} log.example ", "\u{2014} log.other ", 1);
        let mut v = ed25519_verifier(3, "log.example");
        assert!(matches!(
            Checkpoint::parse(&renamed).unwrap().verify(&v),
            Err(CheckpointError::NoSignatureByName { .. })
        ));
        // The right line over altered text.
        let altered = Checkpoint::parse(&note.replacen("\n7\n", "\n8\n", 1)).unwrap();
        assert_eq!(
            altered.verify(&v),
            Err(CheckpointError::BadSignature {
                name: "log.example".into()
            })
        );
        // Another key with a forged key ID.
        v.key = PublicKey::from_spki_der(&ed25519_spki(&ed25519_key(4))).unwrap();
        assert!(matches!(
            cp.verify(&v),
            Err(CheckpointError::BadSignature { .. })
        ));
        assert_eq!(
            cp.check_origin("log.other"),
            Err(CheckpointError::OriginMismatch {
                expected: "log.other".into(),
                found: "log.example".into()
            })
        );
    }

    const CASES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/conformance/bundle-verify"
    );

    /// The checkpoint of a conformance case and the verifier for the log that its entry names,
    /// from the case's trusted root (or the production one).
    fn conformance(case: &str) -> (Result<Checkpoint, CheckpointError>, NoteVerifier, bool) {
        let bundle: serde_json::Value = serde_json::from_slice(
            &std::fs::read(format!("{CASES}/{case}/bundle.sigstore.json")).unwrap(),
        )
        .unwrap();
        let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
        let note = entry["inclusionProof"]["checkpoint"]["envelope"]
            .as_str()
            .unwrap();
        let log_id = B64
            .decode(entry["logId"]["keyId"].as_str().unwrap())
            .unwrap();
        let root = std::fs::read(format!("{CASES}/{case}/trusted_root.json"))
            .unwrap_or_else(|_| crate::core::trust_root::tests::PRODUCTION.to_vec());
        let root = crate::core::trust_root::TrustedRoot::from_json(&root).unwrap();
        let log = root.tlogs_with_id(&log_id).next().unwrap();
        let key = log.public_key().unwrap();
        let v2 = matches!(key, PublicKey::Ed25519(_));
        let verifier = if v2 {
            NoteVerifier::named(log.origin(), key, &log.spki_der, log.signature_hash())
        } else {
            let id = ecdsa_key_hash(&log.spki_der);
            NoteVerifier::any_name(key, key_id(&id), HashAlg::Sha256)
        };
        (Checkpoint::parse(note), verifier, v2)
    }

    #[test]
    fn conformance_checkpoints_that_verify() {
        let mut checked = 0;
        for case in [
            "rekor2-happy-path",
            // A witness cosignature line after the log's.
            "rekor2-checkpoint-cosigned",
            // Two witness cosignatures.
            "rekor2-checkpoint-multiple-cosigs",
            // The log's line is not the first signature line.
            "rekor2-checkpoint-origin-not-first",
            // A second line under the log's name with an unknown (ECDSA) key ID, plus a witness.
            "rekor2-checkpoint-two-sigs-cosigned",
            "rekor2-checkpoint-two-sigs-from-origin",
            // Ed25519 v2 log (witness lines) and a private Ed25519 log named rekor-local.
            "rekor2-dsse-happy-path",
            "bundle-with-sct-with-extensions",
            // Rekor v1: ECDSA P-256, origin "rekor.sigstore.dev - <tree id>".
            "happy-path-v0.3",
            "happy-path-intoto-in-dsse-v3",
        ] {
            let (cp, verifier, v2) = conformance(case);
            let cp = cp.unwrap_or_else(|e| panic!("{case}: {e}"));
            cp.verify(&verifier)
                .unwrap_or_else(|e| panic!("{case}: {e}"));
            if v2 {
                cp.check_origin(verifier.name.as_deref().unwrap()).unwrap();
            }
            checked += 1;
        }
        assert_eq!(checked, 10);
    }

    #[test]
    fn conformance_checkpoints_that_fail() {
        // Each missing part of the note text is a parse error; no signature can then help.
        for (case, why) in [
            ("rekor2-checkpoint-missing-origin_fail", "tree size"),
            ("rekor2-checkpoint-missing-size_fail", "tree size"),
            ("rekor2-checkpoint-missing-root-hash_fail", "root hash"),
            (
                "rekor2-checkpoint-missing-log-signature_fail",
                "signature block",
            ),
        ] {
            match conformance(case).0 {
                Err(CheckpointError::Malformed(m)) => assert!(m.contains(why), "{case}: {m}"),
                other => panic!("{case}: {other:?}"),
            }
        }
        // Origin and signer name rewritten to another log: the origin is not the log's, and the
        // line is not under the log's name.
        let (cp, verifier, _) = conformance("rekor2-checkpoint-no-matching-signature_fail");
        let cp = cp.unwrap();
        assert_eq!(
            cp.check_origin(verifier.name.as_deref().unwrap()),
            Err(CheckpointError::OriginMismatch {
                expected: "log2025-alpha1.rekor.sigstage.dev".into(),
                found: "log2025-alpha1.rekor.github.dev".into()
            })
        );
        assert_eq!(
            cp.verify(&verifier),
            Err(CheckpointError::NoSignatureByName {
                name: "log2025-alpha1.rekor.sigstage.dev".into(),
                expected_hint: "f30d5a99".into()
            })
        );
        // Rekor v1: a line with a different key hint; and a bad signature under the right one.
        let (cp, verifier, _) = conformance("checkpoint-bad-keyhint_fail");
        assert!(matches!(
            cp.unwrap().verify(&verifier),
            Err(CheckpointError::NoSignatureForKey { .. })
        ));
        let (cp, verifier, _) = conformance("invalid-checkpoint-signature_fail");
        assert!(matches!(
            cp.unwrap().verify(&verifier),
            Err(CheckpointError::BadSignature { .. })
        ));
    }
}
