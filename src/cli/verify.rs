//! Commit and tag verification on the command line: `signet verify [REV...]`,
//! `signet verify-tag TAG`, `signet show [REV]`, and the shared pieces gpg mode's `--verify`
//! uses (trust root, policy and online-lookup resolution; the human-readable lines; hints).

use std::collections::HashSet;

use serde_json::json;

use super::args::{Format, PolicyArgs, ShowArgs, VerifyArgs, VerifyTagArgs, VerifyTrustArgs};
use super::error::{CliError, Kind};
use super::settings::{self, Settings};
use super::{config, output};
use crate::adapters::http::HttpClient;
use crate::adapters::notes::{NoteIndex, NotesRef};
use crate::adapters::rekor::RekorClient;
use crate::adapters::repo::{RawObject, Repo, RepoError};
use crate::core::gitobject::ObjectKind;
use crate::core::gitsig::EvidenceSource;
use crate::core::gitsig::VerifiedSignature;
use crate::core::policy::{Matcher, Policy, Trust, Verdict};
use crate::core::signed_object::{self, SplitError};
use crate::core::time::UnixTime;
use crate::core::trust_root::TrustedRoot;
use crate::flow::verify_commit::{Failure, Report, Stored, verify_signature};

/// Everything a verification runs with.
pub struct Verifier {
    pub root: TrustedRoot,
    pub policy: Policy,
    /// Set when signatures without an embedded entry may be looked up (gitsign online mode).
    pub log: Option<RekorClient>,
    /// The notes ref whose stored bundles stand in for missing embedded entries.
    pub notes_ref: String,
    pub runtime: tokio::runtime::Runtime,
}

/// The stored bundle (git note) read for one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredNote {
    None,
    Bundle(Vec<u8>),
    Unreadable(String),
}

impl StoredNote {
    pub fn as_stored(&self) -> Stored<'_> {
        match self {
            Self::None => Stored::None,
            Self::Bundle(b) => Stored::Bundle(b),
            Self::Unreadable(why) => Stored::Unreadable(why),
        }
    }
}

/// The notes ref of a repository, read once per run (or at a pushed value, in the hook).
pub struct Notes {
    read: Result<NotesRef, String>,
}

impl Notes {
    /// `refname` as the repository has it now.
    pub fn open(repo: &Repo, refname: &str) -> Notes {
        Notes {
            read: repo.notes_ref(refname).map_err(|e| e.to_string()),
        }
    }

    /// `refname` as if it pointed at `commit`.
    pub fn at(repo: &Repo, refname: &str, commit: &str) -> Notes {
        Notes {
            read: repo.notes_at(refname, commit).map_err(|e| e.to_string()),
        }
    }

    /// Why the notes ref cannot be read, if it cannot.
    pub fn error(&self) -> Option<&str> {
        self.read.as_ref().err().map(String::as_str)
    }

    /// The note for one object (a targeted lookup).
    pub fn note(&self, repo: &Repo, id: &str) -> StoredNote {
        match &self.read {
            Err(why) => StoredNote::Unreadable(why.clone()),
            Ok(notes) => match repo.note(notes, id) {
                Ok(Some(bytes)) => StoredNote::Bundle(bytes),
                Ok(None) => StoredNote::None,
                Err(e) => StoredNote::Unreadable(e.to_string()),
            },
        }
    }

    /// Every note, for a run over many objects: a lookup per object is then a map access.
    pub fn index(&self, repo: &Repo) -> NotesIndex<'_> {
        NotesIndex {
            notes: self,
            index: match &self.read {
                Ok(notes) => repo.note_index(notes).map_err(|e| e.to_string()),
                Err(why) => Err(why.clone()),
            },
        }
    }
}

/// [`Notes`] with every note's blob id at hand.
pub struct NotesIndex<'a> {
    notes: &'a Notes,
    index: Result<NoteIndex, String>,
}

