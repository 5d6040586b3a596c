//! Makes the fixture `benches/history_verify.sh` measures: a linear history of N commits signed
//! keylessly by signet (offline mode, the log entry embedded), and the same history signed with
//! SSH as `git commit -S` with `gpg.format=ssh` would, each in its own repository.
//!
//! ```text
//! cargo run --release --example history_fixture -- --commits N --out DIR [--force]
//! ```
//!
//! Output: `DIR/signet` and `DIR/ssh/repo` (non-bare repositories, `refs/heads/main` checked out,
//! all objects in one pack, streamed to `git index-pack` as a push delivers them), `DIR/trusted_root.json` (the CA, CT log and Rekor key the signatures chain to),
//! `DIR/ssh/id_ecdsa{,.pub}` and `DIR/ssh/allowed_signers`, and `DIR/fixture.json` (N, head ids,
//! parameters, generator version). An existing `DIR` whose `fixture.json` has the same N and
//! generator version is reused as is, so the set-up is not the measurement.
//!
//! Nothing talks to a network: the CA (teststack's `ca`), the Rekor log (teststack's Merkle tree,
//! checkpoints and canonical bodies, in memory) and the clock are in-process ports, and signing
//! goes through signet's own `sign_payload_with`, so every commit is signed exactly as
//! `git commit -S` with signet signs it. Commits are 30 s apart from 2024-01-01T00:00:00Z; a
//! certificate serves 20 consecutive commits (a developer whose cached credential covers a burst of
//! commits), valid 10 minutes around them, so the verifier sees N/20 distinct certificates. Every
//! entry gets its own inclusion proof against the tree at its own size, with a checkpoint for that
//! size, as Rekor v1 answers an upload. The keys are throwaway fixture keys (the SSH private key is
//! written to a plain file so that the repository can be extended with `git commit -S`).

#![allow(
    clippy::print_stdout,
    reason = "a command-line example reports on stdout"
)]
#![allow(
    clippy::print_stderr,
    reason = "a command-line example reports errors on stderr"
)]

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, Signature, SigningKey};
use p256::elliptic_curve::Generate;
use serde_json::json;
use sha2::{Digest, Sha256, Sha512};

use signet::core::gitobject;
use signet::core::policy::{Matcher, Policy, Trust};
use signet::core::rekor::{HashedRekord, InclusionProof, TlogEntry};
use signet::core::time::UnixTime;
use signet::core::trust_root::TrustedRoot;
use signet::core::x509::Leaf;
use signet::flow::sign_commit::{IssuedKey, LogMode, PayloadOptions, sign_payload_with};
use signet::flow::{Clock, PortError, TransparencyLog};
use signet_teststack::ca::{self, Ca, San};
use signet_teststack::{checkpoint, keys, merkle, rekor, trust};

/// Bumped whenever the output changes shape or content rules; `fixture.json` records it.
const GENERATOR_VERSION: u32 = 1;
/// 2024-01-01T00:00:00Z.
const START: i64 = 1_704_067_200;
const INTERVAL: i64 = 30;
const COMMITS_PER_CERT: u64 = 20;
const CERT_LIFETIME: u64 = 600;
const NAME: &str = "Alice";
const EMAIL: &str = "alice@example.com";
const ISSUER: &str = "https://issuer.example.com";
const BASE_URL: &str = "https://sigstore.example.com";
const TREE_ID: i64 = 1;
const README: &[u8] = b"A history made by examples/history_fixture.rs.\n";

type Error = Box<dyn std::error::Error + Send + Sync>;

fn fail(msg: impl Into<String>) -> Error {
    msg.into().into()
}

struct Args {
    commits: u64,
    out: PathBuf,
    force: bool,
}

