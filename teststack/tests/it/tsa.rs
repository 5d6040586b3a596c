//! The RFC 3161 timestamp authority over HTTP: a hand-made TimeStampReq gets a granted
//! TimeStampResp, which `openssl ts` (an independent implementation) prints and verifies against
//! the stack's TSA chain; bad requests get a rejection; the chain survives a restart.

use std::process::Command;

use sha2::{Digest, Sha256};

use crate::harness::{Stack, client};

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    assert!(content.len() < 0x80, "short form only in these requests");
    [&[tag, content.len() as u8][..], content].concat()
}

/// TimeStampReq v1, SHA-256 imprint, nonce, certReq as given.
fn request(data: &[u8], nonce: &[u8], cert_req: bool) -> Vec<u8> {
    let sha256 = tlv(
        0x30,
        &tlv(
            0x06,
            &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01],
        ),
    );
    let imprint = tlv(0x30, &[sha256, tlv(0x04, &Sha256::digest(data))].concat());
    let mut body = [tlv(0x02, &[1]), imprint, tlv(0x02, nonce)].concat();
    if cert_req {
        body.extend(tlv(0x01, &[0xff]));
    }
    tlv(0x30, &body)
}

fn post(stack: &Stack, content_type: &str, body: Vec<u8>) -> (u16, String, Vec<u8>) {
    let resp = client()
        .post(format!("{}/api/v1/timestamp", stack.url()))
        .header("content-type", content_type)
        .body(body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, ct, resp.bytes().unwrap().to_vec())
}

fn openssl_available() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn openssl(args: &[&str]) -> (bool, String) {
    let o = Command::new("openssl").args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

#[test]
fn timestamps_over_http_verify_with_openssl() {
    let tmp = tempfile::tempdir().unwrap();
    let stack = Stack::start(&tmp.path().join("state"));
    let data = b"a signature to timestamp";
    let nonce = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];

    let (status, ct, resp) = post(
        &stack,
        "application/timestamp-query",
        request(data, &nonce, true),
    );
    assert_eq!((status, ct.as_str()), (200, "application/timestamp-reply"));
    // TimeStampResp { status granted, token }: the token carries the nonce and policy.
    assert_eq!(
        &resp[4..9],
        &[0x30, 0x03, 0x02, 0x01, 0x00],
        "status granted"
    );
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(contains(&resp, &tlv(0x02, &nonce)));
    assert!(contains(&resp, &Sha256::digest(data)));

    // The trusted root and signing config name the TSA.
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stack.dir.join("trusted_root.json")).unwrap())
            .unwrap();
    let tsa = &root["timestampAuthorities"][0];
    assert_eq!(tsa["uri"], format!("{}/api/v1/timestamp", stack.url()));
    assert_eq!(
        tsa["certChain"]["certificates"].as_array().unwrap().len(),
        2
    );
    let ctc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stack.dir.join("client_trust_config.json")).unwrap())
            .unwrap();
    assert_eq!(
        ctc["signingConfig"]["tsaUrls"][0]["url"],
        format!("{}/api/v1/timestamp", stack.url())
    );

    // The chain endpoint serves the signing certificate and the root.
    let chain = client()
        .get(format!("{}/api/v1/timestamp/certchain", stack.url()))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(chain.matches("-----BEGIN CERTIFICATE-----").count(), 2);

    // Without certReq, no certificate is embedded: the response is smaller by about one.
    let (status, _, bare) = post(
        &stack,
        "application/timestamp-query",
        request(data, &nonce, false),
    );
    assert_eq!(status, 200);
    assert!(
        bare.len() + 300 < resp.len(),
        "{} vs {}",
        bare.len(),
        resp.len()
    );

    // Refusals: wrong content type, garbage; both are DER rejections (status 2).
    let (status, ct, body) = post(&stack, "application/json", request(data, &nonce, true));
    assert_eq!((status, ct.as_str()), (415, "application/timestamp-reply"));
    assert_eq!(&body[2..7], &[0x30, body[3], 0x02, 0x01, 0x02]);
    let (status, _, body) = post(&stack, "application/timestamp-query", b"garbage".to_vec());
    assert_eq!(status, 400);
    assert!(contains(&body, b"malformed TimeStampReq"));

    if !openssl_available() {
        eprintln!("note: openssl not found; skipping the independent `openssl ts` checks");
        stack.stop();
        return;
    }
    let file = |name: &str, bytes: &[u8]| {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let (resp_der, data_file) = (file("resp.der", &resp), file("data", data));
    let chain_pem = file("tsa_chain.pem", chain.as_bytes());
    let (ok, text) = openssl(&["ts", "-reply", "-in", &resp_der, "-text"]);
    assert!(ok, "{text}");
    assert!(text.contains("Status: Granted."), "{text}");
    assert!(text.contains("Policy OID: 1.3.6.1.4.1.57264.2"), "{text}");
    assert!(text.contains("Nonce: 0x0123456789ABCDEF"), "{text}");
    let (ok, text) = openssl(&[
        "ts", "-verify", "-data", &data_file, "-in", &resp_der, "-CAfile", &chain_pem,
    ]);
    assert!(ok && text.contains("Verification: OK"), "{text}");
    // Other data does not verify.
    let other = file("other", b"another signature");
    let (ok, text) = openssl(&[
        "ts", "-verify", "-data", &other, "-in", &resp_der, "-CAfile", &chain_pem,
    ]);
    assert!(!ok || !text.contains("Verification: OK"), "{text}");
    // The certificate-less response verifies when the signer is supplied separately.
    let signer_pem = chain
        .split_inclusive("-----END CERTIFICATE-----\n")
        .next()
        .unwrap();
    let signer = file("signer.pem", signer_pem.as_bytes());
    let bare_der = file("bare.der", &bare);
    let (ok, text) = openssl(&[
        "ts",
        "-verify",
        "-data",
        &data_file,
        "-in",
        &bare_der,
        "-CAfile",
        &chain_pem,
        "-untrusted",
        &signer,
    ]);
    assert!(ok && text.contains("Verification: OK"), "{text}");
    stack.stop();
}

#[test]
fn the_tsa_chain_is_kept_across_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let read_tsa = || {
        let root: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("trusted_root.json")).unwrap()).unwrap();
        root["timestampAuthorities"][0]["certChain"].clone()
    };
    let stack = Stack::start(&dir);
    let first = read_tsa();
    stack.stop();
    let stack = Stack::start(&dir);
    assert_eq!(read_tsa(), first);
    let (status, _, _) = post(
        &stack,
        "application/timestamp-query",
        request(b"x", &[1], true),
    );
    assert_eq!(status, 200);
    stack.stop();
}
