//! Identity tokens: `signet::cli::login::obtain_token_with` against the teststack (browser and
//! device flows), a fake GitHub Actions token service, a fake issuer that signs what the test
//! asks (wrong issuer, wrong audience), and the client-side checks on static tokens. The
//! environment is injected, never set, so these tests run in parallel.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::url::form_urlencoded;
use serde_json::{Value, json};
use signet::cli::error::{CliError, Kind};
use signet::cli::login::obtain_token_with;
use signet::cli::settings::{Settings, TokenProvider};
use signet::core::token::IdentityToken;

use crate::harness::Stack;

const OPEN_URL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/open_url.py");

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn email(token: &IdentityToken) -> String {
    token.claims().unwrap().email.unwrap()
}

fn err(r: Result<IdentityToken, CliError>) -> CliError {
    let e = r.expect_err("expected a login error");
    assert_eq!(e.kind, Kind::Usage, "{e:?}");
    assert!(e.hint.is_some(), "{e:?}");
    e
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An unsigned JWT with these claims (enough for the client-side checks).
fn unsigned_jwt(claims: &Value) -> String {
    format!(
        "eyJhbGciOiJFUzI1NiJ9.{}.c2ln",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
    )
}

fn browser_settings(issuer: String, opener: &str) -> Settings {
    Settings {
        oidc_issuer: issuer,
        url_opener: Some(opener.to_owned()),
        ..Settings::default()
    }
}

// --- a tiny HTTP server for fakes -------------------------------------------------------------

struct Request {
    method: String,
    target: String,
    headers: HashMap<String, String>,
}

struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Reply {
    fn json(v: Value) -> Reply {
        Reply {
            status: 200,
            headers: vec![("Content-Type", "application/json".into())],
            body: v.to_string(),
        }
    }
    fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: String::new(),
        }
    }
}

/// Serves one request per connection on 127.0.0.1:0 until dropped.
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(handler: impl Fn(&Request) -> Reply + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let Some(req) = read_request(&mut stream) else {
                    continue;
                };
                let reply = handler(&req);
                let mut head = format!(
                    "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    reply.status,
                    reply.body.len()
                );
                for (k, v) in &reply.headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(reply.body.as_bytes());
            }
        });
        Server {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Request {
        method,
        target,
        headers,
    })
}

