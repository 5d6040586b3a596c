//! The settings signing and verification run with, after every source is merged: git config
//! `signet.*`, `SIGNET_*` environment variables, and for keys signet leaves unset the matching
//! `gitsign.*` / `GITSIGN_*` values, so a gitsign user switches by changing
//! `gpg.x509.program`. Unset keys take the public-good defaults.
//!
//! This module owns the typed result and the parsing of each value; an unknown value for a known
//! key is an error naming the key, its source and the accepted values, never a default.

use std::path::PathBuf;
use std::str::FromStr;

use super::error::CliError;
use crate::adapters::gitconfig::{GitConfig, GitError};
use crate::core::policy::Matcher;

pub const DEFAULT_FULCIO_URL: &str = "https://fulcio.sigstore.dev";
pub const DEFAULT_REKOR_URL: &str = "https://rekor.sigstore.dev";
pub const DEFAULT_OIDC_ISSUER: &str = "https://oauth2.sigstore.dev/auth";
pub const DEFAULT_CLIENT_ID: &str = "sigstore";
/// Where stored bundles live unless `signet.notesRef` says otherwise.
pub const DEFAULT_NOTES_REF: &str = "refs/notes/signet";
pub const DEFAULT_HTTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// The longest `signet.httpTimeout` accepted, in seconds.
pub const MAX_HTTP_TIMEOUT_SECS: u64 = 600;

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

/// Where signing caches its key and certificate between commits (`signet.cache`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheMode {
    /// The session's kernel keyring when it works, else the signet agent.
    #[default]
    Auto,
    /// The Linux kernel keyring (the session keyring), with the kernel expiring entries.
    Keyring,
    /// The signet agent: credentials in memory, on a Unix socket only this user can reach.
    Agent,
    /// No cache: every signing logs in.
    Off,
}

impl FromStr for CacheMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "keyring" => Ok(Self::Keyring),
            "agent" => Ok(Self::Agent),
            "false" | "off" | "no" | "0" => Ok(Self::Off),
            _ => Err(format!(
                "unknown cache mode {s:?}; use auto, keyring, agent or false"
            )),
        }
    }
}

/// Parses a timeout in whole seconds, 1 to [`MAX_HTTP_TIMEOUT_SECS`].
pub fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if (1..=MAX_HTTP_TIMEOUT_SECS).contains(&n) => Ok(std::time::Duration::from_secs(n)),
        _ => Err(format!(
            "{s:?} is not a timeout; use a whole number of seconds from 1 to {MAX_HTTP_TIMEOUT_SECS}"
        )),
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
    /// `signet.timestampServerURL`: an RFC 3161 timestamp authority whose token over the
    /// signature is added to it (unsigned attribute id-aa-timeStampToken, as gitsign does).
    pub timestamp_url: Option<String>,
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
    /// `signet.policy`: the policy file for `signet verify` and the pre-receive hook, and
    /// whether it came from git config (a relative path there is relative to the git
    /// directory; from the environment, to the current directory).
    pub policy: Option<(PathBuf, bool)>,
    /// A command run without a shell, given the URL as its last argument; `None` uses the
    /// system opener.
    pub url_opener: Option<String>,
    /// Refuse to sign when the certificate identity differs from the committer/tagger email.
    pub match_committer: bool,
    /// Also write diagnostics to this file.
    pub log_path: Option<PathBuf>,
    /// How long one request to Fulcio, Rekor or the OIDC issuer may take in all.
    pub http_timeout: std::time::Duration,
    /// Verification policy: who must have signed (`signet.verify.identity` or
    /// `signet.verify.identityRegexp`); `None` is the committer-email default.
    pub verify_identity: Option<Matcher>,
    /// The OIDC issuer the certificate must carry (`signet.verify.issuer` or
    /// `signet.verify.issuerRegexp`); `None` accepts any issuer the trusted root's CAs certify.
    pub verify_issuer: Option<Matcher>,
    /// Look up the log entry of signatures that embed none in `rekor_url` (gitsign online mode).
    pub verify_online: bool,
    /// The credential cache (`signet.cache`).
    pub cache: CacheMode,
    /// `signet.notesRef`: the notes ref holding stored bundles (full name).
    pub notes_ref: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            fulcio_url: DEFAULT_FULCIO_URL.into(),
            rekor_url: DEFAULT_REKOR_URL.into(),
            timestamp_url: None,
            oidc_issuer: DEFAULT_OIDC_ISSUER.into(),
            client_id: DEFAULT_CLIENT_ID.into(),
            redirect_url: None,
            connector_id: None,
            token_provider: None,
            token_file: None,
            rekor_mode: RekorMode::Offline,
            trusted_root: None,
            policy: None,
            url_opener: None,
            match_committer: false,
            log_path: None,
            http_timeout: DEFAULT_HTTP_TIMEOUT,
            verify_identity: None,
            verify_issuer: None,
            verify_online: false,
            cache: CacheMode::Auto,
            notes_ref: DEFAULT_NOTES_REF.into(),
        }
    }
}

