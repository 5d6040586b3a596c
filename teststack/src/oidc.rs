//! The test stack's local OpenID Connect issuer.
//!
//! Owns the issuer's identity tokens: minting ES256 ID tokens with the stack's P-256 key, publishing
//! that key as a JWKS, and the full token check the local Fulcio relies on ([`Issuer::verify`]).
//! Owns the HTTP side too ([`router`]): discovery, JWKS, the authorization-code flow with PKCE S256
//! (RFC 6749 §4.1, RFC 7636) and the device flow (RFC 8628). The stack has no users, so every
//! request is approved automatically as the configured identity. Pending codes live in memory only,
//! are pruned on every request and capped at [`MAX_PENDING`] entries.
//!
//! JWS encoding and signature checks use the `jsonwebtoken` crate (RustCrypto backend), so tokens
//! come from a widely used implementation rather than from code shared with signet. Before handing
//! a token to it, [`Issuer::verify`] reads the header itself to name the algorithm it refuses, and
//! checks every claim itself so that each failure carries its facts.
//!
//! The issuer never logs; tokens, codes and keys stay out of any output.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
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
use url::Url;
use url::form_urlencoded;

/// The audience Sigstore clients request and Fulcio expects.
pub const AUDIENCE: &str = "sigstore";

/// Lifetime of ID and access tokens handed out by the token endpoint.
const TOKEN_LIFETIME_SECS: u64 = 600;
/// Lifetime of an authorization code.
const CODE_LIFETIME_SECS: u64 = 60;
/// Lifetime of a device code.
const DEVICE_LIFETIME_SECS: u64 = 300;
/// The polling interval a device client is told to respect.
const DEVICE_INTERVAL_SECS: u64 = 1;
/// How much `slow_down` adds to a device code's interval (RFC 8628 §3.5).
const SLOW_DOWN_STEP_SECS: u64 = 5;
/// Expired device codes are kept this long so that late polls learn `expired_token`.
const EXPIRED_DEVICE_GRACE_SECS: u64 = 300;
/// Most pending authorization plus device codes held at once.
pub const MAX_PENDING: usize = 10_000;
/// Longest accepted request parameter, name or value.
const MAX_PARAM_LEN: usize = 4096;
/// Longest token [`Issuer::verify`] will look at.
const MAX_TOKEN_LEN: usize = 16 * 1024;
/// Clock skew tolerated on `iat` and `nbf`.
const CLOCK_SKEW_SECS: u64 = 30;
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §6.1: consonants only, no look-alikes.
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

