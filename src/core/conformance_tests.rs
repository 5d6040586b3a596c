//! The verification pipeline against the real sigstore-conformance bundles (production and
//! staging, `../shared/conformance/bundle-verify`): the positives verify, and the negatives fail
//! at the step that should catch them (the right error variant). `tests/it/conformance.rs` runs
//! every case through the CLI as the suite does.

use super::bundle::BundleError;
use super::keys::sha256;
use super::rekor::{BodyError, TlogError};
use super::sct::SctError;
use super::time::UnixTime;
use super::trust_root::TrustedRoot;
use super::trust_root::tests::PRODUCTION;
use super::verify::*;
use super::x509::CertError;
use crate::core::checkpoint::CheckpointError;
use crate::core::merkle::MerkleError;

const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/conformance/bundle-verify"
);
const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn read(path: &str) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

fn run_with(
    case: &str,
    by_digest: bool,
    policy: Option<IdentityPolicy>,
) -> Result<Verified, VerifyError> {
    let dir = format!("{CASES}/{case}");
    let bundle = read(&format!("{dir}/bundle.sigstore.json")).expect("bundle");
    let artifact = read(&format!("{dir}/artifact"))
        .or_else(|| read(&format!("{CASES}/a.txt")))
        .expect("artifact");
    let root_json =
        read(&format!("{dir}/trusted_root.json")).unwrap_or_else(|| PRODUCTION.to_vec());
    let root = TrustedRoot::from_json(&root_json).expect("trusted root");
    let text = |name: &str, default: &str| {
        read(&format!("{dir}/{name}"))
            .map(|b| String::from_utf8(b).unwrap().trim().to_owned())
            .unwrap_or_else(|| default.to_owned())
    };
    let policy = policy.unwrap_or_else(|| IdentityPolicy {
        identity: text("identity", DEFAULT_IDENTITY),
        issuer: text("issuer", DEFAULT_ISSUER),
    });
    let digest = sha256(&artifact);
    let input = if by_digest {
        Artifact::Sha256(&digest)
    } else {
        Artifact::Bytes(&artifact)
    };
    let key = read(&format!("{dir}/key.pub"))
        .map(|pem| spki_from_pem(&pem).map_err(VerifyError::Key))
        .transpose()?;
    let signer = match &key {
        Some(der) => Signer::Key(der),
        None => Signer::Identity(&policy),
    };
    let bundle = super::bundle::Bundle::parse(&bundle)?;
    verify_bundle(&bundle, input, &root, signer)
}

fn run(case: &str) -> Result<Verified, VerifyError> {
    let by_path = run_with(case, false, None);
    let by_digest = run_with(case, true, None);
    assert_eq!(by_path, by_digest, "{case}: path and digest disagree");
    by_path
}

#[test]
fn happy_paths_verify() {
    for case in [
        "happy-path-v0.1",
        "happy-path-v0.2",
        "happy-path-v0.3",
        "happy-path-v0.3-new-mediaType",
        "trust-root-tlog-validity-end-inclusive",
    ] {
        let v = run(case).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(v.identity, DEFAULT_IDENTITY);
        assert_eq!(v.issuer, DEFAULT_ISSUER);
    }
    let v = run("happy-path-v0.3").unwrap();
    assert_eq!(v.signed_at, UnixTime(1_710_869_186));
    assert_eq!(v.log_index, 79_571_823);
    assert_eq!(v.log_url, "https://rekor.sigstore.dev");
}

#[test]
fn wrong_identity_or_issuer_is_a_policy_failure() {
    let wrong_id = IdentityPolicy {
        identity: format!("{DEFAULT_IDENTITY}x"),
        issuer: DEFAULT_ISSUER.into(),
    };
    assert!(matches!(
        run_with("happy-path-v0.3", false, Some(wrong_id)),
        Err(VerifyError::IdentityMismatch { .. })
    ));
    let wrong_iss = IdentityPolicy {
        identity: DEFAULT_IDENTITY.into(),
        issuer: "https://accounts.google.com".into(),
    };
    assert!(matches!(
        run_with("happy-path-v0.3", true, Some(wrong_iss)),
        Err(VerifyError::IssuerMismatch { .. })
    ));
}

#[test]
fn tlog_failures() {
    assert!(matches!(
        run("checkpoint-bad-keyhint_fail"),
        Err(VerifyError::Tlog(TlogError::Checkpoint(
            CheckpointError::NoSignatureForKey { .. }
        )))
    ));
    assert!(matches!(
        run("checkpoint-wrong-roothash_fail"),
        Err(VerifyError::Tlog(TlogError::Checkpoint(
            CheckpointError::RootMismatch { .. }
        )))
    ));
    assert!(matches!(
        run("invalid-checkpoint-signature_fail"),
        Err(VerifyError::Tlog(TlogError::Checkpoint(
            CheckpointError::BadSignature { .. }
        )))
    ));
    assert!(matches!(
        run("inclusion-proof-corrupted-hash_fail"),
        Err(VerifyError::Tlog(TlogError::InclusionProof(
            MerkleError::RootMismatch { .. }
        )))
    ));
    // A v0.2 bundle whose proof lacks the checkpoint that v0.2 requires.
    assert!(matches!(
        run("invalid-inclusion-proof_fail"),
        Err(VerifyError::Bundle(BundleError::Missing(_)))
    ));
    assert!(matches!(
        run("set-invalid-signature_fail"),
        Err(VerifyError::Tlog(TlogError::InvalidPromise { .. }))
    ));
    assert!(matches!(
        run("bundle-from-wrong-instance_fail"),
        Err(VerifyError::Tlog(TlogError::UnknownLog { .. }))
    ));
}

