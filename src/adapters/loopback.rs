//! The loopback redirect listener of the browser login: bound on 127.0.0.1 (port 0, or the port
//! of a configured loopback redirect URL) before the authorization URL is built, it answers the
//! browser's requests until one reaches the callback path, checks `state` in constant time, and
//! answers a small HTML page. The caller bounds the wait. Pure parts (redirect URL and callback
//! parsing, the comparison) are unit-tested.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use openidconnect::url::{Url, form_urlencoded};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zeroize::Zeroizing;

/// The callback path when no redirect URL is configured (gitsign's).
pub const DEFAULT_CALLBACK_PATH: &str = "/auth/callback";
/// Largest request head read from the browser.
const MAX_REQUEST_BYTES: usize = 16 * 1024;
/// How long one connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoopbackError {
    #[error("the redirect URL {url:?} is not usable: {why}")]
    BadRedirectUrl { url: String, why: String },
    #[error("cannot listen on {addr} for the login redirect: {detail}")]
    Bind { addr: String, detail: String },
    #[error("the login redirect listener failed: {0}")]
    Accept(String),
    #[error("the issuer refused the login: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Denied {
        error: String,
        description: Option<String>,
    },
    #[error("the login redirect carried a state that does not match this login")]
    StateMismatch,
    #[error("the login redirect carried no authorization code")]
    NoCode,
}

/// Where to listen and what the issuer must redirect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectTarget {
    pub addr: SocketAddr,
    /// `None`: build it from the bound port.
    pub url: Option<String>,
    pub path: String,
}

/// Parses a configured redirect URL: `http`, a loopback host (127.0.0.1, localhost, [::1]), no
/// query or fragment. `None` means 127.0.0.1 on a free port.
pub fn redirect_target(configured: Option<&str>) -> Result<RedirectTarget, LoopbackError> {
    let Some(raw) = configured else {
        return Ok(RedirectTarget {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            url: None,
            path: DEFAULT_CALLBACK_PATH.into(),
        });
    };
    let bad = |why: &str| LoopbackError::BadRedirectUrl {
        url: raw.to_owned(),
        why: why.to_owned(),
    };
    let url = Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
    if url.scheme() != "http" {
        return Err(bad("use an http:// loopback URL"));
    }
    let ip = match url.host_str() {
        Some("localhost") => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Some(h) => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .map_err(|_| bad("the host must be 127.0.0.1, localhost or [::1]"))?,
        None => return Err(bad("it has no host")),
    };
    if !ip.is_loopback() {
        return Err(bad("the host must be 127.0.0.1, localhost or [::1]"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad("it must not have a query, fragment or user info"));
    }
    let port = url.port_or_known_default().unwrap_or(80);
    Ok(RedirectTarget {
        addr: SocketAddr::new(ip, port),
        url: Some(raw.to_owned()),
        path: url.path().to_owned(),
    })
}

/// Equality that takes the same time wherever the inputs differ (lengths are not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What one browser request means.
#[derive(Debug, PartialEq, Eq)]
pub enum Callback {
    /// Not the callback (a favicon, a stray request): answer 404 and keep waiting.
    Other,
    /// The issuer's redirect with its parameters.
    Redirect {
        code: Option<Zeroizing<String>>,
        state: Option<String>,
        error: Option<String>,
        error_description: Option<String>,
    },
}

/// Parses the request line of an HTTP request head (`GET /path?query HTTP/1.1`).
pub fn parse_callback(head: &str, path: &str) -> Callback {
    let mut parts = head.lines().next().unwrap_or("").split(' ');
    let (Some("GET"), Some(target)) = (parts.next(), parts.next()) else {
        return Callback::Other;
    };
    let (target_path, query) = target.split_once('?').unwrap_or((target, ""));
    if target_path != path {
        return Callback::Other;
    }
    let (mut code, mut state, mut error, mut error_description) = (None, None, None, None);
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "code" => code = Some(Zeroizing::new(v.into_owned())),
            "state" => state = Some(v.into_owned()),
            "error" => error = Some(printable(&v)),
            "error_description" => error_description = Some(printable(&v)),
            _ => {}
        }
    }
    Callback::Redirect {
        code,
        state,
        error,
        error_description,
    }
}

/// At most 200 printable characters of text from the network.
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// A bound listener waiting for the issuer's redirect.
pub struct Listener {
    listener: std::net::TcpListener,
    redirect_url: String,
    path: String,
}

impl Listener {
    /// Binds `target` now, so the port is known (and taken) before the URL is built.
    pub fn bind(target: &RedirectTarget) -> Result<Self, LoopbackError> {
        let bind_error = |e: std::io::Error| LoopbackError::Bind {
            addr: target.addr.to_string(),
            detail: e.to_string(),
        };
        let listener = std::net::TcpListener::bind(target.addr).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let port = listener.local_addr().map_err(bind_error)?.port();
        let redirect_url = target
            .url
            .clone()
            .unwrap_or_else(|| format!("http://127.0.0.1:{port}{}", target.path));
        Ok(Listener {
            listener,
            redirect_url,
            path: target.path.clone(),
        })
    }

