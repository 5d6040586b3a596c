//! Rekor v2 entries, Ed25519 and ECDSA C2SP checkpoints, and entry bodies of every kind
//! (hashedrekord 0.0.1/0.0.2, dsse 0.0.1/0.0.2, intoto 0.0.2), driven by the real
//! sigstore-conformance bundles plus tampered copies. Each negative case says which check
//! rejects it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::*;
use crate::core::checkpoint::tests::{sign_note, sign_note_ed25519};
use crate::core::checkpoint::{CheckpointError, ed25519_key_hash};
use crate::core::dsse::{self, Envelope};
use crate::core::keys::test_keys::{ed25519_key, ed25519_raw, ed25519_spki, p256_key, spki_der};
use crate::core::keys::{HashAlg, PublicKey, sha256};
use crate::core::merkle::MerkleError;
use crate::core::time::Instant;
use crate::core::trust_root::tests::PRODUCTION;

const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/conformance/bundle-verify"
);

/// proto3 JSON int64: a string or a number; absent is 0.
fn int64(v: &Value) -> i64 {
    match v {
        Value::String(s) => s.parse().unwrap(),
        Value::Number(n) => n.as_i64().unwrap(),
        _ => 0,
    }
}

fn b64(v: &Value) -> Vec<u8> {
    B64.decode(v.as_str().unwrap()).unwrap()
}

/// The bundle's `tlogEntries[0]` as a [`TlogEntry`] (what `bundle.rs` does, kept local so these
/// tests do not depend on the bundle parser).
fn parse_entry(e: &Value) -> TlogEntry {
    let promise = &e["inclusionPromise"]["signedEntryTimestamp"];
    let proof = &e["inclusionProof"];
    TlogEntry {
        log_index: int64(&e["logIndex"]),
        log_id: b64(&e["logId"]["keyId"]),
        kind: e["kindVersion"]["kind"].as_str().unwrap().into(),
        version: e["kindVersion"]["version"].as_str().unwrap().into(),
        integrated_time: int64(&e["integratedTime"]),
        signed_entry_timestamp: promise.is_string().then(|| b64(promise)),
        inclusion_proof: proof.is_object().then(|| InclusionProof {
            log_index: int64(&proof["logIndex"]),
            tree_size: int64(&proof["treeSize"]),
            root_hash: b64(&proof["rootHash"]),
            hashes: proof["hashes"]
                .as_array()
                .map(|a| a.iter().map(b64).collect())
                .unwrap_or_default(),
            checkpoint: proof["checkpoint"]["envelope"].as_str().map(str::to_owned),
        }),
        body: b64(&e["canonicalizedBody"]),
    }
}

/// One conformance case, decoded.
struct Case {
    root: TrustedRoot,
    root_json: Value,
    entry: TlogEntry,
    envelope: Option<Envelope>,
    signature: Vec<u8>,
    leaf: Option<Vec<u8>>,
    /// The managed key (`key.pub`), DER SPKI.
    key: Option<Vec<u8>>,
    artifact: [u8; 32],
}

impl Case {
    fn load(name: &str) -> Self {
        let dir = format!("{CASES}/{name}");
        let bundle: Value =
            serde_json::from_slice(&std::fs::read(format!("{dir}/bundle.sigstore.json")).unwrap())
                .unwrap();
        let root_bytes =
            std::fs::read(format!("{dir}/trusted_root.json")).unwrap_or(PRODUCTION.to_vec());
        let vm = &bundle["verificationMaterial"];
        let envelope = bundle
            .get("dsseEnvelope")
            .map(|e| Envelope::from_json(e).unwrap());
        let signature = match &envelope {
            Some(env) => env.signatures[0].sig.clone(),
            None => b64(&bundle["messageSignature"]["signature"]),
        };
        let leaf = if vm["certificate"].is_object() {
            Some(b64(&vm["certificate"]["rawBytes"]))
        } else if vm["x509CertificateChain"].is_object() {
            Some(b64(
                &vm["x509CertificateChain"]["certificates"][0]["rawBytes"],
            ))
        } else {
            None
        };
        let key = std::fs::read_to_string(format!("{dir}/key.pub"))
            .ok()
            .map(|pem| {
                // Go-style base64: wrong-key's key.pub has non-zero bits after its last symbol.
                let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
                body::GO_STD_B64.decode(b64).unwrap()
            });
        let artifact = std::fs::read(format!("{dir}/artifact"))
            .or_else(|_| std::fs::read(format!("{CASES}/a.txt")))
            .unwrap();
        Self {
            root: TrustedRoot::from_json(&root_bytes).unwrap(),
            root_json: serde_json::from_slice(&root_bytes).unwrap(),
            entry: parse_entry(&vm["tlogEntries"][0]),
            envelope,
            signature,
            leaf,
            key,
            artifact: sha256(&artifact),
        }
    }

