//! Test support: a complete fake Sigstore instance (CA root + intermediate, CT log, Rekor log)
//! with its trusted root, able to issue Fulcio-like leaves with real embedded SCTs and to log
//! entries with real SETs, inclusion proofs and checkpoints. Used by core and flow tests.
#![allow(clippy::unwrap_used)]

use std::str::FromStr;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use der::asn1::{Ia5String, OctetString, Utf8StringRef};
use der::{Decode, Encode};
use p256::ecdsa::{DerSignature, SigningKey};
use spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use super::checkpoint::tests::sign_note;
use super::keys::sha256;
use super::keys::test_keys::{p256_key, sign_der, spki_der};
use super::merkle::{self, Hash};
use super::rekor::{InclusionProof, TlogEntry, set_payload};
use super::sct::{OID_SCT_LIST, Sct, signed_data};
use super::trust_root::TrustedRoot;
use super::x509::{OID_EKU_CODE_SIGNING, OID_FULCIO_ISSUER_V1, OID_FULCIO_ISSUER_V2};

/// 2024-01-01T00:00:00Z, the fake world's reference time.
pub const T0: i64 = 1_704_067_200;
pub const EMAIL: &str = "alice@example.com";
pub const ISSUER: &str = "https://issuer.example.com";

struct Profile {
    issuer: Name,
    subject: Name,
    extensions: Vec<Extension>,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }
    fn get_subject(&self) -> Name {
        self.subject.clone()
    }
    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &x509_cert::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

pub fn ext(oid: const_oid::ObjectIdentifier, critical: bool, value: Vec<u8>) -> Extension {
    Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).unwrap(),
    }
}

fn time(t: i64) -> Time {
    Time::try_from(UNIX_EPOCH + Duration::from_secs(t as u64)).unwrap()
}

/// Build a certificate with explicit names, key, validity and extensions, signed by `signer`.
pub fn build_cert(
    issuer: &str,
    subject: &str,
    spki: &[u8],
    validity: (i64, i64),
    extensions: Vec<Extension>,
    signer: &SigningKey,
) -> Vec<u8> {
    let profile = Profile {
        issuer: Name::from_str(issuer).unwrap(),
        subject: if subject.is_empty() {
            Name::default()
        } else {
            Name::from_str(subject).unwrap()
        },
        extensions,
    };
    let builder = CertificateBuilder::new(
        profile,
        SerialNumber::from(0x5157_u32 + validity.0 as u32),
        Validity::new(time(validity.0), time(validity.1)),
        SubjectPublicKeyInfoOwned::from_der(spki).unwrap(),
    )
    .unwrap();
    let cert = builder.build::<_, DerSignature>(signer).unwrap();
    cert.to_der().unwrap()
}

pub fn ca_extensions(path_len: Option<u8>) -> Vec<Extension> {
    vec![
        ext(
            super::x509::OID_BASIC_CONSTRAINTS,
            true,
            BasicConstraints {
                ca: true,
                path_len_constraint: path_len,
            }
            .to_der()
            .unwrap(),
        ),
        ext(
            super::x509::OID_KEY_USAGE,
            true,
            KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)
                .to_der()
                .unwrap(),
        ),
    ]
}

/// Fulcio-profile leaf extensions (without the SCT list).
pub fn leaf_extensions(email: &str, issuer: &str) -> Vec<Extension> {
    let san = SubjectAltName(vec![GeneralName::Rfc822Name(
        Ia5String::new(email).unwrap(),
    )]);
    vec![
        ext(
            super::x509::OID_KEY_USAGE,
            true,
            KeyUsage(KeyUsages::DigitalSignature.into())
                .to_der()
                .unwrap(),
        ),
        ext(
            super::x509::OID_EKU,
            false,
            ExtendedKeyUsage(vec![OID_EKU_CODE_SIGNING])
                .to_der()
                .unwrap(),
        ),
        ext(super::x509::OID_SAN, true, san.to_der().unwrap()),
        ext(OID_FULCIO_ISSUER_V1, false, issuer.as_bytes().to_vec()),
        ext(
            OID_FULCIO_ISSUER_V2,
            false,
            Utf8StringRef::new(issuer).unwrap().to_der().unwrap(),
        ),
    ]
}

