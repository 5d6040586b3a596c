//! The issuer's HTTP side: [`router`] serves discovery, the JWKS, the authorization-code flow with
//! PKCE S256 (RFC 6749 §4.1, RFC 7636), the device flow (RFC 8628) and the device page.
//!
//! Owns request parsing (query and form parameters, the client id from HTTP Basic or the form),
//! the loopback check on redirect URIs, RFC 6749 §5.2 error responses and the pending-code store.
//! The authorization, device-authorization and token handlers count each request they receive.
//! The stack has no users, so every request is approved as the configured identity. Pending codes
//! live in memory only, are pruned on every request and capped at [`MAX_PENDING`]. As with Dex,
//! Sigstore's public issuer, the access token is a signed JWT as well, since sigstore-python sends
//! `access_token` to Fulcio. Nothing here logs; tokens and codes stay out of any output.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::{Url, form_urlencoded};

use super::counts::Hit;
use super::{Issuer, MAX_PENDING};

/// Lifetime of the ID and access tokens the token endpoint hands out.
const TOKEN_LIFETIME_SECS: u64 = 600;
const CODE_LIFETIME_SECS: u64 = 60;
const DEVICE_LIFETIME_SECS: u64 = 300;
/// The polling interval device clients are told; `slow_down` adds 5 s to it (RFC 8628 §3.5).
const DEVICE_INTERVAL_SECS: u64 = 1;
const SLOW_DOWN_STEP_SECS: u64 = 5;
/// Expired device codes are kept this long so that late polls learn `expired_token`.
const EXPIRED_DEVICE_GRACE_SECS: u64 = 300;
const MAX_PARAM_LEN: usize = 4096;
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §6.1: consonants only, nothing that reads as a word or a look-alike.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

/// The issuer's HTTP side: its discovery document, the handlers' clock and the pending codes.
impl Issuer {
    fn discovery(&self) -> Value {
        let url = |path: &str| format!("{}{path}", self.issuer_url);
        json!({
            "issuer": self.issuer_url,
            "authorization_endpoint": url("/authorize"),
            "token_endpoint": url("/token"),
            "jwks_uri": url("/jwks"),
            "device_authorization_endpoint": url("/device/code"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "scopes_supported": ["openid", "email"],
            "grant_types_supported": ["authorization_code", DEVICE_GRANT],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported":
                ["none", "client_secret_post", "client_secret_basic"],
            "claims_supported":
                ["iss", "sub", "aud", "iat", "exp", "email", "email_verified", "nonce"],
        })
    }

    /// "Now" for the HTTP handlers; `mint` and `verify` take it explicitly.
    fn now(&self) -> u64 {
        #[cfg(test)]
        if let fixed @ 1.. = self.test_now.load(std::sync::atomic::Ordering::Relaxed) {
            return fixed;
        }
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH);
        since_epoch.map_or(0, |d| d.as_secs())
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        // Every update is a single insert or remove, so a poisoned map is still consistent.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The pending codes, pruned as of `now`.
    fn pending(&self, now: u64) -> MutexGuard<'_, Pending> {
        let mut pending = self.lock();
        pending.prune(now);
        pending
    }

