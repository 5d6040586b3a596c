//! The credential agent's wire protocol: versioned, length-prefixed, size-limited frames between
//! `signet` and `signet agent` over a Unix socket. A frame is a 4-byte big-endian payload length,
//! then the payload: the protocol version byte, an operation byte, then the operation's fields.
//! Strings and byte strings are a 4-byte big-endian length and their bytes; an optional string
//! is a 0/1 flag byte then the string; a time is 8 bytes big-endian signed unix seconds.
//! Decoding is strict (no trailing bytes, no unknown flags) and every buffer that can hold key
//! material is [`Zeroizing`]. Pure: no I/O.

use std::fmt;

use zeroize::Zeroizing;

use super::time::UnixTime;

pub const PROTOCOL_VERSION: u8 = 1;
/// The largest payload either side sends or accepts.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

const OP_GET: u8 = 0x01;
const OP_PUT: u8 = 0x02;
const OP_DELETE: u8 = 0x03;
const OP_LIST: u8 = 0x04;
const OP_CREDENTIAL: u8 = 0x81;
const OP_NOT_FOUND: u8 = 0x82;
const OP_STORED: u8 = 0x83;
const OP_DELETED: u8 = 0x84;
const OP_ENTRIES: u8 = 0x85;
const OP_ERROR: u8 = 0x86;

/// A client's request. `Debug` redacts the credential.
#[derive(Clone, PartialEq, Eq)]
pub enum Request {
    Get {
        scope_key: String,
    },
    /// An encoded [`crate::core::credential::Credential`].
    Put {
        credential: Zeroizing<Vec<u8>>,
    },
    Delete {
        scope_key: String,
    },
    List,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Get { scope_key } => f.debug_struct("Get").field("scope_key", scope_key).finish(),
            Self::Put { credential } => f
                .debug_struct("Put")
                .field(
                    "credential",
                    &format_args!("<redacted {} bytes>", credential.len()),
                )
                .finish(),
            Self::Delete { scope_key } => f
                .debug_struct("Delete")
                .field("scope_key", scope_key)
                .finish(),
            Self::List => f.write_str("List"),
        }
    }
}

/// What `List` reports about one cached credential (no key material).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySummary {
    pub scope_key: String,
    pub identity: String,
    pub issuer: Option<String>,
    pub not_after: UnixTime,
}

/// The agent's answer. `Debug` redacts the credential.
#[derive(Clone, PartialEq, Eq)]
pub enum Response {
    /// An encoded [`crate::core::credential::Credential`].
    Credential(Zeroizing<Vec<u8>>),
    NotFound,
    Stored,
    Deleted {
        found: bool,
    },
    Entries(Vec<EntrySummary>),
    Error(String),
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Credential(c) => write!(f, "Credential(<redacted {} bytes>)", c.len()),
            Self::NotFound => f.write_str("NotFound"),
            Self::Stored => f.write_str("Stored"),
            Self::Deleted { found } => f.debug_struct("Deleted").field("found", found).finish(),
            Self::Entries(e) => f.debug_tuple("Entries").field(e).finish(),
            Self::Error(m) => f.debug_tuple("Error").field(m).finish(),
        }
    }
}

/// Why a frame or payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    #[error("agent frame of {len} bytes exceeds the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    #[error("agent frame is empty")]
    Empty,
    #[error("agent protocol version {found} is not supported (this signet speaks {supported})")]
    UnsupportedVersion { found: u8, supported: u8 },
    #[error("unknown agent {kind} operation 0x{op:02x}")]
    UnknownOp { kind: &'static str, op: u8 },
    #[error("agent frame is truncated in the {0}")]
    Truncated(&'static str),
    #[error("agent frame has {0} trailing bytes")]
    TrailingBytes(usize),
    #[error("agent frame {0} is not UTF-8")]
    NotUtf8(&'static str),
    #[error("agent frame {what} flag is {value}, not 0 or 1")]
    BadFlag { what: &'static str, value: u8 },
}

/// Validate a frame header: the payload length, refused above [`MAX_FRAME_BYTES`] or zero.
pub fn frame_len(header: [u8; 4]) -> Result<usize, ProtoError> {
    let len = usize::try_from(u32::from_be_bytes(header)).unwrap_or(usize::MAX);
    if len == 0 {
        return Err(ProtoError::Empty);
    }
    if len > MAX_FRAME_BYTES {
        return Err(ProtoError::TooLarge {
            len,
            max: MAX_FRAME_BYTES,
        });
    }
    Ok(len)
}

/// Builds a frame: reserves the header, then fills it in `finish`.
struct Writer(Zeroizing<Vec<u8>>);

impl Writer {
    fn new(op: u8) -> Self {
        let mut buf = Zeroizing::new(Vec::with_capacity(64));
        buf.extend_from_slice(&[0, 0, 0, 0, PROTOCOL_VERSION, op]);
        Self(buf)
    }

    fn bytes(&mut self, b: &[u8]) {
        // Oversized fields make an oversized frame, which the receiver refuses; saturating keeps
        // encoding total.
        let n = u32::try_from(b.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&n.to_be_bytes());
        self.0.extend_from_slice(b);
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.0.push(0),
            Some(s) => {
                self.0.push(1);
                self.bytes(s.as_bytes());
            }
        }
    }

    fn finish(mut self) -> Zeroizing<Vec<u8>> {
        let n = u32::try_from(self.0.len() - 4).unwrap_or(u32::MAX);
        self.0[..4].copy_from_slice(&n.to_be_bytes());
        self.0
    }
}

/// Reads fields off a payload.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// Check the version and read the operation byte.
    fn open(payload: &'a [u8]) -> Result<(Self, u8), ProtoError> {
        if payload.is_empty() {
            return Err(ProtoError::Empty);
        }
        if payload.len() > MAX_FRAME_BYTES {
            return Err(ProtoError::TooLarge {
                len: payload.len(),
                max: MAX_FRAME_BYTES,
            });
        }
        let mut r = Self(payload);
        let version = r.u8("version")?;
        if version != PROTOCOL_VERSION {
            return Err(ProtoError::UnsupportedVersion {
                found: version,
                supported: PROTOCOL_VERSION,
            });
        }
        let op = r.u8("operation")?;
        Ok((r, op))
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ProtoError> {
        if self.0.len() < n {
            return Err(ProtoError::Truncated(what));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, ProtoError> {
        Ok(self.take(1, what)?[0])
    }

    fn flag(&mut self, what: &'static str) -> Result<bool, ProtoError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(ProtoError::BadFlag { what, value }),
        }
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, ProtoError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i64(&mut self, what: &'static str) -> Result<i64, ProtoError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8, what)?);
        Ok(i64::from_be_bytes(a))
    }

    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], ProtoError> {
        let n = usize::try_from(self.u32(what)?).unwrap_or(usize::MAX);
        self.take(n, what)
    }

    fn string(&mut self, what: &'static str) -> Result<String, ProtoError> {
        let b = self.bytes(what)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| ProtoError::NotUtf8(what))
    }

    fn opt_string(&mut self, what: &'static str) -> Result<Option<String>, ProtoError> {
        if self.flag(what)? {
            self.string(what).map(Some)
        } else {
            Ok(None)
        }
    }

    fn end<T>(self, value: T) -> Result<T, ProtoError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(ProtoError::TrailingBytes(self.0.len()))
        }
    }
}

