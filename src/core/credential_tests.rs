#![allow(clippy::unwrap_used)]

use p256::pkcs8::EncodePrivateKey;

use super::*;
use crate::core::keys::test_keys::{p256_key, spki_der};
use crate::core::testworld::{EMAIL, ISSUER, T0, World, leaf_extensions};

pub(crate) const SCOPE: &str = "v1-00112233445566778899aabbccddeeff";

pub(crate) fn pkcs8(key: &SigningKey) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(key.to_pkcs8_der().unwrap().as_bytes().to_vec())
}

/// A credential for `scope_key` whose leaf is valid for `validity` (unix seconds).
pub(crate) fn credential_valid(world: &World, scope_key: &str, validity: (i64, i64)) -> Credential {
    let key = p256_key();
    let leaf = world.issue_leaf_with(&spki_der(&key), validity, leaf_extensions(EMAIL, ISSUER));
    Credential::new(scope_key.into(), pkcs8(&key), leaf).unwrap()
}

fn sample() -> Credential {
    credential_valid(&World::new(), SCOPE, (T0, T0 + 600))
}

#[test]
fn credential_scope_key_is_stable_and_separates_fields() {
    let s = Scope {
        fulcio_url: "https://fulcio.sigstore.dev".into(),
        oidc_issuer: "https://oauth2.sigstore.dev/auth".into(),
        client_id: "sigstore".into(),
    };
    let k = s.key();
    assert_eq!(k, s.clone().key());
    assert_eq!(k.len(), 35);
    assert!(k.starts_with("v1-"));
    assert!(
        k[3..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    check_scope_key(&k).unwrap();
    // Moving a character across a field boundary changes the key.
    let shifted = Scope {
        fulcio_url: "https://fulcio.sigstore.dev/".into(),
        oidc_issuer: "/oauth2.sigstore.dev/auth".into(),
        ..s.clone()
    };
    assert_ne!(shifted.key(), k);
    let other_client = Scope {
        client_id: "other".into(),
        ..s
    };
    assert_ne!(other_client.key(), k);
}

#[test]
fn credential_round_trip() {
    let c = sample();
    assert_eq!(c.identity, EMAIL);
    assert_eq!(c.issuer.as_deref(), Some(ISSUER));
    assert_eq!(c.not_after, UnixTime(T0 + 600));
    let bytes = c.encode();
    assert_eq!(bytes[0], 1);
    let d = Credential::decode(&bytes).unwrap();
    assert_eq!(d.scope_key, c.scope_key);
    assert_eq!(*d.key_pkcs8, *c.key_pkcs8);
    assert_eq!(d.leaf_der, c.leaf_der);
    assert_eq!(d.identity, c.identity);
    assert_eq!(d.issuer, c.issuer);
    assert_eq!(d.not_after, c.not_after);
    assert_eq!(*d.encode(), *bytes);
    assert_eq!(
        d.signing_key().unwrap().verifying_key(),
        c.signing_key().unwrap().verifying_key()
    );
}

#[test]
fn credential_every_truncation_and_trailing_byte_refused() {
    let bytes = sample().encode();
    for n in 0..bytes.len() {
        assert!(
            Credential::decode(&bytes[..n]).is_err(),
            "prefix of {n} bytes accepted"
        );
    }
    let mut long = bytes.to_vec();
    long.push(0);
    assert_eq!(
        Credential::decode(&long).unwrap_err(),
        CredentialError::Malformed("1 trailing bytes".into())
    );
}

#[test]
fn credential_wrong_version_and_oversize_refused() {
    let mut bytes = sample().encode().to_vec();
    bytes[0] = 2;
    assert_eq!(
        Credential::decode(&bytes).unwrap_err(),
        CredentialError::UnsupportedVersion {
            found: 2,
            supported: 1
        }
    );
    let big = vec![1u8; MAX_CREDENTIAL_BYTES + 1];
    assert_eq!(
        Credential::decode(&big).unwrap_err(),
        CredentialError::TooLarge {
            len: MAX_CREDENTIAL_BYTES + 1,
            max: MAX_CREDENTIAL_BYTES
        }
    );
    // A length prefix claiming more than is there.
    let mut lying = vec![1u8];
    lying.extend_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        Credential::decode(&lying),
        Err(CredentialError::Malformed(_))
    ));
}

#[test]
fn credential_key_not_matching_leaf_refused() {
    let world = World::new();
    let key = p256_key();
    let leaf = world.issue_leaf(&spki_der(&key), T0);
    let other = p256_key();
    assert_eq!(
        Credential::new(SCOPE.into(), pkcs8(&other), leaf.clone()).unwrap_err(),
        CredentialError::KeyMismatch
    );
    // The same through decode: swap the key field of a valid encoding.
    let good = Credential::new(SCOPE.into(), pkcs8(&key), leaf).unwrap();
    let forged = Credential {
        key_pkcs8: pkcs8(&other),
        ..good
    };
    assert_eq!(
        Credential::decode(&forged.encode()).unwrap_err(),
        CredentialError::KeyMismatch
    );
}

#[test]
fn credential_bad_parts_refused() {
    let world = World::new();
    let key = p256_key();
    let leaf = world.issue_leaf(&spki_der(&key), T0);
    assert!(matches!(
        Credential::new(SCOPE.into(), Zeroizing::new(vec![0x30, 0]), leaf.clone()),
        Err(CredentialError::PrivateKey(_))
    ));
    assert!(matches!(
        Credential::new(SCOPE.into(), pkcs8(&key), b"not a cert".to_vec()),
        Err(CredentialError::Certificate(_))
    ));
    for bad in ["", "has space", "tab\there", &"x".repeat(129)] {
        assert!(
            matches!(
                Credential::new(bad.into(), pkcs8(&key), leaf.clone()),
                Err(CredentialError::InvalidScopeKey(_))
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn credential_debug_redacts_the_key() {
    let c = sample();
    let debug = format!("{c:?}");
    assert!(debug.contains("<redacted>"));
    assert!(debug.contains(EMAIL));
    let key_hex = hex::encode(&*c.key_pkcs8);
    assert!(!debug.contains(&key_hex));
    // Nor the raw scalar, nor any 8-byte run of the key as a Rust byte list.
    let scalar = c.signing_key().unwrap().to_bytes();
    assert!(!debug.contains(&hex::encode(scalar.as_slice())));
    for w in c.key_pkcs8.windows(8) {
        assert!(!debug.contains(&format!("{w:?}")[1..]));
    }
}

#[test]
fn credential_usable_at_boundaries() {
    let c = sample(); // not_after = T0 + 600
    assert!(c.usable_at(UnixTime(T0), 0));
    assert!(c.usable_at(UnixTime(T0 + 600), 0));
    assert!(!c.usable_at(UnixTime(T0 + 601), 0));
    assert!(c.usable_at(UnixTime(T0 + 570), 30));
    assert!(!c.usable_at(UnixTime(T0 + 571), 30));
    assert!(!c.usable_at(UnixTime(i64::MAX), 0));
    assert!(!c.usable_at(UnixTime(T0), i64::MAX));
    assert!(c.usable_at(UnixTime(i64::MIN), 0));
}
