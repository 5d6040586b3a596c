//! The Sigstore signing config (`application/vnd.dev.sigstore.signingconfig.v0.2+json`): which
//! Fulcio, Rekor and timestamp-authority URLs a client signs with. Parsed strictly; services are
//! chosen at an explicit time among those whose API version signet speaks.

use serde::Deserialize;

use super::time::{Instant, UnixTime, ValidFor};

pub const MEDIA_TYPE_V02: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";
/// Largest signing config accepted.
pub const MAX_SIGNING_CONFIG_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningConfigError {
    #[error("signing config is larger than {MAX_SIGNING_CONFIG_BYTES} bytes")]
    TooLarge,
    #[error("signing config is not valid JSON: {0}")]
    Json(String),
    #[error("signing config media type is {0:?}; signet reads {MEDIA_TYPE_V02}")]
    MediaType(String),
    #[error("signing config {field}: invalid time {value:?}")]
    Time { field: String, value: String },
    #[error("signing config {field}: {url:?} is not an http(s) URL")]
    Url { field: String, url: String },
    #[error(
        "signing config lists no {service} valid at {at} with an API version signet speaks (v{supported})"
    )]
    NoService {
        service: &'static str,
        at: UnixTime,
        supported: u32,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Raw {
    media_type: String,
    #[serde(default)]
    ca_urls: Vec<RawService>,
    #[serde(default)]
    oidc_urls: Vec<RawService>,
    #[serde(default)]
    rekor_tlog_urls: Vec<RawService>,
    #[serde(default)]
    tsa_urls: Vec<RawService>,
    #[serde(default)]
    rekor_tlog_config: Option<serde_json::Value>,
    #[serde(default)]
    tsa_config: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawService {
    url: String,
    major_api_version: u32,
    valid_for: RawValidFor,
    #[serde(default)]
    operator: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValidFor {
    start: String,
    #[serde(default)]
    end: Option<String>,
}

/// One service endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub url: String,
    pub major_api_version: u32,
    pub valid_for: ValidFor,
    pub operator: String,
}

/// A parsed signing config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningConfig {
    pub ca_urls: Vec<Service>,
    pub oidc_urls: Vec<Service>,
    pub rekor_tlog_urls: Vec<Service>,
    pub tsa_urls: Vec<Service>,
}

/// The services to sign with at one time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    pub fulcio: String,
    pub rekor: String,
    /// The first TSA valid then, if the config lists one.
    pub tsa: Option<String>,
}

fn services(field: &str, raw: Vec<RawService>) -> Result<Vec<Service>, SigningConfigError> {
    raw.into_iter()
        .enumerate()
        .map(|(i, s)| {
            let field = format!("{field}[{i}]");
            let time = |v: &str| {
                Instant::parse_rfc3339(v).map_err(|_| SigningConfigError::Time {
                    field: format!("{field}.validFor"),
                    value: v.to_owned(),
                })
            };
            let start = time(&s.valid_for.start)?;
            let end = s.valid_for.end.as_deref().map(time).transpose()?;
            let scheme_ok = s.url.starts_with("https://") || s.url.starts_with("http://");
            if !scheme_ok || s.url.contains(char::is_whitespace) {
                return Err(SigningConfigError::Url { field, url: s.url });
            }
            Ok(Service {
                url: s.url.trim_end_matches('/').to_owned(),
                major_api_version: s.major_api_version,
                valid_for: ValidFor { start, end },
                operator: s.operator,
            })
        })
        .collect()
}

impl SigningConfig {
    pub fn from_json(bytes: &[u8]) -> Result<Self, SigningConfigError> {
        if bytes.len() > MAX_SIGNING_CONFIG_BYTES {
            return Err(SigningConfigError::TooLarge);
        }
        let raw: Raw =
            serde_json::from_slice(bytes).map_err(|e| SigningConfigError::Json(e.to_string()))?;
        if raw.media_type != MEDIA_TYPE_V02 {
            return Err(SigningConfigError::MediaType(raw.media_type));
        }
        // The selectors (ANY/EXACT/ALL) only matter to clients that write to several logs;
        // signet writes to one of each.
        let _ = (raw.rekor_tlog_config, raw.tsa_config);
        Ok(Self {
            ca_urls: services("caUrls", raw.ca_urls)?,
            oidc_urls: services("oidcUrls", raw.oidc_urls)?,
            rekor_tlog_urls: services("rekorTlogUrls", raw.rekor_tlog_urls)?,
            tsa_urls: services("tsaUrls", raw.tsa_urls)?,
        })
    }

