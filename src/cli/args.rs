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
    /// Verify signed commits and tags offline: each revision (default HEAD), annotated tag or
    /// range A..B must carry a valid signature by an identity the policy accepts.
    Verify(VerifyArgs),
    /// Verify an annotated tag's signature (refs/tags/TAG).
    VerifyTag(VerifyTagArgs),
    /// Print what a commit's or tag's signature holds, without judging it.
    Show(ShowArgs),
    /// Log in once: get a certificate for an ephemeral key and cache both (in the signet agent's
    /// memory) so signing needs no login until the certificate expires.
    Login(LoginArgs),
    /// Forget the cached credential for the configured Fulcio and OIDC issuer.
    Logout,
    /// Show whether a credential is cached, for whom, and for how long.
    Status,
    /// Run the signet agent, which holds cached credentials in memory for this user (signing
    /// starts it on demand).
    Agent(AgentArgs),
    /// Write a commit's or tag's signature as a Sigstore bundle (v0.3) that any Sigstore client
    /// can verify offline; prints the artifact digest (sha256 of the signed attributes).
    Bundle(BundleArgs),
    /// Git hooks: `signet hook pre-receive` enforces the policy on pushes (docs/server.md).
    #[command(subcommand)]
    Hook(HookCommand),
    /// Stored bundles in git notes: keep the log proof of gitsign online-mode signatures in the
    /// repository (refs/notes/signet, or signet.notesRef) so they verify offline (docs/notes.md).
    #[command(subcommand)]
    Notes(NotesCommand),
}

#[derive(Debug, Subcommand)]
pub enum NotesCommand {
    /// For every signed commit and tag selected whose signature embeds no log entry and has no
    /// stored bundle: look the entry up in Rekor, verify it, and store it as a Sigstore bundle.
    Fetch(NotesFetchArgs),
    /// Store a bundle for one signed commit or tag, after verifying it against the signature.
    Add(NotesAddArgs),
    /// Print the bundle stored for a commit or tag.
    Show(NotesShowArgs),
}

#[derive(Debug, Args)]
pub struct NotesFetchArgs {
    /// Commits and annotated tags with their history, or ranges A..B (default HEAD).
    #[arg(value_name = "RANGE", conflicts_with = "all")]
    pub revs: Vec<String>,

    /// Every commit and annotated tag reachable from any branch or tag.
    #[arg(long)]
    pub all: bool,

    /// The Rekor to look entries up in (default signet.rekor / SIGNET_REKOR_URL, else the
    /// public-good Rekor).
    #[arg(long, value_name = "URL")]
    pub rekor_url: Option<String>,

    /// trusted_root.json the entries are verified against (else SIGNET_TRUSTED_ROOT,
    /// signet.trustedRoot, SIGSTORE_ROOT_FILE, else the embedded public-good root).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct NotesAddArgs {
    /// The signed commit or annotated tag.
    #[arg(value_name = "REV")]
    pub rev: String,

    /// The Sigstore bundle to store (default: standard input).
    #[arg(long, value_name = "FILE", default_value = "-")]
    pub bundle: PathBuf,

    /// Replace a bundle already stored for the object.
    #[arg(long)]
    pub force: bool,

    /// trusted_root.json the bundle is verified against (else SIGNET_TRUSTED_ROOT,
    /// signet.trustedRoot, SIGSTORE_ROOT_FILE, else the embedded public-good root).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct NotesShowArgs {
    /// The commit or annotated tag.
    #[arg(value_name = "REV", default_value = "HEAD")]
    pub rev: String,
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The signed commit or annotated tag.
    #[arg(value_name = "REV", default_value = "HEAD")]
    pub rev: String,

    /// Write the bundle here (default: stdout).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also write the signed artifact (the DER signed attributes) here, for verifiers that want
    /// the artifact's bytes rather than its digest (sigstore-js).
    #[arg(long, value_name = "FILE")]
    pub artifact: Option<PathBuf>,

    /// trusted_root.json the signature is checked against before export (else
    /// SIGNET_TRUSTED_ROOT, signet.trustedRoot, SIGSTORE_ROOT_FILE, else the embedded root).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Verify every commit and tag a push brings, offline, against the repository's policy
    /// (git config signet.policy); reject the push if any fails. Reads git's pre-receive input.
    PreReceive(HookPreReceiveArgs),
}

#[derive(Debug, Args)]
pub struct HookPreReceiveArgs {
    /// The policy file (else git config signet.policy, relative to the git directory).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// trusted_root.json to use (else SIGNET_TRUSTED_ROOT, signet.trustedRoot,
    /// SIGSTORE_ROOT_FILE, else the embedded public-good root).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,

