//! The Sigstore bundle JSON (protobuf-specs, proto3 JSON encoding): strict parsing into the one
//! shape signet verifies today (keyless `messageSignature` + one Rekor v1 hashedrekord 0.0.1
//! entry), with clear "not supported yet" errors for everything else, and building v0.3 bundles.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use super::rekor::{HASHEDREKORD, HASHEDREKORD_VERSION, InclusionProof, TlogEntry};

pub const MEDIA_TYPE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const MEDIA_TYPE_V01_LEGACY: &str = "application/vnd.dev.sigstore.bundle+json;version=0.1";
const MEDIA_TYPE_V02_LEGACY: &str = "application/vnd.dev.sigstore.bundle+json;version=0.2";
const MEDIA_TYPE_V03_LEGACY: &str = "application/vnd.dev.sigstore.bundle+json;version=0.3";

/// Largest bundle accepted.
pub const MAX_BUNDLE_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BundleVersion {
    V01,
    V02,
    V03,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("bundle is larger than {MAX_BUNDLE_BYTES} bytes")]
    TooLarge,
    #[error("bundle is not valid bundle JSON: {0}")]
    Json(String),
    #[error("unknown bundle media type {0:?}")]
    UnknownMediaType(String),
    #[error("{0} are not supported yet")]
    Unsupported(String),
    #[error("bundle is missing {0}")]
    Missing(&'static str),
    #[error("bundle field {0} is not valid base64")]
    Base64(&'static str),
    #[error("bundle is invalid: {0}")]
    Invalid(String),
}

/// proto3 JSON int64: written as a string, read from a string or a number.
mod int64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Num(i64),
            Str(String),
        }
        match Either::deserialize(d)? {
            Either::Num(n) => Ok(n),
            Either::Str(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BundleJson {
    pub media_type: String,
    pub verification_material: Option<VerificationMaterial>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_signature: Option<MessageSignature>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsse_envelope: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VerificationMaterial {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<RawBytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509_certificate_chain: Option<CertificateChain>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<serde_json::Value>,
    #[serde(default)]
    pub tlog_entries: Vec<TlogEntryJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_verification_data: Option<TimestampVerificationData>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawBytes {
    #[serde(default)]
    pub raw_bytes: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateChain {
    #[serde(default)]
    pub certificates: Vec<RawBytes>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TimestampVerificationData {
    #[serde(default)]
    pub rfc3161_timestamps: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TlogEntryJson {
    #[serde(with = "int64")]
    pub log_index: i64,
    pub log_id: LogId,
    pub kind_version: KindVersion,
    #[serde(default, with = "int64")]
    pub integrated_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_promise: Option<InclusionPromise>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_proof: Option<InclusionProofJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonicalized_body: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LogId {
    pub key_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindVersion {
    pub kind: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InclusionPromise {
    pub signed_entry_timestamp: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InclusionProofJson {
    #[serde(with = "int64")]
    pub log_index: i64,
    pub root_hash: String,
    #[serde(with = "int64")]
    pub tree_size: i64,
    #[serde(default)]
    pub hashes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub envelope: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MessageSignature {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_digest: Option<MessageDigest>,
    pub signature: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageDigest {
    pub algorithm: String,
    pub digest: String,
}

/// A bundle reduced to what signet verifies: one leaf, one Rekor v1 entry, one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub version: BundleVersion,
    pub leaf_der: Vec<u8>,
    /// Certificates after the leaf in a v0.1/v0.2 chain. Never trusted.
    pub extra_certs: Vec<Vec<u8>>,
    pub tlog: TlogEntry,
    pub signature: Vec<u8>,
    /// `messageDigest` (SHA2_256 only): an unauthenticated hint that must match if present.
    pub message_digest: Option<[u8; 32]>,
}

fn b64(field: &'static str, s: &str) -> Result<Vec<u8>, BundleError> {
    B64.decode(s).map_err(|_| BundleError::Base64(field))
}

fn media_version(media_type: &str) -> Result<BundleVersion, BundleError> {
    match media_type {
        MEDIA_TYPE_V01_LEGACY => Ok(BundleVersion::V01),
        MEDIA_TYPE_V02_LEGACY => Ok(BundleVersion::V02),
        MEDIA_TYPE_V03_LEGACY | MEDIA_TYPE_V03 => Ok(BundleVersion::V03),
        other => Err(BundleError::UnknownMediaType(other.to_owned())),
    }
}

impl Bundle {
    pub fn parse(bytes: &[u8]) -> Result<Self, BundleError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge);
        }
        // Check the media type first so an unknown version is reported as such.
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| BundleError::Json(e.to_string()))?;
        let media_type = value
            .get("mediaType")
            .and_then(|m| m.as_str())
            .ok_or(BundleError::Missing("mediaType"))?;
        let version = media_version(media_type)?;
        let json: BundleJson =
            serde_json::from_value(value).map_err(|e| BundleError::Json(e.to_string()))?;
        Self::from_json(json, version)
    }

    fn from_json(json: BundleJson, version: BundleVersion) -> Result<Self, BundleError> {
        if json.dsse_envelope.is_some() {
            return Err(BundleError::Unsupported("DSSE envelope bundles".into()));
        }
        let vm = json
            .verification_material
            .ok_or(BundleError::Missing("verificationMaterial"))?;
        if vm.public_key.is_some() {
            return Err(BundleError::Unsupported(
                "bundles signed with a managed public key".into(),
            ));
        }
        if vm
            .timestamp_verification_data
            .as_ref()
            .is_some_and(|t| !t.rfc3161_timestamps.is_empty())
        {
            return Err(BundleError::Unsupported("RFC 3161 timestamps".into()));
        }
        let (leaf_der, extra_certs) = match (vm.certificate, vm.x509_certificate_chain, version) {
            (Some(_), Some(_), _) => {
                return Err(BundleError::Invalid(
                    "both certificate and x509CertificateChain".into(),
                ));
            }
            (Some(c), None, BundleVersion::V03) => {
                (b64("certificate.rawBytes", &c.raw_bytes)?, vec![])
            }
            (None, Some(chain), BundleVersion::V01 | BundleVersion::V02) => {
                let mut certs = chain
                    .certificates
                    .iter()
                    .map(|c| b64("x509CertificateChain.certificates.rawBytes", &c.raw_bytes))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter();
                let leaf = certs.next().ok_or(BundleError::Missing("a certificate"))?;
                (leaf, certs.collect())
            }
            (Some(_), None, _) => {
                return Err(BundleError::Invalid(
                    "v0.1/v0.2 bundles carry x509CertificateChain".into(),
                ));
            }
            (None, Some(_), _) => {
                return Err(BundleError::Invalid(
                    "v0.3 bundles carry a single certificate".into(),
                ));
            }
            (None, None, _) => return Err(BundleError::Missing("a certificate")),
        };
        if leaf_der.is_empty() || extra_certs.iter().any(Vec::is_empty) {
            return Err(BundleError::Missing("a certificate"));
        }

        let mut entries = vm.tlog_entries.into_iter();
        let entry = entries
            .next()
            .ok_or(BundleError::Missing("a transparency log entry"))?;
        if entries.next().is_some() {
            return Err(BundleError::Unsupported(
                "bundles with several transparency log entries".into(),
            ));
        }
        let tlog = parse_entry(entry, version)?;

        let ms = json
            .message_signature
            .ok_or(BundleError::Missing("messageSignature"))?;
        let signature = b64("messageSignature.signature", &ms.signature)?;
        if signature.is_empty() {
            return Err(BundleError::Missing("messageSignature.signature"));
        }
        let message_digest = match ms.message_digest {
            None => None,
            Some(d) if d.algorithm == "SHA2_256" => Some(
                b64("messageSignature.messageDigest.digest", &d.digest)?
                    .try_into()
                    .map_err(|_| BundleError::Invalid("messageDigest is not 32 bytes".into()))?,
            ),
            Some(d) => {
                return Err(BundleError::Unsupported(format!(
                    "message digests of type {}",
                    d.algorithm
                )));
            }
        };
        Ok(Self {
            version,
            leaf_der,
            extra_certs,
            tlog,
            signature,
            message_digest,
        })
    }
}

fn parse_entry(e: TlogEntryJson, version: BundleVersion) -> Result<TlogEntry, BundleError> {
    if e.kind_version.kind != HASHEDREKORD || e.kind_version.version != HASHEDREKORD_VERSION {
        let what = if e.kind_version.version == "0.0.2" {
            format!("Rekor v2 entries ({} 0.0.2)", e.kind_version.kind)
        } else {
            format!(
                "log entries of kind {} {}",
                e.kind_version.kind, e.kind_version.version
            )
        };
        return Err(BundleError::Unsupported(what));
    }
    if e.log_index < 0 {
        return Err(BundleError::Invalid(format!(
            "negative log index {}",
            e.log_index
        )));
    }
    if e.integrated_time <= 0 {
        return Err(BundleError::Missing("tlog entry integratedTime"));
    }
    let body = b64(
        "canonicalizedBody",
        e.canonicalized_body
            .as_deref()
            .ok_or(BundleError::Missing("tlog entry canonicalizedBody"))?,
    )?;
    let set = e
        .inclusion_promise
        .map(|p| {
            b64(
                "inclusionPromise.signedEntryTimestamp",
                &p.signed_entry_timestamp,
            )
        })
        .transpose()?
        .ok_or(BundleError::Missing(
            "tlog entry inclusionPromise (the only supported time source)",
        ))?;
    let inclusion_proof = e
        .inclusion_proof
        .map(|p| -> Result<_, BundleError> {
            if p.log_index < 0 || p.tree_size < 0 {
                return Err(BundleError::Invalid(
                    "negative inclusion proof index or size".into(),
                ));
            }
            Ok(InclusionProof {
                log_index: p.log_index,
                tree_size: p.tree_size,
                root_hash: b64("inclusionProof.rootHash", &p.root_hash)?,
                hashes: p
                    .hashes
                    .iter()
                    .map(|h| b64("inclusionProof.hashes", h))
                    .collect::<Result<_, _>>()?,
                checkpoint: p.checkpoint.map(|c| c.envelope),
            })
        })
        .transpose()?;
    if version >= BundleVersion::V02
        && inclusion_proof
            .as_ref()
            .is_none_or(|p| p.checkpoint.is_none())
    {
        return Err(BundleError::Missing(
            "tlog entry inclusionProof with checkpoint (required since v0.2)",
        ));
    }
    Ok(TlogEntry {
        log_index: e.log_index,
        log_id: b64("logId.keyId", &e.log_id.key_id)?,
        kind: e.kind_version.kind,
        version: e.kind_version.version,
        integrated_time: e.integrated_time,
        signed_entry_timestamp: Some(set),
        inclusion_proof,
        body,
    })
}

/// Build a v0.3 bundle for a message signature logged in Rekor v1.
pub fn build_v03(
    leaf_der: &[u8],
    entry: &TlogEntry,
    digest: &[u8; 32],
    signature: &[u8],
) -> BundleJson {
    let tlog = TlogEntryJson {
        log_index: entry.log_index,
        log_id: LogId {
            key_id: B64.encode(&entry.log_id),
        },
        kind_version: KindVersion {
            kind: entry.kind.clone(),
            version: entry.version.clone(),
        },
        integrated_time: entry.integrated_time,
        inclusion_promise: entry
            .signed_entry_timestamp
            .as_ref()
            .map(|s| InclusionPromise {
                signed_entry_timestamp: B64.encode(s),
            }),
        inclusion_proof: entry.inclusion_proof.as_ref().map(|p| InclusionProofJson {
            log_index: p.log_index,
            root_hash: B64.encode(&p.root_hash),
            tree_size: p.tree_size,
            hashes: p.hashes.iter().map(|h| B64.encode(h)).collect(),
            checkpoint: p.checkpoint.clone().map(|envelope| Checkpoint { envelope }),
        }),
        canonicalized_body: Some(B64.encode(&entry.body)),
    };
    BundleJson {
        media_type: MEDIA_TYPE_V03.into(),
        verification_material: Some(VerificationMaterial {
            certificate: Some(RawBytes {
                raw_bytes: B64.encode(leaf_der),
            }),
            x509_certificate_chain: None,
            public_key: None,
            tlog_entries: vec![tlog],
            timestamp_verification_data: None,
        }),
        message_signature: Some(MessageSignature {
            message_digest: Some(MessageDigest {
                algorithm: "SHA2_256".into(),
                digest: B64.encode(digest),
            }),
            signature: B64.encode(signature),
        }),
        dsse_envelope: None,
    }
}
