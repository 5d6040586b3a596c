//! Verifying a git commit or tag signature: the core pipeline (`core::gitsig`), then the identity
//! policy (`core::policy`). A signature that embeds no log entry (gitsign online mode) is
//! verified from the bundle stored for its object (a git note) when the caller found one, else
//! from a log search when the caller passes a log; a stored bundle that does not verify is a
//! failure, never a reason to search.

use super::{LogSearch, PortError};
use crate::core::gitobject::{self, ObjectKind};
use crate::core::gitsig::{self, GitSigError, Severity, VerifiedSignature};
use crate::core::policy::{self, Policy, Verdict};
use crate::core::stored;
use crate::core::trust_root::TrustedRoot;

/// Who the signature claims to be from, known once the signature parses (for BADSIG lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    pub fingerprint: String,
    pub identity: String,
}

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    Signature(#[from] GitSigError),
    #[error("looking up the transparency log entry: {0}")]
    Search(PortError),
    #[error("reading the stored bundle (git note): {0}")]
    Notes(String),
}

impl Failure {
    pub fn severity(&self) -> Severity {
        match self {
            Self::Signature(e) => e.severity(),
            Self::Search(_) | Self::Notes(_) => Severity::Unverifiable,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Signature(e) => e.kind(),
            Self::Search(_) => "log-search-failed",
            Self::Notes(_) => "notes-unreadable",
        }
    }
}

/// The bundle stored for the signed object (a git note), as the caller found it.
#[derive(Debug, Clone, Copy)]
pub enum Stored<'a> {
    /// No stored bundle (or the caller keeps none, e.g. outside a repository).
    None,
    /// The stored bundle's bytes, for the object id the caller verifies.
    Bundle(&'a [u8]),
    /// The notes could not be read; why.
    Unreadable(&'a str),
}

/// The whole story of one signature.
#[derive(Debug, Clone)]
pub struct Report {
    pub signer: Option<Signer>,
    pub outcome: Result<(VerifiedSignature, Verdict), Failure>,
}

/// The committer (commit) or tagger (tag) email and role, for the default policy.
pub fn signer_email(payload: &[u8]) -> policy::SignerEmail {
    let role = match gitobject::kind(payload) {
        Ok((ObjectKind::Tag, _)) => "tagger",
        _ => "committer",
    };
    (
        gitobject::signer_email(payload).map_err(|e| e.to_string()),
        role,
    )
}

/// Verify `armored` over `payload`. `object_id` is the signed object's id when the caller knows
/// it (else it is computed from payload and signature); it matters only for a signature without
/// an embedded entry, whose evidence is `stored` (looked up by that id), else a `search`.
pub async fn verify_signature(
    payload: &[u8],
    armored: &[u8],
    object_id: Option<&str>,
    root: &TrustedRoot,
    policy: &Policy,
    stored: Stored<'_>,
    search: Option<&impl LogSearch>,
) -> Report {
    let checked = match gitsig::check_signature(armored, payload) {
        Ok(c) => c,
        Err(e) => {
            // A bad signature still names its certificate when the CMS parses.
            let signer = gitsig::facts(armored).ok().and_then(|f| {
                Some(Signer {
                    fingerprint: f.fingerprint?,
                    identity: f.identity?,
                })
            });
            return Report {
                signer,
                outcome: Err(e.into()),
            };
        }
    };
    let signer = Some(Signer {
        fingerprint: checked.fingerprint.clone(),
        identity: checked.leaf.identity.clone(),
    });
    let verified = match (gitsig::verify_embedded(&checked, root), stored, search) {
        (Err(GitSigError::MissingLogEntry), Stored::Bundle(bundle), _) => {
            object_id_of(payload, armored, object_id)
                .and_then(|id| Ok(stored::verify(&checked, bundle, &id, root)?))
        }
        (Err(GitSigError::MissingLogEntry), Stored::Unreadable(why), _) => {
            Err(Failure::Notes(why.to_owned()))
        }
        (Err(GitSigError::MissingLogEntry), Stored::None, Some(log)) => {
            lookup(&checked, payload, armored, object_id, root, log).await
        }
        (result, _, _) => result.map_err(Failure::from),
    };
    let outcome = verified.map(|v| {
        let verdict = policy::evaluate(
            policy,
            &v.identity,
            v.issuer.as_deref(),
            &signer_email(payload),
        );
        (v, verdict)
    });
    Report { signer, outcome }
}

/// The signed object's id: the caller's, or computed from payload and signature.
fn object_id_of(
    payload: &[u8],
    armored: &[u8],
    object_id: Option<&str>,
) -> Result<String, Failure> {
    match object_id {
        Some(id) => Ok(id.to_owned()),
        None => gitobject::predicted_id(payload, armored).map_err(|e| {
            Failure::Signature(GitSigError::NoMatchingLogEntry {
                object_id: format!("(unknown: {e})"),
                candidates: 0,
            })
        }),
    }
}

async fn lookup(
    checked: &gitsig::CheckedSignature,
    payload: &[u8],
    armored: &[u8],
    object_id: Option<&str>,
    root: &TrustedRoot,
    log: &impl LogSearch,
) -> Result<VerifiedSignature, Failure> {
    let id = object_id_of(payload, armored, object_id)?;
    let pem =
        der::EncodePem::to_pem(&checked.leaf.cert, der::pem::LineEnding::LF).map_err(|e| {
            GitSigError::Certificate(crate::core::x509::CertError::Malformed(e.to_string()))
        })?;
    let entries = log
        .entries_for_certificate(&pem)
        .await
        .map_err(Failure::Search)?;
    Ok(gitsig::verify_searched(checked, &entries, &id, root)?)
}
