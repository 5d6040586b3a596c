//! Stored bundles in git notes (`signet notes`): gitsign online-mode commits and tags get their
//! log proof from the teststack's Rekor once (`signet notes fetch --all`); then, with the stack
//! stopped, `git verify-commit`, `git verify-tag`, `signet verify --all`, the pre-receive hook and
//! a clone that fetches `refs/notes/signet` verify them offline, and without the notes they fail
//! closed. Each way a note can be wrong is rejected and named, and `fetch` replaces it.

use std::process::Output;

use signet::core::gitobject::ObjectKind;

use crate::git_e2e::{ALICE, Repo};
use crate::harness::{Stack, show, sigstore_js, sigstore_python_verify};
use crate::hook::{Server, alice_policy, assert_line, assert_rejected, push, remote_lines};
use crate::verify::{
    history_json, json, leaf_fingerprint, placeholders, rev, signed_commit, signet_in, split,
    stderr, stdout, verify_json, with_stdin, write_commit,
};
use crate::verify_gpg::online_commit;

const NOTES: &str = "refs/notes/signet";

fn fetch(repo: &Repo, args: &[&str]) -> Output {
    signet_in(repo, &[&["notes", "fetch"][..], args].concat())
}

/// The notes ref's value, if it exists.
fn notes_tip(repo: &Repo) -> Option<String> {
    let o = repo.git(&["rev-parse", "--verify", "-q", NOTES]);
    o.status
        .success()
        .then(|| String::from_utf8(o.stdout).unwrap().trim().to_owned())
}

/// `git verify-commit` (or `verify-tag`) and its outcome.
fn git_verify(repo: &Repo, what: &str, id: &str) -> Output {
    repo.git(&[&format!("verify-{what}"), id])
}

/// The error kind `signet verify --format json REV` reports for one object.
fn error_kind(repo: &Repo, id: &str) -> String {
    let (code, items, o) = verify_json(repo, &[id]);
    assert_eq!(code, Some(1), "{}", show(&o));
    items[0]["error"]["kind"].as_str().unwrap().to_owned()
}

/// A history of three online-mode commits (one on a side branch), an online-mode tag and an
/// offline-mode commit: (online commit ids, tag object id, offline commit id).
fn history(repo: &Repo) -> (Vec<String>, String, String) {
    let c1 = online_commit(repo, "a.txt", "first online");
    let c2 = online_commit(repo, "b.txt", "second online");
    repo.ok(&["checkout", "-q", "-b", "side"]);
    let c3 = online_commit(repo, "s.txt", "online on a side branch");
    repo.ok(&["checkout", "-q", "main"]);
    repo.ok(&[
        "-c",
        "signet.rekorMode=online",
        "tag",
        "-s",
        "v1",
        "-m",
        "online tag",
    ]);
    let tag = rev(repo, "refs/tags/v1");
    let offline = signed_commit(repo, "c.txt", "embedded entry");
    (vec![c1, c2, c3], tag, offline)
}

