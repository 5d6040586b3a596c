//! Verifying many commits and tags in one process: `signet verify A..B`, `--all`, `--ancestry`
//! and the pre-receive hook. One thread walks the history with gix and hands each commit's
//! stored bytes to a pool of verifier threads; a collector keeps only the counts and the
//! failures. Work shared between commits (the trusted root, certificate chains, SCTs and
//! checkpoint signatures) is done once: the root is parsed once per run and the signature checks
//! of shared evidence are remembered ([`crate::core::keys::PublicKey::verify_shared`]).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use serde_json::json;
use sha1::Digest as _;

use super::args::{Format, VerifyArgs};
use super::error::{CliError, Kind};
use super::output;
use super::settings::Settings;
use super::verify::{
    Notes, NotesIndex, StoredNote, Verifier, failure_hint, open_repo, repo_error, split_failure,
    warn_if_issuer_missing,
};
use crate::adapters::fs;
use crate::adapters::repo::{Repo, RepoError};
use crate::core::gitobject::ObjectKind;
use crate::core::gitsig::EvidenceSource;
use crate::core::policy::{Policy, Trust};
use crate::core::policy_file::{self, MAX_POLICY_BYTES, PolicyFile, Rule};
use crate::core::signed_object;

/// What to verify under one rule: the commits reachable from `tips` and not from `hidden`, plus
/// `objects` (tag objects and single revisions) on their own.
#[derive(Debug, Clone)]
pub struct Walk {
    /// Index into the policy file's rules.
    pub rule: usize,
    /// The ref (or revision text) this walk verifies, for messages.
    pub label: Arc<str>,
    pub tips: Vec<String>,
    pub hidden: Vec<String>,
    pub objects: Vec<String>,
    /// Under an `allow-merged-history` rule (a first-parent walk): commits already vouched
    /// for, at which the walk of a single tip stops. A first-parent walk cannot use `hidden`
    /// for that, because hiding a commit hides everything it reaches through any parent,
    /// including merged-in history nobody checked.
    pub stop_at: Option<Arc<HashSet<String>>>,
}

/// Commits and tags larger than this are not verified but reported (`too-large`): real ones are
/// a few KiB, and the verifier queue holds many at once.
pub const MAX_VERIFY_BYTES: usize = 1024 * 1024;

/// One object that did not pass, with what the pusher or auditor needs to act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFailure {
    /// Position in the walk, for a stable report order.
    pub seq: u64,
    pub label: Arc<str>,
    pub kind: ObjectKind,
    pub id: String,
    /// The first line of the message (control characters escaped when printed).
    pub subject: String,
    /// The failed check (`not-signed`, `content-mismatch`, `policy`, ...).
    pub reason: String,
    pub message: String,
    pub hint: String,
}

/// What a run found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Objects looked at (commits and tags).
    pub objects: u64,
    pub verified: u64,
    pub failed: u64,
    /// Objects without a signature (failed, or allowed by the rule).
    pub unsigned: u64,
    pub unsigned_allowed: u64,
    /// Listed in `exempt-commits`.
    pub exempt: u64,
    /// Verified from a stored bundle (a git note) rather than an embedded entry.
    pub from_notes: u64,
    /// Verified objects per certificate identity.
    pub by_identity: BTreeMap<String, u64>,
    /// Sorted by walk position.
    pub failures: Vec<ObjectFailure>,
}

impl Summary {
    pub fn ok(&self) -> bool {
        self.failed == 0
    }
}

/// The verdict on one object.
enum Judgement {
    Verified { identity: String, stored: bool },
    Exempt,
    UnsignedAllowed,
    Failed(Failed),
}

struct Failed {
    reason: String,
    message: String,
    hint: String,
    unsigned: bool,
}

struct Job {
    seq: u64,
    walk: usize,
    id: String,
    kind: ObjectKind,
    /// Empty when the object is over [`MAX_VERIFY_BYTES`] (its size is in `too_large`).
    data: Vec<u8>,
    too_large: Option<usize>,
    /// The object's stored bundle, read by the walker (verifier threads have no repository).
    note: StoredNote,
}

