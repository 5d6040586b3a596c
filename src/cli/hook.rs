//! `signet hook pre-receive`: enforce the policy on a push, offline. git runs the hook in the
//! receiving repository with the pushed objects in a quarantine directory and the ref updates on
//! stdin (`<old> <new> <ref>` per line); a non-zero exit rejects the whole push, and git then
//! discards the quarantined objects, so a rejected push leaves nothing behind.
//!
//! Installed as a symlink named `pre-receive` to the signet binary, or as the `hooks/pre-receive`
//! script. Everything printed goes to stderr, which git relays to the pusher as `remote:` lines.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::process::ExitCode;
use std::sync::Arc;

use super::args::{Format, HookPreReceiveArgs, PolicyArgs, VerifyTrustArgs};
use super::error::CliError;
use super::history::{self, NO_RULE_HINT, ObjectFailure, Walk};
use super::output;
use super::settings;
use super::verify::{Notes, Verifier, open_repo, repo_error};
use crate::adapters::repo::{Repo, RepoError};
use crate::core::gitobject::ObjectKind;
use crate::core::policy_file::PolicyFile;

/// At most this many ref updates in one push (git sends one line per ref).
const MAX_UPDATES: usize = 100_000;
/// A line is two ids, a ref name (git limits those to 4 KiB in practice) and separators.
const MAX_LINE_BYTES: usize = 8 * 1024;

/// One `<old> <new> <ref>` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub old: String,
    pub new: String,
    pub refname: String,
}

impl Update {
    pub fn is_deletion(&self) -> bool {
        self.new.bytes().all(|b| b == b'0')
    }
}

/// Parse the hook's stdin. Anything but `<hex> <hex> <refname>` lines is refused.
pub fn parse_updates(input: impl BufRead) -> Result<Vec<Update>, String> {
    let mut updates = Vec::new();
    for (n, line) in input.split(b'\n').enumerate() {
        let line = line.map_err(|e| format!("cannot read the ref updates: {e}"))?;
        if line.len() > MAX_LINE_BYTES {
            return Err(format!("ref update line {} is too long", n + 1));
        }
        if updates.len() == MAX_UPDATES {
            return Err(format!("more than {MAX_UPDATES} ref updates in one push"));
        }
        let text = std::str::from_utf8(&line)
            .map_err(|_| format!("ref update line {} is not UTF-8", n + 1))?;
        let text = text.strip_suffix('\r').unwrap_or(text);
        if text.is_empty() {
            continue;
        }
        let parts: Vec<&str> = text.splitn(3, ' ').collect();
        let hex =
            |s: &str| (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit());
        match parts.as_slice() {
            [old, new, refname]
                if hex(old)
                    && hex(new)
                    && old.len() == new.len()
                    && refname.starts_with("refs/") =>
            {
                updates.push(Update {
                    old: old.to_ascii_lowercase(),
                    new: new.to_ascii_lowercase(),
                    refname: (*refname).to_owned(),
                });
            }
            _ => {
                return Err(format!(
                    "ref update line {} is not \"<old id> <new id> <ref>\": {:?}",
                    n + 1,
                    output::one_line(text)
                ));
            }
        }
    }
    Ok(updates)
}

/// An existing branch or tag, the rule that governs it, and the commit it ends in. Only
/// branches and tags vouch for commits: refs a server writes itself (`refs/pull/*`,
/// `refs/merge-requests/*`, `refs/keep-around/*`) and notes were never checked by this hook.
struct Existing {
    name: String,
    rule: Option<usize>,
    tip: String,
}

fn existing_refs(repo: &Repo, policy: &PolicyFile) -> Result<Vec<Existing>, RepoError> {
    let mut out = Vec::new();
    for (name, target) in repo.refs()? {
        if !(name.starts_with("refs/heads/") || name.starts_with("refs/tags/")) {
            continue;
        }
        if let Some(tip) = history::ref_target(repo, &target)?.commit {
            out.push(Existing {
                rule: history::rule_index(policy, &name),
                name,
                tip,
            });
        }
    }
    Ok(out)
}

/// The commits on the first-parent chains of `tips`: what existing refs under an
/// `allow-merged-history` rule were checked for (their merged-in history was not).
fn first_parent_chains(
    repo: &Repo,
    tips: &[String],
    exempt: &[String],
) -> Result<HashSet<String>, RepoError> {
    let mut chain = HashSet::new();
    repo.walk_each(tips, exempt, true, |id, _| {
        chain.insert(id.to_owned());
        true
    })?;
    Ok(chain)
}

