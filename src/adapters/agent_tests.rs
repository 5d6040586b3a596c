#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicI64, Ordering};

use tokio::task::JoinHandle;

use super::*;
use crate::core::credential::tests::credential_valid;
use crate::core::testworld::{EMAIL, ISSUER, T0, World};

const SCOPE_A: &str = "v1-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SCOPE_B: &str = "v1-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const TIMEOUT: Duration = Duration::from_secs(10);

fn private_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Wait for readiness: a successful List, polled with backoff (never a fixed sleep).
async fn ready(client: &AgentClient, server: &JoinHandle<Result<(), AgentError>>) {
    let start = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(2);
    loop {
        if client.list().await.is_ok() {
            return;
        }
        assert!(!server.is_finished(), "server ended before it was ready");
        assert!(start.elapsed() < TIMEOUT, "server not ready");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(100));
    }
}

/// An agent on `socket` whose clock reads `clock` (unix seconds).
async fn start_with_clock(
    socket: &Path,
    idle: Option<Duration>,
    clock: Arc<AtomicI64>,
) -> (JoinHandle<Result<(), AgentError>>, AgentClient) {
    let path = socket.to_owned();
    let server = tokio::spawn(async move {
        serve_with_clock(
            &path,
            idle,
            Arc::new(move || UnixTime(clock.load(Ordering::SeqCst))),
        )
        .await
    });
    let client = AgentClient::new(socket.to_owned(), TIMEOUT);
    ready(&client, &server).await;
    (server, client)
}

fn fake_clock(t: i64) -> Arc<AtomicI64> {
    Arc::new(AtomicI64::new(t))
}

#[tokio::test]
async fn agent_put_get_delete_list_round_trip() {
    let dir = private_dir();
    let socket = dir.path().join("agent.sock");
    let (server, client) = start_with_clock(&socket, None, fake_clock(T0 + 10)).await;
    let meta = std::fs::symlink_metadata(&socket).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o600);

    let world = World::new();
    let a = credential_valid(&world, SCOPE_A, (T0, T0 + 600));
    let b = credential_valid(&world, SCOPE_B, (T0, T0 + 300));
    assert!(client.get(SCOPE_A).await.unwrap().is_none());
    client.put(&a).await.unwrap();
    client.put(&b).await.unwrap();

    let got = client.get(SCOPE_A).await.unwrap().unwrap();
    assert_eq!(got.scope_key, SCOPE_A);
    assert_eq!(*got.key_pkcs8, *a.key_pkcs8);
    assert_eq!(got.leaf_der, a.leaf_der);

    let list = client.list().await.unwrap();
    assert_eq!(
        list,
        vec![
            EntrySummary {
                scope_key: SCOPE_A.into(),
                identity: EMAIL.into(),
                issuer: Some(ISSUER.into()),
                not_after: UnixTime(T0 + 600),
            },
            EntrySummary {
                scope_key: SCOPE_B.into(),
                identity: EMAIL.into(),
                issuer: Some(ISSUER.into()),
                not_after: UnixTime(T0 + 300),
            },
        ]
    );

    // Put replaces.
    let a2 = credential_valid(&world, SCOPE_A, (T0, T0 + 500));
    client.put(&a2).await.unwrap();
    let got = client.get(SCOPE_A).await.unwrap().unwrap();
    assert_eq!(*got.key_pkcs8, *a2.key_pkcs8);

    assert!(client.delete(SCOPE_A).await.unwrap());
    assert!(!client.delete(SCOPE_A).await.unwrap());
    assert!(client.get(SCOPE_A).await.unwrap().is_none());
    assert_eq!(client.list().await.unwrap().len(), 1);

    // A bad scope key is refused before anything is sent.
    assert!(matches!(
        client.get("bad key").await,
        Err(AgentError::ScopeKey(_))
    ));

    server.abort();
    let _ = server.await;
    // Serving ended (task dropped): the socket is gone.
    assert!(!socket.exists());
}