/// The local issuer: its URL, key, auto-approved identity and pending codes.
pub struct Issuer {
    issuer_url: String,
    identity: String,
    kid: String,
    x: String,
    y: String,
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
    /// Only if a valid P-256 key fails to encode as PKCS#8 / SPKI, which cannot happen.
    pub fn new(issuer_url: String, key: SigningKey, identity: String) -> Issuer {
        let public = key.verifying_key();
        let point = public.to_sec1_point(false);
        // An uncompressed P-256 point is 0x04 || x (32 bytes) || y (32 bytes).
        let (x, y) = point.as_bytes()[1..].split_at(32);
        let spki = public
            .to_public_key_der()
            .expect("a P-256 public key always encodes as SubjectPublicKeyInfo");
        let pkcs8 = key
            .to_pkcs8_der()
            .expect("a P-256 private key always encodes as PKCS#8");
        Issuer {
            kid: hex::encode(Sha256::digest(spki.as_bytes()))[..16].to_owned(),
            x: URL_SAFE_NO_PAD.encode(x),
            y: URL_SAFE_NO_PAD.encode(y),
            encoding_key: EncodingKey::from_ec_der(pkcs8.as_bytes()),
            decoding_key: DecodingKey::from_ec_der(point.as_bytes()),
            issuer_url: issuer_url.trim_end_matches('/').to_owned(),
            identity,
            pending: Mutex::new(Pending::default()),
            #[cfg(test)]
            test_now: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub fn issuer_url(&self) -> &str {
        &self.issuer_url
    }

    /// A signed ID token (ES256, header has "kid"), claims: iss, sub (= email), aud, iat,
    /// exp = now + lifetime, email, email_verified: true, and "nonce" when given.
    ///
    /// # Panics
    /// Only if `jsonwebtoken` cannot use the key checked in [`Issuer::new`], which cannot happen
    /// while exactly one `jsonwebtoken` crypto backend is enabled.
    pub fn mint(
        &self,
        email: &str,
        audience: &str,
        lifetime_secs: u64,
        nonce: Option<&str>,
        now_unix: u64,
    ) -> String {
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer_url));
        claims.insert("sub".into(), json!(email));
        claims.insert("aud".into(), json!(audience));
        claims.insert("iat".into(), json!(now_unix));
        claims.insert("exp".into(), json!(now_unix.saturating_add(lifetime_secs)));
        claims.insert("email".into(), json!(email));
        claims.insert("email_verified".into(), json!(true));
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding_key)
            .expect("signing with the issuer's own P-256 key")
    }

    /// The full check used by the local Fulcio: JWS structure, ES256 only, signature against this
    /// issuer's key, `iss`, `aud` (string or array) containing `audience`, `exp` > now, `iat` and
    /// `nbf` at most 30 s ahead, and `email_verified` true when an email claim is present.
    pub fn verify(&self, token: &str, audience: &str, now_unix: u64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed(format!(
                "token is {} bytes long, more than {MAX_TOKEN_LEN}",
                token.len()
            )));
        }
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() != 3 {
            return Err(TokenError::Malformed(format!(
                "expected 3 dot-separated parts, found {}",
                parts.len()
            )));
        }
        let header = URL_SAFE_NO_PAD
            .decode(parts[0])
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .ok_or_else(|| TokenError::Malformed("header is not base64url JSON".into()))?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or_else(|| TokenError::Malformed("header has no \"alg\" string".into()))?;
        if alg != "ES256" {
            return Err(TokenError::UnsupportedAlgorithm(alg.to_owned()));
        }
        if header.get("crit").is_some() {
            return Err(TokenError::Malformed(
                "header lists critical extensions, none are supported".into(),
            ));
        }
        // Signature only: the claims are checked below, with facts in every error.
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        let data =
            jsonwebtoken::decode::<Value>(token, &self.decoding_key, &validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::InvalidSignature => TokenError::BadSignature,
                    ErrorKind::InvalidAlgorithm => TokenError::UnsupportedAlgorithm(alg.to_owned()),
                    _ => TokenError::Malformed(e.to_string()),
                }
            })?;
        let Value::Object(claims) = data.claims else {
            return Err(TokenError::Malformed("claims are not a JSON object".into()));
        };
        self.check_claims(&claims, audience, now_unix)
    }

    fn check_claims(
        &self,
        claims: &Map<String, Value>,
        audience: &str,
        now: u64,
    ) -> Result<Claims, TokenError> {
        let iss = string_claim(claims, "iss")?.ok_or(TokenError::MissingClaim("iss"))?;
        if iss != self.issuer_url {
            return Err(TokenError::WrongIssuer {
                expected: self.issuer_url.clone(),
                got: iss,
            });
        }
        let sub = string_claim(claims, "sub")?.ok_or(TokenError::MissingClaim("sub"))?;
        let aud = match claims.get("aud") {
            None => return Err(TokenError::MissingClaim("aud")),
            Some(Value::String(aud)) => vec![aud.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| TokenError::Malformed("\"aud\" array holds a non-string".into()))?,
            Some(_) => {
                return Err(TokenError::Malformed(
                    "\"aud\" is neither a string nor an array of strings".into(),
                ));
            }
        };
        if !aud.iter().any(|a| a == audience) {
            return Err(TokenError::WrongAudience {
                expected: audience.to_owned(),
                got: aud,
            });
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
            Some(_) => {
                return Err(TokenError::Malformed(
                    "\"email_verified\" is not a boolean".into(),
                ));
            }
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
            "kty": "EC", "crv": "P-256", "x": self.x, "y": self.y,
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
            "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
            "claims_supported": ["iss", "sub", "aud", "iat", "exp", "email", "email_verified", "nonce"],
        })
    }

    /// "Now" for the HTTP handlers; mint and verify take it explicitly.
    fn now(&self) -> u64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        #[cfg(test)]
        {
            match self.test_now.load(std::sync::atomic::Ordering::Relaxed) {
                0 => real,
                fixed => fixed,
            }
        }
        #[cfg(not(test))]
        {
            real
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        // The maps stay consistent even if a holder panicked: every update is a single insert/remove.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn token_response(&self, client_id: &str, nonce: Option<&str>, now: u64) -> Response {
        let id_token = self.mint(&self.identity, client_id, TOKEN_LIFETIME_SECS, nonce, now);
        no_store(
            StatusCode::OK,
            json!({
                "access_token": random_token(),
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_SECS,
                "id_token": id_token,
                "scope": "openid email",
            }),
        )
    }
}