    /// Verifier threads (default: the number of CPUs).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: Option<u16>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {}

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The Unix socket to listen on (default: SIGNET_AGENT_SOCKET, else
    /// $XDG_RUNTIME_DIR/signet/agent.sock, else /tmp/signet-UID/agent.sock).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// Exit after this many seconds with no credential held and no client (0: never).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub idle_exit: u64,
}

/// Output format of `verify`, `verify-tag` and `show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Who must have signed. Each part falls back to git config (signet.verify.identity,
/// signet.verify.identityRegexp, signet.verify.issuer, signet.verify.issuerRegexp); with no
/// identity anywhere, the certificate email must equal the committer's (tagger's) email.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The signer's identity (certificate email or URI), matched exactly.
    #[arg(
        long,
        value_name = "ID",
        conflicts_with = "certificate_identity_regexp"
    )]
    pub certificate_identity: Option<String>,

    /// A regular expression the whole signer identity must match (anchored; RE2 syntax).
    #[arg(long, value_name = "REGEX")]
    pub certificate_identity_regexp: Option<String>,

    /// The OIDC issuer in the certificate, matched exactly.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "certificate_oidc_issuer_regexp"
    )]
    pub certificate_oidc_issuer: Option<String>,

    /// A regular expression the whole OIDC issuer must match (anchored).
    #[arg(long, value_name = "REGEX")]
    pub certificate_oidc_issuer_regexp: Option<String>,
}

/// Trust material and the optional online lookup for commit and tag verification.
#[derive(Debug, Args)]
pub struct VerifyTrustArgs {
    /// trusted_root.json to use (else SIGNET_TRUSTED_ROOT, signet.trustedRoot,
    /// SIGSTORE_ROOT_FILE, else the embedded public-good root).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,

    /// Look up the log entry of signatures that embed none (gitsign online mode) in this Rekor.
    /// Without it verification is offline (unless signet.verify.online is true).
    #[arg(long, value_name = "URL")]
    pub rekor_url: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Commits, annotated tags or ranges (A..B) to verify (default HEAD). A range, --ancestry
    /// or --all verifies the whole set in parallel and reports failures and a summary.
    #[arg(value_name = "REV", conflicts_with = "all")]
    pub revs: Vec<String>,

    /// Verify every commit and annotated tag reachable from any branch or tag
    /// (refs/heads/**, refs/tags/**), each under the policy rule of its ref.
    #[arg(long)]
    pub all: bool,

    /// Verify each REV and all its ancestors (like git rev-list REV).
    #[arg(long)]
    pub ancestry: bool,

    /// The policy file (TOML, see docs/policy.md); else git config signet.policy. Without
    /// one, the --certificate-* flags (or signet.verify.*) apply to every ref.
    #[arg(long = "policy", value_name = "FILE")]
    pub policy_file: Option<PathBuf>,

    /// The ref whose policy rule applies to the REVs (default: the current branch).
    #[arg(long = "ref", value_name = "REFNAME")]
    pub for_ref: Option<String>,

    /// Verifier threads for ranges, --ancestry and --all (default: the number of CPUs).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: Option<u16>,

    #[command(flatten)]
    pub policy: PolicyArgs,

    #[command(flatten)]
    pub trust: VerifyTrustArgs,
}

#[derive(Debug, Args)]
pub struct VerifyTagArgs {
    /// The tag name (refs/tags/TAG).
    #[arg(value_name = "TAG")]
    pub tag: String,

    #[command(flatten)]
    pub policy: PolicyArgs,

    #[command(flatten)]
    pub trust: VerifyTrustArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The commit or annotated tag.
    #[arg(value_name = "REV", default_value = "HEAD")]
    pub rev: String,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
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

    /// A Sigstore signing config (signingconfig.v0.2 JSON) naming the Fulcio, Rekor (v1 API) and
    /// timestamp authority to use; --fulcio-url/--rekor-url/--timestamp-url override it.
    #[arg(long, value_name = "FILE")]
    pub signing_config: Option<PathBuf>,

    /// Fulcio base URL [default: https://fulcio.sigstore.dev].
    #[arg(long, value_name = "URL", env = "SIGNET_FULCIO_URL")]
    pub fulcio_url: Option<String>,

    /// Rekor (v1 API) base URL [default: https://rekor.sigstore.dev].
    #[arg(long, value_name = "URL", env = "SIGNET_REKOR_URL")]
    pub rekor_url: Option<String>,

    /// RFC 3161 timestamp authority endpoint; its token over the signature goes into the bundle.
    #[arg(long, value_name = "URL", env = "SIGNET_TIMESTAMP_SERVER_URL")]
    pub timestamp_url: Option<String>,

    /// Not supported: signet embeds only the public-good trusted root.
    #[arg(long, hide = true)]
    pub staging: bool,

    /// Not supported: signet signs message signatures, not in-toto attestations.
    #[arg(long, hide = true)]
    pub in_toto: bool,

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
    #[arg(
        long,
        value_name = "ID",
        required_unless_present = "key",
        requires = "certificate_oidc_issuer"
    )]
    pub certificate_identity: Option<String>,

    /// Expected OIDC issuer, matched exactly.
    #[arg(long, value_name = "URL", requires = "certificate_identity")]
    pub certificate_oidc_issuer: Option<String>,

    /// Verify a bundle signed with a managed key: the PEM public key (instead of an identity).
    #[arg(long, value_name = "PEM", conflicts_with_all = ["certificate_identity", "certificate_oidc_issuer"])]
    pub key: Option<PathBuf>,

    /// Not supported: signet embeds only the public-good trusted root. Pass the staging root
    /// with --trusted-root instead.
    #[arg(long, hide = true)]
    pub staging: bool,

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