impl NotesIndex<'_> {
    pub fn note(&self, repo: &Repo, id: &str) -> StoredNote {
        let (Ok(notes), Ok(index)) = (&self.notes.read, &self.index) else {
            let why = match (&self.notes.read, &self.index) {
                (Err(why), _) | (_, Err(why)) => why.clone(),
                _ => String::new(),
            };
            return StoredNote::Unreadable(why);
        };
        match index.get(id) {
            None => StoredNote::None,
            Some(blob) => match repo.note_bytes(notes, id, blob) {
                Ok(bytes) => StoredNote::Bundle(bytes),
                Err(e) => StoredNote::Unreadable(e.to_string()),
            },
        }
    }
}

impl Verifier {
    /// Resolve trust root, policy and online lookup: flags first, then settings.
    pub fn new(
        settings: &Settings,
        trust: Option<&VerifyTrustArgs>,
        policy: Option<&PolicyArgs>,
    ) -> Result<Self, CliError> {
        let root =
            config::trusted_root_from(trust.and_then(|t| t.trusted_root.as_deref()), settings)?;
        let policy = policy_from(policy, settings)?;
        let rekor_url = match trust.and_then(|t| t.rekor_url.as_deref()) {
            Some(url) => Some(config::service_url("--rekor-url", url)?),
            None if settings.verify_online => Some(config::service_url(
                "signet.rekor (SIGNET_REKOR_URL)",
                &settings.rekor_url,
            )?),
            None => None,
        };
        let log = match rekor_url {
            Some(url) => {
                let http = HttpClient::with_timeout(settings.http_timeout)
                    .map_err(|e| CliError::usage(e, "this is a bug in signet"))?;
                Some(RekorClient::new(http, &url))
            }
            None => None,
        };
        Ok(Self {
            root,
            policy,
            log,
            notes_ref: settings.notes_ref.clone(),
            runtime: super::runtime()?,
        })
    }

    /// Verify one signature over one payload, with the object's stored bundle if it has one.
    pub fn verify(
        &self,
        payload: &[u8],
        armored: &[u8],
        object_id: Option<&str>,
        stored: Stored<'_>,
    ) -> Report {
        self.runtime.block_on(verify_signature(
            payload,
            armored,
            object_id,
            &self.root,
            &self.policy,
            stored,
            self.log.as_ref(),
        ))
    }

    /// [`Verifier::verify`] under another policy (a policy file's rule), for a stored object
    /// whose id is known. Safe to call from many threads at once.
    pub fn verify_with(
        &self,
        policy: &Policy,
        payload: &[u8],
        armored: &[u8],
        object_id: &str,
        stored: Stored<'_>,
    ) -> Report {
        let verify = verify_signature(
            payload,
            armored,
            Some(object_id),
            &self.root,
            policy,
            stored,
            self.log.as_ref(),
        );
        let mut verify = std::pin::pin!(verify);
        // Offline verification never waits on anything: one poll finishes it, without the
        // runtime's per-call overhead. An online lookup needs the runtime's I/O driver.
        if self.log.is_none() {
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            if let std::task::Poll::Ready(report) = verify.as_mut().poll(&mut cx) {
                return report;
            }
        }
        self.runtime.block_on(verify)
    }
}

fn policy_error(flag: &str, e: impl std::fmt::Display) -> CliError {
    CliError::usage(
        format!("{flag}: {e}"),
        "pass an exact value, or a regular expression (RE2 syntax) that matches the whole value",
    )
}