fn query_param(target: &str, name: &str) -> Option<String> {
    let query = target.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

// --- static tokens --------------------------------------------------------------------------

#[test]
fn env_token_is_used_first() {
    let stack = Stack::start();
    let token = stack.token("alice@example.com");
    let file = stack.path("token");
    std::fs::write(&file, stack.token("file@example.com")).unwrap();
    let settings = Settings {
        token_file: Some(file),
        ..Settings::default()
    };
    let got = obtain_token_with(&settings, &env(&[("SIGSTORE_ID_TOKEN", &token)])).unwrap();
    assert_eq!(email(&got), "alice@example.com");
    assert_eq!(got.expose(), token);
}

#[test]
fn token_file_is_trimmed_and_bounded() {
    let stack = Stack::start();
    let file = stack.path("token");
    std::fs::write(
        &file,
        format!("\n  {}  \n", stack.token("file@example.com")),
    )
    .unwrap();
    let settings = Settings {
        token_file: Some(file.clone()),
        ..Settings::default()
    };
    let got = obtain_token_with(&settings, &env(&[])).unwrap();
    assert_eq!(email(&got), "file@example.com");

    let named = Settings {
        token_provider: Some(TokenProvider::File),
        ..settings.clone()
    };
    assert_eq!(
        email(&obtain_token_with(&named, &env(&[])).unwrap()),
        "file@example.com"
    );

    std::fs::write(&file, "x".repeat(200 * 1024)).unwrap();
    let e = err(obtain_token_with(&settings, &env(&[])));
    assert!(e.message.contains("larger than"), "{}", e.message);
    let missing = Settings {
        token_file: Some(stack.path("missing")),
        ..Settings::default()
    };
    let e = err(obtain_token_with(&missing, &env(&[])));
    assert!(
        e.message.contains("cannot read the token file"),
        "{}",
        e.message
    );
}

#[test]
fn github_actions_ambient_credentials() {
    let stack = Stack::start();
    let token = stack.token("actions@example.com");
    let served = token.clone();
    let server = Server::start(move |req| {
        let bearer = req.headers.get("authorization").map(String::as_str);
        if req.method != "GET"
            || bearer != Some("Bearer request-secret")
            || query_param(&req.target, "audience").as_deref() != Some("sigstore")
            || query_param(&req.target, "api-version").as_deref() != Some("2.0")
        {
            return Reply::status(403);
        }
        Reply::json(json!({ "count": 1, "value": served }))
    });
    let url = format!("{}/token?api-version=2.0", server.url());
    let vars = [
        ("ACTIONS_ID_TOKEN_REQUEST_URL", url.as_str()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-secret"),
    ];
    let got = obtain_token_with(&Settings::default(), &env(&vars)).unwrap();
    assert_eq!(email(&got), "actions@example.com");
    assert_eq!(got.expose(), token);

    // A wrong request token: the service refuses, and the error says so without the secret.
    let vars = [
        ("ACTIONS_ID_TOKEN_REQUEST_URL", url.as_str()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "wrong-secret"),
    ];
    let e = err(obtain_token_with(&Settings::default(), &env(&vars)));
    assert!(e.message.contains("HTTP 403"), "{}", e.message);
    assert!(!e.message.contains("wrong-secret"));

    // Named but absent.
    let named = Settings {
        token_provider: Some(TokenProvider::GithubActions),
        ..Settings::default()
    };
    let e = err(obtain_token_with(&named, &env(&[])));
    assert!(
        e.message.contains("ACTIONS_ID_TOKEN_REQUEST_URL"),
        "{}",
        e.message
    );
}

#[test]
fn bad_static_tokens_are_rejected_before_fulcio() {
    let exp = now() + 600;
    let cases: [(String, &str); 5] = [
        (
            unsigned_jwt(&json!({"email": "a@example.com", "exp": now() - 10, "aud": "sigstore"})),
            "expired",
        ),
        ("not-a-jwt-secret".into(), "not a JWT"),
        (
            unsigned_jwt(&json!({"email": "a@example.com", "exp": exp, "aud": "someone-else"})),
            "audience is \"someone-else\", expected \"sigstore\"",
        ),
        (
            unsigned_jwt(&json!({"email": "a@example.com", "aud": "sigstore"})),
            "no exp claim",
        ),
        (
            unsigned_jwt(&json!({"exp": exp, "aud": ["x", "sigstore"]})),
            "neither an email nor a sub",
        ),
    ];
    for (token, want) in cases {
        let e = err(obtain_token_with(
            &Settings::default(),
            &env(&[("SIGSTORE_ID_TOKEN", &token)]),
        ));
        assert!(e.message.contains(want), "{want}: {}", e.message);
        assert!(e.message.contains("SIGSTORE_ID_TOKEN"), "{}", e.message);
        assert!(
            !e.message.contains(&token),
            "the token leaked: {}",
            e.message
        );
    }
    // A list audience containing the client id is fine.
    let ok = unsigned_jwt(&json!({"sub": "repo:x", "exp": exp, "aud": ["x", "sigstore"]}));
    obtain_token_with(&Settings::default(), &env(&[("SIGSTORE_ID_TOKEN", &ok)])).unwrap();

    // Named but absent; an unknown provider name is a settings error.
    let named = Settings {
        token_provider: Some(TokenProvider::Env),
        ..Settings::default()
    };
    let e = err(obtain_token_with(&named, &env(&[])));
    assert!(
        e.message.contains("SIGSTORE_ID_TOKEN is not set"),
        "{}",
        e.message
    );
    let unknown = "spiffe".parse::<TokenProvider>().unwrap_err();
    assert!(unknown.contains("unknown token provider"), "{unknown}");

    // Nothing configured and no terminal: fail at once rather than wait for a browser.
    if !signet::cli::output::tty_available() {
        let e = err(obtain_token_with(&Settings::default(), &env(&[])));
        assert!(e.hint.unwrap().contains("SIGSTORE_ID_TOKEN"));
    }
}

// --- interactive flows against the teststack ------------------------------------------------

#[test]
fn browser_flow_headless() {
    let stack = Stack::start();
    let settings = browser_settings(stack.issuer(), &format!("python3 {OPEN_URL}"));
    // Unset provider: nothing static is configured, so the browser flow runs.
    let got = obtain_token_with(&settings, &env(&[("SIGNET_LOGIN_TIMEOUT", "60")])).unwrap();
    assert_eq!(email(&got), "alice@example.com");
    let claims = got.claims().unwrap();
    assert_eq!(claims.iss.as_deref(), Some(stack.issuer().as_str()));

    // A fixed redirect URL (its port and path) is honoured.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fixed = Settings {
        redirect_url: Some(format!("http://localhost:{port}/signet/cb")),
        token_provider: Some(TokenProvider::Browser),
        connector_id: Some("https://github.com/login/oauth".into()),
        ..settings
    };
    let got = obtain_token_with(&fixed, &env(&[("SIGNET_LOGIN_TIMEOUT", "60")])).unwrap();
    assert_eq!(email(&got), "alice@example.com");
}

#[test]
fn browser_login_times_out() {
    let stack = Stack::start();
    let settings = Settings {
        token_provider: Some(TokenProvider::Browser),
        ..browser_settings(stack.issuer(), "true")
    };
    let start = Instant::now();
    let e = err(obtain_token_with(
        &settings,
        &env(&[("SIGNET_LOGIN_TIMEOUT", "2")]),
    ));
    let took = start.elapsed();
    assert!(
        e.message
            .contains("login timed out after 2 s waiting for the browser redirect"),
        "{}",
        e.message
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(15),
        "{took:?}"
    );

    let e = err(obtain_token_with(
        &settings,
        &env(&[("SIGNET_LOGIN_TIMEOUT", "soon")]),
    ));
    assert!(e.message.contains("SIGNET_LOGIN_TIMEOUT"), "{}", e.message);
    let missing = Settings {
        url_opener: Some("/nonexistent/opener".into()),
        ..settings
    };
    let e = err(obtain_token_with(
        &missing,
        &env(&[("SIGNET_LOGIN_TIMEOUT", "2")]),
    ));
    assert!(
        e.message.contains("cannot run the URL opener"),
        "{}",
        e.message
    );
}

#[test]
fn device_flow() {
    let stack = Stack::start();
    let settings = Settings {
        oidc_issuer: stack.issuer(),
        token_provider: Some(TokenProvider::Device),
        ..Settings::default()
    };
    let start = Instant::now();
    let got = obtain_token_with(&settings, &env(&[("SIGNET_LOGIN_TIMEOUT", "60")])).unwrap();
    assert_eq!(email(&got), "alice@example.com");
    // The first poll is pending; the interval is 1 s.
    assert!(start.elapsed() >= Duration::from_secs(1));

    // Not approved in time: the first poll is pending and the limit passes during the interval.
    let e = err(obtain_token_with(
        &settings,
        &env(&[("SIGNET_LOGIN_TIMEOUT", "1")]),
    ));
    assert!(
        e.message.contains("not approved within 1 s"),
        "{}",
        e.message
    );
}

// --- a fake issuer that signs whatever the test asks ----------------------------------------

/// Discovery, JWKS, an auto-approving authorize endpoint and a token endpoint that returns an
/// ES256 ID token with the claims `claims(issuer_url, nonce)` gives.
fn fake_issuer(claims: impl Fn(&str, &str) -> Value + Send + 'static) -> Server {
    use p256::ecdsa::signature::Signer;
    use p256::elliptic_curve::Generate;
    let key = p256::ecdsa::SigningKey::generate();
    let point = key.verifying_key().to_sec1_point(false);
    let xy = &point.as_bytes()[1..];
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": "k1",
        "x": URL_SAFE_NO_PAD.encode(&xy[..32]), "y": URL_SAFE_NO_PAD.encode(&xy[32..]),
    });
    let nonce = Mutex::new(String::new());
    Server::start(move |req| {
        let base = format!(
            "http://{}",
            req.headers.get("host").cloned().unwrap_or_default()
        );
        let path = req.target.split('?').next().unwrap_or("");
        match (req.method.as_str(), path) {
            ("GET", "/.well-known/openid-configuration") => Reply::json(json!({
                "issuer": base,
                "authorization_endpoint": format!("{base}/authorize"),
                "token_endpoint": format!("{base}/token"),
                "jwks_uri": format!("{base}/jwks"),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["ES256"],
            })),
            ("GET", "/jwks") => Reply::json(json!({ "keys": [jwk] })),
            ("GET", "/authorize") => {
                *nonce.lock().unwrap() = query_param(&req.target, "nonce").unwrap_or_default();
                let redirect = query_param(&req.target, "redirect_uri").unwrap();
                let state = query_param(&req.target, "state").unwrap();
                Reply {
                    status: 302,
                    headers: vec![(
                        "Location",
                        format!(
                            "{redirect}?code=c0de&state={}",
                            form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>()
                        ),
                    )],
                    body: String::new(),
                }
            }
            ("POST", "/token") => {
                let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"JWT","kid":"k1"}"#);
                let payload = URL_SAFE_NO_PAD
                    .encode(claims(&base, &nonce.lock().unwrap()).to_string().as_bytes());
                let signing_input = format!("{header}.{payload}");
                let sig: p256::ecdsa::Signature = key.sign(signing_input.as_bytes());
                let jwt = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()));
                Reply::json(json!({
                    "access_token": "at", "token_type": "Bearer", "expires_in": 600,
                    "id_token": jwt,
                }))
            }
            _ => Reply::status(404),
        }
    })
}

