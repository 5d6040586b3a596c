//! The test stack's local OpenID Connect issuer.
//!
//! Owns the issuer's ID tokens: minting ES256 tokens with the stack's P-256 key, publishing that key
//! as a JWKS, and the full token check the local Fulcio relies on ([`Issuer::verify`]). Owns the
//! HTTP side too ([`router`]): discovery, JWKS, the authorization-code flow with PKCE S256
//! (RFC 6749 §4.1, RFC 7636) and the device flow (RFC 8628). The stack has no users, so every
//! request is approved as the configured identity. Pending codes live in memory only, are pruned
//! on every request and capped at [`MAX_PENDING`].
//!
//! JWS encoding and signature checks use the `jsonwebtoken` crate (RustCrypto backend), so tokens
//! come from a widely used implementation, not from code shared with signet. [`Issuer::verify`]
//! reads the JWS header itself first, to name any algorithm it refuses, and checks every claim
//! itself, so that each failure carries its facts. As with Dex, Sigstore's public issuer, the
//! access token is a signed JWT as well, since sigstore-python sends `access_token` to Fulcio.
//! Nothing here logs; tokens and codes stay out of any output.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::ecdsa::SigningKey;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use url::{Url, form_urlencoded};

/// The audience Sigstore clients request and Fulcio expects.
pub const AUDIENCE: &str = "sigstore";
/// Most authorization plus device codes pending at once; beyond it requests get 503.
pub const MAX_PENDING: usize = 10_000;

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
const MAX_TOKEN_LEN: usize = 16 * 1024;
/// Clock skew tolerated on `iat` and `nbf`.
const CLOCK_SKEW_SECS: u64 = 30;
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §6.1: consonants only, nothing that reads as a word or a look-alike.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

/// The claims of a verified ID token.
#[derive(Debug, Clone)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    pub iat: u64,
    pub exp: u64,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
}

/// Why [`Issuer::verify`] refused a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("token is signed with {0:?}; only ES256 is accepted")]
    UnsupportedAlgorithm(String),
    #[error("token signature does not verify against this issuer's key")]
    BadSignature,
    #[error("token was issued by {got:?}, expected {expected:?}")]
    WrongIssuer { expected: String, got: String },
    #[error("token audience {got:?} does not include {expected:?}")]
    WrongAudience { expected: String, got: Vec<String> },
    #[error("token expired at {exp} (now {now})")]
    Expired { exp: u64, now: u64 },
    #[error("token issued in the future at {iat} (now {now}, {CLOCK_SKEW_SECS} s skew allowed)")]
    IssuedInFuture { iat: u64, now: u64 },
    #[error("token not valid before {nbf} (now {now}, {CLOCK_SKEW_SECS} s skew allowed)")]
    NotYetValid { nbf: u64, now: u64 },
    #[error("token has no {0:?} claim")]
    MissingClaim(&'static str),
    #[error("token email {0:?} is not verified (email_verified is not true)")]
    EmailNotVerified(String),
}

type Claimset = Map<String, Value>;

fn malformed(why: impl Into<String>) -> TokenError {
    TokenError::Malformed(why.into())
}

