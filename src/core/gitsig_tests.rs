//! Tests for `gitsig`: real gitsign commits against the public-good root, and signatures made
//! with the in-memory Sigstore (`testworld`) with one thing wrong at a time.

use p256::ecdsa::SigningKey;

use super::*;
use crate::core::cms::tests::{fixture, fixture_names};
use crate::core::gitobject::ObjectKind;
use crate::core::keys::test_keys::{p256_key, sign_der, spki_der};
use crate::core::signed_object;
use crate::core::testworld::*;

const PRODUCTION_ROOT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/production_trusted_root.json"
));

fn production_root() -> TrustedRoot {
    TrustedRoot::from_json(PRODUCTION_ROOT).unwrap()
}

fn fixture_parts(name: &str) -> (Vec<u8>, Vec<u8>) {
    let s = signed_object::split(ObjectKind::Commit, &fixture(name)).unwrap();
    (s.payload, s.signature)
}

const OFFLINE: [&str; 2] = [
    "529ee14c05ac4640c599d6b34298b940d8a977f3.commit",
    "dc68e8ce155fe12ab8fd7c55de6ef336ce716ee8.commit",
];
const ONLINE: [&str; 2] = [
    "7dc71a2a12805f63b2a209a39e4f422e00670f61.commit",
    "bf21f2984600e046004ba656f0065aae326f9cbb.commit",
];

#[test]
fn gitsign_offline_commits_verify_offline_against_the_public_good_root() {
    assert_eq!(fixture_names().len(), OFFLINE.len() + ONLINE.len());
    for name in OFFLINE {
        let (payload, sig) = fixture_parts(name);
        let checked = check_signature(&sig, &payload).unwrap();
        let v = verify_embedded(&checked, &production_root()).unwrap();
        assert_eq!(v.identity, "billy@chainguard.dev", "{name}");
        assert_eq!(v.issuer.as_deref(), Some("https://accounts.google.com"));
        assert_eq!(v.log_url, "https://rekor.sigstore.dev");
        assert!(v.not_before <= v.integrated_time && v.integrated_time <= v.not_after);
        assert!(v.evidence.signed_entry_timestamp, "{name}");
        assert_eq!(v.evidence.source, EvidenceSource::Embedded);
        assert_eq!(v.fingerprint.len(), 40);
    }
}

#[test]
fn gitsign_online_commits_fail_closed_offline() {
    for name in ONLINE {
        let (payload, sig) = fixture_parts(name);
        let checked = check_signature(&sig, &payload).unwrap();
        let e = verify_embedded(&checked, &production_root()).unwrap_err();
        assert_eq!(e, GitSigError::MissingLogEntry, "{name}");
        assert_eq!(e.severity(), Severity::Unverifiable);
    }
}

#[test]
fn every_single_byte_change_of_a_fixture_payload_fails() {
    for name in OFFLINE.iter().chain(ONLINE.iter()) {
        let (payload, sig) = fixture_parts(name);
        for i in 0..payload.len() {
            let mut p = payload.clone();
            p[i] ^= 0x01;
            let e = check_signature(&sig, &p).unwrap_err();
            assert!(
                matches!(e, GitSigError::ContentMismatch { kind: "commit", .. })
                    || matches!(e, GitSigError::ContentMismatch { .. }),
                "{name} byte {i}: {e}"
            );
            assert_eq!(e.severity(), Severity::Bad);
        }
    }
}

/// Rebuild `into`'s signature with `from`'s embedded entry.
fn move_entry(from: &[u8], into: &[u8]) -> Vec<u8> {
    let src = cms::parse(&cms::dearmor(from).unwrap()).unwrap();
    let dst = cms::parse(&cms::dearmor(into).unwrap()).unwrap();
    let attr = src.unsigned(tle::OID_REKOR_TLE).unwrap().clone();
    let der = cms::build_signed_data(
        dst.signer_certificate().unwrap(),
        &dst.signed_attrs,
        &dst.signature,
        &[attr],
    )
    .unwrap();
    cms::armor(&der).unwrap().into_bytes()
}

