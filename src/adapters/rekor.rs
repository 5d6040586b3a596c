//! Rekor v1 client: `POST {base}/api/v1/log/entries` with a hashedrekord entry (expects 201), and
//! the certificate search gitsign online-mode verification needs: `POST {base}/api/v1/index/retrieve`
//! by certificate, then `GET {base}/api/v1/log/entries/{uuid}` for each UUID listed.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::de::IgnoredAny;

use super::http::{HttpClient, Response, error_message, join};
use crate::core::rekor::{HashedRekord, TlogEntry};
use crate::core::signing::parse_rekor_response;
use crate::flow::{LogSearch, PortError, TransparencyLog};

const SERVICE: &str = "Rekor";

/// Most distinct entries one certificate search may list. A longer list is refused, never cut
/// short: the entry a verifier needs could be among those left out.
pub const MAX_SEARCH_RESULTS: usize = 64;

/// Longest piece of a server-chosen string quoted in an error message.
const MAX_QUOTED_CHARS: usize = 100;

pub struct RekorClient {
    http: HttpClient,
    base_url: String,
}

impl RekorClient {
    pub fn new(http: HttpClient, base_url: &str) -> Self {
        Self {
            http,
            base_url: base_url.to_owned(),
        }
    }
}

impl TransparencyLog for RekorClient {
    async fn submit(&self, entry: &HashedRekord) -> Result<TlogEntry, PortError> {
        let url = join(&self.base_url, "/api/v1/log/entries");
        let resp = self.http.post_json(SERVICE, &url, entry).await?;
        if resp.status != 201 {
            return Err(server_error(&resp));
        }
        parse_rekor_response(&resp.body).map_err(|e| protocol(e.to_string()))
    }
}

impl LogSearch for RekorClient {
    async fn entries_for_certificate(&self, cert_pem: &str) -> Result<Vec<TlogEntry>, PortError> {
        let url = join(&self.base_url, "/api/v1/index/retrieve");
        let query = serde_json::json!({
            "publicKey": {"format": "x509", "content": B64.encode(cert_pem)}
        });
        let resp = self.http.post_json(SERVICE, &url, &query).await?;
        if !is_success(resp.status) {
            return Err(server_error(&resp));
        }
        let uuids = parse_search_answer(&resp.body)?;
        let mut entries = Vec::with_capacity(uuids.len());
        for uuid in &uuids {
            let url = join(&self.base_url, &format!("/api/v1/log/entries/{uuid}"));
            let resp = self.http.get(SERVICE, &url).await?;
            if !is_success(resp.status) {
                return Err(server_error(&resp));
            }
            entries.push(parse_entry_answer(uuid, &resp.body)?);
        }
        Ok(entries)
    }
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

fn server_error(resp: &Response) -> PortError {
    PortError::Server {
        service: SERVICE,
        status: resp.status,
        message: error_message(&resp.body),
    }
}

fn protocol(detail: String) -> PortError {
    PortError::Protocol {
        service: SERVICE,
        detail,
    }
}

/// `s` quoted, cut to `MAX_QUOTED_CHARS` characters: server-chosen text in a message.
fn quoted(s: &str) -> String {
    if s.chars().count() > MAX_QUOTED_CHARS {
        let head: String = s.chars().take(MAX_QUOTED_CHARS).collect();
        format!("{head:?}...")
    } else {
        format!("{s:?}")
    }
}

/// The distinct entry UUIDs (lowercase, first-seen order) of a search index answer: a JSON array
/// of 64-hex UUIDs or 80-hex entry ids (tree id + UUID). At most `MAX_SEARCH_RESULTS`.
fn parse_search_answer(body: &[u8]) -> Result<Vec<String>, PortError> {
    let listed: Vec<String> = serde_json::from_slice(body).map_err(|e| {
        protocol(format!(
            "the search index answer is not a JSON array of entry UUIDs: {e}"
        ))
    })?;
    let mut seen = BTreeSet::new();
    let mut uuids = Vec::new();
    for uuid in listed {
        if !(uuid.len() == 64 || uuid.len() == 80) || !uuid.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(protocol(format!(
                "the search index lists {}, which is not an entry UUID (64 or 80 hex digits)",
                quoted(&uuid)
            )));
        }
        let uuid = uuid.to_ascii_lowercase();
        if seen.insert(uuid.clone()) {
            uuids.push(uuid);
        }
    }
    if uuids.len() > MAX_SEARCH_RESULTS {
        return Err(protocol(format!(
            "the search index lists {} entries for this certificate, more than the {} signet \
             fetches; refusing to verify against a partial list",
            uuids.len(),
            MAX_SEARCH_RESULTS
        )));
    }
    Ok(uuids)
}

/// Whether `key`, the entry id a `GET /api/v1/log/entries/{requested}` answer is keyed by, names
/// the requested entry: the same id, or the requested 64-hex UUID under an 80-hex tree-id prefix.
fn names_requested(requested: &str, key: &str) -> bool {
    key == requested || (requested.len() == 64 && key.len() == 80 && key.ends_with(requested))
}

/// The entry of a `GET /api/v1/log/entries/{uuid}` answer (`{entryID: LogEntry}`): keyed by the
/// requested UUID, whose leaf hash must be the body's.
fn parse_entry_answer(uuid: &str, body: &[u8]) -> Result<TlogEntry, PortError> {
    let keys: BTreeMap<String, IgnoredAny> = serde_json::from_slice(body).map_err(|e| {
        protocol(format!(
            "the answer for entry {uuid} is not a JSON object of entries: {e}"
        ))
    })?;
    if let Some(other) = keys.keys().find(|k| !names_requested(uuid, k)) {
        return Err(protocol(format!(
            "asked for entry {uuid}, the answer is for entry {}",
            quoted(other)
        )));
    }
    parse_rekor_response(body).map_err(|e| protocol(format!("entry {uuid}: {e}")))
}

#[cfg(test)]
#[path = "rekor_tests.rs"]
mod tests;
