//! Rekor v1 evidence: the hashedrekord v0.0.1 entry body, the signed entry timestamp (SET) payload,
//! and verification of a log entry (SET, inclusion proof, checkpoint, log key validity) against
//! the trusted root. Used both for bundles and for fresh responses while signing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use der::DecodePem;
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;

use super::checkpoint::{Checkpoint, CheckpointError};
use super::keys::{HashAlg, KeyError};
use super::merkle::{self, Hash, MerkleError};
use super::time::{UnixTime, ValidFor};
use super::trust_root::TrustedRoot;

pub const HASHEDREKORD: &str = "hashedrekord";
pub const HASHEDREKORD_VERSION: &str = "0.0.1";

/// The hashedrekord v0.0.1 entry, as sent to Rekor and as found in the canonicalized body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HashedRekord {
    pub api_version: String,
    pub kind: String,
    pub spec: HashedRekordSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashedRekordSpec {
    pub data: HashedRekordData,
    pub signature: HashedRekordSignature,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashedRekordData {
    pub hash: HashedRekordHash,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashedRekordHash {
    pub algorithm: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HashedRekordSignature {
    pub content: String,
    pub public_key: HashedRekordKey,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashedRekordKey {
    pub content: String,
}

impl HashedRekord {
    /// The entry for a SHA-256 artifact digest, a DER signature and a PEM leaf certificate.
    pub fn new(digest: &[u8; 32], signature: &[u8], cert_pem: &str) -> Self {
        Self {
            api_version: HASHEDREKORD_VERSION.into(),
            kind: HASHEDREKORD.into(),
            spec: HashedRekordSpec {
                data: HashedRekordData {
                    hash: HashedRekordHash {
                        algorithm: "sha256".into(),
                        value: hex::encode(digest),
                    },
                },
                signature: HashedRekordSignature {
                    content: B64.encode(signature),
                    public_key: HashedRekordKey {
                        content: B64.encode(cert_pem),
                    },
                },
            },
        }
    }
}

/// Why a log entry body does not describe the signature being verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("log entry body is not a hashedrekord v0.0.1 entry: {0}")]
    Malformed(String),
    #[error("log entry is {kind} {version}; only hashedrekord 0.0.1 is supported")]
    UnsupportedKind { kind: String, version: String },
    #[error("log entry records digest {logged}, the artifact's is {actual}")]
    DigestMismatch { logged: String, actual: String },
    #[error("log entry records a different signature than the bundle")]
    SignatureMismatch,
    #[error("log entry records a different certificate than the bundle")]
    CertificateMismatch,
}

/// Check that a hashedrekord body records exactly this digest, signature and leaf certificate.
pub fn check_body(
    body: &[u8],
    digest: &[u8; 32],
    signature: &[u8],
    leaf_der: &[u8],
) -> Result<(), BodyError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| BodyError::Malformed(e.to_string()))?;
    let kind = value
        .get("kind")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let version = value
        .get("apiVersion")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    if kind != HASHEDREKORD || version != HASHEDREKORD_VERSION {
        return Err(BodyError::UnsupportedKind {
            kind: kind.into(),
            version: version.into(),
        });
    }
    let entry: HashedRekord =
        serde_json::from_value(value).map_err(|e| BodyError::Malformed(e.to_string()))?;
    let hash = &entry.spec.data.hash;
    if hash.algorithm != "sha256" || hash.value != hex::encode(digest) {
        return Err(BodyError::DigestMismatch {
            logged: format!("{}:{}", hash.algorithm, hash.value),
            actual: format!("sha256:{}", hex::encode(digest)),
        });
    }
    let logged_sig = B64
        .decode(&entry.spec.signature.content)
        .map_err(|_| BodyError::Malformed("signature is not base64".into()))?;
    if logged_sig != signature {
        return Err(BodyError::SignatureMismatch);
    }
    let pem = B64
        .decode(&entry.spec.signature.public_key.content)
        .map_err(|_| BodyError::Malformed("public key is not base64".into()))?;
    let pem_text = std::str::from_utf8(&pem)
        .map_err(|_| BodyError::Malformed("public key is not PEM text".into()))?;
    if pem_text.matches("-----BEGIN ").count() != 1 {
        return Err(BodyError::CertificateMismatch);
    }
    let logged = Certificate::from_pem(pem_text).map_err(|_| BodyError::CertificateMismatch)?;
    let logged_der = der::Encode::to_der(&logged).map_err(|_| BodyError::CertificateMismatch)?;
    if logged_der != leaf_der {
        return Err(BodyError::CertificateMismatch);
    }
    Ok(())
}

/// An inclusion proof as carried by a bundle or a Rekor response (hashes already decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub log_index: i64,
    pub tree_size: i64,
    pub root_hash: Vec<u8>,
    pub hashes: Vec<Vec<u8>>,
    pub checkpoint: Option<String>,
}

