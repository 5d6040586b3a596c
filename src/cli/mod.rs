//! The command line: argument parsing (`args`), configuration (`config`), error → exit-code
//! mapping with hints (`error`), and the streams (`output`, the only module that prints).

pub mod args;
pub mod bundle_export;
pub mod cache;
pub mod config;
pub mod error;
pub mod gpg;
pub mod gpg_verify;
pub mod history;
pub mod hook;
pub mod login;
pub mod notes;
pub mod output;
pub mod settings;
pub mod setup;
pub mod verify;

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use self::args::{Cli, Command, SignBundleArgs, VerifyBundleArgs};
use self::error::CliError;
use crate::adapters::clock::SystemClock;
use crate::adapters::fs;
use crate::adapters::fulcio::FulcioClient;
use crate::adapters::http::HttpClient;
use crate::adapters::rekor::RekorClient;
use crate::adapters::tsa::TsaClient;
use crate::core::bundle::MAX_BUNDLE_BYTES;
use crate::core::token::IdentityToken;
use crate::core::verify::{
    Artifact, IdentityPolicy, MAX_KEY_PEM_BYTES, Signer, TimeSource, spki_from_pem,
};
use crate::flow::Clock;
use crate::flow::sign::sign_artifact;
use crate::flow::verify::verify_artifact;

/// A current-thread async runtime for one command's network work.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            CliError::usage(
                format!("cannot start the async runtime: {e}"),
                "this is a bug in signet",
            )
        })
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    // git runs signet as its gpg program (`--status-fd=2 -bsau KEY`): that argv is not ours to
    // give to clap. Non-UTF-8 arguments are never gpg flags; clap reports them.
    let args: Option<Vec<String>> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string().ok())
        .collect();
    if let Some(args) = args
        && crate::core::gpg::looks_like_gpg(&args)
    {
        return gpg::run(&args);
    }
    // Installed as hooks/pre-receive (a symlink to signet): act as `signet hook pre-receive`.
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let invoked_as_hook = Path::new(&argv0)
        .file_name()
        .is_some_and(|name| name == "pre-receive");
    let parsed = if invoked_as_hook {
        let mut argv: Vec<std::ffi::OsString> =
            vec!["signet".into(), "hook".into(), "pre-receive".into()];
        argv.extend(std::env::args_os().skip(1));
        Cli::try_parse_from(argv)
    } else {
        Cli::try_parse()
    };
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            output::clap_message(&e);
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::SignBundle(args) => sign_bundle(args),
        Command::VerifyBundle(args) => verify_bundle(args),
        Command::Setup(args) => setup::run(args),
        Command::Verify(args) => verify::run_verify(args),
        Command::VerifyTag(args) => verify::run_verify_tag(args),
        Command::Show(args) => verify::run_show(args),
        Command::Login(args) => cache::run_login(args),
        Command::Logout => cache::run_logout(),
        Command::Status => cache::run_status(),
        Command::Agent(args) => cache::run_agent(args),
        Command::Bundle(args) => bundle_export::run_bundle(args),
        Command::Notes(args::NotesCommand::Fetch(args)) => notes::run_fetch(args),
        Command::Notes(args::NotesCommand::Add(args)) => notes::run_add(args),
        Command::Notes(args::NotesCommand::Show(args)) => notes::run_show(args),
        // The hook prints its verdict in the form pushers see (`remote: signet: ...`).
        Command::Hook(args::HookCommand::PreReceive(args)) => return hook::run_pre_receive(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::error(&e.message, e.hint.as_deref());
            e.exit_code()
        }
    }
}

fn sign_bundle(args: SignBundleArgs) -> Result<(), CliError> {
    let token = IdentityToken::new(args.identity_token).map_err(|e| {
        CliError::usage(
            format!("identity token: {e}"),
            "pass an OIDC identity token with --identity-token or SIGSTORE_ID_TOKEN",
        )
    })?;
    if args.staging || args.in_toto {
        let flag = if args.staging {
            "--staging"
        } else {
            "--in-toto"
        };
        return Err(CliError::usage(
            format!("{flag} is not supported by signet sign-bundle"),
            "sign against another instance with --trusted-root and --signing-config",
        ));
    }
    let root = config::trusted_root(args.trust.trusted_root.as_deref())?;
    let selected = match &args.signing_config {
        Some(path) => Some(config::signing_config(path, SystemClock.now())?),
        None => None,
    };
    let pick = |flag: &str, given: Option<String>, configured: Option<String>, default: &str| {
        config::service_url(
            flag,
            &given.or(configured).unwrap_or_else(|| default.into()),
        )
    };
    let fulcio_url = pick(
        "--fulcio-url",
        args.fulcio_url,
        selected.as_ref().map(|s| s.fulcio.clone()),
        "https://fulcio.sigstore.dev",
    )?;
    let rekor_url = pick(
        "--rekor-url",
        args.rekor_url,
        selected.as_ref().map(|s| s.rekor.clone()),
        "https://rekor.sigstore.dev",
    )?;
    let tsa_url = args
        .timestamp_url
        .or_else(|| selected.as_ref().and_then(|s| s.tsa.clone()))
        .map(|u| config::service_url("--timestamp-url", &u))
        .transpose()?;
    let digest = fs::sha256_file(&args.file).map_err(|e| {
        CliError::usage(
            format!("cannot read {}: {e}", args.file.display()),
            "check the path of the file to sign",
        )
    })?;
    let http = HttpClient::new().map_err(|e| CliError::usage(e, "this is a bug in signet"))?;
    let fulcio = FulcioClient::new(http.clone(), &fulcio_url);
    let rekor = RekorClient::new(http.clone(), &rekor_url);
    let tsa = tsa_url.map(|u| TsaClient::new(http, &u));

    let runtime = runtime()?;
    let signed = runtime
        .block_on(sign_artifact(
            &fulcio,
            &rekor,
            tsa.as_ref(),
            &SystemClock,
            &root,
            &token,
            &digest,
        ))
        .map_err(error::from_sign)?;
    drop(token);

    fs::write_atomic(&args.bundle, &signed.bundle_json).map_err(|e| {
        CliError::usage(
            format!("cannot write bundle {}: {e}", args.bundle.display()),
            "check that the directory exists and is writable",
        )
    })?;
    output::info(format_args!(
        "signed {} as {} (issuer {}); logged at index {} in {}; bundle written to {}",
        args.file.display(),
        signed.identity,
        signed.issuer,
        signed.log_index,
        signed.log_url,
        args.bundle.display()
    ));
    Ok(())
}

