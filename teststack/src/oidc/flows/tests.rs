//! The HTTP flows over a real socket: an in-process server on 127.0.0.1:0, raw HTTP/1.1.

use super::*;
use crate::oidc::AUDIENCE;
use crate::oidc::tests::{EMAIL, NOW, key, payload};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT: &str = "http://127.0.0.1:4711/callback?keep=1";
const FORM: &str = "Content-Type: application/x-www-form-urlencoded\r\n";

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        let mut found = self.headers.iter().filter(|(n, _)| n == name);
        found.next().map(|(_, value)| value.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn location(&self) -> HashMap<String, String> {
        let location = self.header("location").expect("Location");
        let location = Url::parse(location).expect("URL");
        location.query_pairs().into_owned().collect()
    }

    fn assert_error(&self, status: u16, error: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        let body = self.json();
        assert_eq!(body["error"], error, "{body}");
        let description = body["error_description"].as_str();
        assert!(description.is_some_and(|d| !d.is_empty()), "{body}");
    }
}

/// Serves the issuer on 127.0.0.1:0; the socket is listening before this returns.
async fn start() -> (Arc<Issuer>, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let url = format!("http://{addr}/oidc");
    let issuer = Arc::new(Issuer::new(url, key(7), EMAIL.into()));
    issuer.test_now.store(NOW, Ordering::Relaxed);
    let app = Router::new().nest("/oidc", router(issuer.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (issuer, addr)
}

/// One HTTP/1.1 exchange; `path` is relative to the issuer.
async fn request(addr: SocketAddr, path: &str, headers: &str, body: &str) -> Reply {
    let method = if body.is_empty() { "GET" } else { "POST" };
    let (host, length) = (format!("Host: {addr}"), body.len());
    let head = format!("{method} /oidc{path} HTTP/1.1\r\n{host}\r\nConnection: close");
    let request = format!("{head}\r\nContent-Length: {length}\r\n{headers}\r\n{body}");
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete response");
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1));
    let status = status.and_then(|s| s.parse().ok()).expect("a status");
    let headers = lines.filter_map(|l| l.split_once(": "));
    let headers = headers.map(|(n, v)| (n.to_ascii_lowercase(), v.into()));
    let body = body.to_owned();
    Reply {
        status,
        headers: headers.collect(),
        body,
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.extend_pairs(pairs).finish()
}

async fn post(addr: SocketAddr, path: &str, pairs: &[(&str, &str)]) -> Reply {
    request(addr, path, FORM, &form(pairs)).await
}

/// GET /authorize with a valid request for `redirect`, `changes` applied (`None` removes).
async fn authorize(addr: SocketAddr, redirect: &str, changes: &[(&str, Option<&str>)]) -> Reply {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER));
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", AUDIENCE),
        ("redirect_uri", redirect),
        ("scope", "openid email"),
        ("state", "st4te"),
        ("nonce", "n0nce"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in changes {
        pairs.retain(|(n, _)| n != name);
        pairs.extend(value.map(|value| (*name, value)));
    }
    request(addr, &format!("/authorize?{}", form(&pairs)), "", "").await
}

async fn code(addr: SocketAddr) -> String {
    let reply = authorize(addr, REDIRECT, &[]).await;
    assert_eq!(reply.status, 302, "{}", reply.body);
    let location = reply.header("location").expect("Location");
    let prefix = "http://127.0.0.1:4711/callback?keep=1&code=";
    assert!(location.starts_with(prefix), "{location}");
    let params = reply.location();
    assert_eq!(params["state"], "st4te");
    let code = URL_SAFE_NO_PAD.decode(&params["code"]).expect("base64url");
    assert_eq!(code.len(), 32, "256 random bits");
    params["code"].clone()
}

async fn exchange(addr: SocketAddr, code: &str, verifier: &str, redirect: &str) -> Reply {
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
        ("client_id", AUDIENCE),
        ("code_verifier", verifier),
    ];
    post(addr, "/token", &pairs).await
}

