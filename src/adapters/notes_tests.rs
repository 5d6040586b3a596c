//! Tests for the notes adapter against real git: what signet writes is what `git notes` reads
//! (tags keyed by the tag object, fanout as the tree grows, entries that are not notes kept), and
//! a write on top of a notes commit that has moved on is refused.

use super::*;
use crate::adapters::repo::tests::Fixture;

const IDENT: &str = "C O Mitter <committer@example.com> 1700000000 +0000";

/// Write `add` to refs/notes/signet as signet does, with fast-import run in the fixture.
fn write(git: &Fixture, add: &[(String, Vec<u8>)]) -> std::process::Output {
    let repo = git.open();
    let notes = repo.notes_ref("refs/notes/signet").unwrap();
    let stream = fast_import_stream(&repo, &notes, IDENT, add, "test").unwrap();
    git.output(git.command(&["fast-import", "--quiet"]), &stream)
}

fn note(id: &str, text: &str) -> (String, Vec<u8>) {
    (id.to_owned(), text.as_bytes().to_vec())
}

#[test]
fn notes_are_keyed_by_the_object_and_read_back_as_git_reads_them() {
    let git = Fixture::new(&[]);
    git.commit("c");
    git.git(&["tag", "-a", "v1", "-m", "tag"]);
    let commit = git.git(&["rev-parse", "HEAD"]);
    let tag = git.git(&["rev-parse", "refs/tags/v1"]);
    let out = write(
        &git,
        &[note(&commit, "commit note"), note(&tag, "tag note")],
    );
    assert!(out.status.success(), "{out:?}");
    // git sees a note on the tag object itself, not a second note on its commit.
    assert_eq!(
        git.git(&["notes", "--ref", "signet", "show", &tag]),
        "tag note"
    );
    assert_eq!(
        git.git(&["notes", "--ref", "signet", "show", &commit]),
        "commit note"
    );
    let repo = git.open();
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
    let git = Fixture::new(&[]);
    git.commit("c");
    // A notes tree with an entry that is not a note (git keeps those; so must signet).
    git.git(&["notes", "--ref", "signet", "add", "-m", "first", "HEAD"]);
    let readme = git.hash_object("blob", b"not a note");
    let tip = git.git(&["rev-parse", "refs/notes/signet"]);
    let stream = format!(
        "commit refs/notes/signet\ncommitter {IDENT}\ndata 0\nfrom {tip}\nM 100644 {readme} README\n\n"
    );
    git.run(git.command(&["fast-import", "--quiet"]), stream.as_bytes());

    // 300 more notes, on made-up ids (git notes accepts notes on any id): over 256, so one
    // level of fanout.
    let ids: Vec<String> = (0..300u32)
        .map(|i| hex::encode(crate::core::keys::sha256(&i.to_be_bytes()))[..40].to_owned())
        .collect();
    let add: Vec<(String, Vec<u8>)> = ids.iter().map(|id| note(id, id)).collect();
    let out = write(&git, &add);
    assert!(out.status.success(), "{out:?}");
    let tree = git.git(&["ls-tree", "--name-only", "refs/notes/signet"]);
    assert!(tree.lines().any(|l| l == "README"), "{tree}");
    assert!(
        tree.lines().filter(|l| l.len() == 2).count() > 100,
        "fanned out: {tree}"
    );
    assert_eq!(
        git.git(&["notes", "--ref", "signet", "list"])
            .lines()
            .count(),
        301
    );
    let repo = git.open();
    let notes = repo.notes_ref("refs/notes/signet").unwrap();
    assert_eq!(repo.note_index(&notes).unwrap().len(), 301);
    for id in ids.iter().step_by(37) {
        assert_eq!(
            repo.note(&notes, id).unwrap().as_deref(),
            Some(id.as_bytes())
        );
        assert_eq!(git.git(&["notes", "--ref", "signet", "show", id]), *id);
    }
    let head = git.git(&["rev-parse", "HEAD"]);
    assert_eq!(
        repo.note(&notes, &head).unwrap().as_deref(),
        Some(&b"first\n"[..])
    );
}

#[test]
fn a_write_on_a_stale_notes_commit_is_refused_and_loses_nothing() {
    let git = Fixture::new(&[]);
    git.commit("c");
    let head = git.git(&["rev-parse", "HEAD"]);
    assert!(write(&git, &[note(&head, "one")]).status.success());
    // Read the notes, then someone else writes a note before we do.
    let repo = git.open();
    let stale = repo.notes_ref("refs/notes/signet").unwrap();
    git.git(&[
        "notes", "--ref", "signet", "add", "-f", "-m", "theirs", "HEAD",
    ]);
    let theirs = git.git(&["rev-parse", "refs/notes/signet"]);
    let stream = fast_import_stream(&repo, &stale, IDENT, &[note(&head, "ours")], "t").unwrap();
    let out = git.output(git.command(&["fast-import", "--quiet"]), &stream);
    assert!(!out.status.success(), "a stale write must fail");
    assert_eq!(git.git(&["rev-parse", "refs/notes/signet"]), theirs);
    assert_eq!(
        git.git(&["notes", "--ref", "signet", "show", "HEAD"]),
        "theirs"
    );
}

#[test]
fn a_notes_ref_that_is_not_a_notes_commit_is_named() {
    let git = Fixture::new(&[]);
    let blob = git.hash_object("blob", b"x");
    git.git(&["update-ref", "refs/notes/signet", &blob]);
    let e = git.open().notes_ref("refs/notes/signet").unwrap_err();
    assert!(matches!(e, NotesError::NotACommit { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("refs/notes/signet is not a notes ref")
    );
    assert!(
        git.open()
            .notes_ref("refs/notes/other")
            .unwrap()
            .commit
            .is_none()
    );
}
