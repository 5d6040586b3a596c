//! The files a running stack publishes in its state directory, each written atomically
//! (temporary file + rename): `trusted_root.json`, `client_trust_config.json`, and last `env`,
//! whose appearance tells a waiting client the stack accepts connections.

use std::io::Write;
use std::path::Path;

use p256::ecdsa::VerifyingKey;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::keys::{b64, key_id, spki_der};

pub const TRUSTED_ROOT_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
pub const ENV_FILE: &str = "env";
pub const TRUSTED_ROOT_FILE: &str = "trusted_root.json";
pub const CLIENT_TRUST_CONFIG_FILE: &str = "client_trust_config.json";

/// What the published files describe.
pub struct Published<'a> {
    pub base_url: &'a str,
    pub issuer_url: &'a str,
    /// Start of every `validFor` window (unix seconds): when the state was created.
    pub valid_from: i64,
    pub ca_chain_der: [&'a [u8]; 2],
    pub rekor_key: &'a VerifyingKey,
    pub ct_key: &'a VerifyingKey,
}

/// The RFC 3161 timestamp authority a running stack publishes next to its other services, at
/// [`Published::tsa_url`].
pub struct PublishedTsa<'a> {
    /// Its chain: the timeStamping signing certificate, then the root.
    pub chain_der: [&'a [u8]; 2],
}

fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

fn key_entry(base_url: String, key: &VerifyingKey, start: &str) -> Value {
    json!({
        "baseUrl": base_url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": b64(&spki_der(key)),
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": { "start": start }
        },
        "logId": { "keyId": b64(&key_id(key)) }
    })
}

impl Published<'_> {
    /// The full RFC 3161 POST URL (signing configs list TSAs by their full URL).
    pub fn tsa_url(&self) -> String {
        format!("{}/api/v1/timestamp", self.base_url)
    }

    /// The trusted root without a timestamp authority.
    pub fn trusted_root(&self) -> Value {
        self.trusted_root_with(None)
    }

    pub fn trusted_root_with(&self, tsa: Option<&PublishedTsa<'_>>) -> Value {
        let start = rfc3339(self.valid_from);
        json!({
            "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
            "tlogs": [ key_entry(self.base_url.to_string(), self.rekor_key, &start) ],
            "certificateAuthorities": [ {
                "subject": { "organization": "signet-teststack", "commonName": "signet-teststack root" },
                "uri": self.base_url,
                "certChain": { "certificates": [
                    { "rawBytes": b64(self.ca_chain_der[0]) },
                    { "rawBytes": b64(self.ca_chain_der[1]) }
                ] },
                "validFor": { "start": start }
            } ],
            "ctlogs": [ key_entry(format!("{}/ct", self.base_url), self.ct_key, &start) ],
            "timestampAuthorities": tsa.map(|tsa| json!([ {
                "subject": { "organization": "signet-teststack", "commonName": "signet-teststack tsa" },
                "uri": self.tsa_url(),
                "certChain": { "certificates": [
                    { "rawBytes": b64(tsa.chain_der[0]) },
                    { "rawBytes": b64(tsa.chain_der[1]) }
                ] },
                "validFor": { "start": start }
            } ])).unwrap_or_else(|| json!([]))
        })
    }

    pub fn signing_config(&self, tsa: Option<&PublishedTsa<'_>>) -> Value {
        let start = rfc3339(self.valid_from);
        let service = |url: &str| {
            json!({
                "url": url,
                "majorApiVersion": 1,
                "validFor": { "start": start },
                "operator": "signet-teststack"
            })
        };
        json!({
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [ service(self.base_url) ],
            "oidcUrls": [ service(self.issuer_url) ],
            "rekorTlogUrls": [ service(self.base_url) ],
            "tsaUrls": if tsa.is_some() { json!([ service(&self.tsa_url()) ]) } else { json!([]) },
            "rekorTlogConfig": { "selector": "ANY" },
            "tsaConfig": { "selector": "ANY" }
        })
    }

    pub fn client_trust_config(&self, tsa: Option<&PublishedTsa<'_>>) -> Value {
        json!({
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": self.trusted_root_with(tsa),
            "signingConfig": self.signing_config(tsa)
        })
    }

    /// Shell lines a client sources to use the stack.
    pub fn env(&self, dir: &Path) -> String {
        let q = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
        let root = dir.join(TRUSTED_ROOT_FILE);
        let ctc = dir.join(CLIENT_TRUST_CONFIG_FILE);
        format!(
            "export SIGNET_OIDC_ISSUER={}\nexport SIGNET_FULCIO_URL={}\nexport SIGNET_REKOR_URL={}\nexport SIGNET_TRUSTED_ROOT={}\nexport SIGNET_CLIENT_TRUST_CONFIG={}\nexport SIGNET_TESTSTACK_PID={}\n",
            q(self.issuer_url),
            q(self.base_url),
            q(self.base_url),
            q(&root.to_string_lossy()),
            q(&ctc.to_string_lossy()),
            std::process::id(),
        )
    }

    /// Writes the trust files, then the env file, each atomically.
    pub fn write_all(&self, dir: &Path, tsa: Option<&PublishedTsa<'_>>) -> std::io::Result<()> {
        let pretty = |v: Value| serde_json::to_vec_pretty(&v).unwrap_or_default();
        write_atomic(dir, TRUSTED_ROOT_FILE, &pretty(self.trusted_root_with(tsa)))?;
        write_atomic(
            dir,
            CLIENT_TRUST_CONFIG_FILE,
            &pretty(self.client_trust_config(tsa)),
        )?;
        write_atomic(dir, ENV_FILE, self.env(dir).as_bytes())
    }
}

