//! The Sigstore bundle JSON (protobuf-specs, proto3 JSON encoding), v0.1 to v0.3 in both media
//! type spellings: strict parsing into [`Bundle`] (a certificate or a managed-key hint; a message
//! signature or a DSSE envelope; Rekor v1 or v2 entries; RFC 3161 timestamps), and building v0.3
//! bundles.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use super::dsse::Envelope;
use super::rekor::{InclusionProof, TlogEntry};

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
    pub rfc3161_timestamps: Vec<Rfc3161Timestamp>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Rfc3161Timestamp {
    pub signed_timestamp: String,
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

/// How the signer's key is identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Material {
    /// Keyless: a Fulcio leaf certificate, plus (v0.1/v0.2) any further certificates of the
    /// chain, which are never trusted.
    Certificate {
        leaf_der: Vec<u8>,
        extra_certs: Vec<Vec<u8>>,
    },
    /// A managed key the verifier supplies; the bundle carries at most an unauthenticated hint.
    PublicKey { hint: Option<String> },
}

/// What the signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A signature over the artifact's SHA-256 digest, with the bundle's unauthenticated digest
    /// hint (`messageDigest`, SHA2_256 only) that must match if present.
    Message {
        signature: Vec<u8>,
        digest: Option<[u8; 32]>,
    },
    /// A DSSE envelope with exactly one signature, over the PAE of its payload.
    Dsse(Envelope),
}

impl Content {
    /// The signature bytes an RFC 3161 timestamp covers.
    pub fn signature(&self) -> &[u8] {
        match self {
            Self::Message { signature, .. } => signature,
            Self::Dsse(env) => env.signatures.first().map_or(&[], |s| &s.sig),
        }
    }
}

/// A parsed bundle: key material, what was signed, the log entries and the timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub version: BundleVersion,
    pub material: Material,
    pub content: Content,
    /// At least one; every one must verify.
    pub tlog_entries: Vec<TlogEntry>,
    /// DER RFC 3161 time-stamp tokens over the signature.
    pub timestamps: Vec<Vec<u8>>,
}

/// Most log entries and timestamps a bundle may carry.
pub const MAX_ENTRIES: usize = 8;

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

    /// The leaf certificate of a keyless bundle.
    pub fn leaf_der(&self) -> Option<&[u8]> {
        match &self.material {
            Material::Certificate { leaf_der, .. } => Some(leaf_der),
            Material::PublicKey { .. } => None,
        }
    }

    fn from_json(json: BundleJson, version: BundleVersion) -> Result<Self, BundleError> {
        let vm = json
            .verification_material
            .ok_or(BundleError::Missing("verificationMaterial"))?;
        let material = material(&vm, version)?;

        let timestamps = match &vm.timestamp_verification_data {
            None => vec![],
            Some(t) => {
                if t.rfc3161_timestamps.len() > MAX_ENTRIES {
                    return Err(BundleError::Invalid(format!(
                        "more than {MAX_ENTRIES} RFC 3161 timestamps"
                    )));
                }
                t.rfc3161_timestamps
                    .iter()
                    .map(|ts| {
                        let der = b64("rfc3161Timestamps.signedTimestamp", &ts.signed_timestamp)?;
                        if der.is_empty() {
                            return Err(BundleError::Missing("rfc3161Timestamps.signedTimestamp"));
                        }
                        Ok(der)
                    })
                    .collect::<Result<_, _>>()?
            }
        };

        if vm.tlog_entries.is_empty() {
            return Err(BundleError::Missing("a transparency log entry"));
        }
        if vm.tlog_entries.len() > MAX_ENTRIES {
            return Err(BundleError::Invalid(format!(
                "more than {MAX_ENTRIES} transparency log entries"
            )));
        }
        let tlog_entries = vm
            .tlog_entries
            .into_iter()
            .map(|e| parse_entry(e, version))
            .collect::<Result<Vec<TlogEntry>, _>>()?;
        // Each entry and each timestamp counts once.
        for (i, e) in tlog_entries.iter().enumerate() {
            if tlog_entries[..i]
                .iter()
                .any(|o| o.log_id == e.log_id && o.log_index == e.log_index)
            {
                return Err(BundleError::Invalid(format!(
                    "log entry {} of log {} is listed twice",
                    e.log_index,
                    hex::encode(&e.log_id)
                )));
            }
        }
        for (i, t) in timestamps.iter().enumerate() {
            if timestamps[..i].contains(t) {
                return Err(BundleError::Invalid(
                    "an RFC 3161 timestamp is listed twice".into(),
                ));
            }
        }

        let content = match (json.message_signature, json.dsse_envelope) {
            (Some(_), Some(_)) => {
                return Err(BundleError::Invalid(
                    "both messageSignature and dsseEnvelope".into(),
                ));
            }
            (None, None) => return Err(BundleError::Missing("messageSignature or dsseEnvelope")),
            (Some(ms), None) => message_content(ms)?,
            (None, Some(env)) => {
                let env = Envelope::from_json(&env)
                    .map_err(|e| BundleError::Invalid(format!("dsseEnvelope: {e}")))?;
                if env.signatures.len() != 1 {
                    return Err(BundleError::Invalid(format!(
                        "dsseEnvelope has {} signatures; exactly one is supported",
                        env.signatures.len()
                    )));
                }
                Content::Dsse(env)
            }
        };
        Ok(Self {
            version,
            material,
            content,
            tlog_entries,
            timestamps,
        })
    }
}