struct Done {
    seq: u64,
    walk: usize,
    id: String,
    kind: ObjectKind,
    subject: String,
    judgement: Judgement,
}

const POLICY_HINT: &str = "the signer is not one the policy allows for this ref; check the rule's identities and issuers (signet.policy), or re-sign the commit as an allowed identity";

/// The first line of a commit or tag message, at most 100 characters.
pub fn subject(data: &[u8]) -> String {
    let body = data
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(&data[data.len()..], |at| &data[at + 2..]);
    let line = body.split(|&b| b == b'\n').next().unwrap_or_default();
    let text = String::from_utf8_lossy(line);
    let mut out: String = text.chars().take(100).collect();
    if text.chars().count() > 100 {
        out.push('…');
    }
    out
}

/// The id git gives `data` as an object of `kind`, in the repository's hash (by `hex_len`).
fn object_id(kind: ObjectKind, data: &[u8], hex_len: usize) -> String {
    let name = match kind {
        ObjectKind::Commit => "commit",
        ObjectKind::Tag => "tag",
    };
    let header = format!("{name} {}\0", data.len());
    if hex_len == 64 {
        hex::encode(
            sha2::Sha256::new()
                .chain_update(header)
                .chain_update(data)
                .finalize(),
        )
    } else {
        hex::encode(
            sha1::Sha1::new()
                .chain_update(header)
                .chain_update(data)
                .finalize(),
        )
    }
}

fn judge(verifier: &Verifier, rule: &Rule, exempt: &HashSet<String>, job: &Job) -> Judgement {
    if exempt.contains(&job.id) {
        return Judgement::Exempt;
    }
    let split = match signed_object::split(job.kind, &job.data) {
        Ok(split) => split,
        Err(e) => {
            let (reason, hint) = split_failure(&e);
            let unsigned = reason == "not-signed";
            if unsigned && rule.allow_unsigned {
                return Judgement::UnsignedAllowed;
            }
            return Judgement::Failed(Failed {
                reason: reason.into(),
                message: e.to_string(),
                hint: hint.into(),
                unsigned,
            });
        }
    };
    let report = verifier.verify_with(
        &rule.policy,
        &split.payload,
        &split.signature,
        &job.id,
        job.note.as_stored(),
    );
    match report.outcome {
        Ok((v, verdict)) if verdict.trust == Trust::Fully => Judgement::Verified {
            identity: v.identity,
            stored: v.evidence.source == EvidenceSource::Stored,
        },
        Ok((v, verdict)) => {
            let why: Vec<String> = verdict.violations.iter().map(ToString::to_string).collect();
            Judgement::Failed(Failed {
                reason: "policy".into(),
                message: format!(
                    "signed by {} (issuer {}) but {}",
                    v.identity,
                    v.issuer.as_deref().unwrap_or("none"),
                    why.join("; ")
                ),
                hint: POLICY_HINT.into(),
                unsigned: false,
            })
        }
        Err(f) => Judgement::Failed(Failed {
            reason: f.kind().into(),
            message: f.to_string(),
            hint: failure_hint(&f).into(),
            unsigned: false,
        }),
    }
}

/// A failure that is not about one object's signature (a ref with no rule): reported like the
/// others, with the object's type and subject when it can be read.
pub fn failure(
    repo: &Repo,
    label: &Arc<str>,
    id: &str,
    reason: &str,
    message: String,
    hint: &str,
) -> ObjectFailure {
    let (kind, subject) = match repo.read(id) {
        Ok(object) => (object.kind, self::subject(&object.data)),
        Err(_) => (ObjectKind::Commit, String::new()),
    };
    ObjectFailure {
        seq: u64::MAX,
        label: Arc::clone(label),
        kind,
        id: id.to_owned(),
        subject,
        reason: reason.into(),
        message,
        hint: hint.into(),
    }
}

