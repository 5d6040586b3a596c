//! The one HTTP client signet uses: rustls (ring provider, installed once), connect and request
//! timeouts, a response size limit, no redirects, `User-Agent: signet/<version>`. Plain `http://`
//! works for the loopback test stack.

use std::sync::Once;
use std::time::Duration;

use openidconnect::http;
use serde::{Deserialize, Serialize};

use crate::flow::PortError;

/// Largest response body read from any service.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

static INSTALL_PROVIDER: Once = Once::new();

/// A response that arrived completely: status and body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
}

/// The grpc-gateway / Rekor error body `{"code": .., "message": ".."}`.
#[derive(Deserialize)]
struct ServerErrorBody {
    message: Option<String>,
}

/// A human-readable message for an error response: the server's `message`, else a short
/// printable excerpt of the body.
pub fn error_message(body: &[u8]) -> String {
    if let Ok(ServerErrorBody { message: Some(m) }) = serde_json::from_slice(body) {
        return m;
    }
    let text = String::from_utf8_lossy(body);
    let excerpt: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    if excerpt.is_empty() {
        "(empty body)".into()
    } else {
        excerpt
    }
}

impl HttpClient {
    pub fn new() -> Result<Self, PortError> {
        Self::with_timeout(REQUEST_TIMEOUT)
    }

    /// A client whose requests each take at most `timeout` in all (connecting included).
    pub fn with_timeout(timeout: Duration) -> Result<Self, PortError> {
        INSTALL_PROVIDER.call_once(|| {
            // Fails only if another provider was installed first, which is fine.
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let inner = reqwest::Client::builder()
            .user_agent(concat!("signet/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            .build()
            .map_err(|e| PortError::Transport {
                service: "HTTP client",
                url: String::new(),
                detail: e.to_string(),
            })?;
        Ok(Self { inner })
    }

    /// POST a JSON body and read the whole response (bounded by `MAX_RESPONSE_BYTES`).
    pub async fn post_json(
        &self,
        service: &'static str,
        url: &str,
        body: &impl Serialize,
    ) -> Result<Response, PortError> {
        self.send(service, url, self.inner.post(url).json(body))
            .await
    }

    /// POST a binary body with its content type, accepting `accept`, and read the whole response
    /// (bounded by `MAX_RESPONSE_BYTES`): the RFC 3161 timestamp protocol.
    pub async fn post_bytes(
        &self,
        service: &'static str,
        url: &str,
        content_type: &'static str,
        accept: &'static str,
        body: Vec<u8>,
    ) -> Result<Response, PortError> {
        let request = self
            .inner
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        self.send_accepting(service, url, request, accept).await
    }

    /// GET `url` and read the whole response (bounded by `MAX_RESPONSE_BYTES`).
    pub async fn get(&self, service: &'static str, url: &str) -> Result<Response, PortError> {
        self.send(service, url, self.inner.get(url)).await
    }

    /// Send a JSON API request and read the whole response.
    async fn send(
        &self,
        service: &'static str,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Response, PortError> {
        self.send_accepting(service, url, request, "application/json")
            .await
    }

    /// Send a request accepting `accept` and read the whole response.
    async fn send_accepting(
        &self,
        service: &'static str,
        url: &str,
        request: reqwest::RequestBuilder,
        accept: &'static str,
    ) -> Result<Response, PortError> {
        let mut resp = request
            .header(reqwest::header::ACCEPT, accept)
            .send()
            .await
            .map_err(|e| PortError::Transport {
                service,
                url: url.to_owned(),
                detail: describe(&e),
            })?;
        let status = resp.status().as_u16();
        let body = read_body(&mut resp, service, url).await?;
        Ok(Response { status, body })
    }

    /// Send a request built by `oauth2`/`openidconnect` (an `http::Request`) and read the whole
    /// response, headers included, bounded by `MAX_RESPONSE_BYTES`. Redirects are not followed.
    pub async fn execute(
        &self,
        service: &'static str,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, PortError> {
        let url = request.uri().to_string();
        let transport = |e: reqwest::Error| PortError::Transport {
            service,
            url: url.clone(),
            detail: describe(&e),
        };
        let request = reqwest::Request::try_from(request).map_err(transport)?;
        let mut resp = self.inner.execute(request).await.map_err(transport)?;
        let mut builder = http::Response::builder().status(resp.status());
        if let Some(headers) = builder.headers_mut() {
            *headers = std::mem::take(resp.headers_mut());
        }
        let body = read_body(&mut resp, service, &url).await?;
        builder.body(body).map_err(|e| PortError::Protocol {
            service,
            detail: e.to_string(),
        })
    }
}

/// The whole body of `resp`, refusing more than `MAX_RESPONSE_BYTES`.
async fn read_body(
    resp: &mut reqwest::Response,
    service: &'static str,
    url: &str,
) -> Result<Vec<u8>, PortError> {
    let too_large = || PortError::Protocol {
        service,
        detail: format!("response larger than {MAX_RESPONSE_BYTES} bytes"),
    };
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| PortError::Transport {
        service,
        url: url.to_owned(),
        detail: describe(&e),
    })? {
        if out.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Error text without the request body or anything secret; includes the root cause.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        kind.into()
    } else {
        format!("{kind}: {cause}")
    }
}

/// `base` without trailing slashes, then `path`.
pub fn join(base: &str, path: &str) -> String {
    format!("{}{}", base.trim_end_matches('/'), path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_prefer_server_message() {
        assert_eq!(
            error_message(br#"{"code":3,"message":"bad token"}"#),
            "bad token"
        );
        assert_eq!(error_message(b"<h1>oops</h1>\n"), "<h1>oops</h1>");
        assert_eq!(error_message(b""), "(empty body)");
        assert_eq!(
            join("http://127.0.0.1:80/", "/api"),
            "http://127.0.0.1:80/api"
        );
    }
}
