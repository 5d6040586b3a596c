//! The sigstore-conformance verification suite (`../shared/conformance/bundle-verify/`, 70
//! cases) through `signet verify-bundle`, exactly as the suite drives a client: once with the
//! artifact's path and once with its `sha256:` digest. Every positive case must verify and every
//! `_fail` case must be refused, except the cases in [`EXPECTED_FAILURES`] (documented in
//! docs/verification.md), which must still misbehave so the list never goes stale.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::harness::show;

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Cases signet gets wrong today, each with the reason. The goal is an empty list.
const EXPECTED_FAILURES: &[(&str, &str)] = &[];

/// How many cases the suite has; the test fails if it finds another number.
const CASES: usize = 70;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/bundle-verify")
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// `signet verify-bundle` for one case: by path or by digest.
fn verify(dir: &Path, by_digest: bool) -> std::process::Output {
    let artifact = if dir.join("artifact").exists() {
        dir.join("artifact")
    } else {
        cases_dir().join("a.txt")
    };
    let mut c = Command::new(env!("CARGO_BIN_EXE_signet"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .stdin(Stdio::null())
        .arg("verify-bundle")
        .arg("--bundle")
        .arg(dir.join("bundle.sigstore.json"));
    if dir.join("key.pub").exists() {
        c.arg("--key").arg(dir.join("key.pub"));
    } else {
        c.arg("--certificate-identity")
            .arg(trimmed(&dir.join("identity")).unwrap_or_else(|| DEFAULT_IDENTITY.into()))
            .arg("--certificate-oidc-issuer")
            .arg(trimmed(&dir.join("issuer")).unwrap_or_else(|| DEFAULT_ISSUER.into()));
    }
    if dir.join("trusted_root.json").exists() {
        c.arg("--trusted-root").arg(dir.join("trusted_root.json"));
    }
    if by_digest {
        let bytes = std::fs::read(&artifact).expect("artifact");
        c.arg(format!("sha256:{}", sha256_hex(&bytes)));
    } else {
        c.arg(&artifact);
    }
    c.output().expect("run signet")
}

#[test]
fn every_conformance_case_by_path_and_by_digest() {
    let mut names: Vec<String> = std::fs::read_dir(cases_dir())
        .expect("../shared/conformance/bundle-verify beside the checkout")
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("bundle.sigstore.json").exists())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), CASES, "conformance cases found: {names:?}");
    for (listed, _) in EXPECTED_FAILURES {
        assert!(
            names.iter().any(|n| n == listed),
            "expected failure {listed} is not a case"
        );
    }

    let (mut runs, mut positives, mut negatives) = (0, 0, 0);
    let mut wrong = Vec::new();
    let mut fixed = Vec::new();
    for name in &names {
        let dir = cases_dir().join(name);
        let must_fail = name.ends_with("_fail");
        let expected_wrong = EXPECTED_FAILURES.iter().any(|(n, _)| n == name);
        for by_digest in [false, true] {
            let out = verify(&dir, by_digest);
            runs += 1;
            let code = out.status.code();
            assert!(
                matches!(code, Some(0..=2)),
                "{name} (by digest: {by_digest}) crashed: {}",
                show(&out)
            );
            assert!(out.stdout.is_empty(), "{name}: stdout is not empty");
            let right = if must_fail {
                code != Some(0)
            } else {
                code == Some(0)
            };
            match (right, expected_wrong) {
                (true, false) | (false, true) => {}
                (false, false) => {
                    wrong.push(format!("{name} (by digest: {by_digest}): {}", show(&out)))
                }
                (true, true) => fixed.push(format!("{name} (by digest: {by_digest})")),
            }
        }
        if must_fail {
            negatives += 1;
        } else {
            positives += 1;
        }
    }
    assert_eq!(runs, 2 * CASES);
    assert_eq!((positives, negatives), (21, 49));
    assert!(
        wrong.is_empty(),
        "{} conformance runs went wrong:\n{}",
        wrong.len(),
        wrong.join("\n\n")
    );
    assert!(
        fixed.is_empty(),
        "these cases now behave; remove them from EXPECTED_FAILURES: {fixed:?}"
    );
}

/// What the protocol allows but signet does not do is refused as a usage error with a hint,
/// never silently ignored: `--staging`, a managed key that is not a PEM public key, and both a
/// key and an identity.
#[test]
fn unsupported_protocol_options_are_usage_errors() {
    let dir = cases_dir().join("happy-path-v0.3");
    let bundle = dir.join("bundle.sigstore.json");
    let artifact = cases_dir().join("a.txt");
    let run = |args: &[&std::ffi::OsStr]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_signet"));
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .arg("verify-bundle")
            .arg("--bundle")
            .arg(&bundle)
            .args(args)
            .arg(&artifact);
        c.output().expect("run signet")
    };
    let id = |s: &'static str| std::ffi::OsStr::new(s);
    let identity = [
        id("--certificate-identity"),
        id(DEFAULT_IDENTITY),
        id("--certificate-oidc-issuer"),
        id(DEFAULT_ISSUER),
    ];

    let o = run(&identity);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));

    let mut staging = identity.to_vec();
    staging.push(id("--staging"));
    let o = run(&staging);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--trusted-root"),
        "{}",
        show(&o)
    );

    let not_a_key = dir.join("README");
    let o = run(&[id("--key"), not_a_key.as_os_str()]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("PUBLIC KEY"),
        "{}",
        show(&o)
    );

    let key = cases_dir().join("managed-key-happy-path/key.pub");
    let mut both = identity.to_vec();
    both.extend([id("--key"), key.as_os_str()]);
    let o = run(&both);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(o.stdout.is_empty());
}