#[tokio::test]
async fn discovery_jwks_and_device_page_are_served() {
    let (issuer, addr) = start().await;
    let reply = request(addr, "/.well-known/openid-configuration", "", "").await;
    assert_eq!(reply.status, 200);
    let doc = reply.json();
    let base = issuer.issuer_url();
    assert_eq!(doc["issuer"], base);
    let endpoints = [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("jwks_uri", "/jwks"),
        ("device_authorization_endpoint", "/device/code"),
    ];
    for (field, path) in endpoints {
        assert_eq!(doc[field], format!("{base}{path}"), "{field}");
    }
    let algs = &doc["id_token_signing_alg_values_supported"];
    assert_eq!(algs, &json!(["ES256"]));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    let grants = json!(["authorization_code", DEVICE_GRANT]);
    assert_eq!(doc["grant_types_supported"], grants);
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert!(doc.get("userinfo_endpoint").is_none());
    assert_eq!(request(addr, "/jwks", "", "").await.json(), issuer.jwks());
    let page = request(addr, "/device?user_code=WDJB-MJHT", "", "").await;
    let text = Some("text/plain; charset=utf-8");
    assert_eq!((page.status, page.header("content-type")), (200, text));
    assert!(
        page.body.contains("approved automatically"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn authorization_code_flow_with_pkce() {
    let (issuer, addr) = start().await;
    let code = code(addr).await;
    let reply = exchange(addr, &code, VERIFIER, REDIRECT).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    let access_token = body["access_token"].as_str().expect("access_token");
    let access = issuer.verify(access_token, AUDIENCE, NOW).expect("a JWT");
    assert_eq!(access.email.as_deref(), Some(EMAIL));
    let id_token = body["id_token"].as_str().expect("id_token");
    let claims = issuer.verify(id_token, AUDIENCE, NOW).expect("verifies");
    assert_eq!((claims.sub.as_str(), claims.exp), (EMAIL, NOW + 600));
    assert_eq!(payload(id_token)["nonce"], "n0nce");
    let reused = exchange(addr, &code, VERIFIER, REDIRECT).await;
    reused.assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn code_exchange_refuses_wrong_verifier_redirect_client_and_age() {
    let (issuer, addr) = start().await;
    let wrong = "x".repeat(43);
    let reply = exchange(addr, &code(addr).await, &wrong, REDIRECT).await;
    reply.assert_error(400, "invalid_grant");
    assert!(reply.body.contains("code_verifier does not match"));
    let elsewhere = "http://127.0.0.1:4711/callback";
    let reply = exchange(addr, &code(addr).await, VERIFIER, elsewhere).await;
    reply.assert_error(400, "invalid_grant");
    assert!(reply.body.contains("redirect_uri differs"));
    let short = exchange(addr, &code(addr).await, "short", REDIRECT).await;
    short.assert_error(400, "invalid_request");
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", &code(addr).await),
        ("redirect_uri", REDIRECT),
        ("client_id", "someone-else"),
        ("code_verifier", VERIFIER),
    ];
    let reply = post(addr, "/token", &pairs).await;
    reply.assert_error(400, "invalid_grant");
    assert!(reply.body.contains("issued to client"), "{}", reply.body);
    let late = code(addr).await;
    issuer
        .test_now
        .store(NOW + CODE_LIFETIME_SECS, Ordering::Relaxed);
    let reply = exchange(addr, &late, VERIFIER, REDIRECT).await;
    reply.assert_error(400, "invalid_grant");
    assert!(
        reply.body.contains("expired at 1700000060"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn authorize_refuses_non_loopback_redirects_without_redirecting() {
    let (_issuer, addr) = start().await;
    let refused = [
        "http://example.com/cb",
        "https://127.0.0.1:4711/cb",
        "http://127.0.0.2:4711/cb",
        "http://localhost.evil.test/cb",
        "http://127.0.0.1:4711/cb#fragment",
        "not a url",
    ];
    for redirect in refused {
        let reply = authorize(addr, redirect, &[]).await;
        reply.assert_error(400, "invalid_request");
        assert!(reply.header("location").is_none(), "{redirect}");
    }
    for redirect in ["http://localhost/cb", "http://[::1]:80/"] {
        let reply = authorize(addr, redirect, &[]).await;
        assert_eq!(reply.status, 302, "{redirect}");
    }
    let anonymous = authorize(addr, REDIRECT, &[("client_id", None)]).await;
    anonymous.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn authorize_reports_parameter_errors_on_the_redirect() {
    let (_issuer, addr) = start().await;
    let cases = [
        ("code_challenge_method", Some("plain"), "invalid_request"),
        ("code_challenge_method", None, "invalid_request"),
        ("code_challenge", None, "invalid_request"),
        ("code_challenge", Some("tooshort"), "invalid_request"),
        ("state", None, "invalid_request"),
        ("scope", Some("email"), "invalid_scope"),
        ("response_type", Some("token"), "unsupported_response_type"),
    ];
    for (name, value, error) in cases {
        let reply = authorize(addr, REDIRECT, &[(name, value)]).await;
        assert_eq!(reply.status, 302, "{name}={value:?}");
        let params = reply.location();
        assert_eq!(params["error"], error, "{name}={value:?}");
        let state = params.get("state").map(String::as_str);
        assert_eq!(state, (name != "state").then_some("st4te"));
        assert_eq!(params["keep"], "1");
        assert!(!params.contains_key("code"));
    }
    let long = "a".repeat(MAX_PARAM_LEN + 1);
    let reply = authorize(addr, REDIRECT, &[("state", Some(&long))]).await;
    reply.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn device_flow_pends_then_issues_once() {
    let (issuer, addr) = start().await;
    let request = [("client_id", AUDIENCE), ("scope", "openid")];
    let reply = post(addr, "/device/code", &request).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let grant = reply.json();
    let user_code = grant["user_code"].as_str().expect("user_code");
    let shape = user_code.len() == 9 && user_code.as_bytes()[4] == b'-';
    assert!(shape, "{user_code}");
    let page = format!("{}/device", issuer.issuer_url());
    assert_eq!(grant["verification_uri"], page);
    let complete = format!("{page}?user_code={user_code}");
    assert_eq!(grant["verification_uri_complete"], complete);
    assert_eq!(
        (grant["expires_in"].as_u64(), grant["interval"].as_u64()),
        (Some(300), Some(1))
    );
    let device_code = grant["device_code"].as_str().expect("device_code");
    let poll = [
        ("grant_type", DEVICE_GRANT),
        ("device_code", device_code),
        ("client_id", AUDIENCE),
    ];
    post(addr, "/token", &poll)
        .await
        .assert_error(400, "authorization_pending");
    post(addr, "/token", &poll)
        .await
        .assert_error(400, "slow_down");
    let later = NOW + DEVICE_INTERVAL_SECS + SLOW_DOWN_STEP_SECS;
    issuer.test_now.store(later, Ordering::Relaxed);
    let reply = post(addr, "/token", &poll).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let id_token = reply.json()["id_token"]
        .as_str()
        .expect("id_token")
        .to_owned();
    let claims = issuer.verify(&id_token, AUDIENCE, later).expect("verifies");
    assert_eq!(claims.email.as_deref(), Some(EMAIL));
    assert!(payload(&id_token).get("nonce").is_none());
    post(addr, "/token", &poll)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn device_codes_expire() {
    let (issuer, addr) = start().await;
    let reply = post(addr, "/device/code", &[("client_id", AUDIENCE)]).await;
    let device_code = reply.json()["device_code"].clone();
    let device_code = device_code.as_str().expect("device_code");
    issuer
        .test_now
        .store(NOW + DEVICE_LIFETIME_SECS, Ordering::Relaxed);
    let poll = [
        ("grant_type", DEVICE_GRANT),
        ("device_code", device_code),
        ("client_id", AUDIENCE),
    ];
    let reply = post(addr, "/token", &poll).await;
    reply.assert_error(400, "expired_token");
}

#[tokio::test]
async fn token_endpoint_errors_are_rfc6749_json() {
    let (_issuer, addr) = start().await;
    let password = [("grant_type", "password"), ("client_id", AUDIENCE)];
    let reply = post(addr, "/token", &password).await;
    reply.assert_error(400, "unsupported_grant_type");
    let reply = post(addr, "/token", &[("client_id", AUDIENCE)]).await;
    reply.assert_error(400, "invalid_request");
    let json_body = "Content-Type: application/json\r\n";
    let reply = request(addr, "/token", json_body, "{}").await;
    reply.assert_error(400, "invalid_request");
    let long = "a".repeat(MAX_PARAM_LEN + 1);
    let reply = post(addr, "/token", &[("client_id", &long)]).await;
    reply.assert_error(400, "invalid_request");
    let twice = "grant_type=password&client_id=a&client_id=b";
    let reply = request(addr, "/token", FORM, twice).await;
    reply.assert_error(400, "invalid_request");
    let bad_basic = format!("{FORM}Authorization: Basic !!!\r\n");
    let reply = request(addr, "/token", &bad_basic, "grant_type=password").await;
    reply.assert_error(401, "invalid_client");
    let challenge = reply.header("www-authenticate");
    assert!(challenge.is_some_and(|v| v.starts_with("Basic")));
}

#[tokio::test]
async fn client_id_may_come_via_http_basic() {
    let (_issuer, addr) = start().await;
    let code = code(addr).await;
    let basic = STANDARD.encode("sigstore:ignored-secret");
    let headers = format!("{FORM}Authorization: Basic {basic}\r\n");
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let reply = request(addr, "/token", &headers, &form(&pairs)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let id_token = reply.json()["id_token"].clone();
    assert_eq!(
        payload(id_token.as_str().expect("id_token"))["aud"],
        AUDIENCE
    );
}

#[tokio::test]
async fn pending_codes_are_capped() {
    let (issuer, addr) = start().await;
    for i in 0..MAX_PENDING {
        let (client_id, expires_at) = (String::new(), u64::MAX);
        let grant = DeviceGrant {
            client_id,
            expires_at,
            interval: 1,
            last_poll: None,
        };
        issuer.lock().devices.insert(i.to_string(), grant);
    }
    let reply = post(addr, "/device/code", &[("client_id", AUDIENCE)]).await;
    reply.assert_error(503, "temporarily_unavailable");
    let reply = authorize(addr, REDIRECT, &[]).await;
    reply.assert_error(503, "temporarily_unavailable");
}
