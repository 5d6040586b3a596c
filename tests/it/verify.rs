//! Verification through real git and the real binary: `git verify-commit`, `git verify-tag`,
//! `git log --show-signature` and the `%G?`/`%GS`/`%GK`/`%GF`/`%GP`/`%GT` placeholders with signet
//! as `gpg.x509.program`; `signet verify`/`verify-tag`/`show`; the policy from flags and from git
//! config; objects tampered with through git; gitsign online mode; real gitsign commits against
//! the embedded public-good root; and golden status transcripts for each verification outcome.

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use signet::core::gitobject::{self, ObjectKind};
use signet::core::{cms, signed_object};

use crate::git_e2e::{ALICE, Repo};
use crate::harness::{Stack, show};

pub(crate) const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
pub(crate) const BOB: &str = "bob@example.com";
pub(crate) const FORMAT: &str = "--format=%G? %GS %GK %GF %GP %GT";
pub(crate) const GOLDEN_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/gpg");
pub(crate) const FIXTURES: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/gitsign");

// ---------------------------------------------------------------------------------------------
// Helpers

/// `signet ARGS` in the repository with its hermetic environment.
pub(crate) fn signet_in(repo: &Repo, args: &[&str]) -> Output {
    repo.command(Path::new(SIGNET)).args(args).output().unwrap()
}

/// A program in the repository's environment with `input` on stdin.
pub(crate) fn with_stdin(repo: &Repo, program: &str, args: &[&str], input: &[u8]) -> Output {
    let mut child = repo
        .command(Path::new(program))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The program may exit before reading everything: a broken pipe is its answer, not ours.
    let _ = child.stdin.take().unwrap().write_all(input);
    child.wait_with_output().unwrap()
}

/// `git hash-object -t commit -w --stdin`: the id of the stored object.
pub(crate) fn write_commit(repo: &Repo, object: &[u8]) -> String {
    let o = with_stdin(
        repo,
        "git",
        &["hash-object", "-t", "commit", "-w", "--stdin"],
        object,
    );
    assert!(o.status.success(), "hash-object: {}", show(&o));
    String::from_utf8(o.stdout).unwrap().trim().to_owned()
}

/// Stage a file and make a signed commit; its id.
pub(crate) fn signed_commit(repo: &Repo, file: &str, message: &str) -> String {
    repo.stage(file, message);
    repo.ok(&["commit", "-q", "-S", "-m", message]);
    rev(repo, "HEAD")
}

pub(crate) fn rev(repo: &Repo, spec: &str) -> String {
    repo.ok(&["rev-parse", spec]).trim().to_owned()
}

/// `%G? %GS %GK %GF %GP %GT` for one commit, with extra `git -c` settings before `log`.
pub(crate) fn placeholders(repo: &Repo, config: &[&str], id: &str) -> String {
    let mut args: Vec<&str> = config.iter().flat_map(|c| ["-c", *c]).collect();
    args.extend(["log", "-1", FORMAT, id]);
    repo.ok(&args).trim_end_matches('\n').to_owned()
}

/// `git [-c ...] verify-commit ID`.
pub(crate) fn verify_commit(repo: &Repo, config: &[&str], id: &str) -> Output {
    let mut args: Vec<&str> = config.iter().flat_map(|c| ["-c", *c]).collect();
    args.extend(["verify-commit", id]);
    repo.git(&args)
}

/// stdout as JSON (a failure to parse shows the whole run).
pub(crate) fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", show(o)))
}

/// `signet verify --format json ARGS`: the exit code and the report array.
pub(crate) fn verify_json(
    repo: &Repo,
    args: &[&str],
) -> (Option<i32>, Vec<serde_json::Value>, Output) {
    let mut all = vec!["verify", "--format", "json"];
    all.extend(args);
    let o = signet_in(repo, &all);
    let v = json(&o);
    let items = v
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {}", show(&o)))
        .clone();
    (o.status.code(), items, o)
}

/// `signet verify --format json ARGS` over a range or history: the exit code and the summary.
pub(crate) fn history_json(repo: &Repo, args: &[&str]) -> (Option<i32>, serde_json::Value, Output) {
    let mut all = vec!["verify", "--format", "json"];
    all.extend(args);
    let o = signet_in(repo, &all);
    let v = json(&o);
    assert!(v.is_object(), "not a summary: {}", show(&o));
    (o.status.code(), v, o)
}