/// One configuration key: its git name (under `signet.`), its environment variable, and the
/// gitsign spellings used when no signet value is set.
struct Key {
    /// The variable name under `signet.` (and `gitsign.`), camel-cased as documented.
    git: &'static str,
    env: &'static str,
    /// gitsign reads the same variable name as git config `gitsign.<git>`.
    gitsign_git: bool,
    gitsign_env: Option<&'static str>,
}

const fn key(
    git: &'static str,
    env: &'static str,
    gitsign_git: bool,
    gitsign_env: Option<&'static str>,
) -> Key {
    Key {
        git,
        env,
        gitsign_git,
        gitsign_env,
    }
}

const FULCIO: Key = key(
    "fulcio",
    "SIGNET_FULCIO_URL",
    true,
    Some("GITSIGN_FULCIO_URL"),
);
const REKOR: Key = key("rekor", "SIGNET_REKOR_URL", true, Some("GITSIGN_REKOR_URL"));
const ISSUER: Key = key(
    "issuer",
    "SIGNET_OIDC_ISSUER",
    true,
    Some("GITSIGN_OIDC_ISSUER"),
);
const CLIENT_ID: Key = key(
    "clientID",
    "SIGNET_OIDC_CLIENT_ID",
    true,
    Some("GITSIGN_OIDC_CLIENT_ID"),
);
const REDIRECT_URL: Key = key(
    "redirectURL",
    "SIGNET_OIDC_REDIRECT_URL",
    true,
    Some("GITSIGN_OIDC_REDIRECT_URL"),
);
const CONNECTOR_ID: Key = key(
    "connectorID",
    "SIGNET_CONNECTOR_ID",
    true,
    Some("GITSIGN_CONNECTOR_ID"),
);
const TOKEN_PROVIDER: Key = key(
    "tokenProvider",
    "SIGNET_TOKEN_PROVIDER",
    true,
    Some("GITSIGN_TOKEN_PROVIDER"),
);
const TOKEN_FILE: Key = key("tokenFile", "SIGNET_TOKEN_FILE", false, None);
const REKOR_MODE: Key = key(
    "rekorMode",
    "SIGNET_REKOR_MODE",
    true,
    Some("GITSIGN_REKOR_MODE"),
);
/// `SIGSTORE_ROOT_FILE` is read last (sigstore clients' variable); it must name a
/// trusted_root.json, not gitsign's PEM bundle.
const TRUSTED_ROOT: Key = key(
    "trustedRoot",
    "SIGNET_TRUSTED_ROOT",
    false,
    Some("SIGSTORE_ROOT_FILE"),
);
const URL_OPENER: Key = key(
    "urlOpener",
    "SIGNET_URL_OPENER",
    true,
    Some("GITSIGN_URL_OPENER"),
);
const MATCH_COMMITTER: Key = key("matchCommitter", "SIGNET_MATCH_COMMITTER", true, None);
const LOG_PATH: Key = key("logPath", "SIGNET_LOG", true, Some("GITSIGN_LOG"));
const HTTP_TIMEOUT: Key = key("httpTimeout", "SIGNET_HTTP_TIMEOUT", false, None);
const VERIFY_IDENTITY: Key = key("verify.identity", "SIGNET_VERIFY_IDENTITY", false, None);
const VERIFY_IDENTITY_REGEXP: Key = key(
    "verify.identityRegexp",
    "SIGNET_VERIFY_IDENTITY_REGEXP",
    false,
    None,
);
const VERIFY_ISSUER: Key = key("verify.issuer", "SIGNET_VERIFY_ISSUER", false, None);
const VERIFY_ISSUER_REGEXP: Key = key(
    "verify.issuerRegexp",
    "SIGNET_VERIFY_ISSUER_REGEXP",
    false,
    None,
);
const VERIFY_ONLINE: Key = key("verify.online", "SIGNET_VERIFY_ONLINE", false, None);
const CACHE: Key = key("cache", "SIGNET_CACHE", false, None);
const POLICY: Key = key("policy", "SIGNET_POLICY", false, None);
const NOTES_REF: Key = key("notesRef", "SIGNET_NOTES_REF", false, None);
const TIMESTAMP_URL: Key = key(
    "timestampServerURL",
    "SIGNET_TIMESTAMP_SERVER_URL",
    true,
    Some("GITSIGN_TIMESTAMP_SERVER_URL"),
);

