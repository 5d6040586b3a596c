//! Public keys the core can verify with (ECDSA P-256 and P-384, and Ed25519 as Rekor v2 logs use,
//! from DER SPKI), hash algorithms, and key identifiers (SHA-256 of the DER SPKI, as Rekor v1 and
//! CT logs use).

use const_oid::ObjectIdentifier;
use der::Decode;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::SubjectPublicKeyInfoRef;

pub const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
pub const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
pub const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// id-Ed25519 (RFC 8410): the whole algorithm, no parameters.
pub const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Length of an Ed25519 public key and of an Ed25519 signature.
pub const ED25519_KEY_LEN: usize = 32;
pub const ED25519_SIGNATURE_LEN: usize = 64;

/// Why a key could not be used or a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("malformed public key: {0}")]
    Malformed(String),
    #[error("unsupported public key type (algorithm {algorithm}, curve {curve})")]
    Unsupported { algorithm: String, curve: String },
    #[error("malformed ECDSA signature encoding")]
    MalformedSignature,
    #[error("signature does not verify with the {key} key")]
    BadSignature { key: &'static str },
    #[error("{key} signatures are {expected} bytes, this one is {got}")]
    SignatureLength {
        key: &'static str,
        expected: usize,
        got: usize,
    },
    #[error(
        "{key} keys sign the message itself and cannot verify a signature over a precomputed digest"
    )]
    PrehashUnsupported { key: &'static str },
}

/// Hash algorithms used in signatures and digests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha384 => Sha384::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// SHA-256 of arbitrary bytes as a fixed array.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// A verifying key decoded from a DER SubjectPublicKeyInfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    /// The raw 32-byte Ed25519 public key (RFC 8032), as carried in the SPKI bit string.
    Ed25519([u8; ED25519_KEY_LEN]),
}