#[tokio::test]
async fn agent_expired_credentials_refused_and_dropped() {
    let dir = private_dir();
    let socket = dir.path().join("agent.sock");
    let clock = fake_clock(T0 + 10);
    let (server, client) = start_with_clock(&socket, None, Arc::clone(&clock)).await;
    let world = World::new();

    // Already expired at agent time: refused.
    let past = credential_valid(&world, SCOPE_A, (T0 - 1200, T0 - 600));
    let err = client.put(&past).await.unwrap_err();
    assert!(
        matches!(&err, AgentError::Refused { message, .. } if message.contains("expired")),
        "{err}"
    );

    // Valid now, expires soon: served until notAfter, gone one second later.
    let soon = credential_valid(&world, SCOPE_A, (T0, T0 + 20));
    client.put(&soon).await.unwrap();
    clock.store(T0 + 20, Ordering::SeqCst);
    assert!(client.get(SCOPE_A).await.unwrap().is_some());
    clock.store(T0 + 21, Ordering::SeqCst);
    assert!(client.get(SCOPE_A).await.unwrap().is_none());
    assert!(client.list().await.unwrap().is_empty());
    // (The periodic sweep, which needs no access, is shown by the idle-exit test.)
    server.abort();
    let _ = server.await;
}

#[tokio::test]
async fn agent_real_clock_refuses_a_certificate_from_the_past() {
    // The test world's certificates date from 2024; the real clock is later.
    let dir = private_dir();
    let socket = dir.path().join("agent.sock");
    let path = socket.clone();
    let server = tokio::spawn(async move { serve(&path, None).await });
    let client = AgentClient::new(socket, TIMEOUT);
    ready(&client, &server).await;
    let c = credential_valid(&World::new(), SCOPE_A, (T0, T0 + 600));
    assert!(matches!(
        client.put(&c).await,
        Err(AgentError::Refused { .. })
    ));
    server.abort();
    let _ = server.await;
}

#[tokio::test]
async fn agent_idle_exit_returns_after_entries_expire() {
    let dir = private_dir();
    let socket = dir.path().join("agent.sock");
    let clock = fake_clock(T0);
    let (server, client) = start_with_clock(
        &socket,
        Some(Duration::from_millis(100)),
        Arc::clone(&clock),
    )
    .await;
    client
        .put(&credential_valid(&World::new(), SCOPE_A, (T0, T0 + 600)))
        .await
        .unwrap();
    // Holding an entry keeps the agent alive past the idle time: a later request still works.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!server.is_finished());
    assert_eq!(client.list().await.unwrap().len(), 1);
    // Once the entry expires the agent exits on its own and removes its socket.
    clock.store(T0 + 601, Ordering::SeqCst);
    tokio::time::timeout(TIMEOUT, server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(!socket.exists());
}

#[tokio::test]
async fn agent_loose_directory_refused_by_serve_and_client() {
    let dir = private_dir();
    let loose = dir.path().join("loose");
    std::fs::create_dir(&loose).unwrap();
    chmod(&loose, 0o755);
    let socket = loose.join("agent.sock");
    let err = serve(&socket, None).await.unwrap_err();
    assert!(
        matches!(&err, AgentError::InsecureDirectory { reason, .. } if reason.contains("0755")),
        "{err}"
    );
    assert!(!socket.exists());

    // A server started in a private directory, which is then loosened: the client refuses.
    let sub = dir.path().join("sub");
    let socket = sub.join("agent.sock");
    let (server, client) = start_with_clock(&socket, None, fake_clock(T0)).await;
    let meta = std::fs::symlink_metadata(&sub).unwrap();
    assert_eq!(
        meta.mode() & 0o777,
        0o700,
        "serve creates its directory 0700"
    );
    chmod(&sub, 0o755);
    let err = client.list().await.unwrap_err();
    assert!(matches!(err, AgentError::InsecureDirectory { .. }), "{err}");
    chmod(&sub, 0o700);
    client.list().await.unwrap();
    server.abort();
    let _ = server.await;
}

#[tokio::test]
async fn agent_loose_socket_refused_by_client_and_serve() {
    let dir = private_dir();
    let socket = dir.path().join("agent.sock");
    let (server, client) = start_with_clock(&socket, None, fake_clock(T0)).await;
    chmod(&socket, 0o666);
    let err = client.list().await.unwrap_err();
    assert!(
        matches!(&err, AgentError::InsecureSocket { reason, .. } if reason.contains("0666")),
        "{err}"
    );
    server.abort();
    let _ = server.await;

    // A leftover 0666 socket is not silently reused by a new agent.
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    drop(listener);
    chmod(&socket, 0o666);
    let err = serve(&socket, None).await.unwrap_err();
    assert!(matches!(err, AgentError::InsecureSocket { .. }), "{err}");

    // Nor is a regular file in the socket's place.
    std::fs::remove_file(&socket).unwrap();
    std::fs::write(&socket, b"").unwrap();
    chmod(&socket, 0o600);
    let err = serve(&socket, None).await.unwrap_err();
    assert!(matches!(err, AgentError::InsecureSocket { .. }), "{err}");
    let err = AgentClient::new(socket.clone(), TIMEOUT)
        .list()
        .await
        .unwrap_err();
    assert!(matches!(err, AgentError::InsecureSocket { .. }), "{err}");
}

#[tokio::test]
async fn agent_stale_socket_replaced_live_one_kept() {
    let dir = private_dir();
    let socket = dir.path().join("agent.sock");
    // A socket left behind by a dead agent: nobody listens on it.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    chmod(&socket, 0o600);
    let client = AgentClient::new(socket.clone(), TIMEOUT);
    assert!(matches!(
        client.list().await,
        Err(AgentError::NotRunning { .. })
    ));
    let (server, client) = start_with_clock(&socket, None, fake_clock(T0)).await;
    // A second agent on a live socket refuses instead of stealing it.
    let err = serve(&socket, None).await.unwrap_err();
    assert!(matches!(err, AgentError::AlreadyRunning { .. }), "{err}");
    client.list().await.unwrap();
    server.abort();
    let _ = server.await;
}

#[tokio::test]
async fn agent_client_reports_missing_agent() {
    let dir = private_dir();
    let client = AgentClient::new(dir.path().join("agent.sock"), TIMEOUT);
    assert!(matches!(
        client.list().await,
        Err(AgentError::NotRunning { .. })
    ));
    let client = AgentClient::new(dir.path().join("nope/agent.sock"), TIMEOUT);
    assert!(matches!(
        client.get(SCOPE_A).await,
        Err(AgentError::NotRunning { .. })
    ));
}

async fn read_response(stream: &mut UnixStream) -> Response {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).await.unwrap();
    let mut payload = vec![0u8; frame_len(header).unwrap()];
    stream.read_exact(&mut payload).await.unwrap();
    decode_response(&payload).unwrap()
}

