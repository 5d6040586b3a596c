//! `signet hook pre-receive` in a real bare repository: clients push with `git push` to a local
//! `server.git` whose `hooks/pre-receive` is a symlink to the signet binary (or, once, the shipped
//! `hooks/pre-receive` script with the binary on PATH), with `signet.policy` and
//! `signet.trustedRoot` (the stack's root) in its config. Each push is judged by its exit status,
//! the `remote: signet: ` lines and the server's refs and objects afterwards: a rejected push
//! leaves no ref change and no object behind.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::git_e2e::{ALICE, Repo};
use crate::harness::{Stack, show};
use crate::verify::{SIGNET, rev, signed_commit, write_commit};

/// A bare repository with the hook installed, its policy file in `policy.toml` in the git
/// directory (named relatively in `signet.policy`) and the stack's trusted root.
pub(crate) struct Server {
    dir: PathBuf,
}

impl Server {
    /// `git init --bare`, the hook as a symlink to the signet binary, and `policy`.
    pub(crate) fn new(stack: &Stack, client: &Repo, name: &str, policy: &str) -> Server {
        let server = Server::bare(stack, client, name);
        std::os::unix::fs::symlink(SIGNET, server.dir.join("hooks/pre-receive")).unwrap();
        server.set_policy(policy);
        server.config(&["signet.policy", "policy.toml"]);
        server.config(&["signet.trustedRoot", stack.trusted_root().to_str().unwrap()]);
        server
    }

    /// A bare repository with no hook and no signet configuration.
    pub(crate) fn bare(stack: &Stack, client: &Repo, name: &str) -> Server {
        let dir = stack.path(name).join("server.git");
        let path = dir.to_str().unwrap();
        client.ok(&["init", "-q", "--bare", "-b", "main", path]);
        Server { dir }
    }