fn parse_sha256_hex(hex_digest: &str) -> Option<[u8; 32]> {
    let mut digest = [0u8; 32];
    (hex_digest.len() == 64 && hex::decode_to_slice(hex_digest, &mut digest).is_ok())
        .then_some(digest)
}

/// `sha256:<64 hex>` when no such path exists, else a file to hash.
fn artifact_digest(input: &str) -> Result<[u8; 32], CliError> {
    let path = Path::new(input);
    if !path.exists()
        && let Some(hex_digest) = input.strip_prefix("sha256:")
    {
        return parse_sha256_hex(hex_digest).ok_or_else(|| {
            CliError::usage(
                format!("{input:?} is not a valid sha256 digest"),
                "write a digest as sha256: followed by 64 hexadecimal digits",
            )
        });
    }
    fs::sha256_file(path).map_err(|e| {
        CliError::usage(
            format!("cannot read {input}: {e}"),
            "pass the signed file, or its digest as sha256:<64 hex digits>",
        )
    })
}

/// A PEM `PUBLIC KEY` (SubjectPublicKeyInfo) file, as DER.
fn read_public_key(path: &Path) -> Result<Vec<u8>, CliError> {
    let hint = "pass the signer's public key as a PEM file (-----BEGIN PUBLIC KEY-----; ECDSA P-256/P-384 or Ed25519)";
    let pem = fs::read_limited(path, MAX_KEY_PEM_BYTES)
        .map_err(|e| CliError::usage(format!("cannot read key {}: {e}", path.display()), hint))?;
    spki_from_pem(&pem).map_err(|e| CliError::usage(format!("key {}: {e}", path.display()), hint))
}

fn verify_bundle(args: VerifyBundleArgs) -> Result<(), CliError> {
    let root = config::trusted_root(args.trust.trusted_root.as_deref())?;
    let bundle = fs::read_limited(&args.bundle, MAX_BUNDLE_BYTES).map_err(|e| {
        CliError::usage(
            format!("cannot read bundle {}: {e}", args.bundle.display()),
            "check the --bundle path",
        )
    })?;
    if args.staging {
        return Err(CliError::usage(
            "--staging is not supported: signet embeds only the public-good trusted root",
            "pass the staging instance's trusted_root.json with --trusted-root",
        ));
    }
    let digest = artifact_digest(&args.input)?;
    let key_der = args.key.as_deref().map(read_public_key).transpose()?;
    let policy;
    let signer = match (
        &key_der,
        args.certificate_identity,
        args.certificate_oidc_issuer,
    ) {
        (Some(der), _, _) => Signer::Key(der),
        (None, Some(identity), Some(issuer)) => {
            policy = IdentityPolicy { identity, issuer };
            Signer::Identity(&policy)
        }
        _ => {
            return Err(CliError::usage(
                "no signer to verify against",
                "pass --certificate-identity and --certificate-oidc-issuer, or --key PEM",
            ));
        }
    };
    let verified = verify_artifact(&bundle, Artifact::Sha256(&digest), &root, signer)
        .map_err(error::from_verify)?;
    let signer = if verified.issuer.is_empty() {
        verified.identity.clone()
    } else {
        format!("{} (issuer {})", verified.identity, verified.issuer)
    };
    let sources: Vec<String> = verified
        .times
        .iter()
        .map(|(t, source)| match source {
            TimeSource::Log { log_url } => format!("{t} by log {log_url}"),
            TimeSource::Tsa { tsa } => format!("{t} by timestamp authority {tsa}"),
        })
        .collect();
    output::info(format_args!(
        "verified OK: signed by {signer} at {}, log index {} in {}; verified times: {}",
        verified.signed_at,
        verified.log_index,
        verified.log_url,
        sources.join(", ")
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_arguments() {
        let hex64 = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf";
        assert_eq!(
            hex::encode(artifact_digest(&format!("sha256:{hex64}")).unwrap()),
            hex64
        );
        for bad in [
            "sha256:abc",
            "sha256:",
            &format!("sha256:{hex64}00"),
            &format!("sha256:{}", "g".repeat(64)),
        ] {
            assert_eq!(
                artifact_digest(bad).unwrap_err().kind,
                error::Kind::Usage,
                "{bad}"
            );
        }
        assert_eq!(
            artifact_digest("/nonexistent/file").unwrap_err().kind,
            error::Kind::Usage
        );
        // An existing file wins over the digest syntax.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(format!("sha256:{hex64}"));
        std::fs::write(&p, b"x").unwrap();
        assert_eq!(
            artifact_digest(p.to_str().unwrap()).unwrap(),
            crate::core::keys::sha256(b"x")
        );
    }
}