/// Send raw bytes on a fresh connection; return the response and the still open connection.
async fn raw_exchange(socket: &Path, bytes: &[u8]) -> (Response, UnixStream) {
    let mut stream = UnixStream::connect(socket).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let response = read_response(&mut stream).await;
    (response, stream)
}

/// True when the server closes the connection (end of stream, nothing more sent).
async fn closed_by_server(mut stream: UnixStream) -> bool {
    let mut rest = Vec::new();
    tokio::time::timeout(TIMEOUT, stream.read_to_end(&mut rest))
        .await
        .is_ok_and(|r| r.is_ok() && rest.is_empty())
}

#[tokio::test]
async fn agent_bad_frames_get_an_error_and_the_server_keeps_serving() {
    let dir = private_dir();
    let socket = dir.path().join("agent.sock");
    let (server, client) = start_with_clock(&socket, None, fake_clock(T0)).await;

    let protocol_errors: Vec<Vec<u8>> = vec![
        // Oversized length.
        vec![0xff, 0xff, 0xff, 0xff],
        (MAX_FRAME_BYTES as u32 + 1).to_be_bytes().to_vec(),
        // Zero length.
        vec![0, 0, 0, 0],
        // Unknown version, unknown op, trailing bytes, a truncated field.
        vec![0, 0, 0, 2, 9, 4],
        vec![0, 0, 0, 2, 1, 0x7f],
        vec![0, 0, 0, 3, 1, 4, 0],
        vec![0, 0, 0, 4, 1, 1, 0, 0],
    ];
    for (i, bytes) in protocol_errors.iter().enumerate() {
        let (response, stream) = raw_exchange(&socket, bytes).await;
        assert!(
            matches!(response, Response::Error(_)),
            "case {i}: {response:?}"
        );
        assert!(
            closed_by_server(stream).await,
            "case {i}: connection left open"
        );
        client.list().await.unwrap();
    }

    // A well-formed Put whose credential does not decode is refused, but the connection stays.
    let (response, mut stream) = raw_exchange(&socket, &[0, 0, 0, 7, 1, 2, 0, 0, 0, 1, 1]).await;
    assert!(
        matches!(&response, Response::Error(m) if m.contains("credential refused")),
        "{response:?}"
    );
    stream
        .write_all(&encode_request(&Request::List))
        .await
        .unwrap();
    assert_eq!(read_response(&mut stream).await, Response::Entries(vec![]));

    // Several requests on one connection are answered in order.
    let mut stream = UnixStream::connect(&socket).await.unwrap();
    let mut frames = encode_request(&Request::List).to_vec();
    frames.extend_from_slice(&encode_request(&Request::Delete {
        scope_key: SCOPE_A.into(),
    }));
    stream.write_all(&frames).await.unwrap();
    for expected in [
        Response::Entries(vec![]),
        Response::Deleted { found: false },
    ] {
        assert_eq!(read_response(&mut stream).await, expected);
    }
    server.abort();
    let _ = server.await;
}

