//! The offline verification pipeline for a bundle, in the order trust is established:
//! log evidence → verified time → certificate chain at that time (+ SCT) → entry body matches the
//! bundle → signature over the artifact → identity policy. Each step has its own error variant.

use super::bundle::{Bundle, BundleError, BundleVersion};
use super::keys::{KeyError, sha256};
use super::rekor::{self, BodyError, ProofPolicy, TlogError};
use super::sct::{self, SctError};
use super::time::UnixTime;
use super::trust_root::TrustedRoot;
use super::x509::{self, CertError, Leaf};

/// What was signed: the artifact bytes, or its SHA-256 digest when only that is known.
#[derive(Debug, Clone, Copy)]
pub enum Artifact<'a> {
    Bytes(&'a [u8]),
    Sha256(&'a [u8; 32]),
}

impl Artifact<'_> {
    pub fn sha256(&self) -> [u8; 32] {
        match self {
            Self::Bytes(b) => sha256(b),
            Self::Sha256(d) => **d,
        }
    }
}

/// Who must have signed: exact SAN and exact OIDC issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityPolicy {
    pub identity: String,
    pub issuer: String,
}

/// What a successful verification establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub identity: String,
    pub issuer: String,
    pub signed_at: UnixTime,
    pub log_index: i64,
    pub log_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("transparency log entry: {0}")]
    Tlog(#[from] TlogError),
    #[error("signing certificate: {0}")]
    Certificate(#[from] CertError),
    #[error(
        "bundle certificate chain includes a root certificate ({subject}); roots come only from the trusted root"
    )]
    BundleContainsRoot { subject: String },
    #[error("certificate transparency: {0}")]
    Sct(#[from] SctError),
    #[error("log entry does not match the bundle: {0}")]
    Body(#[from] BodyError),
    #[error("bundle message digest {bundle} differs from the artifact digest {artifact}")]
    MessageDigestMismatch { bundle: String, artifact: String },
    #[error("signature over the artifact is invalid: {0}")]
    Signature(KeyError),
    #[error("certificate identity is {presented:?}, expected {expected:?}")]
    IdentityMismatch { expected: String, presented: String },
    #[error("certificate OIDC issuer is {presented:?}, expected {expected:?}")]
    IssuerMismatch {
        expected: String,
        presented: Option<String>,
    },
}

/// Parse and verify a bundle; see the module docs for the order of checks.
pub fn verify_bundle_bytes(
    bundle_json: &[u8],
    artifact: Artifact<'_>,
    root: &TrustedRoot,
    policy: &IdentityPolicy,
) -> Result<Verified, VerifyError> {
    let bundle = Bundle::parse(bundle_json)?;
    verify_bundle(&bundle, artifact, root, policy)
}

pub fn verify_bundle(
    bundle: &Bundle,
    artifact: Artifact<'_>,
    root: &TrustedRoot,
    policy: &IdentityPolicy,
) -> Result<Verified, VerifyError> {
    // 1. Log evidence: SET, inclusion proof, checkpoint, log key validity.
    let proof_policy = if bundle.version >= BundleVersion::V02 {
        ProofPolicy::RequireCheckpoint
    } else {
        ProofPolicy::VerifyIfPresent
    };
    let entry = rekor::verify_entry(&bundle.tlog, root, proof_policy)?;

    // 2. The integrated time is the only verified time.
    let at = entry.integrated_time;

    // 3. Certificate chain to a trusted CA, valid at that time; then the embedded SCT.
    for extra in &bundle.extra_certs {
        if x509::is_self_signed(extra) {
            let subject = <x509_cert::Certificate as der::Decode>::from_der(extra)
                .map(|c| c.tbs_certificate().subject().to_string())
                .unwrap_or_default();
            return Err(VerifyError::BundleContainsRoot { subject });
        }
    }
    let leaf = Leaf::from_der(&bundle.leaf_der)?;
    let issuer = x509::verify_chain(&leaf, root, at)?;
    sct::verify_embedded_sct(&leaf, issuer, root)?;

    // 4. The log entry must describe exactly this digest, signature and certificate.
    let digest = artifact.sha256();
    rekor::check_body(&bundle.tlog.body, &digest, &bundle.signature, &leaf.der)?;
    if let Some(hint) = bundle.message_digest
        && hint != digest
    {
        return Err(VerifyError::MessageDigestMismatch {
            bundle: hex::encode(hint),
            artifact: hex::encode(digest),
        });
    }

    // 5. The signature over the artifact.
    leaf.public_key
        .verify_prehash(&digest, &bundle.signature)
        .map_err(VerifyError::Signature)?;

    // 6. Identity policy.
    check_identity(&leaf, policy)?;
    Ok(Verified {
        identity: leaf.identity,
        issuer: leaf.oidc_issuer.unwrap_or_default(),
        signed_at: at,
        log_index: entry.log_index,
        log_url: entry.log_url,
    })
}

/// Exact match of the SAN and of the OIDC issuer extension.
pub fn check_identity(leaf: &Leaf, policy: &IdentityPolicy) -> Result<(), VerifyError> {
    if leaf.identity != policy.identity {
        return Err(VerifyError::IdentityMismatch {
            expected: policy.identity.clone(),
            presented: leaf.identity.clone(),
        });
    }
    if leaf.oidc_issuer.as_deref() != Some(policy.issuer.as_str()) {
        return Err(VerifyError::IssuerMismatch {
            expected: policy.issuer.clone(),
            presented: leaf.oidc_issuer.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod world_tests {
    //! The pipeline against a locally generated Sigstore instance, with targeted tampering.
    use super::*;
    use crate::core::checkpoint::CheckpointError;
    use crate::core::testworld::*;

    const ARTIFACT: &[u8] = b"hello, signet\n";

    fn policy() -> IdentityPolicy {
        IdentityPolicy {
            identity: EMAIL.into(),
            issuer: ISSUER.into(),
        }
    }

    fn verify_json(
        w: &World,
        json: &serde_json::Value,
        artifact: &[u8],
    ) -> Result<Verified, VerifyError> {
        verify_bundle_bytes(
            &serde_json::to_vec(json).unwrap(),
            Artifact::Bytes(artifact),
            &w.trusted_root(),
            &policy(),
        )
    }

    #[test]
    fn round_trip_verifies_by_bytes_and_digest() {
        let w = World::new();
        let s = w.sign(ARTIFACT, T0 + 30, None);
        let json = w.bundle_json(&s);
        let v = verify_json(&w, &json, ARTIFACT).unwrap();
        assert_eq!(v.signed_at, UnixTime(T0 + 30));
        assert_eq!(v.identity, EMAIL);
        let bytes = serde_json::to_vec(&json).unwrap();
        verify_bundle_bytes(
            &bytes,
            Artifact::Sha256(&sha256(ARTIFACT)),
            &w.trusted_root(),
            &policy(),
        )
        .unwrap();
        assert_eq!(
            json["mediaType"],
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );
        assert_eq!(
            json["verificationMaterial"]["tlogEntries"][0]["logIndex"],
            "1004"
        );
        assert_eq!(
            json["verificationMaterial"]["tlogEntries"][0]["integratedTime"],
            (T0 + 30).to_string()
        );
    }

    #[test]
    fn other_artifact_fails_on_the_logged_digest() {
        let w = World::new();
        let json = w.bundle_json(&w.sign(ARTIFACT, T0 + 30, None));
        assert!(matches!(
            verify_json(&w, &json, b"hello, signet!\n"),
            Err(VerifyError::Body(BodyError::DigestMismatch { .. }))
        ));
    }

    #[test]
    fn logged_but_invalid_signature_fails_at_the_signature_step() {
        let w = World::new();
        let bogus = crate::core::keys::test_keys::sign_der(
            &crate::core::keys::test_keys::p256_key(),
            ARTIFACT,
        );
        let json = w.bundle_json(&w.sign(ARTIFACT, T0 + 30, Some(bogus)));
        assert!(matches!(
            verify_json(&w, &json, ARTIFACT),
            Err(VerifyError::Signature(_))
        ));
    }

    #[test]
    fn integrated_time_after_certificate_expiry() {
        let w = World::new();
        let json = w.bundle_json(&w.sign(ARTIFACT, T0 + 601, None));
        assert!(matches!(
            verify_json(&w, &json, ARTIFACT),
            Err(VerifyError::Certificate(CertError::NotValidAt { .. }))
        ));
    }

    #[test]
    fn tampered_evidence_is_caught_in_the_log_step() {
        let w = World::new();
        let json = w.bundle_json(&w.sign(ARTIFACT, T0 + 30, None));
        fn entry(j: &mut serde_json::Value) -> &mut serde_json::Value {
            &mut j["verificationMaterial"]["tlogEntries"][0]
        }

        let mut j = json.clone();
        entry(&mut j)["integratedTime"] = (T0 + 31).to_string().into();
        assert!(matches!(
            verify_json(&w, &j, ARTIFACT),
            Err(VerifyError::Tlog(TlogError::InvalidPromise { .. }))
        ));

        let mut j = json.clone();
        entry(&mut j)["inclusionProof"]["hashes"][0] =
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
        assert!(matches!(
            verify_json(&w, &j, ARTIFACT),
            Err(VerifyError::Tlog(TlogError::InclusionProof(_)))
        ));

        let mut j = json.clone();
        let note = entry(&mut j)["inclusionProof"]["checkpoint"]["envelope"]
            .as_str()
            .unwrap()
            .replacen("\n5\n", "\n6\n", 1);
        entry(&mut j)["inclusionProof"]["checkpoint"]["envelope"] = note.into();
        assert!(matches!(
            verify_json(&w, &j, ARTIFACT),
            Err(VerifyError::Tlog(TlogError::Checkpoint(
                CheckpointError::BadSignature { .. }
            )))
        ));

        let mut j = json.clone();
        entry(&mut j)["kindVersion"]["version"] = "0.0.3".into();
        assert!(matches!(
            verify_json(&w, &j, ARTIFACT),
            Err(VerifyError::Bundle(BundleError::Unsupported(_)))
        ));

        let mut j = json;
        entry(&mut j)["logId"]["keyId"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
        assert!(matches!(
            verify_json(&w, &j, ARTIFACT),
            Err(VerifyError::Tlog(TlogError::UnknownLog { .. }))
        ));
    }

    #[test]
    fn log_key_must_be_valid_at_integrated_time() {
        let w = World::new();
        let json = w.bundle_json(&w.sign(ARTIFACT, T0 + 30, None));
        let mut root = w.trusted_root_json();
        root["tlogs"][0]["publicKey"]["validFor"]["end"] = "2023-12-31T00:00:00Z".into();
        let root = TrustedRoot::from_json(&serde_json::to_vec(&root).unwrap()).unwrap();
        assert!(matches!(
            verify_bundle_bytes(
                &serde_json::to_vec(&json).unwrap(),
                Artifact::Bytes(ARTIFACT),
                &root,
                &policy()
            ),
            Err(VerifyError::Tlog(TlogError::LogKeyNotValidAt { .. }))
        ));
    }

    #[test]
    fn strict_bundle_shapes() {
        let w = World::new();
        let json = w.bundle_json(&w.sign(ARTIFACT, T0 + 30, None));

        // proto3 JSON int64 as numbers is accepted.
        let mut j = json.clone();
        let e = &mut j["verificationMaterial"]["tlogEntries"][0];
        e["logIndex"] = 1004.into();
        e["integratedTime"] = (T0 + 30).into();
        verify_json(&w, &j, ARTIFACT).unwrap();

        let mut j = json.clone();
        j["verificationMaterial"]["surprise"] = true.into();
        assert!(matches!(
            verify_json(&w, &j, ARTIFACT),
            Err(VerifyError::Bundle(BundleError::Json(_)))
        ));

        let mut j = json.clone();
        let entry = j["verificationMaterial"]["tlogEntries"][0].clone();
        j["verificationMaterial"]["tlogEntries"] = serde_json::json!([entry.clone(), entry]);
        assert!(matches!(
            verify_json(&w, &j, ARTIFACT),
            Err(VerifyError::Bundle(BundleError::Unsupported(_)))
        ));

        let mut j = json.clone();
        j["verificationMaterial"]["timestampVerificationData"] =
            serde_json::json!({"rfc3161Timestamps": [{"signedTimestamp": "AA=="}]});
        assert!(matches!(
            verify_json(&w, &j, ARTIFACT),
            Err(VerifyError::Bundle(BundleError::Unsupported(_)))
        ));

        let mut j = json.clone();
        let cert = j["verificationMaterial"]["certificate"].take();
        j["verificationMaterial"]
            .as_object_mut()
            .unwrap()
            .remove("certificate");
        j["verificationMaterial"]["x509CertificateChain"] =
            serde_json::json!({"certificates": [cert]});
        assert!(matches!(
            verify_json(&w, &j, ARTIFACT),
            Err(VerifyError::Bundle(BundleError::Invalid(_)))
        ));

        let mut j = json.clone();
        j["verificationMaterial"]["tlogEntries"][0]
            .as_object_mut()
            .unwrap()
            .remove("inclusionPromise");
        assert!(matches!(
            verify_json(&w, &j, ARTIFACT),
            Err(VerifyError::Bundle(BundleError::Missing(_)))
        ));

        let mut j = json.clone();
        j["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
            .as_object_mut()
            .unwrap()
            .remove("checkpoint");
        assert!(matches!(
            verify_json(&w, &j, ARTIFACT),
            Err(VerifyError::Bundle(BundleError::Missing(_)))
        ));

        let mut j = json.clone();
        j["messageSignature"]["messageDigest"]["algorithm"] = "SHA2_384".into();
        assert!(matches!(
            verify_json(&w, &j, ARTIFACT),
            Err(VerifyError::Bundle(BundleError::Unsupported(_)))
        ));

        let mut j = json;
        j["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.4+json".into();
        assert!(matches!(
            verify_json(&w, &j, ARTIFACT),
            Err(VerifyError::Bundle(BundleError::UnknownMediaType(_)))
        ));
        assert!(matches!(
            verify_bundle_bytes(
                &vec![b' '; super::super::bundle::MAX_BUNDLE_BYTES + 1],
                Artifact::Bytes(ARTIFACT),
                &w.trusted_root(),
                &policy()
            ),
            Err(VerifyError::Bundle(BundleError::TooLarge))
        ));
    }
}