    fn content(&self) -> EntryContent<'_> {
        match &self.envelope {
            Some(env) => EntryContent::Dsse(env),
            None => EntryContent::Message {
                digest: &self.artifact,
                signature: &self.signature,
            },
        }
    }

    fn verifier(&self) -> EntryVerifier<'_> {
        match (&self.leaf, &self.key) {
            (Some(leaf), _) => EntryVerifier::Certificate(leaf),
            (None, Some(key)) => EntryVerifier::PublicKey(key),
            (None, None) => panic!("case has neither certificate nor key.pub"),
        }
    }

    fn verify(&self) -> Result<LogEvidence, TlogError> {
        verify_log_entry(&self.entry, &self.root, ProofPolicy::RequireCheckpoint)
    }

    fn body(&self) -> Result<(), BodyError> {
        check_entry_body(&self.entry, self.content(), self.verifier())
    }

    /// The same case against an edited copy of its trusted root.
    fn with_root(&self, f: impl FnOnce(&mut Value)) -> TrustedRoot {
        let mut v = self.root_json.clone();
        f(&mut v);
        TrustedRoot::from_json(&serde_json::to_vec(&v).unwrap()).unwrap()
    }

    /// The entry with its body JSON edited.
    fn with_body(&self, f: impl FnOnce(&mut Value)) -> TlogEntry {
        let mut v: Value = serde_json::from_slice(&self.entry.body).unwrap();
        f(&mut v);
        let mut e = self.entry.clone();
        e.body = serde_json::to_vec(&v).unwrap();
        e
    }
}

fn t(rfc3339: &str) -> UnixTime {
    UnixTime(
        time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp(),
    )
}

// ---- Rekor v2: positives ----

#[test]
fn rekor_v2_entries_verify() {
    let mut checked = 0;
    for (name, index, url) in [
        (
            "rekor2-happy-path",
            735,
            "https://log2025-alpha1.rekor.sigstage.dev",
        ),
        (
            "rekor2-dsse-happy-path",
            4_026_478,
            "https://log2025-alpha3.rekor.sigstage.dev",
        ),
        (
            "rekor2-checkpoint-cosigned",
            735,
            "https://log2025-alpha1.rekor.sigstage.dev",
        ),
        (
            "rekor2-checkpoint-multiple-cosigs",
            735,
            "https://log2025-alpha1.rekor.sigstage.dev",
        ),
        (
            "rekor2-checkpoint-origin-not-first",
            735,
            "https://log2025-alpha1.rekor.sigstage.dev",
        ),
        (
            "rekor2-checkpoint-two-sigs-cosigned",
            735,
            "https://log2025-alpha1.rekor.sigstage.dev",
        ),
        (
            "rekor2-checkpoint-two-sigs-from-origin",
            735,
            "https://log2025-alpha1.rekor.sigstage.dev",
        ),
        ("bundle-with-sct-with-extensions", 3, "http://rekor-local"),
        (
            "rekor2-timestamp-with-embedded-cert",
            29_469,
            "https://log2025-alpha1.rekor.sigstage.dev",
        ),
    ] {
        let c = Case::load(name);
        let e = c.verify().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(e.integrated_time, None, "{name}");
        assert!(e.rekor_v2, "{name}");
        assert_eq!(e.log_index, index, "{name}");
        assert_eq!(e.log_url, url, "{name}");
        assert_eq!(e.log_valid_for.0.len(), 1, "{name}");
        // A v2 entry needs its proof whatever the bundle version asks for.
        assert_eq!(
            verify_log_entry(&c.entry, &c.root, ProofPolicy::VerifyIfPresent),
            Ok(e)
        );
        c.body().unwrap_or_else(|e| panic!("{name}: {e}"));
        checked += 1;
    }
    assert_eq!(checked, 9);
}

#[test]
fn dsse_on_rekor_v2_is_a_hashedrekord_over_the_pae() {
    let c = Case::load("rekor2-dsse-happy-path");
    let env = c.envelope.as_ref().unwrap();
    let body: Value = serde_json::from_slice(&c.entry.body).unwrap();
    let digest = b64(&body["spec"]["hashedRekordV002"]["data"]["digest"]);
    assert_eq!(digest, sha256(&dsse::pae(&env.payload_type, &env.payload)));
    dsse::check_in_toto_subject(env, &c.artifact).unwrap();
}

#[test]
fn rekor_v2_log_key_validity_is_checked_at_the_callers_times() {
    // alpha3 is valid from 2025-09-22; the entry has no time of its own.
    let c = Case::load("rekor2-dsse-happy-path");
    let e = c.verify().unwrap();
    check_log_valid_at(&e, t("2026-05-13T19:23:40Z")).unwrap();
    check_log_valid_at(&e, t("2025-09-22T00:00:00Z")).unwrap();
    assert_eq!(
        check_log_valid_at(&e, t("2025-09-21T23:59:59Z")),
        Err(TlogError::LogKeyNotValidAtTime {
            log: "https://log2025-alpha3.rekor.sigstage.dev".into(),
            at: t("2025-09-21T23:59:59Z"),
            valid_for: ValidityWindows(vec![ValidFor {
                start: Instant::parse_rfc3339("2025-09-22T00:00:00Z").unwrap(),
                end: None,
            }]),
        })
    );
    // A key listed twice (a re-listed key): either window will do.
    let listed_twice = c.with_root(|v| {
        let tlogs = v["tlogs"].as_array_mut().unwrap();
        let mut old = tlogs[3].clone();
        old["publicKey"]["validFor"] =
            json!({"start": "2020-01-01T00:00:00Z", "end": "2020-12-31T00:00:00Z"});
        tlogs.push(old);
    });
    let e = verify_log_entry(&c.entry, &listed_twice, ProofPolicy::RequireCheckpoint).unwrap();
    assert_eq!(e.log_valid_for.0.len(), 2);
    check_log_valid_at(&e, t("2020-06-01T00:00:00Z")).unwrap();
    check_log_valid_at(&e, t("2026-01-01T00:00:00Z")).unwrap();
    assert!(check_log_valid_at(&e, t("2023-01-01T00:00:00Z")).is_err());
    // Rekor v1 evidence was checked at its integrated time; other times do not apply.
    let v1 = Case::load("happy-path-v0.3").verify().unwrap();
    assert_eq!(v1.integrated_time, Some(UnixTime(1_710_869_186)));
    check_log_valid_at(&v1, UnixTime(0)).unwrap();
}