fn parse_args() -> Result<Args, Error> {
    let usage = "usage: history_fixture --commits N --out DIR [--force]";
    let (mut commits, mut out, mut force) = (None, None, false);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--commits" => commits = it.next().and_then(|v| v.parse::<u64>().ok()),
            "--out" => out = it.next().map(PathBuf::from),
            "--force" => force = true,
            "-h" | "--help" => {
                println!("{usage}");
                std::process::exit(0);
            }
            other => return Err(fail(format!("unknown argument {other}; {usage}"))),
        }
    }
    match (commits, out) {
        (Some(commits), Some(out)) if commits > 0 => Ok(Args {
            commits,
            out,
            force,
        }),
        _ => Err(fail(usage)),
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("history_fixture: error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Error> {
    let args = parse_args()?;
    let manifest = args.out.join("fixture.json");
    if !args.force
        && let Ok(bytes) = std::fs::read(&manifest)
        && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes)
        && v["generator_version"] == GENERATOR_VERSION
        && v["commits"] == args.commits
    {
        println!(
            "{}: up to date ({} commits)",
            args.out.display(),
            args.commits
        );
        return Ok(());
    }
    if args.out.exists() {
        // Only an earlier fixture (or an empty directory) is replaced, never anything else.
        let empty = std::fs::read_dir(&args.out)?.next().is_none();
        if !empty && !manifest.exists() {
            return Err(fail(format!(
                "{} exists and holds no fixture.json; refusing to replace it",
                args.out.display()
            )));
        }
        std::fs::remove_dir_all(&args.out)?;
    }
    std::fs::create_dir_all(args.out.join("ssh"))?;
    let started = Instant::now();

    let signet_repo = args.out.join("signet");
    let ssh_repo = args.out.join("ssh").join("repo");
    let n = args.commits;
    let (signet_head, ssh_head) = std::thread::scope(|s| {
        let ssh = s.spawn(|| ssh_history(&args.out, &ssh_repo, n));
        let signet = signet_history(&args.out, &signet_repo, n);
        let ssh = ssh
            .join()
            .unwrap_or_else(|_| Err(fail("the ssh thread panicked")));
        Ok::<_, Error>((signet?, ssh?))
    })?;
    let total_secs = started.elapsed().as_secs_f64();

    let v = json!({
        "generator": "examples/history_fixture.rs",
        "generator_version": GENERATOR_VERSION,
        "commits": n,
        "signet_repo": "signet",
        "signet_head": signet_head,
        "ssh_repo": "ssh/repo",
        "ssh_head": ssh_head,
        "ref": "refs/heads/main",
        "trusted_root": "trusted_root.json",
        "identity": EMAIL,
        "issuer": ISSUER,
        "first_commit_time": START,
        "seconds_between_commits": INTERVAL,
        "commits_per_certificate": COMMITS_PER_CERT,
        "certificate_lifetime_seconds": CERT_LIFETIME,
        "ssh_key": "ecdsa-sha2-nistp256",
        "generation_seconds": (total_secs * 10.0).round() / 10.0,
    });
    std::fs::write(&manifest, serde_json::to_vec_pretty(&v)?)?;
    println!("{}: {n} commits in {total_secs:.1} s", args.out.display());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// git objects

fn git(repo: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("-C")
        .arg(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::null());
    c
}

fn run_git(cmd: &mut Command) -> Result<String, Error> {
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(fail(format!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A pack streamed into `git index-pack --stdin` as objects are made (as a push delivers them),
/// so that git hashes and indexes on the other core while we sign, and no loose objects are
/// written. Objects are whole (no deltas), zlib level 6 as `git pack-objects` writes them.
struct PackWriter {
    child: std::process::Child,
    out: std::io::BufWriter<std::process::ChildStdin>,
    sha1: sha1::Sha1,
    left: u64,
}

impl PackWriter {
    fn start(repo: &Path, objects: u64) -> Result<PackWriter, Error> {
        let mut child = git(repo)
            .args(["index-pack", "--stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take().ok_or_else(|| fail("no stdin"))?;
        let mut w = PackWriter {
            child,
            out: std::io::BufWriter::with_capacity(1 << 20, stdin),
            sha1: sha1::Sha1::new(),
            left: objects,
        };
        let mut header = b"PACK".to_vec();
        header.extend_from_slice(&2u32.to_be_bytes());
        header.extend_from_slice(&u32::try_from(objects)?.to_be_bytes());
        w.put(&header)?;
        Ok(w)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        use std::io::Write as _;
        self.sha1.update(bytes);
        self.out.write_all(bytes)?;
        Ok(())
    }

    /// Adds an object (pack type 1 commit, 2 tree, 3 blob) and returns its id.
    fn add(&mut self, kind: &str, data: &[u8]) -> Result<String, Error> {
        use std::io::Write as _;
        let code: u8 = match kind {
            "commit" => 1,
            "tree" => 2,
            "blob" => 3,
            other => return Err(fail(format!("cannot pack a {other}"))),
        };
        self.left = self
            .left
            .checked_sub(1)
            .ok_or_else(|| fail("more objects than announced"))?;
        // Type and size: 4 bits of size in the first byte, then 7 per byte, little-endian.
        let mut size = data.len();
        let mut byte = (code << 4) | (size & 0x0f) as u8;
        size >>= 4;
        let mut header = Vec::with_capacity(4);
        while size > 0 {
            header.push(byte | 0x80);
            byte = (size & 0x7f) as u8;
            size >>= 7;
        }
        header.push(byte);
        self.put(&header)?;
        let mut z = gix::zlib::stream::deflate::Write::new(
            Vec::with_capacity(data.len()),
            gix::zlib::Compression::DEFAULT,
        );
        z.write_all(data)?;
        z.flush()?;
        self.put(&z.into_inner())?;
        Ok(hex::encode(
            sha1::Sha1::new()
                .chain_update(format!("{kind} {}\0", data.len()))
                .chain_update(data)
                .finalize(),
        ))
    }

    /// Writes the trailer and waits for git to index the pack.
    fn finish(mut self) -> Result<(), Error> {
        use std::io::Write as _;
        if self.left != 0 {
            return Err(fail(format!("{} announced objects missing", self.left)));
        }
        let trailer = self.sha1.clone().finalize();
        self.out.write_all(&trailer)?;
        self.out.flush()?;
        drop(self.out);
        let status = self.child.wait()?;
        if !status.success() {
            return Err(fail(format!("git index-pack failed: {status}")));
        }
        Ok(())
    }
}

/// A fresh repository on `main` and a pack for `commits` commits with the README blob and its
/// tree already in it; returns the pack and the tree id.
fn init_repo(path: &Path, commits: u64) -> Result<(PackWriter, String), Error> {
    std::fs::create_dir_all(path)?;
    run_git(git(path).args(["init", "-q", "-b", "main"]))?;
    let mut pack = PackWriter::start(path, commits + 2)?;
    let blob = pack.add("blob", README)?;
    let mut tree = b"100644 README\0".to_vec();
    tree.extend_from_slice(&hex::decode(&blob)?);
    let tree = pack.add("tree", &tree)?;
    Ok((pack, tree))
}

/// The unsigned commit `i` (1-based) as git hands it to the signing program.
fn payload(tree: &str, parent: Option<&str>, i: u64) -> Vec<u8> {
    let t = commit_time(i);
    let mut s = format!("tree {tree}\n");
    if let Some(p) = parent {
        let _ = writeln!(s, "parent {p}");
    }
    let _ = write!(
        s,
        "author {NAME} <{EMAIL}> {t} +0000\ncommitter {NAME} <{EMAIL}> {t} +0000\n\ncommit {i}\n"
    );
    s.into_bytes()
}

fn commit_time(i: u64) -> i64 {
    START + (i as i64 - 1) * INTERVAL
}

/// Adds the signed commit (git's `gpgsig` header) to the pack and returns its id: SHA-1 over
/// `commit <len>\0<data>`.
fn write_signed(pack: &mut PackWriter, payload: &[u8], armored: &[u8]) -> Result<String, Error> {
    let (_, object) = gitobject::with_signature(payload, armored)?;
    pack.add("commit", &object)
}

/// Finishes the pack, points `main` at `head` and checks it out.
fn finish_repo(path: &Path, pack: PackWriter, head: &str) -> Result<(), Error> {
    pack.finish()?;
    run_git(git(path).args(["update-ref", "refs/heads/main", head]))?;
    run_git(git(path).args(["reset", "-q", "--hard"]))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// signet: in-process CA, log and clock

/// The clock port: the time of the commit being signed.
struct CommitClock(Cell<i64>);

impl Clock for CommitClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.get())
    }
}

/// A Rekor v1 log in memory: entries integrated at the commit's time, each with a SET and an
/// inclusion proof against the tree at its own size, with that size's checkpoint.
struct MemoryLog<'a> {
    key: SigningKey,
    log_id: [u8; 32],
    tree: RefCell<merkle::Tree>,
    clock: &'a CommitClock,
}

impl TransparencyLog for MemoryLog<'_> {
    async fn submit(&self, entry: &HashedRekord) -> Result<TlogEntry, PortError> {
        let protocol = |detail: String| PortError::Protocol {
            service: "rekor",
            detail,
        };
        let proposed = serde_json::to_value(entry).map_err(|e| protocol(e.to_string()))?;
        let body = rekor::canonicalize(proposed, false)
            .map_err(|e| protocol(format!("{e:?}")))?
            .body;
        let mut tree = self.tree.borrow_mut();
        let index = tree.push(merkle::leaf_hash(&body));
        let size = tree.len();
        let root = tree.root(size).ok_or_else(|| protocol("no root".into()))?;
        let hashes = tree
            .inclusion_proof(index, size)
            .ok_or_else(|| protocol("no proof".into()))?;
        let integrated_time = self.clock.0.get();
        // The SET as the teststack's Rekor signs it: canonical JSON of body, time, log id, index.
        let set_payload = json!({
            "body": keys::b64(&body),
            "integratedTime": integrated_time,
            "logID": hex::encode(self.log_id),
            "logIndex": index,
        });
        let set_bytes =
            serde_json_canonicalizer::to_vec(&set_payload).map_err(|e| protocol(e.to_string()))?;
        let set: DerSignature = self.key.sign(&set_bytes);
        Ok(TlogEntry {
            log_index: index as i64,
            log_id: self.log_id.to_vec(),
            kind: "hashedrekord".into(),
            version: "0.0.1".into(),
            integrated_time,
            signed_entry_timestamp: Some(set.as_bytes().to_vec()),
            inclusion_proof: Some(InclusionProof {
                log_index: index as i64,
                tree_size: size as i64,
                root_hash: root.to_vec(),
                hashes: hashes.iter().map(|h| h.to_vec()).collect(),
                checkpoint: Some(checkpoint::sign(
                    &self.key,
                    checkpoint::log_name(BASE_URL),
                    TREE_ID,
                    size,
                    &root,
                )),
            }),
            body,
        })
    }
}

fn unix(t: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(t as u64)
}

/// The CA, the trusted root describing it (written to `out`) and the log key.
fn make_trust(out: &Path) -> Result<(Ca, SigningKey, TrustedRoot), Error> {
    let valid_from = START - 86_400;
    let root_key = SigningKey::generate();
    let intermediate_key = SigningKey::generate();
    let root_der = ca::make_root(&root_key, valid_from as u64)?;
    let intermediate_der =
        ca::make_intermediate(&intermediate_key, &root_key, &root_der, valid_from as u64)?;
    let ca = Ca {
        intermediate_key,
        intermediate_der,
        root_der,
        ct_key: SigningKey::generate(),
    };
    let rekor_key = SigningKey::generate();
    let published = trust::Published {
        base_url: BASE_URL,
        issuer_url: ISSUER,
        valid_from,
        ca_chain_der: [&ca.intermediate_der, &ca.root_der],
        rekor_key: rekor_key.verifying_key(),
        ct_key: ca.ct_key.verifying_key(),
    };
    let bytes = serde_json::to_vec_pretty(&published.trusted_root())?;
    std::fs::write(out.join("trusted_root.json"), &bytes)?;
    let root = TrustedRoot::from_json(&bytes)?;
    Ok((ca, rekor_key, root))
}

/// A fresh key and a certificate for it, valid for `CERT_LIFETIME` from half an interval before
/// commit `first`.
fn issue(ca: &Ca, first: u64) -> Result<IssuedKey, Error> {
    let key = SigningKey::generate();
    let der = ca.issue_leaf(
        key.verifying_key(),
        &San::Email(EMAIL.into()),
        ISSUER,
        unix(commit_time(first) - INTERVAL / 2),
        Duration::from_secs(CERT_LIFETIME),
    )?;
    Ok(IssuedKey {
        key,
        leaf: Leaf::from_der(&der)?,
    })
}

fn signet_history(out: &Path, path: &Path, n: u64) -> Result<String, Error> {
    let (ca, rekor_key, root) = make_trust(out)?;
    let clock = CommitClock(Cell::new(START));
    let log = MemoryLog {
        log_id: keys::key_id(rekor_key.verifying_key()),
        key: rekor_key,
        tree: RefCell::new(merkle::Tree::new()),
        clock: &clock,
    };
    let options = PayloadOptions {
        mode: LogMode::Offline,
        match_committer: true,
    };
    let (mut pack, tree) = init_repo(path, n)?;
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    let mut parent: Option<String> = None;
    let mut issued = None;
    for i in 1..=n {
        if (i - 1) % COMMITS_PER_CERT == 0 {
            issued = Some(issue(&ca, i)?);
        }
        let key = issued.as_ref().ok_or_else(|| fail("no key"))?;
        clock.0.set(commit_time(i));
        let payload = payload(&tree, parent.as_deref(), i);
        let signed = rt
            .block_on(sign_payload_with(
                &log,
                None::<&signet::adapters::tsa::TsaClient>,
                &clock,
                &root,
                key,
                &payload,
                options,
            ))
            .map_err(|e| fail(format!("signing commit {i}: {e}")))?;
        if i == 1 {
            self_check(&rt, &root, &payload, signed.armored.as_bytes())?;
        }
        parent = Some(write_signed(
            &mut pack,
            &payload,
            signed.armored.as_bytes(),
        )?);
    }
    let head = parent.ok_or_else(|| fail("no commits"))?;
    finish_repo(path, pack, &head)?;
    Ok(head)
}

/// Commit 1 must verify with signet's verifier, offline, against the written trusted root.
fn self_check(
    rt: &tokio::runtime::Runtime,
    root: &TrustedRoot,
    payload: &[u8],
    armored: &[u8],
) -> Result<(), Error> {
    let policy = Policy {
        identity: Some(Matcher::exact(EMAIL, "identity")?),
        issuer: Some(Matcher::exact(ISSUER, "issuer")?),
    };
    let report = rt.block_on(signet::flow::verify_commit::verify_signature(
        payload,
        armored,
        None,
        root,
        &policy,
        signet::flow::verify_commit::Stored::None,
        None::<&signet::adapters::rekor::RekorClient>,
    ));
    match report.outcome {
        Ok((_, verdict)) if verdict.trust == Trust::Fully => Ok(()),
        Ok((_, verdict)) => Err(fail(format!(
            "self-check: commit 1 fails the policy: {:?}",
            verdict.violations
        ))),
        Err(e) => Err(fail(format!("self-check: commit 1 does not verify: {e}"))),
    }
}

// ---------------------------------------------------------------------------------------------
// ssh: SSHSIG (PROTOCOL.sshsig) with an ecdsa-sha2-nistp256 key, namespace "git", sha512

const SSH_KEY_TYPE: &str = "ecdsa-sha2-nistp256";

fn put_string(buf: &mut Vec<u8>, s: &[u8]) {
    buf.extend_from_slice(&(s.len() as u32).to_be_bytes());
    buf.extend_from_slice(s);
}

/// An SSH `mpint` from unsigned big-endian bytes.
fn put_mpint(buf: &mut Vec<u8>, bytes: &[u8]) {
    let trimmed = &bytes[bytes.iter().take_while(|&&b| b == 0).count()..];
    let mut v = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_some_and(|&b| b & 0x80 != 0) {
        v.push(0);
    }
    v.extend_from_slice(trimmed);
    put_string(buf, &v);
}

fn ssh_public_blob(key: &SigningKey) -> Vec<u8> {
    let mut b = Vec::new();
    put_string(&mut b, SSH_KEY_TYPE.as_bytes());
    put_string(&mut b, b"nistp256");
    put_string(&mut b, key.verifying_key().to_sec1_point(false).as_bytes());
    b
}

/// Base64 wrapped at 70 columns between BEGIN/END lines, as ssh-keygen writes.
fn ssh_armor(label: &str, blob: &[u8]) -> String {
    let b64 = B64.encode(blob);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(70) {
        s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        s.push('\n');
    }
    let _ = writeln!(s, "-----END {label}-----");
    s
}

/// `ssh-keygen -Y sign -n git` over `message`.
fn sshsig(key: &SigningKey, public: &[u8], message: &[u8]) -> String {
    let mut signed = b"SSHSIG".to_vec();
    put_string(&mut signed, b"git");
    put_string(&mut signed, b"");
    put_string(&mut signed, b"sha512");
    put_string(&mut signed, &Sha512::digest(message));
    let sig: Signature = key.sign(&signed); // ECDSA with SHA-256, as nistp256 requires
    let (r, s) = sig.split_bytes();
    let mut rs = Vec::new();
    put_mpint(&mut rs, &r);
    put_mpint(&mut rs, &s);
    let mut sig_blob = Vec::new();
    put_string(&mut sig_blob, SSH_KEY_TYPE.as_bytes());
    put_string(&mut sig_blob, &rs);

    let mut blob = b"SSHSIG".to_vec();
    blob.extend_from_slice(&1u32.to_be_bytes());
    put_string(&mut blob, public);
    put_string(&mut blob, b"git");
    put_string(&mut blob, b"");
    put_string(&mut blob, b"sha512");
    put_string(&mut blob, &sig_blob);
    ssh_armor("SSH SIGNATURE", &blob)
}

/// The unencrypted OpenSSH private key file (`openssh-key-v1`).
fn ssh_private_key_file(key: &SigningKey, public: &[u8]) -> String {
    let check = u32::from_be_bytes(Sha256::digest(public)[..4].try_into().unwrap_or_default());
    let mut private = Vec::new();
    private.extend_from_slice(&check.to_be_bytes());
    private.extend_from_slice(&check.to_be_bytes());
    put_string(&mut private, SSH_KEY_TYPE.as_bytes());
    put_string(&mut private, b"nistp256");
    put_string(
        &mut private,
        key.verifying_key().to_sec1_point(false).as_bytes(),
    );
    put_mpint(&mut private, &key.to_bytes());
    put_string(&mut private, EMAIL.as_bytes());
    let mut pad = 1u8;
    while !private.len().is_multiple_of(8) {
        private.push(pad);
        pad += 1;
    }
    let mut blob = b"openssh-key-v1\0".to_vec();
    put_string(&mut blob, b"none");
    put_string(&mut blob, b"none");
    put_string(&mut blob, b"");
    blob.extend_from_slice(&1u32.to_be_bytes());
    put_string(&mut blob, public);
    put_string(&mut blob, &private);
    ssh_armor("OPENSSH PRIVATE KEY", &blob)
}

fn write_private(path: &Path, text: &str) -> Result<(), Error> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

fn ssh_history(out: &Path, path: &Path, n: u64) -> Result<String, Error> {
    let dir = out.join("ssh");
    let key = SigningKey::generate();
    let public = ssh_public_blob(&key);
    let public_line = format!("{SSH_KEY_TYPE} {} {EMAIL}\n", B64.encode(&public));
    write_private(&dir.join("id_ecdsa"), &ssh_private_key_file(&key, &public))?;
    std::fs::write(dir.join("id_ecdsa.pub"), &public_line)?;
    std::fs::write(
        dir.join("allowed_signers"),
        format!("{EMAIL} {public_line}"),
    )?;

    let (mut pack, tree) = init_repo(path, n)?;
    let mut parent: Option<String> = None;
    for i in 1..=n {
        let payload = payload(&tree, parent.as_deref(), i);
        let armored = sshsig(&key, &public, &payload);
        parent = Some(write_signed(&mut pack, &payload, armored.as_bytes())?);
    }
    let head = parent.ok_or_else(|| fail("no commits"))?;
    finish_repo(path, pack, &head)?;
    ssh_self_check(out, path, n)?;
    Ok(head)
}

/// The first commit must verify with git itself (`ssh-keygen -Y verify` behind it).
fn ssh_self_check(out: &Path, path: &Path, n: u64) -> Result<(), Error> {
    let allowed = out.join("ssh").join("allowed_signers");
    let mut cmd = git(path);
    cmd.arg("-c")
        .arg(format!("gpg.ssh.allowedSignersFile={}", allowed.display()))
        .args(["verify-commit", &format!("main~{}", n - 1)]);
    run_git(&mut cmd)
        .map(drop)
        .map_err(|e| fail(format!("self-check: ssh commit 1 does not verify: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpint_is_minimal_and_positive() {
        let mut b = Vec::new();
        put_mpint(&mut b, &[0, 0, 0x7f]);
        assert_eq!(b, [0, 0, 0, 1, 0x7f]);
        b.clear();
        put_mpint(&mut b, &[0, 0x80, 1]);
        assert_eq!(b, [0, 0, 0, 3, 0, 0x80, 1]);
    }

    #[test]
    fn payload_has_the_shape_git_signs() {
        let p = payload("4b825dc642cb6eb9a060e54bf8d69288fbee4904", Some("ab"), 2);
        let text = String::from_utf8(p).unwrap();
        assert_eq!(
            text,
            "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent ab\n\
             author Alice <alice@example.com> 1704067230 +0000\n\
             committer Alice <alice@example.com> 1704067230 +0000\n\ncommit 2\n"
        );
    }
}