    /// Fulcio v1, Rekor v1 and (if any) TSA v1 services valid at `at`, first listed first.
    pub fn select(&self, at: UnixTime) -> Result<Selected, SigningConfigError> {
        let pick = |list: &[Service], service: &'static str| {
            list.iter()
                .find(|s| s.major_api_version == 1 && s.valid_for.contains(at))
                .map(|s| s.url.clone())
                .ok_or(SigningConfigError::NoService {
                    service,
                    at,
                    supported: 1,
                })
        };
        Ok(Selected {
            fulcio: pick(&self.ca_urls, "certificate authority (caUrls)")?,
            rekor: pick(&self.rekor_tlog_urls, "Rekor log (rekorTlogUrls)")?,
            tsa: pick(&self.tsa_urls, "timestamp authority (tsaUrls)").ok(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rekor_version: u32, tsa: bool) -> Vec<u8> {
        let service = |url: &str, v: u32| {
            serde_json::json!({"url": url, "majorApiVersion": v,
                "validFor": {"start": "2025-01-01T00:00:00Z"}, "operator": "local"})
        };
        let mut c = serde_json::json!({
            "mediaType": MEDIA_TYPE_V02,
            "caUrls": [service("http://127.0.0.1:1/", 1)],
            "oidcUrls": [service("http://127.0.0.1:1", 1)],
            "rekorTlogUrls": [service("http://127.0.0.1:2", rekor_version)],
            "tsaUrls": [],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"}
        });
        if tsa {
            c["tsaUrls"] = serde_json::json!([service("http://127.0.0.1:3/api/v1/timestamp", 1)]);
        }
        serde_json::to_vec(&c).unwrap()
    }

    const IN_2026: UnixTime = UnixTime(1_780_000_000);

    #[test]
    fn selects_v1_services_valid_now() {
        let c = SigningConfig::from_json(&config(1, true)).unwrap();
        let s = c.select(IN_2026).unwrap();
        assert_eq!(s.fulcio, "http://127.0.0.1:1");
        assert_eq!(s.rekor, "http://127.0.0.1:2");
        assert_eq!(
            s.tsa.as_deref(),
            Some("http://127.0.0.1:3/api/v1/timestamp")
        );
        let s = SigningConfig::from_json(&config(1, false))
            .unwrap()
            .select(IN_2026)
            .unwrap();
        assert_eq!(s.tsa, None);
    }

    #[test]
    fn rekor_v2_only_or_not_yet_valid_is_an_error() {
        let c = SigningConfig::from_json(&config(2, false)).unwrap();
        assert!(matches!(
            c.select(IN_2026),
            Err(SigningConfigError::NoService { supported: 1, .. })
        ));
        let c = SigningConfig::from_json(&config(1, false)).unwrap();
        assert!(matches!(
            c.select(UnixTime(1_600_000_000)),
            Err(SigningConfigError::NoService { .. })
        ));
    }

    #[test]
    fn malformed_configs_are_rejected() {
        let mut v: serde_json::Value = serde_json::from_slice(&config(1, false)).unwrap();
        v["mediaType"] = "application/vnd.dev.sigstore.signingconfig.v0.1+json".into();
        assert!(matches!(
            SigningConfig::from_json(&serde_json::to_vec(&v).unwrap()),
            Err(SigningConfigError::MediaType(_))
        ));
        let mut v: serde_json::Value = serde_json::from_slice(&config(1, false)).unwrap();
        v["caUrls"][0]["url"] = "file:///etc/passwd".into();
        assert!(matches!(
            SigningConfig::from_json(&serde_json::to_vec(&v).unwrap()),
            Err(SigningConfigError::Url { .. })
        ));
        let mut v: serde_json::Value = serde_json::from_slice(&config(1, false)).unwrap();
        v["caUrls"][0]["validFor"]["start"] = "yesterday".into();
        assert!(matches!(
            SigningConfig::from_json(&serde_json::to_vec(&v).unwrap()),
            Err(SigningConfigError::Time { .. })
        ));
        let mut v: serde_json::Value = serde_json::from_slice(&config(1, false)).unwrap();
        v["surprise"] = true.into();
        assert!(matches!(
            SigningConfig::from_json(&serde_json::to_vec(&v).unwrap()),
            Err(SigningConfigError::Json(_))
        ));
        assert_eq!(
            SigningConfig::from_json(&vec![b' '; MAX_SIGNING_CONFIG_BYTES + 1]),
            Err(SigningConfigError::TooLarge)
        );
    }
}
