//! signet speaks git's gpg program protocol: the argv spellings git and users pass, only the
//! signature on stdout, `[GNUPG:]` status lines on the status fd (a golden transcript), and on
//! every failure a non-zero exit, empty stdout, one error with a hint, and (through git) no
//! commit with the staged changes intact.

use std::path::Path;
use std::process::Output;

use signet::core::{cms, gitobject};

use crate::git_e2e::{ALICE, Repo};
use crate::harness::{Stack, show};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const PAYLOAD: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author Alice <alice@example.com> 1767225600 +0000\n\
committer Alice <alice@example.com> 1767225600 +0000\n\nsigned directly\n";
const GOLDEN_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/gpg");

/// A golden status transcript: its status lines (comment lines, which state the expected
/// outcome, removed).
fn golden(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(format!("{GOLDEN_DIR}/{name}")).unwrap();
    assert!(
        text.starts_with("# "),
        "{name} must open with its expected outcome"
    );
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_golden_transcript_is_used() {
    let mut names: Vec<String> = std::fs::read_dir(GOLDEN_DIR)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.retain(|n| n.starts_with("sign-"));
    names.sort();
    assert_eq!(names, ["sign-failure.status", "sign-offline.status"]);
}

/// Run signet in gpg mode in the repository's environment with `payload` on stdin (signet may
/// exit before reading it, e.g. on a usage error).
pub(crate) fn signet_gpg(repo: &Repo, args: &[&str], payload: &[u8]) -> Output {
    crate::verify::with_stdin(repo, SIGNET, args, payload)
}

fn status_lines(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.starts_with("[GNUPG:] "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn argv_spellings_sign_and_status_matches_the_golden_transcript() {
    let stack = Stack::start();
    let repo = Repo::new(&stack, "argv");
    let forms: &[&[&str]] = &[
        &["--status-fd=2", "-bsau", "Alice <alice@example.com>"],
        &["--status-fd", "2", "-b", "-s", "-a", "-u", "KEY"],
        &[
            "--keyid-format=long",
            "--include-certs=-2",
            "--status-fd=2",
            "--detach-sign",
            "--armor",
            "--local-user=KEY",
        ],
    ];
    let expected = golden("sign-offline.status");
    assert!(!expected.is_empty());
    for argv in forms {
        let o = signet_gpg(&repo, argv, PAYLOAD);
        assert_eq!(o.status.code(), Some(0), "{argv:?}: {}", show(&o));
        let text = String::from_utf8(o.stdout.clone()).unwrap();
        assert!(
            text.starts_with("-----BEGIN SIGNED MESSAGE-----\n"),
            "{}",
            show(&o)
        );
        assert!(
            text.ends_with("-----END SIGNED MESSAGE-----\n"),
            "{}",
            show(&o)
        );
        let p = cms::parse(&cms::dearmor(text.as_bytes()).unwrap()).unwrap();
        // Normalise the variable parts after checking them.
        let fpr = gitobject::sha1_hex(&p.certificates[0]);
        let time = p.signing_time.unwrap().0.to_string();
        let got: Vec<String> = status_lines(&o.stderr)
            .into_iter()
            .map(|l| {
                l.replace(&fpr, "<SHA1-OF-LEAF-DER>")
                    .replace(&time, "<UNIX-TIME>")
            })
            .collect();
        assert_eq!(got, expected, "{argv:?}: {}", show(&o));
    }
    // Without -a the signature is raw DER (gitsign does the same).
    let o = signet_gpg(&repo, &["--status-fd=2", "-bsu", "KEY"], PAYLOAD);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    cms::parse(&o.stdout).unwrap();
    // Another descriptor: the lines go there, not to stderr.
    let status = stack.path("status.txt");
    let o = repo
        .command(Path::new("/bin/sh"))
        .arg("-c")
        .arg(format!(
            "printf '%s' \"$0\" | {SIGNET} --status-fd=3 -bsau KEY 3>\"$1\""
        ))
        .arg(String::from_utf8(PAYLOAD.to_vec()).unwrap())
        .arg(&status)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(status_lines(&o.stderr).is_empty(), "{}", show(&o));
    let lines = std::fs::read_to_string(&status).unwrap();
    assert!(
        lines.starts_with("[GNUPG:] BEGIN_SIGNING\n[GNUPG:] SIG_CREATED D 19 8 00 "),
        "{lines}"
    );
    // No --status-fd: no status lines anywhere.
    let o = signet_gpg(&repo, &["-bsau", "KEY"], PAYLOAD);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(status_lines(&o.stderr).is_empty(), "{}", show(&o));
}

/// Exit code, empty stdout, one `signet: error:` naming `needle`, and a hint.
fn assert_clean_failure(o: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{}", show(o));
    assert!(o.stdout.is_empty(), "stdout must stay empty: {}", show(o));
    assert_eq!(err.matches("signet: error: ").count(), 1, "{}", show(o));
    assert!(err.contains(needle), "expected {needle:?}: {}", show(o));
    assert!(err.contains("\nhint: "), "{}", show(o));
    assert!(!err.contains("panicked"), "{}", show(o));
    assert_eq!(
        status_lines(&o.stderr),
        golden("sign-failure.status"),
        "no status on failure: {}",
        show(o)
    );
}

#[test]
fn usage_errors_are_refused_cleanly() {
    let stack = Stack::start();
    let repo = Repo::new(&stack, "usage");
    // Verification with an unreadable signature file: exit 2, one error with a hint, and git
    // still gets a verdict it can show (%G? = E), never GOODSIG.
    let missing = stack.path("no-such-signature");
    let o = signet_gpg(
        &repo,
        &["--status-fd=1", "--verify", missing.to_str().unwrap(), "-"],
        PAYLOAD,
    );
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG 0000000000000000 19 8 00 0 1 -\n"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("signet: error: ").count(), 1, "{}", show(&o));
    assert!(
        err.contains("cannot open the signature file"),
        "{}",
        show(&o)
    );
    assert!(
        err.contains("\nhint: ") && !err.contains("panicked"),
        "{}",
        show(&o)
    );

    let cases: &[(&[&str], &str)] = &[
        (&["--status-fd=2", "-bsau"], "needs a value"),
        (&["--status-fd=2", "-bsx"], "unknown option"),
        (
            &["--status-fd=2", "-sau", "KEY"],
            "detached signatures only",
        ),
    ];
    for (argv, needle) in cases {
        let o = signet_gpg(&repo, argv, PAYLOAD);
        assert_clean_failure(&o, 2, needle);
    }
    // The subcommands still belong to clap.
    let o = repo
        .command(Path::new(SIGNET))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("sign-bundle"));
}

/// A repository with one file staged and no commit yet.
pub(crate) fn staged_repo(stack: &Stack, name: &str) -> Repo {
    let repo = Repo::new(stack, name);
    repo.stage("staged.txt", "staged change\n");
    repo
}

/// The argv git passes when it asks for a signature.
pub(crate) const SIGN_ARGS: &[&str] = &["--status-fd=2", "-bsau", "Alice <alice@example.com>"];

/// Directly: exit `code`, empty stdout, one `signet: error:` naming `needle`, a hint, no status
/// lines, no panic. Through git: the commit is refused with signet's message and hint, no
/// commit exists, and the index is as it was. Each path makes one signing attempt.
pub(crate) fn assert_refused(repo: &Repo, code: i32, needle: &str) {
    let o = signet_gpg(repo, SIGN_ARGS, PAYLOAD);
    assert_clean_failure(&o, code, needle);

    let before = repo.ok(&["diff", "--cached"]);
    assert!(before.contains("staged change"));
    let o = repo.git(&["commit", "-q", "-S", "-m", "must not exist"]);
    assert!(!o.status.success(), "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("signet: error: ") && err.contains(needle) && err.contains("hint: "),
        "{}",
        show(&o)
    );
    assert!(
        !repo
            .git(&["rev-parse", "--verify", "-q", "HEAD"])
            .status
            .success(),
        "a commit was created"
    );
    assert_eq!(
        repo.ok(&["diff", "--cached"]),
        before,
        "staged changes changed"
    );
}

#[test]
fn unreachable_services_are_clean_failures() {
    let stack = Stack::start();
    let mut repo = staged_repo(&stack, "fulcio-down");
    repo.set_env("SIGNET_FULCIO_URL", "http://127.0.0.1:1");
    assert_refused(&repo, 2, "cannot reach Fulcio");

    let mut repo = staged_repo(&stack, "rekor-down");
    repo.set_env("SIGNET_REKOR_URL", "http://127.0.0.1:1");
    assert_refused(&repo, 2, "cannot reach Rekor");
}

#[test]
fn refused_tokens_are_clean_failures() {
    let stack = Stack::start();
    let other = Stack::start();
    let mut repo = staged_repo(&stack, "foreign-token");
    repo.set_env("SIGSTORE_ID_TOKEN", &other.token(ALICE));
    assert_refused(&repo, 2, "Fulcio answered HTTP 4");

    let store = signet_teststack::store::Store::open(&stack.state_dir()).unwrap();
    let key = signet_teststack::keys::load_or_create(&store, "oidc_key").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expired = signet_teststack::oidc::Issuer::new(stack.issuer(), key, ALICE.into()).mint(
        ALICE,
        "sigstore",
        60,
        None,
        now - 3600,
    );
    let mut repo = staged_repo(&stack, "expired-token");
    repo.set_env("SIGSTORE_ID_TOKEN", &expired);
    assert_refused(&repo, 2, "expired");
}

#[test]
fn bad_configuration_is_a_clean_failure() {
    let stack = Stack::start();
    let mut repo = staged_repo(&stack, "bad-mode");
    repo.set_env("SIGNET_REKOR_MODE", "sometimes");
    assert_refused(&repo, 2, "sometimes");
}

#[test]
fn match_committer_refuses_another_identity() {
    let stack = Stack::start();
    let mut repo = staged_repo(&stack, "match-committer");
    repo.ok(&["config", "signet.matchCommitter", "true"]);
    repo.set_env("SIGNET_MATCH_COMMITTER", "true");
    repo.set_env("GIT_COMMITTER_EMAIL", "bob@example.com");
    // Directly, with a payload committed by bob.
    let bob = String::from_utf8(PAYLOAD.to_vec()).unwrap().replace(
        "committer Alice <alice@example.com>",
        "committer Bob <bob@example.com>",
    );
    let o = signet_gpg(&repo, &["--status-fd=2", "-bsau", "KEY"], bob.as_bytes());
    assert_clean_failure(&o, 1, "is not the committer email bob@example.com");
    let before = repo.ok(&["diff", "--cached"]);
    let o = repo.git(&["commit", "-q", "-S", "-m", "by bob"]);
    assert!(!o.status.success(), "{}", show(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not the committer email"));
    assert!(
        !repo
            .git(&["rev-parse", "--verify", "-q", "HEAD"])
            .status
            .success()
    );
    assert_eq!(repo.ok(&["diff", "--cached"]), before);
    // The committer's own identity signs.
    repo.set_env("GIT_COMMITTER_EMAIL", ALICE);
    repo.ok(&["commit", "-q", "-S", "-m", "by alice"]);
}