/// Verify everything `walks` select, on `jobs` threads. Every object is verified under the rule
/// of the walk that reached it; exempt history is hidden by the caller (in `Walk::hidden`).
pub fn run(
    repo: &Repo,
    verifier: &Verifier,
    notes: &Notes,
    policy: &PolicyFile,
    walks: &[Walk],
    jobs: usize,
) -> Result<Summary, RepoError> {
    let jobs = jobs.clamp(1, 64);
    let exempt: HashSet<String> = policy.exempt_commits.iter().cloned().collect();
    let hex_len = repo.hex_len();
    // Batches, not single commits: one channel hand-off (and thread wake-up) per BATCH commits.
    let (job_tx, job_rx) = mpsc::sync_channel::<Vec<Job>>(jobs * 4);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<Vec<Done>>();

    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let done_tx = done_tx.clone();
            let (job_rx, exempt) = (&job_rx, &exempt);
            scope.spawn(move || {
                loop {
                    // A poisoned lock means another worker panicked: stop taking work.
                    let next = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(batch) = next else { return };
                    let done: Vec<Done> = batch
                        .into_iter()
                        .map(|job| work(verifier, policy, walks, exempt, hex_len, job))
                        .collect();
                    if done_tx.send(done).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let collector = scope.spawn(move || {
            let mut summary = Summary::default();
            for done in done_rx.into_iter().flatten() {
                summary.objects += 1;
                match done.judgement {
                    Judgement::Verified { identity, stored } => {
                        summary.verified += 1;
                        summary.from_notes += u64::from(stored);
                        *summary.by_identity.entry(identity).or_default() += 1;
                    }
                    Judgement::Exempt => summary.exempt += 1,
                    Judgement::UnsignedAllowed => {
                        summary.unsigned += 1;
                        summary.unsigned_allowed += 1;
                    }
                    Judgement::Failed(f) => {
                        summary.failed += 1;
                        if f.unsigned {
                            summary.unsigned += 1;
                        }
                        summary.failures.push(ObjectFailure {
                            seq: done.seq,
                            label: Arc::clone(&walks[done.walk].label),
                            kind: done.kind,
                            id: done.id,
                            subject: done.subject,
                            reason: f.reason,
                            message: f.message,
                            hint: f.hint,
                        });
                    }
                }
            }
            summary.failures.sort_by_key(|f| f.seq);
            summary
        });

        let notes = notes.index(repo);
        let walked = feed(repo, &notes, policy, walks, &job_tx);
        drop(job_tx);
        let summary = collector
            .join()
            .map_err(|_| RepoError::Git("a verifier thread panicked".into()))?;
        walked.map(|()| summary)
    })
}

/// The walker: every object of every walk, in order, into the job queue.
fn feed(
    repo: &Repo,
    notes: &NotesIndex<'_>,
    policy: &PolicyFile,
    walks: &[Walk],
    jobs: &mpsc::SyncSender<Vec<Job>>,
) -> Result<(), RepoError> {
    let mut batcher = Batcher {
        jobs,
        batch: Vec::with_capacity(BATCH),
        bytes: 0,
    };
    let mut seq = 0u64;
    for (index, walk) in walks.iter().enumerate() {
        for id in &walk.objects {
            let object = repo.read(id)?;
            seq += 1;
            let note = notes.note(repo, &object.id);
            let job = Job::new(seq, index, object.id, object.kind, &object.data, note);
            if !batcher.push(job) {
                return Err(RepoError::Git("the verifier threads stopped".into()));
            }
        }
        let mut stopped = false;
        // allow-merged-history: only the first-parent chain answers to the rule.
        let first_parent = policy.rules[walk.rule].allow_merged_history;
        repo.walk_each(&walk.tips, &walk.hidden, first_parent, |id, data| {
            if let Some(stop) = &walk.stop_at
                && stop.contains(id)
            {
                // The rest of this first-parent chain is vouched for (one tip per such walk).
                return false;
            }
            seq += 1;
            let note = notes.note(repo, id);
            let job = Job::new(seq, index, id.to_owned(), ObjectKind::Commit, data, note);
            stopped = !batcher.push(job);
            !stopped
        })?;
        if stopped {
            return Err(RepoError::Git("the verifier threads stopped".into()));
        }
    }
    if !batcher.flush() {
        return Err(RepoError::Git("the verifier threads stopped".into()));
    }
    Ok(())
}

impl Job {
    fn new(
        seq: u64,
        walk: usize,
        id: String,
        kind: ObjectKind,
        data: &[u8],
        note: StoredNote,
    ) -> Job {
        let too_large = (data.len() > MAX_VERIFY_BYTES).then_some(data.len());
        Job {
            seq,
            walk,
            id,
            kind,
            data: if too_large.is_some() {
                Vec::new()
            } else {
                data.to_vec()
            },
            too_large,
            note,
        }
    }
}

/// Commits per hand-off between the walker and the verifiers, and the bytes after which a
/// batch goes early: the queue holds at most a few batches per verifier, so memory stays
/// bounded whatever the objects' sizes.
const BATCH: usize = 32;
const BATCH_BYTES: usize = 1024 * 1024;

struct Batcher<'a> {
    jobs: &'a mpsc::SyncSender<Vec<Job>>,
    batch: Vec<Job>,
    bytes: usize,
}