    /// Redeems an authorization code (single use whatever the outcome); returns its nonce.
    fn redeem_code(&self, params: &Params, client_id: &str, now: u64) -> Result<Nonce, OAuthError> {
        let code = required(params, "code")?;
        let redirect_uri = required(params, "redirect_uri")?;
        let verifier = required(params, "code_verifier")?;
        let unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
        if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(unreserved) {
            return Err(invalid_request("code_verifier is not RFC 7636 syntax"));
        }
        let mut pending = self.lock();
        let grant = pending.codes.remove(code);
        pending.prune(now);
        drop(pending);
        let grant = grant.ok_or_else(|| invalid_grant("unknown or used code"))?;
        let (expires_at, to, authorized) =
            (grant.expires_at, &grant.client_id, &grant.redirect_uri);
        let problem = if expires_at <= now {
            format!("authorization code expired at {expires_at} (now {now})")
        } else if to != client_id {
            format!("code was issued to client {to:?}, not {client_id:?}")
        } else if authorized != redirect_uri {
            format!("redirect_uri differs from the authorized {authorized:?}")
        } else if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier)) != grant.challenge {
            "code_verifier does not match the code_challenge".to_owned()
        } else {
            return Ok(grant.nonce);
        };
        Err(invalid_grant(problem))
    }

    /// One poll of a device code: pending the first time, approved (and consumed) afterwards.
    fn poll_device(&self, params: &Params, client_id: &str, now: u64) -> Result<(), OAuthError> {
        let device_code = required(params, "device_code")?;
        let mut pending = self.pending(now);
        let Some(grant) = pending.devices.get_mut(device_code) else {
            return Err(invalid_grant("unknown or used device code"));
        };
        if grant.client_id != client_id {
            let to = &grant.client_id;
            return Err(invalid_grant(format!("device code issued to {to:?}")));
        }
        if grant.expires_at <= now {
            let expired = format!("device code expired at {} (now {now})", grant.expires_at);
            pending.devices.remove(device_code);
            return Err(oauth("expired_token", expired));
        }
        match grant.last_poll.replace(now) {
            None => Err(oauth("authorization_pending", "poll again")),
            Some(last) if now < last.saturating_add(grant.interval) => {
                grant.interval += SLOW_DOWN_STEP_SECS;
                let wait = format!("polling too fast; wait {} s between polls", grant.interval);
                Err(oauth("slow_down", wait))
            }
            Some(_) => {
                pending.devices.remove(device_code);
                Ok(())
            }
        }
    }

    /// The token response; the access token is an ID-token-shaped JWT (see the module doc).
    fn token_response(&self, client_id: &str, nonce: Option<&str>, now: u64) -> Response {
        let (identity, lifetime) = (self.identity.as_str(), TOKEN_LIFETIME_SECS);
        let body = json!({
            "access_token": self.mint(identity, client_id, lifetime, None, now),
            "id_token": self.mint(identity, client_id, lifetime, nonce, now),
            "token_type": "Bearer", "expires_in": lifetime, "scope": "openid email",
        });
        no_store(StatusCode::OK, body)
    }
}

#[derive(Default)]
pub(super) struct Pending {
    codes: HashMap<String, AuthCode>,
    devices: HashMap<String, DeviceGrant>,
}

struct AuthCode {
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    challenge: String,
    expires_at: u64,
}

struct DeviceGrant {
    client_id: String,
    expires_at: u64,
    interval: u64,
    last_poll: Option<u64>,
}

impl Pending {
    fn prune(&mut self, now: u64) {
        self.codes.retain(|_, code| code.expires_at > now);
        let grace = EXPIRED_DEVICE_GRACE_SECS;
        self.devices
            .retain(|_, d| d.expires_at.saturating_add(grace) > now);
    }

    fn make_room(&self) -> Result<(), OAuthError> {
        if self.codes.len() + self.devices.len() < MAX_PENDING {
            return Ok(());
        }
        let why = format!("{MAX_PENDING} codes are pending; retry in a minute");
        let status = StatusCode::SERVICE_UNAVAILABLE;
        Err(OAuthError {
            status,
            ..oauth("temporarily_unavailable", why)
        })
    }
}

type Params = HashMap<String, String>;
type Nonce = Option<String>;

/// An RFC 6749 §5.2 error, sent as JSON.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

/// A 400 error.
fn oauth(error: &'static str, description: impl Into<String>) -> OAuthError {
    let (status, description) = (StatusCode::BAD_REQUEST, description.into());
    OAuthError {
        status,
        error,
        description,
    }
}

fn invalid_request(description: impl Into<String>) -> OAuthError {
    oauth("invalid_request", description)
}

fn invalid_grant(description: impl Into<String>) -> OAuthError {
    oauth("invalid_grant", description)
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        let mut response = no_store(self.status, body);
        if self.status == StatusCode::UNAUTHORIZED {
            let realm = HeaderValue::from_static("Basic realm=\"signet-teststack\"");
            let headers = response.headers_mut();
            headers.insert(header::WWW_AUTHENTICATE, realm);
        }
        response
    }
}

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.get(name).map(String::as_str)
}

fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, OAuthError> {
    param(params, name).ok_or_else(|| invalid_request(format!("missing {name}")))
}

/// Routes relative to the issuer path; mount with `Router::nest("/oidc", oidc::router(issuer))`.
pub fn router(issuer: Arc<Issuer>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .route("/device/code", post(device_code))
        .route("/device", get(device_page))
        .with_state(issuer)
}

async fn discovery(State(issuer): State<Arc<Issuer>>) -> Json<Value> {
    Json(issuer.discovery())
}

async fn jwks(State(issuer): State<Arc<Issuer>>) -> Json<Value> {
    Json(issuer.jwks())
}

async fn device_page() -> &'static str {
    "signet-teststack: device codes are approved automatically; this local stack has no users.\n\
     Return to the terminal that showed you the code.\n"
}

type Handled = Result<Response, OAuthError>;

