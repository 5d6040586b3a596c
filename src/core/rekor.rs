//! Transparency log evidence: the hashedrekord v0.0.1 entry body signet submits, the signed entry
//! timestamp (SET) payload, and verification of a log entry against the trusted root, for both
//! Rekor generations:
//! - Rekor v1 (hashedrekord/dsse 0.0.1, intoto 0.0.2): SET, inclusion proof, checkpoint signed by
//!   the log's ECDSA key, log key valid at the integrated time ([`verify_entry`]);
//! - Rekor v2 (hashedrekord/dsse 0.0.2, rekor-tiles): no SET and no integrated time; inclusion
//!   proof and a C2SP checkpoint (Ed25519 or ECDSA) signed under the log's origin are required,
//!   and the log key's validity is left for the caller to check at its verified times
//!   ([`verify_log_entry`], [`check_log_valid_at`]).
//!
//! Whether an entry body describes the bundle's content and key is [`check_entry_body`]'s job
//! (in `rekor_body.rs`). Used both for bundles and for fresh responses while signing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use super::checkpoint::{Checkpoint, CheckpointError, NoteVerifier};
use super::keys::KeyError;
use super::merkle::{self, Hash, MerkleError};
use super::time::{UnixTime, ValidFor};
use super::trust_root::{LogKey, TrustedRoot};

#[path = "rekor_body.rs"]
mod body;
pub use body::{EntryContent, EntryVerifier, check_entry_body};

pub const HASHEDREKORD: &str = "hashedrekord";
pub const HASHEDREKORD_VERSION: &str = "0.0.1";
pub const DSSE: &str = "dsse";
pub const INTOTO: &str = "intoto";
/// The kind version Rekor v2 (rekor-tiles) writes: hashedrekord 0.0.2 (and the deprecated dsse
/// 0.0.2).
pub const REKOR_V2_VERSION: &str = "0.0.2";

/// The Rekor generation that writes entries of `kind` at `version`, or `None` for kinds signet
/// cannot check. (intoto 0.0.2 is a Rekor v1 kind despite its version number.)
pub fn rekor_v2_kind(kind: &str, version: &str) -> Option<bool> {
    match (kind, version) {
        (HASHEDREKORD, "0.0.1") | (DSSE, "0.0.1") | (INTOTO, "0.0.2") => Some(false),
        (HASHEDREKORD, REKOR_V2_VERSION) | (DSSE, REKOR_V2_VERSION) => Some(true),
        _ => None,
    }
}

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
    #[error("log entry body is malformed: {0}")]
    Malformed(String),
    #[error("log entry is {kind} {version}, a kind signet cannot check")]
    UnsupportedKind { kind: String, version: String },
    #[error("kindVersion says {declared}, the entry body is {body}")]
    DeclaredKindMismatch { declared: String, body: String },
    #[error("a {kind} log entry cannot record {content}")]
    ContentMismatch { kind: String, content: &'static str },
    #[error("log entry records digest {logged}, the artifact's is {actual}")]
    DigestMismatch { logged: String, actual: String },
    #[error(
        "log entry records a {algorithm} digest; only SHA2_256 artifact digests can be compared"
    )]
    UnsupportedDigestAlgorithm { algorithm: String },
    #[error("log entry records a different signature than the bundle")]
    SignatureMismatch,
    #[error("log entry records {logged} signatures, the bundle's envelope has {bundle}")]
    SignatureCount { logged: usize, bundle: usize },
    #[error("log entry records a different certificate than the bundle")]
    CertificateMismatch,
    #[error("log entry records a different public key than the one given")]
    PublicKeyMismatch,
    #[error("log entry records {logged} as the verifier, the bundle has {bundle}")]
    VerifierKindMismatch {
        logged: &'static str,
        bundle: &'static str,
    },
    #[error("log entry says the key is {logged}, the bundle's key is {expected}")]
    KeyDetailsMismatch { logged: String, expected: String },
    #[error("the bundle's key cannot be described in a Rekor v2 entry: {0}")]
    UnsupportedVerifierKey(KeyError),
    #[error("log entry records payload hash {logged}, the envelope's is {actual}")]
    PayloadHashMismatch { logged: String, actual: String },
    #[error("log entry records payload type {logged:?}, the envelope's is {actual:?}")]
    PayloadTypeMismatch { logged: String, actual: String },
    #[error("log entry records a different envelope payload than the bundle")]
    PayloadMismatch,
}

