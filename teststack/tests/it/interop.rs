//! sigstore-python, an independent client, signs against the stack and verifies offline.

use crate::harness::{Stack, sigstore};

fn out(o: &std::process::Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn sigstore_python_signs_against_the_stack_and_verifies_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let stack = Stack::start(&tmp.path().join("state"));
    let artifact = tmp.path().join("artifact.txt");
    std::fs::write(&artifact, b"signed through signet-teststack\n").unwrap();
    let bundle = tmp.path().join("artifact.sigstore.json");
    let token = stack.token("alice@example.com");
    let (a, b) = (artifact.to_str().unwrap(), bundle.to_str().unwrap());

    let signed = sigstore(
        &stack,
        &["sign", "--identity-token", &token, "--bundle", b, a],
    );
    assert!(signed.status.success(), "sign failed: {}", out(&signed));
    assert_eq!(stack.tree_size(), 1);

    let issuer = stack.issuer();
    let verify = |identity: &str, issuer: &str, file: &str| {
        sigstore(
            &stack,
            &[
                "verify",
                "identity",
                "--offline",
                "--bundle",
                b,
                "--cert-identity",
                identity,
                "--cert-oidc-issuer",
                issuer,
                file,
            ],
        )
    };
    let ok = verify("alice@example.com", &issuer, a);
    assert!(ok.status.success(), "verify failed: {}", out(&ok));

    // The same bundle fails for a tampered file, a wrong identity and a wrong issuer.
    let tampered = tmp.path().join("tampered.txt");
    std::fs::write(&tampered, b"signed through signet-teststack!\n").unwrap();
    let bad = verify("alice@example.com", &issuer, tampered.to_str().unwrap());
    assert!(
        !bad.status.success(),
        "tampered file verified: {}",
        out(&bad)
    );
    let bad = verify("mallory@example.com", &issuer, a);
    assert!(
        !bad.status.success(),
        "wrong identity verified: {}",
        out(&bad)
    );
    let bad = verify("alice@example.com", "https://accounts.google.com", a);
    assert!(
        !bad.status.success(),
        "wrong issuer verified: {}",
        out(&bad)
    );
    stack.stop();
}
