//! `signet notes fetch | add | show`: stored bundles in git notes. A gitsign online-mode
//! signature embeds no log entry; `fetch` looks it up in Rekor once (by certificate, filtered on
//! the object id and the certificate, as online verification does), verifies it completely and
//! keeps it as a Sigstore bundle v0.3 in a note on the object under `signet.notesRef` (default
//! `refs/notes/signet`). Verification then uses the note offline (`core::stored`).
//!
//! Nothing that did not verify is stored. Each object that fails is reported with its id and the
//! reason, and the others proceed; notes are written in batches, one notes commit per batch.

use std::collections::HashSet;
use std::io::Read as _;

use super::args::{NotesAddArgs, NotesFetchArgs, NotesShowArgs};
use super::error::{CliError, Kind};
use super::history::{ref_target, subject};
use super::settings::{self, Settings};
use super::verify::{open_repo, repo_error, single_signed_object};
use super::{config, output};
use crate::adapters::http::HttpClient;
use crate::adapters::notes::{NotesError, NotesRef, write_notes};
use crate::adapters::rekor::RekorClient;
use crate::adapters::repo::Repo;
use crate::core::bundle::MAX_BUNDLE_BYTES;
use crate::core::gitobject::ObjectKind;
use crate::core::gitsig::{self, CheckedSignature, GitSigError};
use crate::core::signed_object::{self, SplitError};
use crate::core::stored;
use crate::core::trust_root::TrustedRoot;
use crate::flow::LogSearch as _;

/// Notes written per notes commit: a long fetch keeps what it verified even if it is stopped.
const WRITE_BATCH: usize = 256;
/// Above this many objects, `fetch` reports its progress every [`PROGRESS_EVERY`] objects.
const PROGRESS_EVERY: usize = 100;

fn notes_error(e: NotesError) -> CliError {
    let hint = match e {
        NotesError::NotACommit { .. } | NotesError::NotANotesTree { .. } => {
            "the notes ref (signet.notesRef, default refs/notes/signet) must point at a notes commit; inspect it with git log, and set signet.notesRef to another ref or delete the broken one with git update-ref -d"
        }
        NotesError::Write { .. } => {
            "nothing was stored by this write: run the command again (if another process wrote notes meanwhile, the second run builds on them; if git cannot tell who you are, set user.name and user.email first)"
        }
        _ => "check the repository with git fsck",
    };
    CliError::usage(e, hint)
}

fn kind_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Commit => "commit",
        ObjectKind::Tag => "tag",
    }
}

/// The objects `fetch` looks at: every annotated tag and commit of the selection, each once,
/// in walk order.
fn selection(repo: &Repo, args: &NotesFetchArgs) -> Result<Vec<String>, CliError> {
    let mut tips = Vec::new();
    let mut objects = Vec::new();
    let add_target = |id: &str, tips: &mut Vec<String>, objects: &mut Vec<String>| {
        let target = ref_target(repo, id).map_err(repo_error)?;
        objects.extend(target.tags);
        tips.extend(target.commit);
        Ok::<_, CliError>(())
    };
    if args.all {
        for (name, target) in repo.refs().map_err(repo_error)? {
            if name.starts_with("refs/heads/") || name.starts_with("refs/tags/") {
                add_target(&target, &mut tips, &mut objects)?;
            }
        }
    } else {
        let revs = if args.revs.is_empty() {
            vec!["HEAD".to_owned()]
        } else {
            args.revs.clone()
        };
        for rev in &revs {
            if rev.contains("..") {
                objects.extend(repo.resolve(rev).map_err(repo_error)?);
            } else {
                for id in repo.resolve(rev).map_err(repo_error)? {
                    add_target(&id, &mut tips, &mut objects)?;
                }
            }
        }
    }
    let mut commits = Vec::new();
    repo.walk_each(&tips, &[], false, |id, _| {
        commits.push(id.to_owned());
        true
    })
    .map_err(repo_error)?;
    let mut seen = HashSet::new();
    Ok(objects
        .into_iter()
        .chain(commits)
        .filter(|id| seen.insert(id.clone()))
        .collect())
}

/// What happened to one object.
enum Fetched {
    Unsigned,
    Embedded,
    AlreadyStored,
    Stored(Vec<u8>),
    /// A stored bundle that did not verify was replaced by the log's: why it failed.
    Replaced(Vec<u8>, String),
}

