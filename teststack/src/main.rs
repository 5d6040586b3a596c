//! `signet-teststack`: run the local Sigstore stack, or mint a token from its issuer.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "signet-teststack",
    version,
    about = "A loopback-only OIDC issuer + Fulcio + Rekor v1 for testing signet (not a production log)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the stack until SIGTERM or SIGINT; writes DIR/env once it accepts connections.
    Serve {
        /// Directory for the keys, the log database and the published files.
        #[arg(long)]
        state_dir: PathBuf,
        /// Loopback address to listen on (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Email the browser and device flows log in as.
        #[arg(long, default_value = "alice@example.com")]
        identity: String,
        /// Lifetime of the leaf certificates Fulcio issues, in seconds (1 to 86400).
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        cert_lifetime: u64,
    },
    /// Print a signed ID token (aud=sigstore) from the issuer of the stack running in DIR.
    Token {
        #[arg(long)]
        state_dir: PathBuf,
        #[arg(long)]
        email: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 600)]
        expires_in: u64,
    },
}

#[allow(clippy::print_stdout, clippy::print_stderr)] // this binary's only output point
fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            state_dir,
            listen,
            identity,
            cert_lifetime,
        } => serve(signet_teststack::ServeOptions {
            state_dir,
            listen,
            identity,
            cert_lifetime: std::time::Duration::from_secs(cert_lifetime),
        }),
        Command::Token {
            state_dir,
            email,
            expires_in,
        } => signet_teststack::mint_token(&state_dir, &email, expires_in).map(|t| println!("{t}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signet-teststack: error: {e}");
            if let signet_teststack::Error::NotRunning(dir) = &e {
                eprintln!(
                    "hint: start it first: signet-teststack serve --state-dir {}",
                    dir.display()
                );
            }
            ExitCode::from(2)
        }
    }
}

#[allow(clippy::print_stderr)]
fn serve(opts: signet_teststack::ServeOptions) -> Result<(), signet_teststack::Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(signet_teststack::Error::Serve)?;
    rt.block_on(async {
        let mut running = signet_teststack::start(opts).await?;
        eprintln!(
            "signet-teststack: serving on {} (state in {}); stop with SIGTERM or Ctrl-C",
            running.base_url,
            running.state_dir.display()
        );
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(signet_teststack::Error::Serve)?;
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
            r = running.stopped() => return r,
        }
        eprintln!("signet-teststack: stopping");
        running.stop().await
    })
}