fn claims_for(iss: &str, aud: &str, nonce: &str, exp_in: i64) -> Value {
    json!({
        "iss": iss, "sub": "bob@example.com", "email": "bob@example.com",
        "email_verified": true, "aud": aud, "iat": now(), "exp": now() + exp_in,
        "nonce": nonce,
    })
}

#[test]
fn browser_flow_checks_the_id_token() {
    let opener = format!("python3 {OPEN_URL}");
    let vars = [("SIGNET_LOGIN_TIMEOUT", "60")];
    let login = |claims: fn(&str, &str) -> Value| {
        let issuer = fake_issuer(claims);
        let settings = Settings {
            token_provider: Some(TokenProvider::Browser),
            ..browser_settings(issuer.url(), &opener)
        };
        obtain_token_with(&settings, &env(&vars))
    };

    // The fake issuer itself is acceptable when its token is right.
    let good = login(|iss, nonce| claims_for(iss, "sigstore", nonce, 600)).unwrap();
    assert_eq!(email(&good), "bob@example.com");

    let e = err(login(|_, nonce| {
        claims_for("https://elsewhere.example", "sigstore", nonce, 600)
    }));
    assert!(e.message.contains("ID token was rejected"), "{}", e.message);
    assert!(e.message.contains("not issued by"), "{}", e.message);

    let e = err(login(|iss, nonce| {
        claims_for(iss, "someone-else", nonce, 600)
    }));
    assert!(
        e.message.contains("audience is not \"sigstore\""),
        "{}",
        e.message
    );

    let e = err(login(|iss, _| {
        claims_for(iss, "sigstore", "forged-nonce", 600)
    }));
    assert!(e.message.contains("nonce"), "{}", e.message);

    let e = err(login(|iss, nonce| claims_for(iss, "sigstore", nonce, -120)));
    assert!(e.message.contains("expired"), "{}", e.message);
}
