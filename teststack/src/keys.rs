//! Key material of the stack: P-256 keys made once per state directory and kept in the store,
//! plus the encodings the services publish (DER SPKI, PEM, log ids).

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::elliptic_curve::Generate;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use sha2::{Digest, Sha256};

use crate::store::{Store, StoreError};

/// Loads the key stored under `name`, making and storing a fresh one on first use.
pub fn load_or_create(store: &Store, name: &str) -> Result<SigningKey, StoreError> {
    let der = store.get_or_init(name, || {
        SigningKey::generate()
            .to_pkcs8_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|e| e.to_string())
    })?;
    SigningKey::from_pkcs8_der(&der).map_err(|e| StoreError::Corrupt {
        path: std::path::PathBuf::from(crate::store::DB_FILE),
        detail: format!("key {name} is not a P-256 PKCS#8 key: {e}"),
    })
}

/// DER SubjectPublicKeyInfo of a verifying key.
pub fn spki_der(key: &VerifyingKey) -> Vec<u8> {
    key.to_public_key_der()
        .map(|d| d.as_bytes().to_vec())
        .unwrap_or_default()
}

/// PEM `PUBLIC KEY` of a verifying key.
pub fn spki_pem(key: &VerifyingKey) -> String {
    key.to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap_or_default()
}

/// SHA-256 of the DER SPKI: the Rekor log id and the CT log id.
pub fn key_id(key: &VerifyingKey) -> [u8; 32] {
    Sha256::digest(spki_der(key)).into()
}

pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_across_loads_and_distinct_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = load_or_create(&store, "a").unwrap();
        let a2 = load_or_create(&store, "a").unwrap();
        let b = load_or_create(&store, "b").unwrap();
        assert_eq!(a.verifying_key(), a2.verifying_key());
        assert_ne!(a.verifying_key(), b.verifying_key());
        assert_eq!(key_id(a.verifying_key()).len(), 32);
        assert!(spki_pem(a.verifying_key()).starts_with("-----BEGIN PUBLIC KEY-----"));
    }
}