#[test]
fn an_entry_moved_between_gitsign_commits_fails() {
    let root = production_root();
    let all: Vec<_> = OFFLINE.iter().chain(ONLINE.iter()).collect();
    for from in OFFLINE {
        for into in &all {
            if **into == from {
                continue;
            }
            let (payload, sig) = fixture_parts(into);
            let (_, donor) = fixture_parts(from);
            let moved = move_entry(&donor, &sig);
            let checked = check_signature(&moved, &payload).unwrap();
            let e = verify_embedded(&checked, &root).unwrap_err();
            assert!(
                matches!(e, GitSigError::Tlog(TlogError::InvalidPromise { .. })),
                "{from} -> {into}: {e}"
            );
            assert_eq!(e.kind(), "bad-set");
        }
    }
}

// ---- signatures from the in-memory Sigstore ----

pub(crate) const COMMIT: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author Alice <alice@example.com> 1704067200 +0000\n\
committer Alice <alice@example.com> 1704067200 +0000\n\nsigned\n";

/// An offline-mode signature with its parts, for tampering (also used by the vector generator).
pub(crate) struct Made {
    pub(crate) key: SigningKey,
    pub(crate) leaf_der: Vec<u8>,
    pub(crate) signed_attrs: Vec<u8>,
    pub(crate) signature: Vec<u8>,
    pub(crate) entry: TlogEntry,
}

/// Sign `payload` as signet's offline mode does, logged at `at`.
pub(crate) fn make(w: &World, payload: &[u8], at: i64) -> Made {
    let key = p256_key();
    let leaf_der = w.issue_leaf(&spki_der(&key), T0);
    let signed_attrs = cms::signed_attributes(&sha256(payload), UnixTime(at)).unwrap();
    let signature = sign_der(&key, &signed_attrs);
    let leaf = Leaf::from_der(&leaf_der).unwrap();
    let pem = der::EncodePem::to_pem(&leaf.cert, der::pem::LineEnding::LF).unwrap();
    let body = serde_json_canonicalizer::to_vec(&HashedRekord::new(
        &sha256(&signed_attrs),
        &signature,
        &pem,
    ))
    .unwrap();
    let entry = w.log_entry(&body, at, 5);
    Made {
        key,
        leaf_der,
        signed_attrs,
        signature,
        entry,
    }
}

pub(crate) fn assemble(m: &Made, entry: Option<&TlogEntry>) -> Vec<u8> {
    let attrs: Vec<_> = entry
        .map(|e| cms::octet_string_attribute(tle::OID_REKOR_TLE, &tle::encode(e)))
        .into_iter()
        .collect();
    let der = cms::build_signed_data(&m.leaf_der, &m.signed_attrs, &m.signature, &attrs).unwrap();
    cms::armor(&der).unwrap().into_bytes()
}

fn verify(
    sig: &[u8],
    payload: &[u8],
    root: &TrustedRoot,
) -> Result<VerifiedSignature, GitSigError> {
    verify_embedded(&check_signature(sig, payload)?, root)
}

#[test]
fn offline_round_trip_reports_the_facts() {
    let w = World::new();
    let m = make(&w, COMMIT, T0 + 5);
    let v = verify(&assemble(&m, Some(&m.entry)), COMMIT, &w.trusted_root()).unwrap();
    assert_eq!(v.identity, EMAIL);
    assert_eq!(v.issuer.as_deref(), Some(ISSUER));
    assert_eq!(v.integrated_time, UnixTime(T0 + 5));
    assert_eq!(v.claimed_signing_time, Some(UnixTime(T0 + 5)));
    assert_eq!(v.log_index, 1004);
    assert_eq!(v.fingerprint, gitobject::sha1_hex(&m.leaf_der));
    assert_eq!(v.ca, INTER_DN);
    assert_eq!(
        v.evidence,
        Evidence {
            source: EvidenceSource::Embedded,
            signed_entry_timestamp: true,
            inclusion_proof: true,
            checkpoint: true
        }
    );
    // The embedded entry carries no body (as gitsign's): the verifier rebuilt it.
    let checked = check_signature(&assemble(&m, Some(&m.entry)), COMMIT).unwrap();
    assert_eq!(rebuilt_body(&checked).unwrap(), m.entry.body);
}