impl Batcher<'_> {
    /// Queue `job`; false when the verifiers are gone.
    fn push(&mut self, job: Job) -> bool {
        self.bytes += job.data.len();
        self.batch.push(job);
        (self.batch.len() < BATCH && self.bytes < BATCH_BYTES) || self.flush()
    }

    fn flush(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        self.bytes = 0;
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.jobs.send(batch).is_ok()
    }
}

/// One object through the checks, in a verifier thread. A panic in the checks is caught and
/// reported as a failure of that object (never a pass, never a hang of the walker).
fn work(
    verifier: &Verifier,
    policy: &PolicyFile,
    walks: &[Walk],
    exempt: &HashSet<String>,
    hex_len: usize,
    job: Job,
) -> Done {
    let failed = |reason: &str, message: String, hint: &str| {
        Judgement::Failed(Failed {
            reason: reason.into(),
            message,
            hint: hint.into(),
            unsigned: false,
        })
    };
    let rule = &policy.rules[walks[job.walk].rule];
    let judgement = if let Some(size) = job.too_large {
        failed(
            "too-large",
            format!(
                "the object is {size} bytes, more than the {MAX_VERIFY_BYTES} bytes signet verifies"
            ),
            "real commits and tags are a few KiB; this one is hostile or broken",
        )
    } else if object_id(job.kind, &job.data, hex_len) != job.id {
        failed(
            "corrupt-object",
            "the stored bytes do not hash to the object id".into(),
            "the repository is damaged; run git fsck",
        )
    } else {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            judge(verifier, rule, exempt, &job)
        }))
        .unwrap_or_else(|_| {
            failed(
                "internal-error",
                "signet failed while verifying this object".into(),
                "this is a bug in signet; please report it",
            )
        })
    };
    let subject = match judgement {
        Judgement::Failed(_) => subject(&job.data),
        _ => String::new(),
    };
    Done {
        seq: job.seq,
        walk: job.walk,
        id: job.id,
        kind: job.kind,
        subject,
        judgement,
    }
}

// --- `signet verify` in history mode ---

