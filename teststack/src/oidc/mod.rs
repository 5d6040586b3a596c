//! The test stack's local OpenID Connect issuer.
//!
//! Owns the issuer's ID tokens: minting ES256 tokens with the stack's P-256 key, publishing that key
//! as a JWKS, and the full token check the local Fulcio relies on ([`Issuer::verify`]). The HTTP
//! side, [`router`], lives in `oidc/flows.rs`: discovery, JWKS, the authorization-code flow with
//! PKCE S256 (RFC 6749 §4.1, RFC 7636) and the device flow (RFC 8628), with at most
//! [`MAX_PENDING`] codes pending at once. `oidc/counts.rs` counts the requests to the login
//! endpoints ([`Issuer::login_counts`]).
//!
//! JWS encoding and signature checks use the `jsonwebtoken` crate (RustCrypto backend), so tokens
//! come from a widely used implementation, not from code shared with signet. [`Issuer::verify`]
//! reads the JWS header itself first, to name any algorithm it refuses, and checks every claim
//! itself, so that each failure carries its facts. Nothing here logs; tokens stay out of any output.

use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::ecdsa::SigningKey;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

mod counts;
mod flows;

use counts::LoginCounters;
pub use counts::{LoginCounts, TokenCounts};
use flows::Pending;
pub use flows::router;

/// The audience Sigstore clients request and Fulcio expects.
pub const AUDIENCE: &str = "sigstore";
/// Most authorization plus device codes pending at once; beyond it requests get 503.
pub const MAX_PENDING: usize = 10_000;

const MAX_TOKEN_LEN: usize = 16 * 1024;
/// Clock skew tolerated on `iat` and `nbf`.
const CLOCK_SKEW_SECS: u64 = 30;

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
    counts: LoginCounters,
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
            counts: LoginCounters::default(),
            #[cfg(test)]
            test_now: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The URL in `iss` and in the discovery document.
    pub fn issuer_url(&self) -> &str {
        &self.issuer_url
    }

    /// How many requests the authorization, device-authorization and token endpoints have
    /// received so far, whatever their outcome.
    pub fn login_counts(&self) -> LoginCounts {
        self.counts.snapshot()
    }

    /// The requests to the token endpoint so far, by grant type.
    pub fn token_counts(&self) -> TokenCounts {
        self.counts.tokens()
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

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const NOW: u64 = 1_700_000_000;
    pub(super) const EMAIL: &str = "dev@signet.test";
    const URL: &str = "http://127.0.0.1:9/oidc";

    pub(super) fn key(seed: u8) -> SigningKey {
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

    pub(super) fn payload(token: &str) -> Value {
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
}