#[test]
fn online_history_verifies_offline_from_stored_bundles() {
    let mut stack = Stack::start();
    let repo = Repo::new(&stack, "notes");
    let (online, tag, offline) = history(&repo);

    // Offline, without notes: the online-mode objects fail closed.
    let (code, summary, o) = history_json(&repo, &["--all"]);
    assert_eq!(code, Some(1), "{}", show(&o));
    assert_eq!(summary["failed"], 4, "{}", show(&o));
    for f in summary["failures"].as_array().unwrap() {
        assert_eq!(f["reason"], "missing-log-entry", "{}", show(&o));
        assert!(f["hint"].as_str().unwrap().contains("signet notes fetch"));
    }

    // Fetch once: 4 bundles (3 commits, 1 tag), the offline commit needs none.
    let o = fetch(&repo, &["--all"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        stdout(&o).contains(
            "5 objects: 4 bundles stored in refs/notes/signet, 0 already stored, 1 with an embedded log entry, 0 unsigned, 0 failed"
        ),
        "{}",
        show(&o)
    );
    let tip = notes_tip(&repo).expect("the notes ref exists");
    // git itself reads them as notes on those objects.
    let listed = git_notes(&repo, &["list"]);
    assert_eq!(listed.lines().count(), 4, "{listed}");
    for id in online.iter().chain([&tag]) {
        assert!(listed.contains(id.as_str()), "{id} in {listed}");
    }
    // Idempotent: nothing new, no new notes commit.
    let o = fetch(&repo, &["--all"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        stdout(&o).contains("0 bundles stored in refs/notes/signet, 4 already stored"),
        "{}",
        show(&o)
    );
    assert_eq!(notes_tip(&repo).as_deref(), Some(tip.as_str()));
    // `notes show` prints the stored bundle: a Sigstore bundle v0.3 over sha256(commit id).
    let o = signet_in(&repo, &["notes", "show", &online[0]]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let bundle = json(&o);
    assert_eq!(
        bundle["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    // It is an ordinary bundle: signet verify-bundle, sigstore-python and sigstore-js verify it
    // with the commit id (its hex text) as the artifact.
    let note = stack.path("note.json");
    std::fs::write(&note, &o.stdout).unwrap();
    let artifact = stack.path("commit-id.txt");
    std::fs::write(&artifact, &online[0]).unwrap();
    let issuer = stack.issuer();
    let o = signet_in(
        &repo,
        &[
            "verify-bundle",
            "--bundle",
            note.to_str().unwrap(),
            "--certificate-identity",
            ALICE,
            "--certificate-oidc-issuer",
            &issuer,
            artifact.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let o = sigstore_python_verify(&stack, &note, ALICE, artifact.as_os_str());
    assert!(o.status.success(), "sigstore-python: {}", show(&o));
    let o = sigstore_js(&stack, &note, &artifact, ALICE);
    assert!(o.status.success(), "sigstore-js: {}", show(&o));
    let o = signet_in(&repo, &["notes", "show", &offline]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("no bundle is stored"), "{}", show(&o));

    // Two servers requiring signatures, made now (the policy names the stack's issuer).
    let policy = alice_policy(&stack);
    let server = Server::new(&stack, &repo, "server", &policy);
    let bare = Server::new(&stack, &repo, "no-notes", &policy);
    let clone = Repo::new(&stack, "clone");

    // From here on there is no network.
    stack.stop();

    // git verify-commit / verify-tag, through signet in gpg mode.
    for id in &online {
        let o = git_verify(&repo, "commit", id);
        assert_eq!(o.status.code(), Some(0), "{id}: {}", show(&o));
        assert!(
            stderr(&o).contains("log entry from the stored bundle (git note)"),
            "{}",
            show(&o)
        );
    }
    let o = git_verify(&repo, "commit", &offline);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(stderr(&o).contains("log entry embedded"), "{}", show(&o));
    let o = git_verify(&repo, "tag", "v1");
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    // %G? is G: a good signature by the committer.
    let (_, armored) = split(&repo, ObjectKind::Commit, &online[0]);
    let fpr = leaf_fingerprint(&armored);
    assert_eq!(
        placeholders(&repo, &[], &online[0]),
        format!("G {ALICE} {fpr} {fpr} {fpr} fully")
    );
    let o = repo.git(&["log", "--show-signature", "-1", &online[1]]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Good signature from alice@example.com"),
        "{}",
        show(&o)
    );

    // signet verify: one object says where its proof came from; --all counts them.
    let (code, items, o) = verify_json(&repo, &[&online[0]]);
    assert_eq!(code, Some(0), "{}", show(&o));
    assert_eq!(items[0]["signature"]["evidence"]["source"], "stored-bundle");
    let (code, items, o) = verify_json(&repo, &[&offline]);
    assert_eq!(code, Some(0), "{}", show(&o));
    assert_eq!(items[0]["signature"]["evidence"]["source"], "embedded");
    let (code, summary, o) = history_json(&repo, &["--all"]);
    assert_eq!(code, Some(0), "{}", show(&o));
    assert_eq!(summary["verified"], 5, "{}", show(&o));
    assert_eq!(summary["fromNotes"], 4, "{}", show(&o));
    let o = signet_in(&repo, &["verify", "--all"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        stdout(&o)
            .contains("log proof from a stored bundle (git note): 4, embedded in the signature: 1"),
        "{}",
        show(&o)
    );

    // The push with the notes passes, offline.
    let o = push(
        &repo,
        &server,
        &["refs/heads/main", "refs/heads/side", "refs/tags/v1", NOTES],
    );
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let lines = remote_lines(&o);
    assert_eq!(
        lines.last().map(String::as_str),
        // The tag's walk verifies the commits it reaches again (branch and tag rules are
        // separate): 4 branch commits, then the tag and two of them.
        Some("signet: 7 new objects verified (6 from stored bundles in refs/notes/signet)"),
        "{}",
        show(&o)
    );
    // Without the notes, the same push is rejected: no proof, no entry.
    let o = push(&repo, &bare, &["refs/heads/main"]);
    assert_rejected(&o, 2, 3);
    assert_line(
        &o,
        "refs/heads/main",
        "commit",
        &online[0],
        "first online",
        "missing-log-entry",
    );
    assert_eq!(bare.rev(&repo, "refs/heads/main"), None);

    // A clone that fetches the notes (remote.origin.fetch) verifies the same history offline.
    clone.ok(&["remote", "add", "origin", server.path()]);
    clone.ok(&[
        "config",
        "--add",
        "remote.origin.fetch",
        &format!("+{NOTES}:{NOTES}"),
    ]);
    clone.ok(&["fetch", "-q", "origin"]);
    clone.ok(&["update-ref", "refs/heads/main", "refs/remotes/origin/main"]);
    clone.ok(&["update-ref", "refs/heads/side", "refs/remotes/origin/side"]);
    let (code, summary, o) = history_json(&clone, &["--all"]);
    assert_eq!(code, Some(0), "{}", show(&o));
    assert_eq!(summary["verified"], 5, "{}", show(&o));
    assert_eq!(summary["fromNotes"], 4, "{}", show(&o));
    let o = git_verify(&clone, "commit", &online[2]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));

    // Without the notes, everything online-mode fails closed again.
    repo.ok(&["update-ref", "-d", NOTES]);
    let (code, summary, o) = history_json(&repo, &["--all"]);
    assert_eq!(code, Some(1), "{}", show(&o));
    assert_eq!(summary["failed"], 4, "{}", show(&o));
    let o = git_verify(&repo, "commit", &online[0]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    // And fetching needs the (stopped) log: every lookup fails, nothing is stored.
    let o = fetch(&repo, &["--all"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stdout(&o).contains("0 bundles stored") && stdout(&o).contains("4 failed"),
        "{}",
        show(&o)
    );
    assert_eq!(
        stdout(&o).matches(": log-search-failed: ").count(),
        4,
        "{}",
        show(&o)
    );
    assert_eq!(notes_tip(&repo), None);
}

/// `git notes --ref refs/notes/signet ARGS` (git's own notes commands, behind signet's back).
fn git_notes(repo: &Repo, args: &[&str]) -> String {
    repo.ok(&[&["notes", "--ref", NOTES][..], args].concat())
}

/// The note blob of `id`.
fn note_blob(repo: &Repo, id: &str) -> String {
    git_notes(repo, &["list", id]).trim().to_owned()
}

#[test]
fn wrong_notes_are_rejected_named_and_replaced_by_fetch() {
    let stack = Stack::start();
    let repo = Repo::new(&stack, "bad-notes");
    let a = online_commit(&repo, "a.txt", "commit a");
    let b = online_commit(&repo, "b.txt", "commit b");
    let o = fetch(&repo, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let bundle_a = signet_in(&repo, &["notes", "show", &a]).stdout;

    // A note moved from one commit to another: b's note is a's bundle.
    let blob_a = note_blob(&repo, &a);
    git_notes(&repo, &["add", "-f", "-C", &blob_a, &b]);
    assert_eq!(error_kind(&repo, &b), "stored-bundle-mismatch");
    let o = git_verify(&repo, "commit", &b);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stderr(&o).contains("the stored bundle (git note) is not this signature's"),
        "{}",
        show(&o)
    );
    let (code, summary, o) = history_json(&repo, &["--ancestry", "main"]);
    assert_eq!(code, Some(1), "{}", show(&o));
    assert_eq!(summary["failed"], 1, "{}", show(&o));
    assert_eq!(summary["failures"][0]["object"], b.as_str());
    // Even with the log at hand, a wrong note is not skipped in favour of a search.
    let (code, _, o) = verify_json(&repo, &["--rekor-url", &stack.url(), &b]);
    assert_eq!(code, Some(1), "{}", show(&o));
    // fetch replaces it with the log's proof, and says so.
    let o = fetch(&repo, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        stdout(&o).contains(&format!(
            "replaced commit {b}: its stored bundle did not verify"
        )),
        "{}",
        show(&o)
    );
    let (code, _, o) = verify_json(&repo, &[&b]);
    assert_eq!(code, Some(0), "{}", show(&o));

    // A note that is not JSON.
    git_notes(&repo, &["add", "-f", "-m", "not a bundle", &a]);
    assert_eq!(error_kind(&repo, &a), "bad-stored-bundle");

    // notes add: a bundle for another commit is refused and nothing is stored.
    let tip = notes_tip(&repo);
    let o = with_stdin(
        &repo,
        crate::verify::SIGNET,
        &["notes", "add", &b],
        &bundle_a,
    );
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stderr(&o).contains("the stored bundle (git note) is not this signature's"),
        "{}",
        show(&o)
    );
    assert_eq!(notes_tip(&repo), tip);
    // A bundle whose proof does not verify (its integrated time moved) is refused too.
    let mut forged: serde_json::Value = serde_json::from_slice(&bundle_a).unwrap();
    let entry = &mut forged["verificationMaterial"]["tlogEntries"][0];
    let t: i64 = entry["integratedTime"].as_str().unwrap().parse().unwrap();
    entry["integratedTime"] = (t + 1).to_string().into();
    let forged = serde_json::to_vec(&forged).unwrap();
    let file = stack.path("forged.json");
    std::fs::write(&file, &forged).unwrap();
    let o = signet_in(
        &repo,
        &[
            "notes",
            "add",
            &a,
            "--force",
            "--bundle",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("does not verify"), "{}", show(&o));
    assert_eq!(notes_tip(&repo), tip);
    // Stored behind signet's back, it fails verification.
    git_notes(&repo, &["add", "-f", "-F", file.to_str().unwrap(), &a]);
    assert_eq!(error_kind(&repo, &a), "bad-stored-bundle");
    // The right bundle is accepted (replacing needs --force), and then verifies.
    let good = stack.path("a.json");
    std::fs::write(&good, &bundle_a).unwrap();
    let add = ["notes", "add", &a, "--bundle", good.to_str().unwrap()];
    let o = signet_in(&repo, &add);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(stderr(&o).contains("--force"), "{}", show(&o));
    let o = signet_in(&repo, &[&add[..], &["--force"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let (code, _, o) = verify_json(&repo, &[&a]);
    assert_eq!(code, Some(0), "{}", show(&o));

    // A notes ref that is not a notes tree: named, for the objects that need it.
    let blob = with_stdin(&repo, "git", &["hash-object", "-w", "--stdin"], b"x");
    let blob = String::from_utf8(blob.stdout).unwrap().trim().to_owned();
    let saved = notes_tip(&repo).unwrap();
    repo.ok(&["update-ref", NOTES, &blob]);
    assert_eq!(error_kind(&repo, &a), "notes-unreadable");
    let o = git_verify(&repo, "commit", &a);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("not a notes ref"), "{}", show(&o));
    let o = fetch(&repo, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        stderr(&o).contains("refs/notes/signet is not a notes ref"),
        "{}",
        show(&o)
    );
    repo.ok(&["update-ref", NOTES, &saved]);

    // A server refuses a push whose notes ref is not a notes commit, naming it; with the real
    // notes the same push passes.
    let server = Server::new(&stack, &repo, "server", &alice_policy(&stack));
    let tree = rev(&repo, "HEAD^{tree}");
    let o = push(
        &repo,
        &server,
        &["refs/heads/main", &format!("{tree}:{NOTES}")],
    );
    // The online-mode commits cannot be checked against such notes either.
    let lines = assert_rejected(&o, 3, 3);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("signet: REJECTED {NOTES} "))
                && l.contains(": bad-notes-ref: ")),
        "{}",
        show(&o)
    );
    assert_eq!(server.rev(&repo, NOTES), None);
    let o = push(&repo, &server, &["refs/heads/main", NOTES]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
}

#[test]
fn fetch_reports_each_failure_and_stores_the_rest() {
    let stack = Stack::start();
    let repo = Repo::new(&stack, "fetch-failures");
    let good = online_commit(&repo, "a.txt", "logged");
    // The same signature on another object (an unsigned attribute added, which the signature
    // does not cover): the log holds entries for the certificate, but for another commit.
    let object = repo.ok(&["cat-file", "commit", &good]);
    let (payload, armored) = crate::git_e2e::split_commit(object.as_bytes());
    let resigned = extra_unsigned_attribute(&armored);
    let (_, moved) =
        signet::core::gitobject::with_signature(&payload, resigned.as_bytes()).unwrap();
    let other = write_commit(&repo, &moved);
    assert_ne!(other, good);
    repo.ok(&["update-ref", "refs/heads/other", &other]);
    // 100 unsigned commits on another branch: a long range reports its progress on stderr.
    let bulk: String = (0..100)
        .map(|i| {
            format!(
                "commit refs/heads/bulk\ncommitter Alice <{ALICE}> 1767225600 +0000\ndata {}\n{i:03}\n\n",
                3
            )
        })
        .collect();
    let o = with_stdin(&repo, "git", &["fast-import", "--quiet"], bulk.as_bytes());
    assert!(o.status.success(), "{}", show(&o));
    // Rekor unreachable: each lookup fails on its own, nothing stored.
    let o = fetch(&repo, &["--all", "--rekor-url", "http://127.0.0.1:9"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stdout(&o).contains("102 objects: 0 bundles stored")
            && stdout(&o).contains("100 unsigned, 2 failed"),
        "{}",
        show(&o)
    );
    assert!(
        stderr(&o).contains("notes fetch: 100 of 102 objects checked, 0 bundles stored so far"),
        "{}",
        show(&o)
    );
    assert!(!stdout(&o).contains("objects checked"), "{}", show(&o));
    assert!(stdout(&o).contains(": log-search-failed: "), "{}", show(&o));
    assert!(
        stderr(&o).contains("hint: check that Rekor"),
        "{}",
        show(&o)
    );
    assert_eq!(notes_tip(&repo), None);
    // With the log: the logged commit gets its bundle, the other is reported by id.
    let o = fetch(&repo, &["--all"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stdout(&o).contains(&format!(
            "FAILED commit {other} \"logged\": no-matching-log-entry: "
        )),
        "{}",
        show(&o)
    );
    assert!(stdout(&o).contains("1 bundles stored"), "{}", show(&o));
    assert_eq!(note_blob(&repo, &good).len(), 40);
    let (code, _, o) = verify_json(&repo, &[&good]);
    assert_eq!(code, Some(0), "{}", show(&o));
    assert_eq!(error_kind(&repo, &other), "missing-log-entry");
    // A log that never saw the certificate: nothing matches.
    let stranger = Stack::start();
    repo.ok(&["update-ref", "-d", NOTES]);
    let o = fetch(&repo, &["main", "--rekor-url", &stranger.url()]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stdout(&o).contains("no-matching-log-entry"), "{}", show(&o));
    assert_eq!(notes_tip(&repo), None);
}

/// `armored` with one more unsigned attribute (an unused private OID): the same signature
/// bytes over the same signed attributes, in another CMS.
fn extra_unsigned_attribute(armored: &[u8]) -> String {
    use signet::core::cms;
    let parsed = cms::parse(&cms::dearmor(armored).unwrap()).unwrap();
    let leaf = parsed.signer_certificate().unwrap();
    let oid = const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1");
    let attr = cms::octet_string_attribute(oid, b"unsigned");
    let der =
        cms::build_signed_data(leaf, &parsed.signed_attrs, &parsed.signature, &[attr]).unwrap();
    cms::armor(&der).unwrap()
}

#[test]
fn sha256_repositories_keep_and_use_notes() {
    let mut stack = Stack::start();
    let repo = Repo::with_init(&stack, "sha256-notes", &["--object-format=sha256"]);
    let id = online_commit(&repo, "a.txt", "online in sha256");
    assert_eq!(id.len(), 64);
    // Another notes ref, as signet.notesRef names it (a short name, as git notes --ref takes).
    repo.ok(&["config", "signet.notesRef", "proofs"]);
    let o = fetch(&repo, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        stdout(&o).contains("1 bundles stored in refs/notes/proofs"),
        "{}",
        show(&o)
    );
    assert_eq!(notes_tip(&repo), None);
    repo.ok(&["rev-parse", "--verify", "refs/notes/proofs"]);
    stack.stop();
    let o = git_verify(&repo, "commit", &id);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let (code, items, o) = verify_json(&repo, &[&id]);
    assert_eq!(code, Some(0), "{}", show(&o));
    assert_eq!(items[0]["signature"]["evidence"]["source"], "stored-bundle");
}
