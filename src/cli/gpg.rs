//! gpg mode: signet as git's `gpg.x509.program`. git runs `signet --status-fd=2 -bsau KEY`
//! with the commit or tag on stdin and takes stdout verbatim as the signature, so stdout gets
//! the armored signature and nothing else; status lines go to the descriptor git names, and
//! any failure exits non-zero with stdout untouched and one error plus a hint on stderr.

use std::io::Read;
use std::process::ExitCode;

use super::cache::Cache;
use super::error::{CliError, Kind};
use super::settings::{RekorMode, Settings};
use super::{config, login, output, settings};
use crate::adapters::clock::SystemClock;
use crate::adapters::fulcio::FulcioClient;
use crate::adapters::http::HttpClient;
use crate::adapters::rekor::RekorClient;
use crate::adapters::tsa::TsaClient;
use crate::core::gitobject;
use crate::core::gpg::{self, GpgRequest, SignRequest};
use crate::core::signing::SigningError;
use crate::flow::Clock;
use crate::flow::PortError;
use crate::flow::sign::SignError;
use crate::flow::sign_commit::{
    IssuedKey, LogMode, PayloadOptions, PayloadSignError, check_payload, issue_key,
    sign_payload_with,
};

/// Largest payload read from stdin (a commit or tag object).
pub const MAX_PAYLOAD_BYTES: usize = 32 * 1024 * 1024;

const USAGE_HINT: &str = "signet is run by git as gpg.x509.program (git config gpg.format x509; \
     git config gpg.x509.program signet), which passes --status-fd=2 -bsau KEY";

/// Run gpg mode with the arguments after the program name.
pub fn run(args: &[String]) -> ExitCode {
    match run_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::error(&e.message, e.hint.as_deref());
            e.exit_code()
        }
    }
}

fn run_inner(args: &[String]) -> Result<(), CliError> {
    let request = gpg::parse_args(args).map_err(|e| CliError::usage(e, USAGE_HINT))?;
    match request {
        GpgRequest::Verify(req) => super::gpg_verify::verify(&req),
        GpgRequest::Sign(req) => sign(&req),
    }
}

fn read_payload(req: &SignRequest) -> Result<Vec<u8>, CliError> {
    let mut payload = Vec::new();
    let limit = MAX_PAYLOAD_BYTES as u64 + 1;
    let result = match &req.file {
        Some(path) => {
            std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut payload))
        }
        None => std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut payload),
    };
    let source = req.file.as_deref().unwrap_or("standard input");
    result.map_err(|e| {
        CliError::usage(
            format!("cannot read the data to sign from {source}: {e}"),
            "git writes the commit or tag to signet's standard input",
        )
    })?;
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(CliError::usage(
            format!("the data to sign is larger than {MAX_PAYLOAD_BYTES} bytes"),
            "signet signs git commits and tags; this input is not one",
        ));
    }
    Ok(payload)
}

