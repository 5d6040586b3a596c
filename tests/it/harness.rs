//! Test scaffolding: a local Sigstore stack in-process, and the `signet` binary as a child.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct Stack {
    pub dir: tempfile::TempDir,
    url: String,
    issuer: String,
    running: Option<signet_teststack::Running>,
    rt: tokio::runtime::Runtime,
}

impl Stack {
    /// Starts a stack on a free loopback port; it is serving when this returns.
    pub fn start() -> Stack {
        Stack::start_with_cert_lifetime(signet_teststack::DEFAULT_CERT_LIFETIME)
    }

    /// [`Stack::start`] with Fulcio issuing certificates valid for `cert_lifetime`.
    pub fn start_with_cert_lifetime(cert_lifetime: std::time::Duration) -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let running = rt
            .block_on(signet_teststack::start(signet_teststack::ServeOptions {
                state_dir: dir.path().join("stack"),
                listen: "127.0.0.1:0".parse().unwrap(),
                identity: "alice@example.com".into(),
                cert_lifetime,
            }))
            .expect("start teststack");
        Stack {
            dir,
            url: running.base_url.clone(),
            issuer: running.issuer_url.clone(),
            running: Some(running),
            rt,
        }
    }

    /// Stop the stack's servers now (its files stay until it is dropped): from here on,
    /// anything that needs the network fails.
    pub fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.stop()).unwrap();
        }
    }

    fn running(&self) -> &signet_teststack::Running {
        self.running.as_ref().unwrap()
    }

    /// How many login requests the stack's OIDC issuer has answered.
    pub fn login_counts(&self) -> signet_teststack::LoginCounts {
        self.running().login_counts()
    }

    /// The stack's base URL (kept once it is stopped: requests then fail).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn issuer(&self) -> String {
        self.issuer.clone()
    }

    /// The stack's files (still there once it is stopped).
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("stack")
    }

    pub fn trusted_root(&self) -> PathBuf {
        self.state_dir().join("trusted_root.json")
    }

    pub fn client_trust_config(&self) -> PathBuf {
        self.state_dir().join("client_trust_config.json")
    }

    pub fn token(&self, email: &str) -> String {
        signet_teststack::mint_token(&self.state_dir(), email, 600).unwrap()
    }

    /// A scratch path inside this test's temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            let _ = self.rt.block_on(r.stop());
        }
    }
}

/// `signet` with an environment naming only this stack (nothing inherited that could leak in).
pub fn signet(stack: &Stack) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_signet"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", stack.dir.path())
        .env("SIGNET_FULCIO_URL", stack.url())
        .env("SIGNET_REKOR_URL", stack.url())
        .env("SIGNET_TRUSTED_ROOT", stack.trusted_root())
        .stdin(Stdio::null());
    c
}

pub fn run(mut c: Command) -> Output {
    c.output().expect("run signet")
}

pub fn show(o: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// sigstore-js's verifier (`scripts/interop-js/verify.mjs`, which `scripts/test.sh` installs with
/// its pinned packages into target/interop-js, or `SIGNET_SIGSTORE_JS`): does `bundle` verify
/// for `artifact`, signed by `identity` of the stack's issuer, against the stack's trusted root?
pub fn sigstore_js(stack: &Stack, bundle: &Path, artifact: &Path, identity: &str) -> Output {
    let script = std::env::var_os("SIGNET_SIGSTORE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/interop-js/verify.mjs")
        });
    assert!(
        script.exists(),
        "sigstore-js is not installed at {}; run ./scripts/test.sh, which installs it",
        script.display()
    );
    Command::new("node")
        .arg(script)
        .arg(stack.trusted_root())
        .arg(bundle)
        .arg(artifact)
        .arg(identity)
        .arg(stack.issuer())
        .output()
        .expect("run node")
}

/// `sigstore verify identity --offline --bundle BUNDLE --cert-identity IDENTITY
/// --cert-oidc-issuer <the stack's issuer> TARGET` (a file, or `sha256:<hex>`).
pub fn sigstore_python_verify(
    stack: &Stack,
    bundle: &Path,
    identity: &str,
    target: &OsStr,
) -> Output {
    let issuer = stack.issuer();
    sigstore_python(
        stack,
        &[
            OsStr::new("verify"),
            OsStr::new("identity"),
            OsStr::new("--offline"),
            OsStr::new("--bundle"),
            bundle.as_os_str(),
            OsStr::new("--cert-identity"),
            OsStr::new(identity),
            OsStr::new("--cert-oidc-issuer"),
            OsStr::new(issuer.as_str()),
            target,
        ],
    )
}

/// The sigstore-python CLI that `scripts/test.sh` installs (or `SIGNET_SIGSTORE_BIN`).
pub fn sigstore_python(stack: &Stack, args: &[&OsStr]) -> Output {
    let bin = std::env::var_os("SIGNET_SIGSTORE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/sigstore"));
    assert!(
        bin.exists(),
        "sigstore-python is not installed at {}; run ./scripts/test.sh, which installs it",
        bin.display()
    );
    Command::new(bin)
        .arg("--trust-config")
        .arg(stack.client_trust_config())
        .args(args)
        .output()
        .expect("run sigstore-python")
}
