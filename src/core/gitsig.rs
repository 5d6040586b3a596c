//! Verification of a git commit or tag signature: a detached CMS over the payload git hands the
//! verifier, in the order trust is established.
//!
//! 1. [`check_signature`]: parse the CMS strictly (size limit, one signer, detached, SHA-256 with
//!    ECDSA); the signer's certificate is in it; messageDigest = SHA-256(payload); the ECDSA
//!    signature over the signed attributes exactly as received. A failure here is a *bad*
//!    signature (`BADSIG`) or an unreadable one (`ERRSIG`).
//! 2. The log evidence, either embedded (gitsign offline mode, [`verify_embedded`]: the entry in
//!    unsigned attribute `1.3.6.1.4.1.57264.3.1`, its body rebuilt from this signature and
//!    certificate, then SET, inclusion proof and checkpoint with the log key of the trusted root)
//!    or found in the log by the caller (gitsign online mode, [`verify_searched`]: a hashedrekord
//!    over SHA-256 of the object id, signed by the same key).
//! 3. The certificate at the integrated time the log proves: leaf validity, EKU codeSigning, the
//!    chain to a Fulcio CA of the trusted root whose `validFor` holds that time, the embedded SCT.
//!
//! What comes out are facts ([`VerifiedSignature`]); whether the signer is acceptable is the
//! identity policy's question ([`super::policy`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::bundle::BundleError;
use super::cms::{self, CmsError, ParsedSignature};
use super::gitobject;
use super::keys::{HashAlg, KeyError, sha256};
use super::rekor::{self, BodyError, HashedRekord, ProofPolicy, TlogEntry, TlogError};
use super::sct::{self, SctError};
use super::time::UnixTime;
use super::tle::{self, TleError};
use super::trust_root::TrustedRoot;
use super::tsp::{self, TimestampError};
use super::x509::{self, CertError, Leaf};