fn sign(req: &SignRequest) -> Result<(), CliError> {
    if !req.detached {
        return Err(CliError::usage(
            "signet makes detached signatures only; pass -b (--detach-sign)",
            USAGE_HINT,
        ));
    }
    // Open the status descriptor first: a bad one fails before anything is signed or logged.
    let mut status = output::open_status(req.status_fd).map_err(|e| {
        CliError::usage(
            format!(
                "cannot write status lines to file descriptor {:?}: {e}",
                req.status_fd
            ),
            "pass --status-fd=2 (what git passes) or a descriptor open for writing",
        )
    })?;
    let payload = read_payload(req)?;
    // The signing key lives in this process until it exits: keep it out of core dumps.
    crate::adapters::agent::harden_process();
    let settings = settings::load()?;
    let root = config::trusted_root(settings.trusted_root.as_deref())?;
    let fulcio_url =
        config::service_url("signet.fulcio (SIGNET_FULCIO_URL)", &settings.fulcio_url)?;
    let rekor_url = config::service_url("signet.rekor (SIGNET_REKOR_URL)", &settings.rekor_url)?;
    let http = HttpClient::with_timeout(settings.http_timeout)
        .map_err(|e| CliError::usage(e, "this is a bug in signet"))?;
    let fulcio = FulcioClient::new(http.clone(), &fulcio_url);
    let rekor = RekorClient::new(http.clone(), &rekor_url);
    let tsa = settings
        .timestamp_url
        .as_deref()
        .map(|url| TsaClient::new(http, url));
    let runtime = super::runtime()?;
    let options = PayloadOptions {
        mode: match settings.rekor_mode {
            RekorMode::Offline => LogMode::Offline,
            RekorMode::Online => LogMode::Online,
        },
        match_committer: settings.match_committer,
    };
    // A bad payload fails before any login or request.
    check_payload(&payload, options).map_err(|e| from_payload_sign(e, &settings))?;
    // A signing with an ambient token (CI, SIGSTORE_ID_TOKEN, a token file) uses that token:
    // it neither takes a cached credential nor leaves one behind.
    let cache = Cache::open(&settings).filter(|_| !login::token_is_ambient(&settings));
    let committer = settings
        .match_committer
        .then(|| crate::core::gitobject::signer_email(&payload).ok())
        .flatten();
    let cached = cache
        .as_ref()
        .and_then(|c| c.load(&runtime, &root, SystemClock.now(), committer.as_deref()));
    let fresh = |runtime: &tokio::runtime::Runtime| -> Result<IssuedKey, CliError> {
        let token = login::obtain_token(&settings)?;
        let issued = runtime
            .block_on(issue_key(&fulcio, &SystemClock, &root, &token))
            .map_err(|e| from_payload_sign(e, &settings))?;
        drop(token);
        if let Some(cache) = &cache {
            cache.store(runtime, &issued);
        }
        Ok(issued)
    };
    let sign_with = |issued: &IssuedKey| {
        runtime.block_on(sign_payload_with(
            &rekor,
            tsa.as_ref(),
            &SystemClock,
            &root,
            issued,
            &payload,
            options,
        ))
    };
    let signed = match cached {
        Some(issued) => match sign_with(&issued) {
            Ok(signed) => signed,
            // A cached certificate that the log's answer shows was no longer valid (a slow log,
            // a skewed clock) costs a login, not the signature.
            Err(PayloadSignError::Sign(e)) if matches!(*e, SignError::Untrusted(_)) => {
                output::warning(format_args!(
                    "signing with the cached credential failed ({e}); logging in again"
                ));
                if let Some(cache) = &cache {
                    cache.forget(&runtime);
                }
                drop(issued);
                let issued = fresh(&runtime)?;
                sign_with(&issued).map_err(|e| from_payload_sign(e, &settings))?
            }
            Err(e) => return Err(from_payload_sign(e, &settings)),
        },
        None => {
            let issued = fresh(&runtime)?;
            sign_with(&issued).map_err(|e| from_payload_sign(e, &settings))?
        }
    };

    let bytes = if req.armor {
        signed.armored.as_bytes()
    } else {
        &signed.der[..]
    };
    output::signature(bytes).map_err(|e| {
        CliError::usage(
            format!("cannot write the signature to standard output: {e}"),
            "git reads the signature from signet's standard output",
        )
    })?;
    let lines = [
        gpg::begin_signing(),
        gpg::sig_created(
            req.detached,
            gpg::openpgp_hash_algo(&signed.leaf_signature_oid),
            signed.signed_at.0,
            &gitobject::sha1_hex(&signed.leaf_der),
        ),
    ];
    for line in lines {
        status.write_line(&line).map_err(|e| {
            CliError::usage(
                format!("cannot write status lines: {e}"),
                "pass --status-fd=2 (what git passes)",
            )
        })?;
    }
    match &signed.logged_object_id {
        Some(id) => output::info(format_args!(
            "signed as {}; transparency log entry {} in {} records commit {id}",
            signed.identity, signed.log_index, signed.log_url
        )),
        None => output::info(format_args!(
            "signed as {}; transparency log entry {} in {} (embedded in the signature)",
            signed.identity, signed.log_index, signed.log_url
        )),
    }
    Ok(())
}

