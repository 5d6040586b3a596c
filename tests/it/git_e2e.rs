//! `git commit -S` and `git tag -s` with signet as `gpg.x509.program` against the teststack:
//! the signature lands where git puts it, parses as gitsign's CMS, openssl verifies it against
//! the stack's chain at the signing time, and the log entry (embedded or online) is the one the
//! stack holds. Failures leave no commit and the index untouched.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};
use signet::core::gitobject::ObjectKind;
use signet::core::{asn1, cms, tle};

use crate::harness::{Stack, show};

pub const ALICE: &str = "alice@example.com";
/// Fixed author/committer dates: the objects (other than the signature) are reproducible.
const DATE: &str = "1767225600 +0000";

/// A hermetic repository: its own HOME and global config, no system config, fixed dates, and
/// signet configured as the x509 program with the stack's URLs and a token in the environment.
pub struct Repo {
    pub dir: PathBuf,
    home: PathBuf,
    env: Vec<(String, String)>,
}

impl Repo {
    pub fn new(stack: &Stack, name: &str) -> Repo {
        Repo::with_init(stack, name, &[])
    }

    /// A repository made with extra `git init` arguments (e.g. `--object-format=sha256`).
    pub fn with_init(stack: &Stack, name: &str, init: &[&str]) -> Repo {
        let root = stack.path(name);
        let (dir, home) = (root.join("repo"), root.join("home"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        let mut repo = Repo {
            dir,
            home,
            env: vec![],
        };
        repo.set_env("SIGNET_FULCIO_URL", &stack.url());
        repo.set_env("SIGNET_REKOR_URL", &stack.url());
        repo.set_env(
            "SIGNET_TRUSTED_ROOT",
            stack.trusted_root().to_str().unwrap(),
        );
        repo.set_env("SIGSTORE_ID_TOKEN", &stack.token(ALICE));
        // Every signing logs in unless a test turns the credential cache on (cache.rs), so no
        // agent outlives a test and no test signs with another's credential.
        repo.set_env("SIGNET_CACHE", "false");
        repo.ok(&[&["init", "-q", "-b", "main"][..], init].concat());
        repo.ok(&["config", "gpg.format", "x509"]);
        repo.ok(&["config", "gpg.x509.program", env!("CARGO_BIN_EXE_signet")]);
        repo
    }

    pub fn unset_env(&mut self, key: &str) {
        self.env.retain(|(k, _)| k != key);
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
    }

    /// A command with the hermetic environment, run in the repository.
    pub fn command(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        c.current_dir(&self.dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("GIT_CONFIG_GLOBAL", self.home.join(".gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Alice")
            .env("GIT_AUTHOR_EMAIL", ALICE)
            .env("GIT_COMMITTER_NAME", "Alice")
            .env("GIT_COMMITTER_EMAIL", ALICE)
            .env("GIT_AUTHOR_DATE", DATE)
            .env("GIT_COMMITTER_DATE", DATE)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        c
    }

    pub fn git(&self, args: &[&str]) -> Output {
        self.command(Path::new("git")).args(args).output().unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.git(args);
        assert!(o.status.success(), "git {args:?}: {}", show(&o));
        String::from_utf8(o.stdout).unwrap()
    }

    /// Stage a file.
    pub fn stage(&self, name: &str, content: &str) {
        std::fs::write(self.dir.join(name), content).unwrap();
        self.ok(&["add", name]);
    }
}

/// Split a signed commit object into (payload, armored signature) as git does (signet's own
/// splitter; `tests/vectors/verify/` pins it to git's behaviour).
pub fn split_commit(object: &[u8]) -> (Vec<u8>, Vec<u8>) {
    split(ObjectKind::Commit, object)
}

/// Split a signed tag object: the signature is the trailing armor.
fn split_tag(object: &[u8]) -> (Vec<u8>, Vec<u8>) {
    split(ObjectKind::Tag, object)
}

fn split(kind: ObjectKind, object: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let s = signet::core::signed_object::split(kind, object).expect("a signed object");
    (s.payload, s.signature)
}

/// The stack's CA chain (intermediate, root) as PEM, from its trusted root.
fn chain_pem(stack: &Stack) -> PathBuf {
    let tr: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stack.trusted_root()).unwrap()).unwrap();
    let mut pem = String::new();
    for c in tr["certificateAuthorities"][0]["certChain"]["certificates"]
        .as_array()
        .unwrap()
    {
        let der = B64.decode(c["rawBytes"].as_str().unwrap()).unwrap();
        let body = B64.encode(der);
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for chunk in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(chunk).unwrap());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    let path = stack.path("chain.pem");
    std::fs::write(&path, pem).unwrap();
    path
}

/// `openssl cms -verify` of a detached signature over `payload` at the signing time.
fn openssl_verify(stack: &Stack, name: &str, payload: &[u8], der: &[u8], at: i64) {
    let (p, s) = (
        stack.path(&format!("{name}.payload")),
        stack.path(&format!("{name}.p7s")),
    );
    std::fs::write(&p, payload).unwrap();
    std::fs::write(&s, der).unwrap();
    let o = Command::new("/usr/bin/openssl")
        .args([
            "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any",
        ])
        .arg("-in")
        .arg(&s)
        .arg("-content")
        .arg(&p)
        .arg("-CAfile")
        .arg(chain_pem(stack))
        .args(["-attime", &at.to_string(), "-out", "/dev/null"])
        .output()
        .unwrap();
    assert!(o.status.success(), "openssl cms -verify: {}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Verification successful"),
        "{}",
        show(&o)
    );
}

/// A plain HTTP/1.0 GET against the loopback stack, JSON answer.
fn get_json(url: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let text = String::from_utf8(resp).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "GET {url}: {head}"
    );
    serde_json::from_str(body).unwrap()
}