/// How sure the verifier is that the signature is wrong, for git's status lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The signature does not match the content, or is not the certificate key's (`BADSIG`).
    Bad,
    /// The signature cannot be checked: malformed, no log evidence, untrusted (`ERRSIG`).
    Unverifiable,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitSigError {
    #[error("signature: {0}")]
    Signature(#[from] CmsError),
    #[error(
        "signature uses digest {digest} with {signature}; signet verifies SHA-256 with ECDSA (ecdsa-with-SHA256)"
    )]
    UnsupportedAlgorithm { digest: String, signature: String },
    #[error("the signature does not include the signer's certificate")]
    NoCertificate,
    #[error("signing certificate: {0}")]
    Certificate(CertError),
    #[error(
        "the signature is over other content: it signs SHA-256 {signed}, the {kind} hashes to {actual}"
    )]
    ContentMismatch {
        kind: &'static str,
        signed: String,
        actual: String,
    },
    #[error("the signature does not verify with the certificate's key: {0}")]
    BadSignature(KeyError),
    #[error(
        "the signature carries no transparency log entry (a gitsign online-mode signature), so it cannot be checked offline"
    )]
    MissingLogEntry,
    #[error("embedded transparency log entry: {0}")]
    LogEntry(#[from] TleError),
    #[error("the transparency log entry does not verify for this signature: {0}")]
    Tlog(#[from] TlogError),
    #[error("the transparency log entry records something else: {0}")]
    Body(#[from] BodyError),
    #[error(
        "the transparency log has no entry for this certificate and object {object_id} ({candidates} entries for the certificate checked)"
    )]
    NoMatchingLogEntry {
        object_id: String,
        candidates: usize,
    },
    #[error("certificate chain at the log's integrated time: {0}")]
    Chain(CertError),
    #[error("certificate transparency: {0}")]
    Sct(#[from] SctError),
    #[error("RFC 3161 timestamp: {0}")]
    Timestamp(#[from] TimestampError),
    #[error("certificate chain at the timestamp authority's time: {0}")]
    ChainAtTimestamp(CertError),
    #[error("the stored bundle (git note) cannot be read: {0}")]
    StoredBundle(BundleError),
    #[error("the stored bundle (git note) is not this signature's: {0}")]
    StoredMismatch(String),
    #[error("the stored bundle (git note) does not verify: {0}")]
    InStoredBundle(Box<GitSigError>),
}

impl GitSigError {
    pub fn severity(&self) -> Severity {
        match self {
            Self::ContentMismatch { .. } | Self::BadSignature(_) => Severity::Bad,
            _ => Severity::Unverifiable,
        }
    }

    /// A stable name for the failing check (JSON output, test vectors).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Signature(CmsError::TooLarge { .. }) => "signature-too-large",
            Self::Signature(CmsError::Armor(_)) => "armor",
            Self::Signature(CmsError::SignerCount(_)) => "signer-count",
            Self::Signature(CmsError::NotDetached) => "not-detached",
            Self::Signature(_) => "malformed-signature",
            Self::UnsupportedAlgorithm { .. } => "unsupported-algorithm",
            Self::NoCertificate => "no-certificate",
            Self::Certificate(_) => "bad-certificate",
            Self::ContentMismatch { .. } => "content-mismatch",
            Self::BadSignature(_) => "bad-signature",
            Self::MissingLogEntry => "missing-log-entry",
            Self::LogEntry(_) => "malformed-log-entry",
            Self::Tlog(TlogError::UnknownLog { .. }) => "unknown-log",
            Self::Tlog(TlogError::InvalidPromise { .. }) => "bad-set",
            Self::Tlog(TlogError::InclusionProof(_)) => "bad-inclusion-proof",
            Self::Tlog(TlogError::Checkpoint(_)) => "bad-checkpoint",
            Self::Tlog(TlogError::LogKeyNotValidAt { .. }) => "log-key-not-valid",
            Self::Tlog(_) => "bad-log-entry",
            Self::Body(_) => "log-body-mismatch",
            Self::NoMatchingLogEntry { .. } => "no-matching-log-entry",
            Self::Chain(CertError::NotValidAt { .. }) => "certificate-not-valid-at-log-time",
            Self::Chain(CertError::CaNotValidAt { .. }) => "ca-not-valid-at-log-time",
            Self::Chain(CertError::UntrustedIssuer { .. }) => "untrusted-ca",
            Self::Chain(CertError::NoCodeSigning { .. }) => "no-code-signing",
            Self::Chain(_) => "bad-chain",
            Self::Sct(_) => "bad-sct",
            Self::Timestamp(_) => "bad-timestamp",
            Self::ChainAtTimestamp(_) => "certificate-not-valid-at-timestamp",
            Self::StoredBundle(_) => "bad-stored-bundle",
            Self::StoredMismatch(_) => "stored-bundle-mismatch",
            // The log evidence in the note is the note's fault; the chain and the certificate
            // at the proven time are reported as for any other evidence.
            Self::InStoredBundle(inner) => match **inner {
                Self::Tlog(_)
                | Self::Body(_)
                | Self::LogEntry(_)
                | Self::NoMatchingLogEntry { .. }
                | Self::BadSignature(_)
                | Self::Timestamp(_) => "bad-stored-bundle",
                ref other => other.kind(),
            },
        }
    }
}

/// A signature whose content binding and cryptography are good; its log evidence and chain are
/// not yet checked.
#[derive(Debug, Clone)]
pub struct CheckedSignature {
    pub parsed: ParsedSignature,
    pub leaf: Leaf,
    /// SHA-1 of the leaf certificate DER, lowercase hex (git's key and fingerprint fields).
    pub fingerprint: String,
}

impl CheckedSignature {
    /// Whether the signature embeds a log entry (else it needs a stored bundle or a search).
    pub fn has_embedded_entry(&self) -> bool {
        self.parsed.unsigned(tle::OID_REKOR_TLE).is_some()
    }
}

/// Where the verified log entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceSource {
    /// Embedded in the signature (offline mode).
    Embedded,
    /// Found by searching the log (online mode, `--rekor-url`).
    Searched,
    /// A stored bundle kept next to the object (a git note, [`super::stored`]).
    Stored,
}

impl EvidenceSource {
    /// A stable name (JSON output).
    pub fn name(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Searched => "searched",
            Self::Stored => "stored-bundle",
        }
    }
}

/// Which log evidence was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evidence {
    pub source: EvidenceSource,
    pub signed_entry_timestamp: bool,
    pub inclusion_proof: bool,
    pub checkpoint: bool,
}

/// Everything verification established, for status lines, messages and policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    pub identity: String,
    pub issuer: Option<String>,
    pub fingerprint: String,
    /// The time the log proves it integrated the entry: the verified signing time.
    pub integrated_time: UnixTime,
    pub log_index: i64,
    pub log_url: String,
    pub not_before: UnixTime,
    pub not_after: UnixTime,
    /// The CA certificate that issued the leaf (its subject).
    pub ca: String,
    /// The signing-time attribute: the signer's own clock, reported but never trusted.
    pub claimed_signing_time: Option<UnixTime>,
    pub evidence: Evidence,
    /// Verified RFC 3161 timestamps over the signature (id-aa-timeStampToken): the time and the
    /// timestamp authority. The certificate was valid at each.
    pub timestamps: Vec<(UnixTime, String)>,
}

