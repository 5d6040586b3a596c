//! Tests for `stored`: bundles built from a verified search result verify for their signature
//! and object only; each way a stored bundle can belong to something else is rejected.

use p256::ecdsa::SigningKey;

use super::*;
use crate::core::gitsig::tests::{COMMIT, Made, assemble, make};
use crate::core::keys::test_keys::p256_key;
use crate::core::rekor::{HashedRekord, TlogEntry};
use crate::core::testworld::*;
use crate::core::time::UnixTime;

/// An online-mode signature over COMMIT, its object id, and a log entry for `object_id`
/// signed by `key` (the signature's own key unless a test says otherwise).
struct Online {
    made: Made,
    checked: CheckedSignature,
    id: String,
}

fn online(w: &World) -> Online {
    let made = make(w, COMMIT, T0 + 5);
    let sig = assemble(&made, None);
    let checked = gitsig::check_signature(&sig, COMMIT).unwrap();
    let id = gitobject::predicted_id(COMMIT, &sig).unwrap();
    Online { made, checked, id }
}

fn sign_prehash(key: &SigningKey, digest: &[u8; 32]) -> Vec<u8> {
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    let s: p256::ecdsa::Signature = key.sign_prehash(digest).unwrap();
    s.to_der().as_bytes().to_vec()
}

fn logged(w: &World, o: &Online, object_id: &str, key: &SigningKey, at: i64) -> TlogEntry {
    let digest = sha256(object_id.as_bytes());
    let signature = sign_prehash(key, &digest);
    let pem = der::EncodePem::to_pem(&o.checked.leaf.cert, der::pem::LineEnding::LF).unwrap();
    let body =
        serde_json_canonicalizer::to_vec(&HashedRekord::new(&digest, &signature, &pem)).unwrap();
    w.log_entry(&body, at, 5)
}

/// The stored bundle for `o`'s object, through a search result as `notes fetch` makes it.
fn stored(w: &World, o: &Online) -> Vec<u8> {
    let entry = logged(w, o, &o.id, &o.made.key, T0 + 6);
    let found = gitsig::find_searched(&o.checked, &[entry], &o.id, &w.trusted_root()).unwrap();
    build(&o.checked, &found, &o.id, &w.trusted_root())
        .unwrap()
        .0
}

fn edit(bundle: &[u8], f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(bundle).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn a_stored_bundle_verifies_for_its_signature_and_object() {
    let w = World::new();
    let o = online(&w);
    let bundle = stored(&w, &o);
    let v = verify(&o.checked, &bundle, &o.id, &w.trusted_root()).unwrap();
    assert_eq!(v.evidence.source, EvidenceSource::Stored);
    assert!(v.evidence.checkpoint && v.evidence.inclusion_proof);
    assert_eq!(v.integrated_time, UnixTime(T0 + 6));
    assert_eq!(v.identity, EMAIL);
    // It is an ordinary Sigstore bundle v0.3 over SHA-256 of the object id.
    let json: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
    assert_eq!(json["mediaType"], bundle::MEDIA_TYPE_V03);
    assert_eq!(
        json["messageSignature"]["messageDigest"]["digest"],
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            sha256(o.id.as_bytes())
        )
    );
}

#[test]
fn a_bundle_of_another_commit_or_certificate_is_rejected() {
    let w = World::new();
    let root = w.trusted_root();
    let o = online(&w);
    // Moved from another commit signed with another certificate.
    let other = online(&w);
    let e = verify(&o.checked, &stored(&w, &other), &o.id, &root).unwrap_err();
    assert_eq!(e.kind(), "stored-bundle-mismatch", "{e}");
    assert!(e.to_string().contains("certificate"), "{e}");

    // Same certificate, another object id (the note moved between two commits the same
    // certificate signed).
    let other_id = "1".repeat(40);
    let entry = logged(&w, &o, &other_id, &o.made.key, T0 + 6);
    let found = gitsig::find_searched(&o.checked, &[entry], &other_id, &root).unwrap();
    let (moved, _) = build(&o.checked, &found, &other_id, &root).unwrap();
    let e = verify(&o.checked, &moved, &o.id, &root).unwrap_err();
    assert_eq!(e.kind(), "stored-bundle-mismatch", "{e}");
    assert!(e.to_string().contains("another object"), "{e}");
}

