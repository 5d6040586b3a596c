//! The leaf lifetime is configurable: `serve --cert-lifetime SECONDS` and
//! `ServeOptions::cert_lifetime`; out-of-range values are refused before anything starts.

use std::process::Command;
use std::time::Duration;

use p256::ecdsa::SigningKey;
use p256::elliptic_curve::Generate;
use signet_teststack::{DEFAULT_CERT_LIFETIME, Error, ServeOptions};
use x509_cert::Certificate;
use x509_cert::der::DecodePem;

use crate::harness::{BIN, Stack, certificate};

/// notBefore and notAfter of a PEM certificate, as durations since the epoch.
fn validity(pem: &str) -> (Duration, Duration) {
    let cert = Certificate::from_pem(pem.as_bytes()).expect("a PEM certificate");
    let v = cert.tbs_certificate().validity();
    (
        v.not_before.to_unix_duration(),
        v.not_after.to_unix_duration(),
    )
}

#[test]
fn a_five_second_stack_issues_five_second_leaves_through_fulcio() {
    let tmp = tempfile::tempdir().unwrap();
    let stack = Stack::start_with(&tmp.path().join("state"), &["--cert-lifetime", "5"]);
    let email = "alice@example.com";
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let chain = certificate(&stack, &SigningKey::generate(), &stack.token(email), email);
    let (not_before, not_after) = validity(&chain[0]);
    assert_eq!(not_after - not_before, Duration::from_secs(5));
    // notBefore is the time of issuance, whole seconds.
    assert!(not_before.as_secs() >= before.as_secs());
    assert!(not_before < before + Duration::from_secs(60));
    stack.stop();
}

#[test]
fn the_default_lifetime_is_ten_minutes() {
    assert_eq!(DEFAULT_CERT_LIFETIME, Duration::from_secs(600));
    let tmp = tempfile::tempdir().unwrap();
    let stack = Stack::start(&tmp.path().join("state"));
    let email = "alice@example.com";
    let chain = certificate(&stack, &SigningKey::generate(), &stack.token(email), email);
    let (not_before, not_after) = validity(&chain[0]);
    assert_eq!(not_after - not_before, DEFAULT_CERT_LIFETIME);
    stack.stop();
}

#[test]
fn start_refuses_lifetimes_outside_one_second_to_a_day() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bad = [
        Duration::ZERO,
        Duration::from_millis(999),
        Duration::from_millis(1500),
        Duration::from_secs(86_401),
        Duration::MAX,
    ];
    for lifetime in bad {
        let dir = tmp.path().join("state");
        let opts = ServeOptions {
            cert_lifetime: lifetime,
            ..ServeOptions::new(&dir)
        };
        let refusal = rt.block_on(signet_teststack::start(opts)).err();
        let Some(Error::CertLifetime { got }) = refusal else {
            panic!("{lifetime:?} was not refused as a lifetime: {refusal:?}");
        };
        assert_eq!(got, lifetime);
        let message = Error::CertLifetime { got }.to_string();
        assert!(message.contains("from 1 to 86400"), "{message}");
        assert!(!dir.exists(), "nothing is created for a refused lifetime");
    }
    // The bounds themselves are accepted.
    for lifetime in [Duration::from_secs(1), Duration::from_secs(86_400)] {
        let opts = ServeOptions {
            cert_lifetime: lifetime,
            ..ServeOptions::new(tmp.path().join("state"))
        };
        let running = rt
            .block_on(signet_teststack::start(opts))
            .unwrap_or_else(|e| panic!("{lifetime:?} refused: {e}"));
        rt.block_on(running.stop()).unwrap();
    }
}

#[test]
fn serve_refuses_an_out_of_range_flag_with_exit_code_2() {
    let tmp = tempfile::tempdir().unwrap();
    for value in ["0", "86401"] {
        let out = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--cert-lifetime", value])
            .arg("--state-dir")
            .arg(tmp.path().join("state"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--cert-lifetime {value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("signet-teststack: error: refusing a certificate lifetime of")
                && stderr.contains("from 1 to 86400"),
            "{stderr}"
        );
    }
}
