//! Command-line definition: one definition per flag. Names follow the sigstore-conformance
//! client protocol (`sign-bundle`, `verify-bundle`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Keyless signing with Sigstore: short-lived Fulcio certificates and the Rekor transparency log.
#[derive(Debug, Parser)]
#[command(name = "signet", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign a file and write a Sigstore bundle (v0.3).
    SignBundle(SignBundleArgs),
    /// Verify a file (or a sha256 digest) against a Sigstore bundle, offline.
    VerifyBundle(VerifyBundleArgs),
    /// Configure git to sign commits and tags with this signet (gpg.format, gpg.x509.program,
    /// commit.gpgsign, tag.gpgsign).
    Setup(SetupArgs),
}

/// Where the trusted root comes from (default: the embedded Sigstore public-good root).
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// trusted_root.json to use instead of the embedded public-good root.
    #[arg(long, value_name = "FILE", env = "SIGNET_TRUSTED_ROOT")]
    pub trusted_root: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SignBundleArgs {
    /// OIDC identity token (a JWT) to exchange for a signing certificate.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "SIGSTORE_ID_TOKEN",
        hide_env_values = true
    )]
    pub identity_token: String,

    /// Where to write the bundle (written atomically).
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,

    #[command(flatten)]
    pub trust: TrustArgs,

    /// Fulcio base URL.
    #[arg(
        long,
        value_name = "URL",
        env = "SIGNET_FULCIO_URL",
        default_value = "https://fulcio.sigstore.dev"
    )]
    pub fulcio_url: String,

    /// Rekor (v1 API) base URL.
    #[arg(
        long,
        value_name = "URL",
        env = "SIGNET_REKOR_URL",
        default_value = "https://rekor.sigstore.dev"
    )]
    pub rekor_url: String,

    /// The file to sign.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct VerifyBundleArgs {
    /// The Sigstore bundle to verify.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,

    /// Expected signer identity: the certificate's email or URI SAN, matched exactly.
    #[arg(long, value_name = "ID")]
    pub certificate_identity: String,

    /// Expected OIDC issuer, matched exactly.
    #[arg(long, value_name = "URL")]
    pub certificate_oidc_issuer: String,

    #[command(flatten)]
    pub trust: TrustArgs,

    /// The signed file, or `sha256:<64 hex digits>` when no such file exists.
    #[arg(value_name = "FILE_OR_DIGEST")]
    pub input: String,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Write the user's global git config (~/.gitconfig or $GIT_CONFIG_GLOBAL). The default.
    #[arg(long, conflicts_with = "local")]
    pub global: bool,

    /// Write the config of the repository in the current directory.
    #[arg(long)]
    pub local: bool,
}