/// Encode a request as a whole frame (header and payload).
pub fn encode_request(r: &Request) -> Zeroizing<Vec<u8>> {
    let mut w;
    match r {
        Request::Get { scope_key } => {
            w = Writer::new(OP_GET);
            w.bytes(scope_key.as_bytes());
        }
        Request::Put { credential } => {
            w = Writer::new(OP_PUT);
            w.bytes(credential);
        }
        Request::Delete { scope_key } => {
            w = Writer::new(OP_DELETE);
            w.bytes(scope_key.as_bytes());
        }
        Request::List => w = Writer::new(OP_LIST),
    }
    w.finish()
}

/// Decode a request payload (the frame without its 4-byte header).
pub fn decode_request(payload: &[u8]) -> Result<Request, ProtoError> {
    let (mut r, op) = Reader::open(payload)?;
    let req = match op {
        OP_GET => Request::Get {
            scope_key: r.string("scope key")?,
        },
        OP_PUT => Request::Put {
            credential: Zeroizing::new(r.bytes("credential")?.to_vec()),
        },
        OP_DELETE => Request::Delete {
            scope_key: r.string("scope key")?,
        },
        OP_LIST => Request::List,
        op => {
            return Err(ProtoError::UnknownOp {
                kind: "request",
                op,
            });
        }
    };
    r.end(req)
}

/// Encode a response as a whole frame (header and payload).
pub fn encode_response(r: &Response) -> Zeroizing<Vec<u8>> {
    let mut w;
    match r {
        Response::Credential(c) => {
            w = Writer::new(OP_CREDENTIAL);
            w.bytes(c);
        }
        Response::NotFound => w = Writer::new(OP_NOT_FOUND),
        Response::Stored => w = Writer::new(OP_STORED),
        Response::Deleted { found } => {
            w = Writer::new(OP_DELETED);
            w.0.push(u8::from(*found));
        }
        Response::Entries(entries) => {
            w = Writer::new(OP_ENTRIES);
            let n = u32::try_from(entries.len()).unwrap_or(u32::MAX);
            w.0.extend_from_slice(&n.to_be_bytes());
            for e in entries {
                w.bytes(e.scope_key.as_bytes());
                w.bytes(e.identity.as_bytes());
                w.opt_str(e.issuer.as_deref());
                w.0.extend_from_slice(&e.not_after.0.to_be_bytes());
            }
        }
        Response::Error(message) => {
            w = Writer::new(OP_ERROR);
            w.bytes(message.as_bytes());
        }
    }
    w.finish()
}

/// Decode a response payload (the frame without its 4-byte header).
pub fn decode_response(payload: &[u8]) -> Result<Response, ProtoError> {
    let (mut r, op) = Reader::open(payload)?;
    let resp = match op {
        OP_CREDENTIAL => Response::Credential(Zeroizing::new(r.bytes("credential")?.to_vec())),
        OP_NOT_FOUND => Response::NotFound,
        OP_STORED => Response::Stored,
        OP_DELETED => Response::Deleted {
            found: r.flag("found")?,
        },
        OP_ENTRIES => {
            let count = r.u32("entry count")?;
            // No preallocation from the untrusted count: each entry consumes at least 17 bytes,
            // so a lying count runs out of payload quickly.
            let mut entries = Vec::new();
            for _ in 0..count {
                entries.push(EntrySummary {
                    scope_key: r.string("entry scope key")?,
                    identity: r.string("entry identity")?,
                    issuer: r.opt_string("entry issuer")?,
                    not_after: UnixTime(r.i64("entry expiry")?),
                });
            }
            Response::Entries(entries)
        }
        OP_ERROR => Response::Error(r.string("error message")?),
        op => {
            return Err(ProtoError::UnknownOp {
                kind: "response",
                op,
            });
        }
    };
    r.end(resp)
}

#[cfg(test)]
#[path = "agent_proto_tests.rs"]
mod tests;
