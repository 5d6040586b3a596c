//! Resolving configuration: the trusted root (flag/env path, else the embedded public-good root),
//! signing configs, and service URLs (http or https only). Bad values are errors with hints, never defaults.

use std::path::Path;

use super::error::CliError;
use crate::adapters::fs;
use crate::core::signing_config::{MAX_SIGNING_CONFIG_BYTES, Selected, SigningConfig};
use crate::core::time::UnixTime;
use crate::core::trust_root::{MAX_TRUSTED_ROOT_BYTES, TrustedRoot};

/// The Sigstore public-good trusted root shipped with signet.
pub const EMBEDDED_TRUSTED_ROOT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/production_trusted_root.json"
));

/// The trusted root a `--trusted-root` flag names, else the one the settings name, else the
/// embedded public-good root.
pub fn trusted_root_from(
    flag: Option<&Path>,
    settings: &super::settings::Settings,
) -> Result<TrustedRoot, CliError> {
    trusted_root(flag.or(settings.trusted_root.as_deref()))
}

pub fn trusted_root(path: Option<&Path>) -> Result<TrustedRoot, CliError> {
    let Some(path) = path else {
        return TrustedRoot::from_json(EMBEDDED_TRUSTED_ROOT).map_err(|e| {
            CliError::usage(
                format!("embedded trusted root: {e}"),
                "this is a bug in signet",
            )
        });
    };
    let bytes = fs::read_limited(path, MAX_TRUSTED_ROOT_BYTES).map_err(|e| {
        CliError::usage(
            format!("cannot read trusted root {}: {e}", path.display()),
            "check --trusted-root, SIGNET_TRUSTED_ROOT, git config signet.trustedRoot or SIGSTORE_ROOT_FILE",
        )
    })?;
    if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        return Err(CliError::usage(
            format!(
                "trusted root {} is PEM (a certificate bundle, gitsign's SIGSTORE_ROOT_FILE format), not a Sigstore trusted_root.json",
                path.display()
            ),
            "point --trusted-root, SIGNET_TRUSTED_ROOT, signet.trustedRoot or SIGSTORE_ROOT_FILE at a trusted_root.json (CAs, Rekor and CT log keys), or unset them to use the embedded public-good root",
        ));
    }
    TrustedRoot::from_json(&bytes).map_err(|e| {
        CliError::usage(
            format!("trusted root {}: {e}", path.display()),
            "the file must be a Sigstore trusted_root.json (TrustedRoot v0.1/v0.2)",
        )
    })
}

/// Accept an http(s) base URL with a host and nothing after the path.
/// The services a signing config file names for signing at `now`.
pub fn signing_config(path: &Path, now: UnixTime) -> Result<Selected, CliError> {
    let hint = "pass a Sigstore signing config (application/vnd.dev.sigstore.signingconfig.v0.2+json) with --signing-config";
    let bytes = fs::read_limited(path, MAX_SIGNING_CONFIG_BYTES).map_err(|e| {
        CliError::usage(
            format!("cannot read signing config {}: {e}", path.display()),
            hint,
        )
    })?;
    SigningConfig::from_json(&bytes)
        .and_then(|c| c.select(now))
        .map_err(|e| CliError::usage(format!("{}: {e}", path.display()), hint))
}

pub fn service_url(flag: &str, value: &str) -> Result<String, CliError> {
    let hint = format!(
        "{flag} takes a base URL such as https://fulcio.sigstore.dev or http://127.0.0.1:8080"
    );
    let url = reqwest::Url::parse(value).map_err(|e| {
        CliError::usage(format!("{flag} {value:?} is not a URL: {e}"), hint.clone())
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(CliError::usage(
            format!("{flag} {value:?} must be an http or https URL"),
            hint,
        ));
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(CliError::usage(
            format!("{flag} {value:?} must not carry credentials, a query or a fragment"),
            hint,
        ));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            service_url("--x", "http://127.0.0.1:3000/").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            service_url("--x", "https://rekor.sigstore.dev").unwrap(),
            "https://rekor.sigstore.dev"
        );
        for bad in [
            "ftp://x",
            "127.0.0.1:80",
            "",
            "http://u:p@host",
            "https://h/?q=1",
            "file:///tmp",
        ] {
            assert!(service_url("--x", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn embedded_root_loads_and_bad_paths_are_config_errors() {
        trusted_root(None).unwrap();
        let e = trusted_root(Some(Path::new("/nonexistent/trusted_root.json"))).unwrap_err();
        assert_eq!(e.kind, super::super::error::Kind::Usage);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tr.json");
        std::fs::write(&p, b"{\"mediaType\":\"nope\"}").unwrap();
        assert!(
            trusted_root(Some(&p))
                .unwrap_err()
                .message
                .contains("unknown trusted root media type")
        );
    }
}
