//! Obtaining the OIDC identity token signing needs. Unless `settings.token_provider` names one
//! source (then only that one), the sources are tried in order: `SIGSTORE_ID_TOKEN`; GitHub
//! Actions ambient credentials (`ACTIONS_ID_TOKEN_REQUEST_URL` + `_TOKEN`, audience = the client
//! id); the token file (`signet.tokenFile`); the browser flow (authorization code + PKCE, a
//! loopback redirect, `signet.urlOpener` or the system opener). The device flow (RFC 8628) runs
//! only when named. Tokens that did not come through a verified OIDC flow are checked client-side
//! (a JWT, `exp` in the future, `aud` containing the client id when present) before Fulcio sees
//! them. The browser and device waits are bounded: 120 s, or `SIGNET_LOGIN_TIMEOUT` seconds.
//! Tokens are never printed or logged; prompts go to the TTY or stderr, never stdout.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use zeroize::Zeroizing;

use super::output;
use crate::adapters::clock::SystemClock;
use crate::adapters::fs;
use crate::adapters::http::HttpClient;
use crate::adapters::loopback::{self, Listener};
use crate::adapters::oidc::{self, Issuer, OidcError};
use crate::cli::error::CliError;
use crate::cli::settings::{Settings, TokenProvider};
use crate::core::token::{IdentityToken, MAX_TOKEN_BYTES};
use crate::flow::Clock;

/// How long the browser or device flow waits for the user, unless `SIGNET_LOGIN_TIMEOUT` says.
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(120);
/// Environment variable overriding [`DEFAULT_LOGIN_TIMEOUT`], in whole seconds.
pub const LOGIN_TIMEOUT_ENV: &str = "SIGNET_LOGIN_TIMEOUT";

/// The identity token to sign with, from the process environment and `settings`.
pub fn obtain_token(settings: &Settings) -> Result<IdentityToken, CliError> {
    obtain_token_with(settings, &|name| std::env::var(name).ok())
}