    pub(crate) fn path(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    pub(crate) fn set_policy(&self, policy: &str) {
        std::fs::write(self.dir.join("policy.toml"), policy).unwrap();
    }

    /// `git --git-dir server.git ARGS` with the client's hermetic environment.
    pub(crate) fn git(&self, client: &Repo, args: &[&str]) -> Output {
        client
            .command(Path::new("git"))
            .arg("--git-dir")
            .arg(&self.dir)
            .args(args)
            .output()
            .unwrap()
    }

    pub(crate) fn config(&self, args: &[&str]) {
        // The server's own config, not the client's: `git config --file`.
        let file = self.dir.join("config");
        let mut all = vec!["config", "--file", file.to_str().unwrap()];
        all.extend(args);
        let o = std::process::Command::new("git")
            .args(&all)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(o.status.success(), "git {all:?}: {}", show(&o));
    }

    /// Every ref with its value, one per line.
    pub(crate) fn refs(&self, client: &Repo) -> String {
        let o = self.git(
            client,
            &["for-each-ref", "--format=%(objectname) %(refname)"],
        );
        assert!(o.status.success(), "{}", show(&o));
        String::from_utf8(o.stdout).unwrap()
    }

    /// The value of `refname`, if the server has it.
    pub(crate) fn rev(&self, client: &Repo, refname: &str) -> Option<String> {
        let o = self.git(client, &["rev-parse", "--verify", "-q", refname]);
        o.status
            .success()
            .then(|| String::from_utf8(o.stdout).unwrap().trim().to_owned())
    }

    /// Whether the object `id` is stored in the server's repository.
    pub(crate) fn has(&self, client: &Repo, id: &str) -> bool {
        self.git(client, &["cat-file", "-e", id]).status.success()
    }
}

/// The policy the stack's signer satisfies on every branch and tag.
pub(crate) fn alice_policy(stack: &Stack) -> String {
    format!(
        "version = 1\n\n[[rule]]\nrefs = [\"refs/heads/**\", \"refs/tags/**\"]\n\
         identities = [\"{ALICE}\"]\nissuers = [\"{}\"]\n",
        stack.issuer()
    )
}

/// `git push SERVER ARGS` from the client. The pusher's own signet settings are dropped: the
/// hook must take its trusted root from the server's config.
pub(crate) fn push(client: &Repo, server: &Server, args: &[&str]) -> Output {
    client
        .command(Path::new("git"))
        .args(["push", server.path()])
        .args(args)
        .env_remove("SIGNET_TRUSTED_ROOT")
        .env_remove("SIGSTORE_ID_TOKEN")
        .output()
        .unwrap()
}

/// The hook's lines as the pusher sees them, without `remote: ` and git's clear-to-end suffix.
/// Every one starts with `signet: `.
pub(crate) fn remote_lines(o: &Output) -> Vec<String> {
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<String> = err
        .lines()
        .filter_map(|l| l.strip_prefix("remote: "))
        .map(|l| l.trim_end().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    for l in &lines {
        assert!(l.starts_with("signet: "), "{l:?} in {}", show(o));
    }
    lines
}

/// The push succeeded and the hook said it verified `n` new objects.
pub(crate) fn assert_accepted(o: &Output, n: usize) {
    assert_eq!(o.status.code(), Some(0), "{}", show(o));
    let lines = remote_lines(o);
    let want = format!("signet: {n} new objects verified");
    assert_eq!(lines.last(), Some(&want), "{}", show(o));
}

/// The push was refused as a whole, with `signet: push rejected: <reason>` as the summary.
pub(crate) fn assert_refused(o: &Output, reason: &str) -> Vec<String> {
    assert_eq!(o.status.code(), Some(1), "{}", show(o));
    let text = String::from_utf8_lossy(&o.stderr);
    assert!(text.contains("(pre-receive hook declined)"), "{}", show(o));
    let lines = remote_lines(o);
    let want = format!("signet: push rejected: {reason}");
    assert!(
        lines.iter().any(|l| l.starts_with(&want)),
        "no line starting {want:?}: {}",
        show(o)
    );
    lines
}

/// The push was refused because `bad` of `total` new objects failed the policy.
pub(crate) fn assert_rejected(o: &Output, bad: usize, total: usize) -> Vec<String> {
    let lines = assert_refused(
        o,
        &format!("{bad} of {total} new objects failed the policy"),
    );
    let rejected = lines
        .iter()
        .filter(|l| l.starts_with("signet: REJECTED "))
        .count();
    assert_eq!(rejected, bad, "{}", show(o));
    lines
}

/// The `REJECTED` line for one object: `kind: message (hint: hint)`.
pub(crate) fn assert_line(
    o: &Output,
    refname: &str,
    what: &str,
    id: &str,
    subject: &str,
    kind: &str,
) {
    let head = format!("signet: REJECTED {refname} {what} {id} \"{subject}\": {kind}: ");
    let lines = remote_lines(o);
    let line = lines
        .iter()
        .find(|l| l.starts_with(&head))
        .unwrap_or_else(|| panic!("no line starting {head:?}: {}", show(o)));
    assert!(
        line.contains(" (hint: ") && line.ends_with(')'),
        "{line:?} has no hint: {}",
        show(o)
    );
}

/// An unsigned commit of a new file; its id.
/// The push was refused for exactly one object, named in its `REJECTED` line.
pub(crate) fn refused_one(
    o: &Output,
    refname: &str,
    what: &str,
    id: &str,
    subject: &str,
    kind: &str,
) {
    assert_rejected(o, 1, 1);
    assert_line(o, refname, what, id, subject, kind);
}

fn unsigned_commit(repo: &Repo, file: &str, message: &str) -> String {
    repo.stage(file, message);
    repo.ok(&["commit", "-q", "--no-gpg-sign", "-m", message]);
    rev(repo, "HEAD")
}

// ---------------------------------------------------------------------------------------------

/// Good pushes, a new branch of known commits, an unsigned and a tampered commit, and a
/// force-push of a rewritten history, against one server.
#[test]
fn signed_pushes_are_accepted_and_bad_ones_leave_nothing_behind() {
    let stack = Stack::start();
    let client = Repo::new(&stack, "client");
    let server = Server::new(&stack, &client, "server", &alice_policy(&stack));

    // Two signed commits.
    let first = signed_commit(&client, "a.txt", "first");
    let second = signed_commit(&client, "b.txt", "second");
    let o = push(&client, &server, &["main"]);
    assert_accepted(&o, 2);
    assert_eq!(server.rev(&client, "refs/heads/main"), Some(second.clone()));

    // A new branch whose commits the server holds already: nothing is verified again.
    let o = push(&client, &server, &["main:refs/heads/copy"]);
    assert_accepted(&o, 0);
    assert_eq!(server.rev(&client, "refs/heads/copy"), Some(second.clone()));

    // An unsigned commit.
    let before = server.refs(&client);
    let unsigned = unsigned_commit(&client, "c.txt", "unsigned change");
    let o = push(&client, &server, &["main"]);
    refused_one(
        &o,
        "refs/heads/main",
        "commit",
        &unsigned,
        "unsigned change",
        "not-signed",
    );
    assert_eq!(server.refs(&client), before);
    assert!(
        !server.has(&client, &unsigned),
        "the rejected commit stayed"
    );

    // A signed commit with one byte of its message changed, the signature kept.
    client.ok(&["reset", "-q", "--hard", &second]);
    let signed = signed_commit(&client, "d.txt", "the signed message");
    let object = client.ok(&["cat-file", "commit", &signed]);
    let changed = object.replace("the signed message", "the signed messagE");
    assert_eq!(changed.len(), object.len());
    let tampered = write_commit(&client, changed.as_bytes());
    client.ok(&["update-ref", "refs/heads/tampered", &tampered]);
    let o = push(&client, &server, &["tampered"]);
    refused_one(
        &o,
        "refs/heads/tampered",
        "commit",
        &tampered,
        "the signed messagE",
        "content-mismatch",
    );
    assert_eq!(server.refs(&client), before);
    assert!(
        !server.has(&client, &tampered),
        "the rejected commit stayed"
    );

    // A force-push of a rewritten history, all signed.
    client.ok(&["reset", "-q", "--hard", &first]);
    let rewritten = signed_commit(&client, "e.txt", "rewritten second");
    let o = push(&client, &server, &["--force", "main"]);
    assert_accepted(&o, 1);
    assert_eq!(
        server.rev(&client, "refs/heads/main"),
        Some(rewritten.clone())
    );

    // ... and with one unsigned commit in it: nothing of it is taken.
    client.ok(&["reset", "-q", "--hard", &first]);
    let signed = signed_commit(&client, "f.txt", "signed rewrite");
    let unsigned = unsigned_commit(&client, "g.txt", "unsigned rewrite");
    let before = server.refs(&client);
    let o = push(&client, &server, &["--force", "main"]);
    assert_rejected(&o, 1, 2);
    assert_line(
        &o,
        "refs/heads/main",
        "commit",
        &unsigned,
        "unsigned rewrite",
        "not-signed",
    );
    assert_eq!(server.refs(&client), before);
    assert_eq!(server.rev(&client, "refs/heads/main"), Some(rewritten));
    assert!(!server.has(&client, &signed), "a quarantined commit stayed");
    assert!(
        !server.has(&client, &unsigned),
        "the rejected commit stayed"
    );
}

/// A valid signature by someone the policy does not name, or from another issuer.
#[test]
fn wrong_identity_and_wrong_issuer_are_rejected_by_the_policy() {
    let stack = Stack::start();
    let client = Repo::new(&stack, "client");
    let issuer = stack.issuer();
    let wrong_identity = format!(
        "version = 1\n[[rule]]\nrefs = [\"refs/heads/main\"]\n\
         identities = [\"someone-else@example.com\"]\nissuers = [\"{issuer}\"]\n"
    );
    let server = Server::new(&stack, &client, "server", &wrong_identity);
    let id = signed_commit(&client, "a.txt", "signed by alice");

    let o = push(&client, &server, &["main"]);
    refused_one(
        &o,
        "refs/heads/main",
        "commit",
        &id,
        "signed by alice",
        "policy",
    );
    assert!(
        remote_lines(&o)
            .iter()
            .any(|l| l.contains("someone-else@example.com") || l.contains(ALICE)),
        "the policy failure names the identities: {}",
        show(&o)
    );
    assert_eq!(server.refs(&client), "");

    server.set_policy(&format!(
        "version = 1\n[[rule]]\nrefs = [\"refs/heads/main\"]\n\
         identities = [\"{ALICE}\"]\nissuers = [\"https://other-issuer.example\"]\n"
    ));
    let o = push(&client, &server, &["main"]);
    refused_one(
        &o,
        "refs/heads/main",
        "commit",
        &id,
        "signed by alice",
        "policy",
    );
    assert_eq!(server.refs(&client), "");
    assert!(!server.has(&client, &id));

    // The same commit under a policy naming its signer and issuer.
    server.set_policy(&alice_policy(&stack));
    let o = push(&client, &server, &["main"]);
    assert_accepted(&o, 1);
    assert_eq!(server.rev(&client, "refs/heads/main"), Some(id));
}

/// Exemptions (`exempt-history`, a rule with `allow-unsigned`), deletions, and refs no rule
/// covers. No commit here is signed.
#[test]
fn exemptions_and_deletions_pass_and_unruled_refs_do_not() {
    let stack = Stack::start();
    let client = Repo::new(&stack, "client");
    let legacy_root = unsigned_commit(&client, "a.txt", "legacy root");
    let legacy_tip = unsigned_commit(&client, "b.txt", "legacy tip");
    let policy = format!(
        "version = 1\nexempt-history = [\"{legacy_tip}\"]\n\n\
         [[rule]]\nrefs = [\"refs/heads/scratch/*\"]\nidentities = [\"{ALICE}\"]\n\
         issuers = [\"{issuer}\"]\nallow-unsigned = true\n\n\
         [[rule]]\nrefs = [\"refs/heads/main\", \"refs/heads/topic\"]\n\
         identities = [\"{ALICE}\"]\nissuers = [\"{issuer}\"]\n",
        issuer = stack.issuer()
    );
    let server = Server::new(&stack, &client, "server", &policy);

    // The exempt history passes as it is.
    let o = push(&client, &server, &["main"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let last = remote_lines(&o).pop().unwrap_or_default();
    assert!(last.ends_with(" new objects verified"), "{}", show(&o));
    assert_eq!(
        server.rev(&client, "refs/heads/main"),
        Some(legacy_tip.clone())
    );
    assert!(server.has(&client, &legacy_root));

    // An unsigned commit after the cut-over does not.
    let late = unsigned_commit(&client, "c.txt", "after the cut-over");
    let o = push(&client, &server, &["main"]);
    refused_one(
        &o,
        "refs/heads/main",
        "commit",
        &late,
        "after the cut-over",
        "not-signed",
    );
    assert_eq!(
        server.rev(&client, "refs/heads/main"),
        Some(legacy_tip.clone())
    );
    assert!(!server.has(&client, &late));

    // Unsigned commits are allowed on scratch/*.
    client.ok(&["checkout", "-q", "-b", "scratch/x", &legacy_tip]);
    let scratch = unsigned_commit(&client, "d.txt", "scratch work");
    let o = push(&client, &server, &["scratch/x"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(
        remote_lines(&o).last().map(String::as_str),
        Some(
            "signet: 1 new objects passed: 0 verified, 0 exempt, 1 unsigned (allowed by the rule)"
        ),
        "{}",
        show(&o)
    );
    assert_eq!(
        server.rev(&client, "refs/heads/scratch/x"),
        Some(scratch.clone())
    );

    // A commit accepted on scratch/x (where unsigned is allowed) must still meet the rule of a
    // stricter ref it is pushed to: existing refs under other rules do not vouch for it.
    let before = server.refs(&client);
    let o = push(&client, &server, &["scratch/x:refs/heads/topic"]);
    refused_one(
        &o,
        "refs/heads/topic",
        "commit",
        &scratch,
        "scratch work",
        "not-signed",
    );
    assert_eq!(server.refs(&client), before);

    // A branch whose commits the policy would reject elsewhere can be deleted.
    let o = push(&client, &server, &[":refs/heads/scratch/x"]);
    assert_accepted(&o, 0);
    assert_eq!(server.rev(&client, "refs/heads/scratch/x"), None);

    // `*` does not cross a slash, and a ref no rule names is refused.
    client.ok(&["checkout", "-q", "-b", "other", &legacy_tip]);
    let stray = unsigned_commit(&client, "e.txt", "no rule here");
    let before = server.refs(&client);
    for refname in ["refs/heads/other", "refs/heads/scratch/a/b"] {
        let o = push(&client, &server, &[&format!("other:{refname}")]);
        refused_one(&o, refname, "commit", &stray, "no rule here", "no-rule");
        assert_eq!(server.refs(&client), before);
        assert!(!server.has(&client, &stray));
    }
    // Also when the ref brings no new commit.
    let o = push(&client, &server, &["scratch/x:refs/heads/unruled"]);
    assert_refused(&o, "");
    assert_line(
        &o,
        "refs/heads/unruled",
        "commit",
        &scratch,
        "scratch work",
        "no-rule",
    );
    assert_eq!(server.refs(&client), before);
    // An annotated tag under no rule is reported as the tag it is.
    client.ok(&["tag", "-a", "t1", "-m", "a tag no rule covers", &scratch]);
    let t1 = rev(&client, "refs/tags/t1");
    let o = push(&client, &server, &["refs/tags/t1"]);
    assert_refused(&o, "");
    assert_line(
        &o,
        "refs/tags/t1",
        "tag",
        &t1,
        "a tag no rule covers",
        "no-rule",
    );
    assert_eq!(server.refs(&client), before);
    assert!(!server.has(&client, &t1));
}

/// A pushed annotated tag is verified itself: signed passes, unsigned is refused.
#[test]
fn signed_tags_are_accepted_and_unsigned_tags_rejected() {
    let stack = Stack::start();
    let client = Repo::new(&stack, "client");
    let server = Server::new(&stack, &client, "server", &alice_policy(&stack));
    let commit = signed_commit(&client, "a.txt", "tagged commit");
    let o = push(&client, &server, &["main"]);
    assert_accepted(&o, 1);

    client.ok(&["tag", "-s", "v1", "-m", "v1"]);
    let v1 = rev(&client, "refs/tags/v1");
    let o = push(&client, &server, &["refs/tags/v1"]);
    assert_accepted(&o, 1);
    assert_eq!(server.rev(&client, "refs/tags/v1"), Some(v1));

    client.ok(&["tag", "-a", "v2", "-m", "v2"]);
    let v2 = rev(&client, "refs/tags/v2");
    assert_ne!(v2, commit);
    let before = server.refs(&client);
    let o = push(&client, &server, &["refs/tags/v2"]);
    refused_one(&o, "refs/tags/v2", "tag", &v2, "v2", "not-signed");
    assert_eq!(server.refs(&client), before);
    assert!(!server.has(&client, &v2), "the rejected tag stayed");
}

/// No policy, an invalid policy, a missing trusted root: every push is refused with the reason
/// and a hint.
#[test]
fn configuration_problems_refuse_every_push() {
    let stack = Stack::start();
    let client = Repo::new(&stack, "client");
    let server = Server::bare(&stack, &client, "server");
    std::os::unix::fs::symlink(SIGNET, server.dir.join("hooks/pre-receive")).unwrap();
    server.config(&["signet.trustedRoot", stack.trusted_root().to_str().unwrap()]);
    let id = signed_commit(&client, "a.txt", "signed commit");

    let refused = |what: &str, needle: &str| {
        let o = push(&client, &server, &["main"]);
        let lines = assert_refused(&o, "");
        // The reason, or the hint after it, names what to fix.
        let reason = lines
            .iter()
            .position(|l| l.starts_with("signet: push rejected: "))
            .unwrap();
        let hint = lines
            .get(reason + 1)
            .filter(|l| l.starts_with("signet: hint: "));
        let hint = hint.unwrap_or_else(|| panic!("{what}: no hint line: {}", show(&o)));
        assert!(
            lines[reason].contains(needle) || hint.contains(needle),
            "{what}: neither {:?} nor {hint:?} names {needle:?}: {}",
            lines[reason],
            show(&o)
        );
        assert_eq!(server.refs(&client), "", "{what}");
        assert!(!server.has(&client, &id), "{what}");
    };

    refused("no policy", "signet.policy");

    server.config(&["signet.policy", "policy.toml"]);
    server.set_policy(&format!(
        "version = 1\n\n[[rule]]\nrefs = [\"refs/heads/main\"]\nidentities = [\"{ALICE}\"]\n\
         allow-unsigned = \"yes\"\n"
    ));
    refused("invalid policy", "policy.toml:6");

    server.set_policy(&alice_policy(&stack));
    let missing = stack.path("no-such-dir/trusted_root.json");
    server.config(&["signet.trustedRoot", missing.to_str().unwrap()]);
    refused("missing trusted root", missing.to_str().unwrap());

    // Put right, the same push goes through.
    server.config(&["signet.trustedRoot", stack.trusted_root().to_str().unwrap()]);
    let o = push(&client, &server, &["main"]);
    assert_accepted(&o, 1);
}

/// The shipped `hooks/pre-receive` script finds signet on PATH.
#[test]
fn the_hook_script_runs_signet_from_path() {
    let stack = Stack::start();
    let mut client = Repo::new(&stack, "client");
    let server = Server::bare(&stack, &client, "server");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks/pre-receive");
    let hook = server.dir.join("hooks/pre-receive");
    std::fs::copy(&script, &hook).unwrap();
    server.config(&["signet.policy", "policy.toml"]);
    server.config(&["signet.trustedRoot", stack.trusted_root().to_str().unwrap()]);
    server.set_policy(&alice_policy(&stack));
    let bin_dir = Path::new(SIGNET).parent().unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin_dir.to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    client.set_env("PATH", path.to_str().unwrap());

    let id = signed_commit(&client, "a.txt", "signed commit");
    let o = push(&client, &server, &["main"]);
    assert_accepted(&o, 1);
    assert_eq!(server.rev(&client, "refs/heads/main"), Some(id));

    let unsigned = unsigned_commit(&client, "b.txt", "unsigned commit");
    let o = push(&client, &server, &["main"]);
    refused_one(
        &o,
        "refs/heads/main",
        "commit",
        &unsigned,
        "unsigned commit",
        "not-signed",
    );
}

/// Found in review: commits merged into a ref under an `allow-merged-history` rule were never
/// checked, so they must not vouch for another ref's first-parent chain; a push through a
/// symbolic ref answers to its target's rule; a ref straight to a tree needs a rule that allows
/// unsigned objects; an annotated tag of a tree does not stop `signet verify --all`.
#[test]
fn merged_history_symbolic_refs_and_trees_do_not_open_a_way_around_the_policy() {
    let stack = Stack::start();
    let client = Repo::new(&stack, "bypass-client");
    let issuer = stack.issuer();
    let base = signed_commit(&client, "a.txt", "signed base");
    // An unsigned "upstream" commit, merged into main by a signed merge.
    client.ok(&["checkout", "-q", "-b", "upstream", &base]);
    let upstream = unsigned_commit(&client, "u.txt", "upstream work");
    client.ok(&["checkout", "-q", "main"]);
    signed_commit(&client, "b.txt", "signed second");
    client.ok(&[
        "merge",
        "-q",
        "-S",
        "--no-ff",
        "-m",
        "merge upstream",
        "upstream",
    ]);
    let policy = format!(
        "version = 1\n\n[[rule]]\nrefs = [\"refs/heads/main\", \"refs/heads/release/*\"]\n\
         identities = [\"{ALICE}\"]\nissuers = [\"{issuer}\"]\nallow-merged-history = true\n\n\
         [[rule]]\nrefs = [\"refs/heads/**\", \"refs/tags/**\"]\nallow-unsigned = true\n"
    );
    let server = Server::new(&stack, &client, "bypass", &policy);
    let o = push(&client, &server, &["main"]);
    assert_accepted(&o, 3);

    // The merged-in commit is on the server, reachable from main, but it was never checked:
    // as the first-parent chain of release/x it is refused.
    let before = server.refs(&client);
    let o = push(
        &client,
        &server,
        &[&format!("{upstream}:refs/heads/release/x")],
    );
    refused_one(
        &o,
        "refs/heads/release/x",
        "commit",
        &upstream,
        "upstream work",
        "not-signed",
    );
    assert_eq!(server.refs(&client), before);

    // master is a symbolic ref to main: a push to master writes main and answers to its rule
    // (refs/heads/** alone would allow it).
    let o = server.git(
        &client,
        &["symbolic-ref", "refs/heads/master", "refs/heads/main"],
    );
    assert!(o.status.success(), "{}", show(&o));
    client.ok(&["checkout", "-q", "main"]);
    let sneaky = unsigned_commit(&client, "c.txt", "through the alias");
    let o = push(&client, &server, &["main:refs/heads/master"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert_line(
        &o,
        "refs/heads/main",
        "commit",
        &sneaky,
        "through the alias",
        "not-signed",
    );
    assert!(!server.has(&client, &sneaky));

    // A ref straight to a tree: refused under a rule that wants signatures.
    let tree = rev(&client, "HEAD^{tree}");
    let o = push(
        &client,
        &server,
        &[&format!("{tree}:refs/heads/release/tree")],
    );
    assert_rejected(&o, 1, 1);
    assert!(
        remote_lines(&o)
            .iter()
            .any(|l| l.contains(": not-a-commit: ")),
        "{}",
        show(&o)
    );

    // An annotated tag of a tree, where unsigned objects are allowed: accepted, and
    // `signet verify --all` still reports on everything instead of stopping.
    client.ok(&["tag", "-a", "--no-sign", "-m", "a tree", "treetag", &tree]);
    let o = push(&client, &server, &["refs/tags/treetag"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    client.ok(&["reset", "-q", "--hard", "HEAD~1"]);
    let policy_path = server.dir.join("policy.toml");
    let o = client
        .command(Path::new(SIGNET))
        .args(["verify", "--all", "--format", "json", "--policy"])
        .arg(&policy_path)
        .output()
        .unwrap();
    // main's first-parent chain (3 signed commits) verifies; the upstream branch (the signed
    // base again, under its own rule, and the unsigned upstream commit) and the tag of a tree
    // fall under the catch-all, which allows unsigned objects.
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["failed"], 0, "{}", show(&o));
    assert_eq!(report["verified"], 4, "{}", show(&o));
    assert_eq!(report["unsignedAllowed"], 2, "{}", show(&o));
}
