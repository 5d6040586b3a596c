//! The Rekor entry gitsign's offline mode embeds in a signature: unsigned attribute
//! `1.3.6.1.4.1.57264.3.1` holding a protobuf `dev.sigstore.rekor.v1.TransparencyLogEntry`
//! with `canonicalized_body` removed (the verifier rebuilds the body from the signature).
//!
//! A small hand-written protobuf codec (varints and length-delimited fields only) with the
//! sigstore protobuf-specs field numbers. Encoding follows Go's `proto.Marshal`: fields in
//! number order, proto3 zero values omitted, set sub-messages always written. Decoding is
//! strict: size and count limits, wire types checked, no repeated singular fields, unknown
//! fields skipped (proto3 forward compatibility).

use const_oid::ObjectIdentifier;

use super::rekor::{InclusionProof, TlogEntry};

/// Rekor's OID for a proto-serialised TransparencyLogEntry.
pub const OID_REKOR_TLE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.3.1");
/// Largest embedded entry accepted (a real one is about 1 KiB).
pub const MAX_TLE_BYTES: usize = 64 * 1024;
/// Most inclusion-proof hashes accepted (a 2^64 tree needs 64).
pub const MAX_PROOF_HASHES: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TleError {
    #[error("embedded log entry is {size} bytes, more than the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("embedded log entry is not valid protobuf: {0}")]
    Malformed(String),
    #[error("embedded log entry field {message}.{field} has wire type {wire}")]
    WireType {
        message: &'static str,
        field: u64,
        wire: u8,
    },
    #[error("embedded log entry field {message}.{field} occurs more than once")]
    Repeated { message: &'static str, field: u64 },
    #[error("embedded log entry has no {0}")]
    Missing(&'static str),
}

// ---- encoding ----

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_key(out: &mut Vec<u8>, field: u64, wire: u8) {
    put_varint(out, (field << 3) | u64::from(wire));
}

/// int64 as protobuf writes it (negative values sign-extended to 10 bytes); zero omitted.
fn put_int64(out: &mut Vec<u8>, field: u64, v: i64) {
    if v != 0 {
        put_key(out, field, 0);
        put_varint(out, v as u64);
    }
}

/// bytes/string/sub-message with an explicit presence choice.
fn put_bytes_always(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_key(out, field, 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// proto3 bytes/string: empty omitted.
fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    if !bytes.is_empty() {
        put_bytes_always(out, field, bytes);
    }
}

/// Encode `entry` as a TransparencyLogEntry without its canonicalized body.
pub fn encode(entry: &TlogEntry) -> Vec<u8> {
    let mut out = Vec::new();
    put_int64(&mut out, 1, entry.log_index);
    let mut log_id = Vec::new();
    put_bytes(&mut log_id, 1, &entry.log_id);
    put_bytes_always(&mut out, 2, &log_id);
    let mut kv = Vec::new();
    put_bytes(&mut kv, 1, entry.kind.as_bytes());
    put_bytes(&mut kv, 2, entry.version.as_bytes());
    put_bytes_always(&mut out, 3, &kv);
    put_int64(&mut out, 4, entry.integrated_time);
    if let Some(set) = &entry.signed_entry_timestamp {
        let mut promise = Vec::new();
        put_bytes(&mut promise, 1, set);
        put_bytes_always(&mut out, 5, &promise);
    }
    if let Some(p) = &entry.inclusion_proof {
        let mut proof = Vec::new();
        put_int64(&mut proof, 1, p.log_index);
        put_bytes(&mut proof, 2, &p.root_hash);
        put_int64(&mut proof, 3, p.tree_size);
        for h in &p.hashes {
            put_bytes_always(&mut proof, 4, h);
        }
        if let Some(cp) = &p.checkpoint {
            let mut checkpoint = Vec::new();
            put_bytes(&mut checkpoint, 1, cp.as_bytes());
            put_bytes_always(&mut proof, 5, &checkpoint);
        }
        put_bytes_always(&mut out, 6, &proof);
    }
    out
}

// ---- decoding ----

enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

struct Reader<'a> {
    input: &'a [u8],
    message: &'static str,
    seen: u64,
}

impl<'a> Reader<'a> {
    fn new(input: &'a [u8], message: &'static str) -> Self {
        Self {
            input,
            message,
            seen: 0,
        }
    }

    fn varint(&mut self) -> Result<u64, TleError> {
        let mut v = 0u64;
        for i in 0..10 {
            let (&b, rest) = self
                .input
                .split_first()
                .ok_or_else(|| TleError::Malformed("truncated varint".into()))?;
            self.input = rest;
            if i == 9 && b > 1 {
                return Err(TleError::Malformed("varint overflows 64 bits".into()));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(TleError::Malformed("varint is too long".into()))
    }

    /// The next field (number, value); singular fields below 64 may occur only once.
    fn next(&mut self, repeated: &[u64]) -> Result<Option<(u64, Value<'a>)>, TleError> {
        if self.input.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let (field, wire) = (key >> 3, (key & 7) as u8);
        if field == 0 {
            return Err(TleError::Malformed("field number 0".into()));
        }
        let value = match wire {
            0 => Value::Varint(self.varint()?),
            2 => {
                let len = usize::try_from(self.varint()?)
                    .ok()
                    .filter(|&l| l <= self.input.len())
                    .ok_or_else(|| TleError::Malformed("length exceeds the input".into()))?;
                let (bytes, rest) = self.input.split_at(len);
                self.input = rest;
                Value::Bytes(bytes)
            }
            _ => {
                return Err(TleError::WireType {
                    message: self.message,
                    field,
                    wire,
                });
            }
        };
        if field < 64 && !repeated.contains(&field) {
            if self.seen & (1 << field) != 0 {
                return Err(TleError::Repeated {
                    message: self.message,
                    field,
                });
            }
            self.seen |= 1 << field;
        }
        Ok(Some((field, value)))
    }

    fn wire(&self, field: u64, wire: u8) -> TleError {
        TleError::WireType {
            message: self.message,
            field,
            wire,
        }
    }
}

fn int64(r: &Reader<'_>, field: u64, v: &Value<'_>) -> Result<i64, TleError> {
    match v {
        Value::Varint(v) => Ok(*v as i64),
        Value::Bytes(_) => Err(r.wire(field, 2)),
    }
}

fn bytes<'a>(r: &Reader<'_>, field: u64, v: &Value<'a>) -> Result<&'a [u8], TleError> {
    match v {
        Value::Bytes(b) => Ok(b),
        Value::Varint(_) => Err(r.wire(field, 0)),
    }
}

fn string(r: &Reader<'_>, field: u64, v: &Value<'_>) -> Result<String, TleError> {
    String::from_utf8(bytes(r, field, v)?.to_vec())
        .map_err(|_| TleError::Malformed(format!("{}.{field} is not UTF-8", r.message)))
}

/// One singular sub-message field holding one bytes/string field 1 (LogId, InclusionPromise,
/// Checkpoint).
fn inner_field1<'a>(bytes_in: &'a [u8], message: &'static str) -> Result<&'a [u8], TleError> {
    let mut r = Reader::new(bytes_in, message);
    let mut out: &[u8] = &[];
    while let Some((f, v)) = r.next(&[])? {
        if f == 1 {
            out = bytes(&r, f, &v)?;
        }
    }
    Ok(out)
}

fn decode_proof(input: &[u8]) -> Result<InclusionProof, TleError> {
    let mut r = Reader::new(input, "InclusionProof");
    let mut p = InclusionProof {
        log_index: 0,
        tree_size: 0,
        root_hash: Vec::new(),
        hashes: Vec::new(),
        checkpoint: None,
    };
    while let Some((f, v)) = r.next(&[4])? {
        match f {
            1 => p.log_index = int64(&r, f, &v)?,
            2 => p.root_hash = bytes(&r, f, &v)?.to_vec(),
            3 => p.tree_size = int64(&r, f, &v)?,
            4 => {
                if p.hashes.len() == MAX_PROOF_HASHES {
                    return Err(TleError::Malformed(format!(
                        "more than {MAX_PROOF_HASHES} inclusion proof hashes"
                    )));
                }
                p.hashes.push(bytes(&r, f, &v)?.to_vec());
            }
            5 => {
                let envelope = inner_field1(bytes(&r, f, &v)?, "Checkpoint")?;
                p.checkpoint = Some(
                    String::from_utf8(envelope.to_vec())
                        .map_err(|_| TleError::Malformed("checkpoint is not UTF-8".into()))?,
                );
            }
            _ => {}
        }
    }
    Ok(p)
}

/// Decode a TransparencyLogEntry. `body` is the canonicalized body if the entry carries one
/// (gitsign's do not; the verifier rebuilds it).
pub fn decode(input: &[u8]) -> Result<TlogEntry, TleError> {
    if input.len() > MAX_TLE_BYTES {
        return Err(TleError::TooLarge {
            size: input.len(),
            limit: MAX_TLE_BYTES,
        });
    }
    let mut r = Reader::new(input, "TransparencyLogEntry");
    let mut e = TlogEntry {
        log_index: 0,
        log_id: Vec::new(),
        kind: String::new(),
        version: String::new(),
        integrated_time: 0,
        signed_entry_timestamp: None,
        inclusion_proof: None,
        body: Vec::new(),
    };
    let (mut has_log_id, mut has_kind) = (false, false);
    while let Some((f, v)) = r.next(&[])? {
        match f {
            1 => e.log_index = int64(&r, f, &v)?,
            2 => {
                e.log_id = inner_field1(bytes(&r, f, &v)?, "LogId")?.to_vec();
                has_log_id = true;
            }
            3 => {
                let mut kv = Reader::new(bytes(&r, f, &v)?, "KindVersion");
                while let Some((kf, kvv)) = kv.next(&[])? {
                    match kf {
                        1 => e.kind = string(&kv, kf, &kvv)?,
                        2 => e.version = string(&kv, kf, &kvv)?,
                        _ => {}
                    }
                }
                has_kind = true;
            }
            4 => e.integrated_time = int64(&r, f, &v)?,
            5 => {
                let set = inner_field1(bytes(&r, f, &v)?, "InclusionPromise")?;
                e.signed_entry_timestamp = Some(set.to_vec());
            }
            6 => e.inclusion_proof = Some(decode_proof(bytes(&r, f, &v)?)?),
            7 => e.body = bytes(&r, f, &v)?.to_vec(),
            _ => {}
        }
    }
    if !has_log_id || e.log_id.is_empty() {
        return Err(TleError::Missing("log id"));
    }
    if !has_kind {
        return Err(TleError::Missing("kind and version"));
    }
    Ok(e)
}

#[cfg(test)]
#[path = "tle_tests.rs"]
mod tests;