/// Check that a hashedrekord 0.0.1 body records exactly this digest, signature and leaf
/// certificate. (Bundles of every kind go through [`check_entry_body`].)
pub fn check_body(
    body: &[u8],
    digest: &[u8; 32],
    signature: &[u8],
    leaf_der: &[u8],
) -> Result<(), BodyError> {
    body::check_v001_message(body, digest, signature, leaf_der)
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

/// A log entry (Rekor v1 or v2) with its evidence, decoded from a bundle or a Rekor response.
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
    #[error(
        "log entries of kind {kind} {version} are not supported (hashedrekord 0.0.1 and 0.0.2, dsse 0.0.1 and 0.0.2, intoto 0.0.2 are)"
    )]
    UnsupportedKind { kind: String, version: String },
    #[error("Rekor v2 entry carries a signed entry timestamp, which v2 logs never issue")]
    UnexpectedPromise,
    #[error("Rekor v2 entry carries integrated time {integrated_time}, which v2 logs never set")]
    UnexpectedIntegratedTime { integrated_time: i64 },
    #[error("log entry index {entry} differs from its inclusion proof's index {proof}")]
    ProofIndexMismatch { entry: i64, proof: i64 },
    #[error("the trusted root gives Rekor v2 log {log_id} no baseUrl, so its origin is unknown")]
    MissingOrigin { log_id: String },
    #[error(
        "the trusted root states checkpoint key id {stated} for log {log}, its key gives {computed}"
    )]
    CheckpointKeyIdMismatch {
        log: String,
        stated: String,
        computed: String,
    },
    #[error("log {log} key is valid for {valid_for}, not at the verified time {at}")]
    LogKeyNotValidAtTime {
        log: String,
        at: UnixTime,
        valid_for: ValidityWindows,
    },
}

/// The trusted root's validity windows for one log key (a key may be listed more than once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidityWindows(pub Vec<ValidFor>);

impl ValidityWindows {
    pub fn contains(&self, at: UnixTime) -> bool {
        self.0.iter().any(|w| w.contains(at))
    }
}

impl std::fmt::Display for ValidityWindows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, w) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" or ")?;
            }
            write!(f, "{w}")?;
        }
        Ok(())
    }
}

/// Log evidence verified for one entry of either Rekor version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvidence {
    /// The integrated time the log's SET vouches for: `Some` only for Rekor v1 entries (whose
    /// SET has been verified and whose log key was valid then).
    pub integrated_time: Option<UnixTime>,
    pub log_index: i64,
    pub log_url: String,
    pub rekor_v2: bool,
    /// The trusted root's validity windows of the log key that signed the checkpoint. For v1
    /// entries already checked at the integrated time; for v2 entries the caller checks them
    /// with [`check_log_valid_at`] at its verified (timestamp authority) times.
    pub log_valid_for: ValidityWindows,
}

