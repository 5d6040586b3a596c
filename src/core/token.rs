//! The OIDC identity token as signet handles it: an opaque secret that is forwarded to Fulcio,
//! plus the few unverified payload claims the client needs (`email`/`sub` for the proof of
//! possession, `iss`, `exp`). The token text never appears in `Debug` output or errors.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::time::UnixTime;

/// Largest token accepted.
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("identity token is empty")]
    Empty,
    #[error("identity token is too large")]
    TooLarge,
    #[error("identity token is not a JWT (expected three base64url parts separated by dots)")]
    NotAJwt,
    #[error("identity token payload is not base64url")]
    PayloadEncoding,
    #[error("identity token payload is not a JSON object with string claims: {0}")]
    PayloadJson(String),
    #[error("identity token has neither an email nor a sub claim")]
    NoSubject,
    #[error("identity token expired at {exp} (now {now})")]
    Expired { exp: UnixTime, now: UnixTime },
}

/// A raw identity token. Zeroized on drop; `Debug` is redacted.
#[derive(Clone)]
pub struct IdentityToken(Zeroizing<String>);

impl IdentityToken {
    pub fn new(raw: String) -> Result<Self, TokenError> {
        let raw = Zeroizing::new(raw);
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(TokenError::Empty);
        }
        if trimmed.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        Ok(Self(Zeroizing::new(trimmed.to_owned())))
    }

    /// The token text, to be sent to Fulcio and nowhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Decode the (unverified) payload claims.
    pub fn claims(&self) -> Result<Claims, TokenError> {
        let parts: Vec<&str> = self.0.split('.').collect();
        if parts.len() != 3 || parts.iter().take(2).any(|p| p.is_empty()) {
            return Err(TokenError::NotAJwt);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(parts[1].trim_end_matches('='))
            .map_err(|_| TokenError::PayloadEncoding)?;
        serde_json::from_slice(&payload).map_err(|e| TokenError::PayloadJson(e.to_string()))
    }
}

impl fmt::Debug for IdentityToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentityToken(<redacted>)")
    }
}

/// The claims signet reads, unverified (Fulcio verifies the token).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Claims {
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub email: Option<String>,
    pub exp: Option<i64>,
    /// The audience: one string or a list (RFC 7519 §4.1.3).
    pub aud: Option<Audience>,
}

/// A JWT `aud` claim.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(a) => a == audience,
            Audience::Many(list) => list.iter().any(|a| a == audience),
        }
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Audience::One(a) => write!(f, "{a:?}"),
            Audience::Many(list) => write!(f, "{list:?}"),
        }
    }
}

impl Claims {
    /// What Fulcio expects the proof of possession to sign: `email` if present, else `sub`.
    pub fn challenge_subject(&self) -> Result<&str, TokenError> {
        self.email
            .as_deref()
            .or(self.sub.as_deref())
            .filter(|s| !s.is_empty())
            .ok_or(TokenError::NoSubject)
    }

    /// Reject a token that has already expired at `now` (saves a round trip to Fulcio).
    pub fn check_not_expired(&self, now: UnixTime) -> Result<(), TokenError> {
        match self.exp {
            Some(exp) if exp <= now.0 => Err(TokenError::Expired {
                exp: UnixTime(exp),
                now,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn jwt(payload: &serde_json::Value) -> String {
        format!(
            "eyJhbGciOiJFUzI1NiJ9.{}.c2ln",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).unwrap())
        )
    }

    #[test]
    fn email_preferred_over_sub() {
        let t = IdentityToken::new(jwt(&serde_json::json!({
            "iss": "https://issuer", "sub": "123", "email": "a@example.com", "exp": 100
        })))
        .unwrap();
        let c = t.claims().unwrap();
        assert_eq!(c.challenge_subject().unwrap(), "a@example.com");
        assert!(c.check_not_expired(UnixTime(99)).is_ok());
        assert!(matches!(
            c.check_not_expired(UnixTime(100)),
            Err(TokenError::Expired { .. })
        ));
        let t = IdentityToken::new(jwt(&serde_json::json!({"sub": "repo:x"}))).unwrap();
        assert_eq!(t.claims().unwrap().challenge_subject().unwrap(), "repo:x");
    }

    #[test]
    fn audience_is_a_string_or_a_list() {
        let aud = |v: serde_json::Value| {
            IdentityToken::new(jwt(&serde_json::json!({ "sub": "s", "aud": v })))
                .unwrap()
                .claims()
                .map(|c| c.aud)
        };
        let one = aud(serde_json::json!("sigstore")).unwrap().unwrap();
        assert!(one.contains("sigstore") && !one.contains("other"));
        assert_eq!(one.to_string(), "\"sigstore\"");
        let many = aud(serde_json::json!(["a", "sigstore"])).unwrap().unwrap();
        assert!(many.contains("sigstore") && !many.contains("b"));
        assert!(aud(serde_json::json!(7)).is_err());
        let none = IdentityToken::new(jwt(&serde_json::json!({ "sub": "s" }))).unwrap();
        assert_eq!(none.claims().unwrap().aud, None);
    }

    #[test]
    fn rejects_malformed_tokens_without_echoing_them() {
        assert_eq!(
            IdentityToken::new("  \n".into()).unwrap_err(),
            TokenError::Empty
        );
        for bad in ["secret-token", "a.b", "a.b.c.d", ".x.y"] {
            let t = IdentityToken::new(bad.into()).unwrap();
            let e = t.claims().unwrap_err();
            assert_eq!(e, TokenError::NotAJwt, "{bad}");
        }
        let t = IdentityToken::new("aaa.!!!.sig".into()).unwrap();
        assert_eq!(t.claims().unwrap_err(), TokenError::PayloadEncoding);
        let t = IdentityToken::new(format!("aaa.{}.sig", URL_SAFE_NO_PAD.encode("[1]"))).unwrap();
        assert!(matches!(
            t.claims().unwrap_err(),
            TokenError::PayloadJson(_)
        ));
        let t = IdentityToken::new(jwt(&serde_json::json!({"iss": "x"}))).unwrap();
        assert_eq!(
            t.claims().unwrap().challenge_subject(),
            Err(TokenError::NoSubject)
        );
        let t = IdentityToken::new("sekrit.sekrit.sekrit".into()).unwrap();
        assert!(!format!("{t:?}").contains("sekrit"));
        assert!(!t.claims().unwrap_err().to_string().contains("sekrit"));
    }
}