/// Step 1: parse `armored` and check it signs `payload` with its certificate's key.
pub fn check_signature(armored: &[u8], payload: &[u8]) -> Result<CheckedSignature, GitSigError> {
    let der = cms::dearmor(armored)?;
    let parsed = cms::parse(&der)?;
    if parsed.digest_algorithm != cms::OID_SHA256
        || parsed.signature_algorithm != cms::OID_ECDSA_SHA256
    {
        return Err(GitSigError::UnsupportedAlgorithm {
            digest: parsed.digest_algorithm.to_string(),
            signature: parsed.signature_algorithm.to_string(),
        });
    }
    let leaf_der = parsed
        .signer_certificate()
        .ok_or(GitSigError::NoCertificate)?;
    let leaf = Leaf::from_der(leaf_der).map_err(GitSigError::Certificate)?;
    let actual = sha256(payload);
    if parsed.message_digest != actual {
        let kind = match gitobject::kind(payload) {
            Ok((gitobject::ObjectKind::Tag, _)) => "tag",
            Ok((gitobject::ObjectKind::Commit, _)) => "commit",
            Err(_) => "data",
        };
        return Err(GitSigError::ContentMismatch {
            kind,
            signed: hex::encode(&parsed.message_digest),
            actual: hex::encode(actual),
        });
    }
    leaf.public_key
        .verify(HashAlg::Sha256, &parsed.signed_attrs, &parsed.signature)
        .map_err(GitSigError::BadSignature)?;
    Ok(CheckedSignature {
        fingerprint: gitobject::sha1_hex(&leaf.der),
        parsed,
        leaf,
    })
}

fn leaf_pem(leaf: &Leaf) -> Result<String, GitSigError> {
    der::EncodePem::to_pem(&leaf.cert, der::pem::LineEnding::LF)
        .map_err(|e| GitSigError::Certificate(CertError::Malformed(e.to_string())))
}

/// The hashedrekord body Rekor stored for an offline-mode signature, rebuilt from the
/// signature: SHA-256 of the DER signed attributes, the CMS signature, the PEM leaf, in RFC 8785
/// canonical JSON (what Rekor's canonicaliser writes).
pub fn rebuilt_body(checked: &CheckedSignature) -> Result<Vec<u8>, GitSigError> {
    let entry = HashedRekord::new(
        &sha256(&checked.parsed.signed_attrs),
        &checked.parsed.signature,
        &leaf_pem(&checked.leaf)?,
    );
    serde_json_canonicalizer::to_vec(&entry)
        .map_err(|e| GitSigError::Body(BodyError::Malformed(e.to_string())))
}

/// Unsigned attribute id-aa-timeStampToken (RFC 3161 appendix A): time-stamp tokens over the
/// CMS signature value, as gitsign adds them when a TSA is configured.
pub const OID_TIMESTAMP_TOKEN: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// The DER time-stamp tokens of the signature's id-aa-timeStampToken attribute (none if absent;
/// the attribute may hold several values).
pub fn timestamp_tokens(parsed: &ParsedSignature) -> Vec<Vec<u8>> {
    parsed
        .unsigned(OID_TIMESTAMP_TOKEN)
        .map(|a| a.values.clone())
        .unwrap_or_default()
}

/// The embedded entry, with its body (rebuilt when the entry omits it, as gitsign's do).
pub fn embedded_entry(checked: &CheckedSignature) -> Result<TlogEntry, GitSigError> {
    let attr = checked
        .parsed
        .unsigned(tle::OID_REKOR_TLE)
        .ok_or(GitSigError::MissingLogEntry)?;
    let value = attr.single_value()?;
    let (octets, rest) = super::asn1::read_tlv(value)
        .map_err(|e| GitSigError::Signature(CmsError::Malformed(e.to_string())))?;
    if octets.tag != 0x04 || !rest.is_empty() {
        return Err(GitSigError::Signature(CmsError::Malformed(
            "the log entry attribute is not one OCTET STRING".into(),
        )));
    }
    let mut entry = tle::decode(octets.content)?;
    if entry.body.is_empty() {
        entry.body = rebuilt_body(checked)?;
    }
    Ok(entry)
}