/// The walks of a push. Each updated ref, and every ref it writes through when it is a
/// symbolic ref, is checked under its own rule: the commits it brings that no existing branch
/// or tag under the same rule already reaches (for a tag, also none any branch reaches: commits
/// on branches answer to the branches' rules), plus the annotated tags it points at. Updates
/// under one rule share a walk, so a commit several refs bring is verified once. Refs without
/// a rule, and refs straight to a tree or blob under a rule that wants signatures, are failures.
fn walks_for_push(
    repo: &Repo,
    policy: &PolicyFile,
    updates: &[Update],
    exempt: &[String],
    problems: &mut Vec<ObjectFailure>,
) -> Result<Vec<Walk>, RepoError> {
    let existing = existing_refs(repo, policy)?;
    let branch_tips: Vec<String> = existing
        .iter()
        .filter(|e| e.name.starts_with("refs/heads/"))
        .map(|e| e.tip.clone())
        .collect();
    let same_rule_tips = |rule: usize| -> Vec<String> {
        let mut tips: Vec<String> = Vec::new();
        for e in existing.iter().filter(|e| e.rule == Some(rule)) {
            if !tips.contains(&e.tip) {
                tips.push(e.tip.clone());
            }
        }
        tips
    };
    let mut groups = history::Groups::default();
    let mut single: Vec<Walk> = Vec::new();
    let mut chains: HashMap<usize, Arc<HashSet<String>>> = HashMap::new();
    for update in updates.iter().filter(|u| !u.is_deletion()) {
        let resolved = history::ref_target(repo, &update.new)?;
        let mut names = vec![update.refname.clone()];
        names.extend(repo.symref_targets(&update.refname)?);
        for name in names {
            let label: Arc<str> = name.as_str().into();
            let Some(rule) = history::rule_index(policy, &name) else {
                problems.push(history::failure(
                    repo,
                    &label,
                    &update.new,
                    "no-rule",
                    format!("no policy rule matches {name}"),
                    NO_RULE_HINT,
                ));
                continue;
            };
            let r = &policy.rules[rule];
            if resolved.tags.is_empty() && resolved.commit.is_none() && !r.allow_unsigned {
                problems.push(history::failure(
                    repo,
                    &label,
                    &update.new,
                    "not-a-commit",
                    format!("{name} would point at a tree or blob, which carries no signature"),
                    history::NOT_A_COMMIT_HINT,
                ));
                continue;
            }
            let is_tag = name.starts_with("refs/tags/");
            let mut hidden = exempt.to_vec();
            if is_tag {
                hidden.extend(branch_tips.iter().cloned());
            }
            if r.allow_merged_history {
                // A first-parent walk per tip, stopping where an existing ref's checked
                // first-parent chain begins.
                let chain = match chains.get(&rule) {
                    Some(chain) => Arc::clone(chain),
                    None => {
                        let chain =
                            Arc::new(first_parent_chains(repo, &same_rule_tips(rule), exempt)?);
                        chains.insert(rule, Arc::clone(&chain));
                        chain
                    }
                };
                single.push(Walk {
                    rule,
                    label,
                    tips: resolved.commit.iter().cloned().collect(),
                    hidden,
                    objects: resolved.tags.clone(),
                    stop_at: Some(chain),
                });
                continue;
            }
            groups.add(rule, is_tag, &name, &resolved, || {
                hidden.extend(same_rule_tips(rule));
                hidden
            });
        }
    }
    let mut walks = groups.into_walks();
    walks.extend(single);
    Ok(walks)
}

fn reject(e: &CliError) -> ExitCode {
    output::info(format_args!("push rejected: {}", e.message));
    if let Some(hint) = &e.hint {
        output::info(format_args!("hint: {hint}"));
    }
    ExitCode::from(1)
}

/// `signet hook pre-receive` (or signet run as `hooks/pre-receive`).
pub fn run_pre_receive(args: HookPreReceiveArgs) -> ExitCode {
    match pre_receive(args, std::io::stdin().lock()) {
        Ok(code) => code,
        Err(e) => reject(&e),
    }
}

