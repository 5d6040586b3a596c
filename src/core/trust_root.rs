//! The Sigstore `TrustedRoot` (trusted_root.json): which Fulcio CAs, Rekor logs and CT logs are
//! trusted, and when. Parses all three media type spellings, rejects a `validFor` without a start,
//! and looks keys up by their log id. Keys are kept as DER and decoded when used, so a root that
//! also lists key types signet cannot verify with (RSA logs) still loads.
//!
//! Rekor v1 and v2 logs are both in `tlogs`, found by the entry's `logId.keyId`: for v1 (and
//! ECDSA v2 logs) that is SHA-256 of the DER SPKI, for Ed25519 v2 logs the C2SP key hash
//! SHA-256(origin || "\n" || 0x01 || key), where the origin is `baseUrl` without its scheme. A
//! v2 log's checkpoints are signed under that origin ([`LogKey::origin`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use der::Decode;
use serde::Deserialize;
use x509_cert::Certificate;

use super::keys::{HashAlg, KeyError, PublicKey};
use super::time::{Instant, UnixTime, ValidFor};

/// Media types a trusted root may carry.
pub const TRUSTED_ROOT_MEDIA_TYPES: [&str; 3] = [
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    "application/vnd.dev.sigstore.trustedroot.v0.1+json",
    "application/vnd.dev.sigstore.trustedroot.v0.2+json",
];

/// Largest trusted root accepted, to bound parsing work.
pub const MAX_TRUSTED_ROOT_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustRootError {
    #[error("trusted root is larger than {MAX_TRUSTED_ROOT_BYTES} bytes")]
    TooLarge,
    #[error("trusted root is not valid JSON: {0}")]
    Json(String),
    #[error("unknown trusted root media type {0:?}")]
    UnknownMediaType(String),
    #[error("{context}: missing {field}")]
    Missing {
        context: String,
        field: &'static str,
    },
    #[error("{context}: invalid base64 in {field}")]
    Base64 {
        context: String,
        field: &'static str,
    },
    #[error("{context}: invalid time: {detail}")]
    Time { context: String, detail: String },
    #[error("{context}: validFor ends before it starts")]
    EmptyInterval { context: String },
    #[error("{context}: certificate {index} does not parse: {detail}")]
    Certificate {
        context: String,
        index: usize,
        detail: String,
    },
    #[error("trusted root lists no certificate authorities")]
    NoCertificateAuthorities,
}

/// A transparency log or CT log key from the trusted root.
#[derive(Debug, Clone)]
pub struct LogKey {
    pub base_url: String,
    pub log_id: Vec<u8>,
    pub spki_der: Vec<u8>,
    pub key_details: String,
    pub valid_for: ValidFor,
    /// `checkpointKeyId.keyId` (trusted root v0.2+): the key ID the log's checkpoint signatures
    /// carry, when the root states it.
    pub checkpoint_key_id: Option<Vec<u8>>,
}

impl LogKey {
    /// Decode the key for verification; fails for key types signet does not verify with yet.
    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        PublicKey::from_spki_der(&self.spki_der)
    }

    /// The log's origin, the name its C2SP checkpoints are signed under: `baseUrl` without the
    /// scheme and without a trailing `/` (`https://log2025-1.rekor.sigstore.dev` →
    /// `log2025-1.rekor.sigstore.dev`).
    pub fn origin(&self) -> &str {
        let url = self.base_url.as_str();
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        rest.trim_end_matches('/')
    }

    /// The hash an ECDSA signature by this log covers, from `keyDetails` (P-384 → SHA-384,
    /// P-521 → SHA-512, else SHA-256). Ed25519 signs messages whole and ignores it.
    pub fn signature_hash(&self) -> HashAlg {
        match self.key_details.as_str() {
            "PKIX_ECDSA_P384_SHA_384" => HashAlg::Sha384,
            "PKIX_ECDSA_P521_SHA_512" => HashAlg::Sha512,
            _ => HashAlg::Sha256,
        }
    }
}

/// One certificate in a CA chain, kept with its exact DER.
#[derive(Debug, Clone)]
pub struct ChainCert {
    pub der: Vec<u8>,
    pub cert: Certificate,
    /// The subject DN as text, formatted once (every verified signature names its CA).
    pub subject: String,
}