/// Step 3, shared: the leaf and its chain at the verified time, then the SCT.
fn finish(
    checked: &CheckedSignature,
    entry: &TlogEntry,
    logged: rekor::VerifiedEntry,
    root: &TrustedRoot,
    source: EvidenceSource,
) -> Result<VerifiedSignature, GitSigError> {
    let at = logged.integrated_time;
    let issuer = x509::verify_chain(&checked.leaf, root, at).map_err(GitSigError::Chain)?;
    sct::verify_embedded_sct(&checked.leaf, issuer, root)?;
    // Timestamps are optional, but one that is present must verify, over this signature, from
    // a timestamp authority of the trusted root, at a time the certificate was valid.
    let mut timestamps = Vec::new();
    for token in timestamp_tokens(&checked.parsed) {
        let ts = tsp::verify_timestamp(&token, &checked.parsed.signature, root)?;
        for at in [ts.time, ts.latest] {
            x509::verify_chain(&checked.leaf, root, at).map_err(GitSigError::ChainAtTimestamp)?;
        }
        timestamps.push((ts.time, ts.tsa));
    }
    let leaf = &checked.leaf;
    Ok(VerifiedSignature {
        identity: leaf.identity.clone(),
        issuer: leaf.oidc_issuer.clone(),
        fingerprint: checked.fingerprint.clone(),
        integrated_time: at,
        log_index: logged.log_index,
        log_url: logged.log_url,
        not_before: leaf.not_before,
        not_after: leaf.not_after,
        ca: issuer.subject.clone(),
        claimed_signing_time: checked.parsed.signing_time,
        evidence: Evidence {
            source,
            signed_entry_timestamp: entry.signed_entry_timestamp.is_some(),
            inclusion_proof: entry.inclusion_proof.is_some(),
            checkpoint: entry
                .inclusion_proof
                .as_ref()
                .is_some_and(|p| p.checkpoint.is_some()),
        },
        timestamps,
    })
}

/// Step 2 and 3 for an offline-mode signature: the embedded entry must be this signature's.
pub fn verify_embedded(
    checked: &CheckedSignature,
    root: &TrustedRoot,
) -> Result<VerifiedSignature, GitSigError> {
    let entry = embedded_entry(checked)?;
    rekor::check_body(
        &entry.body,
        &sha256(&checked.parsed.signed_attrs),
        &checked.parsed.signature,
        &checked.leaf.der,
    )?;
    let logged = rekor::verify_entry(&entry, root, ProofPolicy::VerifyIfPresent)?;
    finish(checked, &entry, logged, root, EvidenceSource::Embedded)
}

/// The signature an entry logs when it records SHA-256(`object_id`) with this certificate.
fn online_signature(
    checked: &CheckedSignature,
    entry: &TlogEntry,
    id_digest: &[u8; 32],
) -> Option<Vec<u8>> {
    let body = serde_json::from_slice::<HashedRekord>(&entry.body).ok()?;
    let signature = B64.decode(&body.spec.signature.content).ok()?;
    rekor::check_body(&entry.body, id_digest, &signature, &checked.leaf.der).ok()?;
    Some(signature)
}

/// Steps 2 and 3 for one entry that logs `signature` over `id_digest` (SHA-256 of the object
/// id) with this certificate: the signature by the certificate's key, the entry's evidence with
/// a checkpointed inclusion proof, then the chain at the time the log proves.
pub(crate) fn verify_object_entry(
    checked: &CheckedSignature,
    entry: &TlogEntry,
    id_digest: &[u8; 32],
    signature: &[u8],
    root: &TrustedRoot,
    source: EvidenceSource,
) -> Result<VerifiedSignature, GitSigError> {
    checked
        .leaf
        .public_key
        .verify_prehash(id_digest, signature)
        .map_err(GitSigError::BadSignature)?;
    let logged = rekor::verify_entry(entry, root, ProofPolicy::RequireCheckpoint)?;
    finish(checked, entry, logged, root, source)
}

/// An entry a log search returned that verified for an online-mode signature.
#[derive(Debug, Clone)]
pub struct FoundEntry {
    pub verified: VerifiedSignature,
    pub entry: TlogEntry,
    /// The signature the entry logs: the certificate key's, over SHA-256 of the object id.
    pub signature: Vec<u8>,
}

