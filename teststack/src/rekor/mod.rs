//! The local Rekor v1: `hashedrekord` v0.0.1 entries appended to an RFC 6962 log kept in the
//! store, with signed entry timestamps (SET), inclusion proofs and signed checkpoints, and the
//! read endpoints clients use (`/api/v1/log`, `/log/publicKey`, `/log/entries/...`,
//! `/log/entries/retrieve`, `/index/retrieve`).
//!
//! An entry is accepted only after its signature verifies over the digest with the given key,
//! and is acknowledged only once it is on disk. The log is a single shard: the global
//! `logIndex` and the inclusion proof's `logIndex` are equal.

use std::sync::{Mutex, MutexGuard};

use base64::{Engine, engine::general_purpose::STANDARD};
use der::Decode;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey, signature::Signer};
use p256::pkcs8::DecodePublicKey;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use crate::checkpoint;
use crate::error::{ApiError, Dialect::Rekor};
use crate::keys::{b64, key_id};
use crate::merkle::{Tree, leaf_hash};
use crate::store::{EntryIndex, Store, StoreError, StoredEntry};

/// Most items a retrieve request may name, as on the public instance.
pub(super) const MAX_RETRIEVE: usize = 10;

pub struct Log {
    pub(super) key: SigningKey,
    pub(super) tree_id: i64,
    pub(super) base_url: String,
    inner: Mutex<Inner>,
}

pub(super) struct Inner {
    pub(super) store: Store,
    pub(super) tree: Tree,
}

/// The outcome of an append: the new entry (id and `LogEntry` map), or the id of the
/// equivalent entry already logged.
pub(super) enum Appended {
    New(String, Value),
    Existing(String),
}

/// A proposed entry after validation: its canonical body and what it is indexed by.
pub struct Canonical {
    pub body: Vec<u8>,
    pub index: EntryIndex,
}

fn bad(msg: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(Rekor, format!("error processing entry: {msg}"))
}

pub(super) fn store_err(e: StoreError) -> ApiError {
    ApiError::internal(Rekor, format!("log storage failed: {e}"))
}