impl PublicKey {
    /// Decode a DER SPKI: id-ecPublicKey on P-256 or P-384, or id-Ed25519 (no parameters,
    /// 32-byte key).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let spki = SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| KeyError::Malformed(e.to_string()))?;
        Self::from_spki(&spki)
    }

    pub fn from_spki(spki: &SubjectPublicKeyInfoRef<'_>) -> Result<Self, KeyError> {
        let algorithm = spki.algorithm.oid;
        let curve = spki.algorithm.parameters_oid().ok();
        let point = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| KeyError::Malformed("public key bit string has unused bits".into()))?;
        if algorithm == ID_ED25519 {
            if spki.algorithm.parameters.is_some() {
                return Err(KeyError::Malformed(
                    "Ed25519 key algorithm must not have parameters".into(),
                ));
            }
            return point.try_into().map(Self::Ed25519).map_err(|_| {
                KeyError::Malformed(format!(
                    "Ed25519 key is {} bytes, not {ED25519_KEY_LEN}",
                    point.len()
                ))
            });
        }
        match (algorithm, curve) {
            (ID_EC_PUBLIC_KEY, Some(SECP256R1)) => {
                p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                    .map(Self::P256)
                    .map_err(|_| KeyError::Malformed("invalid P-256 point".into()))
            }
            (ID_EC_PUBLIC_KEY, Some(SECP384R1)) => {
                p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                    .map(Self::P384)
                    .map_err(|_| KeyError::Malformed("invalid P-384 point".into()))
            }
            _ => Err(KeyError::Unsupported {
                algorithm: algorithm.to_string(),
                curve: curve.map_or_else(|| "none".into(), |c| c.to_string()),
            }),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::P256(_) => "ECDSA P-256",
            Self::P384(_) => "ECDSA P-384",
            Self::Ed25519(_) => "Ed25519",
        }
    }

    /// Verify a DER ECDSA signature over an already computed digest. Ed25519 (pure, as Sigstore
    /// logs use it) signs the message itself, so it cannot verify here:
    /// [`KeyError::PrehashUnsupported`].
    pub fn verify_prehash(&self, digest: &[u8], der_sig: &[u8]) -> Result<(), KeyError> {
        let ok = match self {
            Self::Ed25519(_) => {
                return Err(KeyError::PrehashUnsupported { key: self.name() });
            }
            Self::P256(k) => {
                let sig = p256::ecdsa::DerSignature::from_bytes(der_sig)
                    .map_err(|_| KeyError::MalformedSignature)?;
                k.verify_prehash(digest, &sig).is_ok()
            }
            Self::P384(k) => {
                let sig = p384::ecdsa::DerSignature::from_bytes(der_sig)
                    .map_err(|_| KeyError::MalformedSignature)?;
                k.verify_prehash(digest, &sig).is_ok()
            }
        };
        if ok {
            Ok(())
        } else {
            Err(KeyError::BadSignature { key: self.name() })
        }
    }

    /// Verify a signature over `msg`. ECDSA: a DER signature over `msg` hashed with `hash`; the
    /// curve arithmetic is ring's (constant-time assembly, about ten times faster than the
    /// RustCrypto curves) for SHA-256 and SHA-384; SHA-512 goes through
    /// [`PublicKey::verify_prehash`]. The DER is checked strictly first, so a malformed signature
    /// is reported as such by either path. Ed25519: the raw 64-byte signature over `msg` itself
    /// (`hash` is not used; pure Ed25519 has its own internal hash), verified by ring.
    pub fn verify(&self, hash: HashAlg, msg: &[u8], der_sig: &[u8]) -> Result<(), KeyError> {
        use ring::signature as rs;
        let p256_ok = || p256::ecdsa::DerSignature::from_bytes(der_sig).is_ok();
        let p384_ok = || p384::ecdsa::DerSignature::from_bytes(der_sig).is_ok();
        let (algorithm, point, well_formed): (&'static dyn rs::VerificationAlgorithm, Vec<u8>, _) =
            match (self, hash) {
                (Self::Ed25519(raw), _) => {
                    if der_sig.len() != ED25519_SIGNATURE_LEN {
                        return Err(KeyError::SignatureLength {
                            key: self.name(),
                            expected: ED25519_SIGNATURE_LEN,
                            got: der_sig.len(),
                        });
                    }
                    (&rs::ED25519, raw.to_vec(), true)
                }
                (_, HashAlg::Sha512) => return self.verify_prehash(&hash.digest(msg), der_sig),
                (Self::P256(k), HashAlg::Sha256) => (
                    &rs::ECDSA_P256_SHA256_ASN1,
                    k.to_sec1_point(false).to_bytes().to_vec(),
                    p256_ok(),
                ),
                (Self::P256(k), HashAlg::Sha384) => (
                    &rs::ECDSA_P256_SHA384_ASN1,
                    k.to_sec1_point(false).to_bytes().to_vec(),
                    p256_ok(),
                ),
                (Self::P384(k), HashAlg::Sha256) => (
                    &rs::ECDSA_P384_SHA256_ASN1,
                    k.to_sec1_point(false).to_bytes().to_vec(),
                    p384_ok(),
                ),
                (Self::P384(k), HashAlg::Sha384) => (
                    &rs::ECDSA_P384_SHA384_ASN1,
                    k.to_sec1_point(false).to_bytes().to_vec(),
                    p384_ok(),
                ),
            };
        if !well_formed {
            return Err(KeyError::MalformedSignature);
        }
        rs::UnparsedPublicKey::new(algorithm, &point)
            .verify(msg, der_sig)
            .map_err(|_| KeyError::BadSignature { key: self.name() })
    }

    /// [`PublicKey::verify`] for evidence many objects share (a certificate's signature by its
    /// CA, an SCT, a checkpoint): a verification that succeeded is remembered for the process,
    /// keyed by SHA-256 over the key, the hash algorithm, the message digest and the signature,
    /// so the same check on the same bytes is done once. Only successes are remembered, and a
    /// hit needs all four inputs to be identical, so the answer is always the one a fresh
    /// verification would give.
    pub fn verify_shared(&self, hash: HashAlg, msg: &[u8], der_sig: &[u8]) -> Result<(), KeyError> {
        let digest = hash.digest(msg);
        let mut h = Sha256::new();
        h.update(b"signet verified signature v1\0");
        match self {
            Self::P256(k) => h.update(k.to_sec1_point(false).as_bytes()),
            Self::P384(k) => h.update(k.to_sec1_point(false).as_bytes()),
            // A 32-byte Ed25519 key cannot collide with a 65- or 97-byte SEC1 point.
            Self::Ed25519(raw) => h.update(raw),
        }
        h.update([hash as u8]);
        h.update((digest.len() as u64).to_be_bytes());
        h.update(&digest);
        h.update(der_sig);
        let memo_key: [u8; 32] = h.finalize().into();
        if memo::seen(&memo_key) {
            return Ok(());
        }
        self.verify(hash, msg, der_sig)?;
        memo::remember(memo_key);
        Ok(())
    }
}