/// Where the policy comes from: `--policy`, else `signet.policy`, else one rule for every ref
/// built from the --certificate-* flags and signet.verify.* (`fallback`).
pub fn load_policy(
    flag: Option<&Path>,
    settings: &Settings,
    git_dir: Option<&Path>,
    fallback: impl FnOnce() -> Result<Policy, CliError>,
) -> Result<(PolicyFile, Option<PathBuf>), CliError> {
    let path = match (flag, &settings.policy) {
        (Some(p), _) => Some(p.to_path_buf()),
        (None, Some((p, true))) if p.is_relative() => {
            Some(git_dir.map_or_else(|| p.clone(), |dir| dir.join(p)))
        }
        (None, Some((p, _))) => Some(p.clone()),
        (None, None) => None,
    };
    let Some(path) = path else {
        return Ok((PolicyFile::single(fallback()?), None));
    };
    let bytes = fs::read_limited(&path, MAX_POLICY_BYTES).map_err(|e| {
        CliError::usage(
            format!("cannot read the policy file {}: {e}", path.display()),
            "check --policy or git config signet.policy (a relative path in git config is relative to the git directory)",
        )
    })?;
    let file = policy_file::parse(&bytes, &path.display().to_string()).map_err(|e| {
        CliError::usage(
            format!("invalid policy: {e}"),
            "fix the policy file; docs/policy.md describes every key",
        )
    })?;
    Ok((file, Some(path)))
}

/// The commits of `exempt-history` that this repository has (missing ones are reported once).
pub fn exempt_hidden(repo: &Repo, policy: &PolicyFile) -> Result<Vec<String>, CliError> {
    let mut hidden = Vec::new();
    for id in &policy.exempt_history {
        if id.len() != repo.hex_len() {
            output::warning(format_args!(
                "exempt-history id {id} is not a {}-digit id of this repository; it is ignored",
                repo.hex_len()
            ));
            continue;
        }
        match repo.contains(id) {
            Ok(true) => hidden.push(repo.peel(id).map_err(repo_error)?),
            Ok(false) => output::warning(format_args!(
                "exempt-history commit {id} is not in this repository; it is ignored"
            )),
            Err(e) => return Err(repo_error(e)),
        }
    }
    Ok(hidden)
}

pub fn label_for(refs: &[String]) -> Arc<str> {
    match refs {
        [one] => one.as_str().into(),
        more => {
            let shown: Vec<&str> = more.iter().take(3).map(String::as_str).collect();
            if more.len() > 3 {
                format!("{} and {} more refs", shown.join(", "), more.len() - 3).into()
            } else {
                shown.join(", ").into()
            }
        }
    }
}

/// The index of the first rule matching `refname`.
pub fn rule_index(policy: &PolicyFile, refname: &str) -> Option<usize> {
    policy
        .rules
        .iter()
        .position(|r| r.refs.iter().any(|p| p.matches(refname)))
}

/// What a ref points at, for walking: annotated tag objects to verify on their own (the chain
/// of tags, outermost first) and the commit it ends in, if any.
pub struct RefTarget {
    pub tags: Vec<String>,
    pub commit: Option<String>,
}

/// Peel `id` tag by tag (at most 32) into [`RefTarget`]. A ref or tag that ends in a tree or
/// blob has no commit.
pub fn ref_target(repo: &Repo, id: &str) -> Result<RefTarget, RepoError> {
    let mut tags = Vec::new();
    let mut current = id.to_owned();
    for _ in 0..32 {
        match repo.kind(&current) {
            Ok(ObjectKind::Commit) => {
                return Ok(RefTarget {
                    tags,
                    commit: Some(current),
                });
            }
            Ok(ObjectKind::Tag) => {
                let object = repo.read(&current)?;
                tags.push(current);
                match crate::core::gitobject::tag_target(&object.data) {
                    Some(next) => current = next,
                    None => return Ok(RefTarget { tags, commit: None }),
                }
            }
            Err(RepoError::WrongKind { .. }) => return Ok(RefTarget { tags, commit: None }),
            Err(e) => return Err(e),
        }
    }
    Err(RepoError::TagChainTooDeep {
        id: id.to_owned(),
        depth: 32,
    })
}