/// Every key signet reads, in documentation order.
const KEYS: [&Key; 23] = [
    &FULCIO,
    &REKOR,
    &ISSUER,
    &CLIENT_ID,
    &REDIRECT_URL,
    &CONNECTOR_ID,
    &TOKEN_PROVIDER,
    &TOKEN_FILE,
    &REKOR_MODE,
    &TIMESTAMP_URL,
    &TRUSTED_ROOT,
    &URL_OPENER,
    &MATCH_COMMITTER,
    &LOG_PATH,
    &HTTP_TIMEOUT,
    &VERIFY_IDENTITY,
    &VERIFY_IDENTITY_REGEXP,
    &VERIFY_ISSUER,
    &VERIFY_ISSUER_REGEXP,
    &VERIFY_ONLINE,
    &CACHE,
    &POLICY,
    &NOTES_REF,
];

/// Every environment variable [`resolve`] reads (for callers that check the process environment
/// for values that are not UTF-8).
pub fn env_names() -> impl Iterator<Item = &'static str> {
    KEYS.iter()
        .flat_map(|k| [Some(k.env), k.gitsign_env])
        .flatten()
        .chain(["GITSIGN_FULCIO_ROOT"])
}

/// Where a value came from, spelled as the user would find it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Env(&'static str),
    Git(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Env(name) => write!(f, "environment {name}"),
            Source::Git(name) => write!(f, "git config {name}"),
        }
    }
}

impl Source {
    /// How to change or remove the value, for hints.
    fn how_to_change(&self) -> String {
        match self {
            Source::Env(name) => format!("set {name} to a valid value or unset it"),
            Source::Git(name) => format!(
                "set {name} to a valid value or remove it (git config --show-origin --get-all {name} shows which file sets it)"
            ),
        }
    }
}

struct Found {
    value: String,
    source: Source,
}

/// The value of `key` from the first source that sets it: `SIGNET_*` environment, git
/// `signet.*`, `GITSIGN_*` environment, git `gitsign.*`. An empty environment variable counts
/// as unset (so `SIGNET_X= git commit` clears an inherited value); an empty git value is kept
/// and rejected by the key's validation, except for booleans where git reads it as false.
fn lookup(
    key: &Key,
    git: &dyn Fn(&str) -> Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<Found> {
    let from_env = |name: &'static str| {
        env(name).filter(|v| !v.is_empty()).map(|value| Found {
            value,
            source: Source::Env(name),
        })
    };
    let from_git = |section: &str| {
        let name = format!("{section}.{}", key.git);
        git(&name).map(|value| Found {
            value,
            source: Source::Git(name),
        })
    };
    from_env(key.env)
        .or_else(|| from_git("signet"))
        .or_else(|| key.gitsign_env.and_then(from_env))
        .or_else(|| key.gitsign_git.then(|| from_git("gitsign")).flatten())
}