/// The process-wide memory of [`PublicKey::verify_shared`] successes. Bounded: when full it is
/// emptied and refilled, which costs only repeated work.
mod memo {
    use std::collections::HashSet;
    use std::sync::Mutex;

    const MAX_ENTRIES: usize = 1 << 16;
    static VERIFIED: Mutex<Option<HashSet<[u8; 32]>>> = Mutex::new(None);

    pub(super) fn seen(key: &[u8; 32]) -> bool {
        VERIFIED
            .lock()
            .map(|set| set.as_ref().is_some_and(|s| s.contains(key)))
            .unwrap_or(false)
    }

    pub(super) fn remember(key: [u8; 32]) {
        if let Ok(mut set) = VERIFIED.lock() {
            let set = set.get_or_insert_with(HashSet::new);
            if set.len() >= MAX_ENTRIES {
                set.clear();
            }
            set.insert(key);
        }
    }
}

#[cfg(test)]
pub(crate) mod test_keys {
    //! Helpers for tests across the core: deterministic-enough keys and DER signatures.
    use p256::ecdsa::signature::Signer;
    use p256::elliptic_curve::Generate;
    use p256::pkcs8::EncodePublicKey;

    pub fn p256_key() -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::generate()
    }

    pub fn spki_der(k: &p256::ecdsa::SigningKey) -> Vec<u8> {
        k.verifying_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes()
            .to_vec()
    }

    pub fn sign_der(k: &p256::ecdsa::SigningKey, msg: &[u8]) -> Vec<u8> {
        let sig: p256::ecdsa::DerSignature = k.sign(msg);
        sig.as_bytes().to_vec()
    }

    /// An Ed25519 key pair from a fixed seed (ring signs; tests need no randomness here).
    pub fn ed25519_key(seed: u8) -> ring::signature::Ed25519KeyPair {
        ring::signature::Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
    }

    /// The raw 32-byte public key of an Ed25519 key pair.
    pub fn ed25519_raw(k: &ring::signature::Ed25519KeyPair) -> [u8; 32] {
        use ring::signature::KeyPair;
        k.public_key().as_ref().try_into().unwrap()
    }

    /// The DER SPKI (RFC 8410) of an Ed25519 key pair.
    pub fn ed25519_spki(k: &ring::signature::Ed25519KeyPair) -> Vec<u8> {
        let mut der = hex::decode("302a300506032b6570032100").unwrap();
        der.extend_from_slice(&ed25519_raw(k));
        der
    }
}

#[cfg(test)]
mod tests {
    use super::test_keys::*;
    use super::*;