/// One object's failure: the check that failed and what it said.
struct Failed {
    reason: &'static str,
    message: String,
}

fn failed(reason: &'static str, message: impl std::fmt::Display) -> Failed {
    Failed {
        reason,
        message: message.to_string(),
    }
}

struct Fetcher<'a> {
    repo: &'a Repo,
    notes: &'a NotesRef,
    root: &'a TrustedRoot,
    log: &'a RekorClient,
    runtime: &'a tokio::runtime::Runtime,
}

impl Fetcher<'_> {
    fn fetch(&self, id: &str, kind: ObjectKind, data: &[u8]) -> Result<Fetched, Failed> {
        let split = match signed_object::split(kind, data) {
            Ok(split) => split,
            Err(SplitError::NotSigned { .. }) => return Ok(Fetched::Unsigned),
            Err(e) => return Err(failed("malformed-object", e)),
        };
        let checked = gitsig::check_signature(&split.signature, &split.payload)
            .map_err(|e| failed(e.kind(), e))?;
        if checked.has_embedded_entry() {
            return Ok(Fetched::Embedded);
        }
        let mut replacing = None;
        match self.repo.note(self.notes, id) {
            Ok(None) => {}
            Ok(Some(existing)) => match stored::verify(&checked, &existing, id, self.root) {
                Ok(_) => return Ok(Fetched::AlreadyStored),
                Err(e) => replacing = Some(e.to_string()),
            },
            Err(e) => replacing = Some(e.to_string()),
        }
        let bundle = self.look_up(&checked, id)?;
        Ok(match replacing {
            None => Fetched::Stored(bundle),
            Some(why) => Fetched::Replaced(bundle, why),
        })
    }

    /// The log's entry for this signature and object, verified, as the bundle to store.
    fn look_up(&self, checked: &CheckedSignature, id: &str) -> Result<Vec<u8>, Failed> {
        let pem = der::EncodePem::to_pem(&checked.leaf.cert, der::pem::LineEnding::LF)
            .map_err(|e| failed("bad-certificate", e))?;
        let entries = self
            .runtime
            .block_on(self.log.entries_for_certificate(&pem))
            .map_err(|e| {
                failed(
                    "log-search-failed",
                    format!("looking up the log entry: {e}"),
                )
            })?;
        let found = gitsig::find_searched(checked, &entries, id, self.root)
            .map_err(|e: GitSigError| failed(e.kind(), e))?;
        let (bundle, _) =
            stored::build(checked, &found, id, self.root).map_err(|e| failed(e.kind(), e))?;
        Ok(bundle)
    }
}

/// Counts for the summary line.
#[derive(Default)]
struct Counts {
    objects: usize,
    stored: usize,
    replaced: usize,
    already: usize,
    embedded: usize,
    unsigned: usize,
    failed: usize,
}

fn write_batch(
    repo: &Repo,
    notes: &mut NotesRef,
    batch: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), CliError> {
    if batch.is_empty() {
        return Ok(());
    }
    let message = format!(
        "signet notes: {} stored bundle{}",
        batch.len(),
        if batch.len() == 1 { "" } else { "s" }
    );
    write_notes(repo, notes, batch, &message).map_err(notes_error)?;
    batch.clear();
    // The next batch builds on the commit just written.
    *notes = repo.notes_ref(&notes.refname).map_err(notes_error)?;
    Ok(())
}

fn rekor_client(args: &NotesFetchArgs, settings: &Settings) -> Result<RekorClient, CliError> {
    let url = match &args.rekor_url {
        Some(url) => config::service_url("--rekor-url", url)?,
        None => config::service_url("signet.rekor (SIGNET_REKOR_URL)", &settings.rekor_url)?,
    };
    let http = HttpClient::with_timeout(settings.http_timeout)
        .map_err(|e| CliError::usage(e, "this is a bug in signet"))?;
    Ok(RekorClient::new(http, &url))
}

