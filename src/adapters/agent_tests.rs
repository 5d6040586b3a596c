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
