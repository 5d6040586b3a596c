//! The credential cache on the command line: which deployment a signing belongs to (its scope),
//! taking a usable key from the agent (anything unusable is skipped with a warning and signing
//! logs in instead), storing a fresh key after a login (starting the agent on demand), and the
//! `signet login`, `logout`, `status` and `agent` commands. See docs/cache.md.

use std::path::PathBuf;
use std::time::Duration;

use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};
use zeroize::Zeroizing;

use super::args::{AgentArgs, LoginArgs};
use super::error::CliError;
use super::settings::{self, CacheMode, Settings};
use super::{config, login, output};
use crate::adapters::agent::{self, AgentClient};
use crate::adapters::clock::SystemClock;
use crate::adapters::fulcio::FulcioClient;
use crate::adapters::http::HttpClient;
#[cfg(target_os = "linux")]
use crate::adapters::keyring::KeyringStore;
use crate::core::agent_proto::EntrySummary;
use crate::core::credential::{Credential, Scope};
use crate::core::signing;
use crate::core::time::UnixTime;
use crate::core::trust_root::TrustedRoot;
use crate::flow::Clock;
use crate::flow::sign_commit::{IssuedKey, issue_key};

/// A cached certificate is used only while it stays valid this much longer than one request may
/// take (`signet.httpTimeout`): the log must integrate the signature while the certificate is
/// valid, allowing for some clock skew.
pub const MARGIN_SECS: i64 = 30;
/// How long one request to the agent may take.
const AGENT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long before its expiry a cached certificate stops being used, for these settings.
pub fn margin_secs(settings: &Settings) -> i64 {
    MARGIN_SECS.saturating_add(i64::try_from(settings.http_timeout.as_secs()).unwrap_or(i64::MAX))
}

/// The deployment and login a credential belongs to.
pub fn scope(settings: &Settings) -> Scope {
    Scope {
        fulcio_url: settings.fulcio_url.clone(),
        oidc_issuer: settings.oidc_issuer.clone(),
        client_id: settings.client_id.clone(),
    }
}

/// Where credentials are kept.
enum Backend {
    #[cfg(target_os = "linux")]
    Keyring(KeyringStore),
    Agent {
        client: AgentClient,
        socket: PathBuf,
    },
}

/// The cache as configured; `None` when `signet.cache` is false or no store works.
pub struct Cache {
    backend: Backend,
    scope_key: String,
    issuer: String,
    margin: i64,
}

impl Cache {
    pub fn open(settings: &Settings) -> Option<Cache> {
        let agent = || {
            let socket = agent::default_socket_path();
            Backend::Agent {
                client: AgentClient::new(socket.clone(), AGENT_TIMEOUT),
                socket,
            }
        };
        let backend = match settings.cache {
            CacheMode::Off => return None,
            CacheMode::Agent => agent(),
            #[cfg(target_os = "linux")]
            CacheMode::Auto => KeyringStore::probe().map_or_else(|_| agent(), Backend::Keyring),
            #[cfg(target_os = "linux")]
            CacheMode::Keyring => match KeyringStore::probe() {
                Ok(store) => Backend::Keyring(store),
                Err(e) => {
                    output::warning(format_args!(
                        "signet.cache = keyring, but {e}; signing goes on without a cache"
                    ));
                    return None;
                }
            },
            #[cfg(not(target_os = "linux"))]
            CacheMode::Auto => agent(),
            #[cfg(not(target_os = "linux"))]
            CacheMode::Keyring => {
                output::warning(
                    "signet.cache = keyring is supported on Linux only; signing goes on without a cache",
                );
                return None;
            }
        };
        Some(Cache {
            backend,
            scope_key: scope(settings).key(),
            issuer: settings.oidc_issuer.clone(),
            margin: margin_secs(settings),
        })
    }

    /// What `signet status` says the store is.
    fn describe(&self) -> String {
        match &self.backend {
            #[cfg(target_os = "linux")]
            Backend::Keyring(_) => "the session's kernel keyring (keyutils)".into(),
            Backend::Agent { socket, .. } => format!("signet agent at {}", socket.display()),
        }
    }

    fn get(&self, runtime: &tokio::runtime::Runtime) -> Result<Option<Credential>, Option<String>> {
        match &self.backend {
            #[cfg(target_os = "linux")]
            Backend::Keyring(store) => store.get(&self.scope_key).map_err(|e| Some(e.to_string())),
            Backend::Agent { client, .. } => match runtime.block_on(client.get(&self.scope_key)) {
                Ok(c) => Ok(c),
                Err(e) if e.is_not_running() => Err(None),
                Err(e) => Err(Some(e.to_string())),
            },
        }
    }