/// `signet notes fetch [RANGE... | --all]`.
pub fn run_fetch(args: NotesFetchArgs) -> Result<(), CliError> {
    let settings = settings::load()?;
    let root = config::trusted_root_from(args.trusted_root.as_deref(), &settings)?;
    let log = rekor_client(&args, &settings)?;
    let repo = open_repo()?;
    let mut notes = repo.notes_ref(&settings.notes_ref).map_err(notes_error)?;
    let objects = selection(&repo, &args)?;
    let runtime = super::runtime()?;
    let mut counts = Counts::default();
    let mut batch = Vec::new();
    let mut hints = Vec::new();
    for (n, id) in objects.iter().enumerate() {
        if objects.len() > PROGRESS_EVERY && n > 0 && n % PROGRESS_EVERY == 0 {
            output::info(format_args!(
                "notes fetch: {n} of {} objects checked, {} bundles stored so far",
                objects.len(),
                counts.stored + batch.len()
            ));
        }
        counts.objects += 1;
        let object = match repo.read(id) {
            Ok(object) => object,
            Err(e) => {
                counts.failed += 1;
                output::result_line(format_args!("FAILED {id}: unreadable: {e}"));
                hints.push("check the repository with git fsck");
                continue;
            }
        };
        let fetcher = Fetcher {
            repo: &repo,
            notes: &notes,
            root: &root,
            log: &log,
            runtime: &runtime,
        };
        let what = kind_name(object.kind);
        match fetcher.fetch(id, object.kind, &object.data) {
            Ok(Fetched::Unsigned) => counts.unsigned += 1,
            Ok(Fetched::Embedded) => counts.embedded += 1,
            Ok(Fetched::AlreadyStored) => counts.already += 1,
            Ok(Fetched::Stored(bundle)) => batch.push((id.clone(), bundle)),
            Ok(Fetched::Replaced(bundle, why)) => {
                counts.replaced += 1;
                output::result_line(format_args!(
                    "replaced {what} {id}: its stored bundle did not verify ({why})"
                ));
                batch.push((id.clone(), bundle));
            }
            Err(f) => {
                counts.failed += 1;
                output::result_line(format_args!(
                    "FAILED {what} {id} \"{}\": {}: {}",
                    subject(&object.data),
                    f.reason,
                    f.message
                ));
                hints.push(fetch_hint(f.reason));
            }
        }
        if batch.len() >= WRITE_BATCH {
            counts.stored += batch.len();
            write_batch(&repo, &mut notes, &mut batch)?;
        }
    }
    counts.stored += batch.len();
    write_batch(&repo, &mut notes, &mut batch)?;
    counts.stored -= counts.replaced;
    output::result_line(format_args!(
        "{} objects: {} bundles stored in {}{}, {} already stored, {} with an embedded log entry, {} unsigned, {} failed",
        counts.objects,
        counts.stored + counts.replaced,
        notes.refname,
        if counts.replaced > 0 {
            format!(
                " ({} replacing bundles that did not verify)",
                counts.replaced
            )
        } else {
            String::new()
        },
        counts.already,
        counts.embedded,
        counts.unsigned,
        counts.failed
    ));
    let mut seen = HashSet::new();
    for hint in hints.into_iter().filter(|h| seen.insert(*h)) {
        output::hint(hint);
    }
    if counts.stored + counts.replaced > 0 {
        output::hint(format_args!(
            "share them: git push origin {0}; others fetch them with git fetch origin {0}:{0} (docs/notes.md)",
            notes.refname
        ));
    }
    if counts.failed == 0 {
        return Ok(());
    }
    Err(CliError {
        kind: Kind::Verification,
        message: format!(
            "{} of {} objects have no verified log entry",
            counts.failed, counts.objects
        ),
        hint: None,
    })
}

fn fetch_hint(reason: &str) -> &'static str {
    match reason {
        "log-search-failed" => {
            "check that Rekor (--rekor-url, signet.rekor) is reachable; run again to fetch the rest"
        }
        "no-matching-log-entry" => {
            "the log holds no entry for this object signed with this certificate: the signature was not logged there (check --rekor-url), or the object was rewritten after signing"
        }
        "unknown-log" | "untrusted-ca" | "bad-sct" => {
            "the entry comes from a Sigstore instance the trusted root does not describe; pass --trusted-root"
        }
        "content-mismatch" | "bad-signature" => {
            "the signature does not match the object: it was changed after signing"
        }
        _ => {
            "only a log entry that verifies is stored; signet verify --rekor-url shows the same failure"
        }
    }
}