/// A fake Sigstore instance.
pub struct World {
    pub root_der: Vec<u8>,
    pub inter_key: SigningKey,
    pub inter_der: Vec<u8>,
    pub ct_key: SigningKey,
    pub rekor_key: SigningKey,
}

pub const ROOT_DN: &str = "CN=signet test root,O=signet";
pub const INTER_DN: &str = "CN=signet test intermediate,O=signet";

impl World {
    pub fn new() -> Self {
        let root_key = p256_key();
        let inter_key = p256_key();
        let validity = (T0 - 365 * 86_400, T0 + 365 * 86_400);
        let root_der = build_cert(
            ROOT_DN,
            ROOT_DN,
            &spki_der(&root_key),
            validity,
            ca_extensions(Some(1)),
            &root_key,
        );
        let inter_der = build_cert(
            ROOT_DN,
            INTER_DN,
            &spki_der(&inter_key),
            validity,
            ca_extensions(Some(0)),
            &root_key,
        );
        Self {
            root_der,
            inter_key,
            inter_der,
            ct_key: p256_key(),
            rekor_key: p256_key(),
        }
    }

    pub fn rekor_log_id(&self) -> [u8; 32] {
        sha256(&spki_der(&self.rekor_key))
    }

    /// The trusted root JSON for this world; `edit` may alter it before parsing.
    pub fn trusted_root_json(&self) -> serde_json::Value {
        let log = |key: &SigningKey, url: &str| {
            let spki = spki_der(key);
            serde_json::json!({
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": B64.encode(&spki),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": "2023-01-01T00:00:00Z"}
                },
                "logId": {"keyId": B64.encode(sha256(&spki))}
            })
        };
        serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(&self.rekor_key, "http://rekor.test")],
            "ctlogs": [log(&self.ct_key, "http://ct.test")],
            "certificateAuthorities": [{
                "subject": {"organization": "signet", "commonName": "signet test"},
                "uri": "http://fulcio.test",
                "certChain": {"certificates": [
                    {"rawBytes": B64.encode(&self.inter_der)},
                    {"rawBytes": B64.encode(&self.root_der)}
                ]},
                "validFor": {"start": "2023-01-01T00:00:00Z"}
            }]
        })
    }

    pub fn trusted_root(&self) -> TrustedRoot {
        TrustedRoot::from_json(&serde_json::to_vec(&self.trusted_root_json()).unwrap()).unwrap()
    }

    /// Issue a Fulcio-like leaf for `spki` valid for [not_before, not_after], with an SCT from
    /// the world's CT log at `not_before`.
    pub fn issue_leaf_with(
        &self,
        spki: &[u8],
        validity: (i64, i64),
        extensions: Vec<Extension>,
    ) -> Vec<u8> {
        let precert = build_cert(
            INTER_DN,
            "",
            spki,
            validity,
            extensions.clone(),
            &self.inter_key,
        );
        let precert_tbs = super::asn1::raw_tbs(&precert).unwrap().to_vec();
        let issuer_spki = Certificate::from_der(&self.inter_der)
            .unwrap()
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .unwrap();
        let mut sct = Sct {
            log_id: sha256(&spki_der(&self.ct_key)),
            timestamp_ms: validity.0 as u64 * 1000,
            extensions: vec![],
            hash_alg: 4,
            sig_alg: 3,
            signature: vec![],
        };
        sct.signature = sign_der(
            &self.ct_key,
            &signed_data(&sct, &sha256(&issuer_spki), &precert_tbs).unwrap(),
        );
        let mut serialized = vec![0u8];
        serialized.extend_from_slice(&sct.log_id);
        serialized.extend_from_slice(&sct.timestamp_ms.to_be_bytes());
        serialized.extend_from_slice(&[0, 0, 4, 3]);
        serialized.extend_from_slice(&(sct.signature.len() as u16).to_be_bytes());
        serialized.extend_from_slice(&sct.signature);
        let mut list = ((serialized.len() + 2) as u16).to_be_bytes().to_vec();
        list.extend_from_slice(&(serialized.len() as u16).to_be_bytes());
        list.extend(serialized);
        let mut exts = extensions;
        exts.push(ext(
            OID_SCT_LIST,
            false,
            OctetString::new(list).unwrap().to_der().unwrap(),
        ));
        build_cert(INTER_DN, "", spki, validity, exts, &self.inter_key)
    }

    pub fn issue_leaf(&self, spki: &[u8], not_before: i64) -> Vec<u8> {
        self.issue_leaf_with(
            spki,
            (not_before, not_before + 600),
            leaf_extensions(EMAIL, ISSUER),
        )
    }

    /// Log `body` as the last of `size` leaves at `integrated_time`, with full evidence.
    pub fn log_entry(&self, body: &[u8], integrated_time: i64, size: usize) -> TlogEntry {
        let mut leaves: Vec<Hash> = (0..size - 1)
            .map(|i| merkle::leaf_hash(format!("other {i}").as_bytes()))
            .collect();
        leaves.push(merkle::leaf_hash(body));
        let index = size - 1;
        let root = merkle::tests::mth(&leaves);
        let proof = merkle::tests::path(index, &leaves);
        let log_id = self.rekor_log_id();
        let log_index = 1000 + index as i64;
        let set = sign_der(
            &self.rekor_key,
            &set_payload(body, integrated_time, &log_id, log_index),
        );
        let text = format!("rekor.test - 1\n{size}\n{}\n", B64.encode(root));
        TlogEntry {
            log_index,
            log_id: log_id.to_vec(),
            kind: "hashedrekord".into(),
            version: "0.0.1".into(),
            integrated_time,
            signed_entry_timestamp: Some(set),
            inclusion_proof: Some(InclusionProof {
                log_index: index as i64,
                tree_size: size as i64,
                root_hash: root.to_vec(),
                hashes: proof.iter().map(|h| h.to_vec()).collect(),
                checkpoint: Some(sign_note(&self.rekor_key, "rekor.test", &text)),
            }),
            body: body.to_vec(),
        }
    }
}

