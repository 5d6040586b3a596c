//! The credential agent (`signet agent`; its client is in `agent_client.rs`). The agent holds
//! cached signing credentials (ephemeral key + Fulcio leaf, see [`crate::core::credential`]) in
//! memory only, keyed by scope, and serves them over a Unix socket speaking
//! [`crate::core::agent_proto`].
//!
//! Security model, unlike gitsign's cache: the socket lives in a directory owned by us with no
//! group/other permissions and is itself 0600; every connection's peer uid (SO_PEERCRED) must be
//! ours, and the client checks the socket, its directory and the serving peer's uid before it
//! sends anything. Entries expire at the certificate's notAfter (checked on every access and by a
//! periodic sweep) and keys are zeroized when dropped. The agent never runs a login itself and
//! never prints: nothing here writes to stdout/stderr, let alone a secret.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinSet;
use zeroize::Zeroizing;

use crate::core::agent_proto::{
    EntrySummary, MAX_FRAME_BYTES, ProtoError, Request, Response, decode_request, decode_response,
    encode_request, encode_response, frame_len,
};
use crate::core::credential::{Credential, CredentialError, check_scope_key};
use crate::core::time::UnixTime;

/// Environment variable naming the agent socket, overriding the default location.
pub const SOCKET_ENV: &str = "SIGNET_AGENT_SOCKET";
/// The most credentials the agent holds at once (one per scope; a handful in practice).
const MAX_ENTRIES: usize = 64;
/// A connection that sends nothing for this long is closed.
const CONNECTION_IDLE: Duration = Duration::from_secs(30);
/// How often expired entries are swept (and idle exit considered), at most.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// How long [`spawn_agent`] waits for the new agent to answer.
const READY_WITHIN: Duration = Duration::from_secs(3);

/// Why the agent could not serve or the client could not use it.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("agent directory {} is not safe to use: {reason}", path.display())]
    InsecureDirectory { path: PathBuf, reason: String },
    #[error("agent socket {} is not safe to use: {reason}", path.display())]
    InsecureSocket { path: PathBuf, reason: String },
    #[error("no signet agent is listening on {}", path.display())]
    NotRunning { path: PathBuf },
    #[error("a signet agent is already listening on {}", path.display())]
    AlreadyRunning { path: PathBuf },
    #[error("signet agent on {} did not answer within {timeout:?}", path.display())]
    Timeout { path: PathBuf, timeout: Duration },
    #[error("signet agent on {} sent a bad frame: {source}", path.display())]
    Protocol {
        path: PathBuf,
        #[source]
        source: ProtoError,
    },
    #[error("signet agent on {} refused the request: {message}", path.display())]
    Refused { path: PathBuf, message: String },
    #[error("signet agent on {} answered {got} to a {request} request", path.display())]
    UnexpectedResponse {
        path: PathBuf,
        request: &'static str,
        got: &'static str,
    },
    #[error("signet agent on {} returned an unusable credential: {source}", path.display())]
    BadCredential {
        path: PathBuf,
        #[source]
        source: CredentialError,
    },
    #[error(
        "signet agent on {} returned the credential of scope {got} when asked for {wanted}",
        path.display()
    )]
    WrongScope {
        path: PathBuf,
        wanted: String,
        got: String,
    },
    #[error("invalid scope key for the agent: {0}")]
    ScopeKey(#[source] CredentialError),
    #[error("agent request of {len} bytes exceeds the {max}-byte frame limit")]
    TooLarge { len: usize, max: usize },
    #[error("cannot start the signet agent {}: {source}", exe.display())]
    Spawn {
        exe: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("signet agent {} exited ({status}) before answering on {}", exe.display(), socket.display())]
    AgentExited {
        exe: PathBuf,
        socket: PathBuf,
        status: String,
    },
    #[error("signet agent did not answer on {} within {waited:?} (last error: {last})", socket.display())]
    NotReady {
        socket: PathBuf,
        waited: Duration,
        last: String,
    },
}