    #[test]
    fn p256_sign_verify_and_negatives() {
        let k = p256_key();
        let pk = PublicKey::from_spki_der(&spki_der(&k)).unwrap();
        let sig = sign_der(&k, b"hello");
        pk.verify(HashAlg::Sha256, b"hello", &sig).unwrap();
        assert_eq!(
            pk.verify(HashAlg::Sha256, b"hellO", &sig),
            Err(KeyError::BadSignature { key: "ECDSA P-256" })
        );
        assert_eq!(
            pk.verify(HashAlg::Sha256, b"hello", &sig[..sig.len() - 1]),
            Err(KeyError::MalformedSignature)
        );
        let other = PublicKey::from_spki_der(&spki_der(&p256_key())).unwrap();
        assert!(other.verify(HashAlg::Sha256, b"hello", &sig).is_err());
    }

    /// ring (the fast path of `verify`) and RustCrypto (`verify_prehash`) must give the same
    /// answer on every signature: good ones, another message, flipped bytes, the high-S twin of
    /// a good signature, and other keys; on P-256 and P-384 with SHA-256 and SHA-384.
    #[test]
    fn ring_and_rustcrypto_agree() {
        use p256::ecdsa::signature::hazmat::PrehashSigner;
        use p256::elliptic_curve::Generate;
        fn both(pk: &PublicKey, hash: HashAlg, msg: &[u8], sig: &[u8]) -> (bool, bool) {
            (
                pk.verify(hash, msg, sig).is_ok(),
                pk.verify_prehash(&hash.digest(msg), sig).is_ok(),
            )
        }
        let mut checked = 0;
        for round in 0..12u8 {
            let msg = vec![round; usize::from(round) * 7 + 1];
            let k256 = p256_key();
            let k384 = p384::ecdsa::SigningKey::generate();
            let keys = [
                PublicKey::P256(*k256.verifying_key()),
                PublicKey::P384(*k384.verifying_key()),
            ];
            for hash in [HashAlg::Sha256, HashAlg::Sha384] {
                let digest = hash.digest(&msg);
                let (good, high_s): (Vec<u8>, Vec<u8>) = {
                    let s256: p256::ecdsa::Signature = k256.sign_prehash(&digest).unwrap();
                    let (r, s) = s256.split_scalars();
                    let twin = p256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
                    (
                        s256.to_der().as_bytes().to_vec(),
                        twin.to_der().as_bytes().to_vec(),
                    )
                };
                let (good384, high_s384): (Vec<u8>, Vec<u8>) = {
                    let s: p384::ecdsa::Signature = k384.sign_prehash(&digest).unwrap();
                    let (r, sv) = s.split_scalars();
                    let twin = p384::ecdsa::Signature::from_scalars(r, -*sv).unwrap();
                    (
                        s.to_der().as_bytes().to_vec(),
                        twin.to_der().as_bytes().to_vec(),
                    )
                };
                for (pk, sigs) in [
                    (&keys[0], [&good, &high_s]),
                    (&keys[1], [&good384, &high_s384]),
                ] {
                    for sig in sigs {
                        assert_eq!(both(pk, hash, &msg, sig), (true, true));
                        let mut flipped = sig.clone();
                        let at = usize::from(round) % flipped.len();
                        flipped[at] ^= 0x01;
                        let (a, b) = both(pk, hash, &msg, &flipped);
                        assert_eq!(a, b, "flipped byte {at}");
                        assert_eq!(both(pk, hash, b"other", sig), (false, false));
                        checked += 3;
                    }
                }
                // A signature checked with the other curve's key fails both ways.
                assert_eq!(both(&keys[1], hash, &msg, &good), (false, false));
            }
        }
        assert_eq!(checked, 12 * 2 * 2 * 2 * 3);
    }