#[derive(Deserialize)]
struct Proposed {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
    spec: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HashedRekordSpec {
    signature: SigSpec,
    data: DataSpec,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SigSpec {
    content: String,
    #[serde(rename = "publicKey")]
    public_key: KeySpec,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeySpec {
    content: String,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DataSpec {
    hash: HashSpec,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HashSpec {
    algorithm: String,
    value: String,
}

/// A verification key taken from a PEM certificate or public key.
pub(super) struct Material {
    key: VerifyingKey,
    pub(super) spki_der: Vec<u8>,
    /// The PEM as this log re-encodes it in canonical bodies.
    canonical_pem: String,
    email: Option<String>,
}

pub(super) fn parse_material(pem_bytes: &[u8]) -> Result<Material, String> {
    let (label, der) = der::pem::decode_vec(pem_bytes)
        .map_err(|e| format!("publicKey.content is not base64 of one PEM block: {e}"))?;
    let (spki_der, email) = match label {
        "CERTIFICATE" => {
            let cert = Certificate::from_der(&der)
                .map_err(|e| format!("publicKey.content certificate does not parse: {e}"))?;
            let spki = der::Encode::to_der(cert.tbs_certificate().subject_public_key_info())
                .map_err(|e| e.to_string())?;
            (spki, cert_email(&cert))
        }
        "PUBLIC KEY" => (der.clone(), None),
        other => {
            return Err(format!(
                "publicKey.content is a PEM {other:?}, expected CERTIFICATE or PUBLIC KEY"
            ));
        }
    };
    let key = VerifyingKey::from_public_key_der(&spki_der).map_err(|_| {
        "unsupported public key: this test log accepts ECDSA P-256 keys only".to_string()
    })?;
    let canonical_pem = der::pem::encode_string(label, der::pem::LineEnding::LF, &der)
        .map_err(|e| e.to_string())?;
    Ok(Material {
        key,
        spki_der,
        canonical_pem,
        email,
    })
}

fn cert_email(cert: &Certificate) -> Option<String> {
    let exts = cert.tbs_certificate().extensions()?;
    let san = exts
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME)?;
    let names = SubjectAltName::from_der(san.extn_value.as_bytes()).ok()?;
    names.0.into_iter().find_map(|n| match n {
        GeneralName::Rfc822Name(e) => Some(e.to_string()),
        _ => None,
    })
}

/// Validates a proposed entry and produces its canonical body. With `check_signature` the
/// signature must verify over the digest (appends); without it (searches) only the shape counts.
pub fn canonicalize(proposed: Value, check_signature: bool) -> Result<Canonical, ApiError> {
    let p: Proposed = serde_json::from_value(proposed).map_err(bad)?;
    if p.kind != "hashedrekord" {
        return Err(bad(format!(
            "unsupported entry kind {:?}: this test log accepts hashedrekord 0.0.1 only",
            p.kind
        )));
    }
    if p.api_version != "0.0.1" {
        return Err(bad(format!(
            "unsupported hashedrekord apiVersion {:?}: this test log accepts 0.0.1 only",
            p.api_version
        )));
    }
    let spec: HashedRekordSpec =
        serde_json::from_value(p.spec).map_err(|e| bad(format!("spec: {e}")))?;
    let want_len = match spec.data.hash.algorithm.as_str() {
        "sha256" => 32,
        "sha384" => 48,
        "sha512" => 64,
        other => {
            return Err(bad(format!(
                "unsupported hash algorithm {other:?} (sha256, sha384, sha512)"
            )));
        }
    };
    let value = spec.data.hash.value.to_ascii_lowercase();
    let digest =
        hex::decode(&value).map_err(|e| bad(format!("data.hash.value is not hex: {e}")))?;
    if digest.len() != want_len {
        return Err(bad(format!(
            "data.hash.value has {} bytes, {} needs {want_len}",
            digest.len(),
            spec.data.hash.algorithm
        )));
    }
    let sig = STANDARD
        .decode(&spec.signature.content)
        .map_err(|e| bad(format!("signature.content is not base64: {e}")))?;
    let pem = STANDARD
        .decode(&spec.signature.public_key.content)
        .map_err(|e| bad(format!("signature.publicKey.content is not base64: {e}")))?;
    let material = parse_material(&pem).map_err(bad)?;
    if check_signature {
        let der_sig = DerSignature::from_bytes(&sig)
            .map_err(|_| bad("signature.content is not a DER ECDSA signature"))?;
        material
            .key
            .verify_prehash(&digest, &der_sig)
            .map_err(|_| {
                bad("signature.content does not verify over data.hash with the given public key")
            })?;
    }
    let body = json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": { "hash": { "algorithm": spec.data.hash.algorithm, "value": value } },
            "signature": {
                "content": STANDARD.encode(&sig),
                "publicKey": { "content": STANDARD.encode(material.canonical_pem.as_bytes()) }
            }
        }
    });
    let body = serde_json_canonicalizer::to_vec(&body).map_err(|e| bad(e.to_string()))?;
    Ok(Canonical {
        body,
        index: EntryIndex {
            data_hash: format!("{}:{value}", spec.data.hash.algorithm),
            email: material.email,
            key_sha256: hex::encode(Sha256::digest(&material.spki_der)),
        },
    })
}

impl Log {
    /// Opens the log over `store`, rebuilding the Merkle tree from the stored leaves.
    pub fn open(
        store: Store,
        key: SigningKey,
        tree_id: i64,
        base_url: String,
    ) -> Result<Log, StoreError> {
        let mut tree = Tree::new();
        for leaf in store.leaf_hashes()? {
            tree.push(leaf);
        }
        Ok(Log {
            key,
            tree_id,
            base_url,
            inner: Mutex::new(Inner { store, tree }),
        })
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the tree half-updated: pushes happen
        // only after the store append succeeded. So a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn log_id_hex(&self) -> String {
        hex::encode(key_id(self.key.verifying_key()))
    }

