//! `signet bundle REV`: a signed commit's proof as a Sigstore bundle, checked by signet's own
//! bundle verifier, by sigstore-python (offline, by the artifact's digest) and by sigstore-js
//! (with the artifact's bytes); a tampered bundle fails in all three, and an online-mode
//! signature cannot be exported.

use std::ffi::OsStr;
use std::path::Path;

use crate::git_e2e::{ALICE, Repo};
use crate::harness::{Stack, show, sigstore_js, sigstore_python_verify};
use crate::verify::{SIGNET, signed_commit, stderr};

/// `signet bundle HEAD -o FILE --artifact FILE.artifact` in `repo`: the artifact digest it
/// reports (`sha256:<hex>`), checked against the artifact it wrote.
fn export(repo: &Repo, file: &Path) -> String {
    let artifact = file.with_extension("artifact");
    let o = repo
        .command(Path::new(SIGNET))
        .args(["bundle", "HEAD", "-o"])
        .arg(file)
        .arg("--artifact")
        .arg(&artifact)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(o.stdout.is_empty(), "{}", show(&o));
    let err = stderr(&o);
    let at = err.find("artifact sha256:").expect("no artifact digest") + "artifact ".len();
    let digest = err[at..at + 71].to_owned();
    use sha2::Digest;
    let written = hex::encode(sha2::Sha256::digest(std::fs::read(&artifact).unwrap()));
    assert_eq!(digest, format!("sha256:{written}"));
    digest
}

fn js_verify(stack: &Stack, bundle: &Path, artifact: &Path, identity: &str) -> bool {
    let o = sigstore_js(stack, bundle, artifact, identity);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "sigstore-js crashed: {}",
        show(&o)
    );
    o.status.success()
}

fn python_verify(stack: &Stack, bundle: &Path, identity: &str, digest: &str) -> bool {
    sigstore_python_verify(stack, bundle, identity, OsStr::new(digest))
        .status
        .success()
}

fn signet_verify(repo: &Repo, stack: &Stack, bundle: &Path, digest: &str) -> std::process::Output {
    repo.command(Path::new(SIGNET))
        .args(["verify-bundle", "--bundle"])
        .arg(bundle)
        .args(["--certificate-identity", ALICE, "--certificate-oidc-issuer"])
        .arg(stack.issuer())
        .arg(digest)
        .output()
        .unwrap()
}

#[test]
fn a_commit_bundle_verifies_with_signet_and_sigstore_python() {
    let stack = Stack::start();
    let repo = Repo::new(&stack, "bundle");
    signed_commit(&repo, "a.txt", "exported");
    let bundle = stack.path("commit.sigstore.json");
    let digest = export(&repo, &bundle);
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    assert_eq!(
        json["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );

    let o = signet_verify(&repo, &stack, &bundle, &digest);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(python_verify(&stack, &bundle, ALICE, &digest));
    assert!(!python_verify(
        &stack,
        &bundle,
        "mallory@example.com",
        &digest
    ));
    let artifact = bundle.with_extension("artifact");
    let o = sigstore_js(&stack, &bundle, &artifact, ALICE);
    assert_eq!(o.status.code(), Some(0), "sigstore-js: {}", show(&o));
    assert!(!js_verify(
        &stack,
        &bundle,
        &artifact,
        "mallory@example.com"
    ));

    // The signature changed in one place: both verifiers refuse.
    let mut tampered = json.clone();
    let sig = tampered["messageSignature"]["signature"]
        .as_str()
        .unwrap()
        .to_owned();
    let flipped = if sig.starts_with('M') { "N" } else { "M" };
    tampered["messageSignature"]["signature"] = format!("{flipped}{}", &sig[1..]).into();
    let bad = stack.path("tampered.sigstore.json");
    std::fs::write(&bad, serde_json::to_vec(&tampered).unwrap()).unwrap();
    let o = signet_verify(&repo, &stack, &bad, &digest);
    assert_ne!(o.status.code(), Some(0), "{}", show(&o));
    assert!(!python_verify(&stack, &bad, ALICE, &digest));
    assert!(!js_verify(&stack, &bad, &artifact, ALICE));
    // Other bytes than the signed attributes.
    let other_file = stack.path("other.artifact");
    std::fs::write(&other_file, b"not the signed attributes").unwrap();
    assert!(!js_verify(&stack, &bundle, &other_file, ALICE));
    // And a bundle for other content: the digest of something else.
    let other = format!("sha256:{}", "0".repeat(64));
    assert!(!python_verify(&stack, &bundle, ALICE, &other));
}

#[test]
fn an_online_mode_signature_cannot_be_exported_and_says_why() {
    let stack = Stack::start();
    let mut repo = Repo::new(&stack, "bundle-online");
    repo.set_env("SIGNET_REKOR_MODE", "online");
    signed_commit(&repo, "a.txt", "online");
    let o = repo
        .command(Path::new(SIGNET))
        .args(["bundle", "HEAD"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(o.stdout.is_empty(), "{}", show(&o));
    assert!(stderr(&o).contains("online-mode signature"), "{}", show(&o));

    // An unsigned commit: a clear refusal too.
    repo.stage("b.txt", "b");
    repo.ok(&["commit", "-q", "--no-gpg-sign", "-m", "unsigned"]);
    let o = repo
        .command(Path::new(SIGNET))
        .args(["bundle", "HEAD"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("hint: "), "{}", show(&o));
}

/// A commit signed with a timestamp authority: its token goes into the exported bundle (as the
/// TimeStampResp the format carries), and signet, sigstore-python and sigstore-js all accept it.
#[test]
fn a_timestamped_commit_exports_its_timestamp() {
    let stack = Stack::start();
    let mut repo = Repo::new(&stack, "bundle-tsa");
    repo.set_env(
        "SIGNET_TIMESTAMP_SERVER_URL",
        &format!("{}/api/v1/timestamp", stack.url()),
    );
    signed_commit(&repo, "a.txt", "timestamped");
    let bundle = stack.path("stamped.sigstore.json");
    let digest = export(&repo, &bundle);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let stamps = &json["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"];
    assert_eq!(stamps.as_array().map(Vec::len), Some(1), "{json}");

    let o = signet_verify(&repo, &stack, &bundle, &digest);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        stderr(&o).contains("by timestamp authority"),
        "{}",
        show(&o)
    );
    assert!(python_verify(&stack, &bundle, ALICE, &digest));
    let artifact = bundle.with_extension("artifact");
    let o = sigstore_js(&stack, &bundle, &artifact, ALICE);
    assert_eq!(o.status.code(), Some(0), "sigstore-js: {}", show(&o));
}