/// Whether signing gets its token without a person: a configured or present environment
/// token, GitHub Actions credentials, or a token file. Such signings neither use nor fill the
/// credential cache: the token given is the identity meant, and a CI job must not leave a
/// credential for the next job on the machine.
pub fn token_is_ambient(settings: &Settings) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    match settings.token_provider {
        Some(TokenProvider::Env | TokenProvider::GithubActions | TokenProvider::File) => true,
        Some(TokenProvider::Browser | TokenProvider::Device) => false,
        None => {
            set("SIGSTORE_ID_TOKEN")
                || (set("ACTIONS_ID_TOKEN_REQUEST_URL") && set("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))
                || settings.token_file.is_some()
        }
    }
}

/// [`obtain_token`] with an injectable environment lookup (tests pass their own).
pub fn obtain_token_with(
    settings: &Settings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<IdentityToken, CliError> {
    let login = Login { settings, env };
    match settings.token_provider {
        Some(provider) => login.from(provider)?.ok_or_else(|| unavailable(provider)),
        None => {
            for provider in [
                TokenProvider::Env,
                TokenProvider::GithubActions,
                TokenProvider::File,
            ] {
                if let Some(token) = login.from(provider)? {
                    return Ok(token);
                }
            }
            if settings.url_opener.is_none() && !output::tty_available() {
                return Err(CliError::usage(
                    "no identity token: none in the environment, no token file, and no terminal for a browser login",
                    "set SIGSTORE_ID_TOKEN, or run interactively (or set signet.urlOpener, or signet.tokenProvider=device)",
                ));
            }
            login.browser()
        }
    }
}

fn unavailable(provider: TokenProvider) -> CliError {
    let (message, hint) = match provider {
        TokenProvider::Env => (
            "no identity token: SIGSTORE_ID_TOKEN is not set",
            "set SIGSTORE_ID_TOKEN to an OIDC identity token, or unset signet.tokenProvider",
        ),
        TokenProvider::GithubActions => (
            "no GitHub Actions credentials: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not both set",
            "give the workflow job `permissions: id-token: write`, or unset signet.tokenProvider",
        ),
        TokenProvider::File => (
            "no token file: signet.tokenProvider is file but signet.tokenFile is not set",
            "set signet.tokenFile to the path of a file holding an OIDC identity token",
        ),
        TokenProvider::Browser | TokenProvider::Device => (
            "the login produced no identity token",
            "this is a bug in signet; please report it",
        ),
    };
    CliError::usage(message, hint)
}

struct Login<'a> {
    settings: &'a Settings,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Login<'_> {
    fn var(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.trim().is_empty())
    }

    /// One source: `Ok(None)` when it is not configured here.
    fn from(&self, provider: TokenProvider) -> Result<Option<IdentityToken>, CliError> {
        match provider {
            TokenProvider::Env => self
                .var("SIGSTORE_ID_TOKEN")
                .map(|raw| self.checked(Zeroizing::new(raw), "SIGSTORE_ID_TOKEN"))
                .transpose(),
            TokenProvider::GithubActions => {
                let (Some(url), Some(request_token)) = (
                    self.var("ACTIONS_ID_TOKEN_REQUEST_URL"),
                    self.var("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
                        .map(Zeroizing::new),
                ) else {
                    return Ok(None);
                };
                let raw = run(async {
                    let http = http_client(self.settings)?;
                    oidc::actions_token(&http, &url, &request_token, &self.settings.client_id)
                        .await
                        .map_err(|e| {
                            CliError::usage(
                                e,
                                "check the job's `permissions: id-token: write` and that ACTIONS_ID_TOKEN_REQUEST_URL is GitHub's",
                            )
                        })
                })?;
                self.checked(raw, "the GitHub Actions token").map(Some)
            }
            TokenProvider::File => {
                let Some(path) = &self.settings.token_file else {
                    return Ok(None);
                };
                self.checked(
                    read_token_file(path)?,
                    &format!("the token file {}", path.display()),
                )
                .map(Some)
            }
            TokenProvider::Browser => self.browser().map(Some),
            TokenProvider::Device => self.device().map(Some),
        }
    }

    fn timeout(&self) -> Result<Duration, CliError> {
        match (self.env)(LOGIN_TIMEOUT_ENV) {
            None => Ok(DEFAULT_LOGIN_TIMEOUT),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|&s| s > 0)
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    CliError::usage(
                        format!("{LOGIN_TIMEOUT_ENV}={v:?} is not a positive number of seconds"),
                        format!("set {LOGIN_TIMEOUT_ENV} to whole seconds, e.g. 120, or unset it"),
                    )
                }),
        }
    }

    /// Client-side checks on a token that no OIDC verifier has seen.
    fn checked(&self, raw: Zeroizing<String>, source: &str) -> Result<IdentityToken, CliError> {
        let fresh = "get a fresh OIDC identity token (a JWT) for this Sigstore instance";
        let token = IdentityToken::new(raw.to_string())
            .map_err(|e| CliError::usage(format!("{source}: {e}"), fresh))?;
        let claims = token
            .claims()
            .map_err(|e| CliError::usage(format!("{source}: {e}"), fresh))?;
        let now = SystemClock.now();
        match claims.exp {
            None => {
                return Err(CliError::usage(
                    format!("{source}: the identity token has no exp claim"),
                    fresh,
                ));
            }
            Some(_) => claims
                .check_not_expired(now)
                .map_err(|e| CliError::usage(format!("{source}: {e}"), fresh))?,
        }
        let client_id = &self.settings.client_id;
        if let Some(aud) = &claims.aud
            && !aud.contains(client_id)
        {
            return Err(CliError::usage(
                format!("{source}: the identity token's audience is {aud}, expected {client_id:?}"),
                format!(
                    "request the token for the audience {client_id:?} (signet.clientID), or set signet.clientID to match"
                ),
            ));
        }
        claims
            .challenge_subject()
            .map_err(|e| CliError::usage(format!("{source}: {e}"), fresh))?;
        Ok(token)
    }

    fn issuer_error(&self, e: OidcError) -> CliError {
        let hint = match &e {
            OidcError::Discovery { .. } => {
                "check signet.issuer (SIGNET_OIDC_ISSUER) and that the issuer is reachable"
            }
            OidcError::NoDeviceEndpoint { .. } => {
                "use the browser flow (unset signet.tokenProvider) or an issuer with device flow support"
            }
            OidcError::Rejected(_) => {
                "the issuer's ID token failed verification; check signet.issuer and signet.clientID"
            }
            OidcError::DeviceExpired { .. } => {
                "approve the code in the browser before the time limit (SIGNET_LOGIN_TIMEOUT sets it), then try again"
            }
            OidcError::Request { .. } | OidcError::NoIdToken | OidcError::Actions(_) => {
                "the issuer refused the login; try again, and check signet.clientID"
            }
        };
        CliError::usage(format!("login failed: {e}"), hint)
    }

    fn browser(&self) -> Result<IdentityToken, CliError> {
        let settings = self.settings;
        let timeout = self.timeout()?;
        let target = loopback::redirect_target(settings.redirect_url.as_deref()).map_err(|e| {
            CliError::usage(
                e,
                "set signet.redirectURL to http://127.0.0.1:PORT/path, or unset it",
            )
        })?;
        let listener = Listener::bind(&target).map_err(|e| {
            CliError::usage(
                e,
                "free that port, or unset signet.redirectURL to use any free port",
            )
        })?;
        let raw = run(async {
            let http = http_client(settings)?;
            let issuer = Issuer::discover(&http, &settings.oidc_issuer, &settings.client_id)
                .await
                .map_err(|e| self.issuer_error(e))?;
            let redirect_url = listener.redirect_url().to_owned();
            let request = issuer
                .authorization(&redirect_url, settings.connector_id.as_deref())
                .map_err(|e| self.issuer_error(e))?;
            output::prompt(format_args!(
                "signet: log in with your browser; if it does not open, open this URL:\n{}",
                request.url
            ));
            let opener = open_url(settings.url_opener.as_deref(), &request.url)?;
            let state = request.state.secret().clone();
            let waited = tokio::time::timeout(timeout, listener.wait(&state)).await;
            settle(opener);
            let code = waited
                .map_err(|_| {
                    CliError::usage(
                        format!(
                            "login timed out after {} s waiting for the browser redirect",
                            timeout.as_secs()
                        ),
                        format!(
                            "open the URL above and finish the login within the time limit ({LOGIN_TIMEOUT_ENV} sets it), or set SIGSTORE_ID_TOKEN"
                        ),
                    )
                })?
                .map_err(|e| CliError::usage(format!("login failed: {e}"), "start the login again"))?;
            issuer
                .exchange_code(&http, request, &redirect_url, code.to_string())
                .await
                .map_err(|e| self.issuer_error(e))
        })?;
        IdentityToken::new(raw.to_string())
            .map_err(|e| CliError::usage(format!("the issuer's ID token: {e}"), "try again"))
    }

    fn device(&self) -> Result<IdentityToken, CliError> {
        let settings = self.settings;
        let timeout = self.timeout()?;
        let raw = run(async {
            let http = http_client(settings)?;
            let issuer = Issuer::discover(&http, &settings.oidc_issuer, &settings.client_id)
                .await
                .map_err(|e| self.issuer_error(e))?;
            let details = issuer
                .device_start(&http)
                .await
                .map_err(|e| self.issuer_error(e))?;
            let url = details
                .verification_uri_complete()
                .map(|u| u.secret().clone())
                .unwrap_or_else(|| details.verification_uri().to_string());
            output::prompt(format_args!(
                "signet: to log in, open {url}\nsignet: and enter the code {}",
                details.user_code().secret()
            ));
            issuer
                .device_finish(&http, &details, timeout)
                .await
                .map_err(|e| self.issuer_error(e))
        })?;
        IdentityToken::new(raw.to_string())
            .map_err(|e| CliError::usage(format!("the issuer's ID token: {e}"), "try again"))
    }
}

