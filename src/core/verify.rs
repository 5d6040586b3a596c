//! The offline verification pipeline for a bundle, in the order trust is established:
//! log evidence (every entry) and RFC 3161 timestamps → the verified times → the signer's key
//! (certificate chain valid at every verified time, SCT; or the managed key the caller gives) →
//! every entry body matches the bundle → the signature (over the artifact digest, or over a DSSE
//! envelope whose in-toto subject names the artifact) → identity policy. Each step has its own
//! error variant.

use super::bundle::{Bundle, BundleError, BundleVersion, Content, Material};
use super::dsse::{self, DsseError};
use super::keys::{HashAlg, KeyError, PublicKey, sha256};
use super::rekor::{self, BodyError, EntryContent, EntryVerifier, ProofPolicy, TlogError};
use super::sct::{self, SctError};
use super::time::UnixTime;
use super::trust_root::TrustedRoot;
use super::tsp::{self, TimestampError};
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

/// Who must have signed a bundle: a keyless identity, or the holder of a managed key.
#[derive(Debug, Clone, Copy)]
pub enum Signer<'a> {
    Identity(&'a IdentityPolicy),
    /// A managed key, as DER SubjectPublicKeyInfo.
    Key(&'a [u8]),
}

/// Where a verified time comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeSource {
    /// A Rekor v1 entry's integrated time, under its signed entry timestamp.
    Log { log_url: String },
    /// An RFC 3161 timestamp.
    Tsa { tsa: String },
}

/// What a successful verification establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The certificate's SAN, or `public key sha256:<hex of the SPKI>` for a managed key.
    pub identity: String,
    /// The OIDC issuer; empty for a managed key.
    pub issuer: String,
    /// The earliest verified time.
    pub signed_at: UnixTime,
    pub log_index: i64,
    pub log_url: String,
    /// Every verified time and its source.
    pub times: Vec<(UnixTime, TimeSource)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("transparency log entry: {0}")]
    Tlog(#[from] TlogError),
    #[error("RFC 3161 timestamp: {0}")]
    Timestamp(#[from] TimestampError),
    #[error(
        "no verified time: the bundle has neither a log entry with a signed entry timestamp nor an RFC 3161 timestamp"
    )]
    NoVerifiedTime,
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
    #[error("DSSE envelope: {0}")]
    Dsse(#[from] DsseError),
    #[error("the managed key cannot be used: {0}")]
    Key(KeyError),
    #[error("bundle is signed with a managed key; a certificate identity cannot be checked")]
    KeyNotIdentity,
    #[error("bundle is signed with a certificate, not with a managed key")]
    IdentityNotKey,
    #[error("certificate identity is {presented:?}, expected {expected:?}")]
    IdentityMismatch { expected: String, presented: String },
    #[error("certificate OIDC issuer is {presented:?}, expected {expected:?}")]
    IssuerMismatch {
        expected: String,
        presented: Option<String>,
    },
}

/// Parse and verify a keyless bundle; see the module docs for the order of checks.
pub fn verify_bundle_bytes(
    bundle_json: &[u8],
    artifact: Artifact<'_>,
    root: &TrustedRoot,
    policy: &IdentityPolicy,
) -> Result<Verified, VerifyError> {
    let bundle = Bundle::parse(bundle_json)?;
    verify_bundle(&bundle, artifact, root, Signer::Identity(policy))
}

/// The signature check for the signer's key: P-384 keys sign with SHA-384, others SHA-256.
fn key_hash(key: &PublicKey) -> HashAlg {
    match key {
        PublicKey::P384(_) => HashAlg::Sha384,
        _ => HashAlg::Sha256,
    }
}