#[test]
fn agent_peer_allowed_only_for_our_uid() {
    for (peer, ours, allowed) in [
        (1000, 1000, true),
        (0, 0, true),
        (0, 1000, false),
        (1001, 1000, false),
        (1000, 0, false),
        (u32::MAX, 1000, false),
        (65534, 65534, true),
    ] {
        assert_eq!(
            peer_allowed(peer, ours),
            allowed,
            "peer {peer}, ours {ours}"
        );
    }
}

#[test]
fn agent_spawn_reports_failures_with_facts() {
    let dir = private_dir();
    let socket = dir.path().join("agent.sock");
    let missing = dir.path().join("no-such-signet");
    let err = spawn_agent(&missing, &socket).unwrap_err();
    assert!(
        matches!(&err, AgentError::Spawn { exe, .. } if *exe == missing),
        "{err}"
    );
    let err = spawn_agent(Path::new("/bin/false"), &socket).unwrap_err();
    assert!(matches!(err, AgentError::AgentExited { .. }), "{err}");
    assert!(err.to_string().contains("agent.sock"), "{err}");
}

#[test]
fn agent_default_socket_path_shape() {
    // Only the shape: the environment is the process's and other tests may read it.
    let p = default_socket_path();
    assert!(p.ends_with("agent.sock") || std::env::var_os(SOCKET_ENV).is_some());
}

#[tokio::test]
async fn agent_exits_when_its_socket_is_removed() {
    let dir = private_dir();
    let socket = dir.path().join("agent.sock");
    let (server, client) = start_with_clock(&socket, None, fake_clock(T0 + 10)).await;
    client
        .put(&credential_valid(&World::new(), SCOPE_A, (T0, T0 + 600)))
        .await
        .unwrap();
    std::fs::remove_file(&socket).unwrap();
    // The next sweep (at most SWEEP_EVERY) ends it, entries or not.
    let ended = tokio::time::timeout(SWEEP_EVERY * 5, server).await;
    assert!(matches!(ended, Ok(Ok(Ok(())))), "{ended:?}");
}

#[tokio::test]
async fn a_socket_and_directory_owned_by_another_user_are_refused() {
    // The owner checks, run as if we were another uid (no second user is needed): the same
    // code the client and the server run with our real uid.
    let dir = private_dir();
    let socket = dir.path().join("agent.sock");
    let (server, _client) = start_with_clock(&socket, None, fake_clock(T0 + 10)).await;
    let someone_else = our_uid().wrapping_add(1);
    let e = check_socket(&socket, someone_else).unwrap_err();
    assert!(
        e.to_string().contains("owned by") || e.to_string().contains("uid"),
        "{e}"
    );
    assert!(check_dir(dir.path(), someone_else).is_err());
    assert!(check_socket(&socket, our_uid()).is_ok());
    server.abort();
}