/// The body of the stack's entry at `index` (the response is `{uuid: entry}`).
pub fn logged_body(stack: &Stack, index: i64) -> serde_json::Value {
    let v = get_json(&format!(
        "{}/api/v1/log/entries?logIndex={index}",
        stack.url()
    ));
    let (_, entry) = v.as_object().unwrap().iter().next().unwrap();
    serde_json::from_slice(&B64.decode(entry["body"].as_str().unwrap()).unwrap()).unwrap()
}

/// Check a signature made in offline mode: CMS shape, openssl, and the embedded entry.
fn check_offline_signature(stack: &Stack, name: &str, payload: &[u8], armored: &[u8]) {
    let der = cms::dearmor(armored).unwrap();
    assert_eq!(
        cms::armor(&der).unwrap().as_bytes(),
        armored,
        "armor is gitsign's"
    );
    let p = cms::parse(&der).unwrap();
    assert_eq!(p.certificates.len(), 1, "leaf only");
    assert_eq!(p.message_digest, Sha256::digest(payload).to_vec());
    assert_eq!(p.digest_algorithm, cms::OID_SHA256);
    assert_eq!(p.signature_algorithm, cms::OID_ECDSA_SHA256);
    let oids: Vec<_> = p.signed_attributes.iter().map(|a| a.oid).collect();
    assert_eq!(
        oids,
        [
            cms::OID_CONTENT_TYPE,
            cms::OID_SIGNING_TIME,
            cms::OID_MESSAGE_DIGEST
        ]
    );
    let at = p.signing_time.unwrap().0;
    openssl_verify(stack, name, payload, &der, at);

    let attr = p.unsigned(tle::OID_REKOR_TLE).expect("embedded log entry");
    let (octets, rest) = asn1::read_tlv(attr.single_value().unwrap()).unwrap();
    assert!(rest.is_empty());
    assert_eq!(octets.tag, 0x04, "the entry is an OCTET STRING");
    let entry = tle::decode(octets.content).unwrap();
    assert!(entry.body.is_empty());
    assert_eq!(
        (entry.kind.as_str(), entry.version.as_str()),
        ("hashedrekord", "0.0.1")
    );
    let body = logged_body(stack, entry.log_index);
    assert_eq!(body["kind"], "hashedrekord");
    assert_eq!(
        body["spec"]["data"]["hash"]["value"],
        hex::encode(Sha256::digest(&p.signed_attrs))
    );
    assert_eq!(
        body["spec"]["signature"]["content"],
        B64.encode(&p.signature)
    );
}

#[test]
fn commit_and_tag_are_signed_offline_and_verify_with_openssl() {
    let stack = Stack::start();
    let repo = Repo::new(&stack, "offline");
    repo.stage("a.txt", "hello\n");
    repo.ok(&["commit", "-q", "-S", "-m", "signed commit"]);
    let object = repo.ok(&["cat-file", "commit", "HEAD"]);
    assert!(
        object.contains("\ngpgsig -----BEGIN SIGNED MESSAGE-----\n"),
        "{object}"
    );
    let (payload, armored) = split_commit(object.as_bytes());
    check_offline_signature(&stack, "commit", &payload, &armored);

    repo.ok(&["tag", "-s", "v1", "-m", "release v1"]);
    let object = repo.ok(&["cat-file", "tag", "v1"]);
    assert!(
        object.ends_with("-----END SIGNED MESSAGE-----\n"),
        "{object}"
    );
    let (payload, armored) = split_tag(object.as_bytes());
    assert!(payload.ends_with(b"release v1\n"));
    check_offline_signature(&stack, "tag", &payload, &armored);
}