/// A ref that points straight at a tree or blob: no signature can cover it.
pub const NOT_A_COMMIT_HINT: &str = "a ref governed by a rule that requires signatures must point at a signed commit or annotated tag; allow-unsigned accepts others";

/// Walks grouped by rule and kind of ref (branches, tags): every ref added to a group adds its
/// tag objects and its commit to one walk, so objects several refs share are verified once.
#[derive(Default)]
pub struct Groups {
    map: BTreeMap<(usize, bool), (Vec<String>, Walk)>,
}

impl Groups {
    /// Add ref `name` (a tag ref when `is_tag`) under `rule`; `hidden` is called for the first
    /// ref of a group only.
    pub fn add(
        &mut self,
        rule: usize,
        is_tag: bool,
        name: &str,
        target: &RefTarget,
        hidden: impl FnOnce() -> Vec<String>,
    ) {
        let (names, walk) = self.map.entry((rule, is_tag)).or_insert_with(|| {
            (
                Vec::new(),
                Walk {
                    rule,
                    label: name.into(),
                    tips: Vec::new(),
                    hidden: hidden(),
                    objects: Vec::new(),
                    stop_at: None,
                },
            )
        });
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
        for tag in &target.tags {
            if !walk.objects.contains(tag) {
                walk.objects.push(tag.clone());
            }
        }
        if let Some(tip) = &target.commit
            && !walk.tips.contains(tip)
        {
            walk.tips.push(tip.clone());
        }
    }

    /// The walks, each labelled with the refs it covers.
    pub fn into_walks(self) -> Vec<Walk> {
        self.map
            .into_values()
            .map(|(names, mut walk)| {
                walk.label = label_for(&names);
                walk
            })
            .collect()
    }
}

/// `--all`: one walk per rule and kind of ref (branches, tags). Commits reachable from a branch
/// answer to the branch's rule; a tag's rule covers the tag objects and the commits only tags
/// reach (branch tips are hidden from tag walks). Refs with no rule are failures.
fn walks_for_all(
    repo: &Repo,
    policy: &PolicyFile,
    hidden: &[String],
    problems: &mut Vec<ObjectFailure>,
) -> Result<Vec<Walk>, CliError> {
    let refs: Vec<(String, String)> = repo
        .refs()
        .map_err(repo_error)?
        .into_iter()
        .filter(|(name, _)| name.starts_with("refs/heads/") || name.starts_with("refs/tags/"))
        .collect();
    let targets = refs
        .iter()
        .map(|(_, target)| ref_target(repo, target).map_err(repo_error))
        .collect::<Result<Vec<_>, _>>()?;
    let branch_tips: Vec<String> = refs
        .iter()
        .zip(&targets)
        .filter(|((name, _), _)| name.starts_with("refs/heads/"))
        .filter_map(|(_, t)| t.commit.clone())
        .collect();
    let mut groups = Groups::default();
    for ((name, target), resolved) in refs.iter().zip(targets) {
        let label: Arc<str> = name.as_str().into();
        let Some(rule) = rule_index(policy, name) else {
            problems.push(failure(
                repo,
                &label,
                target,
                "no-rule",
                format!("no policy rule matches {name}"),
                NO_RULE_HINT,
            ));
            continue;
        };
        if resolved.tags.is_empty()
            && resolved.commit.is_none()
            && !policy.rules[rule].allow_unsigned
        {
            problems.push(failure(
                repo,
                &label,
                target,
                "not-a-commit",
                format!("{name} points at a tree or blob, which carries no signature"),
                NOT_A_COMMIT_HINT,
            ));
            continue;
        }
        let is_tag = name.starts_with("refs/tags/");
        groups.add(rule, is_tag, name, &resolved, || {
            let mut hidden = hidden.to_vec();
            if is_tag {
                hidden.extend(branch_tips.iter().cloned());
            }
            hidden
        });
    }
    Ok(groups.into_walks())
}

