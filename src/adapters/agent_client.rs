//! The agent's client side: requests to a running agent (after checking its socket, directory
//! and uid), and starting an agent on demand.

use super::*;

fn response_name(r: &Response) -> &'static str {
    match r {
        Response::Credential(_) => "Credential",
        Response::NotFound => "NotFound",
        Response::Stored => "Stored",
        Response::Deleted { .. } => "Deleted",
        Response::Entries(_) => "Entries",
        Response::Error(_) => "Error",
    }
}

/// Talks to a running agent; one connection per request.
#[derive(Debug, Clone)]
pub struct AgentClient {
    socket: PathBuf,
    timeout: Duration,
}

impl AgentClient {
    pub fn new(socket: PathBuf, timeout: Duration) -> Self {
        Self { socket, timeout }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The cached credential for `scope_key`, if the agent holds a live one. Before connecting:
    /// the socket must exist, be a socket owned by our uid with no group/other permission bits,
    /// in a directory owned by us without group/other permission bits.
    pub async fn get(&self, scope_key: &str) -> Result<Option<Credential>, AgentError> {
        check_scope_key(scope_key).map_err(AgentError::ScopeKey)?;
        let request = Request::Get {
            scope_key: scope_key.to_owned(),
        };
        match self.request(&request).await? {
            Response::NotFound => Ok(None),
            Response::Credential(bytes) => {
                let c = Credential::decode(&bytes).map_err(|source| AgentError::BadCredential {
                    path: self.socket.clone(),
                    source,
                })?;
                if c.scope_key != scope_key {
                    return Err(AgentError::WrongScope {
                        path: self.socket.clone(),
                        wanted: scope_key.to_owned(),
                        got: c.scope_key,
                    });
                }
                Ok(Some(c))
            }
            other => Err(self.unexpected("Get", &other)),
        }
    }

    /// Store `credential`, replacing any for the same scope.
    pub async fn put(&self, credential: &Credential) -> Result<(), AgentError> {
        let request = Request::Put {
            credential: credential.encode(),
        };
        match self.request(&request).await? {
            Response::Stored => Ok(()),
            other => Err(self.unexpected("Put", &other)),
        }
    }

    /// Forget the credential for `scope_key`; true when there was one.
    pub async fn delete(&self, scope_key: &str) -> Result<bool, AgentError> {
        check_scope_key(scope_key).map_err(AgentError::ScopeKey)?;
        let request = Request::Delete {
            scope_key: scope_key.to_owned(),
        };
        match self.request(&request).await? {
            Response::Deleted { found } => Ok(found),
            other => Err(self.unexpected("Delete", &other)),
        }
    }

    /// What the agent holds (no key material).
    pub async fn list(&self) -> Result<Vec<EntrySummary>, AgentError> {
        match self.request(&Request::List).await? {
            Response::Entries(entries) => Ok(entries),
            other => Err(self.unexpected("List", &other)),
        }
    }

    fn unexpected(&self, request: &'static str, got: &Response) -> AgentError {
        match got {
            Response::Error(message) => AgentError::Refused {
                path: self.socket.clone(),
                message: message.clone(),
            },
            other => AgentError::UnexpectedResponse {
                path: self.socket.clone(),
                request,
                got: response_name(other),
            },
        }
    }

    async fn request(&self, request: &Request) -> Result<Response, AgentError> {
        let uid = our_uid();
        check_socket(&self.socket, uid)?;
        let frame = encode_request(request);
        check_request_size(&frame)?;
        match tokio::time::timeout(self.timeout, self.exchange(&frame, uid)).await {
            Ok(result) => result,
            Err(_) => Err(AgentError::Timeout {
                path: self.socket.clone(),
                timeout: self.timeout,
            }),
        }
    }

    async fn exchange(&self, frame: &[u8], uid: u32) -> Result<Response, AgentError> {
        let path = self.socket.as_path();
        let mut stream = UnixStream::connect(path)
            .await
            .map_err(|e| connect_error(path, e))?;
        let peer = stream
            .peer_cred()
            .map_err(io_err("read the peer credentials of", path))?;
        check_server_uid(path, peer.uid(), uid)?;
        stream
            .write_all(frame)
            .await
            .map_err(io_err("write to", path))?;
        let mut header = [0u8; 4];
        stream
            .read_exact(&mut header)
            .await
            .map_err(io_err("read from", path))?;
        let len = frame_len(header).map_err(|source| protocol(path, source))?;
        let mut payload = Zeroizing::new(vec![0u8; len]);
        stream
            .read_exact(&mut payload)
            .await
            .map_err(io_err("read from", path))?;
        decode_response(&payload).map_err(|source| protocol(path, source))
    }
}

fn protocol(path: &Path, source: ProtoError) -> AgentError {
    AgentError::Protocol {
        path: path.to_owned(),
        source,
    }
}

fn check_request_size(frame: &[u8]) -> Result<(), AgentError> {
    let len = frame.len().saturating_sub(4);
    if len > MAX_FRAME_BYTES {
        return Err(AgentError::TooLarge {
            len,
            max: MAX_FRAME_BYTES,
        });
    }
    Ok(())
}

/// The process serving the socket must run as us too.
fn check_server_uid(path: &Path, server_uid: u32, uid: u32) -> Result<(), AgentError> {
    if peer_allowed(server_uid, uid) {
        Ok(())
    } else {
        Err(AgentError::InsecureSocket {
            path: path.to_owned(),
            reason: format!("it is served by uid {server_uid}, not by uid {uid}"),
        })
    }
}

/// A blocking List, for [`spawn_agent`]'s readiness check (usable inside or outside a runtime).
/// std cannot read SO_PEERCRED on stable, so this relies on the socket checks alone: a socket
/// owned by us in a 0700 directory of ours can only have been bound by us (or root).
fn list_blocking(socket: &Path, timeout: Duration) -> Result<(), AgentError> {
    use std::os::unix::net::UnixStream as StdStream;
    let uid = our_uid();
    check_socket(socket, uid)?;
    let mut stream = StdStream::connect(socket).map_err(|e| connect_error(socket, e))?;
    let timeout = timeout.max(Duration::from_millis(1));
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(io_err("set a timeout on", socket))?;
    stream
        .write_all(&encode_request(&Request::List))
        .map_err(io_err("write to", socket))?;
    let mut header = [0u8; 4];
    stream
        .read_exact(&mut header)
        .map_err(io_err("read from", socket))?;
    let len = frame_len(header).map_err(|source| protocol(socket, source))?;
    let mut payload = Zeroizing::new(vec![0u8; len]);
    stream
        .read_exact(&mut payload)
        .map_err(io_err("read from", socket))?;
    match decode_response(&payload).map_err(|source| protocol(socket, source))? {
        Response::Entries(_) => Ok(()),
        Response::Error(message) => Err(AgentError::Refused {
            path: socket.to_owned(),
            message,
        }),
        other => Err(AgentError::UnexpectedResponse {
            path: socket.to_owned(),
            request: "List",
            got: response_name(&other),
        }),
    }
}

/// Start `exe agent --socket PATH` detached (its own process group, stdio to /dev/null), then
/// wait for readiness: poll connecting (with backoff, at most 3 s total) until a List succeeds.
pub fn spawn_agent(exe: &Path, socket: &Path) -> Result<(), AgentError> {
    let mut socket_arg = std::ffi::OsString::from("--socket=");
    socket_arg.push(socket);
    let mut command = Command::new(exe);
    command
        .arg("agent")
        .arg(socket_arg)
        // Nothing of the signing process's environment (tokens, CI credentials) outlives it in
        // the agent; it holds no directory busy.
        .env_clear()
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    for name in ["PATH", "HOME", "XDG_RUNTIME_DIR"] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    let mut child = command.spawn().map_err(|source| AgentError::Spawn {
        exe: exe.to_owned(),
        source,
    })?;
    let start = std::time::Instant::now();
    let mut delay = Duration::from_millis(10);
    loop {
        let remaining = READY_WITHIN.saturating_sub(start.elapsed());
        let last = match list_blocking(socket, remaining) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if let Ok(Some(status)) = child.try_wait() {
            // Another agent may have won a race for the socket; that one serves us as well.
            return match list_blocking(socket, remaining) {
                Ok(()) => Ok(()),
                Err(_) => Err(AgentError::AgentExited {
                    exe: exe.to_owned(),
                    socket: socket.to_owned(),
                    status: status.to_string(),
                }),
            };
        }
        let remaining = READY_WITHIN.saturating_sub(start.elapsed());
        if remaining.is_zero() {
            // Never leave a late, stray agent behind.
            let _ = child.kill();
            let _ = child.wait();
            return Err(AgentError::NotReady {
                socket: socket.to_owned(),
                waited: start.elapsed(),
                last: last.to_string(),
            });
        }
        std::thread::sleep(delay.min(remaining));
        delay = (delay * 2).min(Duration::from_millis(200));
    }
}