// ---- Rekor v2: negatives ----

#[test]
fn rekor_v2_checkpoint_cases_fail() {
    // The note text lacks a part: Checkpoint::parse rejects it.
    for name in [
        "rekor2-checkpoint-missing-origin_fail",
        "rekor2-checkpoint-missing-size_fail",
        "rekor2-checkpoint-missing-root-hash_fail",
        "rekor2-checkpoint-missing-log-signature_fail",
    ] {
        assert!(
            matches!(
                Case::load(name).verify(),
                Err(TlogError::Checkpoint(CheckpointError::Malformed(_)))
            ),
            "{name}"
        );
    }
    // Origin rewritten to another log: no listing of this log id has that origin.
    assert_eq!(
        Case::load("rekor2-checkpoint-no-matching-signature_fail").verify(),
        Err(TlogError::Checkpoint(CheckpointError::OriginMismatch {
            expected: "log2025-alpha1.rekor.sigstage.dev".into(),
            found: "log2025-alpha1.rekor.github.dev".into(),
        }))
    );
}

#[test]
fn rekor_v2_without_inclusion_proof_fails() {
    // The inclusion proof is required for v2 entries under either policy.
    let c = Case::load("rekor2-no-inclusion-proof_fail");
    for policy in [ProofPolicy::RequireCheckpoint, ProofPolicy::VerifyIfPresent] {
        assert_eq!(
            verify_log_entry(&c.entry, &c.root, policy),
            Err(TlogError::MissingInclusionProof)
        );
    }
    let mut c = Case::load("rekor2-happy-path");
    c.entry.inclusion_proof.as_mut().unwrap().checkpoint = None;
    assert_eq!(
        verify_log_entry(&c.entry, &c.root, ProofPolicy::VerifyIfPresent),
        Err(TlogError::MissingCheckpoint)
    );
}

#[test]
fn rekor_v2_dsse_cases_fail_where_they_should() {
    // The envelope is not the logged one: H(PAE) differs from the entry's digest.
    let c = Case::load("rekor2-dsse-mismatch-envelope_fail");
    c.verify().unwrap();
    assert!(matches!(c.body(), Err(BodyError::DigestMismatch { .. })));
    // Same payload, a different (valid) signature than the logged one.
    let c = Case::load("rekor2-dsse-mismatch-sig_fail");
    c.verify().unwrap();
    assert_eq!(c.body(), Err(BodyError::SignatureMismatch));
    // The envelope's signature is by another key; the entry records the signer's own, so the
    // body check already rejects it, and the signature check over the PAE would too.
    let c = Case::load("rekor2-dsse-invalid-sig_fail");
    c.verify().unwrap();
    assert_eq!(c.body(), Err(BodyError::SignatureMismatch));
    let leaf = crate::core::x509::Leaf::from_der(c.leaf.as_ref().unwrap()).unwrap();
    let env = c.envelope.as_ref().unwrap();
    assert!(
        leaf.public_key
            .verify(
                HashAlg::Sha256,
                &dsse::pae(&env.payload_type, &env.payload),
                &env.signatures[0].sig
            )
            .is_err()
    );
    // The happy path's signature does verify that way.
    let c = Case::load("rekor2-dsse-happy-path");
    let leaf = crate::core::x509::Leaf::from_der(c.leaf.as_ref().unwrap()).unwrap();
    let env = c.envelope.as_ref().unwrap();
    leaf.public_key
        .verify(
            HashAlg::Sha256,
            &dsse::pae(&env.payload_type, &env.payload),
            &env.signatures[0].sig,
        )
        .unwrap();
}

