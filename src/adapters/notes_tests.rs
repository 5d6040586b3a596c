//! Tests for the notes adapter against real git: what signet writes is what `git notes` reads
//! (tags keyed by the tag object, fanout as the tree grows, entries that are not notes kept), and
//! a write on top of a notes commit that has moved on is refused.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::*;
use crate::adapters::repo::GitEnv;

const IDENT: &str = "C O Mitter <committer@example.com> 1700000000 +0000";

/// A hermetic scratch repository driven by the real `git`.
struct Git {
    tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Git {
    fn new() -> Git {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("repo");
        std::fs::create_dir(&dir).unwrap();
        let git = Git { tmp, dir };
        git.ok(&["init", "-q", "-b", "main"], b"");
        git
    }

    fn ok(&self, args: &[&str], stdin: &[u8]) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> std::process::Output {
        let mut child = Command::new("git")
            .args(args)
            .current_dir(&self.dir)
            .env("HOME", self.tmp.path())
            .env("GIT_CONFIG_GLOBAL", self.tmp.path().join("gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "A U Thor")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_COMMITTER_NAME", "C O Mitter")
            .env("GIT_COMMITTER_EMAIL", "committer@example.com")
            .env("GIT_AUTHOR_DATE", "1700000000 +0000")
            .env("GIT_COMMITTER_DATE", "1700000000 +0000")
            .env_remove("GIT_DIR")
            .env_remove("GIT_OBJECT_DIRECTORY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    }

    fn repo(&self) -> Repo {
        Repo::open_with(Path::new(&self.dir), &GitEnv::default()).unwrap()
    }

    /// Write `add` to refs/notes/signet as signet does, with fast-import run here.
    fn write(&self, add: &[(String, Vec<u8>)]) -> std::process::Output {
        let repo = self.repo();
        let notes = repo.notes_ref("refs/notes/signet").unwrap();
        let stream = fast_import_stream(&repo, &notes, IDENT, add, "test").unwrap();
        self.run(&["fast-import", "--quiet"], &stream)
    }
}

fn note(id: &str, text: &str) -> (String, Vec<u8>) {
    (id.to_owned(), text.as_bytes().to_vec())
}

#[test]
fn notes_are_keyed_by_the_object_and_read_back_as_git_reads_them() {
    let git = Git::new();
    git.ok(&["commit", "-q", "--allow-empty", "-m", "c"], b"");
    git.ok(&["tag", "-a", "v1", "-m", "tag"], b"");
    let commit = git.ok(&["rev-parse", "HEAD"], b"");
    let tag = git.ok(&["rev-parse", "refs/tags/v1"], b"");
    let out = git.write(&[note(&commit, "commit note"), note(&tag, "tag note")]);
    assert!(out.status.success(), "{out:?}");
    // git sees a note on the tag object itself, not a second note on its commit.
    assert_eq!(
        git.ok(&["notes", "--ref", "signet", "show", &tag], b""),
        "tag note"
    );
    assert_eq!(
        git.ok(&["notes", "--ref", "signet", "show", &commit], b""),
        "commit note"
    );
    let repo = git.repo();
    let notes = repo.notes_ref("refs/notes/signet").unwrap();
    assert_eq!(
        repo.note(&notes, &tag).unwrap().as_deref(),
        Some(&b"tag note"[..])
    );
    assert_eq!(repo.note_index(&notes).unwrap().len(), 2);
    assert_eq!(repo.note(&notes, &"0".repeat(40)).unwrap(), None);
}

#[test]
fn a_large_tree_fans_out_keeps_other_entries_and_stays_readable() {
    let git = Git::new();
    git.ok(&["commit", "-q", "--allow-empty", "-m", "c"], b"");
    // A notes tree with an entry that is not a note (git keeps those; so must signet).
    git.ok(
        &["notes", "--ref", "signet", "add", "-m", "first", "HEAD"],
        b"",
    );
    let readme = git.ok(&["hash-object", "-w", "--stdin"], b"not a note");
    let tip = git.ok(&["rev-parse", "refs/notes/signet"], b"");
    let stream = format!(
        "commit refs/notes/signet\ncommitter {IDENT}\ndata 0\nfrom {tip}\nM 100644 {readme} README\n\n"
    );
    git.ok(&["fast-import", "--quiet"], stream.as_bytes());

    // 300 more notes, on made-up ids (git notes accepts notes on any id): over 256, so one
    // level of fanout.
    let ids: Vec<String> = (0..300u32)
        .map(|i| hex::encode(crate::core::keys::sha256(&i.to_be_bytes()))[..40].to_owned())
        .collect();
    let add: Vec<(String, Vec<u8>)> = ids.iter().map(|id| note(id, id)).collect();
    let out = git.write(&add);
    assert!(out.status.success(), "{out:?}");
    let tree = git.ok(&["ls-tree", "--name-only", "refs/notes/signet"], b"");
    assert!(tree.lines().any(|l| l == "README"), "{tree}");
    assert!(
        tree.lines().filter(|l| l.len() == 2).count() > 100,
        "fanned out: {tree}"
    );
    assert_eq!(
        git.ok(&["notes", "--ref", "signet", "list"], b"")
            .lines()
            .count(),
        301
    );
    let repo = git.repo();
    let notes = repo.notes_ref("refs/notes/signet").unwrap();
    assert_eq!(repo.note_index(&notes).unwrap().len(), 301);
    for id in ids.iter().step_by(37) {
        assert_eq!(
            repo.note(&notes, id).unwrap().as_deref(),
            Some(id.as_bytes())
        );
        assert_eq!(git.ok(&["notes", "--ref", "signet", "show", id], b""), *id);
    }
    let head = git.ok(&["rev-parse", "HEAD"], b"");
    assert_eq!(
        repo.note(&notes, &head).unwrap().as_deref(),
        Some(&b"first\n"[..])
    );
}

#[test]
fn a_write_on_a_stale_notes_commit_is_refused_and_loses_nothing() {
    let git = Git::new();
    git.ok(&["commit", "-q", "--allow-empty", "-m", "c"], b"");
    let head = git.ok(&["rev-parse", "HEAD"], b"");
    assert!(git.write(&[note(&head, "one")]).status.success());
    // Read the notes, then someone else writes a note before we do.
    let repo = git.repo();
    let stale = repo.notes_ref("refs/notes/signet").unwrap();
    git.ok(
        &[
            "notes", "--ref", "signet", "add", "-f", "-m", "theirs", "HEAD",
        ],
        b"",
    );
    let theirs = git.ok(&["rev-parse", "refs/notes/signet"], b"");
    let stream = fast_import_stream(&repo, &stale, IDENT, &[note(&head, "ours")], "t").unwrap();
    let out = git.run(&["fast-import", "--quiet"], &stream);
    assert!(!out.status.success(), "a stale write must fail");
    assert_eq!(git.ok(&["rev-parse", "refs/notes/signet"], b""), theirs);
    assert_eq!(
        git.ok(&["notes", "--ref", "signet", "show", "HEAD"], b""),
        "theirs"
    );
}

#[test]
fn a_notes_ref_that_is_not_a_notes_commit_is_named() {
    let git = Git::new();
    let blob = git.ok(&["hash-object", "-w", "--stdin"], b"x");
    git.ok(&["update-ref", "refs/notes/signet", &blob], b"");
    let e = git.repo().notes_ref("refs/notes/signet").unwrap_err();
    assert!(matches!(e, NotesError::NotACommit { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("refs/notes/signet is not a notes ref")
    );
    assert!(
        git.repo()
            .notes_ref("refs/notes/other")
            .unwrap()
            .commit
            .is_none()
    );
}