/// Reads the token file: bounded, trimmed.
fn read_token_file(path: &Path) -> Result<Zeroizing<String>, CliError> {
    let bytes = Zeroizing::new(fs::read_limited(path, MAX_TOKEN_BYTES + 1024).map_err(|e| {
        CliError::usage(
            format!("cannot read the token file {}: {e}", path.display()),
            "check signet.tokenFile: it must name a readable file holding one identity token",
        )
    })?);
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        CliError::usage(
            format!("the token file {} is not UTF-8 text", path.display()),
            "the file must hold one identity token (a JWT)",
        )
    })?;
    Ok(Zeroizing::new(text.trim().to_owned()))
}

fn http_client(settings: &Settings) -> Result<HttpClient, CliError> {
    HttpClient::with_timeout(settings.http_timeout)
        .map_err(|e| CliError::usage(e, "this is a bug in signet"))
}

/// Runs `fut` on a fresh current-thread runtime (login happens before any other async work).
fn run<T>(fut: impl Future<Output = Result<T, CliError>>) -> Result<T, CliError> {
    super::runtime()?.block_on(fut)
}

/// Opens `url` with the configured command (split on whitespace, no shell, the URL appended) or
/// the system opener. The opener's stdout is discarded (stdout belongs to git). A system opener
/// that fails is not an error: the URL is on the terminal.
fn open_url(opener: Option<&str>, url: &str) -> Result<Option<Child>, CliError> {
    let configured = opener.map(str::trim).filter(|o| !o.is_empty());
    let argv: Vec<&str> = match configured {
        Some(o) => o.split_whitespace().collect(),
        None if cfg!(target_os = "macos") => vec!["open"],
        None => vec!["xdg-open"],
    };
    let spawned = Command::new(argv[0])
        .args(&argv[1..])
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn();
    match spawned {
        Ok(child) => Ok(Some(child)),
        Err(e) if configured.is_some() => Err(CliError::usage(
            format!("cannot run the URL opener {:?}: {e}", argv[0]),
            "check signet.urlOpener: a command (no shell) that is given the URL as its last argument",
        )),
        Err(_) => Ok(None),
    }
}

/// Gives the opener a moment to exit (a headless opener finishes right after the redirect),
/// then leaves a thread to reap it, so no child outlives signet unnoticed.
fn settle(child: Option<Child>) {
    let Some(mut child) = child else { return };
    for _ in 0..100 {
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::spawn(move || child.wait());
}