    #[test]
    fn rejects_garbage_and_unsupported_keys() {
        assert!(matches!(
            PublicKey::from_spki_der(b"\x30\x00"),
            Err(KeyError::Malformed(_))
        ));
        // X25519 (1.3.101.110), a key-agreement key, is recognised as unsupported.
        let mut x = hex::decode("302a300506032b656e032100").unwrap();
        x.extend_from_slice(&[1u8; 32]);
        assert_eq!(
            PublicKey::from_spki_der(&x),
            Err(KeyError::Unsupported {
                algorithm: "1.3.101.110".into(),
                curve: "none".into()
            })
        );
    }

    #[test]
    fn ed25519_spki_decodes_and_verifies_raw_signatures() {
        let k = ed25519_key(7);
        let pk = PublicKey::from_spki_der(&ed25519_spki(&k)).unwrap();
        assert_eq!(pk, PublicKey::Ed25519(ed25519_raw(&k)));
        assert_eq!(pk.name(), "Ed25519");
        let sig = k.sign(b"checkpoint text\n").as_ref().to_vec();
        // The hash argument is irrelevant to pure Ed25519.
        for hash in [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512] {
            pk.verify(hash, b"checkpoint text\n", &sig).unwrap();
            pk.verify_shared(hash, b"checkpoint text\n", &sig).unwrap();
        }
        assert_eq!(
            pk.verify(HashAlg::Sha256, b"checkpoint text!", &sig),
            Err(KeyError::BadSignature { key: "Ed25519" })
        );
        let mut flipped = sig.clone();
        flipped[40] ^= 0x80;
        assert_eq!(
            pk.verify(HashAlg::Sha256, b"checkpoint text\n", &flipped),
            Err(KeyError::BadSignature { key: "Ed25519" })
        );
        assert_eq!(
            pk.verify(HashAlg::Sha256, b"checkpoint text\n", &sig[..63]),
            Err(KeyError::SignatureLength {
                key: "Ed25519",
                expected: 64,
                got: 63
            })
        );
        let other = PublicKey::from_spki_der(&ed25519_spki(&ed25519_key(8))).unwrap();
        assert!(
            other
                .verify(HashAlg::Sha256, b"checkpoint text\n", &sig)
                .is_err()
        );
        // Pure Ed25519 cannot check a signature over a digest.
        assert_eq!(
            pk.verify_prehash(&sha256(b"x"), &sig),
            Err(KeyError::PrehashUnsupported { key: "Ed25519" })
        );
        // An ECDSA DER signature given to an Ed25519 key is the wrong length, not a panic.
        let der = sign_der(&p256_key(), b"checkpoint text\n");
        assert!(matches!(
            pk.verify(HashAlg::Sha256, b"checkpoint text\n", &der),
            Err(KeyError::SignatureLength { .. })
        ));
    }

    #[test]
    fn ed25519_spki_must_be_exact() {
        let k = ed25519_key(1);
        let good = ed25519_spki(&k);
        // The staging Rekor v2 log key from the conformance trusted roots.
        use base64::Engine;
        let staging = base64::engine::general_purpose::STANDARD
            .decode("MCowBQYDK2VwAyEAPn+AREHoBaZ7wgS1zBqpxmLSGnyhxXj4lFxSdWVB8o8=")
            .unwrap();
        assert!(matches!(
            PublicKey::from_spki_der(&staging),
            Ok(PublicKey::Ed25519(_))
        ));
        // 31-byte key (lengths adjusted so the DER stays well formed).
        let mut short = hex::decode("3029300506032b6570032000").unwrap();
        short.extend_from_slice(&good[12..43]);
        assert!(matches!(
            PublicKey::from_spki_der(&short),
            Err(KeyError::Malformed(m)) if m.contains("31 bytes")
        ));
        // Parameters present (NULL) are not allowed for Ed25519.
        let mut with_null = hex::decode("302c300706032b65700500032100").unwrap();
        with_null.extend_from_slice(&good[12..]);
        assert!(matches!(
            PublicKey::from_spki_der(&with_null),
            Err(KeyError::Malformed(m)) if m.contains("parameters")
        ));
    }
}