#[test]
fn other_signature_bytes_are_rejected() {
    let w = World::new();
    let root = w.trusted_root();
    let o = online(&w);
    let bundle = stored(&w, &o);
    let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    // A signature by another key.
    let stranger = sign_prehash(&p256_key(), &sha256(o.id.as_bytes()));
    let forged = edit(&bundle, |v| {
        v["messageSignature"]["signature"] = b64(&stranger).into();
    });
    let e = verify(&o.checked, &forged, &o.id, &root).unwrap_err();
    assert_eq!(e.kind(), "stored-bundle-mismatch", "{e}");
    assert!(e.to_string().contains("signature bytes"), "{e}");
    // A valid signature by the right key, but not the one the log recorded (ECDSA signatures
    // are malleable: (r, n - s) verifies too).
    let logged_sig: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
    let logged_sig = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        logged_sig["messageSignature"]["signature"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let (r, s) = p256::ecdsa::Signature::from_der(&logged_sig)
        .unwrap()
        .split_scalars();
    let resigned = p256::ecdsa::Signature::from_scalars(r, -s)
        .unwrap()
        .to_der()
        .as_bytes()
        .to_vec();
    assert_ne!(resigned, logged_sig);
    let swapped = edit(&bundle, |v| {
        v["messageSignature"]["signature"] = b64(&resigned).into();
    });
    let e = verify(&o.checked, &swapped, &o.id, &root).unwrap_err();
    assert_eq!(e.kind(), "stored-bundle-mismatch", "{e}");
    assert!(e.to_string().contains("different signature"), "{e}");
}

#[test]
fn a_bundle_whose_proof_does_not_verify_is_rejected() {
    let w = World::new();
    let root = w.trusted_root();
    let o = online(&w);
    let bundle = stored(&w, &o);
    let tampered = edit(&bundle, |v| {
        v["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = (T0 + 7).to_string().into();
    });
    let e = verify(&o.checked, &tampered, &o.id, &root).unwrap_err();
    assert_eq!(e.kind(), "bad-stored-bundle", "{e}");
    assert!(matches!(e, GitSigError::InStoredBundle(_)), "{e}");
    // Another instance's log.
    let stranger = World::new();
    let e = verify(&o.checked, &bundle, &o.id, &stranger.trusted_root()).unwrap_err();
    assert_eq!(e.kind(), "bad-stored-bundle", "{e}");
    // The log recorded it after the certificate expired: the chain check's own kind.
    let late = logged(&w, &o, &o.id, &o.made.key, T0 + 700);
    let late_bundle = bundle::build_v03(
        &o.made.leaf_der,
        &late,
        &sha256(o.id.as_bytes()),
        &serde_json::from_slice::<HashedRekord>(&late.body)
            .map(|b| {
                base64::Engine::decode(
                    &base64::engine::general_purpose::STANDARD,
                    b.spec.signature.content,
                )
                .unwrap()
            })
            .unwrap(),
        &[],
    );
    let e = verify(
        &o.checked,
        &serde_json::to_vec(&late_bundle).unwrap(),
        &o.id,
        &root,
    )
    .unwrap_err();
    assert_eq!(e.kind(), "certificate-not-valid-at-log-time", "{e}");
}

#[test]
fn unreadable_notes_are_rejected_with_the_reason() {
    let w = World::new();
    let root = w.trusted_root();
    let o = online(&w);
    for (note, says) in [
        (&b"not json at all"[..], "JSON"),
        (b"{}", "mediaType"),
        (b"", "JSON"),
    ] {
        let e = verify(&o.checked, note, &o.id, &root).unwrap_err();
        assert_eq!(e.kind(), "bad-stored-bundle", "{e}");
        assert!(e.to_string().contains(says), "{note:?}: {e}");
    }
    let huge = vec![b' '; bundle::MAX_BUNDLE_BYTES + 1];
    let e = verify(&o.checked, &huge, &o.id, &root).unwrap_err();
    assert_eq!(e.kind(), "bad-stored-bundle", "{e}");
    // A bundle with a public key instead of the certificate.
    let keyed = edit(&stored(&w, &o), |v| {
        let vm = &mut v["verificationMaterial"];
        vm.as_object_mut().unwrap().remove("certificate");
        vm["publicKey"] = serde_json::json!({"hint": "k"});
    });
    let e = verify(&o.checked, &keyed, &o.id, &root).unwrap_err();
    assert_eq!(e.kind(), "stored-bundle-mismatch", "{e}");
}