#[test]
fn tampered_rekor_v2_evidence_fails() {
    let c = Case::load("rekor2-happy-path");
    let verify = |e: &TlogEntry, root: &TrustedRoot| {
        verify_log_entry(e, root, ProofPolicy::RequireCheckpoint)
    };

    // A body byte changed: its leaf is not in the tree (inclusion proof).
    let mut e = c.entry.clone();
    let at = e.body.len() - 10;
    e.body[at] ^= 1;
    assert!(matches!(
        verify(&e, &c.root),
        Err(TlogError::InclusionProof(MerkleError::RootMismatch { .. }))
    ));
    // The entry's index is not the proof's.
    let mut e = c.entry.clone();
    e.log_index += 1;
    assert_eq!(
        verify(&e, &c.root),
        Err(TlogError::ProofIndexMismatch {
            entry: 736,
            proof: 735
        })
    );
    // Both moved together: the proof does not place the body there.
    e.inclusion_proof.as_mut().unwrap().log_index += 1;
    assert!(matches!(
        verify(&e, &c.root),
        Err(TlogError::InclusionProof(_))
    ));
    // The proof's tree is not the checkpoint's.
    let mut e = c.entry.clone();
    e.inclusion_proof.as_mut().unwrap().tree_size += 1;
    assert!(matches!(
        verify(&e, &c.root),
        Err(TlogError::Checkpoint(CheckpointError::SizeMismatch { .. }))
    ));
    let mut e = c.entry.clone();
    e.inclusion_proof.as_mut().unwrap().root_hash[0] ^= 1;
    assert!(matches!(
        verify(&e, &c.root),
        Err(TlogError::Checkpoint(CheckpointError::RootMismatch { .. }))
    ));
    // A v1-only field on a v2 entry.
    let mut e = c.entry.clone();
    e.signed_entry_timestamp = Some(vec![1, 2, 3]);
    assert_eq!(verify(&e, &c.root), Err(TlogError::UnexpectedPromise));
    let mut e = c.entry.clone();
    e.integrated_time = 1_750_000_000;
    assert_eq!(
        verify(&e, &c.root),
        Err(TlogError::UnexpectedIntegratedTime {
            integrated_time: 1_750_000_000
        })
    );
    let mut e = c.entry.clone();
    e.log_index = -1;
    assert!(matches!(verify(&e, &c.root), Err(TlogError::Malformed(_))));
    // kindVersion does not match the body; or is a kind signet cannot check.
    let mut e = c.entry.clone();
    e.kind = "dsse".into();
    assert!(matches!(
        verify(&e, &c.root),
        Err(TlogError::KindMismatch { .. })
    ));
    e.kind = "rekord".into();
    assert_eq!(
        verify(&e, &c.root),
        Err(TlogError::UnsupportedKind {
            kind: "rekord".into(),
            version: "0.0.2".into()
        })
    );
    // A log the trusted root does not list.
    let mut e = c.entry.clone();
    e.log_id[0] ^= 1;
    assert!(matches!(
        verify(&e, &c.root),
        Err(TlogError::UnknownLog { .. })
    ));
    // The trusted root knows this log under another origin.
    let moved = c.with_root(|v| v["tlogs"][1]["baseUrl"] = "https://log.example".into());
    assert_eq!(
        verify(&c.entry, &moved),
        Err(TlogError::Checkpoint(CheckpointError::OriginMismatch {
            expected: "log.example".into(),
            found: "log2025-alpha1.rekor.sigstage.dev".into()
        }))
    );
    let no_url = c.with_root(|v| v["tlogs"][1]["baseUrl"] = "".into());
    assert!(matches!(
        verify(&c.entry, &no_url),
        Err(TlogError::MissingOrigin { .. })
    ));
    // The root states another checkpoint key id than the key gives; then the right one.
    let wrong_id = c.with_root(|v| v["tlogs"][1]["checkpointKeyId"] = json!({"keyId": "AAAAAA=="}));
    assert_eq!(
        verify(&c.entry, &wrong_id),
        Err(TlogError::CheckpointKeyIdMismatch {
            log: "https://log2025-alpha1.rekor.sigstage.dev".into(),
            stated: "00000000".into(),
            computed: "f30d5a99".into()
        })
    );
    let right_id = c.with_root(|v| v["tlogs"][1]["checkpointKeyId"] = json!({"keyId": "8w1amQ=="}));
    verify(&c.entry, &right_id).unwrap();
    // The listing holds another key under the same log id: its key ID has no line.
    let other_key = c.with_root(|v| {
        v["tlogs"][1]["publicKey"]["rawBytes"] = B64.encode(ed25519_spki(&ed25519_key(5))).into()
    });
    assert!(matches!(
        verify(&c.entry, &other_key),
        Err(TlogError::Checkpoint(
            CheckpointError::NoSignatureByName { .. }
        ))
    ));
    // A log key signet cannot use (X25519).
    let x25519 = c.with_root(|v| {
        v["tlogs"][1]["publicKey"]["rawBytes"] = B64
            .encode(hex::decode("302a300506032b656e0321000101010101010101010101010101010101010101010101010101010101010101").unwrap())
            .into()
    });
    assert!(matches!(
        verify(&c.entry, &x25519),
        Err(TlogError::UnusableLogKey { .. })
    ));
}