/// Flags first, each part on its own; then git config; the identity default is the committer
/// email (`None`).
pub fn policy_from(args: Option<&PolicyArgs>, settings: &Settings) -> Result<Policy, CliError> {
    let flag = |exact: Option<&String>,
                regex: Option<&String>,
                names: (&str, &str),
                what: &'static str|
     -> Result<Option<Matcher>, CliError> {
        match (exact, regex) {
            (Some(v), _) => Matcher::exact(v, what)
                .map(Some)
                .map_err(|e| policy_error(names.0, e)),
            (None, Some(r)) => Matcher::regex(r, what)
                .map(Some)
                .map_err(|e| policy_error(names.1, e)),
            (None, None) => Ok(None),
        }
    };
    let identity = flag(
        args.and_then(|a| a.certificate_identity.as_ref()),
        args.and_then(|a| a.certificate_identity_regexp.as_ref()),
        ("--certificate-identity", "--certificate-identity-regexp"),
        "identity",
    )?;
    let issuer = flag(
        args.and_then(|a| a.certificate_oidc_issuer.as_ref()),
        args.and_then(|a| a.certificate_oidc_issuer_regexp.as_ref()),
        (
            "--certificate-oidc-issuer",
            "--certificate-oidc-issuer-regexp",
        ),
        "issuer",
    )?;
    Ok(Policy {
        identity: identity.or_else(|| settings.verify_identity.clone()),
        issuer: issuer.or_else(|| settings.verify_issuer.clone()),
    })
}

/// What to do about a failure, by the check that failed.
pub fn failure_hint(f: &Failure) -> &'static str {
    match f.kind() {
        "content-mismatch" => "the commit or tag was changed after it was signed",
        "bad-signature" => {
            "the signature was altered, or made with another key than its certificate's"
        }
        "missing-log-entry" => {
            "this is a gitsign online-mode signature with no stored bundle: run signet notes fetch once to keep its log proof in refs/notes/signet (or fetch that ref from the remote), or look it up each time with --rekor-url https://rekor.sigstore.dev"
        }
        "bad-stored-bundle" | "stored-bundle-mismatch" => {
            "the bundle stored in the notes ref (signet.notesRef) is damaged or belongs to another commit; signet notes fetch replaces it with the log's proof"
        }
        "notes-unreadable" => {
            "the notes ref (signet.notesRef, default refs/notes/signet) must be a notes commit; check it with git log refs/notes/signet"
        }
        "unknown-log" | "untrusted-ca" | "bad-sct" => {
            "the signature comes from a Sigstore instance the trusted root does not describe; pass --trusted-root (or set signet.trustedRoot / SIGNET_TRUSTED_ROOT) to that instance's trusted_root.json"
        }
        "bad-set"
        | "bad-inclusion-proof"
        | "bad-checkpoint"
        | "bad-log-entry"
        | "log-body-mismatch"
        | "malformed-log-entry" => {
            "the embedded transparency log entry was altered, or belongs to another signature"
        }
        "certificate-not-valid-at-log-time" => {
            "the log recorded the signature outside the certificate's 10-minute validity"
        }
        "ca-not-valid-at-log-time" | "log-key-not-valid" => {
            "the trusted root does not trust that CA or log key at the time of signing"
        }
        "no-matching-log-entry" => {
            "the log holds no entry for this object signed with this certificate; check --rekor-url"
        }
        "log-search-failed" => {
            "check that the Rekor given by --rekor-url (or signet.rekor) is reachable"
        }
        "unsupported-algorithm" | "no-certificate" | "bad-certificate" => {
            "this signature was not made by signet or gitsign (Sigstore keyless)"
        }
        _ => "the signature is damaged or is not a Sigstore (signet or gitsign) signature",
    }
}

fn rules_text(verdict: &Verdict) -> String {
    verdict.rules.join(" and ")
}

/// Where the verified log entry came from, in words.
pub fn source_text(source: EvidenceSource) -> &'static str {
    match source {
        EvidenceSource::Embedded => "embedded",
        EvidenceSource::Searched => "found in the log",
        EvidenceSource::Stored => "from the stored bundle (git note)",
    }
}

fn evidence_text(v: &VerifiedSignature) -> String {
    let e = &v.evidence;
    let mut parts = vec!["signed entry timestamp"];
    if e.inclusion_proof {
        parts.push("inclusion proof");
    }
    if e.checkpoint {
        parts.push("checkpoint");
    }
    format!(
        "log entry {} ({}: {})",
        source_text(e.source),
        v.log_index,
        parts.join(", ")
    )
}

