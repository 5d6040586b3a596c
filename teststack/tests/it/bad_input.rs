//! Every kind of bad input gets a 4xx with a JSON error body naming the problem, and the log
//! does not grow.

use base64::{Engine, engine::general_purpose::STANDARD};
use p256::ecdsa::{DerSignature, SigningKey, signature::Signer};
use p256::elliptic_curve::Generate;
use serde_json::{Value, json};

use crate::harness::{Stack, certificate, client, hashedrekord, pem_public_key};

/// Posts `body` and returns (status, JSON error message), asserting the error shape.
fn post(url: &str, body: reqwest::blocking::Body, bearer: Option<&str>) -> (u16, String) {
    let mut req = client()
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    let v: Value = resp.json().expect("error body is JSON");
    let msg = v["message"]
        .as_str()
        .expect("error has a message")
        .to_string();
    assert!(v["code"].is_number(), "error has a code: {v}");
    (status, msg)
}

fn post_json(url: &str, v: &Value, bearer: Option<&str>) -> (u16, String) {
    post(url, serde_json::to_vec(v).unwrap().into(), bearer)
}

/// A token for the stack's issuer with chosen audience and times, minted with its own key.
fn crafted_token(stack: &Stack, aud: &str, lifetime: u64, now: u64) -> String {
    let store = signet_teststack::store::Store::open(&stack.dir).unwrap();
    let key = signet_teststack::keys::load_or_create(&store, "oidc_key").unwrap();
    signet_teststack::oidc::Issuer::new(stack.issuer(), key, "alice@example.com".into()).mint(
        "alice@example.com",
        aud,
        lifetime,
        None,
        now,
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn pop_request(key: &SigningKey, signed: &str) -> Value {
    let pop: DerSignature = key.sign(signed.as_bytes());
    json!({ "publicKeyRequest": {
        "publicKey": { "algorithm": "ECDSA", "content": pem_public_key(key) },
        "proofOfPossession": STANDARD.encode(pop.as_bytes()) } })
}

#[test]
fn rekor_rejects_bad_entries_and_appends_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let stack = Stack::start(&tmp.path().join("state"));
    let entries = format!("{}/api/v1/log/entries", stack.url());
    let key = SigningKey::generate();
    let good = hashedrekord(&key, &pem_public_key(&key), b"artifact");
    let resp = client().post(&entries).json(&good).send().unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(stack.tree_size(), 1);

    let cases: Vec<(&str, reqwest::blocking::Body, u16, &str)> = vec![
        (
            "malformed JSON",
            b"{\"apiVersion\": ".to_vec().into(),
            400,
            "not valid JSON",
        ),
        (
            "JSON of the wrong shape",
            b"[1,2,3]".to_vec().into(),
            400,
            "error processing entry",
        ),
        (
            "wrong signature",
            {
                let other = SigningKey::generate();
                let mut e = hashedrekord(&other, &pem_public_key(&key), b"artifact2");
                e["spec"]["data"]["hash"]["value"] = json!(hex::encode([1u8; 32]));
                serde_json::to_vec(&e).unwrap().into()
            },
            400,
            "does not verify",
        ),
        (
            "digest of the wrong length",
            {
                let mut e = hashedrekord(&key, &pem_public_key(&key), b"x");
                e["spec"]["data"]["hash"]["value"] = json!("abcd");
                serde_json::to_vec(&e).unwrap().into()
            },
            400,
            "needs 32",
        ),
        (
            "unsupported kind",
            {
                let mut e = hashedrekord(&key, &pem_public_key(&key), b"x");
                e["kind"] = json!("rekord");
                serde_json::to_vec(&e).unwrap().into()
            },
            400,
            "unsupported entry kind",
        ),
        (
            "key that is not PEM",
            {
                let mut e = hashedrekord(&key, &pem_public_key(&key), b"x");
                e["spec"]["signature"]["publicKey"]["content"] = json!(STANDARD.encode(b"garbage"));
                serde_json::to_vec(&e).unwrap().into()
            },
            400,
            "PEM",
        ),
        (
            "oversized body",
            vec![b' '; 200 * 1024].into(),
            413,
            "larger than",
        ),
    ];
    for (what, body, status, needle) in cases {
        let (got, msg) = post(&entries, body, None);
        assert_eq!(got, status, "{what}: {msg}");
        assert!(
            msg.contains(needle),
            "{what}: message {msg:?} lacks {needle:?}"
        );
        assert_eq!(stack.tree_size(), 1, "{what} appended an entry");
    }

    // A duplicate is a 409 pointing at the existing entry, and is not appended again.
    let resp = client().post(&entries).json(&good).send().unwrap();
    assert_eq!(resp.status(), 409);
    assert!(resp.headers().get("location").is_some());
    let v: Value = resp.json().unwrap();
    assert!(v["message"].as_str().unwrap().contains("already exists"));
    assert_eq!(stack.tree_size(), 1);

    // Lookups of what is not there are 404s / 400s with JSON bodies.
    let r = client()
        .get(format!("{entries}?logIndex=5"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = client()
        .get(format!("{entries}?logIndex=-1"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client()
        .get(format!("{entries}/{}", "ab".repeat(32)))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    let (s, _) = post_json(
        &format!("{entries}/retrieve"),
        &json!({ "logIndexes": (0..11).collect::<Vec<i32>>() }),
        None,
    );
    assert_eq!(s, 422);
    stack.stop();
}

#[test]
fn fulcio_rejects_bad_requests_and_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let stack = Stack::start(&tmp.path().join("state"));
    let other = Stack::start(&tmp.path().join("other"));
    let url = format!("{}/api/v2/signingCert", stack.var("SIGNET_FULCIO_URL"));
    let key = SigningKey::generate();
    let email = "alice@example.com";
    let good_token = stack.token(email);
    // The good request works, so each failure below is due to the one thing changed.
    let chain = certificate(&stack, &key, &good_token, email);
    assert_eq!(chain.len(), 3);

    let t = now();
    let cases: Vec<(&str, Value, Option<String>, u16, &str)> = vec![
        (
            "expired token",
            pop_request(&key, email),
            Some(crafted_token(&stack, "sigstore", 60, t - 3600)),
            401,
            "expired",
        ),
        (
            "token from another issuer",
            pop_request(&key, email),
            Some(other.token(email)),
            401,
            "identity token",
        ),
        (
            "wrong audience",
            pop_request(&key, email),
            Some(crafted_token(&stack, "not-sigstore", 600, t)),
            401,
            "aud",
        ),
        (
            "garbage token",
            pop_request(&key, email),
            Some("a.b.c".into()),
            401,
            "identity token",
        ),
        ("no token", pop_request(&key, email), None, 401, "no token"),
        (
            "proof of possession over the wrong claim",
            pop_request(&key, "mallory@example.com"),
            Some(good_token.clone()),
            400,
            "could not be verified",
        ),
        (
            "proof of possession by another key",
            {
                let mut r = pop_request(&SigningKey::generate(), email);
                r["publicKeyRequest"]["publicKey"]["content"] = json!(pem_public_key(&key));
                r
            },
            Some(good_token.clone()),
            400,
            "could not be verified",
        ),
        (
            "unparsable CSR",
            json!({ "certificateSigningRequest": STANDARD.encode("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n") }),
            Some(good_token.clone()),
            400,
            "could not be parsed",
        ),
        (
            "neither key form",
            json!({}),
            Some(good_token.clone()),
            400,
            "publicKeyRequest or certificateSigningRequest",
        ),
    ];
    for (what, body, token, status, needle) in cases {
        let (got, msg) = post_json(&url, &body, token.as_deref());
        assert_eq!(got, status, "{what}: {msg}");
        assert!(
            msg.to_lowercase().contains(&needle.to_lowercase()),
            "{what}: message {msg:?} lacks {needle:?}"
        );
        assert!(
            !msg.contains(&good_token),
            "{what}: the token leaked into the error"
        );
    }
    let (got, msg) = post(&url, b"{not json".to_vec().into(), Some(&good_token));
    assert_eq!(got, 400, "{msg}");
    let (got, msg) = post(&url, vec![b'x'; 100 * 1024].into(), Some(&good_token));
    assert_eq!(got, 413, "{msg}");
    // Fulcio never touches the log.
    assert_eq!(stack.tree_size(), 0);
    other.stop();
    stack.stop();
}

#[test]
fn teststack_refuses_non_loopback_addresses() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::harness::BIN)
        .args(["serve", "--listen", "0.0.0.0:0", "--state-dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
    let out = std::process::Command::new(crate::harness::BIN)
        .args(["token", "--email", "a@b", "--state-dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no running stack"));
}
