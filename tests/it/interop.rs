//! signet signs and verifies through the local stack, and independent clients agree:
//! sigstore-python verifies what signet signs, and signet verifies what sigstore-python signs.

use std::ffi::OsStr;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::harness::{Stack, run, show, signet, sigstore_python, sigstore_python_verify};

const ALICE: &str = "alice@example.com";

fn sign(stack: &Stack, file: &Path, bundle: &Path) -> std::process::Output {
    let mut c = signet(stack);
    c.arg("sign-bundle")
        .arg("--identity-token")
        .arg(stack.token(ALICE))
        .arg("--bundle")
        .arg(bundle)
        .arg(file);
    run(c)
}

fn verify(
    stack: &Stack,
    bundle: &Path,
    identity: &str,
    issuer: &str,
    target: &OsStr,
) -> std::process::Output {
    let mut c = signet(stack);
    c.arg("verify-bundle")
        .arg("--bundle")
        .arg(bundle)
        .args([
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            issuer,
        ])
        .arg(target);
    run(c)
}

#[test]
fn signet_signs_a_file_and_verifies_it_offline_and_rejects_tampering() {
    let stack = Stack::start();
    let file = stack.path("artifact.txt");
    std::fs::write(&file, b"hello from signet\n").unwrap();
    let bundle = stack.path("artifact.sigstore.json");

    let o = sign(&stack, &file, &bundle);
    assert!(o.status.success(), "{}", show(&o));
    assert!(
        o.stdout.is_empty(),
        "sign-bundle wrote to stdout: {}",
        show(&o)
    );
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    assert_eq!(
        b["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );

    let issuer = stack.issuer();
    let ok = verify(&stack, &bundle, ALICE, &issuer, file.as_os_str());
    assert_eq!(ok.status.code(), Some(0), "{}", show(&ok));
    assert!(
        ok.stdout.is_empty(),
        "verify-bundle wrote to stdout: {}",
        show(&ok)
    );

    // By digest too, as the conformance protocol passes prehashed artifacts.
    let digest = format!(
        "sha256:{}",
        hex::encode(Sha256::digest(b"hello from signet\n"))
    );
    let ok = verify(&stack, &bundle, ALICE, &issuer, OsStr::new(&digest));
    assert_eq!(ok.status.code(), Some(0), "{}", show(&ok));

    let tampered = stack.path("tampered.txt");
    std::fs::write(&tampered, b"hello from signet!\n").unwrap();
    for (what, o) in [
        (
            "tampered file",
            verify(&stack, &bundle, ALICE, &issuer, tampered.as_os_str()),
        ),
        (
            "wrong identity",
            verify(
                &stack,
                &bundle,
                "mallory@example.com",
                &issuer,
                file.as_os_str(),
            ),
        ),
        (
            "wrong issuer",
            verify(
                &stack,
                &bundle,
                ALICE,
                "https://accounts.google.com",
                file.as_os_str(),
            ),
        ),
    ] {
        assert_eq!(o.status.code(), Some(1), "{what}: {}", show(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("signet: error:"), "{what}: {err}");
    }

    // The public-good root does not trust the local stack: verification fails closed.
    let mut c = signet(&stack);
    c.env_remove("SIGNET_TRUSTED_ROOT")
        .arg("verify-bundle")
        .arg("--bundle")
        .arg(&bundle)
        .args([
            "--certificate-identity",
            ALICE,
            "--certificate-oidc-issuer",
            &issuer,
        ])
        .arg(&file);
    let o = run(c);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
}

#[test]
fn sigstore_python_verifies_what_signet_signs() {
    let stack = Stack::start();
    let file = stack.path("artifact.txt");
    std::fs::write(&file, b"checked by an independent verifier\n").unwrap();
    let bundle = stack.path("artifact.sigstore.json");
    let o = sign(&stack, &file, &bundle);
    assert!(o.status.success(), "{}", show(&o));

    let o = sigstore_python_verify(&stack, &bundle, ALICE, file.as_os_str());
    assert!(
        o.status.success(),
        "sigstore-python rejected signet's bundle: {}",
        show(&o)
    );
    let o = sigstore_python_verify(&stack, &bundle, "mallory@example.com", file.as_os_str());
    assert!(
        !o.status.success(),
        "sigstore-python accepted a wrong identity: {}",
        show(&o)
    );
}

#[test]
fn signet_verifies_what_sigstore_python_signs() {
    let stack = Stack::start();
    let file = stack.path("artifact.txt");
    std::fs::write(&file, b"signed by sigstore-python\n").unwrap();
    let bundle = stack.path("artifact.sigstore.json");
    let token = stack.token(ALICE);
    let o = sigstore_python(
        &stack,
        &[
            OsStr::new("sign"),
            OsStr::new("--identity-token"),
            OsStr::new(&token),
            OsStr::new("--bundle"),
            bundle.as_os_str(),
            file.as_os_str(),
        ],
    );
    assert!(o.status.success(), "{}", show(&o));
    let o = verify(&stack, &bundle, ALICE, &stack.issuer(), file.as_os_str());
    assert_eq!(
        o.status.code(),
        Some(0),
        "signet rejected sigstore-python's bundle: {}",
        show(&o)
    );
    std::fs::write(&file, b"signed by sigstore-python?\n").unwrap();
    let o = verify(&stack, &bundle, ALICE, &stack.issuer(), file.as_os_str());
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
}

#[test]
fn a_failed_signing_writes_nothing_and_says_why() {
    let stack = Stack::start();
    let file = stack.path("artifact.txt");
    std::fs::write(&file, b"x").unwrap();
    let bundle = stack.path("out.sigstore.json");

    // A token that is not a JWT.
    let mut c = signet(&stack);
    c.args(["sign-bundle", "--identity-token", "not-a-token", "--bundle"])
        .arg(&bundle)
        .arg(&file);
    let o = run(c);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(o.stdout.is_empty());
    assert!(!bundle.exists(), "a failed signing left a bundle behind");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("hint:"),
        "{}",
        show(&o)
    );

    // A token from another issuer: Fulcio refuses it, and the token is not echoed.
    let other = Stack::start();
    let foreign = other.token(ALICE);
    let mut c = signet(&stack);
    c.args(["sign-bundle", "--identity-token", &foreign, "--bundle"])
        .arg(&bundle)
        .arg(&file);
    let o = run(c);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(!bundle.exists());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains(&foreign),
        "the token leaked into the error output"
    );
    assert!(err.contains("identity token"), "{err}");

    // Fulcio unreachable: a transport error, not a hang or a panic.
    let mut c = signet(&stack);
    c.env("SIGNET_FULCIO_URL", "http://127.0.0.1:9")
        .args([
            "sign-bundle",
            "--identity-token",
            &stack.token(ALICE),
            "--bundle",
        ])
        .arg(&bundle)
        .arg(&file);
    let o = run(c);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(!bundle.exists());
}

/// The conformance protocol's `sign-bundle --signing-config`: the services come from the stack's
/// signing config alone (no URL flags or variables), its timestamp authority included, and both
/// sigstore-python and signet verify the result, signet reporting the timestamp's time.
#[test]
fn sign_bundle_with_the_stacks_signing_config() {
    let stack = Stack::start();
    let ctc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stack.client_trust_config()).unwrap()).unwrap();
    let config = stack.path("signing_config.json");
    std::fs::write(&config, serde_json::to_vec(&ctc["signingConfig"]).unwrap()).unwrap();
    let file = stack.path("configured.txt");
    std::fs::write(&file, b"signed with the services a signing config names\n").unwrap();
    let bundle = stack.path("configured.sigstore.json");
    // sign-bundle with the services of `config` only.
    let sign_configured = |bundle: &Path| {
        let mut c = signet(&stack);
        c.env_remove("SIGNET_FULCIO_URL")
            .env_remove("SIGNET_REKOR_URL")
            .arg("sign-bundle")
            .arg("--identity-token")
            .arg(stack.token(ALICE))
            .arg("--signing-config")
            .arg(&config)
            .arg("--trusted-root")
            .arg(stack.trusted_root())
            .arg("--bundle")
            .arg(bundle)
            .arg(&file);
        run(c)
    };
    let o = sign_configured(&bundle);
    assert!(o.status.success(), "{}", show(&o));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let timestamps =
        &json["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"];
    assert_eq!(
        timestamps.as_array().map(Vec::len),
        Some(1),
        "the stack's TSA should have timestamped the signature: {json}"
    );

    let issuer = stack.issuer();
    let o = sigstore_python_verify(&stack, &bundle, ALICE, file.as_os_str());
    assert!(
        o.status.success(),
        "sigstore-python rejected the timestamped bundle: {}",
        show(&o)
    );
    let o = verify(&stack, &bundle, ALICE, &issuer, file.as_os_str());
    assert!(o.status.success(), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("by timestamp authority"),
        "{}",
        show(&o)
    );

    // A signing config naming only a Rekor v2 log cannot be signed with: a usage error.
    let mut v2 = ctc["signingConfig"].clone();
    v2["rekorTlogUrls"][0]["majorApiVersion"] = 2.into();
    std::fs::write(&config, serde_json::to_vec(&v2).unwrap()).unwrap();
    let o = sign_configured(&stack.path("never.sigstore.json"));
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(!stack.path("never.sigstore.json").exists());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("rekorTlogUrls"),
        "{}",
        show(&o)
    );
}