pub fn verify_bundle(
    bundle: &Bundle,
    artifact: Artifact<'_>,
    root: &TrustedRoot,
    signer: Signer<'_>,
) -> Result<Verified, VerifyError> {
    if let Content::Dsse(env) = &bundle.content
        && env.signatures.len() != 1
    {
        return Err(VerifyError::Bundle(BundleError::Invalid(format!(
            "dsseEnvelope has {} signatures; exactly one is supported",
            env.signatures.len()
        ))));
    }

    // 1. Log evidence for every entry; a Rekor v1 SET makes its integrated time a verified time.
    let proof_policy = if bundle.version >= BundleVersion::V02 {
        ProofPolicy::RequireCheckpoint
    } else {
        ProofPolicy::VerifyIfPresent
    };
    let mut times = Vec::new();
    let mut evidence = Vec::new();
    for entry in &bundle.tlog_entries {
        let e = rekor::verify_log_entry(entry, root, proof_policy)?;
        if let Some(t) = e.integrated_time {
            times.push((
                t,
                TimeSource::Log {
                    log_url: e.log_url.clone(),
                },
            ));
        }
        evidence.push(e);
    }

    // 2. RFC 3161 timestamps over the signature, from the trusted root's authorities. What
    // must hold at a verified time is checked at each one, and at both ends of the second a
    // fractional timestamp lies in.
    let mut check_at = Vec::new();
    for token in &bundle.timestamps {
        let ts = tsp::verify_timestamp(token, bundle.content.signature(), root)?;
        if ts.latest != ts.time {
            check_at.push(ts.latest);
        }
        times.push((ts.time, TimeSource::Tsa { tsa: ts.tsa }));
    }
    check_at.extend(times.iter().map(|(t, _)| *t));
    let signed_at = times
        .iter()
        .map(|(t, _)| *t)
        .min()
        .ok_or(VerifyError::NoVerifiedTime)?;
    // A Rekor v2 log key has no integrated time to be checked at: it must be valid at every
    // verified time.
    for e in &evidence {
        for t in &check_at {
            rekor::check_log_valid_at(e, *t)?;
        }
    }

    // 3. The signer's key: a certificate chain valid at every verified time (and its SCT), or
    // the managed key the caller trusts.
    let (key, verifier_der, leaf) = match (&bundle.material, signer) {
        (
            Material::Certificate {
                leaf_der,
                extra_certs,
            },
            Signer::Identity(_),
        ) => {
            for extra in extra_certs {
                if x509::is_self_signed(extra) {
                    let subject = <x509_cert::Certificate as der::Decode>::from_der(extra)
                        .map(|c| c.tbs_certificate().subject().to_string())
                        .unwrap_or_default();
                    return Err(VerifyError::BundleContainsRoot { subject });
                }
            }
            let leaf = Leaf::from_der(leaf_der)?;
            let mut issuer = None;
            for t in &check_at {
                issuer = Some(x509::verify_chain(&leaf, root, *t)?);
            }
            if let Some(issuer) = issuer {
                sct::verify_embedded_sct(&leaf, issuer, root)?;
            }
            (leaf.public_key.clone(), leaf.der.clone(), Some(leaf))
        }
        (Material::PublicKey { .. }, Signer::Key(spki)) => {
            let key = PublicKey::from_spki_der(spki).map_err(VerifyError::Key)?;
            (key, spki.to_vec(), None)
        }
        (Material::PublicKey { .. }, Signer::Identity(_)) => {
            return Err(VerifyError::KeyNotIdentity);
        }
        (Material::Certificate { .. }, Signer::Key(_)) => return Err(VerifyError::IdentityNotKey),
    };
    let verifier = match &leaf {
        Some(_) => EntryVerifier::Certificate(&verifier_der),
        None => EntryVerifier::PublicKey(&verifier_der),
    };

    // 4. Every log entry must describe exactly this content and key.
    let digest = artifact.sha256();
    let content = match &bundle.content {
        Content::Message { signature, .. } => EntryContent::Message {
            digest: &digest,
            signature,
        },
        Content::Dsse(env) => EntryContent::Dsse(env),
    };
    for entry in &bundle.tlog_entries {
        rekor::check_entry_body(entry, content, verifier)?;
    }

    // 5. The signature: over the artifact digest, or over the envelope, whose in-toto statement
    // must then name the artifact.
    match &bundle.content {
        Content::Message {
            signature,
            digest: hint,
        } => {
            if let Some(hint) = hint
                && *hint != digest
            {
                return Err(VerifyError::MessageDigestMismatch {
                    bundle: hex::encode(hint),
                    artifact: hex::encode(digest),
                });
            }
            key.verify_prehash(&digest, signature)
                .map_err(VerifyError::Signature)?;
        }
        Content::Dsse(env) => {
            let [sig] = env.signatures.as_slice() else {
                return Err(VerifyError::Bundle(BundleError::Invalid(format!(
                    "dsseEnvelope has {} signatures; exactly one is supported",
                    env.signatures.len()
                ))));
            };
            let pae = dsse::pae(&env.payload_type, &env.payload);
            key.verify(key_hash(&key), &pae, &sig.sig)
                .map_err(VerifyError::Signature)?;
            dsse::check_in_toto_subject(env, &digest)?;
        }
    }

    // 6. Identity policy (keyless only).
    let (identity, issuer) = match (leaf, signer) {
        (Some(leaf), Signer::Identity(policy)) => {
            check_identity(&leaf, policy)?;
            (leaf.identity, leaf.oidc_issuer.unwrap_or_default())
        }
        _ => (
            format!("public key sha256:{}", hex::encode(sha256(&verifier_der))),
            String::new(),
        ),
    };
    let first = evidence.first();
    Ok(Verified {
        identity,
        issuer,
        signed_at,
        log_index: first.map_or(0, |e| e.log_index),
        log_url: first.map(|e| e.log_url.clone()).unwrap_or_default(),
        times,
    })
}