/// A private v2 log: a tree of `bodies`, a checkpoint signed by `sign` under `origin`, and a
/// trusted root listing the log under `log_id` with `spki` and `key_details`.
fn private_log(
    bodies: &[Vec<u8>],
    index: usize,
    origin: &str,
    log_id: &[u8],
    spki: &[u8],
    key_details: &str,
    sign: impl Fn(&str) -> String,
) -> (TlogEntry, TrustedRoot) {
    use crate::core::merkle::{leaf_hash, node_hash};
    assert_eq!(bodies.len(), 2, "a two-leaf tree keeps the proof simple");
    let leaves = [leaf_hash(&bodies[0]), leaf_hash(&bodies[1])];
    let root_hash = node_hash(&leaves[0], &leaves[1]);
    let text = format!("{origin}\n2\n{}\n", B64.encode(root_hash));
    let entry = TlogEntry {
        log_index: index as i64,
        log_id: log_id.to_vec(),
        kind: "hashedrekord".into(),
        version: "0.0.2".into(),
        integrated_time: 0,
        signed_entry_timestamp: None,
        inclusion_proof: Some(InclusionProof {
            log_index: index as i64,
            tree_size: 2,
            root_hash: root_hash.to_vec(),
            hashes: vec![leaves[1 - index].to_vec()],
            checkpoint: Some(sign(&text)),
        }),
        body: bodies[index].clone(),
    };
    let mut root: Value = serde_json::from_slice(PRODUCTION).unwrap();
    root["tlogs"] = json!([{
        "baseUrl": format!("https://{origin}"),
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": B64.encode(spki),
            "keyDetails": key_details,
            "validFor": {"start": "2025-01-01T00:00:00Z"}
        },
        "logId": {"keyId": B64.encode(log_id)}
    }]);
    let root = TrustedRoot::from_json(&serde_json::to_vec(&root).unwrap()).unwrap();
    (entry, root)
}

fn v2_body(n: u8) -> Vec<u8> {
    format!(
        r#"{{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{{"hashedRekordV002":{{"n":{n}}}}}}}"#
    )
    .into_bytes()
}

#[test]
fn private_ed25519_and_ecdsa_v2_logs_verify() {
    let bodies = [v2_body(0), v2_body(1)];
    // Ed25519: log id and key ID from the C2SP key hash over origin and key.
    let k = ed25519_key(11);
    let origin = "rekor.private.test";
    let id = ed25519_key_hash(origin, &ed25519_raw(&k));
    for index in [0, 1] {
        let (entry, root) = private_log(
            &bodies,
            index,
            origin,
            &id,
            &ed25519_spki(&k),
            "PKIX_ED25519",
            |text| sign_note_ed25519(&k, origin, text),
        );
        let e = verify_log_entry(&entry, &root, ProofPolicy::RequireCheckpoint).unwrap();
        assert_eq!(e.log_url, "https://rekor.private.test");
        // Signed under another name: no line with the name and key ID the log has.
        let (entry, root) = private_log(
            &bodies,
            index,
            origin,
            &id,
            &ed25519_spki(&k),
            "PKIX_ED25519",
            |text| sign_note_ed25519(&k, "rekor.other.test", text),
        );
        assert!(matches!(
            verify_log_entry(&entry, &root, ProofPolicy::RequireCheckpoint),
            Err(TlogError::Checkpoint(
                CheckpointError::NoSignatureByName { .. }
            ))
        ));
    }
    // ECDSA P-256 (rekor-tiles with an ECDSA key): log id and key ID are the SPKI hash.
    let k = p256_key();
    let spki = spki_der(&k);
    let (entry, root) = private_log(
        &bodies,
        1,
        origin,
        &sha256(&spki),
        &spki,
        "PKIX_ECDSA_P256_SHA_256",
        |text| sign_note(&k, origin, text),
    );
    let e = verify_log_entry(&entry, &root, ProofPolicy::RequireCheckpoint).unwrap();
    assert!(e.rekor_v2);
    // Another ECDSA key signed it.
    let (entry, root) = private_log(
        &bodies,
        1,
        origin,
        &sha256(&spki),
        &spki,
        "PKIX_ECDSA_P256_SHA_256",
        |text| sign_note(&p256_key(), origin, text),
    );
    assert!(matches!(
        verify_log_entry(&entry, &root, ProofPolicy::RequireCheckpoint),
        Err(TlogError::Checkpoint(
            CheckpointError::NoSignatureByName { .. }
        ))
    ));
}

// ---- hashedrekord 0.0.2 bodies ----