async fn authorize(State(issuer): State<Arc<Issuer>>, RawQuery(query): RawQuery) -> Handled {
    issuer.counts.hit(Hit::Authorization);
    let params = parse_params(query.unwrap_or_default().as_bytes())?;
    // Until redirect_uri and client_id are known good, errors go to the user agent (§4.1.2.1).
    let redirect_uri = required(&params, "redirect_uri")?;
    let redirect = loopback_redirect(redirect_uri)?;
    let client_id = required(&params, "client_id")?;
    let (state, challenge) = match authorization_request(&params) {
        Ok(checked) => checked,
        Err(e) => {
            let mut pairs = vec![("error", e.error), ("error_description", &e.description)];
            pairs.extend(param(&params, "state").map(|state| ("state", state)));
            return Ok(found(redirect, &pairs));
        }
    };
    let now = issuer.now();
    let code = random_token();
    let mut pending = issuer.pending(now);
    pending.make_room()?;
    let grant = AuthCode {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        nonce: param(&params, "nonce").map(str::to_owned),
        challenge: challenge.to_owned(),
        expires_at: now + CODE_LIFETIME_SECS,
    };
    pending.codes.insert(code.clone(), grant);
    Ok(found(redirect, &[("code", &code), ("state", state)]))
}

/// Checks the authorization request parameters; returns its state and code challenge.
fn authorization_request(params: &Params) -> Result<(&str, &str), OAuthError> {
    if required(params, "response_type")? != "code" {
        return Err(oauth("unsupported_response_type", "only code is supported"));
    }
    if !param(params, "scope").is_some_and(has_openid) {
        return Err(oauth("invalid_scope", "scope must include openid"));
    }
    let state = required(params, "state")?;
    let challenge = required(params, "code_challenge")?;
    if param(params, "code_challenge_method") != Some("S256") {
        return Err(invalid_request("code_challenge_method must be S256"));
    }
    if challenge.len() != 43 || URL_SAFE_NO_PAD.decode(challenge).map(|d| d.len()) != Ok(32) {
        return Err(invalid_request("code_challenge is not a SHA-256"));
    }
    Ok((state, challenge))
}

fn has_openid(scope: &str) -> bool {
    scope.split(' ').any(|s| s == "openid")
}

async fn token(State(issuer): State<Arc<Issuer>>, headers: HeaderMap, body: Bytes) -> Handled {
    let params = form_params(&headers, &body);
    let grant_type = params.as_ref().ok().and_then(|p| param(p, "grant_type"));
    issuer.counts.hit(match grant_type {
        Some("authorization_code") => Hit::TokenAuthorizationCode,
        Some(DEVICE_GRANT) => Hit::TokenDeviceCode,
        _ => Hit::TokenOther,
    });
    let params = params?;
    let client_id = client_id(&headers, &params)?;
    let now = issuer.now();
    let nonce = match required(&params, "grant_type")? {
        "authorization_code" => issuer.redeem_code(&params, &client_id, now)?,
        DEVICE_GRANT => issuer.poll_device(&params, &client_id, now).and(Ok(None))?,
        other => {
            let why = format!("grant_type {other:?} is not supported");
            return Err(oauth("unsupported_grant_type", why));
        }
    };
    Ok(issuer.token_response(&client_id, nonce.as_deref(), now))
}

async fn device_code(State(issuer): State<Arc<Issuer>>, head: HeaderMap, body: Bytes) -> Handled {
    issuer.counts.hit(Hit::DeviceAuthorization);
    let params = form_params(&head, &body)?;
    let client_id = client_id(&head, &params)?;
    if param(&params, "scope").is_some_and(|scope| !has_openid(scope)) {
        return Err(oauth("invalid_scope", "scope must include openid"));
    }
    let now = issuer.now();
    let (device_code, user_code) = (random_token(), user_code());
    let mut pending = issuer.pending(now);
    pending.make_room()?;
    let (expires_at, interval) = (now + DEVICE_LIFETIME_SECS, DEVICE_INTERVAL_SECS);
    let grant = DeviceGrant {
        client_id,
        expires_at,
        interval,
        last_poll: None,
    };
    pending.devices.insert(device_code.clone(), grant);
    drop(pending);
    let verification_uri = format!("{}/device", issuer.issuer_url);
    let complete = format!("{verification_uri}?user_code={user_code}");
    let body = json!({
        "device_code": device_code, "user_code": user_code, "verification_uri": verification_uri,
        "verification_uri_complete": complete, "expires_in": DEVICE_LIFETIME_SECS,
        "interval": DEVICE_INTERVAL_SECS,
    });
    Ok(no_store(StatusCode::OK, body))
}