#[test]
fn certificate_failures() {
    assert!(matches!(
        run("integrated-time-in-future_fail"),
        Err(VerifyError::Certificate(CertError::NotValidAt { .. }))
    ));
    assert!(matches!(
        run("bundle-with-root-cert_fail"),
        Err(VerifyError::BundleContainsRoot { .. })
    ));
    assert!(matches!(
        run("invalid-ct-key_fail"),
        Err(VerifyError::Sct(SctError::UnknownLog { .. }))
    ));
}

#[test]
fn body_and_signature_failures() {
    assert!(matches!(
        run("wrong-hashedrekord-artifact_fail"),
        Err(VerifyError::Body(BodyError::DigestMismatch { .. }))
    ));
    assert!(matches!(
        run("wrong-hashedrekord-cert-and-sig_fail"),
        Err(VerifyError::Body(_))
    ));
    assert!(matches!(
        run("wrong-hashedrekord-entry_fail"),
        Err(VerifyError::Body(_))
    ));
    // The altered body no longer matches the log's signed entry timestamp.
    assert!(matches!(
        run("incorrect-public-key_fail"),
        Err(VerifyError::Tlog(TlogError::InvalidPromise { .. }))
    ));
    // A swapped signature no longer matches the logged one (checked before the signature).
    assert!(matches!(
        run("signature-mismatch_fail"),
        Err(VerifyError::Body(BodyError::SignatureMismatch))
    ));
    assert!(matches!(
        run("wrong-material_fail"),
        Err(VerifyError::Body(BodyError::DigestMismatch { .. }))
    ));
    assert!(matches!(
        run("message-digest-mismatch_fail"),
        Err(VerifyError::MessageDigestMismatch { .. })
    ));
}

#[test]
fn malformed_and_unsupported_bundles() {
    assert!(matches!(
        run("bundle-malformed-json_fail"),
        Err(VerifyError::Bundle(BundleError::Json(_)))
    ));
    assert!(matches!(
        run("bundle-unknown-version_fail"),
        Err(VerifyError::Bundle(BundleError::UnknownMediaType(_)))
    ));
    assert!(matches!(
        run("bundle-invalid-base64-signature_fail"),
        Err(VerifyError::Bundle(BundleError::Base64(_)))
    ));
    assert!(matches!(
        run("bundle-negative-log-index_fail"),
        Err(VerifyError::Bundle(BundleError::Invalid(_)))
    ));
    assert!(matches!(
        run("bundle-empty-certificate-chain_fail"),
        Err(VerifyError::Bundle(BundleError::Missing(_)))
    ));
}

#[test]
fn newer_shapes_verify() {
    for case in [
        "happy-path-intoto-in-dsse-v3",
        "intoto-with-custom-trust-root",
        "managed-key-happy-path",
        "managed-key-and-trusted-root",
        "rekor2-happy-path",
        "rekor2-dsse-happy-path",
        "rekor2-timestamp-with-embedded-cert",
        "rekor2-timestamp-without-embedded-cert",
        "rekor2-timestamp-with-expired-cert-chain",
        "rekor2-checkpoint-cosigned",
        "rekor2-checkpoint-multiple-cosigs",
        "rekor2-checkpoint-origin-not-first",
        "rekor2-checkpoint-two-sigs-cosigned",
        "rekor2-checkpoint-two-sigs-from-origin",
        "trust-root-tsa-validity-end-inclusive",
        "bundle-with-sct-with-extensions",
    ] {
        run(case).unwrap_or_else(|e| panic!("{case}: {e}"));
    }
    let v = run("managed-key-happy-path").unwrap();
    assert!(
        v.identity.starts_with("public key sha256:"),
        "{}",
        v.identity
    );
    assert!(v.issuer.is_empty());
    let v = run("rekor2-happy-path").unwrap();
    assert!(
        v.times
            .iter()
            .all(|(_, source)| matches!(source, TimeSource::Tsa { .. })),
        "a Rekor v2 entry gives no verified time of its own: {:?}",
        v.times
    );
}

#[test]
fn time_and_key_failures() {
    assert!(matches!(
        run("rekor2-no-timestamp_fail"),
        Err(VerifyError::NoVerifiedTime)
    ));
    assert!(matches!(
        run("rekor2-timestamp-payload-mismatch_fail"),
        Err(VerifyError::Timestamp(_))
    ));
    // Its key.pub is not even valid base64: refused before the bundle is looked at.
    assert!(matches!(
        run("managed-key-wrong-key_fail"),
        Err(VerifyError::Key(_))
    ));
    assert!(matches!(
        run("managed-key-no-key_fail"),
        Err(VerifyError::KeyNotIdentity)
    ));
    assert!(matches!(
        run("dsse-invalid-sig_fail"),
        Err(VerifyError::Signature(_) | VerifyError::Body(_))
    ));
}

#[test]
fn every_fail_case_fails() {
    let mut count = 0;
    for entry in std::fs::read_dir(CASES).expect("conformance cases beside the checkout") {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with("_fail") {
            continue;
        }
        let root_ok = read(&format!("{CASES}/{name}/trusted_root.json"))
            .is_none_or(|r| TrustedRoot::from_json(&r).is_ok());
        if root_ok {
            assert!(run(&name).is_err(), "{name} verified");
        }
        count += 1;
    }
    assert!(count >= 40, "only {count} fail cases found");
}