#[test]
fn each_broken_step_has_its_own_error() {
    let w = World::new();
    let root = w.trusted_root();
    let m = make(&w, COMMIT, T0 + 5);
    let good = assemble(&m, Some(&m.entry));

    // Another key's signature over the same attributes.
    let forged = Made {
        key: p256_key(),
        leaf_der: m.leaf_der.clone(),
        signed_attrs: m.signed_attrs.clone(),
        signature: sign_der(&p256_key(), &m.signed_attrs),
        entry: m.entry.clone(),
    };
    let e = verify(&assemble(&forged, Some(&m.entry)), COMMIT, &root).unwrap_err();
    assert!(matches!(e, GitSigError::BadSignature(_)), "{e}");
    assert_eq!(e.severity(), Severity::Bad);

    let e = verify(&good, b"tree x\n\nother\n", &root).unwrap_err();
    assert!(matches!(
        e,
        GitSigError::ContentMismatch { kind: "data", .. }
    ));

    let e = verify(&assemble(&m, None), COMMIT, &root).unwrap_err();
    assert_eq!(e, GitSigError::MissingLogEntry);

    // A corrupted SET, proof hash and checkpoint.
    let mut entry = m.entry.clone();
    entry.signed_entry_timestamp.as_mut().unwrap()[12] ^= 1;
    let e = verify(&assemble(&m, Some(&entry)), COMMIT, &root).unwrap_err();
    assert_eq!(e.kind(), "bad-set");
    let mut entry = m.entry.clone();
    entry.inclusion_proof.as_mut().unwrap().hashes[0][0] ^= 1;
    let e = verify(&assemble(&m, Some(&entry)), COMMIT, &root).unwrap_err();
    assert_eq!(e.kind(), "bad-inclusion-proof");

    // The entry of another signature (same world, same log).
    let other = make(
        &w,
        b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nother\n",
        T0 + 5,
    );
    let e = verify(&assemble(&m, Some(&other.entry)), COMMIT, &root).unwrap_err();
    assert_eq!(e.kind(), "bad-set");

    // A log the root does not list; a CA it does not list.
    let stranger = World::new();
    let e = verify(&good, COMMIT, &stranger.trusted_root()).unwrap_err();
    assert_eq!(e.kind(), "unknown-log");
    let mut json = stranger.trusted_root_json();
    json["tlogs"] = w.trusted_root_json()["tlogs"].clone();
    json["ctlogs"] = w.trusted_root_json()["ctlogs"].clone();
    let mixed = TrustedRoot::from_json(&serde_json::to_vec(&json).unwrap()).unwrap();
    let e = verify(&good, COMMIT, &mixed).unwrap_err();
    assert_eq!(e.kind(), "untrusted-ca", "{e}");

    // The CA's validFor ends before the integrated time.
    let mut json = w.trusted_root_json();
    json["certificateAuthorities"][0]["validFor"]["end"] = "2023-12-31T00:00:00Z".into();
    let expired = TrustedRoot::from_json(&serde_json::to_vec(&json).unwrap()).unwrap();
    let e = verify(&good, COMMIT, &expired).unwrap_err();
    assert_eq!(e.kind(), "ca-not-valid-at-log-time", "{e}");

    // Logged after the 10-minute certificate expired.
    let late = make(&w, COMMIT, T0 + 601);
    let e = verify(&assemble(&late, Some(&late.entry)), COMMIT, &root).unwrap_err();
    assert_eq!(e.kind(), "certificate-not-valid-at-log-time", "{e}");

    // An SCT from a CT log the root does not list.
    let mut json = w.trusted_root_json();
    json["ctlogs"] = stranger.trusted_root_json()["ctlogs"].clone();
    let no_ct = TrustedRoot::from_json(&serde_json::to_vec(&json).unwrap()).unwrap();
    let e = verify(&good, COMMIT, &no_ct).unwrap_err();
    assert_eq!(e.kind(), "bad-sct", "{e}");
    drop(m.key);
}