/// A certificate authority: chain from the issuing certificate (first) to the trust anchor (last).
#[derive(Debug, Clone)]
pub struct CertificateAuthority {
    pub uri: String,
    pub chain: Vec<ChainCert>,
    pub valid_for: ValidFor,
}

/// The parsed, validated trusted root.
#[derive(Debug, Clone)]
pub struct TrustedRoot {
    pub tlogs: Vec<LogKey>,
    pub ctlogs: Vec<LogKey>,
    pub certificate_authorities: Vec<CertificateAuthority>,
    pub timestamp_authorities: Vec<CertificateAuthority>,
}

impl TrustedRoot {
    pub fn from_json(bytes: &[u8]) -> Result<Self, TrustRootError> {
        if bytes.len() > MAX_TRUSTED_ROOT_BYTES {
            return Err(TrustRootError::TooLarge);
        }
        let raw: RawRoot =
            serde_json::from_slice(bytes).map_err(|e| TrustRootError::Json(e.to_string()))?;
        if !TRUSTED_ROOT_MEDIA_TYPES.contains(&raw.media_type.as_str()) {
            return Err(TrustRootError::UnknownMediaType(raw.media_type));
        }
        let tlogs = raw
            .tlogs
            .iter()
            .enumerate()
            .map(|(i, l)| l.parse(&format!("tlogs[{i}]")))
            .collect::<Result<_, _>>()?;
        let ctlogs = raw
            .ctlogs
            .iter()
            .enumerate()
            .map(|(i, l)| l.parse(&format!("ctlogs[{i}]")))
            .collect::<Result<_, _>>()?;
        let certificate_authorities: Vec<_> = raw
            .certificate_authorities
            .iter()
            .enumerate()
            .map(|(i, c)| c.parse(&format!("certificateAuthorities[{i}]")))
            .collect::<Result<_, _>>()?;
        let timestamp_authorities = raw
            .timestamp_authorities
            .iter()
            .enumerate()
            .map(|(i, c)| c.parse(&format!("timestampAuthorities[{i}]")))
            .collect::<Result<_, _>>()?;
        if certificate_authorities.is_empty() {
            return Err(TrustRootError::NoCertificateAuthorities);
        }
        Ok(Self {
            tlogs,
            ctlogs,
            certificate_authorities,
            timestamp_authorities,
        })
    }

    /// The transparency log whose `logId.keyId` equals `log_id`, preferring the entry whose
    /// `validFor` contains `at` when a root lists one key several times with different windows
    /// (otherwise the first, which the caller then finds not valid at `at`).
    pub fn tlog(&self, log_id: &[u8], at: UnixTime) -> Option<&LogKey> {
        key_at(&self.tlogs, log_id, at)
    }

    /// Every listing of the transparency log whose `logId.keyId` equals `log_id`, in root order.
    /// A Rekor v2 entry has no integrated time to choose a listing by, so its verifier looks at
    /// all of them (each with its own `validFor`).
    pub fn tlogs_with_id<'a>(&'a self, log_id: &'a [u8]) -> impl Iterator<Item = &'a LogKey> {
        self.tlogs.iter().filter(move |l| l.log_id == log_id)
    }

    /// The CT log whose `logId.keyId` equals `log_id`, chosen as [`Self::tlog`] does.
    pub fn ctlog(&self, log_id: &[u8], at: UnixTime) -> Option<&LogKey> {
        key_at(&self.ctlogs, log_id, at)
    }
}