/// Writes `dir/name` so that readers see the old file or the whole new one, never a part.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(dir.join(name)).map_err(|e| e.error)?;
    Ok(())
}

/// Parses the env file this module writes (`export NAME='value'` lines).
pub fn parse_env(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("export ") else {
            continue;
        };
        let Some((name, quoted)) = rest.split_once('=') else {
            continue;
        };
        let mut value = String::new();
        let mut chars = quoted.chars().peekable();
        let mut in_quote = false;
        while let Some(c) = chars.next() {
            match (c, in_quote) {
                ('\'', false) => in_quote = true,
                ('\'', true) => in_quote = false,
                ('\\', false) => {
                    if let Some(n) = chars.next() {
                        value.push(n)
                    }
                }
                (c, _) => value.push(c),
            }
        }
        out.push((name.to_string(), value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::elliptic_curve::Generate;

    #[test]
    fn env_round_trips_awkward_paths_and_files_are_complete() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("it's a dir");
        std::fs::create_dir(&sub).unwrap();
        let (k1, k2) = (SigningKey::generate(), SigningKey::generate());
        let p = Published {
            base_url: "http://127.0.0.1:9",
            issuer_url: "http://127.0.0.1:9/oidc",
            valid_from: 1_700_000_000,
            ca_chain_der: [b"i", b"r"],
            rekor_key: k1.verifying_key(),
            ct_key: k2.verifying_key(),
        };
        let tsa = PublishedTsa {
            chain_der: [b"t", b"u"],
        };
        p.write_all(&sub, Some(&tsa)).unwrap();
        assert_eq!(p.trusted_root()["timestampAuthorities"], json!([]));
        assert_eq!(p.signing_config(None)["tsaUrls"], json!([]));
        let env = parse_env(&std::fs::read_to_string(sub.join(ENV_FILE)).unwrap());
        let get = |k: &str| {
            env.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("SIGNET_FULCIO_URL"), "http://127.0.0.1:9");
        assert_eq!(
            get("SIGNET_TRUSTED_ROOT"),
            sub.join(TRUSTED_ROOT_FILE).to_string_lossy()
        );
        let root: Value =
            serde_json::from_slice(&std::fs::read(sub.join(TRUSTED_ROOT_FILE)).unwrap()).unwrap();
        assert_eq!(root["mediaType"], TRUSTED_ROOT_MEDIA_TYPE);
        assert_eq!(
            root["tlogs"][0]["publicKey"]["validFor"]["start"],
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            root["tlogs"][0]["logId"]["keyId"],
            b64(&key_id(k1.verifying_key()))
        );
        let ctc: Value =
            serde_json::from_slice(&std::fs::read(sub.join(CLIENT_TRUST_CONFIG_FILE)).unwrap())
                .unwrap();
        assert_eq!(
            ctc["signingConfig"]["rekorTlogUrls"][0]["url"],
            "http://127.0.0.1:9"
        );
        assert_eq!(
            ctc["signingConfig"]["tsaUrls"][0]["url"],
            "http://127.0.0.1:9/api/v1/timestamp"
        );
        let tsa = &root["timestampAuthorities"][0];
        assert_eq!(tsa["uri"], "http://127.0.0.1:9/api/v1/timestamp");
        assert_eq!(tsa["certChain"]["certificates"][0]["rawBytes"], b64(b"t"));
        assert_eq!(tsa["certChain"]["certificates"][1]["rawBytes"], b64(b"u"));
        assert_eq!(tsa["validFor"]["start"], "2023-11-14T22:13:20Z");
    }
}