/// The single object's error kind in a `signet verify --format json` report.
pub(crate) fn only_error_kind(items: &[serde_json::Value], o: &Output) -> String {
    assert_eq!(items.len(), 1, "{}", show(o));
    assert_eq!(items[0]["verified"], false, "{}", show(o));
    items[0]["error"]["kind"]
        .as_str()
        .unwrap_or_else(|| panic!("no error kind: {}", show(o)))
        .to_owned()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What `signet show --format json REV` reports about a signature (not verified).
pub(crate) fn facts(repo: &Repo, spec: &str) -> serde_json::Value {
    let o = signet_in(repo, &["show", "--format", "json", spec]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    json(&o)
}

/// The stored object's (payload, armored signature), split as git does.
pub(crate) fn split(repo: &Repo, kind: ObjectKind, id: &str) -> (Vec<u8>, Vec<u8>) {
    let name = if kind == ObjectKind::Tag {
        "tag"
    } else {
        "commit"
    };
    let object = repo
        .command(Path::new("git"))
        .args(["cat-file", name, id])
        .output()
        .unwrap()
        .stdout;
    let s = signed_object::split(kind, &object).unwrap();
    (s.payload, s.signature)
}

/// Lowercase SHA-1 of the leaf certificate's DER, read from the CMS directly (signet embeds the
/// leaf only; gitsign may embed the intermediate too, so not for gitsign signatures).
pub(crate) fn leaf_fingerprint(armored: &[u8]) -> String {
    let p = cms::parse(&cms::dearmor(armored).unwrap()).unwrap();
    gitobject::sha1_hex(&p.certificates[0])
}

/// Status lines of `signet --status-fd=1 --verify SIGFILE -` with `payload` on stdin.
pub(crate) fn gpg_verify(
    repo: &Repo,
    dir: &Path,
    name: &str,
    payload: &[u8],
    armored: &[u8],
) -> Output {
    let sig = dir.join(format!("{name}.sig"));
    std::fs::write(&sig, armored).unwrap();
    with_stdin(
        repo,
        SIGNET,
        &["--status-fd=1", "--verify", sig.to_str().unwrap(), "-"],
        payload,
    )
}

pub(crate) fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1-2. Good commits and tags through git

#[test]
pub(crate) fn signed_commit_verifies_through_git_and_shows_in_placeholders() {
    let stack = Stack::start();
    let repo = Repo::new(&stack, "good");
    let id = signed_commit(&repo, "a.txt", "good commit");

    let (_, armored) = split(&repo, ObjectKind::Commit, &id);
    let fpr = leaf_fingerprint(&armored);
    assert_eq!(facts(&repo, "HEAD")["fingerprint"], fpr.as_str());

    let o = verify_commit(&repo, &[], "HEAD");
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        stderr(&o).contains("Good signature from alice@example.com"),
        "{}",
        show(&o)
    );

    // The status lines, exactly: the times are those `signet verify` reports.
    let (code, items, vo) = verify_json(&repo, &["HEAD"]);
    assert_eq!(code, Some(0), "{}", show(&vo));
    let sig = &items[0]["signature"];
    let at = sig["integratedTime"]["unix"].as_i64().unwrap();
    let date = &sig["integratedTime"]["rfc3339"].as_str().unwrap()[..10];
    let not_after = sig["certificateNotAfter"]["unix"].as_i64().unwrap();
    let o = repo.git(&["verify-commit", "--raw", "HEAD"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let status: Vec<String> = lines(&o.stderr)
        .into_iter()
        .filter(|l| l.starts_with("[GNUPG:] "))
        .collect();
    assert_eq!(
        status,
        [
            "[GNUPG:] NEWSIG".to_owned(),
            format!("[GNUPG:] GOODSIG {fpr} {ALICE}"),
            format!("[GNUPG:] VALIDSIG {fpr} {date} {at} {not_after} 0 0 19 8 00 {fpr}"),
            "[GNUPG:] TRUST_FULLY 0 shell".to_owned(),
        ],
        "{}",
        show(&o)
    );

    let log = repo.ok(&["log", "-1", "--show-signature", "HEAD"]);
    assert!(
        log.contains("Good signature from alice@example.com"),
        "{log}"
    );
    assert!(log.contains("good commit"), "{log}");
    assert_eq!(
        placeholders(&repo, &[], "HEAD"),
        format!("G {ALICE} {fpr} {fpr} {fpr} fully")
    );
}

#[test]
pub(crate) fn signed_annotated_tag_verifies_with_git_and_signet() {
    let stack = Stack::start();
    let repo = Repo::new(&stack, "tag");
    signed_commit(&repo, "a.txt", "tagged commit");
    repo.ok(&["tag", "-s", "v1", "-m", "release v1"]);
    let tag = rev(&repo, "v1");

    let o = repo.git(&["verify-tag", "v1"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        stderr(&o).contains("Good signature from alice@example.com"),
        "{}",
        show(&o)
    );

    let o = signet_in(&repo, &["verify-tag", "v1"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        stdout(&o).starts_with(&format!("tag {tag}: verified: signed by {ALICE}")),
        "{}",
        show(&o)
    );
    let o = signet_in(&repo, &["verify-tag", "--format", "json", "v1"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let v = json(&o);
    assert_eq!(v[0]["object"], tag.as_str());
    assert_eq!(v[0]["type"], "tag");
    assert_eq!(v[0]["verified"], true);
    assert_eq!(v[0]["signature"]["identity"], ALICE);

    // `signet verify` takes annotated tags too.
    let (code, items, o) = verify_json(&repo, &["v1"]);
    assert_eq!(code, Some(0), "{}", show(&o));
    assert_eq!(items[0]["type"], "tag");

    // A lightweight tag is not something verify-tag verifies: a usage error.
    repo.ok(&["tag", "light"]);
    let o = signet_in(&repo, &["verify-tag", "light"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(stderr(&o).contains("hint: "), "{}", show(&o));
}

// ---------------------------------------------------------------------------------------------
// 3-4. Policy: the committer-email default and explicit rules in git config

#[test]
pub(crate) fn another_signer_than_the_committer_is_untrusted_not_bad() {
    let stack = Stack::start();
    let mut repo = Repo::new(&stack, "bob-signs");
    repo.set_env("SIGSTORE_ID_TOKEN", &stack.token(BOB));
    let id = signed_commit(&repo, "a.txt", "committed by alice, signed by bob");
    let (_, armored) = split(&repo, ObjectKind::Commit, &id);
    let fpr = leaf_fingerprint(&armored);

    assert_eq!(
        placeholders(&repo, &[], &id),
        format!("U {BOB} {fpr} {fpr} {fpr} undefined")
    );
    // gpg.minTrustLevel defaults to "undefined": git accepts a good signature of undefined
    // trust, as it does for gpg keys nobody certified. signet still exits 0 (TRUST_UNDEFINED).
    let o = verify_commit(&repo, &[], &id);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        stderr(&o).contains("Good signature from bob@example.com"),
        "{}",
        show(&o)
    );
    assert!(stderr(&o).contains("%G? = U"), "{}", show(&o));
    let o = verify_commit(&repo, &["gpg.minTrustLevel=fully"], &id);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));

    // signet's own verify enforces the default policy.
    let (code, items, o) = verify_json(&repo, &[&id]);
    assert_eq!(code, Some(1), "{}", show(&o));
    assert_eq!(items[0]["verified"], false, "{}", show(&o));
    assert_eq!(items[0]["policy"]["trust"], "UNDEFINED", "{}", show(&o));
    let o = signet_in(&repo, &["verify", &id]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stdout(&o).contains("FAILED (policy)"), "{}", show(&o));
    assert!(stderr(&o).contains("hint: "), "{}", show(&o));
}

#[test]
pub(crate) fn policy_in_git_config_decides_trust() {
    let stack = Stack::start();
    let repo = Repo::new(&stack, "policy");
    let id = signed_commit(&repo, "a.txt", "policy commit");
    let (_, armored) = split(&repo, ObjectKind::Commit, &id);
    let fpr = leaf_fingerprint(&armored);
    let good = format!("G {ALICE} {fpr} {fpr} {fpr} fully");
    let never = format!("U {ALICE} {fpr} {fpr} {fpr} never");
    let issuer = stack.issuer();

    // (settings, trusted?)
    let cases: Vec<(Vec<(&str, String)>, bool)> = vec![
        (vec![("signet.verify.identity", BOB.into())], false),
        (
            vec![("signet.verify.issuer", "https://wrong.example.com".into())],
            false,
        ),
        (
            vec![
                ("signet.verify.identity", ALICE.into()),
                ("signet.verify.issuer", issuer.clone()),
            ],
            true,
        ),
        (
            vec![
                ("signet.verify.identity", ALICE.into()),
                ("signet.verify.issuer", format!("{issuer}/other")),
            ],
            false,
        ),
        // Anchored: a pattern that matches only part of the value does not match.
        (
            vec![("signet.verify.identityRegexp", "alice".into())],
            false,
        ),
        (
            vec![("signet.verify.identityRegexp", "alice@example".into())],
            false,
        ),
        (
            vec![("signet.verify.identityRegexp", "example\\.com".into())],
            false,
        ),
        (
            vec![("signet.verify.identityRegexp", ".*@example\\.com".into())],
            true,
        ),
        (
            vec![
                (
                    "signet.verify.identityRegexp",
                    "(alice|carol)@example\\.com".into(),
                ),
                (
                    "signet.verify.issuerRegexp",
                    "http://127\\.0\\.0\\.1:.*".into(),
                ),
            ],
            true,
        ),
        (
            vec![("signet.verify.issuerRegexp", "127\\.0\\.0\\.1".into())],
            false,
        ),
    ];
    for (settings, trusted) in cases {
        for (key, value) in &settings {
            repo.ok(&["config", key, value]);
        }
        let o = verify_commit(&repo, &[], &id);
        let line = placeholders(&repo, &[], &id);
        if trusted {
            assert_eq!(o.status.code(), Some(0), "{settings:?}: {}", show(&o));
            assert_eq!(line, good, "{settings:?}");
        } else {
            assert_eq!(o.status.code(), Some(1), "{settings:?}: {}", show(&o));
            assert_eq!(line, never, "{settings:?}");
            assert!(
                stderr(&o).contains("signet: error: ") && stderr(&o).contains("hint: "),
                "{settings:?}: {}",
                show(&o)
            );
        }
        // signet verify reads the same settings.
        let o = signet_in(&repo, &["verify", &id]);
        assert_eq!(
            o.status.code(),
            Some(if trusted { 0 } else { 1 }),
            "{settings:?}: {}",
            show(&o)
        );
        for (key, _) in &settings {
            repo.ok(&["config", "--unset", key]);
        }
    }

    // A regular expression that does not compile is a configuration error, not a silent pass.
    repo.ok(&["config", "signet.verify.identityRegexp", "(alice"]);
    let o = verify_commit(&repo, &[], &id);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(placeholders(&repo, &[], &id).starts_with("E "));
    let o = signet_in(&repo, &["verify", &id]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(stderr(&o).contains("hint: "), "{}", show(&o));
}

// ---------------------------------------------------------------------------------------------
// 5. signet verify: flags, JSON, ranges, usage errors

#[test]
pub(crate) fn signet_verify_flags_and_json() {
    let stack = Stack::start();
    let repo = Repo::new(&stack, "flags");
    let id = signed_commit(&repo, "a.txt", "flags commit");
    let issuer = stack.issuer();

    let cases: &[(&[&str], i32)] = &[
        (
            &[
                "--certificate-identity",
                ALICE,
                "--certificate-oidc-issuer",
                &issuer,
            ],
            0,
        ),
        (
            &[
                "--certificate-identity",
                BOB,
                "--certificate-oidc-issuer",
                &issuer,
            ],
            1,
        ),
        (&["--certificate-identity", BOB], 1),
        (
            &[
                "--certificate-identity",
                ALICE,
                "--certificate-oidc-issuer",
                "https://accounts.google.com",
            ],
            1,
        ),
        (&["--certificate-identity-regexp", ".*@example\\.com"], 0),
        (&["--certificate-identity-regexp", "alice"], 1),
        (&["--certificate-identity-regexp", "bob@.*"], 1),
        (
            &[
                "--certificate-oidc-issuer-regexp",
                "http://127\\.0\\.0\\.1:[0-9]+/.*",
            ],
            0,
        ),
        // Anchored: the issuer is http://127.0.0.1:PORT/oidc, so a prefix does not match.
        (
            &[
                "--certificate-oidc-issuer-regexp",
                "http://127\\.0\\.0\\.1:[0-9]+",
            ],
            1,
        ),
        (&["--certificate-oidc-issuer-regexp", "https://.*"], 1),
    ];
    let mut issuer_violations = 0;
    for (flags, code) in cases {
        let mut args = vec!["verify"];
        args.extend(*flags);
        args.push("HEAD");
        let o = signet_in(&repo, &args);
        assert_eq!(o.status.code(), Some(*code), "{flags:?}: {}", show(&o));
        let expected = if *code == 0 {
            format!("commit {id}: verified: signed by {ALICE}")
        } else {
            format!("commit {id}: FAILED (policy): signed by {ALICE} but ")
        };
        assert!(stdout(&o).starts_with(&expected), "{flags:?}: {}", show(&o));

        let mut args = flags.to_vec();
        args.push("HEAD");
        let (c, items, o) = verify_json(&repo, &args);
        assert_eq!(c, Some(*code), "{flags:?}: {}", show(&o));
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["object"], id.as_str());
        assert_eq!(items[0]["verified"], *code == 0, "{flags:?}: {}", show(&o));
        let trust = if *code == 0 { "FULLY" } else { "NEVER" };
        assert_eq!(
            items[0]["policy"]["trust"],
            trust,
            "{flags:?}: {}",
            show(&o)
        );
        assert_eq!(items[0]["signature"]["identity"], ALICE);
        assert_eq!(items[0]["signature"]["issuer"], issuer.as_str());
        // A violated issuer rule names the issuer the certificate presents, as a value.
        for why in items[0]["policy"]["violations"].as_array().unwrap() {
            let why = why.as_str().unwrap();
            if why.starts_with("certificate OIDC issuer ") {
                issuer_violations += 1;
                assert!(
                    why.starts_with(&format!(
                        "certificate OIDC issuer \"{issuer}\" does not match "
                    )),
                    "{flags:?}: {why}"
                );
            }
        }
    }

    assert_eq!(issuer_violations, 3);

    // A flag's regular expression that does not compile: a usage error with a hint.
    let o = signet_in(
        &repo,
        &["verify", "--certificate-identity-regexp", "(", "HEAD"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(stderr(&o).contains("hint: "), "{}", show(&o));
}

#[test]
pub(crate) fn signet_verify_ranges_and_unsigned_commits() {
    let stack = Stack::start();
    let repo = Repo::new(&stack, "range");
    let base = signed_commit(&repo, "base.txt", "base");
    let ids: Vec<String> = (1..=3)
        .map(|n| signed_commit(&repo, &format!("{n}.txt"), &format!("commit {n}")))
        .collect();

    let range = format!("{base}..HEAD");
    // A range is verified as a whole: a summary, and one line per failure.
    let (code, report, o) = history_json(&repo, &[&range]);
    assert_eq!(code, Some(0), "{}", show(&o));
    assert_eq!(report["objects"], 3, "{}", show(&o));
    assert_eq!(report["verified"], 3, "{}", show(&o));
    assert_eq!(report["failed"], 0, "{}", show(&o));
    assert_eq!(report["failures"], serde_json::json!([]), "{}", show(&o));
    let identity = report["byIdentity"].as_object().unwrap();
    assert_eq!(
        identity.values().map(|v| v.as_u64().unwrap()).sum::<u64>(),
        3
    );
    let o = signet_in(&repo, &["verify", &range]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        stdout(&o).contains("3 objects: 3 verified, 0 failed, 0 unsigned, 0 exempt"),
        "{}",
        show(&o)
    );
    assert!(!stdout(&o).contains("FAILED"), "{}", show(&o));
    // The whole history, and every branch and tag: base plus the three.
    let (code, report, o) = history_json(&repo, &["--ancestry", "HEAD"]);
    assert_eq!(
        (code, report["verified"].as_u64()),
        (Some(0), Some(4)),
        "{}",
        show(&o)
    );
    let (code, report, o) = history_json(&repo, &["--all"]);
    assert_eq!(
        (code, report["verified"].as_u64()),
        (Some(0), Some(4)),
        "{}",
        show(&o)
    );

    // An unsigned commit in the range fails the whole run and is named, with its subject.
    repo.stage("unsigned.txt", "unsigned");
    repo.ok(&["commit", "-q", "--no-gpg-sign", "-m", "unsigned"]);
    let unsigned = rev(&repo, "HEAD");
    let (code, report, o) = history_json(&repo, &[&range]);
    assert_eq!(code, Some(1), "{}", show(&o));
    assert_eq!(report["objects"], 4, "{}", show(&o));
    assert_eq!(
        (report["failed"].as_u64(), report["unsigned"].as_u64()),
        (Some(1), Some(1))
    );
    let failure = &report["failures"][0];
    assert_eq!(failure["object"], unsigned.as_str(), "{}", show(&o));
    assert_eq!(failure["reason"], "not-signed", "{}", show(&o));
    assert_eq!(failure["subject"], "unsigned", "{}", show(&o));
    let o = signet_in(&repo, &["verify", "--all"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stdout(&o).contains(&format!("FAILED commit {unsigned} \"unsigned\"")),
        "{}",
        show(&o)
    );
    assert!(
        stderr(&o).contains("1 of 5 objects did not verify"),
        "{}",
        show(&o)
    );
    let o = signet_in(&repo, &["verify", &unsigned]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stdout(&o).contains(&format!("commit {unsigned}: FAILED (not-signed)")),
        "{}",
        show(&o)
    );
    assert!(stderr(&o).contains("hint: "), "{}", show(&o));
    // Several revisions at once; HEAD is the default.
    let (code, items, o) = verify_json(&repo, &[&ids[0], &ids[2]]);
    assert_eq!(code, Some(0), "{}", show(&o));
    assert_eq!(items.len(), 2);
    let (code, items, o) = verify_json(&repo, &[]);
    assert_eq!(code, Some(1), "{}", show(&o));
    assert_eq!(items[0]["object"], unsigned.as_str());
}

#[test]
pub(crate) fn signet_verify_usage_errors_exit_2_with_a_hint() {
    let stack = Stack::start();
    let repo = Repo::new(&stack, "usage");
    signed_commit(&repo, "a.txt", "usage commit");

    // A bad revision.
    let o = signet_in(&repo, &["verify", "no-such-revision"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(o.stdout.is_empty(), "{}", show(&o));
    assert!(stderr(&o).contains("no-such-revision"), "{}", show(&o));
    assert!(stderr(&o).contains("\nhint: "), "{}", show(&o));

    // An empty range selects nothing to verify: not a failure (CI checking BASE..HEAD with
    // nothing new), but said.
    let o = signet_in(&repo, &["verify", "HEAD..HEAD"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        stderr(&o).contains("warning: nothing to verify: HEAD..HEAD selects no commits"),
        "{}",
        show(&o)
    );

    // A bad --format.
    let o = signet_in(&repo, &["verify", "--format", "yaml", "HEAD"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));

    // Outside any repository.
    let outside = stack.path("not-a-repo");
    std::fs::create_dir_all(&outside).unwrap();
    let o = repo
        .command(Path::new(SIGNET))
        .current_dir(&outside)
        .env("GIT_CEILING_DIRECTORIES", stack.dir.path())
        .args(["verify"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(o.stdout.is_empty(), "{}", show(&o));
    assert!(
        stderr(&o).contains("hint: run signet inside a git repository"),
        "{}",
        show(&o)
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Objects changed through git

#[test]
pub(crate) fn tampered_and_doubly_signed_commits_are_refused() {
    let stack = Stack::start();
    let repo = Repo::new(&stack, "tamper");
    let id = signed_commit(&repo, "a.txt", "the signed message");
    let object = repo.ok(&["cat-file", "commit", &id]);
    let (_, armored) = split(&repo, ObjectKind::Commit, &id);
    let fpr = leaf_fingerprint(&armored);

    // One byte of the message changed.
    let changed = object.replace("the signed message", "the signed messagE");
    assert_eq!(changed.len(), object.len());
    let bad = write_commit(&repo, changed.as_bytes());
    assert_ne!(bad, id);
    let o = verify_commit(&repo, &[], &bad);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("BAD signature"), "{}", show(&o));
    assert_eq!(
        placeholders(&repo, &[], &bad),
        format!("B {ALICE} {fpr}   undefined")
    );
    let (code, items, o) = verify_json(&repo, &[&bad]);
    assert_eq!(code, Some(1), "{}", show(&o));
    assert_eq!(only_error_kind(&items, &o), "content-mismatch");
    // The original still verifies.
    let (code, _, o) = verify_json(&repo, &[&id]);
    assert_eq!(code, Some(0), "{}", show(&o));

    // Two gpgsig headers: the signature block repeated.
    let start = object.find("\ngpgsig ").unwrap() + 1;
    let len = object[start..]
        .split_inclusive('\n')
        .enumerate()
        .take_while(|(i, l)| *i == 0 || l.starts_with(' '))
        .map(|(_, l)| l.len())
        .sum::<usize>();
    let block = &object[start..start + len];
    assert!(block.ends_with("-----END SIGNED MESSAGE-----\n"), "{block}");
    let doubled = format!(
        "{}{block}{}",
        &object[..start + len],
        &object[start + len..]
    );
    let dup = write_commit(&repo, doubled.as_bytes());
    let (code, items, o) = verify_json(&repo, &[&dup]);
    assert_eq!(code, Some(1), "{}", show(&o));
    assert_eq!(only_error_kind(&items, &o), "duplicate-signature");

    // A signed tag with one byte of its message changed.
    repo.ok(&["tag", "-s", "v1", "-m", "the tag message"]);
    let tag = repo.ok(&["cat-file", "tag", "v1"]);
    let changed = tag.replace("the tag message", "the tag messagE");
    let o = with_stdin(
        &repo,
        "git",
        &["hash-object", "-t", "tag", "-w", "--stdin"],
        changed.as_bytes(),
    );
    assert!(o.status.success(), "{}", show(&o));
    let bad_tag = stdout(&o).trim().to_owned();
    repo.ok(&["update-ref", "refs/tags/v1-bad", &bad_tag]);
    let o = repo.git(&["verify-tag", "v1-bad"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("BAD signature"), "{}", show(&o));
    let o = signet_in(&repo, &["verify-tag", "--format", "json", "v1-bad"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let v = json(&o);
    assert_eq!(v[0]["error"]["kind"], "content-mismatch", "{}", show(&o));
    let o = signet_in(&repo, &["verify-tag", "v1"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
}

/// Write `text` as the repository's policy file and return its path.
fn write_policy(repo: &Repo, text: &str) -> String {
    let path = repo.dir.join(".git").join("policy.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
pub(crate) fn signet_verify_all_applies_each_refs_rule_from_a_policy_file() {
    let stack = Stack::start();
    let repo = Repo::new(&stack, "policy-all");
    let issuer = stack.issuer();
    // History from before signing was required, then signed commits.
    repo.stage("legacy.txt", "legacy 1");
    repo.ok(&["commit", "-q", "--no-gpg-sign", "-m", "legacy 1"]);
    repo.stage("legacy.txt", "legacy 2");
    repo.ok(&["commit", "-q", "--no-gpg-sign", "-m", "legacy 2"]);
    let legacy = rev(&repo, "HEAD");
    signed_commit(&repo, "a.txt", "signed 1");
    let signed = signed_commit(&repo, "b.txt", "signed 2");
    let main = format!(
        r#"
version = 1
exempt-history = ["{legacy}"]

[[rule]]
refs = ["refs/heads/main", "refs/tags/**"]
identities = ["{ALICE}"]
issuers = ["{issuer}"]

[[rule]]
refs = ["refs/heads/scratch/*"]
identities = ["{ALICE}"]
issuers = ["{issuer}"]
allow-unsigned = true
"#
    );
    let policy = write_policy(&repo, &main);
    let (code, report, o) = history_json(&repo, &["--all", "--policy", &policy]);
    assert_eq!(code, Some(0), "{}", show(&o));
    // The two legacy commits are hidden by exempt-history; the signed ones verify.
    assert_eq!(report["objects"], 2, "{}", show(&o));
    assert_eq!(report["verified"], 2, "{}", show(&o));

    // An unsigned commit on a scratch branch is allowed there, and counted.
    repo.ok(&["checkout", "-q", "-b", "scratch/x"]);
    repo.stage("c.txt", "scratch");
    repo.ok(&["commit", "-q", "--no-gpg-sign", "-m", "scratch work"]);
    let (code, report, o) = history_json(&repo, &["--all", "--policy", &policy]);
    assert_eq!(code, Some(0), "{}", show(&o));
    assert_eq!(report["unsignedAllowed"], 1, "{}", show(&o));

    // A branch no rule matches fails, named.
    repo.ok(&["branch", "topic", &signed]);
    let (code, report, o) = history_json(&repo, &["--all", "--policy", &policy]);
    assert_eq!(code, Some(1), "{}", show(&o));
    let failures = report["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{}", show(&o));
    assert_eq!(failures[0]["reason"], "no-rule", "{}", show(&o));
    assert_eq!(failures[0]["ref"], "refs/heads/topic", "{}", show(&o));
    repo.ok(&["branch", "-D", "topic"]);

    // The same commits under a rule for another signer fail there, and only there.
    let strict = format!(
        "{main}\n[[rule]]\nrefs = [\"refs/heads/release/**\"]\nidentities = [\"{BOB}\"]\nissuers = [\"{issuer}\"]\n"
    );
    let policy = write_policy(&repo, &strict);
    repo.ok(&["branch", "release/v1", &signed]);
    let (code, report, o) = history_json(&repo, &["--all", "--policy", &policy]);
    assert_eq!(code, Some(1), "{}", show(&o));
    let failures = report["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 2, "{}", show(&o));
    assert!(
        failures
            .iter()
            .all(|f| f["reason"] == "policy" && f["ref"] == "refs/heads/release/v1"),
        "{}",
        show(&o)
    );
    repo.ok(&["branch", "-D", "release/v1"]);

    // A signed merge bringing in an unsigned commit: refused, unless the rule allows merged
    // history (then only the first-parent chain answers to it).
    repo.ok(&["checkout", "-q", "main"]);
    repo.ok(&["checkout", "-q", "-b", "side"]);
    repo.stage("side.txt", "side");
    repo.ok(&["commit", "-q", "--no-gpg-sign", "-m", "from outside"]);
    repo.ok(&["checkout", "-q", "main"]);
    repo.ok(&["merge", "-q", "-S", "--no-ff", "-m", "merge side", "side"]);
    repo.ok(&["branch", "-D", "side"]);
    let policy = write_policy(&repo, &main);
    let o = signet_in(&repo, &["verify", "--all", "--policy", &policy]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stdout(&o).contains("\"from outside\" (refs/heads/main): not-signed"),
        "{}",
        show(&o)
    );
    let merged = main.replacen(
        "issuers = [\"",
        "allow-merged-history = true\nissuers = [\"",
        1,
    );
    let policy = write_policy(&repo, &merged);
    let (code, report, o) = history_json(&repo, &["--all", "--policy", &policy]);
    assert_eq!(code, Some(0), "{}", show(&o));
    assert_eq!(report["failed"], 0, "{}", show(&o));

    // The policy can come from git config (relative to the git directory), and --ref picks the
    // rule for explicit revisions.
    repo.ok(&["config", "signet.policy", "policy.toml"]);
    let o = signet_in(&repo, &["verify", "--ancestry", "HEAD"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let o = signet_in(&repo, &["verify", "--ref", "refs/heads/nowhere", "HEAD"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        stderr(&o).contains("no policy rule matches refs/heads/nowhere"),
        "{}",
        show(&o)
    );

    // An invalid policy is a usage error naming the line.
    std::fs::write(
        repo.dir.join(".git/policy.toml"),
        "version = 1\n[[rule]]\nrefs = [\"main\"]\n",
    )
    .unwrap();
    let o = signet_in(&repo, &["verify", "--all"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(stderr(&o).contains("policy.toml:3:"), "{}", show(&o));
}