/// Largest PEM public key accepted.
pub const MAX_KEY_PEM_BYTES: usize = 64 * 1024;

/// The DER SubjectPublicKeyInfo of a PEM `PUBLIC KEY` (one block; surrounding whitespace and CRLF
/// line ends are accepted), checked to be a key signet can verify with.
pub fn spki_from_pem(pem: &[u8]) -> Result<Vec<u8>, KeyError> {
    use base64::Engine;
    let malformed = |why: &str| KeyError::Malformed(format!("PEM public key: {why}"));
    if pem.len() > MAX_KEY_PEM_BYTES {
        return Err(malformed("too large"));
    }
    let text = std::str::from_utf8(pem).map_err(|_| malformed("not text"))?;
    let mut lines = text.trim().lines().map(str::trim);
    if lines.next() != Some("-----BEGIN PUBLIC KEY-----") {
        return Err(malformed("does not start with -----BEGIN PUBLIC KEY-----"));
    }
    let mut body = String::new();
    let mut ended = false;
    for line in lines.by_ref() {
        if line == "-----END PUBLIC KEY-----" {
            ended = true;
            break;
        }
        body.push_str(line);
    }
    if !ended || lines.next().is_some() {
        return Err(malformed(
            "expected one block ending with -----END PUBLIC KEY-----",
        ));
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| malformed("invalid base64"))?;
    PublicKey::from_spki_der(&der)?;
    Ok(der)
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
        j["verificationMaterial"]["tlogEntries"] =
            serde_json::json!([entry.clone(), entry.clone()]);
        // The same entry twice is refused (it would count twice).
        assert!(matches!(
            verify_json(&w, &j, ARTIFACT),
            Err(VerifyError::Bundle(BundleError::Invalid(_)))
        ));
        // Several entries are allowed, and every one is verified.
        let mut bad = entry.clone();
        bad["logIndex"] = "1005".into();
        bad["integratedTime"] = (T0 + 31).to_string().into();
        j["verificationMaterial"]["tlogEntries"] = serde_json::json!([entry.clone(), bad]);
        assert!(matches!(
            verify_json(&w, &j, ARTIFACT),
            Err(VerifyError::Tlog(TlogError::InvalidPromise { .. }))
        ));
        j["verificationMaterial"]["tlogEntries"] = serde_json::json!(vec![entry; 9]);
        assert!(matches!(
            verify_json(&w, &j, ARTIFACT),
            Err(VerifyError::Bundle(BundleError::Invalid(_)))
        ));

        let mut j = json.clone();
        j["verificationMaterial"]["timestampVerificationData"] =
            serde_json::json!({"rfc3161Timestamps": [{"signedTimestamp": "AA=="}]});
        assert!(matches!(
            verify_json(&w, &j, ARTIFACT),
            Err(VerifyError::Timestamp(_))
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
        // A Rekor v1 entry must carry its SET, in every bundle version.
        assert!(matches!(
            verify_json(&w, &j, ARTIFACT),
            Err(VerifyError::Tlog(TlogError::MissingPromise))
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
