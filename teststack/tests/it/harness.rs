//! Runs `signet-teststack serve` as a child on 127.0.0.1:0, waits for its `env` file (written
//! once it accepts connections), and stops it with SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::STANDARD};
use p256::ecdsa::{DerSignature, SigningKey, signature::Signer};
use p256::pkcs8::EncodePublicKey;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const BIN: &str = env!("CARGO_BIN_EXE_signet-teststack");

pub struct Stack {
    pub dir: PathBuf,
    pub child: Option<Child>,
    pub env: Vec<(String, String)>,
}

impl Stack {
    pub fn start(dir: &Path) -> Stack {
        Self::start_with(dir, &[])
    }

    pub fn start_with(dir: &Path, extra: &[&str]) -> Stack {
        let env_file = dir.join("env");
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--state-dir")
            .arg(dir)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn signet-teststack");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(text) = std::fs::read_to_string(&env_file) {
                let env = signet_teststack::trust::parse_env(&text);
                let pid = env.iter().find(|(k, _)| k == "SIGNET_TESTSTACK_PID");
                // A stale file from an earlier run names another process: keep waiting.
                if pid.is_some_and(|(_, p)| p == &child.id().to_string()) {
                    return Stack {
                        dir: dir.to_path_buf(),
                        child: Some(child),
                        env,
                    };
                }
            }
            if let Some(status) = child.try_wait().expect("poll child") {
                panic!("signet-teststack exited before it was ready: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "signet-teststack not ready after 60 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn var(&self, name: &str) -> String {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} missing from env file"))
    }

    pub fn url(&self) -> String {
        self.var("SIGNET_REKOR_URL")
    }

    pub fn issuer(&self) -> String {
        self.var("SIGNET_OIDC_ISSUER")
    }

    pub fn token(&self, email: &str) -> String {
        let out = Command::new(BIN)
            .args(["token", "--state-dir"])
            .arg(&self.dir)
            .args(["--email", email])
            .output()
            .expect("run token");
        assert!(
            out.status.success(),
            "token failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// Stops the stack with SIGTERM and asserts it exited cleanly and removed its env file.
    pub fn stop(mut self) {
        let mut child = self.child.take().unwrap();
        let st = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let status = child.wait().unwrap();
        assert!(status.success(), "teststack did not stop cleanly: {status}");
        assert!(
            !self.dir.join("env").exists(),
            "env file left behind after stop"
        );
    }

    pub fn tree_size(&self) -> u64 {
        let v: Value = client()
            .get(format!("{}/api/v1/log", self.url()))
            .send()
            .unwrap()
            .json()
            .unwrap();
        v["treeSize"].as_u64().unwrap()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn client() -> reqwest::blocking::Client {
    install_crypto_provider();
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// reqwest may be built with rustls and no provider (feature unification with signet in a
/// whole-workspace build); install ring's. A second install is a harmless no-op.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub fn pem_public_key(key: &SigningKey) -> String {
    key.verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap()
}

/// A Fulcio certificate chain (PEM, leaf first) for `key`, via proof of possession.
pub fn certificate(stack: &Stack, key: &SigningKey, token: &str, email: &str) -> Vec<String> {
    let pop: DerSignature = key.sign(email.as_bytes());
    let resp = client()
        .post(format!(
            "{}/api/v2/signingCert",
            stack.var("SIGNET_FULCIO_URL")
        ))
        .json(&json!({
            "credentials": { "oidcIdentityToken": token },
            "publicKeyRequest": {
                "publicKey": { "algorithm": "ECDSA", "content": pem_public_key(key) },
                "proofOfPossession": STANDARD.encode(pop.as_bytes()),
            }
        }))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().unwrap();
    v["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

/// A hashedrekord proposal for `artifact` signed by `key`, naming `pem` (cert or key).
pub fn hashedrekord(key: &SigningKey, pem: &str, artifact: &[u8]) -> Value {
    let sig: DerSignature = key.sign(artifact);
    json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "signature": {
                "content": STANDARD.encode(sig.as_bytes()),
                "publicKey": { "content": STANDARD.encode(pem) }
            },
            "data": { "hash": { "algorithm": "sha256", "value": hex::encode(Sha256::digest(artifact)) } }
        }
    })
}

/// The sigstore-python CLI from the venv `scripts/test.sh` installs (or `SIGNET_SIGSTORE_BIN`).
pub fn sigstore_bin() -> PathBuf {
    if let Ok(p) = std::env::var("SIGNET_SIGSTORE_BIN") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/venv/bin/sigstore");
    assert!(
        p.exists(),
        "sigstore-python is not installed at {}; run ./scripts/test.sh, which installs it",
        p.display()
    );
    p
}

pub fn sigstore(stack: &Stack, args: &[&str]) -> std::process::Output {
    Command::new(sigstore_bin())
        .arg("--trust-config")
        .arg(stack.var("SIGNET_CLIENT_TRUST_CONFIG"))
        .args(args)
        .output()
        .expect("run sigstore-python")
}
