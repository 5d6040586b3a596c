//! A cached signing credential: the ephemeral P-256 key (PKCS#8 DER, zeroized on drop) and the
//! Fulcio leaf certificate it was issued, plus the scope (Sigstore deployment and login) it
//! belongs to. Owns the credential's versioned binary encoding, which the agent protocol carries
//! and which never touches a file. Decoding re-derives identity, issuer and expiry from the leaf
//! and checks that the key matches it, so nothing in the encoding is trusted. Pure: no I/O, no
//! clock; callers pass `now`.

use std::fmt;

use p256::ecdsa::SigningKey;
use p256::pkcs8::DecodePrivateKey;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::keys::PublicKey;
use super::time::UnixTime;
use super::x509::Leaf;

/// The largest encoded credential [`Credential::decode`] accepts.
pub const MAX_CREDENTIAL_BYTES: usize = 16 * 1024;
/// The version byte that starts an encoded credential.
const ENCODING_VERSION: u8 = 1;
/// The longest scope key accepted (a [`Scope::key`] is 35 bytes).
const MAX_SCOPE_KEY_BYTES: usize = 128;

/// Which Sigstore deployment and login a credential belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub fulcio_url: String,
    pub oidc_issuer: String,
    pub client_id: String,
}

impl Scope {
    /// Stable id: "v1-" + first 32 hex chars of SHA-256 over a length-prefixed encoding of the
    /// three fields (each an 8-byte big-endian length, then its UTF-8 bytes).
    pub fn key(&self) -> String {
        let mut h = Sha256::new();
        for field in [&self.fulcio_url, &self.oidc_issuer, &self.client_id] {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        let digest = h.finalize();
        format!("v1-{}", hex::encode(&digest[..16]))
    }
}

/// Why a credential could not be built, decoded or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("encoded credential is {len} bytes, more than the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    #[error("encoded credential is malformed: {0}")]
    Malformed(String),
    #[error("encoded credential has version {found}; this signet reads version {supported}")]
    UnsupportedVersion { found: u8, supported: u8 },
    #[error("credential scope key is invalid: {0}")]
    InvalidScopeKey(String),
    #[error("credential private key is not a P-256 PKCS#8 key: {0}")]
    PrivateKey(String),
    #[error("credential certificate is unusable: {0}")]
    Certificate(String),
    #[error("credential certificate holds a {0} key; only ECDSA P-256 is cached")]
    UnsupportedCertificateKey(&'static str),
    #[error("credential private key does not match the certificate's public key")]
    KeyMismatch,
}

/// Check a scope key: 1 to 128 bytes of printable ASCII without spaces (safe to show in
/// messages). Shared by the agent so that it never stores or echoes anything else.
pub(crate) fn check_scope_key(key: &str) -> Result<(), CredentialError> {
    if key.is_empty() {
        return Err(CredentialError::InvalidScopeKey("empty".into()));
    }
    if key.len() > MAX_SCOPE_KEY_BYTES {
        return Err(CredentialError::InvalidScopeKey(format!(
            "{} bytes, more than {MAX_SCOPE_KEY_BYTES}",
            key.len()
        )));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CredentialError::InvalidScopeKey(
            "contains a byte that is not printable ASCII".into(),
        ));
    }
    Ok(())
}

/// An ephemeral signing key with its Fulcio leaf. `Debug` redacts the key.
pub struct Credential {
    pub scope_key: String,
    /// The P-256 private key, PKCS#8 DER; zeroized on drop.
    pub key_pkcs8: Zeroizing<Vec<u8>>,
    /// The Fulcio leaf certificate, DER.
    pub leaf_der: Vec<u8>,
    /// The leaf's single SAN (email, URI or username).
    pub identity: String,
    /// The leaf's OIDC issuer extension, if any.
    pub issuer: Option<String>,
    /// The leaf's notAfter.
    pub not_after: UnixTime,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("scope_key", &self.scope_key)
            .field("key_pkcs8", &"<redacted>")
            .field("leaf_der", &format_args!("<{} bytes>", self.leaf_der.len()))
            .field("identity", &self.identity)
            .field("issuer", &self.issuer)
            .field("not_after", &self.not_after)
            .finish()
    }
}

fn parse_key(key_pkcs8: &[u8]) -> Result<SigningKey, CredentialError> {
    // pkcs8 errors describe the structure, never the key bytes.
    SigningKey::from_pkcs8_der(key_pkcs8).map_err(|e| CredentialError::PrivateKey(e.to_string()))
}

