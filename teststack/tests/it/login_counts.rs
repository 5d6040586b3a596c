//! `Running::login_counts`: each request to the authorization, device-authorization and token
//! endpoints moves its counter by exactly one, whatever its outcome; nothing else moves them.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use reqwest::blocking::Response;
use serde_json::Value;
use sha2::{Digest, Sha256};
use signet_teststack::{LoginCounts, Running, ServeOptions, TokenCounts};

use crate::harness::client;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A stack served in-process by its own runtime, stopped by [`InProcess::stop`].
struct InProcess {
    rt: tokio::runtime::Runtime,
    running: Running,
}

impl InProcess {
    fn start(dir: &std::path::Path) -> InProcess {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        // `start` returns once the listener is bound: it is ready to accept.
        let running = rt
            .block_on(signet_teststack::start(ServeOptions::new(dir)))
            .unwrap();
        InProcess { rt, running }
    }

    fn get(&self, path: &str, query: &[(&str, &str)]) -> Response {
        let mut url = url::Url::parse(&format!("{}{path}", self.running.issuer_url)).unwrap();
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        client().get(url).send().unwrap()
    }

    fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let url = format!("{}{path}", self.running.issuer_url);
        client().post(url).form(form).send().unwrap()
    }

    fn counts(&self) -> LoginCounts {
        self.running.login_counts()
    }

    fn stop(self) {
        self.rt.block_on(self.running.stop()).unwrap();
    }
}

fn counts(authorization: u64, device_authorization: u64, token: u64) -> LoginCounts {
    LoginCounts {
        authorization,
        device_authorization,
        token,
    }
}

#[test]
fn each_login_request_moves_its_counter_by_exactly_one() {
    let tmp = tempfile::tempdir().unwrap();
    let stack = InProcess::start(&tmp.path().join("state"));
    assert_eq!(stack.counts(), counts(0, 0, 0));
    assert_eq!(
        stack.get("/.well-known/openid-configuration", &[]).status(),
        200
    );
    assert_eq!(stack.get("/jwks", &[]).status(), 200);
    assert_eq!(
        stack.counts(),
        counts(0, 0, 0),
        "discovery and JWKS are not logins"
    );

    // Browser flow: the authorization request, as a browser sends it, answered with a redirect.
    let verifier = "v".repeat(43);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let redirect_uri = "http://127.0.0.1:9/auth/callback";
    let auth = stack.get(
        "/authorize",
        &[
            ("response_type", "code"),
            ("client_id", "sigstore"),
            ("redirect_uri", redirect_uri),
            ("scope", "openid email"),
            ("state", "st4te"),
            ("nonce", "n0nce"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    assert_eq!(auth.status(), 302);
    assert_eq!(stack.counts(), counts(1, 0, 0));
    let location = auth.headers()["location"].to_str().unwrap();
    let location = url::Url::parse(location).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code in the redirect");

    let exchange = stack.post(
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect_uri),
            ("client_id", "sigstore"),
            ("code_verifier", &verifier),
        ],
    );
    assert_eq!(exchange.status(), 200);
    assert_eq!(stack.counts(), counts(1, 0, 1));

    // Device flow: the device authorization, then one (pending) poll.
    let device = stack.post(
        "/device/code",
        &[("client_id", "sigstore"), ("scope", "openid")],
    );
    assert_eq!(device.status(), 200);
    assert_eq!(stack.counts(), counts(1, 1, 1));
    let device: Value = device.json().unwrap();
    let poll = stack.post(
        "/token",
        &[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device["device_code"].as_str().unwrap()),
            ("client_id", "sigstore"),
        ],
    );
    assert_eq!(poll.status(), 400, "the first poll is pending");
    assert_eq!(stack.counts(), counts(1, 1, 2));

    // Refused requests count too: they reached the endpoint.
    assert_eq!(stack.get("/authorize", &[]).status(), 400);
    assert_eq!(stack.counts(), counts(2, 1, 2));
    let refused = stack.post("/device/code", &[("scope", "openid")]);
    assert_eq!(refused.status(), 400, "no client_id");
    assert_eq!(stack.counts(), counts(2, 2, 2));
    let unsupported = stack.post("/token", &[("grant_type", "password"), ("client_id", "x")]);
    assert_eq!(unsupported.status(), 400);
    assert_eq!(stack.counts(), counts(2, 2, 3));

    let split = TokenCounts {
        authorization_code: 1,
        device_code: 1,
        other: 1,
    };
    assert_eq!(stack.running.token_counts(), split);
    stack.stop();
}