fn key_at<'a>(logs: &'a [LogKey], log_id: &[u8], at: UnixTime) -> Option<&'a LogKey> {
    let mut matching = logs.iter().filter(|l| l.log_id == log_id);
    let first = matching.clone().next()?;
    Some(matching.find(|l| l.valid_for.contains(at)).unwrap_or(first))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoot {
    media_type: String,
    #[serde(default)]
    tlogs: Vec<RawLog>,
    #[serde(default)]
    certificate_authorities: Vec<RawCa>,
    #[serde(default)]
    ctlogs: Vec<RawLog>,
    #[serde(default)]
    timestamp_authorities: Vec<RawCa>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    #[serde(default)]
    base_url: String,
    public_key: Option<RawPublicKey>,
    log_id: Option<RawKeyId>,
    checkpoint_key_id: Option<RawKeyId>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPublicKey {
    raw_bytes: Option<String>,
    #[serde(default)]
    key_details: String,
    valid_for: Option<RawValidFor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawKeyId {
    key_id: Option<String>,
}

#[derive(Deserialize)]
struct RawValidFor {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCa {
    #[serde(default)]
    uri: String,
    cert_chain: Option<RawChain>,
    valid_for: Option<RawValidFor>,
}

#[derive(Deserialize)]
struct RawChain {
    #[serde(default)]
    certificates: Vec<RawCert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCert {
    raw_bytes: Option<String>,
}

fn missing(context: &str, field: &'static str) -> TrustRootError {
    TrustRootError::Missing {
        context: context.to_owned(),
        field,
    }
}

fn b64(
    context: &str,
    field: &'static str,
    value: Option<&String>,
) -> Result<Vec<u8>, TrustRootError> {
    let value = value.ok_or_else(|| missing(context, field))?;
    let out = B64.decode(value).map_err(|_| TrustRootError::Base64 {
        context: context.to_owned(),
        field,
    })?;
    if out.is_empty() {
        return Err(missing(context, field));
    }
    Ok(out)
}

impl RawValidFor {
    fn parse(&self, context: &str) -> Result<ValidFor, TrustRootError> {
        let time = |s: &str| {
            Instant::parse_rfc3339(s).map_err(|detail| TrustRootError::Time {
                context: context.to_owned(),
                detail,
            })
        };
        let start = time(
            self.start
                .as_deref()
                .ok_or_else(|| missing(context, "validFor.start"))?,
        )?;
        let end = self.end.as_deref().map(time).transpose()?;
        if end.is_some_and(|end| end < start) {
            return Err(TrustRootError::EmptyInterval {
                context: context.to_owned(),
            });
        }
        Ok(ValidFor { start, end })
    }
}

impl RawLog {
    fn parse(&self, context: &str) -> Result<LogKey, TrustRootError> {
        let pk = self
            .public_key
            .as_ref()
            .ok_or_else(|| missing(context, "publicKey"))?;
        let log_id = self
            .log_id
            .as_ref()
            .ok_or_else(|| missing(context, "logId"))?;
        Ok(LogKey {
            base_url: self.base_url.clone(),
            log_id: b64(context, "logId.keyId", log_id.key_id.as_ref())?,
            spki_der: b64(context, "publicKey.rawBytes", pk.raw_bytes.as_ref())?,
            key_details: pk.key_details.clone(),
            valid_for: pk
                .valid_for
                .as_ref()
                .ok_or_else(|| missing(context, "publicKey.validFor"))?
                .parse(context)?,
            checkpoint_key_id: self
                .checkpoint_key_id
                .as_ref()
                .map(|id| b64(context, "checkpointKeyId.keyId", id.key_id.as_ref()))
                .transpose()?,
        })
    }
}

impl RawCa {
    fn parse(&self, context: &str) -> Result<CertificateAuthority, TrustRootError> {
        let chain = self
            .cert_chain
            .as_ref()
            .ok_or_else(|| missing(context, "certChain"))?;
        if chain.certificates.is_empty() {
            return Err(missing(context, "certChain.certificates"));
        }
        let chain = chain
            .certificates
            .iter()
            .enumerate()
            .map(|(index, c)| {
                let der = b64(
                    context,
                    "certChain.certificates.rawBytes",
                    c.raw_bytes.as_ref(),
                )?;
                let cert =
                    Certificate::from_der(&der).map_err(|e| TrustRootError::Certificate {
                        context: context.to_owned(),
                        index,
                        detail: e.to_string(),
                    })?;
                let subject = cert.tbs_certificate().subject().to_string();
                Ok(ChainCert { der, cert, subject })
            })
            .collect::<Result<_, TrustRootError>>()?;
        Ok(CertificateAuthority {
            uri: self.uri.clone(),
            chain,
            valid_for: self
                .valid_for
                .as_ref()
                .ok_or_else(|| missing(context, "validFor"))?
                .parse(context)?,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const PRODUCTION: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/production_trusted_root.json"
    ));

    fn edit(f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut v: serde_json::Value = serde_json::from_slice(PRODUCTION).unwrap();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn a_key_listed_twice_is_chosen_by_its_validity_window() {
        // One Rekor key, listed for 2021-2022 and again from 2024 (a re-listed key).
        let bytes = edit(|v| {
            let mut first = v["tlogs"][0].clone();
            first["publicKey"]["validFor"] =
                serde_json::json!({"start": "2021-01-01T00:00:00Z", "end": "2022-12-31T23:59:59Z"});
            let mut second = v["tlogs"][0].clone();
            second["publicKey"]["validFor"] = serde_json::json!({"start": "2024-01-01T00:00:00Z"});
            v["tlogs"] = serde_json::json!([first, second]);
        });
        let root = TrustedRoot::from_json(&bytes).unwrap();
        let id = root.tlogs[0].log_id.clone();
        let in_2022 = UnixTime(1_650_000_000);
        let in_2025 = UnixTime(1_740_000_000);
        let in_2023 = UnixTime(1_690_000_000);
        assert!(root.tlog(&id, in_2022).unwrap().valid_for.contains(in_2022));
        assert!(root.tlog(&id, in_2025).unwrap().valid_for.contains(in_2025));
        // Neither window: the first is returned, and its window does not contain the time.
        assert!(!root.tlog(&id, in_2023).unwrap().valid_for.contains(in_2023));
    }

    #[test]
    fn production_root_parses_and_looks_up_by_log_id() {
        let root = TrustedRoot::from_json(PRODUCTION).unwrap();
        assert_eq!(root.certificate_authorities.len(), 2);
        let id = B64
            .decode("wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=")
            .unwrap();
        let now = UnixTime(1_790_000_000);
        let rekor = root.tlog(&id, now).unwrap();
        assert_eq!(rekor.base_url, "https://rekor.sigstore.dev");
        assert!(rekor.public_key().is_ok());
        assert_eq!(crate::core::keys::sha256(&rekor.spki_der).to_vec(), id);
        assert!(root.tlog(&[0u8; 32], now).is_none());
        let ct = B64
            .decode("3T0wasbHETJjGR4cmWc3AqJKXrjePK3/h4pygC8p7o4=")
            .unwrap();
        assert!(root.ctlog(&ct, now).is_some());
        // The Ed25519 Rekor v2 log: its log id is the C2SP key hash over its origin and key.
        let v2 = root
            .tlogs
            .iter()
            .find(|l| l.key_details == "PKIX_ED25519")
            .unwrap();
        assert_eq!(v2.origin(), "log2025-1.rekor.sigstore.dev");
        let Ok(PublicKey::Ed25519(raw)) = v2.public_key() else {
            panic!("the v2 log key is not an Ed25519 key")
        };
        assert_eq!(
            crate::core::checkpoint::ed25519_key_hash(v2.origin(), &raw).to_vec(),
            v2.log_id
        );
        assert_eq!(
            B64.encode(&v2.log_id),
            "zxGZFVvd0FEmjR8WrFwMdcAJ9vtaY/QXf44Y1wUeP6A="
        );
        assert_eq!(root.tlogs_with_id(&v2.log_id).count(), 1);
        assert_eq!(v2.checkpoint_key_id, None);
        // The old CT log's validFor ends at 23:59:59.999.
        let old = root
            .ctlogs
            .iter()
            .find(|l| l.base_url.ends_with("/test"))
            .unwrap();
        assert!(old.valid_for.contains(UnixTime(1_667_260_799)));
        assert!(!old.valid_for.contains(UnixTime(1_667_260_800)));
    }

    #[test]
    fn accepts_all_media_type_spellings() {
        for mt in TRUSTED_ROOT_MEDIA_TYPES {
            let bytes = edit(|v| v["mediaType"] = mt.into());
            TrustedRoot::from_json(&bytes).unwrap();
        }
    }

    #[test]
    fn rejects_unknown_media_type() {
        let bytes =
            edit(|v| v["mediaType"] = "application/vnd.dev.sigstore.trustedroot.v0.9+json".into());
        assert!(matches!(
            TrustedRoot::from_json(&bytes),
            Err(TrustRootError::UnknownMediaType(_))
        ));
    }

    #[test]
    fn rejects_missing_validity_start() {
        let bytes = edit(|v| {
            v["tlogs"][0]["publicKey"]["validFor"]
                .as_object_mut()
                .unwrap()
                .remove("start");
        });
        assert_eq!(
            TrustedRoot::from_json(&bytes).unwrap_err(),
            TrustRootError::Missing {
                context: "tlogs[0]".into(),
                field: "validFor.start"
            }
        );
    }

    #[test]
    fn rejects_bad_base64_bad_cert_bad_time_and_garbage() {
        let bytes = edit(|v| v["ctlogs"][0]["publicKey"]["rawBytes"] = "!!!".into());
        assert!(matches!(
            TrustedRoot::from_json(&bytes),
            Err(TrustRootError::Base64 { .. })
        ));
        let bytes = edit(|v| {
            v["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"] =
                "AAAA".into()
        });
        assert!(matches!(
            TrustedRoot::from_json(&bytes),
            Err(TrustRootError::Certificate { .. })
        ));
        let bytes =
            edit(|v| v["certificateAuthorities"][1]["validFor"]["start"] = "2022-13-01".into());
        assert!(matches!(
            TrustedRoot::from_json(&bytes),
            Err(TrustRootError::Time { .. })
        ));
        let bytes = edit(|v| {
            v["certificateAuthorities"][1]["validFor"]["end"] = "2000-01-01T00:00:00Z".into()
        });
        assert!(matches!(
            TrustedRoot::from_json(&bytes),
            Err(TrustRootError::EmptyInterval { .. })
        ));
        let bytes = edit(|v| v["certificateAuthorities"] = serde_json::json!([]));
        assert_eq!(
            TrustedRoot::from_json(&bytes).unwrap_err(),
            TrustRootError::NoCertificateAuthorities
        );
        assert!(matches!(
            TrustedRoot::from_json(b"{"),
            Err(TrustRootError::Json(_))
        ));
    }

    #[test]
    fn rejects_oversized_input_before_parsing() {
        // Valid JSON padded past the bound: refused on size alone.
        let mut padded = PRODUCTION.to_vec();
        padded.resize(MAX_TRUSTED_ROOT_BYTES + 1, b' ');
        assert_eq!(
            TrustedRoot::from_json(&padded).unwrap_err(),
            TrustRootError::TooLarge
        );
        padded.truncate(MAX_TRUSTED_ROOT_BYTES);
        TrustedRoot::from_json(&padded).unwrap();
    }

    #[test]
    fn rekor_v2_logs_origin_hash_and_checkpoint_key_id() {
        let bytes = edit(|v| {
            let mut v2 = v["tlogs"][1].clone();
            v2["checkpointKeyId"] = serde_json::json!({"keyId": "zxGZFQ=="});
            let mut relisted = v2.clone();
            relisted["baseUrl"] = "log2025-1.rekor.sigstore.dev/".into();
            relisted["publicKey"]["validFor"] =
                serde_json::json!({"start": "2020-01-01T00:00:00Z", "end": "2020-12-31T00:00:00Z"});
            let mut p384 = v["tlogs"][0].clone();
            p384["publicKey"]["keyDetails"] = "PKIX_ECDSA_P384_SHA_384".into();
            v["tlogs"] = serde_json::json!([v2, relisted, p384]);
        });
        let root = TrustedRoot::from_json(&bytes).unwrap();
        let id = root.tlogs[0].log_id.clone();
        // Every listing of the id, in order, each with its own window.
        let listed: Vec<_> = root.tlogs_with_id(&id).collect();
        assert_eq!(listed.len(), 2);
        assert!(listed[1].valid_for.end.is_some());
        // Scheme and trailing slash are not part of the origin; a scheme-less baseUrl is kept.
        assert_eq!(listed[0].origin(), "log2025-1.rekor.sigstore.dev");
        assert_eq!(listed[1].origin(), "log2025-1.rekor.sigstore.dev");
        assert_eq!(
            listed[0].checkpoint_key_id,
            Some(vec![0xcf, 0x11, 0x99, 0x15])
        );
        assert_eq!(listed[0].signature_hash(), HashAlg::Sha256);
        assert_eq!(root.tlogs[2].signature_hash(), HashAlg::Sha384);
        assert_eq!(root.tlogs_with_id(&[0u8; 32]).count(), 0);

        let bad = edit(|v| v["tlogs"][1]["checkpointKeyId"] = serde_json::json!({"keyId": "!"}));
        assert_eq!(
            TrustedRoot::from_json(&bad).unwrap_err(),
            TrustRootError::Base64 {
                context: "tlogs[1]".into(),
                field: "checkpointKeyId.keyId"
            }
        );
    }
}