/// Run one request against `socket` from a forked child that has switched to `uid`/`gid`, and
/// return the raw bytes the agent sent back before closing. Everything the child needs is
/// prepared before fork(2); the child makes only async-signal-safe system calls (no allocation,
/// no locks), as a forked child of a multi-threaded test process must.
fn exchange_as(uid: u32, gid: u32, socket: &Path, request: &[u8]) -> (i32, Vec<u8>) {
    use std::os::unix::ffi::OsStrExt;

    // SAFETY: sockaddr_un is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let path = socket.as_os_str().as_bytes();
    assert!(path.len() < addr.sun_path.len(), "socket path too long");
    for (dst, src) in addr.sun_path.iter_mut().zip(path) {
        *dst = *src as libc::c_char;
    }
    let mut fds = [0i32; 2];
    // SAFETY: fds points at two writable c_ints.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (read_end, write_end) = (fds[0], fds[1]);
    let mut buf = vec![0u8; 4096];
    let buf_ptr = buf.as_mut_ptr();
    let buf_len = buf.len();

    // SAFETY: the child below only calls async-signal-safe functions on memory prepared above,
    // then _exit(2)s; the parent carries on normally.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: async-signal-safe system calls on buffers allocated before fork; exit codes
        // tell the parent which step failed (10 to 13).
        unsafe {
            libc::close(read_end);
            if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(gid) != 0 {
                libc::_exit(10);
            }
            if libc::setuid(uid) != 0 || libc::getuid() != uid {
                libc::_exit(11);
            }
            let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
            if fd < 0 {
                libc::_exit(12);
            }
            let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
            if libc::connect(fd, (&raw const addr).cast(), len) != 0 {
                libc::_exit(13);
            }
            let mut sent = 0usize;
            while sent < request.len() {
                let n = libc::write(fd, request.as_ptr().add(sent).cast(), request.len() - sent);
                if n <= 0 {
                    // The agent may refuse and close before the request is written (EPIPE):
                    // whatever it sent is still there to read.
                    break;
                }
                sent += n as usize;
            }
            // No more requests: the agent answers, sees end of stream and closes.
            libc::shutdown(fd, libc::SHUT_WR);
            loop {
                let n = libc::read(fd, buf_ptr.cast(), buf_len);
                if n <= 0 {
                    break;
                }
                libc::write(write_end, buf_ptr.cast(), n as usize);
            }
            libc::_exit(0);
        }
    }
    // SAFETY: closing our copy of the write end, reading the pipe into owned memory, and
    // reaping the child we forked.
    unsafe {
        libc::close(write_end);
        let mut out = Vec::new();
        loop {
            let n = libc::read(read_end, buf.as_mut_ptr().cast(), buf.len());
            if n <= 0 {
                break;
            }
            out.extend_from_slice(&buf[..n as usize]);
        }
        libc::close(read_end);
        let mut status = 0;
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        assert!(libc::WIFEXITED(status), "child did not exit normally");
        (libc::WEXITSTATUS(status), out)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)] // says why it did not run
async fn a_client_of_another_uid_is_refused_by_the_agent() {
    // A real connection from a second uid: the socket and its directory are opened up so that
    // only the agent's SO_PEERCRED check stands between uid 65534 and the credential. Switching
    // uid needs root; CI runs as root. Elsewhere the pure decision is covered by
    // agent_peer_allowed_only_for_our_uid.
    if our_uid() != 0 {
        eprintln!("skipped: switching to a second uid needs root");
        return;
    }
    let dir = private_dir();
    let socket = dir.path().join("agent.sock");
    let (server, client) = start_with_clock(&socket, None, fake_clock(T0 + 10)).await;
    let world = World::new();
    let credential = credential_valid(&world, SCOPE_A, (T0, T0 + 600));
    client.put(&credential).await.unwrap();
    chmod(dir.path(), 0o755);
    chmod(&socket, 0o666);

    let request = encode_request(&Request::Get {
        scope_key: SCOPE_A.to_owned(),
    })
    .to_vec();
    let (status, reply) = {
        let socket = socket.clone();
        let request = request.clone();
        tokio::task::spawn_blocking(move || exchange_as(65534, 65534, &socket, &request))
            .await
            .unwrap()
    };
    assert_eq!(status, 0, "the other-uid client failed at step {status}");
    assert!(reply.len() >= 4, "no reply: {reply:?}");
    let len = frame_len(reply[..4].try_into().unwrap()).unwrap();
    assert_eq!(reply.len(), 4 + len, "more than one frame, or a short one");
    match decode_response(&reply[4..]).unwrap() {
        Response::Error(message) => {
            assert!(
                message.contains("uid 65534 may not use the signet agent of uid 0"),
                "{message}"
            );
        }
        other => panic!("the agent answered another uid: {other:?}"),
    }
    let key = credential.signing_key().unwrap().to_bytes();
    assert!(
        !reply.windows(key.len()).any(|w| w == key.as_slice()),
        "key bytes sent to another uid"
    );

    // The same request from our own uid over the same socket is served: the refusal above was
    // the peer check, not the opened-up permissions.
    let (status, reply) = {
        let socket = socket.clone();
        tokio::task::spawn_blocking(move || exchange_as(0, 0, &socket, &request))
            .await
            .unwrap()
    };
    assert_eq!(status, 0);
    let len = frame_len(reply[..4].try_into().unwrap()).unwrap();
    assert!(matches!(
        decode_response(&reply[4..4 + len]).unwrap(),
        Response::Credential(_)
    ));
    server.abort();
}