impl AgentError {
    /// True when no agent is listening (no socket directory, no socket, or nobody accepting):
    /// the caller may start one, or go on without the cache.
    pub fn is_not_running(&self) -> bool {
        matches!(self, Self::NotRunning { .. })
    }
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> AgentError + use<> {
    let path = path.to_owned();
    move |source| AgentError::Io {
        action,
        path,
        source,
    }
}

fn our_uid() -> u32 {
    // SAFETY: getuid(2) takes no arguments, cannot fail and touches no memory of ours.
    unsafe { libc::getuid() }
}

/// $SIGNET_AGENT_SOCKET if set, else $XDG_RUNTIME_DIR/signet/agent.sock, else
/// /tmp/signet-<uid>/agent.sock.
pub fn default_socket_path() -> PathBuf {
    if let Some(p) = std::env::var_os(SOCKET_ENV).filter(|p| !p.is_empty()) {
        // A relative path would name another socket from another directory (and the agent
        // starts in `/`): anchor it where it was given.
        let p = PathBuf::from(p);
        return std::path::absolute(&p).unwrap_or(p);
    }
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
    {
        return dir.join("signet").join("agent.sock");
    }
    PathBuf::from(format!("/tmp/signet-{}", our_uid())).join("agent.sock")
}

/// Keep key material out of core dumps and away from same-uid debuggers: no core files, and (on
/// Linux) not dumpable, which also closes `/proc/<pid>/mem` and ptrace to other processes of
/// the user. For the agent and for a signing process that holds a key. Best effort.
pub fn harden_process() {
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads the struct we pass; prctl(PR_SET_DUMPABLE, 0) takes no pointers.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// The uid decision, pure, so it can be tested without a second user: only our own uid.
pub fn peer_allowed(peer_uid: u32, our_uid: u32) -> bool {
    peer_uid == our_uid
}

/// The directory holding `socket` ("." for a bare file name).
fn socket_dir(socket: &Path) -> &Path {
    match socket.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The directory must be a real directory (not a symlink) owned by `uid` with no group or other
/// permission bits.
fn check_dir(dir: &Path, uid: u32) -> Result<(), AgentError> {
    let insecure = |reason: String| AgentError::InsecureDirectory {
        path: dir.to_owned(),
        reason,
    };
    let meta = std::fs::symlink_metadata(dir).map_err(io_err("inspect", dir))?;
    if meta.file_type().is_symlink() {
        return Err(insecure("it is a symbolic link".into()));
    }
    if !meta.is_dir() {
        return Err(insecure("it is not a directory".into()));
    }
    if meta.uid() != uid {
        return Err(insecure(format!(
            "it is owned by uid {}, not by uid {uid}",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(insecure(format!(
            "its mode {mode:04o} gives group/other access; run `chmod 700 {}`",
            dir.display()
        )));
    }
    Ok(())
}

/// Why an existing socket file is not ours alone, if it is not.
fn socket_problem(meta: &std::fs::Metadata, uid: u32) -> Option<String> {
    if !meta.file_type().is_socket() {
        return Some("it exists and is not a socket".into());
    }
    if meta.uid() != uid {
        return Some(format!(
            "it is owned by uid {}, not by uid {uid}",
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Some(format!("its mode {mode:04o} gives group/other access"));
    }
    None
}

/// The client's check before connecting: the directory, then the socket itself.
fn check_socket(socket: &Path, uid: u32) -> Result<(), AgentError> {
    match std::fs::symlink_metadata(socket_dir(socket)) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(AgentError::NotRunning {
                path: socket.to_owned(),
            });
        }
        _ => check_dir(socket_dir(socket), uid)?,
    }
    let meta = match std::fs::symlink_metadata(socket) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(AgentError::NotRunning {
                path: socket.to_owned(),
            });
        }
        Err(e) => return Err(io_err("inspect", socket)(e)),
    };
    match socket_problem(&meta, uid) {
        Some(reason) => Err(AgentError::InsecureSocket {
            path: socket.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

fn connect_error(socket: &Path, e: io::Error) -> AgentError {
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => AgentError::NotRunning {
            path: socket.to_owned(),
        },
        _ => io_err("connect to", socket)(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

type Clock = Arc<dyn Fn() -> UnixTime + Send + Sync>;

fn system_now() -> UnixTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UnixTime(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// The in-memory credentials. Dropping a [`Credential`] zeroizes its key.
struct Store {
    entries: Mutex<HashMap<String, Credential>>,
    clock: Clock,
}

impl Store {
    /// The entries with every expired one already removed (and so zeroized).
    fn live(&self) -> (MutexGuard<'_, HashMap<String, Credential>>, UnixTime) {
        // A panic while holding the lock cannot leave the map half-updated (every mutation is a
        // single insert/remove/retain), so a poisoned lock is still consistent.
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = (self.clock)();
        entries.retain(|_, c| now <= c.not_after);
        (entries, now)
    }

    fn is_empty(&self) -> bool {
        self.live().0.is_empty()
    }

    fn handle(&self, request: Request) -> Response {
        match request {
            Request::Get { scope_key } => {
                if let Err(e) = check_scope_key(&scope_key) {
                    return Response::Error(e.to_string());
                }
                match self.live().0.get(&scope_key) {
                    Some(c) => Response::Credential(c.encode()),
                    None => Response::NotFound,
                }
            }
            Request::Put { credential } => {
                let credential = match Credential::decode(&credential) {
                    Ok(c) => c,
                    Err(e) => return Response::Error(format!("credential refused: {e}")),
                };
                let (mut entries, now) = self.live();
                if now > credential.not_after {
                    return Response::Error(format!(
                        "credential refused: its certificate expired at {}, agent time is {now}",
                        credential.not_after
                    ));
                }
                if entries.len() >= MAX_ENTRIES && !entries.contains_key(&credential.scope_key) {
                    return Response::Error(format!(
                        "credential refused: the agent already holds {MAX_ENTRIES} credentials"
                    ));
                }
                entries.insert(credential.scope_key.clone(), credential);
                Response::Stored
            }
            Request::Delete { scope_key } => {
                if let Err(e) = check_scope_key(&scope_key) {
                    return Response::Error(e.to_string());
                }
                Response::Deleted {
                    found: self.live().0.remove(&scope_key).is_some(),
                }
            }
            Request::List => {
                let mut list: Vec<EntrySummary> = self
                    .live()
                    .0
                    .values()
                    .map(|c| EntrySummary {
                        scope_key: c.scope_key.clone(),
                        identity: c.identity.clone(),
                        issuer: c.issuer.clone(),
                        not_after: c.not_after,
                    })
                    .collect();
                list.sort_by(|a, b| a.scope_key.cmp(&b.scope_key));
                Response::Entries(list)
            }
        }
    }
}

/// Removes the socket on drop, unless it has since been replaced by another file.
struct SocketGuard {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        if let Ok(m) = std::fs::symlink_metadata(&self.path)
            && m.dev() == self.dev
            && m.ino() == self.ino
        {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Prepare the directory, clear a stale socket, bind and restrict the socket to 0600.
fn bind(socket: &Path, uid: u32) -> Result<(UnixListener, SocketGuard), AgentError> {
    let dir = socket_dir(socket);
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err("create the agent directory", dir))?;
    }
    check_dir(dir, uid)?;
    match std::fs::symlink_metadata(socket) {
        Ok(meta) => {
            if let Some(reason) = socket_problem(&meta, uid) {
                return Err(AgentError::InsecureSocket {
                    path: socket.to_owned(),
                    reason: format!("{reason}; remove it if no agent uses it"),
                });
            }
            if std::os::unix::net::UnixStream::connect(socket).is_ok() {
                return Err(AgentError::AlreadyRunning {
                    path: socket.to_owned(),
                });
            }
            std::fs::remove_file(socket).map_err(io_err("remove the stale socket", socket))?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err("inspect", socket)(e)),
    }
    let listener = UnixListener::bind(socket).map_err(io_err("bind", socket))?;
    // The directory is 0700, so the socket is private even before this chmod.
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
        .map_err(io_err("restrict the permissions of", socket))?;
    let meta = std::fs::symlink_metadata(socket).map_err(io_err("inspect", socket))?;
    let guard = SocketGuard {
        path: socket.to_owned(),
        dev: meta.dev(),
        ino: meta.ino(),
    };
    Ok((listener, guard))
}

/// Serve until `idle_exit` passes with no entries and no connections (None: forever) or the
/// task is dropped. See the module documentation for the checks made. The socket is removed
/// when serving ends.
pub async fn serve(socket: &Path, idle_exit: Option<Duration>) -> Result<(), AgentError> {
    serve_with_clock(socket, idle_exit, Arc::new(system_now)).await
}

async fn serve_with_clock(
    socket: &Path,
    idle_exit: Option<Duration>,
    clock: Clock,
) -> Result<(), AgentError> {
    let uid = our_uid();
    let (listener, _guard) = bind(socket, uid)?;
    // An agent whose socket was removed or replaced can never be reached again: it exits (so
    // `rm` of the socket, or of its directory, stops it).
    let bound = socket_identity(socket);
    let store = Arc::new(Store {
        entries: Mutex::new(HashMap::new()),
        clock,
    });
    let tick = idle_exit.map_or(SWEEP_EVERY, |idle| {
        (idle / 4).clamp(Duration::from_millis(10), SWEEP_EVERY)
    });
    let mut sweep = tokio::time::interval(tick);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Dropping the set (when serving ends or this future is dropped) aborts every connection.
    let mut connections = JoinSet::new();
    let mut last_busy = tokio::time::Instant::now();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    last_busy = tokio::time::Instant::now();
                    connections.spawn(handle_connection(stream, uid, Arc::clone(&store)));
                }
                // Out of descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            _ = sweep.tick() => {
                if bound.is_none() || socket_identity(socket) != bound {
                    return Ok(());
                }
                while connections.try_join_next().is_some() {}
                let empty = store.is_empty();
                if let Some(idle) = idle_exit {
                    if !connections.is_empty() || !empty {
                        last_busy = tokio::time::Instant::now();
                    } else if last_busy.elapsed() >= idle {
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// The device and inode of the file at `path`, if there is one.
fn socket_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

async fn send(stream: &mut UnixStream, response: &Response) -> io::Result<()> {
    let mut frame = encode_response(response);
    if frame.len() - 4 > MAX_FRAME_BYTES {
        frame = encode_response(&Response::Error(format!(
            "response of {} bytes exceeds the {MAX_FRAME_BYTES}-byte frame limit",
            frame.len() - 4
        )));
    }
    stream.write_all(&frame).await
}

async fn handle_connection(mut stream: UnixStream, uid: u32, store: Arc<Store>) {
    let Ok(cred) = stream.peer_cred() else {
        return;
    };
    if !peer_allowed(cred.uid(), uid) {
        let message = format!(
            "uid {} may not use the signet agent of uid {uid}",
            cred.uid()
        );
        let _ = send(&mut stream, &Response::Error(message)).await;
        return;
    }
    loop {
        let mut header = [0u8; 4];
        match tokio::time::timeout(CONNECTION_IDLE, stream.read_exact(&mut header)).await {
            Ok(Ok(_)) => {}
            // End of stream, an error or an idle client: close.
            _ => return,
        }
        let len = match frame_len(header) {
            Ok(len) => len,
            Err(e) => {
                let _ = send(&mut stream, &Response::Error(e.to_string())).await;
                return;
            }
        };
        let mut payload = Zeroizing::new(vec![0u8; len]);
        match tokio::time::timeout(CONNECTION_IDLE, stream.read_exact(&mut payload)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let response = match decode_request(&payload) {
            Ok(request) => store.handle(request),
            Err(e) => {
                let _ = send(&mut stream, &Response::Error(e.to_string())).await;
                return;
            }
        };
        if send(&mut stream, &response).await.is_err() {
            return;
        }
    }
}

#[path = "agent_client.rs"]
mod client;
pub use client::{AgentClient, spawn_agent};

#[cfg(test)]
#[path = "agent_tests.rs"]
mod tests;