/// Steps 2 and 3 for an online-mode signature, given the entries a log search returned for the
/// certificate: the first entry that logs SHA-256(`object_id`) with this certificate and a valid
/// signature by its key, with valid evidence, decides. `object_id` is the signed object's id
/// (lowercase hex), the artifact gitsign logs. Entries for other objects are skipped (the
/// search is by certificate only, then filtered: the CVE-2024-51746 fix).
pub fn find_searched(
    checked: &CheckedSignature,
    entries: &[TlogEntry],
    object_id: &str,
    root: &TrustedRoot,
) -> Result<FoundEntry, GitSigError> {
    let id_digest = sha256(object_id.as_bytes());
    let mut first_err = None;
    for entry in entries {
        let Some(signature) = online_signature(checked, entry, &id_digest) else {
            continue;
        };
        let attempt = verify_object_entry(
            checked,
            entry,
            &id_digest,
            &signature,
            root,
            EvidenceSource::Searched,
        );
        match attempt {
            Ok(verified) => {
                return Ok(FoundEntry {
                    verified,
                    entry: entry.clone(),
                    signature,
                });
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or(GitSigError::NoMatchingLogEntry {
        object_id: object_id.to_owned(),
        candidates: entries.len(),
    }))
}

/// [`find_searched`], keeping only what verification established.
pub fn verify_searched(
    checked: &CheckedSignature,
    entries: &[TlogEntry],
    object_id: &str,
    root: &TrustedRoot,
) -> Result<VerifiedSignature, GitSigError> {
    find_searched(checked, entries, object_id, root).map(|found| found.verified)
}

/// What a signature holds, read without judging it (`signet show`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureFacts {
    pub identity: Option<String>,
    pub issuer: Option<String>,
    pub fingerprint: Option<String>,
    pub not_before: Option<UnixTime>,
    pub not_after: Option<UnixTime>,
    pub claimed_signing_time: Option<UnixTime>,
    pub message_digest: String,
    pub log_entry: Option<EntryFacts>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFacts {
    pub log_index: i64,
    pub log_id: String,
    pub kind: String,
    pub integrated_time: UnixTime,
    pub has_signed_entry_timestamp: bool,
    pub inclusion_proof: Option<ProofFacts>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofFacts {
    pub tree_size: i64,
    pub root_hash: String,
    /// The checkpoint's first line (the log's origin), when there is one.
    pub checkpoint_origin: Option<String>,
}

/// Whether an armored signature embeds a log entry (false when it does not parse): a signature
/// without one needs a stored bundle or a log search.
pub fn has_embedded_entry(armored: &[u8]) -> bool {
    cms::dearmor(armored)
        .ok()
        .and_then(|der| cms::parse(&der).ok())
        .is_some_and(|p| p.unsigned(tle::OID_REKOR_TLE).is_some())
}

/// Read the facts of an armored signature; only malformed input fails.
pub fn facts(armored: &[u8]) -> Result<SignatureFacts, GitSigError> {
    let parsed = cms::parse(&cms::dearmor(armored)?)?;
    let leaf = parsed
        .signer_certificate()
        .map(Leaf::from_der)
        .transpose()
        .map_err(GitSigError::Certificate)?;
    let log_entry = match parsed.unsigned(tle::OID_REKOR_TLE) {
        None => None,
        Some(attr) => {
            let (octets, _) = super::asn1::read_tlv(attr.single_value()?)
                .map_err(|e| GitSigError::Signature(CmsError::Malformed(e.to_string())))?;
            let e = tle::decode(octets.content)?;
            Some(EntryFacts {
                log_index: e.log_index,
                log_id: hex::encode(&e.log_id),
                kind: format!("{} {}", e.kind, e.version),
                integrated_time: UnixTime(e.integrated_time),
                has_signed_entry_timestamp: e.signed_entry_timestamp.is_some(),
                inclusion_proof: e.inclusion_proof.map(|p| ProofFacts {
                    tree_size: p.tree_size,
                    root_hash: hex::encode(&p.root_hash),
                    checkpoint_origin: p
                        .checkpoint
                        .as_deref()
                        .and_then(|c| c.lines().next())
                        .map(str::to_owned),
                }),
            })
        }
    };
    Ok(SignatureFacts {
        identity: leaf.as_ref().map(|l| l.identity.clone()),
        issuer: leaf.as_ref().and_then(|l| l.oidc_issuer.clone()),
        fingerprint: leaf.as_ref().map(|l| gitobject::sha1_hex(&l.der)),
        not_before: leaf.as_ref().map(|l| l.not_before),
        not_after: leaf.as_ref().map(|l| l.not_after),
        claimed_signing_time: parsed.signing_time,
        message_digest: hex::encode(&parsed.message_digest),
        log_entry,
    })
}

#[cfg(test)]
#[path = "gitsig_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "vector_gen_tests.rs"]
mod vector_gen_tests;