/// Check that the key of the log that produced `evidence` was valid at `at`, a time verified
/// otherwise (an RFC 3161 timestamp). Rekor v2 entries carry no time of their own, so this is
/// how their log key's `validFor` gets checked; call it for every verified time. For Rekor v1
/// entries the key was checked at the SET's integrated time by [`verify_log_entry`] and this
/// returns `Ok` (as sigstore-go, which checks v1 log keys only at the integrated time).
pub fn check_log_valid_at(evidence: &LogEvidence, at: UnixTime) -> Result<(), TlogError> {
    if !evidence.rekor_v2 || evidence.log_valid_for.contains(at) {
        return Ok(());
    }
    Err(TlogError::LogKeyNotValidAtTime {
        log: evidence.log_url.clone(),
        at,
        valid_for: evidence.log_valid_for.clone(),
    })
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

/// An inclusion proof's index, tree size, root hash and path, checked for shape.
fn proof_parts(proof: &InclusionProof) -> Result<(u64, u64, Hash, Vec<Hash>), TlogError> {
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
    Ok((index, size, root_hash, hashes))
}

/// Verify a log entry's evidence against the trusted root: log known, SET, inclusion proof,
/// checkpoint (signed by the same log key, same root and size), log key valid at integrated time.
/// This is the Rekor v1 check; [`verify_log_entry`] takes entries of either version.
pub fn verify_entry(
    entry: &TlogEntry,
    root: &TrustedRoot,
    policy: ProofPolicy,
) -> Result<VerifiedEntry, TlogError> {
    verify_v1(entry, root, policy).map(|(verified, _)| verified)
}

/// The declared kind must be what the body says it is.
fn check_declared_kind(entry: &TlogEntry) -> Result<(), TlogError> {
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
    Ok(())
}

fn verify_v1<'r>(
    entry: &TlogEntry,
    root: &'r TrustedRoot,
    policy: ProofPolicy,
) -> Result<(VerifiedEntry, &'r LogKey), TlogError> {
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

    check_declared_kind(entry)?;

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
    key.verify(log.signature_hash(), &payload, set)
        .map_err(|_| TlogError::InvalidPromise {
            log: log.base_url.clone(),
        })?;

    // 2. The inclusion proof and its checkpoint.
    match (&entry.inclusion_proof, policy) {
        (None, ProofPolicy::RequireCheckpoint) => return Err(TlogError::MissingInclusionProof),
        (None, ProofPolicy::VerifyIfPresent) => {}
        (Some(proof), _) => {
            let (index, size, root_hash, hashes) = proof_parts(proof)?;
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
                    cp.verify(&NoteVerifier::any_name(
                        key.clone(),
                        [id[0], id[1], id[2], id[3]],
                        log.signature_hash(),
                    ))?;
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
    let verified = VerifiedEntry {
        integrated_time: at,
        log_index: entry.log_index,
        log_url: log.base_url.clone(),
    };
    Ok((verified, log))
}

/// Verify the log evidence of an entry of either Rekor version against the trusted root.
///
/// - Rekor v1 entries (hashedrekord/dsse 0.0.1, intoto 0.0.2): as [`verify_entry`] (SET
///   required, inclusion proof and checkpoint per `policy`, log key valid at the integrated
///   time, which is returned).
/// - Rekor v2 entries (hashedrekord/dsse 0.0.2): no SET and no integrated time (both refused if
///   present); an inclusion proof with a checkpoint is required whatever `policy` says; the
///   log is the trusted-root `tlogs` listing whose `logId.keyId` equals the entry's and whose
///   origin (`baseUrl` without scheme) is the checkpoint's first line; the checkpoint must be
///   signed under that origin by the log key (Ed25519 or ECDSA, C2SP key IDs) and commit to the
///   proof's tree, and the proof must place the body at the entry's index. The log key's
///   `validFor` cannot be checked here — a v2 entry has no time — so it is returned in
///   [`LogEvidence::log_valid_for`] for the caller to check with [`check_log_valid_at`] at the
///   times it verified (RFC 3161 timestamps).
pub fn verify_log_entry(
    entry: &TlogEntry,
    root: &TrustedRoot,
    policy: ProofPolicy,
) -> Result<LogEvidence, TlogError> {
    match rekor_v2_kind(&entry.kind, &entry.version) {
        None => Err(TlogError::UnsupportedKind {
            kind: entry.kind.clone(),
            version: entry.version.clone(),
        }),
        Some(false) => {
            let (verified, log) = verify_v1(entry, root, policy)?;
            Ok(LogEvidence {
                integrated_time: Some(verified.integrated_time),
                log_index: verified.log_index,
                log_url: verified.log_url,
                rekor_v2: false,
                log_valid_for: ValidityWindows(vec![log.valid_for]),
            })
        }
        Some(true) => verify_v2(entry, root),
    }
}

fn verify_v2(entry: &TlogEntry, root: &TrustedRoot) -> Result<LogEvidence, TlogError> {
    if entry.log_index < 0 {
        return Err(TlogError::Malformed(format!(
            "negative log index {}",
            entry.log_index
        )));
    }
    if entry.signed_entry_timestamp.is_some() {
        return Err(TlogError::UnexpectedPromise);
    }
    if entry.integrated_time != 0 {
        return Err(TlogError::UnexpectedIntegratedTime {
            integrated_time: entry.integrated_time,
        });
    }
    check_declared_kind(entry)?;
    let listings: Vec<&LogKey> = root.tlogs_with_id(&entry.log_id).collect();
    if listings.is_empty() {
        return Err(TlogError::UnknownLog {
            log_id: hex::encode(&entry.log_id),
        });
    }
    if listings.iter().all(|l| l.origin().is_empty()) {
        return Err(TlogError::MissingOrigin {
            log_id: hex::encode(&entry.log_id),
        });
    }

    let proof = entry
        .inclusion_proof
        .as_ref()
        .ok_or(TlogError::MissingInclusionProof)?;
    let note = proof
        .checkpoint
        .as_deref()
        .ok_or(TlogError::MissingCheckpoint)?;
    if proof.log_index != entry.log_index {
        return Err(TlogError::ProofIndexMismatch {
            entry: entry.log_index,
            proof: proof.log_index,
        });
    }
    let (index, size, root_hash, hashes) = proof_parts(proof)?;

    // The checkpoint: the log is the listing whose origin the checkpoint names, and it must have
    // signed the note under that origin.
    let cp = Checkpoint::parse(note)?;
    let Some(log) = listings.iter().copied().find(|l| l.origin() == cp.origin) else {
        return Err(CheckpointError::OriginMismatch {
            expected: listings[0].origin().to_owned(),
            found: cp.origin.clone(),
        }
        .into());
    };
    let key = log
        .public_key()
        .map_err(|source| TlogError::UnusableLogKey {
            log: log.base_url.clone(),
            source,
        })?;
    let verifier = NoteVerifier::named(log.origin(), key, &log.spki_der, log.signature_hash());
    if let Some(stated) = &log.checkpoint_key_id
        && stated.get(..4) != Some(&verifier.key_id[..])
    {
        return Err(TlogError::CheckpointKeyIdMismatch {
            log: log.base_url.clone(),
            stated: hex::encode(stated),
            computed: hex::encode(verifier.key_id),
        });
    }
    cp.verify(&verifier)?;
    cp.check_matches(size, &root_hash)?;

    // The body is in the tree the checkpoint commits to.
    merkle::verify_inclusion(
        index,
        cp.size,
        &merkle::leaf_hash(&entry.body),
        &hashes,
        &cp.root_hash,
    )?;

    let windows = listings
        .iter()
        .filter(|l| l.origin() == log.origin() && l.spki_der == log.spki_der)
        .map(|l| l.valid_for)
        .collect();
    Ok(LogEvidence {
        integrated_time: None,
        log_index: entry.log_index,
        log_url: log.base_url.clone(),
        rekor_v2: true,
        log_valid_for: ValidityWindows(windows),
    })
}

#[cfg(test)]
#[path = "rekor_v2_tests.rs"]
mod v2_tests;

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