#[test]
fn tampered_hashedrekord_v2_bodies_fail() {
    let c = Case::load("rekor2-happy-path");
    let check = |e: &TlogEntry| check_entry_body(e, c.content(), c.verifier());
    let spec = "/spec/hashedRekordV002";
    let edit = |f: &dyn Fn(&mut Value)| c.with_body(|v| f(v.pointer_mut(spec).unwrap()));

    // Another artifact.
    let other = [7u8; 32];
    assert!(matches!(
        check_entry_body(
            &c.entry,
            EntryContent::Message {
                digest: &other,
                signature: &c.signature
            },
            c.verifier()
        ),
        Err(BodyError::DigestMismatch { .. })
    ));
    // Another signature.
    assert_eq!(
        check_entry_body(
            &c.entry,
            EntryContent::Message {
                digest: &c.artifact,
                signature: b"other"
            },
            c.verifier()
        ),
        Err(BodyError::SignatureMismatch)
    );
    // Another certificate.
    let other_leaf = Case::load("rekor2-dsse-happy-path").leaf.unwrap();
    assert_eq!(
        check_entry_body(
            &c.entry,
            c.content(),
            EntryVerifier::Certificate(&other_leaf)
        ),
        Err(BodyError::CertificateMismatch)
    );
    // A managed key where the entry has a certificate.
    assert_eq!(
        check_entry_body(&c.entry, c.content(), EntryVerifier::PublicKey(b"key")),
        Err(BodyError::VerifierKindMismatch {
            logged: "a certificate",
            bundle: "a public key"
        })
    );
    // keyDetails that is not the certificate key's.
    assert_eq!(
        check(&edit(
            &|s| s["signature"]["verifier"]["keyDetails"] = "PKIX_ECDSA_P384_SHA_384".into()
        )),
        Err(BodyError::KeyDetailsMismatch {
            logged: "PKIX_ECDSA_P384_SHA_384".into(),
            expected: "PKIX_ECDSA_P256_SHA_256".into()
        })
    );
    // A digest of another algorithm cannot be compared with the artifact's SHA-256.
    assert_eq!(
        check(&edit(&|s| s["data"]["algorithm"] = "SHA2_384".into())),
        Err(BodyError::UnsupportedDigestAlgorithm {
            algorithm: "SHA2_384".into()
        })
    );
    assert_eq!(
        check(&edit(&|s| s["data"]["algorithm"] = "MD5".into())),
        Err(BodyError::UnsupportedDigestAlgorithm {
            algorithm: "MD5".into()
        })
    );
    // Both verifier kinds, or an unknown field: malformed.
    assert!(matches!(
        check(&edit(
            &|s| s["signature"]["verifier"]["publicKey"] = json!({"rawBytes": "AA=="})
        )),
        Err(BodyError::Malformed(_))
    ));
    assert!(matches!(
        check(&edit(&|s| s["extra"] = 1.into())),
        Err(BodyError::Malformed(_))
    ));
    // kindVersion and body disagree.
    let mut e = c.entry.clone();
    e.version = "0.0.1".into();
    assert_eq!(
        check(&e),
        Err(BodyError::DeclaredKindMismatch {
            declared: "hashedrekord 0.0.1".into(),
            body: "hashedrekord 0.0.2".into()
        })
    );
    // A kind signet cannot check.
    let mut e = c.with_body(|v| v["kind"] = "rekord".into());
    e.kind = "rekord".into();
    assert_eq!(
        check(&e),
        Err(BodyError::UnsupportedKind {
            kind: "rekord".into(),
            version: "0.0.2".into()
        })
    );

    // DSSE on v2: an envelope with two signatures cannot be the one-signature entry.
    let d = Case::load("rekor2-dsse-happy-path");
    let mut env = d.envelope.clone().unwrap();
    env.signatures.push(env.signatures[0].clone());
    assert_eq!(
        check_entry_body(&d.entry, EntryContent::Dsse(&env), d.verifier()),
        Err(BodyError::SignatureCount {
            logged: 1,
            bundle: 2
        })
    );
    // Another payload type changes the PAE.
    let mut env = d.envelope.clone().unwrap();
    env.payload_type = "application/json".into();
    assert!(matches!(
        check_entry_body(&d.entry, EntryContent::Dsse(&env), d.verifier()),
        Err(BodyError::DigestMismatch { .. })
    ));
}

#[test]
fn hashedrekord_v2_with_a_managed_key() {
    // A managed P-256 key logged as publicKey.rawBytes (no conformance case exists for this).
    let c = Case::load("rekor2-happy-path");
    let k = p256_key();
    let spki = spki_der(&k);
    let e = c.with_body(|v| {
        let verifier = &mut v["spec"]["hashedRekordV002"]["signature"]["verifier"];
        verifier.as_object_mut().unwrap().remove("x509Certificate");
        verifier["publicKey"] = json!({"rawBytes": B64.encode(&spki)});
    });
    check_entry_body(&e, c.content(), EntryVerifier::PublicKey(&spki)).unwrap();
    assert_eq!(
        check_entry_body(
            &e,
            c.content(),
            EntryVerifier::PublicKey(&spki_der(&p256_key()))
        ),
        Err(BodyError::PublicKeyMismatch)
    );
    assert_eq!(
        check_entry_body(&e, c.content(), c.verifier()),
        Err(BodyError::VerifierKindMismatch {
            logged: "a public key",
            bundle: "a certificate"
        })
    );
    // An Ed25519 managed key is logged with its prehash details.
    let ed = ed25519_spki(&ed25519_key(2));
    let e = c.with_body(|v| {
        let verifier = &mut v["spec"]["hashedRekordV002"]["signature"]["verifier"];
        verifier.as_object_mut().unwrap().remove("x509Certificate");
        verifier["publicKey"] = json!({"rawBytes": B64.encode(&ed)});
        verifier["keyDetails"] = "PKIX_ED25519_PH".into();
    });
    check_entry_body(&e, c.content(), EntryVerifier::PublicKey(&ed)).unwrap();
}

// ---- dsse 0.0.2 (deprecated in rekor-tiles, still a kind Rekor v2 wrote) ----

