//! Verification through the gpg interface and against the log: gitsign online mode (offline
//! failure, `--rekor-url`, `signet.verify.online`), real gitsign commits against the embedded
//! public-good root, golden status transcripts for each outcome, and SHA-256 repositories.

use std::path::Path;

use signet::core::gitobject::ObjectKind;
use signet::core::signed_object;

use crate::git_e2e::{ALICE, Repo};
use crate::harness::{Stack, show};
use crate::verify::*;

// ---------------------------------------------------------------------------------------------
// 7. gitsign online mode

/// Stage `file` and commit it signed in gitsign's online mode (nothing embedded); its id.
pub(crate) fn online_commit(repo: &Repo, file: &str, message: &str) -> String {
    repo.stage(file, "online");
    repo.ok(&[
        "-c",
        "signet.rekorMode=online",
        "commit",
        "-q",
        "-S",
        "-m",
        message,
    ]);
    rev(repo, "HEAD")
}

#[test]
fn online_mode_signatures_need_the_log() {
    let stack = Stack::start();
    let repo = Repo::new(&stack, "online");
    let id = online_commit(&repo, "a.txt", "online commit");
    let (_, armored) = split(&repo, ObjectKind::Commit, &id);
    let fpr = leaf_fingerprint(&armored);

    // Offline: nothing to check the time against, so it fails closed.
    let (code, items, o) = verify_json(&repo, &[&id]);
    assert_eq!(code, Some(1), "{}", show(&o));
    assert_eq!(only_error_kind(&items, &o), "missing-log-entry");
    let o = verify_commit(&repo, &[], &id);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stderr(&o).contains("no transparency log entry") && stderr(&o).contains("hint: "),
        "{}",
        show(&o)
    );
    assert_eq!(
        placeholders(&repo, &[], &id),
        format!("E  {fpr}   undefined")
    );

    // With the log.
    let url = stack.url();
    let (code, items, o) = verify_json(&repo, &["--rekor-url", &url, &id]);
    assert_eq!(code, Some(0), "{}", show(&o));
    assert_eq!(items[0]["verified"], true, "{}", show(&o));
    assert_eq!(items[0]["signature"]["evidence"]["searched"], true);
    assert_eq!(items[0]["signature"]["identity"], ALICE);
    // Through git: signet.verify.online with signet.rekor from SIGNET_REKOR_URL (the stack).
    let online = ["signet.verify.online=true"];
    let o = verify_commit(&repo, &online, &id);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        stderr(&o).contains("Good signature from alice@example.com"),
        "{}",
        show(&o)
    );
    assert_eq!(
        placeholders(&repo, &online, &id),
        format!("G {ALICE} {fpr} {fpr} {fpr} fully")
    );
    // The same in git config for signet verify.
    repo.ok(&["config", "signet.verify.online", "true"]);
    let (code, _, o) = verify_json(&repo, &[&id]);
    assert_eq!(code, Some(0), "{}", show(&o));
    repo.ok(&["config", "--unset", "signet.verify.online"]);

    // Online mode for a tag: the log entry is over the tag's id.
    repo.ok(&[
        "-c",
        "signet.rekorMode=online",
        "tag",
        "-s",
        "v1",
        "-m",
        "online tag",
    ]);
    let o = signet_in(&repo, &["verify-tag", "v1"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stdout(&o).contains("FAILED (missing-log-entry)"),
        "{}",
        show(&o)
    );
    let o = signet_in(&repo, &["verify-tag", "--rekor-url", &url, "v1"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let o = repo.git(&["-c", "signet.verify.online=true", "verify-tag", "v1"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));

    // A log that does not hold the entry: found nothing, fails closed.
    let other = Stack::start();
    let (code, items, o) = verify_json(&repo, &["--rekor-url", &other.url(), &id]);
    assert_eq!(code, Some(1), "{}", show(&o));
    assert_eq!(only_error_kind(&items, &o), "no-matching-log-entry");
}

// ---------------------------------------------------------------------------------------------
// 8. Real gitsign commits against the embedded public-good root

/// (commit id, leaf fingerprint, integrated time, certificate notAfter); fingerprints and
/// times as openssl reads them from the certificates and the embedded entries.
const GITSIGN_OFFLINE: [(&str, &str, &str, i64, i64); 2] = [
    (
        "529ee14c05ac4640c599d6b34298b940d8a977f3",
        "3b930175f5d96a75df7ed9fb1f04235130d640e2",
        "2023-06-05",
        1_685_981_480,
        1_685_982_079,
    ),
    (
        "dc68e8ce155fe12ab8fd7c55de6ef336ce716ee8",
        "62e380b1d5a603339f59d5de292d727462c200d0",
        "2026-08-05",
        1_785_939_437,
        1_785_940_036,
    ),
];
/// (commit id, leaf fingerprint as openssl reads it; 7dc71a2a embeds the intermediate first).
const GITSIGN_ONLINE: [(&str, &str); 2] = [
    (
        "7dc71a2a12805f63b2a209a39e4f422e00670f61",
        "c9ba76c17ce32314b7d14e909dfe4ad0b33d9753",
    ),
    (
        "bf21f2984600e046004ba656f0065aae326f9cbb",
        "8f993ab77c47077a139f1e28030f75a064ef98f6",
    ),
];

/// A repository with nothing from the test stack: the embedded public-good root decides.
fn public_good_repo(stack: &Stack, name: &str) -> Repo {
    let mut repo = Repo::new(stack, name);
    for key in [
        "SIGNET_TRUSTED_ROOT",
        "SIGNET_FULCIO_URL",
        "SIGNET_REKOR_URL",
        "SIGSTORE_ID_TOKEN",
        "SIGNET_CACHE",
    ] {
        repo.unset_env(key);
    }
    // Repo::command clears the environment: nothing else (SIGNET_*, GITSIGN_*, SIGSTORE_*)
    // reaches signet. Check that the child sees none.
    let o = repo.command(Path::new("env")).output().unwrap();
    let leaked: Vec<String> = lines(&o.stdout)
        .into_iter()
        .filter(|l| {
            ["SIGNET_", "GITSIGN_", "SIGSTORE_"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    assert!(leaked.is_empty(), "leaked into the environment: {leaked:?}");
    repo
}

fn fixture(id: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{id}.commit")).unwrap()
}

#[test]
fn gitsign_fixtures_through_the_gpg_interface_and_signet_verify() {
    let stack = Stack::start();
    let repo = public_good_repo(&stack, "gitsign");
    let dir = stack.path("gitsign-sigs");
    std::fs::create_dir_all(&dir).unwrap();

    for (id, fpr, date, at, not_after) in GITSIGN_OFFLINE {
        let object = fixture(id);
        let s = signed_object::split(ObjectKind::Commit, &object).unwrap();
        let o = gpg_verify(&repo, &dir, id, &s.payload, &s.signature);
        assert_eq!(o.status.code(), Some(0), "{id}: {}", show(&o));
        assert_eq!(
            lines(&o.stdout),
            [
                "[GNUPG:] NEWSIG".to_owned(),
                format!("[GNUPG:] GOODSIG {fpr} billy@chainguard.dev"),
                format!("[GNUPG:] VALIDSIG {fpr} {date} {at} {not_after} 0 0 19 8 00 {fpr}"),
                "[GNUPG:] TRUST_FULLY 0 shell".to_owned(),
            ],
            "{id}: {}",
            show(&o)
        );
        assert!(
            stderr(&o).contains("Good signature from billy@chainguard.dev"),
            "{id}: {}",
            show(&o)
        );

        // The object in a repository (its tree and parent need not exist to verify it).
        assert_eq!(write_commit(&repo, &object), id);
        let (code, items, o) = verify_json(&repo, &[id]);
        assert_eq!(code, Some(0), "{id}: {}", show(&o));
        assert_eq!(items[0]["object"], id);
        assert_eq!(items[0]["verified"], true);
        assert_eq!(items[0]["signature"]["identity"], "billy@chainguard.dev");
        assert_eq!(
            items[0]["signature"]["issuer"],
            "https://accounts.google.com"
        );
        assert_eq!(items[0]["signature"]["fingerprint"], fpr);
        assert_eq!(items[0]["signature"]["evidence"]["searched"], false);
        let o = signet_in(
            &repo,
            &[
                "verify",
                "--certificate-identity",
                "billy@chainguard.dev",
                "--certificate-oidc-issuer",
                "https://accounts.google.com",
                id,
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{id}: {}", show(&o));
        let o = verify_commit(&repo, &[], id);
        assert_eq!(o.status.code(), Some(0), "{id}: {}", show(&o));
        // Against the test stack's root instead, the same commit is from an unknown instance.
        let mut args = vec!["verify", "--format", "json", "--trusted-root"];
        let root = stack.trusted_root();
        args.push(root.to_str().unwrap());
        args.push(id);
        let o = signet_in(&repo, &args);
        assert_eq!(o.status.code(), Some(1), "{id}: {}", show(&o));
    }

    for (id, fpr) in GITSIGN_ONLINE {
        let object = fixture(id);
        let s = signed_object::split(ObjectKind::Commit, &object).unwrap();
        let o = gpg_verify(&repo, &dir, id, &s.payload, &s.signature);
        assert_eq!(o.status.code(), Some(1), "{id}: {}", show(&o));
        assert_eq!(
            lines(&o.stdout),
            [
                "[GNUPG:] NEWSIG".to_owned(),
                format!("[GNUPG:] ERRSIG {fpr} 19 8 00 0 1 {fpr}"),
            ],
            "{id}: {}",
            show(&o)
        );
        assert!(
            stderr(&o).contains("no transparency log entry") && stderr(&o).contains("hint: "),
            "{id}: {}",
            show(&o)
        );

        assert_eq!(write_commit(&repo, &object), id);
        let (code, items, o) = verify_json(&repo, &[id]);
        assert_eq!(code, Some(1), "{id}: {}", show(&o));
        assert_eq!(only_error_kind(&items, &o), "missing-log-entry");
        let o = verify_commit(&repo, &[], id);
        assert_eq!(o.status.code(), Some(1), "{id}: {}", show(&o));
    }
}

// ---------------------------------------------------------------------------------------------
// 9. Golden status transcripts

/// A golden transcript: its expected exit code (from the header's "expected exit code N") and
/// its status lines.
fn golden(name: &str) -> (i32, Vec<String>) {
    let text = std::fs::read_to_string(format!("{GOLDEN_DIR}/{name}")).unwrap();
    assert!(
        text.starts_with("# signet --status-fd=1 --verify SIGFILE -"),
        "{name} must open with its invocation"
    );
    let marker = "expected exit code ";
    let at = text.find(marker).expect("the header states the exit code") + marker.len();
    let code = text[at..at + 1].parse().unwrap();
    let status = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    (code, status)
}

#[test]
fn every_verify_transcript_is_checked() {
    let mut names: Vec<String> = std::fs::read_dir(GOLDEN_DIR)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("verify-"))
        .collect();
    names.sort();
    assert_eq!(names, GOLDEN_CASES.map(|(n, _)| n));
}

/// Transcript name and the identity the signature's certificate carries.
const GOLDEN_CASES: [(&str, &str); 5] = [
    ("verify-bad.status", ALICE),
    ("verify-error.status", ALICE),
    ("verify-good.status", ALICE),
    ("verify-never.status", ALICE),
    ("verify-untrusted.status", BOB),
];

#[test]
fn verify_outcomes_match_the_golden_transcripts() {
    let stack = Stack::start();
    let mut repo = Repo::new(&stack, "golden");
    let dir = stack.path("golden-sigs");
    std::fs::create_dir_all(&dir).unwrap();

    let good = signed_commit(&repo, "good.txt", "good");
    repo.set_env("SIGSTORE_ID_TOKEN", &stack.token(BOB));
    let untrusted = signed_commit(&repo, "bob.txt", "signed by bob");
    repo.set_env("SIGSTORE_ID_TOKEN", &stack.token(ALICE));
    let online = online_commit(&repo, "online.txt", "online");

    let (good_payload, good_sig) = split(&repo, ObjectKind::Commit, &good);
    let mut tampered = good_payload.clone();
    *tampered.last_mut().unwrap() = b'!';
    // (transcript, commit, replacement payload or empty, extra environment)
    type Run<'a> = (&'a str, &'a str, Vec<u8>, Option<(&'a str, &'a str)>);
    let runs: [Run; 5] = [
        ("verify-bad.status", &good, tampered, None),
        ("verify-error.status", &online, vec![], None),
        ("verify-good.status", &good, vec![], None),
        (
            "verify-never.status",
            &good,
            vec![],
            Some(("SIGNET_VERIFY_IDENTITY", "carol@example.com")),
        ),
        ("verify-untrusted.status", &untrusted, vec![], None),
    ];
    assert_eq!(
        runs.iter().map(|r| r.0).collect::<Vec<_>>(),
        GOLDEN_CASES.map(|(n, _)| n)
    );
    for ((name, id, payload, env), (_, identity)) in runs.into_iter().zip(GOLDEN_CASES) {
        let (mut p, sig) = split(&repo, ObjectKind::Commit, id);
        if !payload.is_empty() {
            p = payload;
        }
        if name == "verify-bad.status" {
            assert_eq!(sig, good_sig);
        }
        let mut r = Repo::new(&stack, &format!("golden-{name}"));
        r.unset_env("SIGSTORE_ID_TOKEN");
        if let Some((k, v)) = env {
            r.set_env(k, v);
        }
        let o = gpg_verify(&r, &dir, name, &p, &sig);

        // The variable parts, from signet show (which does not verify).
        let f = facts(&repo, id);
        let fpr = f["fingerprint"].as_str().unwrap().to_owned();
        assert_eq!(fpr, leaf_fingerprint(&sig));
        assert_eq!(f["identity"], identity);
        let not_after = f["certificateNotAfter"]["unix"]
            .as_i64()
            .unwrap()
            .to_string();
        let mut normalised: Vec<String> = lines(&o.stdout)
            .into_iter()
            .map(|l| l.replace(&fpr, "<FPR>"))
            .collect();
        if let Some(e) = f["logEntry"].as_object() {
            let at = e["integratedTime"]["unix"].as_i64().unwrap().to_string();
            let date = e["integratedTime"]["rfc3339"].as_str().unwrap()[..10].to_owned();
            normalised = normalised
                .into_iter()
                .map(|l| {
                    l.replace(&format!(" {not_after} "), " <NOT-AFTER> ")
                        .replace(&format!(" {at} "), " <UNIX-TIME> ")
                        .replace(&format!(" {date} "), " <DATE> ")
                })
                .collect();
        }
        let (code, expected) = golden(name);
        assert!(!expected.is_empty(), "{name}");
        assert_eq!(normalised, expected, "{name}: {}", show(&o));
        assert_eq!(o.status.code(), Some(code), "{name}: {}", show(&o));
        // Human text on stderr only; an error always comes with a hint.
        let err = stderr(&o);
        assert!(!err.contains("[GNUPG:]"), "{name}: {}", show(&o));
        assert!(!err.contains("panicked"), "{name}: {}", show(&o));
        if code != 0 {
            assert_eq!(
                err.matches("signet: error: ").count(),
                1,
                "{name}: {}",
                show(&o)
            );
            assert!(err.contains("\nhint: "), "{name}: {}", show(&o));
        }
    }
}

#[test]
fn sha256_repositories_verify_offline_and_online() {
    let stack = Stack::start();
    let repo = Repo::with_init(&stack, "sha256", &["--object-format=sha256"]);
    let id = signed_commit(&repo, "a.txt", "sha256 commit");
    assert_eq!(id.len(), 64);
    let o = verify_commit(&repo, &[], &id);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let (code, items, o) = verify_json(&repo, &[&id]);
    assert_eq!(code, Some(0), "{}", show(&o));
    assert_eq!(items[0]["object"], id.as_str());

    repo.stage("b.txt", "online");
    repo.ok(&[
        "-c",
        "signet.rekorMode=online",
        "commit",
        "-q",
        "-S",
        "-m",
        "online sha256",
    ]);
    let online = rev(&repo, "HEAD");
    let (code, items, o) = verify_json(&repo, &["--rekor-url", &stack.url(), &online]);
    assert_eq!(code, Some(0), "{}", show(&o));
    assert_eq!(items[0]["signature"]["evidence"]["searched"], true);
    let o = verify_commit(&repo, &["signet.verify.online=true"], &online);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
}