/// Whether the stack holds an entry over sha256 of `id` (hex), as gitsign's online mode logs.
fn logged_over_id(stack: &Stack, id: &str) -> bool {
    let info = get_json(&format!("{}/api/v1/log", stack.url()));
    let size = info["treeSize"].as_i64().unwrap();
    let want = hex::encode(Sha256::digest(id.as_bytes()));
    (0..size).any(|i| logged_body(stack, i)["spec"]["data"]["hash"]["value"] == want)
}

#[test]
fn online_mode_logs_the_commit_id_git_reports() {
    let stack = Stack::start();
    let mut repo = Repo::new(&stack, "online");
    repo.set_env("SIGNET_REKOR_MODE", "online");
    repo.stage("a.txt", "online\n");
    repo.ok(&["commit", "-q", "-S", "-m", "online commit"]);
    let head = repo.ok(&["rev-parse", "HEAD"]).trim().to_owned();
    let object = repo.ok(&["cat-file", "commit", "HEAD"]);
    let (_, armored) = split_commit(object.as_bytes());
    let p = cms::parse(&cms::dearmor(&armored).unwrap()).unwrap();
    assert!(
        p.unsigned_attributes.is_empty(),
        "online mode embeds nothing"
    );
    assert!(
        logged_over_id(&stack, &head),
        "no entry over sha256({head})"
    );
    // A signed tag: the id of the tag object.
    repo.ok(&["tag", "-s", "v1", "-m", "online tag"]);
    let tag = repo.ok(&["rev-parse", "v1"]).trim().to_owned();
    assert!(logged_over_id(&stack, &tag), "no entry over sha256({tag})");
}

#[test]
fn sha256_repositories_get_gpgsig_sha256_and_their_ids_are_logged() {
    let stack = Stack::start();
    let mut repo = Repo::with_init(&stack, "sha256", &["--object-format=sha256"]);
    repo.set_env("SIGNET_REKOR_MODE", "online");
    repo.stage("a.txt", "sha256\n");
    repo.ok(&["commit", "-q", "-S", "-m", "sha256 commit"]);
    let object = repo.ok(&["cat-file", "commit", "HEAD"]);
    assert!(
        object.contains("\ngpgsig-sha256 -----BEGIN SIGNED MESSAGE-----\n"),
        "{object}"
    );
    let head = repo.ok(&["rev-parse", "HEAD"]).trim().to_owned();
    assert_eq!(head.len(), 64);
    assert!(
        logged_over_id(&stack, &head),
        "no entry over sha256({head})"
    );
    // Offline mode in the same repository.
    repo.set_env("SIGNET_REKOR_MODE", "offline");
    repo.stage("b.txt", "offline\n");
    repo.ok(&["commit", "-q", "-S", "-m", "offline sha256 commit"]);
    let object = repo.ok(&["cat-file", "commit", "HEAD"]);
    let (payload, armored) = split_commit(object.as_bytes());
    check_offline_signature(&stack, "sha256", &payload, &armored);
}

/// With no token in the environment, `git commit -S` logs in through the issuer: the browser
/// flow (its URL opened by `signet.urlOpener`, here a script that follows the redirect as a
/// browser would) and the device flow (which the teststack approves after the first poll).
#[test]
fn commit_and_tag_sign_after_a_browser_or_device_login() {
    let stack = Stack::start();
    let opener = format!(
        "python3 {}/tests/support/open_url.py",
        env!("CARGO_MANIFEST_DIR")
    );
    for provider in ["browser", "device"] {
        let mut repo = Repo::new(&stack, provider);
        repo.unset_env("SIGSTORE_ID_TOKEN");
        repo.set_env("SIGNET_OIDC_ISSUER", &stack.issuer());
        repo.set_env("SIGNET_LOGIN_TIMEOUT", "60");
        repo.ok(&["config", "signet.tokenProvider", provider]);
        repo.ok(&["config", "signet.urlOpener", &opener]);
        repo.stage("a.txt", provider);
        repo.ok(&["commit", "-q", "-S", "-m", "signed after login"]);
        let object = repo.ok(&["cat-file", "commit", "HEAD"]);
        let (payload, armored) = split_commit(object.as_bytes());
        check_offline_signature(&stack, &format!("{provider}-commit"), &payload, &armored);
        repo.ok(&["tag", "-s", "v1", "-m", "tagged after login"]);
        let object = repo.ok(&["cat-file", "tag", "v1"]);
        let (payload, armored) = split_tag(object.as_bytes());
        check_offline_signature(&stack, &format!("{provider}-tag"), &payload, &armored);
    }
}