/// The local issuer: its URL, key, auto-approved identity and pending codes.
pub struct Issuer {
    issuer_url: String,
    identity: String,
    kid: String,
    jwk_x: String,
    jwk_y: String,
    encoding_key: EncodingKey,
    decoding_key: DecodingKey,
    pending: Mutex<Pending>,
    /// When non-zero, the handlers' clock: tests step time instead of sleeping.
    #[cfg(test)]
    test_now: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer_url", &self.issuer_url)
            .field("identity", &self.identity)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// `issuer_url` e.g. "http://127.0.0.1:41234/oidc" (no trailing slash). `identity` = the email
    /// that the interactive and device flows auto-approve as.
    ///
    /// # Panics
    /// Only if a valid P-256 key failed to encode as SPKI or PKCS#8, which cannot happen.
    pub fn new(issuer_url: String, key: SigningKey, identity: String) -> Issuer {
        let public = key.verifying_key();
        let point = public.to_sec1_point(false);
        // An uncompressed P-256 point is 0x04 || x (32 bytes) || y (32 bytes).
        let (x, y) = point.as_bytes()[1..].split_at(32);
        let spki = public.to_public_key_der().expect("SPKI");
        let pkcs8 = key.to_pkcs8_der().expect("PKCS#8");
        Issuer {
            issuer_url: issuer_url.trim_end_matches('/').to_owned(),
            identity,
            kid: hex::encode(Sha256::digest(spki.as_bytes()))[..16].to_owned(),
            jwk_x: URL_SAFE_NO_PAD.encode(x),
            jwk_y: URL_SAFE_NO_PAD.encode(y),
            encoding_key: EncodingKey::from_ec_der(pkcs8.as_bytes()),
            decoding_key: DecodingKey::from_ec_der(point.as_bytes()),
            pending: Mutex::new(Pending::default()),
            #[cfg(test)]
            test_now: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The URL in `iss` and in the discovery document.
    pub fn issuer_url(&self) -> &str {
        &self.issuer_url
    }

    /// A signed ID token (ES256, header has "kid"), claims: iss, sub (= email), aud, iat,
    /// exp = now + lifetime, email, email_verified: true, and "nonce" when given.
    ///
    /// # Panics
    /// Only if `jsonwebtoken` cannot sign with the key [`Issuer::new`] encoded, which cannot happen
    /// while exactly one `jsonwebtoken` crypto backend is enabled (this crate enables RustCrypto).
    pub fn mint(
        &self,
        email: &str,
        audience: &str,
        lifetime_secs: u64,
        nonce: Option<&str>,
        now_unix: u64,
    ) -> String {
        let mut claims = json!({
            "iss": self.issuer_url, "sub": email, "aud": audience, "iat": now_unix,
            "exp": now_unix.saturating_add(lifetime_secs), "email": email, "email_verified": true,
        });
        if let (Some(nonce), Some(object)) = (nonce, claims.as_object_mut()) {
            object.insert("nonce".into(), json!(nonce));
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding_key).expect("ES256 signing works")
    }

    /// The full check used by the local Fulcio: JWS structure, ES256 only, signature against this
    /// issuer's key, `iss`, `aud` (string or array) containing `audience`, `exp` > now, `iat` and
    /// `nbf` at most 30 s ahead, and `email_verified` true when an email claim is present.
    pub fn verify(&self, token: &str, audience: &str, now_unix: u64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(malformed(format!("longer than {MAX_TOKEN_LEN} bytes")));
        }
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() != 3 {
            return Err(malformed(format!("{} parts, not 3", parts.len())));
        }
        let header = URL_SAFE_NO_PAD.decode(parts[0]).ok();
        let header: Value = header
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| malformed("header is not base64url JSON"))?;
        let Some(alg) = header.get("alg").and_then(Value::as_str) else {
            return Err(malformed("header has no \"alg\" string"));
        };
        if alg != "ES256" {
            return Err(TokenError::UnsupportedAlgorithm(alg.to_owned()));
        }
        if header.get("crit").is_some() {
            return Err(malformed("header has \"crit\"; no extension is supported"));
        }
        // The signature only: claims are checked below, so that every error carries its facts.
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Value>(token, &self.decoding_key, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                _ => malformed(e.to_string()),
            })?
            .claims;
        let Value::Object(claims) = claims else {
            return Err(malformed("claims are not a JSON object"));
        };
        self.check_claims(&claims, audience, now_unix)
    }

    fn check_claims(&self, claims: &Claimset, want: &str, now: u64) -> Result<Claims, TokenError> {
        let iss = string_claim(claims, "iss")?.ok_or(TokenError::MissingClaim("iss"))?;
        if iss != self.issuer_url {
            let expected = self.issuer_url.clone();
            return Err(TokenError::WrongIssuer { expected, got: iss });
        }
        let sub = string_claim(claims, "sub")?.ok_or(TokenError::MissingClaim("sub"))?;
        let aud = match claims.get("aud") {
            None => return Err(TokenError::MissingClaim("aud")),
            Some(Value::String(aud)) => Some(vec![aud.clone()]),
            Some(Value::Array(items)) => items.iter().map(|i| Some(i.as_str()?.into())).collect(),
            Some(_) => None,
        };
        let not_strings = || malformed("\"aud\" is not a string or an array of strings");
        let aud = aud.ok_or_else(not_strings)?;
        if !aud.iter().any(|a| a == want) {
            let (expected, got) = (want.to_owned(), aud);
            return Err(TokenError::WrongAudience { expected, got });
        }
        let exp = time_claim(claims, "exp")?.ok_or(TokenError::MissingClaim("exp"))?;
        let iat = time_claim(claims, "iat")?.ok_or(TokenError::MissingClaim("iat"))?;
        if exp <= now {
            return Err(TokenError::Expired { exp, now });
        }
        if iat > now.saturating_add(CLOCK_SKEW_SECS) {
            return Err(TokenError::IssuedInFuture { iat, now });
        }
        if let Some(nbf) = time_claim(claims, "nbf")?
            && nbf > now.saturating_add(CLOCK_SKEW_SECS)
        {
            return Err(TokenError::NotYetValid { nbf, now });
        }
        let email = string_claim(claims, "email")?;
        let email_verified = match claims.get("email_verified") {
            None => None,
            Some(Value::Bool(verified)) => Some(*verified),
            Some(_) => return Err(malformed("\"email_verified\" is not a boolean")),
        };
        if let Some(email) = &email
            && email_verified != Some(true)
        {
            return Err(TokenError::EmailNotVerified(email.clone()));
        }
        Ok(Claims {
            iss,
            sub,
            aud,
            iat,
            exp,
            email,
            email_verified,
        })
    }

    /// `{"keys":[{kty:EC, crv:P-256, x, y, kid, use:sig, alg:ES256}]}`
    pub fn jwks(&self) -> Value {
        json!({"keys": [{
            "kty": "EC", "crv": "P-256", "x": self.jwk_x, "y": self.jwk_y,
            "kid": self.kid, "use": "sig", "alg": "ES256",
        }]})
    }

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