#[test]
fn dsse_v2_bodies() {
    let d = Case::load("rekor2-dsse-happy-path");
    let env = d.envelope.as_ref().unwrap();
    let leaf = d.leaf.as_ref().unwrap();
    let body = |payload: &[u8], sig: &[u8], details: &str| {
        let body = json!({
            "apiVersion": "0.0.2",
            "kind": "dsse",
            "spec": {"dsseV002": {
                "payloadHash": {"algorithm": "SHA2_256", "digest": B64.encode(sha256(payload))},
                "signatures": [{
                    "content": B64.encode(sig),
                    "verifier": {"keyDetails": details, "x509Certificate": {"rawBytes": B64.encode(leaf)}}
                }]
            }}
        });
        TlogEntry {
            kind: "dsse".into(),
            version: "0.0.2".into(),
            body: serde_json::to_vec(&body).unwrap(),
            ..d.entry.clone()
        }
    };
    let sig = &env.signatures[0].sig;
    let check = |e: &TlogEntry| check_entry_body(e, EntryContent::Dsse(env), d.verifier());
    check(&body(&env.payload, sig, "PKIX_ECDSA_P256_SHA_256")).unwrap();
    assert!(matches!(
        check(&body(b"other", sig, "PKIX_ECDSA_P256_SHA_256")),
        Err(BodyError::PayloadHashMismatch { .. })
    ));
    assert_eq!(
        check(&body(&env.payload, b"other", "PKIX_ECDSA_P256_SHA_256")),
        Err(BodyError::SignatureMismatch)
    );
    assert!(matches!(
        check(&body(&env.payload, sig, "PKIX_ED25519")),
        Err(BodyError::KeyDetailsMismatch { .. })
    ));
    // A message signature cannot be what a dsse entry records.
    assert_eq!(
        check_entry_body(
            &body(&env.payload, sig, "PKIX_ECDSA_P256_SHA_256"),
            EntryContent::Message {
                digest: &d.artifact,
                signature: sig
            },
            d.verifier()
        ),
        Err(BodyError::ContentMismatch {
            kind: "dsse 0.0.2".into(),
            content: "a message signature"
        })
    );
}

// ---- Rekor v1 DSSE and in-toto ----

#[test]
fn rekor_v1_dsse_entry_verifies() {
    let c = Case::load("happy-path-intoto-in-dsse-v3");
    let e = c.verify().unwrap();
    assert!(!e.rekor_v2);
    assert_eq!(e.integrated_time, Some(UnixTime(1_734_374_576)));
    assert_eq!(e.log_url, "https://rekor.sigstore.dev");
    c.body().unwrap();
    dsse::check_in_toto_subject(c.envelope.as_ref().unwrap(), &c.artifact).unwrap();
    // A message signature cannot be what a dsse entry records.
    assert_eq!(
        check_entry_body(
            &c.entry,
            EntryContent::Message {
                digest: &c.artifact,
                signature: &c.signature
            },
            c.verifier()
        ),
        Err(BodyError::ContentMismatch {
            kind: "dsse 0.0.1".into(),
            content: "a message signature"
        })
    );
    // A managed key where the entry has a certificate PEM.
    assert_eq!(
        check_entry_body(&c.entry, c.content(), EntryVerifier::PublicKey(b"k")),
        Err(BodyError::VerifierKindMismatch {
            logged: "a certificate",
            bundle: "a public key"
        })
    );
}

#[test]
fn rekor_v1_dsse_cases_fail_where_they_should() {
    // The log evidence of each is genuine; the body check rejects it.
    // The logged signature is not the envelope's.
    let c = Case::load("dsse-invalid-sig_fail");
    c.verify().unwrap();
    assert_eq!(c.body(), Err(BodyError::SignatureMismatch));
    // The envelope's payload is not the logged one.
    let c = Case::load("dsse-mismatch-envelope_fail");
    c.verify().unwrap();
    assert_eq!(
        c.body(),
        Err(BodyError::PayloadHashMismatch {
            logged: "sha256:d6b209ba9dde3b1ee5edebb88d1b1b917b72eeb614328e7ba667f5b7ab70e987"
                .into(),
            actual: "sha256:bd72f48d2089315403172d6a22c130d1de089558d5c996ce7ede49f1da59c697"
                .into(),
        })
    );
    // Same payload and key, another valid signature than the logged one.
    let c = Case::load("dsse-mismatch-sig_fail");
    c.verify().unwrap();
    assert_eq!(c.body(), Err(BodyError::SignatureMismatch));
    // Another certificate than the logged one.
    let c = Case::load("happy-path-intoto-in-dsse-v3");
    let other = Case::load("rekor2-dsse-happy-path").leaf.unwrap();
    assert_eq!(
        check_entry_body(&c.entry, c.content(), EntryVerifier::Certificate(&other)),
        Err(BodyError::CertificateMismatch)
    );
    // Two logged signatures against a one-signature envelope.
    let e = c.with_body(|v| {
        let sigs = v["spec"]["signatures"].as_array_mut().unwrap();
        sigs.push(sigs[0].clone());
    });
    assert_eq!(
        check_entry_body(&e, c.content(), c.verifier()),
        Err(BodyError::SignatureCount {
            logged: 2,
            bundle: 1
        })
    );
}