/// The lines `git verify-commit` and `git log --show-signature` show (gpg mode's stderr).
pub fn success_lines(v: &VerifiedSignature, verdict: &Verdict, what: &str) -> Vec<String> {
    let mut lines = vec![
        format!("Good signature from {}", v.identity),
        format!(
            "  OIDC issuer: {}",
            v.issuer.as_deref().unwrap_or("(none in the certificate)")
        ),
        format!(
            "  signed at:   {} (integrated time of {} entry {})",
            v.integrated_time, v.log_url, v.log_index
        ),
        format!(
            "  certificate: {} valid {} to {}, issued by {}",
            v.fingerprint, v.not_before, v.not_after, v.ca
        ),
    ];
    lines.extend(
        v.timestamps
            .iter()
            .map(|(t, tsa)| format!("  timestamp:   {t} by {tsa} (RFC 3161, trusted root)")),
    );
    lines.extend([
        format!(
            "  checked:     signature over the {what}, {}, certificate chain and SCT at the integrated time",
            evidence_text(v)
        ),
    ]);
    match verdict.trust {
        Trust::Fully => lines.push(format!("  policy:      {} (trusted)", rules_text(verdict))),
        _ => {
            for violation in &verdict.violations {
                lines.push(format!("  policy:      NOT MET: {violation}"));
            }
        }
    }
    lines
}

fn kind_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Commit => "commit",
        ObjectKind::Tag => "tag",
    }
}

pub fn open_repo() -> Result<Repo, CliError> {
    let dir = std::env::current_dir().map_err(|e| {
        CliError::usage(
            format!("cannot read the current directory: {e}"),
            "run signet inside a git repository",
        )
    })?;
    Repo::discover(&dir).map_err(repo_error)
}

pub fn repo_error(e: RepoError) -> CliError {
    let hint = match e {
        RepoError::NotARepository { .. } => "run signet inside a git repository",
        RepoError::BadRevision { .. } | RepoError::BadId { .. } => {
            "pass revisions as git understands them: HEAD, a branch, a tag, an id, or A..B"
        }
        RepoError::NoSuchTag { .. } | RepoError::NotAnnotatedTag { .. } => {
            "verify-tag verifies annotated tags (git tag -s); list them with git tag"
        }
        _ => "check the repository with git fsck",
    };
    CliError::usage(e, hint)
}