/// Everything a signer produces, for tests to tamper with.
pub struct Signed {
    pub leaf_der: Vec<u8>,
    pub digest: [u8; 32],
    pub signature: Vec<u8>,
    pub entry: TlogEntry,
}

impl World {
    /// Sign `artifact` the way `signet sign-bundle` does, logged at `integrated_time`.
    /// `logged_signature` replaces what Rekor records (to build inconsistent entries).
    pub fn sign(
        &self,
        artifact: &[u8],
        integrated_time: i64,
        logged_signature: Option<Vec<u8>>,
    ) -> Signed {
        let key = p256_key();
        let leaf_der = self.issue_leaf(&spki_der(&key), T0);
        let leaf_pem = der::EncodePem::to_pem(
            &Certificate::from_der(&leaf_der).unwrap(),
            der::pem::LineEnding::LF,
        )
        .unwrap();
        let digest = sha256(artifact);
        let signature = logged_signature.unwrap_or_else(|| sign_der(&key, artifact));
        let body = serde_json::to_vec(&super::rekor::HashedRekord::new(
            &digest, &signature, &leaf_pem,
        ))
        .unwrap();
        let entry = self.log_entry(&body, integrated_time, 5);
        Signed {
            leaf_der,
            digest,
            signature,
            entry,
        }
    }

    pub fn bundle_json(&self, s: &Signed) -> serde_json::Value {
        serde_json::to_value(super::bundle::build_v03(
            &s.leaf_der,
            &s.entry,
            &s.digest,
            &s.signature,
            &[],
        ))
        .unwrap()
    }
}