fn invalid(found: &Found, problem: impl std::fmt::Display, accepted: &str) -> CliError {
    CliError::usage(
        format!("{} = {:?}: {problem}", found.source, found.value),
        format!("{accepted}; {}", found.source.how_to_change()),
    )
}

/// A base URL (Fulcio, Rekor): http(s), a host, no credentials, query or fragment; the trailing
/// slash is dropped.
fn base_url(found: &Found) -> Result<String, CliError> {
    super::config::service_url(&found.source.to_string(), &found.value).map_err(|e| {
        CliError::usage(
            e.message,
            format!(
                "use an http or https URL such as https://fulcio.sigstore.dev or http://127.0.0.1:8080; {}",
                found.source.how_to_change()
            ),
        )
    })
}

/// A URL compared byte for byte by the other side (OIDC issuer, redirect URL): validated like a
/// base URL but kept exactly as written.
fn exact_url(found: &Found) -> Result<String, CliError> {
    base_url(found)?;
    Ok(found.value.clone())
}

fn non_empty(found: &Found, what: &str) -> Result<String, CliError> {
    if found.value.trim().is_empty() {
        return Err(invalid(found, "the value is empty", &format!("use {what}")));
    }
    Ok(found.value.clone())
}

/// A file path; `~/` at the start of a git config value is the home directory, as git's own
/// `--type=path` does.
fn path(found: &Found, env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, CliError> {
    let value = non_empty(found, "a file path")?;
    if let Source::Git(_) = found.source
        && let Some(rest) = value.strip_prefix("~/")
    {
        let home = env("HOME").filter(|h| !h.is_empty()).ok_or_else(|| {
            invalid(
                found,
                "HOME is not set, so ~/ cannot be expanded",
                "use an absolute path",
            )
        })?;
        return Ok(PathBuf::from(home).join(rest));
    }
    Ok(PathBuf::from(value))
}

/// A URL-opener command. gitsign's value is a Go template ending in `{{.URL}}`; signet appends
/// the URL itself, so a trailing `{{.URL}}` (optionally quoted, spaces inside the braces allowed)
/// is removed. A template anywhere else cannot be honoured and is rejected.
fn url_opener(found: &Found) -> Result<String, CliError> {
    let accepted = "use a command (run without a shell, given the URL as its last argument), e.g. \"firefox --new-window\"";
    let mut command = found.value.trim();
    for (open, close) in [("\"", "\""), ("'", "'"), ("", "")] {
        if let Some(before) = command.strip_suffix(close)
            && let Some(at) = before.rfind(&format!("{open}{{{{"))
            && let Some(inner) = before[at + open.len() + 2..].strip_suffix("}}")
            && inner.trim() == ".URL"
        {
            command = before[..at].trim_end();
            break;
        }
    }
    if command.contains("{{") {
        return Err(invalid(
            found,
            "a template other than a trailing {{.URL}} is not supported",
            accepted,
        ));
    }
    if command.is_empty() {
        return Err(invalid(found, "the command is empty", accepted));
    }
    Ok(command.to_owned())
}

fn parsed<T>(
    found: &Found,
    parse: impl Fn(&str) -> Result<T, String>,
    accepted: &str,
) -> Result<T, CliError> {
    parse(&found.value).map_err(|e| invalid(found, e, accepted))
}

/// The settings of this process: git config (see [`crate::adapters::gitconfig`]) and the
/// environment, resolved by [`resolve`]. When `log_path` is set, the diagnostics file is opened
/// here ([`super::output::set_log_file`]), so everything after, warnings included, is also
/// written there. Warnings about ignored keys go to stderr once per process.
pub fn load() -> Result<Settings, CliError> {
    for name in env_names() {
        if let Some(value) = std::env::var_os(name)
            && value.to_str().is_none()
        {
            return Err(CliError::usage(
                format!("environment {name} is not valid UTF-8"),
                format!("set {name} to a UTF-8 value or unset it"),
            ));
        }
    }
    let config = GitConfig::read().map_err(|e| {
        let hint = match e {
            GitError::Spawn(_) => "signet reads its settings with git; install git or put it on PATH",
            _ => "fix the git configuration error above (git config --list --show-origin shows where each value comes from)",
        };
        CliError::usage(format!("reading git config: {e}"), hint)
    })?;
    let env = |name: &str| std::env::var(name).ok();
    let git = |name: &str| config.get(name);
    let settings = resolve(&git, &env)?;
    if let Some(path) = &settings.log_path {
        super::output::set_log_file(path)?;
    }
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        for w in warnings(&git, &env)
            .into_iter()
            .chain(unknown_keys(config.names()))
        {
            super::output::warning(w);
        }
    });
    Ok(settings)
}