fn pre_receive(args: HookPreReceiveArgs, stdin: impl BufRead) -> Result<ExitCode, CliError> {
    let updates = parse_updates(stdin).map_err(|e| {
        CliError::usage(
            e,
            "signet hook pre-receive reads what git gives a pre-receive hook",
        )
    })?;
    let settings = settings::load()?;
    let repo = open_repo()?;
    let trust = VerifyTrustArgs {
        trusted_root: args.trusted_root.clone(),
        rekor_url: None,
        format: Format::Text,
    };
    let no_flags = PolicyArgs {
        certificate_identity: None,
        certificate_identity_regexp: None,
        certificate_oidc_issuer: None,
        certificate_oidc_issuer_regexp: None,
    };
    let mut verifier = Verifier::new(&settings, Some(&trust), Some(&no_flags))?;
    // A server verifies offline, whatever signet.verify.online says.
    verifier.log = None;
    let (policy, _) = history::load_policy(
        args.policy.as_deref(),
        &settings,
        Some(repo.git_dir()),
        || {
            Err(CliError::usage(
                "no policy is configured for this repository",
                "set git config signet.policy to a policy file (see docs/policy.md and docs/server.md)",
            ))
        },
    )?;
    let exempt = history::exempt_hidden(&repo, &policy)?;
    let mut problems = Vec::new();
    // The notes ref holds stored bundles, not signed history: its (unsigned) notes commits are
    // not walked, but the notes it will hold after this push are what the pushed commits
    // without an embedded entry are verified from, and it must be a notes commit.
    let notes_ref = verifier.notes_ref.clone();
    let notes = match updates
        .iter()
        .find(|u| u.refname == notes_ref && !u.is_deletion())
    {
        Some(update) => {
            let notes = Notes::at(&repo, &notes_ref, &update.new);
            if let Some(why) = notes.error() {
                problems.push(history::failure(
                    &repo,
                    &Arc::from(notes_ref.as_str()),
                    &update.new,
                    "bad-notes-ref",
                    why.to_owned(),
                    "push a notes commit (git notes, signet notes fetch) to the notes ref",
                ));
            }
            notes
        }
        None => Notes::open(&repo, &notes_ref),
    };
    let updates: Vec<Update> = updates
        .into_iter()
        .filter(|u| u.refname != notes_ref)
        .collect();
    let walks =
        walks_for_push(&repo, &policy, &updates, &exempt, &mut problems).map_err(repo_error)?;
    let jobs = args.jobs.map_or_else(history::default_jobs, usize::from);
    let mut summary =
        history::run(&repo, &verifier, &notes, &policy, &walks, jobs).map_err(repo_error)?;
    summary.failed += problems.len() as u64;
    summary.objects += problems.len() as u64;
    problems.append(&mut summary.failures);
    for f in &problems {
        let kind = match f.kind {
            ObjectKind::Commit => "commit",
            ObjectKind::Tag => "tag",
        };
        output::info(format_args!(
            "REJECTED {} {kind} {} \"{}\": {}: {} (hint: {})",
            f.label, f.id, f.subject, f.reason, f.message, f.hint
        ));
    }
    if summary.failed > 0 {
        output::info(format_args!(
            "push rejected: {} of {} new objects failed the policy",
            summary.failed, summary.objects
        ));
        return Ok(ExitCode::from(1));
    }
    if summary.objects == summary.verified {
        output::info(format_args!(
            "{} new objects verified{}",
            summary.objects,
            if summary.from_notes > 0 {
                format!(
                    " ({} from stored bundles in {notes_ref})",
                    summary.from_notes
                )
            } else {
                String::new()
            }
        ));
    } else {
        output::info(format_args!(
            "{} new objects passed: {} verified, {} exempt, {} unsigned (allowed by the rule)",
            summary.objects, summary.verified, summary.exempt, summary.unsigned_allowed
        ));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const Z: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn updates_parse_and_deletions_are_recognised() {
        let input = format!("{A} {B} refs/heads/main\n{B} {Z} refs/heads/gone\n\n");
        let updates = parse_updates(input.as_bytes()).unwrap();
        assert_eq!(updates.len(), 2);
        assert_eq!(updates[0].refname, "refs/heads/main");
        assert!(!updates[0].is_deletion());
        assert!(updates[1].is_deletion());
        // Ref names may contain spaces? git forbids them, but the name is the rest of the line.
        let sha256 = format!("{} {} refs/tags/v1\n", "a".repeat(64), "B".repeat(64));
        let u = parse_updates(sha256.as_bytes()).unwrap();
        assert_eq!(u[0].new, "b".repeat(64));
    }

    #[test]
    fn malformed_updates_are_refused_with_the_line() {
        for bad in [
            format!("{A} {B}\n"),
            format!("{A} {B} main\n"),
            format!("{A} zz refs/heads/main\n"),
            format!("{A} {} refs/heads/main\n", "b".repeat(64)),
            format!("{A}{B} refs/heads/main\n"),
            "garbage\n".to_owned(),
        ] {
            let e = parse_updates(bad.as_bytes()).unwrap_err();
            assert!(e.contains("line 1"), "{e}");
        }
        let e = parse_updates(&[b'x'; MAX_LINE_BYTES + 1][..]).unwrap_err();
        assert!(e.contains("too long"), "{e}");
        let e = parse_updates(&b"\xff\xfe\n"[..]).unwrap_err();
        assert!(e.contains("UTF-8"), "{e}");
    }
}
