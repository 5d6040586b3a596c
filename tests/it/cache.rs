//! The credential cache through real git and the browser login: one login for twenty signed
//! commits, a new login once the certificate is about to expire, the cache turned off,
//! `signet login/logout/status`, an agent socket that is not private, and no key on disk.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::git_e2e::{ALICE, Repo};
use crate::harness::{Stack, show};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");

/// Removes the agent's socket when dropped, which makes the agent exit (it watches its socket).
struct AgentGuard(PathBuf);

impl Drop for AgentGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Which store a test caches in.
#[derive(Clone, Copy, PartialEq)]
enum Store {
    Agent,
    /// The kernel keyring: the test process joins a fresh session keyring first, which the
    /// git and signet children inherit and nobody else possesses.
    Keyring,
}

/// Join a new anonymous session keyring (nextest runs each test in its own process).
fn private_session_keyring() {
    // SAFETY: keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL) reads and writes no memory of ours.
    let id = unsafe { libc::syscall(libc::SYS_keyctl, 1, std::ptr::null::<libc::c_char>()) };
    assert!(id > 0, "cannot join a session keyring");
}

/// A repository that logs in through the browser flow (no token in the environment) with the
/// credential cache on, in `store` (the agent's socket in a private directory of this test).
fn cached_repo(stack: &Stack, name: &str, store: Store) -> (Repo, AgentGuard) {
    let mut repo = Repo::new(stack, name);
    repo.unset_env("SIGSTORE_ID_TOKEN");
    repo.set_env("SIGNET_OIDC_ISSUER", &stack.issuer());
    repo.set_env("SIGNET_LOGIN_TIMEOUT", "60");
    repo.set_env(
        "SIGNET_CACHE",
        match store {
            Store::Agent => "agent",
            Store::Keyring => "keyring",
        },
    );
    if store == Store::Keyring {
        private_session_keyring();
    }
    let agent_dir = stack.path(&format!("{name}-agent"));
    std::fs::create_dir(&agent_dir).unwrap();
    std::fs::set_permissions(&agent_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let socket = agent_dir.join("agent.sock");
    repo.set_env("SIGNET_AGENT_SOCKET", socket.to_str().unwrap());
    repo.ok(&["config", "signet.tokenProvider", "browser"]);
    let opener = format!(
        "python3 {}/tests/support/open_url.py",
        env!("CARGO_MANIFEST_DIR")
    );
    repo.ok(&["config", "signet.urlOpener", &opener]);
    (repo, AgentGuard(socket))
}

fn commit(repo: &Repo, message: &str) {
    repo.ok(&["commit", "-q", "--allow-empty", "-S", "-m", message]);
}

fn signet(repo: &Repo, args: &[&str]) -> std::process::Output {
    repo.command(Path::new(SIGNET)).args(args).output().unwrap()
}

/// The certificate of HEAD's signature: (fingerprint, notAfter unix time), from `signet show`.
fn head_certificate(repo: &Repo) -> (String, i64) {
    let o = signet(repo, &["show", "--format", "json", "HEAD"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    (
        v["fingerprint"].as_str().unwrap().to_owned(),
        v["certificateNotAfter"]["unix"].as_i64().unwrap(),
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn twenty_commits_need_one_login_with_the_agent() {
    twenty_commits_need_one_login(Store::Agent);
}

#[test]
fn twenty_commits_need_one_login_with_the_keyring() {
    twenty_commits_need_one_login(Store::Keyring);
}

fn twenty_commits_need_one_login(store: Store) {
    let stack = Stack::start();
    let (repo, _agent) = cached_repo(&stack, "twenty", store);
    for i in 0..20 {
        commit(&repo, &format!("commit {i}"));
    }
    let counts = stack.login_counts();
    assert_eq!(counts.authorization, 1, "{counts:?}");
    assert_eq!(counts.token, 1, "{counts:?}");
    // All twenty verify, and share one certificate.
    let all = repo.ok(&["rev-list", "HEAD"]);
    let ids: Vec<&str> = all.lines().collect();
    assert_eq!(ids.len(), 20);
    let mut args = vec!["verify", "--format", "json"];
    args.extend(ids.iter().copied());
    let o = signet(&repo, &args);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let fingerprints: std::collections::BTreeSet<&str> = report
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["signature"]["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fingerprints.len(), 1, "{report}");

    let o = signet(&repo, &["status"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(&format!("logged in as {ALICE}")), "{out}");
}

#[test]
fn a_certificate_about_to_expire_is_not_used_with_the_agent() {
    a_certificate_about_to_expire_is_not_used(Store::Agent);
}

#[test]
fn a_certificate_about_to_expire_is_not_used_with_the_keyring() {
    a_certificate_about_to_expire_is_not_used(Store::Keyring);
}

fn a_certificate_about_to_expire_is_not_used(store: Store) {
    // 40 s certificates and 5 s requests: the margin is 30 + 5 s, so a certificate is used for
    // signing for 5 s.
    let stack = Stack::start_with_cert_lifetime(Duration::from_secs(40));
    let (mut repo, _agent) = cached_repo(&stack, "expiry", store);
    repo.set_env("SIGNET_HTTP_TIMEOUT", "5");
    commit(&repo, "first");
    let (first, not_after) = head_certificate(&repo);
    assert_eq!(stack.login_counts().authorization, 1);
    // Wait for the clock (not for a server): until the cached certificate is within the margin.
    while now() <= not_after - 35 {
        std::thread::sleep(Duration::from_millis(200));
    }
    commit(&repo, "second");
    let (second, _) = head_certificate(&repo);
    assert_eq!(stack.login_counts().authorization, 2);
    assert_ne!(first, second, "a new certificate after the new login");
    repo.ok(&["verify-commit", "HEAD"]);
    repo.ok(&["verify-commit", "HEAD~1"]);
}

#[test]
fn with_the_cache_off_every_signing_logs_in() {
    let stack = Stack::start();
    let (mut repo, agent) = cached_repo(&stack, "off", Store::Agent);
    repo.set_env("SIGNET_CACHE", "false");
    for i in 0..3 {
        commit(&repo, &format!("commit {i}"));
    }
    assert_eq!(stack.login_counts().authorization, 3);
    assert!(!agent.0.exists(), "no agent is started");
    let o = signet(&repo, &["status"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("cache: off"));
    let o = signet(&repo, &["login"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("signet.cache"));
}

#[test]
fn login_logout_and_status_with_the_agent() {
    login_logout_and_status(Store::Agent);
}

#[test]
fn login_logout_and_status_with_the_keyring() {
    login_logout_and_status(Store::Keyring);
}

fn login_logout_and_status(store: Store) {
    let stack = Stack::start();
    let (repo, _agent) = cached_repo(&stack, "login", store);
    let o = signet(&repo, &["status"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    match store {
        Store::Agent => assert!(out.contains("agent: not running"), "{}", show(&o)),
        Store::Keyring => {
            assert!(out.contains("kernel keyring"), "{}", show(&o));
            assert!(out.contains("not logged in"), "{}", show(&o));
        }
    }

    let o = signet(&repo, &["login"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("logged in as {ALICE}")));
    commit(&repo, "after login");
    assert_eq!(stack.login_counts().authorization, 1);

    let o = signet(&repo, &["logout"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("logged out"));
    let o = signet(&repo, &["status"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("not logged in"),
        "{}",
        show(&o)
    );
    commit(&repo, "after logout");
    assert_eq!(stack.login_counts().authorization, 2);
}

#[test]
fn an_agent_socket_others_can_reach_is_not_used() {
    let stack = Stack::start();
    let (repo, agent) = cached_repo(&stack, "loose", Store::Agent);
    let dir = agent.0.parent().unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Signing still works (logging in each time); the cache is refused, never trusted.
    commit(&repo, "one");
    commit(&repo, "two");
    assert_eq!(stack.login_counts().authorization, 2);
    let o = signet(&repo, &["login"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot cache the credential"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

/// Every regular file below `dir`.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let t = e.file_type().unwrap();
        if t.is_dir() {
            files(&e.path(), out);
        } else if t.is_file() {
            out.push(e.path());
        }
    }
}

#[test]
fn no_private_key_byte_is_written_to_a_file_with_the_agent() {
    let stack = Stack::start();
    let (repo, agent) = cached_repo(&stack, "disk", Store::Agent);
    commit(&repo, "cached");
    commit(&repo, "from the cache");
    // The cached key, asked from the agent as signet would.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = signet::adapters::agent::AgentClient::new(agent.0.clone(), Duration::from_secs(5));
    let entries = rt.block_on(client.list()).unwrap();
    assert_eq!(entries.len(), 1);
    let credential = rt
        .block_on(client.get(&entries[0].scope_key))
        .unwrap()
        .unwrap();
    assert_not_on_disk(&stack, &credential);
}

#[test]
fn no_private_key_byte_is_written_to_a_file_with_the_keyring() {
    let stack = Stack::start();
    let (repo, _agent) = cached_repo(&stack, "disk", Store::Keyring);
    commit(&repo, "cached");
    commit(&repo, "from the cache");
    assert_eq!(stack.login_counts().authorization, 1);
    // The cached key, read from the session keyring this test process shares with signet.
    let store = signet::adapters::keyring::KeyringStore::probe().unwrap();
    let entries = store.list().unwrap();
    assert_eq!(entries.len(), 1);
    let credential = store.get(&entries[0].scope_key).unwrap().unwrap();
    assert_not_on_disk(&stack, &credential);
}

/// No file below the stack's temporary directory (the stack's state, the repository, its HOME
/// and git config, the agent's directory) holds the credential's private key.
fn assert_not_on_disk(stack: &Stack, credential: &signet::core::credential::Credential) {
    let scalar = credential.signing_key().unwrap().to_bytes().to_vec();
    let pkcs8 = credential.key_pkcs8.to_vec();
    let mut all = Vec::new();
    files(stack.dir.path(), &mut all);
    assert!(
        all.len() > 10,
        "the scan sees the stack's and the repository's files"
    );
    for path in all {
        let bytes = std::fs::read(&path).unwrap();
        for (what, needle) in [("scalar", &scalar), ("PKCS#8", &pkcs8)] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                "the private key ({what}) is in {}",
                path.display()
            );
        }
    }
}

#[test]
fn a_dead_agent_is_replaced_and_signing_goes_on() {
    let stack = Stack::start();
    let (repo, agent) = cached_repo(&stack, "dead", Store::Agent);
    // What a killed agent leaves behind: its socket file, with nobody listening.
    drop(std::os::unix::net::UnixListener::bind(&agent.0).unwrap());
    std::fs::set_permissions(&agent.0, std::fs::Permissions::from_mode(0o600)).unwrap();
    commit(&repo, "with a dead agent");
    commit(&repo, "from the new agent's cache");
    assert_eq!(stack.login_counts().authorization, 1);
    let o = signet(&repo, &["status"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!("logged in as {ALICE}")),
        "{}",
        show(&o)
    );
}

/// A fake agent on `socket` that answers every request with a credential that does not decode,
/// until stopped (a flag, then a connection to wake the accept loop).
struct LyingAgent {
    socket: PathBuf,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<usize>>,
}

impl LyingAgent {
    fn start(socket: &Path) -> LyingAgent {
        use std::io::{Read, Write};
        let listener = std::os::unix::net::UnixListener::bind(socket).unwrap();
        std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600)).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut answered = 0;
            for stream in listener.incoming() {
                if flag.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let mut header = [0u8; 4];
                if stream.read_exact(&mut header).is_err() {
                    continue;
                }
                let mut payload = vec![0u8; u32::from_be_bytes(header) as usize];
                if stream.read_exact(&mut payload).is_err() {
                    continue;
                }
                let lie = signet::core::agent_proto::Response::Credential(zeroize::Zeroizing::new(
                    b"not a credential".to_vec(),
                ));
                let _ = stream.write_all(&signet::core::agent_proto::encode_response(&lie));
                answered += 1;
            }
            answered
        });
        LyingAgent {
            socket: socket.to_owned(),
            stop,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> usize {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::os::unix::net::UnixStream::connect(&self.socket);
        self.thread.take().unwrap().join().unwrap()
    }
}

#[test]
fn an_agent_answering_garbage_costs_a_login_not_the_signature() {
    let stack = Stack::start();
    let (repo, agent) = cached_repo(&stack, "liar", Store::Agent);
    let liar = LyingAgent::start(&agent.0);
    commit(&repo, "one");
    commit(&repo, "two");
    assert_eq!(stack.login_counts().authorization, 2);
    repo.ok(&["verify-commit", "HEAD"]);
    assert!(liar.stop() >= 2, "signet asked the agent");
}

#[test]
fn an_ambient_token_is_used_and_never_cached() {
    let stack = Stack::start();
    let (mut repo, _agent) = cached_repo(&stack, "ambient", Store::Agent);
    let o = signet(&repo, &["login"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    // A CI-style token for someone else (and no provider forced): the signature is that
    // identity's, not the cached one's.
    repo.ok(&["config", "--unset", "signet.tokenProvider"]);
    repo.set_env("SIGSTORE_ID_TOKEN", &stack.token("bob@example.com"));
    commit(&repo, "signed with the job's token");
    let o = signet(&repo, &["show", "--format", "json", "HEAD"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["identity"], "bob@example.com", "{v}");
    let o = signet(&repo, &["status"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(&format!("logged in as {ALICE}")), "{out}");
    assert!(out.contains("ambient identity token"), "{out}");
    assert!(
        !out.contains("also holds"),
        "bob's credential was not cached: {out}"
    );
    assert_eq!(stack.login_counts().authorization, 1);
}

#[test]
fn a_cached_certificate_from_another_issuer_is_not_used() {
    // Two deployments; the agent is shared. A credential of stack B is planted under stack A's
    // scope (what a forwarded or confused client could do): signing for A must not use it.
    let a = Stack::start();
    let b = Stack::start();
    let (repo_a, agent) = cached_repo(&a, "issuer-a", Store::Agent);
    let (mut repo_b, _b_agent) = cached_repo(&b, "issuer-b", Store::Agent);
    repo_b.set_env("SIGNET_AGENT_SOCKET", agent.0.to_str().unwrap());
    let o = signet(&repo_b, &["login"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = signet::adapters::agent::AgentClient::new(agent.0.clone(), Duration::from_secs(5));
    let scope = |stack: &Stack| {
        signet::core::credential::Scope {
            fulcio_url: stack.url(),
            oidc_issuer: stack.issuer(),
            client_id: "sigstore".into(),
        }
        .key()
    };
    let from_b = rt.block_on(client.get(&scope(&b))).unwrap().unwrap();
    let planted = signet::core::credential::Credential::new(
        scope(&a),
        from_b.key_pkcs8.clone(),
        from_b.leaf_der.clone(),
    )
    .unwrap();
    rt.block_on(client.put(&planted)).unwrap();

    commit(&repo_a, "signed for A");
    assert_eq!(a.login_counts().authorization, 1, "A logged in instead");
    repo_a.ok(&["verify-commit", "HEAD"]);
    let (fingerprint, _) = head_certificate(&repo_a);
    let planted_fpr = signet::core::gitobject::sha1_hex(&planted.leaf_der);
    assert_ne!(fingerprint, planted_fpr);
}