fn material(vm: &VerificationMaterial, version: BundleVersion) -> Result<Material, BundleError> {
    let chain = |certs: &[RawBytes]| -> Result<Material, BundleError> {
        let mut certs = certs
            .iter()
            .map(|c| b64("x509CertificateChain.certificates.rawBytes", &c.raw_bytes))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter();
        let leaf_der = certs.next().ok_or(BundleError::Missing("a certificate"))?;
        Ok(Material::Certificate {
            leaf_der,
            extra_certs: certs.collect(),
        })
    };
    let material = match (
        &vm.certificate,
        &vm.x509_certificate_chain,
        &vm.public_key,
        version,
    ) {
        (None, None, Some(key), _) => {
            let hint = key
                .get("hint")
                .map(|h| h.as_str().map(str::to_owned))
                .map(|h| {
                    h.ok_or(BundleError::Invalid(
                        "publicKey.hint is not a string".into(),
                    ))
                })
                .transpose()?;
            if key
                .as_object()
                .is_none_or(|o| o.keys().any(|k| k != "hint"))
            {
                return Err(BundleError::Invalid(
                    "publicKey must be an object with only a hint".into(),
                ));
            }
            return Ok(Material::PublicKey { hint });
        }
        (_, _, Some(_), _) => {
            return Err(BundleError::Invalid(
                "both a public key and a certificate".into(),
            ));
        }
        (Some(_), Some(_), None, _) => {
            return Err(BundleError::Invalid(
                "both certificate and x509CertificateChain".into(),
            ));
        }
        (Some(c), None, None, BundleVersion::V03) => Material::Certificate {
            leaf_der: b64("certificate.rawBytes", &c.raw_bytes)?,
            extra_certs: vec![],
        },
        (None, Some(c), None, BundleVersion::V01 | BundleVersion::V02) => chain(&c.certificates)?,
        (Some(_), None, None, _) => {
            return Err(BundleError::Invalid(
                "v0.1/v0.2 bundles carry x509CertificateChain".into(),
            ));
        }
        (None, Some(_), None, _) => {
            return Err(BundleError::Invalid(
                "v0.3 bundles carry a single certificate".into(),
            ));
        }
        (None, None, None, _) => return Err(BundleError::Missing("a certificate")),
    };
    if let Material::Certificate {
        leaf_der,
        extra_certs,
    } = &material
        && (leaf_der.is_empty() || extra_certs.iter().any(Vec::is_empty))
    {
        return Err(BundleError::Missing("a certificate"));
    }
    Ok(material)
}

fn message_content(ms: MessageSignature) -> Result<Content, BundleError> {
    let signature = b64("messageSignature.signature", &ms.signature)?;
    if signature.is_empty() {
        return Err(BundleError::Missing("messageSignature.signature"));
    }
    let digest = match ms.message_digest {
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
    Ok(Content::Message { signature, digest })
}

/// Kinds of log entry the verifier knows: Rekor v1 (hashedrekord 0.0.1, dsse 0.0.1, intoto
/// 0.0.2) and Rekor v2 (hashedrekord and dsse 0.0.2).
fn known_kind(kind: &str, version: &str) -> bool {
    matches!(
        (kind, version),
        ("hashedrekord", "0.0.1" | "0.0.2") | ("dsse", "0.0.1" | "0.0.2") | ("intoto", "0.0.2")
    )
}

fn parse_entry(e: TlogEntryJson, version: BundleVersion) -> Result<TlogEntry, BundleError> {
    if !known_kind(&e.kind_version.kind, &e.kind_version.version) {
        return Err(BundleError::Unsupported(format!(
            "log entries of kind {} {}",
            e.kind_version.kind, e.kind_version.version
        )));
    }
    if e.log_index < 0 {
        return Err(BundleError::Invalid(format!(
            "negative log index {}",
            e.log_index
        )));
    }
    if e.integrated_time < 0 {
        return Err(BundleError::Invalid(format!(
            "negative integrated time {}",
            e.integrated_time
        )));
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
        .transpose()?;
    // v0.1 bundles prove inclusion with the SET; later ones with an inclusion proof and its
    // checkpoint. Rekor v1 entries keep their SET in every version (the log checks that); Rekor
    // v2 entries have none.
    if version == BundleVersion::V01 && set.is_none() {
        return Err(BundleError::Missing(
            "tlog entry inclusionPromise (required in v0.1 bundles)",
        ));
    }
    if set.is_some() && e.integrated_time == 0 {
        return Err(BundleError::Missing("tlog entry integratedTime"));
    }
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
        signed_entry_timestamp: set,
        inclusion_proof,
        body,
    })
}

/// Build a v0.3 bundle for a message signature logged in Rekor v1, with any RFC 3161
/// time-stamp tokens (DER ContentInfo) over the signature, each written as the granted
/// TimeStampResp the bundle format carries.
pub fn build_v03(
    leaf_der: &[u8],
    entry: &TlogEntry,
    digest: &[u8; 32],
    signature: &[u8],
    timestamps: &[Vec<u8>],
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
            timestamp_verification_data: (!timestamps.is_empty()).then(|| {
                TimestampVerificationData {
                    rfc3161_timestamps: timestamps
                        .iter()
                        .map(|t| Rfc3161Timestamp {
                            signed_timestamp: B64.encode(super::tsp::response_from_token(t)),
                        })
                        .collect(),
                }
            }),
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