/// Resolves every key from `git` (a git config lookup by full key name such as
/// `signet.rekorMode`; the caller matches names case-insensitively, as git does) and `env` (an
/// environment lookup). Per key: `SIGNET_*` environment, then git `signet.*`, then `GITSIGN_*`
/// environment, then git `gitsign.*`, then the default. A bad value is an error naming the key,
/// where it came from, the value and what is accepted.
///
/// `rekorMode` defaults to `offline` even when only gitsign keys are set (gitsign's default is
/// `online`).
pub fn resolve(
    git: &dyn Fn(&str) -> Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, CliError> {
    let get = |key: &Key| lookup(key, git, env);
    let d = Settings::default();
    Ok(Settings {
        fulcio_url: get(&FULCIO).map_or(Ok(d.fulcio_url), |f| base_url(&f))?,
        rekor_url: get(&REKOR).map_or(Ok(d.rekor_url), |f| base_url(&f))?,
        timestamp_url: get(&TIMESTAMP_URL).map(|f| exact_url(&f)).transpose()?,
        oidc_issuer: get(&ISSUER).map_or(Ok(d.oidc_issuer), |f| exact_url(&f))?,
        client_id: get(&CLIENT_ID).map_or(Ok(d.client_id), |f| non_empty(&f, "an OIDC client id such as sigstore"))?,
        redirect_url: get(&REDIRECT_URL).map(|f| exact_url(&f)).transpose()?,
        connector_id: get(&CONNECTOR_ID)
            .map(|f| non_empty(&f, "a Dex connector id such as github"))
            .transpose()?,
        token_provider: get(&TOKEN_PROVIDER)
            .map(|f| parsed(&f, str::parse, "use one of env, github-actions, file, browser, device (gitsign's envvar, filesystem, interactive are accepted)"))
            .transpose()?,
        token_file: get(&TOKEN_FILE).map(|f| path(&f, env)).transpose()?,
        rekor_mode: get(&REKOR_MODE).map_or(Ok(d.rekor_mode), |f| {
            parsed(&f, str::parse, "use offline or online")
        })?,
        trusted_root: get(&TRUSTED_ROOT).map(|f| path(&f, env)).transpose()?,
        policy: get(&POLICY)
            .map(|f| {
                let p = path(&f, env)?;
                let in_git_config = matches!(f.source, Source::Git(_));
                Ok::<_, CliError>((p, in_git_config))
            })
            .transpose()?,
        url_opener: get(&URL_OPENER).map(|f| url_opener(&f)).transpose()?,
        match_committer: get(&MATCH_COMMITTER).map_or(Ok(d.match_committer), |f| {
            parsed(&f, parse_bool, "use true or false")
        })?,
        log_path: get(&LOG_PATH).map(|f| path(&f, env)).transpose()?,
        http_timeout: get(&HTTP_TIMEOUT).map_or(Ok(d.http_timeout), |f| {
            parsed(&f, parse_timeout, "use a whole number of seconds from 1 to 600")
        })?,
        verify_identity: matcher(
            get(&VERIFY_IDENTITY),
            get(&VERIFY_IDENTITY_REGEXP),
            "identity",
        )?,
        verify_issuer: matcher(get(&VERIFY_ISSUER), get(&VERIFY_ISSUER_REGEXP), "issuer")?,
        verify_online: get(&VERIFY_ONLINE).map_or(Ok(d.verify_online), |f| {
            parsed(&f, parse_bool, "use true or false")
        })?,
        cache: get(&CACHE).map_or(Ok(d.cache), |f| {
            parsed(&f, str::parse, "use auto, keyring, agent or false")
        })?,
        notes_ref: get(&NOTES_REF).map_or(Ok(d.notes_ref), |f| {
            parsed(
                &f,
                parse_notes_ref,
                "use a ref name such as refs/notes/signet (a short name goes under refs/notes/)",
            )
        })?,
    })
}

/// A notes ref as `git notes --ref` expands it: `refs/notes/X` as is, `notes/X` under `refs/`,
/// anything else under `refs/notes/`; the result must be a valid ref name.
pub fn parse_notes_ref(s: &str) -> Result<String, String> {
    let full = if s.starts_with("refs/notes/") {
        s.to_owned()
    } else if s.starts_with("notes/") {
        format!("refs/{s}")
    } else {
        format!("refs/notes/{s}")
    };
    if full.len() > "refs/notes/".len()
        && gix::refs::FullName::try_from(full.as_str()).is_ok()
        && !full.ends_with('/')
    {
        Ok(full)
    } else {
        Err(format!("{s:?} is not a valid notes ref name"))
    }
}

/// A policy value: exact or regular expression, not both.
fn matcher(
    exact: Option<Found>,
    regexp: Option<Found>,
    what: &'static str,
) -> Result<Option<Matcher>, CliError> {
    match (exact, regexp) {
        (Some(e), Some(r)) => Err(CliError::usage(
            format!(
                "{} and {} are both set; a policy takes an exact {what} or a regular expression",
                e.source, r.source
            ),
            format!("remove one of them; {}", r.source.how_to_change()),
        )),
        (Some(e), None) => Matcher::exact(&e.value, what)
            .map(Some)
            .map_err(|err| invalid(&e, err, &format!("use the exact {what}"))),
        (None, Some(r)) => Matcher::regex(&r.value, what).map(Some).map_err(|err| {
            invalid(
                &r,
                err,
                "use a regular expression (RE2 syntax) that matches the whole value",
            )
        }),
        (None, None) => Ok(None),
    }
}

/// A warning for each `signet.*` name (as git prints them, lowercased) that is not a setting,
/// so a misspelt key does not go unnoticed.
pub fn unknown_keys<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen: Vec<&str> = Vec::new();
    for name in names {
        let Some(var) = name.strip_prefix("signet.") else {
            continue;
        };
        if !KEYS.iter().any(|k| k.git.eq_ignore_ascii_case(var)) && !seen.contains(&name) {
            seen.push(name);
        }
    }
    seen.into_iter()
        .map(|name| {
            format!(
                "git config {name} is not a signet setting and is ignored; the settings are {}",
                KEYS.iter().map(|k| k.git).collect::<Vec<_>>().join(", ")
            )
        })
        .collect()
}

/// What [`resolve`] ignores on purpose and the user should know about.
pub fn warnings(
    git: &dyn Fn(&str) -> Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    if lookup(&TRUSTED_ROOT, git, env).is_none() {
        let fulcio_root = env("GITSIGN_FULCIO_ROOT")
            .filter(|v| !v.is_empty())
            .map(|_| "environment GITSIGN_FULCIO_ROOT")
            .or_else(|| git("gitsign.fulcioRoot").map(|_| "git config gitsign.fulcioRoot"));
        if let Some(source) = fulcio_root {
            out.push(format!(
                "{source} is ignored: it names a PEM bundle of Fulcio certificates, while signet needs a Sigstore trusted_root.json (CAs, Rekor and CT log keys); set signet.trustedRoot or SIGNET_TRUSTED_ROOT, or unset it to use the embedded public-good root"
            ));
        }
    }
    out
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
