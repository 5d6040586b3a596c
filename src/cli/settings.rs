//! The settings signing and verification run with, after every source is merged: git config
//! `signet.*`, `SIGNET_*` environment variables, and for keys signet leaves unset the matching
//! `gitsign.*` / `GITSIGN_*` values, so a gitsign user switches by changing
//! `gpg.x509.program`. Unset keys take the public-good defaults.
//!
//! This module owns the typed result and the parsing of each value; an unknown value for a known
//! key is an error naming the key, its source and the accepted values, never a default.

use std::path::PathBuf;
use std::str::FromStr;

pub const DEFAULT_FULCIO_URL: &str = "https://fulcio.sigstore.dev";
pub const DEFAULT_REKOR_URL: &str = "https://rekor.sigstore.dev";
pub const DEFAULT_OIDC_ISSUER: &str = "https://oauth2.sigstore.dev/auth";
pub const DEFAULT_CLIENT_ID: &str = "sigstore";

/// Where an identity token comes from (`signet.tokenProvider`). Unset means: the environment
/// token, then GitHub Actions, then the token file, then the browser flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProvider {
    /// `SIGSTORE_ID_TOKEN` (gitsign's `envvar`).
    Env,
    /// GitHub Actions ambient credentials (`github-actions`).
    GithubActions,
    /// `signet.tokenFile` (gitsign's `filesystem`).
    File,
    /// The browser flow with a loopback redirect (gitsign's `interactive`).
    Browser,
    /// The RFC 8628 device flow (`device`).
    Device,
}

impl FromStr for TokenProvider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "env" | "envvar" => Self::Env,
            "github-actions" => Self::GithubActions,
            "file" | "filesystem" => Self::File,
            "browser" | "interactive" => Self::Browser,
            "device" => Self::Device,
            _ => {
                return Err(format!(
                    "unknown token provider {s:?}; use one of env, github-actions, file, browser, device"
                ));
            }
        })
    }
}

/// How signatures are recorded in the transparency log (`signet.rekorMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RekorMode {
    /// Log a hashedrekord over the signed attributes and embed the entry (with its proof) in
    /// the signature, so it verifies with no network. The default.
    #[default]
    Offline,
    /// gitsign's online mode: log a hashedrekord over the commit id; nothing is embedded.
    Online,
}

impl FromStr for RekorMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "offline" => Ok(Self::Offline),
            "online" => Ok(Self::Online),
            _ => Err(format!("unknown rekor mode {s:?}; use offline or online")),
        }
    }
}

/// Parses a git-style boolean (`true/yes/on/1`, `false/no/off/0`), case-insensitively.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" | "" => Ok(false),
        _ => Err(format!("{s:?} is not a boolean; use true or false")),
    }
}

/// Everything signing and verification are configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub fulcio_url: String,
    pub rekor_url: String,
    pub oidc_issuer: String,
    pub client_id: String,
    /// A fixed loopback redirect URL for the browser flow; `None` picks a free port.
    pub redirect_url: Option<String>,
    /// Dex connector preselection (`connector_id` parameter).
    pub connector_id: Option<String>,
    pub token_provider: Option<TokenProvider>,
    pub token_file: Option<PathBuf>,
    pub rekor_mode: RekorMode,
    /// `None`: the public-good trusted root embedded in signet.
    pub trusted_root: Option<PathBuf>,
    /// A command run without a shell, given the URL as its last argument; `None` uses the
    /// system opener.
    pub url_opener: Option<String>,
    /// Refuse to sign when the certificate identity differs from the committer/tagger email.
    pub match_committer: bool,
    /// Also write diagnostics to this file.
    pub log_path: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            fulcio_url: DEFAULT_FULCIO_URL.into(),
            rekor_url: DEFAULT_REKOR_URL.into(),
            oidc_issuer: DEFAULT_OIDC_ISSUER.into(),
            client_id: DEFAULT_CLIENT_ID.into(),
            redirect_url: None,
            connector_id: None,
            token_provider: None,
            token_file: None,
            rekor_mode: RekorMode::Offline,
            trusted_root: None,
            url_opener: None,
            match_committer: false,
            log_path: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_strictly_with_gitsign_spellings() {
        assert_eq!("interactive".parse(), Ok(TokenProvider::Browser));
        assert_eq!("FileSystem".parse(), Ok(TokenProvider::File));
        assert!("spiffe".parse::<TokenProvider>().unwrap_err().contains("unknown token provider"));
        assert_eq!("Online".parse(), Ok(RekorMode::Online));
        assert!("sometimes".parse::<RekorMode>().is_err());
        assert_eq!(parse_bool("Yes"), Ok(true));
        assert!(parse_bool("maybe").is_err());
        assert_eq!(Settings::default().rekor_mode, RekorMode::Offline);
    }
}