    pub(super) fn entry_id(&self, leaf: &[u8; 32]) -> String {
        format!("{:016x}{}", self.tree_id, hex::encode(leaf))
    }

    pub fn size(&self) -> u64 {
        self.lock().tree.len()
    }

    /// Appends a validated entry, unless an equivalent one is already in the log.
    pub(super) fn append(&self, c: Canonical, now: i64) -> Result<Appended, ApiError> {
        let leaf = leaf_hash(&c.body);
        let mut inner = self.lock();
        if let Some(existing) = inner.store.entry_by_leaf(&leaf).map_err(store_err)? {
            return Ok(Appended::Existing(self.entry_id(&existing.leaf_hash)));
        }
        let entry = StoredEntry {
            index: inner.tree.len(),
            leaf_hash: leaf,
            body: c.body,
            integrated_time: now,
        };
        inner.store.append(&entry, &c.index).map_err(store_err)?;
        inner.tree.push(leaf);
        Ok(Appended::New(
            self.entry_id(&leaf),
            self.render(&inner, &entry),
        ))
    }

    /// The `LogEntry` map for one entry, with a SET and an inclusion proof against the
    /// current tree head.
    pub(super) fn render(&self, inner: &Inner, e: &StoredEntry) -> Value {
        let size = inner.tree.len();
        let root = inner.tree.root(size).unwrap_or_default();
        let hashes: Vec<String> = inner
            .tree
            .inclusion_proof(e.index, size)
            .unwrap_or_default()
            .iter()
            .map(hex::encode)
            .collect();
        let body = b64(&e.body);
        let log_id = self.log_id_hex();
        let set_payload = json!({
            "body": body,
            "integratedTime": e.integrated_time,
            "logID": log_id,
            "logIndex": e.index,
        });
        let set_bytes = serde_json_canonicalizer::to_vec(&set_payload).unwrap_or_default();
        let set: DerSignature = self.key.sign(&set_bytes);
        let mut map = serde_json::Map::new();
        map.insert(
            self.entry_id(&e.leaf_hash),
            json!({
                "body": body,
                "integratedTime": e.integrated_time,
                "logID": log_id,
                "logIndex": e.index,
                "verification": {
                    "signedEntryTimestamp": b64(set.as_bytes()),
                    "inclusionProof": {
                        "checkpoint": checkpoint::sign(
                            &self.key,
                            checkpoint::log_name(&self.base_url),
                            self.tree_id,
                            size,
                            &root,
                        ),
                        "hashes": hashes,
                        "logIndex": e.index,
                        "rootHash": hex::encode(root),
                        "treeSize": size,
                    }
                }
            }),
        );
        Value::Object(map)
    }

    pub(super) fn by_index(&self, index: u64) -> Result<Option<Value>, ApiError> {
        let inner = self.lock();
        let e = inner.store.entry_by_index(index).map_err(store_err)?;
        Ok(e.map(|e| self.render(&inner, &e)))
    }

    /// Looks an entry up by its 64-hex UUID or 80-hex entry id.
    pub(super) fn by_uuid(&self, id: &str) -> Result<Option<Value>, ApiError> {
        let id = id.to_ascii_lowercase();
        let uuid = match id.len() {
            64 => id.as_str(),
            80 => {
                if id[..16] != format!("{:016x}", self.tree_id) {
                    return Ok(None);
                }
                &id[16..]
            }
            n => {
                return Err(ApiError::bad_request(
                    Rekor,
                    format!("entry UUID must be 64 or 80 hex characters, got {n}"),
                ));
            }
        };
        let leaf: [u8; 32] = hex::decode(uuid)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| ApiError::bad_request(Rekor, "entry UUID is not hex"))?;
        let inner = self.lock();
        let e = inner.store.entry_by_leaf(&leaf).map_err(store_err)?;
        Ok(e.map(|e| self.render(&inner, &e)))
    }
}

mod http;
pub use http::router;