/// A Rekor v1 log entry with its evidence, decoded from either a bundle or a Rekor response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogEntry {
    pub log_index: i64,
    pub log_id: Vec<u8>,
    pub kind: String,
    pub version: String,
    pub integrated_time: i64,
    pub signed_entry_timestamp: Option<Vec<u8>>,
    pub inclusion_proof: Option<InclusionProof>,
    pub body: Vec<u8>,
}

/// What evidence a caller insists on beyond the SET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofPolicy {
    /// Inclusion proof with a signed checkpoint is required (bundle v0.2+, fresh responses).
    RequireCheckpoint,
    /// v0.1 bundles: a proof is verified when present, a checkpoint when present.
    VerifyIfPresent,
}

/// Why a log entry's evidence is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlogError {
    #[error("log entry is malformed: {0}")]
    Malformed(String),
    #[error("log entry comes from log {log_id}, which the trusted root does not list")]
    UnknownLog { log_id: String },
    #[error("the key of log {log} cannot be used: {source}")]
    UnusableLogKey { log: String, source: KeyError },
    #[error("kindVersion says {declared}, the entry body is {body}")]
    KindMismatch { declared: String, body: String },
    #[error("log entry has no signed entry timestamp (inclusion promise)")]
    MissingPromise,
    #[error("signed entry timestamp does not verify with the key of log {log}")]
    InvalidPromise { log: String },
    #[error("log entry has no inclusion proof")]
    MissingInclusionProof,
    #[error("inclusion proof has no checkpoint")]
    MissingCheckpoint,
    #[error("inclusion proof is invalid: {0}")]
    InclusionProof(#[from] MerkleError),
    #[error("checkpoint is invalid: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("log {log} key is valid for {valid_for}, not at the integrated time {at}")]
    LogKeyNotValidAt {
        log: String,
        at: UnixTime,
        valid_for: ValidFor,
    },
}

/// The facts a verified log entry establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEntry {
    pub integrated_time: UnixTime,
    pub log_index: i64,
    pub log_url: String,
}

/// RFC 8785 canonical JSON the SET signs: `{body, integratedTime, logID, logIndex}`.
pub fn set_payload(body: &[u8], integrated_time: i64, log_id: &[u8], log_index: i64) -> Vec<u8> {
    let value = serde_json::json!({
        "body": B64.encode(body),
        "integratedTime": integrated_time,
        "logID": hex::encode(log_id),
        "logIndex": log_index,
    });
    // Serialising a `Value` of strings and integers cannot fail.
    serde_json_canonicalizer::to_vec(&value).unwrap_or_default()
}

fn hash32(bytes: &[u8], what: &str) -> Result<Hash, TlogError> {
    bytes
        .try_into()
        .map_err(|_| TlogError::Malformed(format!("{what} is not a 32-byte SHA-256 hash")))
}