fn string_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<String>, TokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(TokenError::Malformed(format!(
            "claim {name:?} is not a string"
        ))),
    }
}

/// A NumericDate: a non-negative JSON number of seconds, fractions dropped.
fn time_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, TokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .or_else(|| {
                let f = value.as_f64()?;
                // Truncation is the intent; the range check keeps the cast exact enough.
                (f.is_finite() && (0.0..1.0e15).contains(&f)).then_some(f as u64)
            })
            .map(Some)
            .ok_or_else(|| {
                TokenError::Malformed(format!("claim {name:?} is not a non-negative number"))
            }),
    }
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
        self.devices
            .retain(|_, grant| grant.expires_at.saturating_add(EXPIRED_DEVICE_GRACE_SECS) > now);
    }

    fn is_full(&self) -> bool {
        self.codes.len() + self.devices.len() >= MAX_PENDING
    }
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

async fn authorize(State(issuer): State<Arc<Issuer>>, RawQuery(query): RawQuery) -> Response {
    let params = match parse_params(query.as_deref().unwrap_or("").as_bytes()) {
        Ok(params) => params,
        Err(why) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", why),
    };
    let param = |name: &str| params.get(name).map(String::as_str);
    // Without a trustworthy redirect_uri and client_id, errors go to the user agent (RFC 6749 §4.1.2.1).
    let Some(redirect_raw) = param("redirect_uri") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "missing redirect_uri",
        );
    };
    let redirect = match loopback_redirect(redirect_raw) {
        Ok(url) => url,
        Err(why) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", why),
    };
    let Some(client_id) = param("client_id") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "missing client_id",
        );
    };
    let state = param("state");
    let refuse = |error: &str, description: &str| {
        let mut url = redirect.clone();
        url.query_pairs_mut()
            .append_pair("error", error)
            .append_pair("error_description", description);
        if let Some(state) = state {
            url.query_pairs_mut().append_pair("state", state);
        }
        found(&url)
    };
    match param("response_type") {
        None => return refuse("invalid_request", "missing response_type"),
        Some("code") => {}
        Some(_) => {
            return refuse(
                "unsupported_response_type",
                "only response_type=code is supported",
            );
        }
    }
    if !param("scope").is_some_and(|scope| scope.split(' ').any(|s| s == "openid")) {
        return refuse("invalid_scope", "scope must include openid");
    }
    let Some(state) = state else {
        return refuse("invalid_request", "missing state");
    };
    let Some(challenge) = param("code_challenge") else {
        return refuse(
            "invalid_request",
            "missing code_challenge: PKCE (S256) is required",
        );
    };
    if param("code_challenge_method") != Some("S256") {
        return refuse("invalid_request", "code_challenge_method must be S256");
    }
    if challenge.len() != 43 || URL_SAFE_NO_PAD.decode(challenge).map(|d| d.len()) != Ok(32) {
        return refuse(
            "invalid_request",
            "code_challenge is not a base64url SHA-256 digest",
        );
    }
    let now = issuer.now();
    let code = random_token();
    {
        let mut pending = issuer.pending();
        pending.prune(now);
        if pending.is_full() {
            return too_many_pending();
        }
        pending.codes.insert(
            code.clone(),
            AuthCode {
                client_id: client_id.to_owned(),
                redirect_uri: redirect_raw.to_owned(),
                nonce: param("nonce").map(str::to_owned),
                challenge: challenge.to_owned(),
                expires_at: now + CODE_LIFETIME_SECS,
            },
        );
    }
    let mut url = redirect;
    url.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", state);
    found(&url)
}