    /// A cached key for this scope that is safe to sign with now: its certificate stays valid
    /// for the margin, was issued by the configured OIDC issuer, is for `committer` when
    /// `signet.matchCommitter` asks for one, and still verifies against `root` as the
    /// certificate of this key. `None` (with a message when something was wrong) otherwise.
    pub fn load(
        &self,
        runtime: &tokio::runtime::Runtime,
        root: &TrustedRoot,
        now: UnixTime,
        committer: Option<&str>,
    ) -> Option<IssuedKey> {
        let credential = match self.get(runtime) {
            Ok(Some(c)) => c,
            Ok(None) | Err(None) => return None,
            Err(Some(e)) => {
                output::warning(format_args!(
                    "the credential cache cannot be used ({e}); logging in instead"
                ));
                return None;
            }
        };
        let skip = |why: String| {
            output::info(format_args!("{why}; logging in again"));
            None
        };
        if !credential.usable_at(now, self.margin) {
            return skip(format!(
                "the cached certificate for {} expires at {}",
                credential.identity, credential.not_after
            ));
        }
        if credential.issuer.as_deref() != Some(self.issuer.as_str()) {
            return skip(format!(
                "the cached certificate was issued for {} by {}, not by the configured {}",
                credential.identity,
                credential.issuer.as_deref().unwrap_or("an unknown issuer"),
                self.issuer
            ));
        }
        if let Some(email) = committer
            && email != credential.identity
        {
            return skip(format!(
                "the cached certificate is for {}, not the committer {email} (signet.matchCommitter)",
                credential.identity
            ));
        }
        match issued_from(&credential, root, now) {
            Ok(issued) => Some(issued),
            Err(problem) => {
                output::warning(format_args!(
                    "the cached credential for {} is not usable ({problem}); logging in instead",
                    credential.identity
                ));
                None
            }
        }
    }

    /// Keep `issued` for the next signing; problems are warnings (signing goes on without a
    /// cache). Starts the agent when none is running.
    pub fn store(&self, runtime: &tokio::runtime::Runtime, issued: &IssuedKey) {
        if let Err(e) = self.try_store(runtime, issued) {
            output::warning(format_args!(
                "the credential was not cached ({e}); the next signing will log in again"
            ));
        }
    }

    /// Forget this scope's credential; problems are ignored (the next load checks again).
    pub fn forget(&self, runtime: &tokio::runtime::Runtime) {
        let _ = self.delete(runtime);
    }

    fn delete(&self, runtime: &tokio::runtime::Runtime) -> Result<bool, String> {
        match &self.backend {
            #[cfg(target_os = "linux")]
            Backend::Keyring(store) => store.delete(&self.scope_key).map_err(|e| e.to_string()),
            Backend::Agent { client, .. } => match runtime.block_on(client.delete(&self.scope_key))
            {
                Ok(found) => Ok(found),
                Err(e) if e.is_not_running() => Ok(false),
                Err(e) => Err(e.to_string()),
            },
        }
    }

    fn list(&self, runtime: &tokio::runtime::Runtime) -> Result<Option<Vec<EntrySummary>>, String> {
        match &self.backend {
            #[cfg(target_os = "linux")]
            Backend::Keyring(store) => store.list().map(Some).map_err(|e| e.to_string()),
            Backend::Agent { client, .. } => match runtime.block_on(client.list()) {
                Ok(entries) => Ok(Some(entries)),
                Err(e) if e.is_not_running() => Ok(None),
                Err(e) => Err(e.to_string()),
            },
        }
    }

