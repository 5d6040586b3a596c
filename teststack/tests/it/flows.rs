//! The OIDC flows a real client uses, over real HTTP: the authorization-code flow with PKCE
//! through a loopback redirect (followed headlessly, as `curl -sfL` would), and the device flow.
//! The ID tokens they yield are accepted by the local Fulcio.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use p256::ecdsa::SigningKey;
use p256::elliptic_curve::Generate;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::harness::{Stack, certificate, client};

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn discovery(stack: &Stack) -> Value {
    client()
        .get(format!(
            "{}/.well-known/openid-configuration",
            stack.issuer()
        ))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// Runs the authorization request against a fresh loopback listener, following redirects as a
/// headless URL opener does, and returns the code the listener received and its redirect URI.
fn authorize(meta: &Value, challenge: &str) -> (String, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let redirect_uri = format!("http://{}/auth/callback", listener.local_addr().unwrap());
    let catcher = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut line = String::new();
        BufReader::new(&conn).read_line(&mut line).unwrap();
        conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            .unwrap();
        line.split_whitespace().nth(1).unwrap().to_string()
    });
    let mut auth = url::Url::parse(meta["authorization_endpoint"].as_str().unwrap()).unwrap();
    auth.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "sigstore")
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "openid email")
        .append_pair("state", "st4te")
        .append_pair("nonce", "n0nce")
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    crate::harness::install_crypto_provider();
    let follower = reqwest::blocking::Client::builder().build().unwrap();
    let resp = follower.get(auth.as_str()).send().unwrap();
    assert_eq!(resp.status(), 200);
    let target = catcher.join().unwrap();
    let params: Vec<(String, String)> = url::Url::parse(&format!("http://x{target}"))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("state").as_deref(), Some("st4te"));
    (get("code").expect("code in redirect"), redirect_uri)
}

#[test]
fn browser_flow_with_pkce_redirects_to_loopback_and_yields_a_token_fulcio_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let stack = Stack::start_with(
        &tmp.path().join("state"),
        &["--identity", "bob@example.com"],
    );
    let meta = discovery(&stack);
    assert_eq!(meta["issuer"], stack.issuer());

    let verifier = "x".repeat(20) + &"y".repeat(30);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let (burnt_code, burnt_redirect) = authorize(&meta, &challenge);
    let (code, redirect_uri) = authorize(&meta, &challenge);

    let token_url = meta["token_endpoint"].as_str().unwrap();
    let exchange = |code: &str, redirect_uri: &str, verifier: &str| {
        client()
            .post(token_url)
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("client_id", "sigstore"),
                ("code_verifier", verifier),
            ])
            .send()
            .unwrap()
    };
    let wrong = exchange(&burnt_code, &burnt_redirect, &"z".repeat(50));
    assert_eq!(wrong.status(), 400, "a wrong PKCE verifier is refused");
    let after = exchange(&burnt_code, &burnt_redirect, &verifier);
    assert_eq!(
        after.status(),
        400,
        "a code is spent by a failed exchange too"
    );
    let resp = exchange(&code, &redirect_uri, &verifier);
    assert_eq!(resp.status(), 200, "{:?}", resp.text());
    let tokens: Value = resp.json().unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    let c = claims(id_token);
    assert_eq!(c["email"], "bob@example.com");
    assert_eq!(c["nonce"], "n0nce");
    assert_eq!(c["aud"], "sigstore");
    assert_eq!(
        exchange(&code, &redirect_uri, &verifier).status(),
        400,
        "a code works once"
    );

    let chain = certificate(&stack, &SigningKey::generate(), id_token, "bob@example.com");
    assert_eq!(chain.len(), 3);
    stack.stop();
}

#[test]
fn device_flow_is_pending_then_approved_and_its_token_works() {
    let tmp = tempfile::tempdir().unwrap();
    let stack = Stack::start(&tmp.path().join("state"));
    let meta = discovery(&stack);
    let dev: Value = client()
        .post(meta["device_authorization_endpoint"].as_str().unwrap())
        .form(&[("client_id", "sigstore"), ("scope", "openid email")])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let device_code = dev["device_code"].as_str().unwrap();
    assert!(dev["user_code"].is_string() && dev["verification_uri"].is_string());
    let interval = dev["interval"].as_u64().unwrap();
    let poll = || {
        client()
            .post(meta["token_endpoint"].as_str().unwrap())
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", device_code),
                ("client_id", "sigstore"),
            ])
            .send()
            .unwrap()
    };
    let first = poll();
    assert_eq!(first.status(), 400);
    let v: Value = first.json().unwrap();
    assert_eq!(v["error"], "authorization_pending");
    // RFC 8628 §3.5: the client waits `interval` seconds between polls.
    std::thread::sleep(std::time::Duration::from_secs(interval));
    let second = poll();
    assert_eq!(second.status(), 200);
    let tokens: Value = second.json().unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(claims(id_token)["email"], "alice@example.com");
    let chain = certificate(
        &stack,
        &SigningKey::generate(),
        id_token,
        "alice@example.com",
    );
    assert_eq!(chain.len(), 3);
    stack.stop();
}