impl Credential {
    /// Build from a key and leaf: identity, issuer and not_after are read from the leaf
    /// ([`Leaf`]), and the key must match the leaf's public key.
    pub fn new(
        scope_key: String,
        key_pkcs8: Zeroizing<Vec<u8>>,
        leaf_der: Vec<u8>,
    ) -> Result<Self, CredentialError> {
        check_scope_key(&scope_key)?;
        let leaf =
            Leaf::from_der(&leaf_der).map_err(|e| CredentialError::Certificate(e.to_string()))?;
        let key = parse_key(&key_pkcs8)?;
        match &leaf.public_key {
            PublicKey::P256(vk) if vk == key.verifying_key() => {}
            PublicKey::P256(_) => return Err(CredentialError::KeyMismatch),
            other => return Err(CredentialError::UnsupportedCertificateKey(other.name())),
        }
        Ok(Self {
            scope_key,
            key_pkcs8,
            identity: leaf.identity,
            issuer: leaf.oidc_issuer,
            not_after: leaf.not_after,
            leaf_der,
        })
    }

    /// Versioned binary encoding: the version byte (1), then scope key, PKCS#8 key and leaf DER,
    /// each as a 4-byte big-endian length and its bytes.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let fields: [&[u8]; 3] = [self.scope_key.as_bytes(), &self.key_pkcs8, &self.leaf_der];
        let len = 1 + fields.iter().map(|f| 4 + f.len()).sum::<usize>();
        let mut out = Zeroizing::new(Vec::with_capacity(len));
        out.push(ENCODING_VERSION);
        for field in fields {
            // Fields longer than u32::MAX cannot come from `new` (the leaf parsed as DER and the
            // key as PKCS#8); saturating keeps the encoding total and `decode` refuses it.
            let n = u32::try_from(field.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&n.to_be_bytes());
            out.extend_from_slice(field);
        }
        out
    }

    /// Strict decode: size limit, version, no trailing bytes, then re-derives everything through
    /// [`Credential::new`] (never trusts encoded identity/expiry).
    pub fn decode(bytes: &[u8]) -> Result<Self, CredentialError> {
        if bytes.len() > MAX_CREDENTIAL_BYTES {
            return Err(CredentialError::TooLarge {
                len: bytes.len(),
                max: MAX_CREDENTIAL_BYTES,
            });
        }
        let (&version, mut rest) = bytes
            .split_first()
            .ok_or_else(|| CredentialError::Malformed("empty".into()))?;
        if version != ENCODING_VERSION {
            return Err(CredentialError::UnsupportedVersion {
                found: version,
                supported: ENCODING_VERSION,
            });
        }
        let scope_key = take_field(&mut rest, "scope key")?;
        let key = take_field(&mut rest, "private key")?;
        let leaf = take_field(&mut rest, "certificate")?;
        if !rest.is_empty() {
            return Err(CredentialError::Malformed(format!(
                "{} trailing bytes",
                rest.len()
            )));
        }
        let scope_key = std::str::from_utf8(scope_key)
            .map_err(|_| CredentialError::InvalidScopeKey("not UTF-8".into()))?
            .to_owned();
        Self::new(scope_key, Zeroizing::new(key.to_vec()), leaf.to_vec())
    }

    /// True when the certificate is still valid for at least `margin_secs` after `now`.
    pub fn usable_at(&self, now: UnixTime, margin_secs: i64) -> bool {
        now.0.saturating_add(margin_secs) <= self.not_after.0
    }

    /// The signing key parsed from `key_pkcs8`.
    pub fn signing_key(&self) -> Result<SigningKey, CredentialError> {
        parse_key(&self.key_pkcs8)
    }
}

/// Split a 4-byte big-endian length and that many bytes off the front of `rest`.
fn take_field<'a>(rest: &mut &'a [u8], what: &str) -> Result<&'a [u8], CredentialError> {
    let truncated = || CredentialError::Malformed(format!("truncated in the {what}"));
    let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(truncated)?;
    let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| truncated())?;
    if tail.len() < len {
        return Err(truncated());
    }
    let (field, tail) = tail.split_at(len);
    *rest = tail;
    Ok(field)
}

#[cfg(test)]
#[path = "credential_tests.rs"]
pub(crate) mod tests;