fn string_claim(claims: &Claimset, name: &str) -> Result<Option<String>, TokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(malformed(format!("claim {name:?} is not a string"))),
    }
}

/// A NumericDate: a non-negative JSON number of seconds, any fraction dropped.
fn time_claim(claims: &Claimset, name: &str) -> Result<Option<u64>, TokenError> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let float = value.as_f64().filter(|f| (0.0..1.0e15).contains(f));
    // Truncation is the intent; the range check keeps the cast exact.
    let seconds = value.as_u64().or(float.map(|f| f as u64));
    let why = || malformed(format!("claim {name:?} is not a non-negative number"));
    seconds.map(Some).ok_or_else(why)
}

#[derive(Default)]
struct Pending {
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
    let params = form_params(&headers, &body)?;
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

/// Accepts only http URLs on 127.0.0.1, localhost or [::1] (any port and path), no fragment.
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
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    const NOW: u64 = 1_700_000_000;
    const EMAIL: &str = "dev@signet.test";
    const URL: &str = "http://127.0.0.1:9/oidc";
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const REDIRECT: &str = "http://127.0.0.1:4711/callback?keep=1";
    const FORM: &str = "Content-Type: application/x-www-form-urlencoded\r\n";

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_slice(&[seed; 32]).expect("a valid P-256 scalar")
    }

    fn issuer() -> Issuer {
        Issuer::new(URL.into(), key(7), EMAIL.into())
    }

    /// Valid claims with `changes` merged in; a null removes the claim.
    fn claims(changes: Value) -> Value {
        let mut claims = json!({"iss": URL, "sub": EMAIL, "aud": AUDIENCE, "iat": NOW,
            "exp": NOW + 600, "email": EMAIL, "email_verified": true});
        let (Some(all), Some(changes)) = (claims.as_object_mut(), changes.as_object()) else {
            panic!("claims and changes must be objects");
        };
        for (name, value) in changes {
            match value {
                Value::Null => all.remove(name),
                value => all.insert(name.clone(), value.clone()),
            };
        }
        claims
    }

    /// Signs arbitrary claims with the test issuer's key, to build tokens `mint` never would.
    fn sign(changes: Value) -> String {
        let (issuer, mut header) = (issuer(), Header::new(Algorithm::ES256));
        header.kid = Some(issuer.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims(changes), &issuer.encoding_key);
        token.expect("signing works")
    }

    fn check(token: &str) -> Result<Claims, TokenError> {
        issuer().verify(token, AUDIENCE, NOW)
    }

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn payload(token: &str) -> Value {
        let part = token.split('.').nth(1).expect("a JWS payload");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("JSON")
    }

    #[test]
    fn mint_then_verify_round_trip() {
        let issuer = issuer();
        let token = issuer.mint(EMAIL, AUDIENCE, 600, Some("n-0S6_WzA2Mj"), NOW);
        let claims = issuer
            .verify(&token, AUDIENCE, NOW + 599)
            .expect("verifies");
        assert_eq!((claims.iss.as_str(), claims.sub.as_str()), (URL, EMAIL));
        assert_eq!(claims.aud, [AUDIENCE]);
        assert_eq!((claims.iat, claims.exp), (NOW, NOW + 600));
        assert_eq!(claims.email.as_deref(), Some(EMAIL));
        assert_eq!(claims.email_verified, Some(true));
        assert_eq!(payload(&token)["nonce"], "n-0S6_WzA2Mj");
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.alg, Algorithm::ES256);
        let kid = issuer.jwks()["keys"][0]["kid"].clone();
        assert_eq!(header.kid.as_deref(), kid.as_str());
        let without_nonce = issuer.mint(EMAIL, AUDIENCE, 600, None, NOW);
        assert!(payload(&without_nonce).get("nonce").is_none());
    }

    #[test]
    fn verify_accepts_an_audience_array_and_30_s_of_skew() {
        let claims = check(&sign(json!({"aud": ["other", AUDIENCE]}))).expect("aud array");
        assert_eq!(claims.aud, ["other", AUDIENCE]);
        let early = sign(json!({"iat": NOW + 30, "nbf": NOW + 30}));
        assert_eq!(check(&early).expect("within skew").iat, NOW + 30);
        let no_email = check(&sign(json!({"email": null, "email_verified": null})));
        assert_eq!(no_email.expect("sub only").email, None);
    }

    #[test]
    fn verify_names_each_claim_problem() {
        let cases = [
            (
                json!({"iss": "http://x"}),
                r#"token was issued by "http://x", expected "http://127.0.0.1:9/oidc""#,
            ),
            (
                json!({"aud": "other"}),
                r#"token audience ["other"] does not include "sigstore""#,
            ),
            (
                json!({"aud": ["a", "b"]}),
                r#"token audience ["a", "b"] does not include "sigstore""#,
            ),
            (
                json!({"exp": NOW}),
                "token expired at 1700000000 (now 1700000000)",
            ),
            (
                json!({"iat": NOW + 31}),
                "token issued in the future at 1700000031 (now 1700000000, 30 s skew allowed)",
            ),
            (
                json!({"nbf": NOW + 31}),
                "token not valid before 1700000031 (now 1700000000, 30 s skew allowed)",
            ),
            (
                json!({"email_verified": false}),
                r#"token email "dev@signet.test" is not verified (email_verified is not true)"#,
            ),
            (
                json!({"email_verified": null}),
                r#"token email "dev@signet.test" is not verified (email_verified is not true)"#,
            ),
            (
                json!({"email_verified": "true"}),
                r#"malformed token: "email_verified" is not a boolean"#,
            ),
            (
                json!({"exp": "tomorrow"}),
                r#"malformed token: claim "exp" is not a non-negative number"#,
            ),
            (
                json!({"aud": 7}),
                r#"malformed token: "aud" is not a string or an array of strings"#,
            ),
        ];
        for (changes, expected) in cases {
            let refusal = check(&sign(changes.clone())).expect_err("refused");
            assert_eq!(refusal.to_string(), expected, "{changes}");
        }
        for name in ["iss", "sub", "aud", "exp", "iat"] {
            let refusal = check(&sign(json!({ name: null }))).expect_err("refused");
            assert_eq!(refusal, TokenError::MissingClaim(name));
        }
        let expired = check(&sign(json!({"exp": NOW})));
        let facts = TokenError::Expired { exp: NOW, now: NOW };
        assert_eq!(expired.expect_err("expired"), facts);
    }

    #[test]
    fn verify_rejects_other_keys_algorithms_and_garbage() {
        let impostor = Issuer::new(URL.into(), key(8), EMAIL.into());
        let token = impostor.mint(EMAIL, AUDIENCE, 600, None, NOW);
        assert_eq!(
            check(&token).expect_err("other key"),
            TokenError::BadSignature
        );
        let genuine = issuer().mint(EMAIL, AUDIENCE, 600, None, NOW);
        let parts: Vec<&str> = genuine.split('.').collect();
        let evil = b64(&claims(json!({"sub": "mallory"})));
        let forged = format!("{}.{evil}.{}", parts[0], parts[2]);
        assert_eq!(
            check(&forged).expect_err("forged"),
            TokenError::BadSignature
        );

        let none = format!(
            "{}.{}.",
            b64(&json!({"alg": "none"})),
            b64(&claims(json!({})))
        );
        let refusal = check(&none).expect_err("alg none");
        assert_eq!(refusal, TokenError::UnsupportedAlgorithm("none".into()));
        // HS256 keyed with the public JWKS: the classic algorithm-confusion attack.
        let secret = EncodingKey::from_secret(issuer().jwks().to_string().as_bytes());
        let header = Header::new(Algorithm::HS256);
        let hs256 = jsonwebtoken::encode(&header, &claims(json!({})), &secret);
        let refusal = check(&hs256.expect("HMAC signing")).expect_err("HS256");
        let expected = r#"token is signed with "HS256"; only ES256 is accepted"#;
        assert_eq!(refusal.to_string(), expected);

        let es256 = b64(&json!({"alg": "ES256"}));
        let garbage = [
            String::new(),
            "not-a-token".into(),
            "a.b.c.d".into(),
            "%%%.e30.sig".into(),
            format!("{}.e30.sig", b64(&json!({"typ": "JWT"}))),
            format!("{es256}.{}.!!!", b64(&claims(json!({})))),
            format!("{}.e30.sig", b64(&json!({"alg": "ES256", "crit": ["exp"]}))),
            "a".repeat(MAX_TOKEN_LEN + 1),
        ];
        for token in &garbage {
            let refusal = check(token).expect_err("garbage");
            assert!(
                matches!(refusal, TokenError::Malformed(_)),
                "{token:.40}: {refusal}"
            );
        }
    }

    #[test]
    fn jwks_publishes_the_signing_key() {
        let jwks = issuer().jwks();
        let [jwk] = jwks["keys"].as_array().expect("keys").as_slice() else {
            panic!("one key expected: {jwks}");
        };
        let fields = ["kty", "crv", "use", "alg"].map(|f| jwk[f].as_str());
        assert_eq!(fields, ["EC", "P-256", "sig", "ES256"].map(Some));
        let mut point = vec![4u8];
        for coordinate in ["x", "y"] {
            let text = jwk[coordinate].as_str().expect("a string");
            point.extend(URL_SAFE_NO_PAD.decode(text).expect("base64url"));
        }
        let public = key(7).verifying_key().to_sec1_point(false);
        assert_eq!(point, public.as_bytes());
        let spki = key(7).verifying_key().to_public_key_der().expect("SPKI");
        let digest = hex::encode(Sha256::digest(spki.as_bytes()));
        assert_eq!(jwk["kid"], digest[..16]);
    }

    // ---- HTTP, over a real socket ----

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
    async fn authorize(
        addr: SocketAddr,
        redirect: &str,
        changes: &[(&str, Option<&str>)],
    ) -> Reply {
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
}
