//! Faults seen through `git commit -S` with signet as git's x509 program (issue #3): a Fulcio or
//! Rekor that answers badly (HTTP 500, malformed JSON, a real answer that does not verify), a
//! token that is wrongly addressed or unsigned, and a login that times out. Each one is a
//! non-zero exit, nothing on signet's stdout, one `signet: error:` with a hint, no commit and the
//! staged changes intact.
//!
//! The bad services are a tiny HTTP server on 127.0.0.1:0 in a thread: bound (so ready) before
//! signet runs, it answers a fixed number of requests and stops.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;

use crate::git_e2e::{ALICE, Repo};
use crate::gpg_compat::{SIGN_ARGS, assert_refused, signet_gpg, staged_repo};
use crate::harness::{Stack, show};

/// One HTTP request as the fake server read it.
struct Request {
    head: Vec<String>,
    body: Vec<u8>,
}

fn read_request(stream: &mut TcpStream) -> Request {
    let mut reader = BufReader::new(stream);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let len = head
        .iter()
        .find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    Request { head, body }
}

/// A whole HTTP response with a JSON body.
fn response(status: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} Fault\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serves `n` requests on a fresh loopback port with `answer`, then stops; returns its base URL.
/// The listener is bound before this returns, so the server is ready.
fn fake_server(n: usize, answer: impl Fn(Request) -> Vec<u8> + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for _ in 0..n {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let request = read_request(&mut stream);
            let _ = stream.write_all(&answer(request));
        }
    });
    url
}

/// Accepts `n` connections, reads each request and never answers: a hung service. Each
/// connection is held until the client gives up and closes it.
fn silent_server(n: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for _ in 0..n {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let _ = read_request(&mut stream);
            std::thread::spawn(move || {
                let mut byte = [0u8; 1];
                let _ = std::io::Read::read(&mut stream, &mut byte);
            });
        }
    });
    url
}

