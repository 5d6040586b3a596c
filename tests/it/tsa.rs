//! `core::tsp` against the teststack's RFC 3161 TSA over real HTTP: the request signet builds is
//! granted, the reply yields a token, and the token verifies against the stack's trusted root
//! (and only there, and only for the bytes it stamps).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use signet::core::keys::sha256;
use signet::core::trust_root::TrustedRoot;
use signet::core::tsp::{self, TimestampError};

use crate::harness::Stack;

/// A minimal HTTP/1.1 POST; returns (status, Content-Type, body).
fn post(url: &str, content_type: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("plain http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let headers = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let status: u16 = headers.split(' ').nth(1).unwrap().parse().unwrap();
    let header = |name: &str| {
        headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body);
    } else if let Some(len) = header("content-length") {
        assert_eq!(body.len(), len.parse::<usize>().unwrap(), "body length");
    }
    (status, header("content-type").unwrap_or_default(), body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn teststack_timestamps_verify_against_its_root_only() {
    let stack = Stack::start();
    let signature = b"the signature bytes a bundle would carry";
    let digest = sha256(signature);
    let nonce = 0x8877_6655_4433_2211;
    let before = now();
    let (status, content_type, reply) = post(
        &format!("{}/api/v1/timestamp", stack.url()),
        "application/timestamp-query",
        &tsp::request_der(&digest, nonce),
    );
    let after = now();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));
    assert_eq!(content_type, "application/timestamp-reply");

    let token = tsp::token_from_response(&reply, &digest, nonce).unwrap();
    assert_eq!(
        tsp::token_from_response(&reply, &digest, nonce + 1).unwrap_err(),
        TimestampError::NonceMismatch {
            expected: nonce + 1,
            got: "0x008877665544332211".into()
        }
    );
    assert!(matches!(
        tsp::token_from_response(&reply, &sha256(b"other"), nonce),
        Err(TimestampError::ImprintMismatch { .. })
    ));

    let root = TrustedRoot::from_json(&std::fs::read(stack.trusted_root()).unwrap()).unwrap();
    let verified = tsp::verify_timestamp(&token, signature, &root).unwrap();
    assert!(
        (before..=after).contains(&verified.time.0),
        "genTime {} outside [{before}, {after}]",
        verified.time
    );
    assert_eq!(verified.tsa, format!("{}/api/v1/timestamp", stack.url()));
    // The whole reply (as a bundle stores it) verifies the same way.
    assert_eq!(
        tsp::verify_timestamp(&reply, signature, &root).unwrap(),
        verified
    );

    // Other bytes: the imprint does not match.
    assert!(matches!(
        tsp::verify_timestamp(&token, b"other signature bytes", &root),
        Err(TimestampError::ImprintMismatch { .. })
    ));
    // The production root does not trust the stack's TSA.
    let production = TrustedRoot::from_json(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/trust/production_trusted_root.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert!(matches!(
        tsp::verify_timestamp(&token, signature, &production),
        Err(TimestampError::UntrustedTsa { .. })
    ));

    // A bad request is answered with a DER rejection that token_from_response reports.
    let (status, _, reply) = post(
        &format!("{}/api/v1/timestamp", stack.url()),
        "application/timestamp-query",
        b"\x30\x00",
    );
    assert_eq!(status, 400);
    match tsp::token_from_response(&reply, &digest, nonce).unwrap_err() {
        TimestampError::Rejected { status, detail } => {
            assert_eq!(status, 2);
            assert!(detail.contains("malformed TimeStampReq"), "{detail}");
        }
        other => panic!("{other}"),
    }
}

/// `signet.timestampServerURL`: a signed commit carries the TSA's token (unsigned attribute
/// id-aa-timeStampToken), and `signet verify` checks it and reports its time. A token lifted from
/// another signature, or from a TSA the trusted root does not list, fails verification.
#[test]
fn a_timestamped_commit_verifies_and_a_foreign_or_untrusted_token_does_not() {
    use crate::git_e2e::{Repo, split_commit};
    use crate::harness::show;
    use crate::verify::{
        SIGNET, only_error_kind, signed_commit, verify_commit, verify_json, write_commit,
    };
    use signet::core::{cms, gitsig};

    let stack = Stack::start();
    let mut repo = Repo::new(&stack, "timestamped");
    repo.set_env(
        "SIGNET_TIMESTAMP_SERVER_URL",
        &format!("{}/api/v1/timestamp", stack.url()),
    );
    let first = signed_commit(&repo, "a.txt", "first");
    let second = signed_commit(&repo, "b.txt", "second");
    let verify = |args: &[&str]| {
        repo.command(std::path::Path::new(SIGNET))
            .arg("verify")
            .args(args)
            .output()
            .unwrap()
    };

    let o = verify(&[&first]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains(", timestamp ") && text.contains("/api/v1/timestamp"),
        "{}",
        show(&o)
    );
    // git's own verification (gpg mode) shows it too, on stderr.
    let o = verify_commit(&repo, &[], &first);
    assert!(o.status.success(), "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("timestamp:") && err.contains("/api/v1/timestamp"),
        "{}",
        show(&o)
    );
    let (code, items, o) = verify_json(&repo, &[&first]);
    assert_eq!(code, Some(0), "{}", show(&o));
    let stamps = items[0]["signature"]["timestamps"].clone();
    assert_eq!(stamps.as_array().map(Vec::len), Some(1), "{items:?}");
    assert!(
        stamps[0]["authority"]
            .as_str()
            .is_some_and(|a| a.contains("/api/v1/timestamp")),
        "{stamps}"
    );

    let cat = |id: &str| repo.ok(&["cat-file", "commit", id]).into_bytes();
    let parsed = |object: &[u8]| {
        let (_, armored) = split_commit(object);
        let der = cms::dearmor(&armored).unwrap();
        (armored, cms::parse(&der).unwrap())
    };
    let object = cat(&first);
    let (armored, sig) = parsed(&object);
    let (_, other) = parsed(&cat(&second));
    assert_eq!(gitsig::timestamp_tokens(&sig).len(), 1);

    // The first commit's signature with the second's token: a token over other bytes.
    let unsigned: Vec<cms::Attribute> = sig
        .unsigned_attributes
        .iter()
        .map(|a| {
            if a.oid == gitsig::OID_TIMESTAMP_TOKEN {
                cms::Attribute {
                    oid: a.oid,
                    values: gitsig::timestamp_tokens(&other),
                }
            } else {
                a.clone()
            }
        })
        .collect();
    let leaf = sig.signer_certificate().unwrap().to_vec();
    let der = cms::build_signed_data(&leaf, &sig.signed_attrs, &sig.signature, &unsigned).unwrap();
    let swapped = cms::armor(&der).unwrap();
    let indent = |s: &str| s.trim_end_matches('\n').replace('\n', "\n ");
    let text = String::from_utf8(object.clone()).unwrap();
    let old = indent(std::str::from_utf8(&armored).unwrap());
    assert!(text.contains(&old));
    let forged = write_commit(&repo, text.replacen(&old, &indent(&swapped), 1).as_bytes());
    let (code, items, o) = verify_json(&repo, &[&forged]);
    assert_eq!(code, Some(1), "{}", show(&o));
    assert_eq!(only_error_kind(&items, &o), "bad-timestamp");

    // A trusted root without the stack's TSA: its token is not trusted.
    let mut root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stack.trusted_root()).unwrap()).unwrap();
    assert!(!root["timestampAuthorities"].as_array().unwrap().is_empty());
    root["timestampAuthorities"] = serde_json::json!([]);
    let no_tsa = stack.path("root-without-tsa.json");
    std::fs::write(&no_tsa, serde_json::to_vec(&root).unwrap()).unwrap();
    let (code, items, o) =
        verify_json(&repo, &["--trusted-root", no_tsa.to_str().unwrap(), &first]);
    assert_eq!(code, Some(1), "{}", show(&o));
    assert_eq!(only_error_kind(&items, &o), "bad-timestamp");
}