/// One object's result for the report.
struct Outcome {
    object: RawObject,
    result: Result<(VerifiedSignature, Verdict), (String, String, &'static str)>,
}

impl Outcome {
    fn ok(&self) -> bool {
        matches!(&self.result, Ok((_, v)) if v.trust == Trust::Fully)
    }
}

/// The failure kind and hint for an object whose signature cannot be taken out of it.
pub fn split_failure(e: &SplitError) -> (&'static str, &'static str) {
    match e {
        SplitError::NotSigned { .. } => (
            "not-signed",
            "sign commits with git commit -S and tags with git tag -s (signet setup configures git)",
        ),
        SplitError::DuplicateSignature { .. } => (
            "duplicate-signature",
            "a commit with two signature headers is refused: one of them could hide what was signed",
        ),
        _ => (
            "malformed-object",
            "the object's signature header is malformed; git fsck may say more",
        ),
    }
}

fn verify_object(verifier: &Verifier, repo: &Repo, notes: &Notes, object: RawObject) -> Outcome {
    let split = match signed_object::split(object.kind, &object.data) {
        Ok(s) => s,
        Err(e) => {
            let (kind, hint) = split_failure(&e);
            return Outcome {
                result: Err((kind.into(), e.to_string(), hint)),
                object,
            };
        }
    };
    let stored = if crate::core::gitsig::has_embedded_entry(&split.signature) {
        StoredNote::None
    } else {
        notes.note(repo, &object.id)
    };
    let report = verifier.verify(
        &split.payload,
        &split.signature,
        Some(&object.id),
        stored.as_stored(),
    );
    let result = match report.outcome {
        Ok(pair) => Ok(pair),
        Err(f) => Err((f.kind().to_owned(), f.to_string(), failure_hint(&f))),
    };
    Outcome { object, result }
}

fn print_outcomes(outcomes: &[Outcome], format: Format) -> Result<(), CliError> {
    match format {
        Format::Json => {
            let items: Vec<_> = outcomes.iter().map(outcome_json).collect();
            output::result_line(serde_json::Value::Array(items));
        }
        Format::Text => {
            let mut hints = Vec::new();
            for o in outcomes {
                let what = kind_name(o.object.kind);
                match &o.result {
                    Ok((v, verdict)) if verdict.trust == Trust::Fully => {
                        let stamps: String = v
                            .timestamps
                            .iter()
                            .map(|(t, tsa)| format!(", timestamp {t} by {tsa}"))
                            .collect();
                        output::result_line(format_args!(
                            "{what} {}: verified: signed by {} (issuer {}) at {}, {} entry {} ({}){stamps}; {}",
                            o.object.id,
                            v.identity,
                            v.issuer.as_deref().unwrap_or("none"),
                            v.integrated_time,
                            v.log_url,
                            v.log_index,
                            source_text(v.evidence.source),
                            rules_text(verdict)
                        ));
                    }
                    Ok((v, verdict)) => {
                        let why: Vec<String> =
                            verdict.violations.iter().map(ToString::to_string).collect();
                        output::result_line(format_args!(
                            "{what} {}: FAILED (policy): signed by {} but {}",
                            o.object.id,
                            v.identity,
                            why.join("; ")
                        ));
                        hints.push("pass --certificate-identity / --certificate-oidc-issuer (or set signet.verify.identity / signet.verify.issuer) for the signers you trust");
                    }
                    Err((kind, message, hint)) => {
                        output::result_line(format_args!(
                            "{what} {}: FAILED ({kind}): {message}",
                            o.object.id
                        ));
                        hints.push(hint);
                    }
                }
            }
            let mut seen = HashSet::new();
            for hint in hints.into_iter().filter(|h| seen.insert(*h)) {
                output::hint(hint);
            }
        }
    }
    let failed = outcomes.iter().filter(|o| !o.ok()).count();
    if failed == 0 {
        return Ok(());
    }
    Err(CliError {
        kind: Kind::Verification,
        message: format!(
            "{failed} of {} object{} did not verify",
            outcomes.len(),
            if outcomes.len() == 1 { "" } else { "s" }
        ),
        hint: None,
    })
}

fn time_json(t: UnixTime) -> serde_json::Value {
    json!({"unix": t.0, "rfc3339": t.to_string()})
}

fn outcome_json(o: &Outcome) -> serde_json::Value {
    let mut v = json!({
        "object": o.object.id,
        "type": kind_name(o.object.kind),
        "verified": o.ok(),
    });
    match &o.result {
        Ok((s, verdict)) => {
            v["signature"] = json!({
                "identity": s.identity,
                "issuer": s.issuer,
                "fingerprint": s.fingerprint,
                "integratedTime": time_json(s.integrated_time),
                "logIndex": s.log_index,
                "logUrl": s.log_url,
                "certificateNotBefore": time_json(s.not_before),
                "certificateNotAfter": time_json(s.not_after),
                "ca": s.ca,
                "timestamps": s.timestamps.iter().map(|(t, tsa)| json!({
                    "time": time_json(*t),
                    "authority": tsa,
                })).collect::<Vec<_>>(),
                "evidence": {
                    "source": s.evidence.source.name(),
                    "searched": s.evidence.source == EvidenceSource::Searched,
                    "signedEntryTimestamp": s.evidence.signed_entry_timestamp,
                    "inclusionProof": s.evidence.inclusion_proof,
                    "checkpoint": s.evidence.checkpoint,
                },
            });
            v["policy"] = json!({
                "trust": verdict.trust.as_str(),
                "rules": verdict.rules,
                "violations": verdict.violations.iter().map(ToString::to_string).collect::<Vec<_>>(),
            });
        }
        Err((kind, message, hint)) => {
            v["error"] = json!({"kind": kind, "message": message, "hint": hint});
        }
    }
    v
}

/// An identity without an issuer accepts that identity from any issuer the trusted root's CAs
/// certify; say so, as cosign requires both.
pub fn warn_if_issuer_missing(policy: &Policy) {
    if let (Some(identity), None) = (&policy.identity, &policy.issuer) {
        output::warning(format_args!(
            "no OIDC issuer is required, so {identity} is accepted from any issuer the trusted root's CAs certify; pass --certificate-oidc-issuer (or set signet.verify.issuer)"
        ));
    }
}

/// `signet verify [REV...]`.
pub fn run_verify(args: VerifyArgs) -> Result<(), CliError> {
    let settings = settings::load()?;
    let history = args.all
        || args.ancestry
        || args.policy_file.is_some()
        || settings.policy.is_some()
        || args.revs.iter().any(|r| r.contains(".."));
    if history {
        return super::history::run_history(&args, &settings);
    }
    if args.for_ref.is_some() {
        return Err(CliError::usage(
            "--ref chooses a policy file's rule, and no policy file is in use",
            "pass --policy FILE (or set signet.policy), or drop --ref",
        ));
    }
    let revs = if args.revs.is_empty() {
        vec!["HEAD".to_owned()]
    } else {
        args.revs.clone()
    };
    let verifier = Verifier::new(&settings, Some(&args.trust), Some(&args.policy))?;
    warn_if_issuer_missing(&verifier.policy);
    let repo = open_repo()?;
    let mut ids: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for rev in &revs {
        for id in repo.resolve(rev).map_err(repo_error)? {
            if seen.insert(id.clone()) {
                ids.push(id);
            }
        }
    }
    if ids.is_empty() {
        return Err(CliError::usage(
            format!("{} selects no commits", revs.join(" ")),
            "an empty range verifies nothing; check the revisions",
        ));
    }
    let notes = Notes::open(&repo, &verifier.notes_ref);
    let outcomes = ids
        .iter()
        .map(|id| {
            Ok(verify_object(
                &verifier,
                &repo,
                &notes,
                repo.read(id).map_err(repo_error)?,
            ))
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    print_outcomes(&outcomes, args.trust.format)
}

/// `signet verify-tag TAG`.
pub fn run_verify_tag(args: VerifyTagArgs) -> Result<(), CliError> {
    let settings = settings::load()?;
    let verifier = Verifier::new(&settings, Some(&args.trust), Some(&args.policy))?;
    warn_if_issuer_missing(&verifier.policy);
    let repo = open_repo()?;
    let id = repo.tag(&args.tag).map_err(repo_error)?;
    let object = repo.read(&id).map_err(repo_error)?;
    let notes = Notes::open(&repo, &verifier.notes_ref);
    print_outcomes(
        &[verify_object(&verifier, &repo, &notes, object)],
        args.trust.format,
    )
}

fn opt_time(t: Option<UnixTime>) -> serde_json::Value {
    t.map_or(serde_json::Value::Null, time_json)
}

/// The one signed commit or tag `rev` names, split into payload and signature, for commands
/// that take exactly one (`show`, `bundle`); `command` names the command in messages.
pub fn single_signed_object(
    repo: &Repo,
    rev: &str,
    command: &str,
) -> Result<(RawObject, signed_object::SignedObject), CliError> {
    let ids = repo.resolve(rev).map_err(repo_error)?;
    let [id] = ids.as_slice() else {
        return Err(CliError::usage(
            format!("{rev} selects {} objects", ids.len()),
            format!(
                "signet {command} takes one commit or annotated tag; use signet verify for ranges"
            ),
        ));
    };
    let object = repo.read(id).map_err(repo_error)?;
    let split = signed_object::split(object.kind, &object.data).map_err(|e| CliError {
        kind: Kind::Verification,
        message: format!("{} {id}: {e}", kind_name(object.kind)),
        hint: Some(format!("signet {command} reads signed commits and tags")),
    })?;
    Ok((object, split))
}

/// `signet show [REV]`.
pub fn run_show(args: ShowArgs) -> Result<(), CliError> {
    let repo = open_repo()?;
    let (object, split) = single_signed_object(&repo, &args.rev, "show")?;
    let id = &object.id;
    let facts = crate::core::gitsig::facts(&split.signature).map_err(|e| CliError {
        kind: Kind::Verification,
        message: format!("{} {id}: {e}", kind_name(object.kind)),
        hint: Some(
            "the signature is damaged or is not a Sigstore (signet or gitsign) signature".into(),
        ),
    })?;
    let entry = facts.log_entry.as_ref();
    match args.format {
        Format::Json => output::result_line(json!({
            "object": id,
            "type": kind_name(object.kind),
            "identity": facts.identity,
            "issuer": facts.issuer,
            "fingerprint": facts.fingerprint,
            "certificateNotBefore": opt_time(facts.not_before),
            "certificateNotAfter": opt_time(facts.not_after),
            "claimedSigningTime": opt_time(facts.claimed_signing_time),
            "messageDigest": facts.message_digest,
            "logEntry": entry.map(|e| json!({
                "logIndex": e.log_index,
                "logId": e.log_id,
                "kind": e.kind,
                "integratedTime": time_json(e.integrated_time),
                "signedEntryTimestamp": e.has_signed_entry_timestamp,
                "inclusionProof": e.inclusion_proof.as_ref().map(|p| json!({
                    "treeSize": p.tree_size,
                    "rootHash": p.root_hash,
                    "checkpointOrigin": p.checkpoint_origin,
                })),
            })),
        })),
        Format::Text => {
            let unknown = || "(unknown)".to_owned();
            let t = |t: Option<UnixTime>| t.map_or_else(unknown, |t| t.to_string());
            let mut lines = vec![
                format!("{} {id}", kind_name(object.kind)),
                format!(
                    "identity:       {}",
                    facts.identity.clone().unwrap_or_else(unknown)
                ),
                format!(
                    "OIDC issuer:    {}",
                    facts.issuer.clone().unwrap_or_else(unknown)
                ),
                format!(
                    "certificate:    {}",
                    facts.fingerprint.clone().unwrap_or_else(unknown)
                ),
                format!(
                    "valid:          {} to {}",
                    t(facts.not_before),
                    t(facts.not_after)
                ),
                format!(
                    "signing time:   {} (the signer's clock, not verified)",
                    t(facts.claimed_signing_time)
                ),
            ];
            match entry {
                None => lines.push(
                    "log entry:      none embedded (gitsign online mode: the entry is only in the log)"
                        .into(),
                ),
                Some(e) => {
                    lines.push(format!("log entry:      index {} in log {}", e.log_index, e.log_id));
                    lines.push(format!("integrated:     {}", e.integrated_time));
                    lines.push(format!(
                        "evidence:       {}",
                        match &e.inclusion_proof {
                            Some(p) => format!(
                                "{}inclusion proof in a tree of {} (root {}){}",
                                if e.has_signed_entry_timestamp { "signed entry timestamp, " } else { "" },
                                p.tree_size,
                                p.root_hash,
                                p.checkpoint_origin
                                    .as_deref()
                                    .map(|o| format!(", checkpoint of {o}"))
                                    .unwrap_or_default()
                            ),
                            None if e.has_signed_entry_timestamp => "signed entry timestamp".into(),
                            None => "none".into(),
                        }
                    ));
                }
            }
            lines.push("not verified: run signet verify to check it".into());
            for line in lines {
                output::result_line(line);
            }
        }
    }
    Ok(())
}