/// Forwards `request` to `base` with `body` in place of its own (HTTP/1.0, so the answer ends at
/// close); returns the raw answer.
fn forward(base: &str, request: &Request, body: &[u8]) -> Vec<u8> {
    let host = base.strip_prefix("http://").unwrap();
    let path = request.head[0].split(' ').nth(1).unwrap();
    let mut s = TcpStream::connect(host).unwrap();
    let mut out = format!("POST {path} HTTP/1.0\r\nHost: {host}\r\n");
    for h in &request.head[1..] {
        let name = h.split(':').next().unwrap().to_ascii_lowercase();
        if !["host", "connection", "content-length"].contains(&name.as_str()) {
            out.push_str(&format!("{h}\r\n"));
        }
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(out.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    answer
}

#[test]
fn fulcio_answering_badly_is_a_clean_failure() {
    let stack = Stack::start();
    let mut repo = staged_repo(&stack, "fulcio-500");
    let url = fake_server(2, |_| response(500, r#"{"code":500,"message":"boom"}"#));
    repo.set_env("SIGNET_FULCIO_URL", &url);
    assert_refused(&repo, 2, "Fulcio answered HTTP 500: boom");

    let mut repo = staged_repo(&stack, "fulcio-malformed");
    let url = fake_server(2, |_| response(200, r#"{"signedCertificateEmbeddedSct": "#));
    repo.set_env("SIGNET_FULCIO_URL", &url);
    assert_refused(
        &repo,
        2,
        "Fulcio sent an unusable response: response is not the expected JSON",
    );

    // Another stack's Fulcio, asked with that stack's token: a real chain, not ours.
    let other = Stack::start();
    let (other_url, other_token) = (other.url(), other.token(ALICE));
    let url = fake_server(2, move |req| {
        let mut body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        body["credentials"]["oidcIdentityToken"] = other_token.clone().into();
        forward(&other_url, &req, &serde_json::to_vec(&body).unwrap())
    });
    let mut repo = staged_repo(&stack, "fulcio-foreign-chain");
    repo.set_env("SIGNET_FULCIO_URL", &url);
    assert_refused(
        &repo,
        1,
        "does not chain to a certificate authority of the trusted root",
    );
}

#[test]
fn rekor_answering_badly_is_a_clean_failure() {
    let stack = Stack::start();
    let mut repo = staged_repo(&stack, "rekor-500");
    let url = fake_server(2, |_| response(500, r#"{"code":500,"message":"boom"}"#));
    repo.set_env("SIGNET_REKOR_URL", &url);
    assert_refused(&repo, 2, "Rekor answered HTTP 500: boom");

    let mut repo = staged_repo(&stack, "rekor-malformed");
    let url = fake_server(2, |_| response(201, r#"{"24296fb24b8ad77a": {"body": "#));
    repo.set_env("SIGNET_REKOR_URL", &url);
    assert_refused(
        &repo,
        2,
        "Rekor sent an unusable response: Rekor response is malformed",
    );

    // A real entry of this log, for another artifact: the first signature's, replayed.
    let stack_url = stack.url();
    let replay = std::sync::Mutex::new(None::<Vec<u8>>);
    let url = fake_server(3, move |req| {
        let mut replay = replay.lock().unwrap();
        // The first request (from `prime` below) goes to the real log; later ones get its answer.
        replay
            .get_or_insert_with(|| forward(&stack_url, &req, &req.body))
            .clone()
    });
    // Prime the replay with a real submission of another artifact.
    let mut prime = Repo::new(&stack, "rekor-prime");
    prime.set_env("SIGNET_REKOR_URL", &url);
    let o = signet_gpg(&prime, SIGN_ARGS, b"another artifact\n");
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let mut repo = staged_repo(&stack, "rekor-other-entry");
    repo.set_env("SIGNET_REKOR_URL", &url);
    assert_refused(&repo, 1, "Rekor logged something other than what was sent");
}

/// An unsigned (`alg: none`) token with the stack's issuer and otherwise valid claims.
fn unsigned_token(issuer: &str, now: u64) -> String {
    let header = B64URL.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": issuer, "sub": ALICE, "email": ALICE, "email_verified": true,
        "aud": "sigstore", "iat": now, "nbf": now, "exp": now + 600,
    });
    let claims = B64URL.encode(serde_json::to_vec(&claims).unwrap());
    format!("{header}.{claims}.")
}

#[test]
fn wrongly_addressed_and_unsigned_tokens_are_clean_failures() {
    let stack = Stack::start();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let store = signet_teststack::store::Store::open(&stack.state_dir()).unwrap();
    let key = signet_teststack::keys::load_or_create(&store, "oidc_key").unwrap();
    let misaddressed = signet_teststack::oidc::Issuer::new(stack.issuer(), key, ALICE.into()).mint(
        ALICE,
        "not-sigstore",
        600,
        None,
        now,
    );
    let mut repo = staged_repo(&stack, "wrong-audience");
    repo.set_env("SIGSTORE_ID_TOKEN", &misaddressed);
    assert_refused(
        &repo,
        2,
        r#"the identity token's audience is "not-sigstore", expected "sigstore""#,
    );

    let mut repo = staged_repo(&stack, "unsigned-token");
    repo.set_env("SIGSTORE_ID_TOKEN", &unsigned_token(&stack.issuer(), now));
    assert_refused(
        &repo,
        2,
        r#"token is signed with "none"; only ES256 is accepted"#,
    );
}

#[test]
fn a_login_that_times_out_is_a_clean_failure() {
    let stack = Stack::start();
    let mut repo = staged_repo(&stack, "login-timeout");
    repo.unset_env("SIGSTORE_ID_TOKEN");
    repo.set_env("SIGNET_OIDC_ISSUER", &stack.issuer());
    repo.set_env("SIGNET_LOGIN_TIMEOUT", "2");
    repo.ok(&["config", "signet.tokenProvider", "browser"]);
    repo.ok(&["config", "signet.urlOpener", "true"]);
    assert_refused(
        &repo,
        2,
        "login timed out after 2 s waiting for the browser redirect",
    );
}

#[test]
fn a_service_that_never_answers_times_out_cleanly() {
    let stack = Stack::start();
    let mut repo = staged_repo(&stack, "fulcio-hangs");
    repo.set_env("SIGNET_FULCIO_URL", &silent_server(2));
    repo.set_env("SIGNET_HTTP_TIMEOUT", "2");
    let started = std::time::Instant::now();
    assert_refused(&repo, 2, "timed out");
    // Two attempts (direct and through git), each bounded by the 2 s timeout.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );

    let mut repo = staged_repo(&stack, "rekor-hangs");
    repo.set_env("SIGNET_REKOR_URL", &silent_server(2));
    repo.set_env("SIGNET_HTTP_TIMEOUT", "2");
    assert_refused(&repo, 2, "timed out");

    let mut repo = staged_repo(&stack, "bad-timeout");
    repo.set_env("SIGNET_HTTP_TIMEOUT", "forever");
    assert_refused(&repo, 2, "SIGNET_HTTP_TIMEOUT");
}