async fn token(State(issuer): State<Arc<Issuer>>, headers: HeaderMap, body: Bytes) -> Response {
    let params = match form_params(&headers, &body) {
        Ok(params) => params,
        Err(response) => return *response,
    };
    let param = |name: &str| params.get(name).map(String::as_str);
    let client_id = match client_id(&headers, param("client_id")) {
        Ok(Some(client_id)) => client_id,
        Ok(None) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "missing client_id",
            );
        }
        Err(response) => return *response,
    };
    let bad =
        |error: &str, description: String| oauth_error(StatusCode::BAD_REQUEST, error, description);
    let now = issuer.now();
    match param("grant_type") {
        None => bad("invalid_request", "missing grant_type".into()),
        Some("authorization_code") => {
            let (Some(code), Some(redirect_uri), Some(verifier)) =
                (param("code"), param("redirect_uri"), param("code_verifier"))
            else {
                return bad(
                    "invalid_request",
                    "code, redirect_uri and code_verifier are required".into(),
                );
            };
            if !(43..=128).contains(&verifier.len())
                || !verifier
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
            {
                return bad(
                    "invalid_request",
                    "code_verifier must be 43-128 characters of [A-Za-z0-9-._~]".into(),
                );
            }
            let grant = {
                let mut pending = issuer.pending();
                let grant = pending.codes.remove(code); // single use, whatever happens next
                pending.prune(now);
                grant
            };
            let Some(grant) = grant else {
                return bad(
                    "invalid_grant",
                    "unknown or already used authorization code".into(),
                );
            };
            if grant.expires_at <= now {
                return bad(
                    "invalid_grant",
                    format!(
                        "authorization code expired at {} (now {now})",
                        grant.expires_at
                    ),
                );
            }
            if grant.client_id != client_id {
                return bad(
                    "invalid_grant",
                    format!(
                        "code was issued to client {:?}, not {client_id:?}",
                        grant.client_id
                    ),
                );
            }
            if grant.redirect_uri != redirect_uri {
                return bad(
                    "invalid_grant",
                    format!(
                        "redirect_uri differs from the one authorized ({:?})",
                        grant.redirect_uri
                    ),
                );
            }
            if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.challenge {
                return bad(
                    "invalid_grant",
                    "code_verifier does not match the code_challenge".into(),
                );
            }
            issuer.token_response(&client_id, grant.nonce.as_deref(), now)
        }
        Some(DEVICE_GRANT) => {
            let Some(device_code) = param("device_code") else {
                return bad("invalid_request", "missing device_code".into());
            };
            let mut pending = issuer.pending();
            pending.prune(now);
            let Some(grant) = pending.devices.get_mut(device_code) else {
                return bad(
                    "invalid_grant",
                    "unknown or already used device code".into(),
                );
            };
            if grant.expires_at <= now {
                let expires_at = grant.expires_at;
                pending.devices.remove(device_code);
                return bad(
                    "expired_token",
                    format!("device code expired at {expires_at} (now {now})"),
                );
            }
            if grant.client_id != client_id {
                return bad(
                    "invalid_grant",
                    format!(
                        "device code was issued to client {:?}, not {client_id:?}",
                        grant.client_id
                    ),
                );
            }
            match grant.last_poll.replace(now) {
                None => bad(
                    "authorization_pending",
                    "approval is pending; poll again".into(),
                ),
                Some(last) if now < last + grant.interval => {
                    grant.interval += SLOW_DOWN_STEP_SECS;
                    bad(
                        "slow_down",
                        format!("polled too fast; wait {} s between polls", grant.interval),
                    )
                }
                Some(_) => {
                    pending.devices.remove(device_code);
                    drop(pending);
                    issuer.token_response(&client_id, None, now)
                }
            }
        }
        Some(other) => bad(
            "unsupported_grant_type",
            format!("grant_type {other:?} is not supported"),
        ),
    }
}

async fn device_code(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match form_params(&headers, &body) {
        Ok(params) => params,
        Err(response) => return *response,
    };
    let client_id = match client_id(&headers, params.get("client_id").map(String::as_str)) {
        Ok(Some(client_id)) => client_id,
        Ok(None) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "missing client_id",
            );
        }
        Err(response) => return *response,
    };
    if let Some(scope) = params.get("scope")
        && !scope.split(' ').any(|s| s == "openid")
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "scope must include openid",
        );
    }
    let now = issuer.now();
    let device_code = random_token();
    let user_code = user_code();
    {
        let mut pending = issuer.pending();
        pending.prune(now);
        if pending.is_full() {
            return too_many_pending();
        }
        pending.devices.insert(
            device_code.clone(),
            DeviceGrant {
                client_id,
                expires_at: now + DEVICE_LIFETIME_SECS,
                interval: DEVICE_INTERVAL_SECS,
                last_poll: None,
            },
        );
    }
    let verification_uri = format!("{}/device", issuer.issuer_url);
    no_store(
        StatusCode::OK,
        json!({
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri_complete": format!("{verification_uri}?user_code={user_code}"),
            "verification_uri": verification_uri,
            "expires_in": DEVICE_LIFETIME_SECS,
            "interval": DEVICE_INTERVAL_SECS,
        }),
    )
}