/// Parses `application/x-www-form-urlencoded` pairs. Empty values count as absent (RFC 6749
/// §3.1); repeated or over-long parameters are refused.
fn parse_params(raw: &[u8]) -> Result<Params, OAuthError> {
    let mut params = Params::new();
    for (name, value) in form_urlencoded::parse(raw) {
        let problem = if name.len() > MAX_PARAM_LEN {
            "a parameter name is over 4 KiB".to_owned()
        } else if value.len() > MAX_PARAM_LEN {
            format!("parameter {name:?} is over 4 KiB")
        } else if value.is_empty() {
            continue;
        } else if params.contains_key(name.as_ref()) {
            format!("parameter {name:?} is repeated")
        } else {
            params.insert(name.into_owned(), value.into_owned());
            continue;
        };
        return Err(invalid_request(problem));
    }
    Ok(params)
}

/// The parameters of a form POST.
fn form_params(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
    let content_type = headers.get(header::CONTENT_TYPE).map(HeaderValue::as_bytes);
    let media_type = content_type
        .unwrap_or_default()
        .split(|b| *b == b';')
        .next();
    let form = b"application/x-www-form-urlencoded";
    if !media_type.is_some_and(|m| m.trim_ascii().eq_ignore_ascii_case(form)) {
        return Err(invalid_request("the body must be form-urlencoded"));
    }
    parse_params(body)
}

/// The client id, from HTTP Basic (RFC 6749 §2.3.1) or the form; any secret is ignored.
fn client_id(headers: &HeaderMap, params: &Params) -> Result<String, OAuthError> {
    let from_form = param(params, "client_id");
    let client_id = match headers.get(header::AUTHORIZATION) {
        None => from_form.map(str::to_owned),
        Some(value) => {
            let unauthorized = |why: &str| OAuthError {
                status: StatusCode::UNAUTHORIZED,
                ..oauth("invalid_client", why)
            };
            let Some(basic) = basic_client_id(value) else {
                return Err(unauthorized("Authorization is not valid Basic"));
            };
            if from_form.is_some_and(|id| id != basic) {
                return Err(unauthorized("Basic and form client_id differ"));
            }
            Some(basic).filter(|id| !id.is_empty())
        }
    };
    client_id.ok_or_else(|| invalid_request("missing client_id"))
}

fn basic_client_id(value: &HeaderValue) -> Option<String> {
    let (scheme, credentials) = value.to_str().ok()?.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let pair = String::from_utf8(STANDARD.decode(credentials.trim()).ok()?).ok()?;
    let (id, _secret) = pair.split_once(':')?;
    // The id was form-urlencoded before base64; a raw '&' or '=' cannot be part of it.
    if id.contains(['&', '=']) {
        return None;
    }
    let mut decoded = form_urlencoded::parse(id.as_bytes());
    Some(
        decoded
            .next()
            .map(|(id, _)| id.into_owned())
            .unwrap_or_default(),
    )
}

/// Accepts only http URLs on 127.0.0.1, localhost or `[::1]` (any port and path), no fragment.
fn loopback_redirect(raw: &str) -> Result<Url, OAuthError> {
    let refuse = |why: String| Err(invalid_request(why));
    let url = match Url::parse(raw) {
        Ok(url) => url,
        Err(e) => return refuse(format!("redirect_uri {raw:?} is not a URL: {e}")),
    };
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip == Ipv4Addr::LOCALHOST,
        Some(url::Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
        Some(url::Host::Domain(domain)) => domain == "localhost",
        None => false,
    };
    if url.scheme() != "http" || !loopback {
        return refuse(format!("redirect_uri {raw:?} is not loopback http"));
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return refuse(format!("redirect_uri {raw:?} has a fragment or user info"));
    }
    Ok(url)
}

/// A 302 to `url` with `pairs` added to its query.
fn found(mut url: Url, pairs: &[(&str, &str)]) -> Response {
    url.query_pairs_mut().extend_pairs(pairs);
    let no_store = (header::CACHE_CONTROL, "no-store".to_owned());
    (
        StatusCode::FOUND,
        [(header::LOCATION, url.into()), no_store],
    )
        .into_response()
}

fn no_store(status: StatusCode, body: Value) -> Response {
    let no_cache = [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
    ];
    (status, no_cache, Json(body)).into_response()
}

/// 256 random bits, base64url.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes[..]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Eight letters of [`USER_CODE_ALPHABET`] as "WDJB-MJHT", drawn without modulo bias.
fn user_code() -> String {
    let mut code = String::with_capacity(9);
    while code.len() < 9 {
        if code.len() == 4 {
            code.push('-');
        }
        let byte = usize::from(rand::random::<u8>());
        if byte < 240 {
            let alphabet = USER_CODE_ALPHABET;
            code.push(char::from(alphabet[byte % alphabet.len()]));
        }
    }
    code
}

#[cfg(test)]
mod tests;