    fn try_store(
        &self,
        runtime: &tokio::runtime::Runtime,
        issued: &IssuedKey,
    ) -> Result<(), String> {
        let credential = credential_from(&self.scope_key, issued)?;
        match &self.backend {
            #[cfg(target_os = "linux")]
            Backend::Keyring(store) => store
                .put(&credential, SystemClock.now())
                .map_err(|e| e.to_string()),
            Backend::Agent { client, socket } => match runtime.block_on(client.put(&credential)) {
                Ok(()) => Ok(()),
                Err(e) if e.is_not_running() => {
                    let exe = std::env::current_exe()
                        .map_err(|e| format!("cannot find the signet executable: {e}"))?;
                    agent::spawn_agent(&exe, socket).map_err(|e| e.to_string())?;
                    runtime
                        .block_on(client.put(&credential))
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            },
        }
    }
}

/// The cache's form of a freshly issued key.
fn credential_from(scope_key: &str, issued: &IssuedKey) -> Result<Credential, String> {
    let document = issued
        .key
        .to_pkcs8_der()
        .map_err(|e| format!("cannot encode the key: {e}"))?;
    let pkcs8 = Zeroizing::new(document.as_bytes().to_vec());
    Credential::new(scope_key.to_owned(), pkcs8, issued.leaf.der.clone()).map_err(|e| e.to_string())
}

/// A cached credential as a signing key, re-checked now: the certificate is for this key and
/// chains (with its SCT) to the trusted root.
fn issued_from(
    credential: &Credential,
    root: &TrustedRoot,
    now: UnixTime,
) -> Result<IssuedKey, String> {
    let key = credential.signing_key().map_err(|e| e.to_string())?;
    let spki = key
        .verifying_key()
        .to_public_key_der()
        .map_err(|e| e.to_string())?;
    let leaf = signing::check_issued_certificate(
        std::slice::from_ref(&credential.leaf_der),
        spki.as_bytes(),
        root,
        now,
    )
    .map_err(|e| e.to_string())?;
    Ok(IssuedKey { key, leaf })
}

fn cache_or_error(settings: &Settings) -> Result<Cache, CliError> {
    Cache::open(settings).ok_or_else(|| {
        CliError::usage(
            "the credential cache is off (signet.cache = false)",
            "set signet.cache to auto (the default) to log in once for several signings",
        )
    })
}

/// `signet login`: log in, get a certificate and cache it.
pub fn run_login(_args: LoginArgs) -> Result<(), CliError> {
    agent::harden_process();
    let settings = settings::load()?;
    let cache = cache_or_error(&settings)?;
    let root = config::trusted_root(settings.trusted_root.as_deref())?;
    let fulcio_url =
        config::service_url("signet.fulcio (SIGNET_FULCIO_URL)", &settings.fulcio_url)?;
    let token = login::obtain_token(&settings)?;
    let http = HttpClient::with_timeout(settings.http_timeout)
        .map_err(|e| CliError::usage(e, "this is a bug in signet"))?;
    let fulcio = FulcioClient::new(http, &fulcio_url);
    let runtime = super::runtime()?;
    let issued = runtime
        .block_on(issue_key(&fulcio, &SystemClock, &root, &token))
        .map_err(|e| super::gpg::from_payload_sign(e, &settings))?;
    drop(token);
    let credential = credential_from(&cache.scope_key, &issued)
        .map_err(|e| CliError::usage(e, "this is a bug in signet"))?;
    cache.try_store(&runtime, &issued).map_err(|e| {
        CliError::usage(
            format!("cannot cache the credential: {e}"),
            "see signet status; SIGNET_AGENT_SOCKET chooses the agent's socket, signet.cache the store",
        )
    })?;
    let now = SystemClock.now();
    output::result_line(format_args!(
        "logged in as {} (issuer {}); the certificate is valid until {} ({} s), and signing uses it until {} s before then ({})",
        credential.identity,
        credential.issuer.as_deref().unwrap_or("none"),
        credential.not_after,
        credential.not_after.0.saturating_sub(now.0),
        cache.margin,
        cache.describe()
    ));
    Ok(())
}

/// `signet logout`: forget this scope's credential.
pub fn run_logout() -> Result<(), CliError> {
    let settings = settings::load()?;
    let cache = cache_or_error(&settings)?;
    let runtime = super::runtime()?;
    match cache.delete(&runtime) {
        Ok(true) => output::result_line(format_args!(
            "logged out: the cached credential for {} is gone",
            settings.fulcio_url
        )),
        Ok(false) => output::result_line("no credential was cached for this Fulcio and issuer"),
        Err(e) => return Err(cache_error(e)),
    }
    Ok(())
}

fn cache_error(e: impl std::fmt::Display) -> CliError {
    CliError::usage(
        format!("the credential cache: {e}"),
        "signet status shows the store in use; SIGNET_AGENT_SOCKET chooses the agent's socket, signet.cache the store",
    )
}

/// `signet status`: the cache backend and what it holds.
pub fn run_status() -> Result<(), CliError> {
    let settings = settings::load()?;
    let Some(cache) = Cache::open(&settings) else {
        output::result_line("cache: off (signet.cache = false): every signing logs in");
        return Ok(());
    };
    let runtime = super::runtime()?;
    let now = SystemClock.now();
    output::result_line(format_args!("cache: {}", cache.describe()));
    if login::token_is_ambient(&settings) {
        output::result_line(
            "an ambient identity token is configured (environment, CI or token file): signing uses it and not the cache",
        );
    }
    let Some(entries) = cache.list(&runtime).map_err(cache_error)? else {
        output::result_line("agent: not running (signing starts it after the next login)");
        return Ok(());
    };
    let mine = entries.iter().find(|e| e.scope_key == cache.scope_key);
    let left = |t: UnixTime, less: i64| t.0.saturating_sub(now.0).saturating_sub(less).max(0);
    match mine {
        Some(e) => output::result_line(format_args!(
            "logged in as {} (issuer {}) for {}; valid for {} s more (until {}), used for signing for {} s more",
            e.identity,
            e.issuer.as_deref().unwrap_or("none"),
            settings.fulcio_url,
            left(e.not_after, 0),
            e.not_after,
            left(e.not_after, cache.margin)
        )),
        None => output::result_line(format_args!(
            "not logged in for {} (issuer {})",
            settings.fulcio_url, settings.oidc_issuer
        )),
    }
    let others = entries.len() - usize::from(mine.is_some());
    if others > 0 {
        output::result_line(format_args!(
            "the store also holds {others} credential(s) for other Fulcio or issuer settings"
        ));
    }
    Ok(())
}

/// `signet agent`: hold credentials in memory for this user until idle.
pub fn run_agent(args: AgentArgs) -> Result<(), CliError> {
    let socket = args.socket.unwrap_or_else(agent::default_socket_path);
    let idle = (args.idle_exit > 0).then(|| Duration::from_secs(args.idle_exit));
    agent::harden_process();
    let runtime = super::runtime()?;
    runtime
        .block_on(agent::serve(&socket, idle))
        .map_err(cache_error)
}