/// Verify a log entry's evidence against the trusted root: log known, SET, inclusion proof,
/// checkpoint (signed by the same log key, same root and size), log key valid at integrated time.
pub fn verify_entry(
    entry: &TlogEntry,
    root: &TrustedRoot,
    policy: ProofPolicy,
) -> Result<VerifiedEntry, TlogError> {
    if entry.log_index < 0 || entry.integrated_time < 0 {
        return Err(TlogError::Malformed(
            "negative log index or integrated time".into(),
        ));
    }
    let log = root
        .tlog(&entry.log_id, UnixTime(entry.integrated_time))
        .ok_or_else(|| TlogError::UnknownLog {
            log_id: hex::encode(&entry.log_id),
        })?;
    let key = log
        .public_key()
        .map_err(|source| TlogError::UnusableLogKey {
            log: log.base_url.clone(),
            source,
        })?;

    // The declared kind must be what the body says it is.
    let body: serde_json::Value = serde_json::from_slice(&entry.body)
        .map_err(|e| TlogError::Malformed(format!("canonicalized body is not JSON: {e}")))?;
    let body_kind = format!(
        "{} {}",
        body.get("kind").and_then(|v| v.as_str()).unwrap_or("?"),
        body.get("apiVersion")
            .and_then(|v| v.as_str())
            .unwrap_or("?")
    );
    let declared = format!("{} {}", entry.kind, entry.version);
    if body_kind != declared {
        return Err(TlogError::KindMismatch {
            declared,
            body: body_kind,
        });
    }

    // 1. The SET: the log's promise of inclusion at integratedTime.
    let set = entry
        .signed_entry_timestamp
        .as_deref()
        .ok_or(TlogError::MissingPromise)?;
    let payload = set_payload(
        &entry.body,
        entry.integrated_time,
        &entry.log_id,
        entry.log_index,
    );
    key.verify(HashAlg::Sha256, &payload, set)
        .map_err(|_| TlogError::InvalidPromise {
            log: log.base_url.clone(),
        })?;

    // 2. The inclusion proof and its checkpoint.
    match (&entry.inclusion_proof, policy) {
        (None, ProofPolicy::RequireCheckpoint) => return Err(TlogError::MissingInclusionProof),
        (None, ProofPolicy::VerifyIfPresent) => {}
        (Some(proof), _) => {
            let (Ok(index), Ok(size)) = (
                u64::try_from(proof.log_index),
                u64::try_from(proof.tree_size),
            ) else {
                return Err(TlogError::Malformed(
                    "negative inclusion proof index or size".into(),
                ));
            };
            let root_hash = hash32(&proof.root_hash, "inclusion proof root hash")?;
            let hashes = proof
                .hashes
                .iter()
                .map(|h| hash32(h, "inclusion proof hash"))
                .collect::<Result<Vec<_>, _>>()?;
            merkle::verify_inclusion(
                index,
                size,
                &merkle::leaf_hash(&entry.body),
                &hashes,
                &root_hash,
            )?;
            match (&proof.checkpoint, policy) {
                (None, ProofPolicy::RequireCheckpoint) => return Err(TlogError::MissingCheckpoint),
                (None, ProofPolicy::VerifyIfPresent) => {}
                (Some(note), _) => {
                    let cp = Checkpoint::parse(note)?;
                    let id = super::keys::sha256(&log.spki_der);
                    cp.verify_signature(&key, [id[0], id[1], id[2], id[3]])?;
                    cp.check_matches(size, &root_hash)?;
                }
            }
        }
    }

    // 3. The log key must have been valid when the log says it integrated the entry.
    let at = UnixTime(entry.integrated_time);
    if !log.valid_for.contains(at) {
        return Err(TlogError::LogKeyNotValidAt {
            log: log.base_url.clone(),
            at,
            valid_for: log.valid_for,
        });
    }
    Ok(VerifiedEntry {
        integrated_time: at,
        log_index: entry.log_index,
        log_url: log.base_url.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::checkpoint::tests::sign_note;
    use crate::core::keys::test_keys::p256_key;
    use crate::core::testworld::*;

    fn entry(w: &World) -> TlogEntry {
        w.sign(b"artifact", T0 + 30, None).entry
    }

    #[test]
    fn valid_entry_and_policies() {
        let w = World::new();
        let root = w.trusted_root();
        let e = entry(&w);
        let v = verify_entry(&e, &root, ProofPolicy::RequireCheckpoint).unwrap();
        assert_eq!(v.integrated_time, UnixTime(T0 + 30));
        assert_eq!(v.log_url, "http://rekor.test");

        let mut no_proof = e.clone();
        no_proof.inclusion_proof = None;
        verify_entry(&no_proof, &root, ProofPolicy::VerifyIfPresent).unwrap();
        assert_eq!(
            verify_entry(&no_proof, &root, ProofPolicy::RequireCheckpoint),
            Err(TlogError::MissingInclusionProof)
        );
        let mut no_cp = e.clone();
        no_cp.inclusion_proof.as_mut().unwrap().checkpoint = None;
        verify_entry(&no_cp, &root, ProofPolicy::VerifyIfPresent).unwrap();
        assert_eq!(
            verify_entry(&no_cp, &root, ProofPolicy::RequireCheckpoint),
            Err(TlogError::MissingCheckpoint)
        );
    }

    #[test]
    fn set_covers_every_field() {
        let w = World::new();
        let root = w.trusted_root();
        let e = entry(&w);
        let mut cases = vec![];
        let mut c = e.clone();
        c.log_index += 1;
        cases.push(c);
        let mut c = e.clone();
        c.integrated_time += 1;
        cases.push(c);
        let mut c = e.clone();
        c.signed_entry_timestamp.as_mut().unwrap()[10] ^= 1;
        cases.push(c);
        for c in cases {
            assert!(matches!(
                verify_entry(&c, &root, ProofPolicy::RequireCheckpoint),
                Err(TlogError::InvalidPromise { .. })
            ));
        }
        let mut c = e;
        c.signed_entry_timestamp = None;
        assert_eq!(
            verify_entry(&c, &root, ProofPolicy::RequireCheckpoint),
            Err(TlogError::MissingPromise)
        );
    }

    #[test]
    fn proof_and_checkpoint_negatives() {
        let w = World::new();
        let root = w.trusted_root();
        let e = entry(&w);

        let mut c = e.clone();
        c.inclusion_proof.as_mut().unwrap().hashes.pop();
        assert!(matches!(
            verify_entry(&c, &root, ProofPolicy::RequireCheckpoint),
            Err(TlogError::InclusionProof(
                MerkleError::WrongProofLength { .. }
            ))
        ));
        let mut c = e.clone();
        c.inclusion_proof.as_mut().unwrap().root_hash.pop();
        assert!(matches!(
            verify_entry(&c, &root, ProofPolicy::RequireCheckpoint),
            Err(TlogError::Malformed(_))
        ));

        // A checkpoint for the same tree signed by someone else.
        let mut c = e.clone();
        let p = c.inclusion_proof.as_mut().unwrap();
        let text = format!("rekor.test - 1\n5\n{}\n", B64.encode(&p.root_hash));
        p.checkpoint = Some(sign_note(&p256_key(), "rekor.test", &text));
        assert!(matches!(
            verify_entry(&c, &root, ProofPolicy::RequireCheckpoint),
            Err(TlogError::Checkpoint(
                CheckpointError::NoSignatureForKey { .. }
            ))
        ));
        // A genuine checkpoint of another tree.
        let mut c = e.clone();
        let text = format!("rekor.test - 1\n5\n{}\n", B64.encode([7u8; 32]));
        c.inclusion_proof.as_mut().unwrap().checkpoint =
            Some(sign_note(&w.rekor_key, "rekor.test", &text));
        assert!(matches!(
            verify_entry(&c, &root, ProofPolicy::RequireCheckpoint),
            Err(TlogError::Checkpoint(CheckpointError::RootMismatch { .. }))
        ));
        let mut c = e;
        c.kind = "dsse".into();
        assert!(matches!(
            verify_entry(&c, &root, ProofPolicy::RequireCheckpoint),
            Err(TlogError::KindMismatch { .. })
        ));
        c.kind = "hashedrekord".into();
        c.log_index = -1;
        assert!(matches!(
            verify_entry(&c, &root, ProofPolicy::RequireCheckpoint),
            Err(TlogError::Malformed(_))
        ));
    }

    #[test]
    fn body_must_match_exactly() {
        let w = World::new();
        let s = w.sign(b"artifact", T0 + 30, None);
        check_body(&s.entry.body, &s.digest, &s.signature, &s.leaf_der).unwrap();
        assert!(matches!(
            check_body(&s.entry.body, &[0; 32], &s.signature, &s.leaf_der),
            Err(BodyError::DigestMismatch { .. })
        ));
        assert_eq!(
            check_body(&s.entry.body, &s.digest, b"other", &s.leaf_der),
            Err(BodyError::SignatureMismatch)
        );
        let other = w.sign(b"artifact", T0 + 30, None);
        assert_eq!(
            check_body(&s.entry.body, &s.digest, &s.signature, &other.leaf_der),
            Err(BodyError::CertificateMismatch)
        );
        let mut v: serde_json::Value = serde_json::from_slice(&s.entry.body).unwrap();
        v["kind"] = "rekord".into();
        assert!(matches!(
            check_body(
                &serde_json::to_vec(&v).unwrap(),
                &s.digest,
                &s.signature,
                &s.leaf_der
            ),
            Err(BodyError::UnsupportedKind { .. })
        ));
        let mut v: serde_json::Value = serde_json::from_slice(&s.entry.body).unwrap();
        v["spec"]["extra"] = 1.into();
        assert!(matches!(
            check_body(
                &serde_json::to_vec(&v).unwrap(),
                &s.digest,
                &s.signature,
                &s.leaf_der
            ),
            Err(BodyError::Malformed(_))
        ));
        // Two PEM blocks (leaf + something) are not "the same certificate".
        let mut v: serde_json::Value = serde_json::from_slice(&s.entry.body).unwrap();
        let pem = B64
            .decode(
                v["spec"]["signature"]["publicKey"]["content"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
        let doubled = [pem.clone(), pem].concat();
        v["spec"]["signature"]["publicKey"]["content"] = B64.encode(doubled).into();
        assert_eq!(
            check_body(
                &serde_json::to_vec(&v).unwrap(),
                &s.digest,
                &s.signature,
                &s.leaf_der
            ),
            Err(BodyError::CertificateMismatch)
        );
    }

    #[test]
    fn set_payload_is_canonical() {
        let p = set_payload(b"{}", 5, &[0xab; 2], 7);
        assert_eq!(
            p,
            br#"{"body":"e30=","integratedTime":5,"logID":"abab","logIndex":7}"#
        );
    }
}