    /// The exact `redirect_uri` to send to the issuer.
    pub fn redirect_url(&self) -> &str {
        &self.redirect_url
    }

    /// Serves browser requests until the callback arrives; returns its authorization code once
    /// `state` matches `expected_state`. Unbounded: the caller wraps it in a timeout.
    pub async fn wait(self, expected_state: &str) -> Result<Zeroizing<String>, LoopbackError> {
        let listener = tokio::net::TcpListener::from_std(self.listener)
            .map_err(|e| LoopbackError::Accept(e.to_string()))?;
        loop {
            let (mut stream, _) = listener
                .accept()
                .await
                .map_err(|e| LoopbackError::Accept(e.to_string()))?;
            let Ok(Some(head)) = tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await
            else {
                continue;
            };
            let (status, page, outcome) = match parse_callback(&head, &self.path) {
                Callback::Other => ("404 Not Found", NOT_FOUND_PAGE, None),
                Callback::Redirect {
                    error: Some(error),
                    error_description,
                    ..
                } => (
                    "400 Bad Request",
                    FAILED_PAGE,
                    Some(Err(LoopbackError::Denied {
                        error,
                        description: error_description,
                    })),
                ),
                Callback::Redirect { code, state, .. } => {
                    if !state
                        .is_some_and(|s| constant_time_eq(s.as_bytes(), expected_state.as_bytes()))
                    {
                        (
                            "400 Bad Request",
                            FAILED_PAGE,
                            Some(Err(LoopbackError::StateMismatch)),
                        )
                    } else if let Some(code) = code {
                        ("200 OK", SUCCESS_PAGE, Some(Ok(code)))
                    } else {
                        (
                            "400 Bad Request",
                            FAILED_PAGE,
                            Some(Err(LoopbackError::NoCode)),
                        )
                    }
                }
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
            if let Some(outcome) = outcome {
                return outcome;
            }
        }
    }
}

/// Reads up to the end of the request head; `None` if the peer sends too much or nothing.
async fn read_head(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Zeroizing::new(Vec::with_capacity(1024));
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() + n > MAX_REQUEST_BYTES {
            // A head cut short still has its request line.
            return (!buf.is_empty()).then(|| String::from_utf8_lossy(&buf).into_owned());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

const SUCCESS_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>signet</title></head>\
<body><h1>signet: login complete</h1><p>You can close this window and return to the terminal.</p></body></html>";
const FAILED_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>signet</title></head>\
<body><h1>signet: login failed</h1><p>See the terminal for the reason.</p></body></html>";
const NOT_FOUND_PAGE: &str = "<!doctype html><html><body><p>Not found.</p></body></html>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_targets() {
        let t = redirect_target(None).unwrap();
        assert_eq!(t.addr.to_string(), "127.0.0.1:0");
        assert_eq!(t.path, DEFAULT_CALLBACK_PATH);
        let t = redirect_target(Some("http://localhost:8123/cb")).unwrap();
        assert_eq!(t.addr.to_string(), "127.0.0.1:8123");
        assert_eq!(t.path, "/cb");
        assert_eq!(t.url.as_deref(), Some("http://localhost:8123/cb"));
        let t = redirect_target(Some("http://[::1]:9/auth/callback")).unwrap();
        assert_eq!(t.addr.to_string(), "[::1]:9");
        for bad in [
            "https://127.0.0.1:1/cb",
            "http://example.com:1/cb",
            "http://10.0.0.1/cb",
            "http://127.0.0.1:1/cb?x=1",
            "not a url",
        ] {
            assert!(
                matches!(
                    redirect_target(Some(bad)),
                    Err(LoopbackError::BadRedirectUrl { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn callbacks() {
        let head = "GET /auth/callback?code=a%2Fb&state=s1 HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(
            parse_callback(head, "/auth/callback"),
            Callback::Redirect {
                code: Some(Zeroizing::new("a/b".into())),
                state: Some("s1".into()),
                error: None,
                error_description: None,
            }
        );
        assert_eq!(
            parse_callback("GET /favicon.ico HTTP/1.1\r\n\r\n", "/auth/callback"),
            Callback::Other
        );
        assert_eq!(
            parse_callback("POST /auth/callback HTTP/1.1\r\n\r\n", "/auth/callback"),
            Callback::Other
        );
        let Callback::Redirect { error, .. } = parse_callback(
            "GET /cb?error=access_denied&state=x HTTP/1.1\r\n\r\n",
            "/cb",
        ) else {
            panic!("expected a redirect");
        };
        assert_eq!(error.as_deref(), Some("access_denied"));
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