#[test]
fn intoto_entries() {
    // A Rekor v1 intoto 0.0.2 entry from a private log (ECDSA, origin localhost:8000).
    let c = Case::load("intoto-with-custom-trust-root");
    let e = c.verify().unwrap();
    assert!(!e.rekor_v2);
    assert_eq!(e.integrated_time, Some(UnixTime(1_675_209_600)));
    c.body().unwrap();
    dsse::check_in_toto_subject(c.envelope.as_ref().unwrap(), &c.artifact).unwrap();

    // The logged signature is not base64 of the envelope's base64 signature.
    let m = Case::load("intoto-log-entry-mismatch_fail");
    assert!(matches!(m.body(), Err(BodyError::Malformed(_))));
    // A v0.2 bundle's entry without an inclusion proof.
    let m = Case::load("intoto-missing-inclusion-proof_fail");
    assert_eq!(m.verify(), Err(TlogError::MissingInclusionProof));

    // Tampered copies of the good body.
    let env = "/spec/content/envelope";
    let edit = |f: &dyn Fn(&mut Value)| c.with_body(|v| f(v.pointer_mut(env).unwrap()));
    let check = |e: &TlogEntry| check_entry_body(e, c.content(), c.verifier());
    assert_eq!(
        check(&edit(&|e| e["payloadType"] = "application/json".into())),
        Err(BodyError::PayloadTypeMismatch {
            logged: "application/json".into(),
            actual: "application/vnd.in-toto+json".into()
        })
    );
    assert_eq!(
        check(&edit(
            &|e| e["payload"] = B64.encode(B64.encode(b"{}")).into()
        )),
        Err(BodyError::PayloadMismatch)
    );
    assert_eq!(
        check(&edit(
            &|e| e["signatures"][0]["sig"] = B64.encode(B64.encode(b"sig")).into()
        )),
        Err(BodyError::SignatureMismatch)
    );
    let other_leaf = Case::load("rekor2-dsse-happy-path").leaf.unwrap();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        B64.encode(&other_leaf)
    );
    assert_eq!(
        check(&edit(
            &|e| e["signatures"][0]["publicKey"] = B64.encode(&pem).into()
        )),
        Err(BodyError::CertificateMismatch)
    );
    let mut other = c.envelope.clone().unwrap();
    other.payload.push(b' ');
    assert!(matches!(
        check_entry_body(&c.entry, EntryContent::Dsse(&other), c.verifier()),
        Err(BodyError::PayloadHashMismatch { .. })
    ));
}

// ---- managed keys (hashedrekord 0.0.1 with a PUBLIC KEY PEM) ----

#[test]
fn managed_key_entries() {
    for name in ["managed-key-happy-path", "managed-key-and-trusted-root"] {
        let c = Case::load(name);
        let e = c.verify().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!e.rekor_v2);
        assert!(e.integrated_time.is_some());
        c.body().unwrap_or_else(|e| panic!("{name}: {e}"));
        // A certificate where the entry has a key.
        let leaf = Case::load("happy-path-v0.3").leaf.unwrap();
        assert_eq!(
            check_entry_body(&c.entry, c.content(), EntryVerifier::Certificate(&leaf)),
            Err(BodyError::VerifierKindMismatch {
                logged: "a public key",
                bundle: "a certificate"
            })
        );
    }
    // The key given is not the logged one.
    let c = Case::load("managed-key-wrong-key_fail");
    c.verify().unwrap();
    assert_eq!(c.body(), Err(BodyError::PublicKeyMismatch));
    // The same key written as a compressed point is the same key.
    let c = Case::load("managed-key-happy-path");
    let PublicKey::P256(vk) = PublicKey::from_spki_der(c.key.as_ref().unwrap()).unwrap() else {
        panic!("not P-256")
    };
    let compressed = vk.to_sec1_point(true);
    let mut spki = hex::decode("3039301306072a8648ce3d020106082a8648ce3d030107032200").unwrap();
    spki.extend_from_slice(compressed.as_bytes());
    check_entry_body(&c.entry, c.content(), EntryVerifier::PublicKey(&spki)).unwrap();
    // A DSSE envelope cannot be what a hashedrekord 0.0.1 entry records.
    let env = Case::load("happy-path-intoto-in-dsse-v3").envelope.unwrap();
    assert_eq!(
        check_entry_body(&c.entry, EntryContent::Dsse(&env), c.verifier()),
        Err(BodyError::ContentMismatch {
            kind: "hashedrekord 0.0.1".into(),
            content: "a DSSE envelope"
        })
    );
}

#[test]
fn legacy_check_body_still_takes_only_hashedrekord_v001() {
    let c = Case::load("happy-path-v0.3");
    check_body(
        &c.entry.body,
        &c.artifact,
        &c.signature,
        c.leaf.as_ref().unwrap(),
    )
    .unwrap();
    let v2 = Case::load("rekor2-happy-path");
    assert_eq!(
        check_body(
            &v2.entry.body,
            &v2.artifact,
            &v2.signature,
            v2.leaf.as_ref().unwrap()
        ),
        Err(BodyError::UnsupportedKind {
            kind: "hashedrekord".into(),
            version: "0.0.2".into()
        })
    );
    // The v1 path through verify_log_entry agrees with verify_entry.
    let e = c.verify().unwrap();
    let v = verify_entry(&c.entry, &c.root, ProofPolicy::RequireCheckpoint).unwrap();
    assert_eq!(e.integrated_time, Some(v.integrated_time));
    assert_eq!(e.log_index, v.log_index);
    assert_eq!(e.log_url, v.log_url);
    // An intoto kind at a version that does not exist.
    let mut bad = c.entry.clone();
    bad.kind = "intoto".into();
    bad.version = "0.0.1".into();
    assert_eq!(
        verify_log_entry(&bad, &c.root, ProofPolicy::RequireCheckpoint),
        Err(TlogError::UnsupportedKind {
            kind: "intoto".into(),
            version: "0.0.1".into()
        })
    );
}