/// Parses `application/x-www-form-urlencoded` pairs. Empty values count as absent (RFC 6749 §3.1);
/// repeated or over-long parameters are refused.
fn parse_params(raw: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut params = HashMap::new();
    for (name, value) in form_urlencoded::parse(raw) {
        if name.len() > MAX_PARAM_LEN {
            return Err(format!(
                "a parameter name is longer than {MAX_PARAM_LEN} bytes"
            ));
        }
        if value.len() > MAX_PARAM_LEN {
            return Err(format!(
                "parameter {name:?} is longer than {MAX_PARAM_LEN} bytes"
            ));
        }
        if value.is_empty() {
            continue;
        }
        if params.contains_key(name.as_ref()) {
            return Err(format!("parameter {name:?} is repeated"));
        }
        params.insert(name.into_owned(), value.into_owned());
    }
    Ok(params)
}

/// The parameters of a form POST, or the error response to send.
fn form_params(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, Box<Response>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(Box::new(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("body must be application/x-www-form-urlencoded, got {content_type:?}"),
        )));
    }
    parse_params(body)
        .map_err(|why| Box::new(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", why)))
}

/// The client id from HTTP Basic (RFC 6749 §2.3.1) and/or the form; any secret is ignored.
fn client_id(
    headers: &HeaderMap,
    from_form: Option<&str>,
) -> Result<Option<String>, Box<Response>> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(from_form.map(str::to_owned));
    };
    let from_basic = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.get(..6)
                .filter(|s| s.eq_ignore_ascii_case("basic "))
                .map(|_| &v[6..])
        })
        .and_then(|b64| STANDARD.decode(b64.trim()).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|pair| {
            let (id, _secret) = pair.split_once(':')?;
            if id.contains(['&', '=']) {
                return None;
            }
            Some(
                form_urlencoded::parse(id.as_bytes())
                    .next()
                    .map_or(String::new(), |(id, _)| id.into_owned()),
            )
        });
    let refuse = |description: &str| {
        let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description);
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"signet-teststack\""),
        );
        Err(Box::new(response))
    };
    match (from_basic, from_form) {
        (None, _) => refuse("Authorization header is not valid HTTP Basic client authentication"),
        (Some(basic), Some(form)) if basic != form => {
            refuse("client_id in the form differs from the one in Authorization")
        }
        (Some(basic), _) if basic.is_empty() => Ok(None),
        (Some(basic), _) => Ok(Some(basic)),
    }
}

/// Accepts only http URLs on 127.0.0.1, localhost or [::1] (any port and path), without fragment.
fn loopback_redirect(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("redirect_uri {raw:?} is not a URL: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip == Ipv4Addr::LOCALHOST,
        Some(url::Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
        Some(url::Host::Domain(domain)) => domain == "localhost",
        None => false,
    };
    if url.scheme() != "http" || !loopback {
        return Err(format!(
            "redirect_uri {raw:?} is not a loopback http URL (127.0.0.1, localhost or [::1])"
        ));
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "redirect_uri {raw:?} must not carry a fragment or user info"
        ));
    }
    Ok(url)
}

fn found(location: &Url) -> Response {
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, location.as_str().to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

fn no_store(status: StatusCode, body: Value) -> Response {
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(body),
    )
        .into_response()
}

/// An RFC 6749 §5.2 error body.
fn oauth_error(status: StatusCode, error: &str, description: impl Into<String>) -> Response {
    no_store(
        status,
        json!({"error": error, "error_description": description.into()}),
    )
}

fn too_many_pending() -> Response {
    oauth_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        format!("{MAX_PENDING} codes are already pending; retry in a minute"),
    )
}

/// 256 random bits, base64url.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes[..]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Eight letters from [`USER_CODE_ALPHABET`] as "WDJB-MJHT", without modulo bias.
fn user_code() -> String {
    let mut code = String::with_capacity(9);
    while code.len() < 9 {
        if code.len() == 4 {
            code.push('-');
        }
        let byte: u8 = rand::random();
        if usize::from(byte) < 240 {
            code.push(char::from(
                USER_CODE_ALPHABET[usize::from(byte) % USER_CODE_ALPHABET.len()],
            ));
        }
    }
    code
}