fn port_hint(e: &PortError) -> &'static str {
    match e {
        PortError::Transport {
            service: "Fulcio", ..
        } => "check that Fulcio is reachable: signet.fulcio / SIGNET_FULCIO_URL",
        PortError::Transport {
            service: "timestamp authority",
            ..
        } => {
            "check that the timestamp authority is reachable: signet.timestampServerURL / SIGNET_TIMESTAMP_SERVER_URL"
        }
        PortError::Server {
            service: "timestamp authority",
            ..
        }
        | PortError::Protocol {
            service: "timestamp authority",
            ..
        } => {
            "the timestamp authority refused the request or answered something else; check signet.timestampServerURL"
        }
        PortError::Transport { .. } => {
            "check that Rekor is reachable: signet.rekor / SIGNET_REKOR_URL"
        }
        PortError::Server {
            service: "Fulcio",
            status: 401 | 403,
            ..
        } => {
            "Fulcio refused the identity token: it may be expired, for another audience, or from an issuer this Fulcio does not trust"
        }
        PortError::Server {
            service: "Fulcio",
            status: 400..=499,
            ..
        } => "Fulcio rejected the request; see its message",
        PortError::Server { status: 500.., .. } => {
            "the service failed on its side; retry later, or check its status"
        }
        PortError::Server { .. } => "the transparency log refused the entry; see its message",
        PortError::Protocol { .. } => {
            "the service does not speak the expected API; check signet.fulcio / signet.rekor"
        }
    }
}

fn sign_hint(e: &SignError, settings: &Settings) -> (Kind, String) {
    match e {
        SignError::Token(_) => (
            Kind::Usage,
            "get a fresh OIDC identity token (SIGSTORE_ID_TOKEN or the login flow) and retry"
                .into(),
        ),
        SignError::Service(p) => (Kind::Usage, port_hint(p).into()),
        SignError::Untrusted(SigningError::RekorResponse(_) | SigningError::Body(_)) => (
            Kind::Verification,
            "the transparency log's answer does not match what was sent; nothing was signed. \
             Retry, and if it persists check signet.rekor / SIGNET_REKOR_URL"
                .into(),
        ),
        SignError::Untrusted(_) | SignError::SelfCheck(_) => (
            Kind::Verification,
            format!(
                "the services' answers do not verify against the trusted root ({}); set \
                 signet.trustedRoot / SIGNET_TRUSTED_ROOT for the instance you sign with",
                settings.trusted_root.as_ref().map_or_else(
                    || "the embedded public-good root".into(),
                    |p| p.display().to_string()
                )
            ),
        ),
        SignError::Internal(_) => (
            Kind::Usage,
            "this is a bug in signet; please report it".into(),
        ),
    }
}

/// Map a signing failure to a message, a hint and an exit code.
pub fn from_payload_sign(e: PayloadSignError, settings: &Settings) -> CliError {
    let (kind, hint): (Kind, String) = match &e {
        PayloadSignError::Sign(s) => sign_hint(s, settings),
        PayloadSignError::Cms(_) => (
            Kind::Usage,
            "this is a bug in signet; please report it".into(),
        ),
        PayloadSignError::Payload(_) => (
            Kind::Usage,
            "signet signs what git passes on standard input: a commit or tag object".into(),
        ),
        PayloadSignError::CommitterMismatch { .. } => (
            Kind::Verification,
            "log in as the committer (signet logout forgets a cached login), set user.email to \
             the identity you sign with, or unset signet.matchCommitter"
                .into(),
        ),
    };
    CliError {
        kind,
        message: format!("signing failed: {e}"),
        hint: Some(hint),
    }
}