/// Read a bundle file, or standard input for `-`, at most [`MAX_BUNDLE_BYTES`].
fn read_bundle(path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    let cannot = |e: std::io::Error| {
        CliError::usage(
            format!("cannot read the bundle {}: {e}", path.display()),
            "pass --bundle FILE with a Sigstore bundle (JSON), or the bundle on standard input",
        )
    };
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_BUNDLE_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(cannot)?;
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(cannot(std::io::Error::other(format!(
                "more than {MAX_BUNDLE_BYTES} bytes"
            ))));
        }
        return Ok(bytes);
    }
    crate::adapters::fs::read_limited(path, MAX_BUNDLE_BYTES).map_err(cannot)
}

/// `signet notes add REV [--bundle FILE] [--force]`.
pub fn run_add(args: NotesAddArgs) -> Result<(), CliError> {
    let settings = settings::load()?;
    let root = config::trusted_root_from(args.trusted_root.as_deref(), &settings)?;
    let repo = open_repo()?;
    let (object, split) = single_signed_object(&repo, &args.rev, "notes add")?;
    let (id, what) = (&object.id, kind_name(object.kind));
    let bundle = read_bundle(&args.bundle)?;
    let checked =
        gitsig::check_signature(&split.signature, &split.payload).map_err(|e| CliError {
            kind: Kind::Verification,
            message: format!("{what} {id}: {e}"),
            hint: Some("only a signature that verifies gets a stored bundle".into()),
        })?;
    if checked.has_embedded_entry() {
        return Err(CliError::usage(
            format!("{what} {id} embeds its log entry, so it needs no stored bundle"),
            "stored bundles are for gitsign online-mode signatures; signet verify checks this one offline as it is",
        ));
    }
    let verified = stored::verify(&checked, &bundle, id, &root).map_err(|e| CliError {
        kind: Kind::Verification,
        message: format!("{what} {id}: {e}"),
        hint: Some(
            "store the bundle of this signature's log entry (signet notes fetch looks it up and stores it)"
                .into(),
        ),
    })?;
    let notes = repo.notes_ref(&settings.notes_ref).map_err(notes_error)?;
    if let Some(existing) = repo.note(&notes, id).map_err(notes_error)? {
        if existing == bundle {
            output::result_line(format_args!(
                "{what} {id}: this bundle is already stored in {}",
                notes.refname
            ));
            return Ok(());
        }
        if !args.force {
            return Err(CliError::usage(
                format!(
                    "{what} {id} already has a stored bundle in {}",
                    notes.refname
                ),
                "pass --force to replace it",
            ));
        }
    }
    write_notes(
        &repo,
        &notes,
        &[(id.clone(), bundle)],
        &format!("signet notes add: {what} {id}"),
    )
    .map_err(notes_error)?;
    output::result_line(format_args!(
        "{what} {id}: stored the bundle in {} (signed by {}, {} entry {} at {})",
        notes.refname,
        verified.identity,
        verified.log_url,
        verified.log_index,
        verified.integrated_time
    ));
    Ok(())
}

/// `signet notes show [REV]`: the stored bundle as stored (not judged: signet verify does that).
pub fn run_show(args: NotesShowArgs) -> Result<(), CliError> {
    let settings = settings::load()?;
    let repo = open_repo()?;
    let ids = repo.resolve(&args.rev).map_err(repo_error)?;
    let [id] = ids.as_slice() else {
        return Err(CliError::usage(
            format!("{} selects {} objects", args.rev, ids.len()),
            "signet notes show takes one commit or annotated tag",
        ));
    };
    let notes = repo.notes_ref(&settings.notes_ref).map_err(notes_error)?;
    match repo.note(&notes, id).map_err(notes_error)? {
        Some(bytes) => output::bytes(&bytes).map_err(|e| {
            CliError::usage(
                format!("cannot write to standard output: {e}"),
                "check where standard output goes",
            )
        }),
        None => Err(CliError {
            kind: Kind::Verification,
            message: format!("no bundle is stored for {id} in {}", notes.refname),
            hint: Some(
                "signet notes fetch stores the log proof of online-mode signatures; git fetch origin refs/notes/signet:refs/notes/signet gets a remote's"
                    .into(),
            ),
        }),
    }
}