pub const NO_RULE_HINT: &str = "add a [[rule]] whose refs match it (a catch-all refs = [\"refs/**\"] last), see docs/policy.md";

/// Explicit revisions: `A..B` walks B minus A, `REV --ancestry` walks REV's history, `REV` is
/// one object. All under the rule of `--ref` (default: the current branch).
fn walks_for_revs(
    repo: &Repo,
    policy: &PolicyFile,
    args: &VerifyArgs,
    hidden: &[String],
    from_file: bool,
) -> Result<Vec<Walk>, CliError> {
    let refname = match &args.for_ref {
        Some(r) => Some(r.clone()),
        None => repo.head_ref_name().map_err(repo_error)?,
    };
    let rule = match (&refname, from_file) {
        // One rule for everything (no policy file): no ref needed.
        (_, false) => 0,
        (Some(name), true) => policy
            .rules
            .iter()
            .position(|r| r.refs.iter().any(|p| p.matches(name)))
            .ok_or_else(|| {
                CliError::usage(
                    format!("no policy rule matches {name}"),
                    "pass --ref with a ref the policy has a rule for, or add a rule (see docs/policy.md)",
                )
            })?,
        (None, true) => {
            return Err(CliError::usage(
                "HEAD is detached, so it is not known which policy rule applies",
                "pass --ref REFNAME (e.g. --ref refs/heads/main)",
            ));
        }
    };
    let revs = if args.revs.is_empty() {
        vec!["HEAD".to_owned()]
    } else {
        args.revs.clone()
    };
    let mut walks = Vec::new();
    for rev in &revs {
        let label: Arc<str> = rev.as_str().into();
        let mut walk = Walk {
            rule,
            label,
            tips: Vec::new(),
            hidden: hidden.to_vec(),
            objects: Vec::new(),
            stop_at: None,
        };
        if let Some((from, to)) = rev.split_once("..") {
            if rev.contains("...") {
                return Err(CliError::usage(
                    format!("{rev}: symmetric differences (A...B) are not supported"),
                    "use A..B",
                ));
            }
            let side = |s: &str| -> Result<String, CliError> {
                let s = if s.is_empty() { "HEAD" } else { s };
                let ids = repo.resolve(s).map_err(repo_error)?;
                let [id] = ids.as_slice() else {
                    return Err(CliError::usage(
                        format!("{s} is not one revision"),
                        "use A..B with single revisions on both sides",
                    ));
                };
                repo.peel(id).map_err(repo_error)
            };
            walk.tips.push(side(to)?);
            walk.hidden.push(side(from)?);
        } else {
            for id in repo.resolve(rev).map_err(repo_error)? {
                if args.ancestry {
                    let resolved = ref_target(repo, &id).map_err(repo_error)?;
                    walk.objects.extend(resolved.tags);
                    walk.tips.extend(resolved.commit);
                } else {
                    walk.objects.push(id);
                }
            }
        }
        walks.push(walk);
    }
    Ok(walks)
}