#[test]
fn online_mode_entries_are_found_by_object_id_and_certificate() {
    let w = World::new();
    let root = w.trusted_root();
    let m = make(&w, COMMIT, T0 + 5);
    let sig = assemble(&m, None);
    let checked = check_signature(&sig, COMMIT).unwrap();
    let id = gitobject::predicted_id(COMMIT, &sig).unwrap();
    let pem = der::EncodePem::to_pem(&checked.leaf.cert, der::pem::LineEnding::LF).unwrap();
    let logged = |object_id: &str, key: &SigningKey, at: i64| {
        let digest = sha256(object_id.as_bytes());
        let signature = {
            use p256::ecdsa::signature::hazmat::PrehashSigner;
            let s: p256::ecdsa::Signature = key.sign_prehash(&digest).unwrap();
            s.to_der().as_bytes().to_vec()
        };
        let body = serde_json_canonicalizer::to_vec(&HashedRekord::new(&digest, &signature, &pem))
            .unwrap();
        w.log_entry(&body, at, 5)
    };
    let other_object = logged(&"0".repeat(40), &m.key, T0 + 5);
    let good = logged(&id, &m.key, T0 + 6);

    let v = verify_searched(&checked, &[other_object.clone(), good.clone()], &id, &root).unwrap();
    assert_eq!(v.evidence.source, EvidenceSource::Searched);
    assert_eq!(v.integrated_time, UnixTime(T0 + 6));

    assert_eq!(
        verify_searched(&checked, std::slice::from_ref(&other_object), &id, &root).unwrap_err(),
        GitSigError::NoMatchingLogEntry {
            object_id: id.clone(),
            candidates: 1
        }
    );
    // Right object and certificate, but the logged signature is another key's.
    let wrong_key = logged(&id, &p256_key(), T0 + 6);
    let e = verify_searched(&checked, &[wrong_key], &id, &root).unwrap_err();
    assert!(matches!(e, GitSigError::BadSignature(_)), "{e}");
    // Logged after the certificate expired.
    let late = logged(&id, &m.key, T0 + 700);
    let e = verify_searched(&checked, &[late], &id, &root).unwrap_err();
    assert_eq!(e.kind(), "certificate-not-valid-at-log-time");
    // Online entries must carry a checkpointed proof.
    let mut no_proof = good;
    no_proof.inclusion_proof = None;
    let e = verify_searched(&checked, &[no_proof], &id, &root).unwrap_err();
    assert!(matches!(
        e,
        GitSigError::Tlog(TlogError::MissingInclusionProof)
    ));
}

#[test]
fn facts_read_without_judging() {
    let (_, sig) = fixture_parts(OFFLINE[1]);
    let f = facts(&sig).unwrap();
    assert_eq!(f.identity.as_deref(), Some("billy@chainguard.dev"));
    let e = f.log_entry.unwrap();
    assert_eq!(e.kind, "hashedrekord 0.0.1");
    assert!(e.has_signed_entry_timestamp);
    let (_, sig) = fixture_parts(ONLINE[0]);
    assert!(facts(&sig).unwrap().log_entry.is_none());
    assert!(matches!(
        facts(b"-----BEGIN SIGNED MESSAGE-----\nAAAA\n-----END SIGNED MESSAGE-----\n"),
        Err(GitSigError::Signature(_))
    ));
}