/// `signet verify` over a range, `--ancestry` or `--all`, or with a policy file.
pub fn run_history(args: &VerifyArgs, settings: &Settings) -> Result<(), CliError> {
    let policy_flags = [
        &args.policy.certificate_identity,
        &args.policy.certificate_identity_regexp,
        &args.policy.certificate_oidc_issuer,
        &args.policy.certificate_oidc_issuer_regexp,
    ];
    if args.policy_file.is_some() && policy_flags.iter().any(|f| f.is_some()) {
        return Err(CliError::usage(
            "--policy and --certificate-* flags both say who may sign",
            "pass either a policy file or the --certificate-* flags",
        ));
    }
    let verifier = Verifier::new(settings, Some(&args.trust), Some(&args.policy))?;
    let repo = open_repo()?;
    let (policy, policy_path) = load_policy(
        args.policy_file.as_deref(),
        settings,
        Some(repo.git_dir()),
        || Ok(verifier.policy.clone()),
    )?;
    if policy_path.is_none() {
        warn_if_issuer_missing(&verifier.policy);
    }
    let hidden = exempt_hidden(&repo, &policy)?;
    let mut problems = Vec::new();
    let walks = if args.all {
        walks_for_all(&repo, &policy, &hidden, &mut problems)?
    } else {
        walks_for_revs(&repo, &policy, args, &hidden, policy_path.is_some())?
    };
    let jobs = args.jobs.map_or_else(default_jobs, usize::from);
    let started = std::time::Instant::now();
    let notes = Notes::open(&repo, &verifier.notes_ref);
    let mut summary = run(&repo, &verifier, &notes, &policy, &walks, jobs).map_err(repo_error)?;
    let seconds = started.elapsed().as_secs_f64();
    if summary.objects == 0 && problems.is_empty() {
        if args.all {
            output::warning("nothing to verify: the repository has no branch or tag");
        } else {
            output::warning(format_args!(
                "nothing to verify: {} selects no commits",
                args.revs.join(" ")
            ));
        }
    }
    summary.failed += problems.len() as u64;
    summary.objects += problems.len() as u64;
    problems.append(&mut summary.failures);
    summary.failures = problems;
    print_summary(&summary, args.trust.format, seconds);
    if summary.ok() {
        return Ok(());
    }
    Err(CliError {
        kind: Kind::Verification,
        message: format!(
            "{} of {} object{} did not verify",
            summary.failed,
            summary.objects,
            if summary.objects == 1 { "" } else { "s" }
        ),
        hint: None,
    })
}

/// The number of CPUs (at least 1).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

fn type_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Commit => "commit",
        ObjectKind::Tag => "tag",
    }
}

fn print_summary(summary: &Summary, format: Format, seconds: f64) {
    match format {
        Format::Json => {
            let failures: Vec<_> = summary
                .failures
                .iter()
                .map(|f| {
                    json!({
                        "object": f.id,
                        "type": type_name(f.kind),
                        "ref": &*f.label,
                        "subject": f.subject,
                        "reason": f.reason,
                        "message": f.message,
                        "hint": f.hint,
                    })
                })
                .collect();
            output::result_line(json!({
                "objects": summary.objects,
                "verified": summary.verified,
                "failed": summary.failed,
                "unsigned": summary.unsigned,
                "unsignedAllowed": summary.unsigned_allowed,
                "exempt": summary.exempt,
                "fromNotes": summary.from_notes,
                "byIdentity": summary.by_identity,
                "failures": failures,
                "seconds": seconds,
            }));
        }
        Format::Text => {
            for f in &summary.failures {
                output::result_line(format_args!(
                    "FAILED {} {} \"{}\" ({}): {}: {}",
                    type_name(f.kind),
                    f.id,
                    f.subject,
                    f.label,
                    f.reason,
                    f.message
                ));
            }
            let rate = if seconds > 0.0 {
                summary.objects as f64 / seconds
            } else {
                0.0
            };
            output::result_line(format_args!(
                "{} objects: {} verified, {} failed, {} unsigned{}, {} exempt ({:.2} s, {:.0} objects/s)",
                summary.objects,
                summary.verified,
                summary.failed,
                summary.unsigned,
                if summary.unsigned_allowed > 0 {
                    format!(" ({} allowed)", summary.unsigned_allowed)
                } else {
                    String::new()
                },
                summary.exempt,
                seconds,
                rate
            ));
            if summary.from_notes > 0 {
                output::result_line(format_args!(
                    "  log proof from a stored bundle (git note): {}, embedded in the signature: {}",
                    summary.from_notes,
                    summary.verified - summary.from_notes
                ));
            }
            for (identity, count) in &summary.by_identity {
                output::result_line(format_args!("  signed by {identity}: {count}"));
            }
            let mut seen = HashSet::new();
            for f in &summary.failures {
                if seen.insert(f.hint.as_str()) {
                    output::hint(&f.hint);
                }
            }
        }
    }
}
