//! The local Rekor's HTTP API: entry creation, lookups by index, UUID and content, the
//! search index, the tree head and the public key. Validation and the log itself live in the
//! parent module.

use std::sync::Arc;

use axum::{
    Json, Router,
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Appended, Log, MAX_RETRIEVE, canonicalize, parse_material, store_err};
use crate::checkpoint;
use crate::error::{ApiError, Dialect::Rekor, read_json};
use crate::keys::spki_pem;
use crate::merkle::leaf_hash;

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn create_entry(State(log): State<Arc<Log>>, body: Body) -> Result<Response, ApiError> {
    let proposed: Value = read_json(Rekor, body).await?;
    let canonical = canonicalize(proposed, true)?;
    let location = |id: &str| {
        HeaderValue::from_str(&format!("{}/api/v1/log/entries/{id}", log.base_url))
            .unwrap_or(HeaderValue::from_static("/"))
    };
    match log.append(canonical, now_unix())? {
        Appended::New(id, entry) => {
            let mut headers = HeaderMap::new();
            headers.insert(header::LOCATION, location(&id));
            if let Ok(etag) = HeaderValue::from_str(&id) {
                headers.insert(header::ETAG, etag);
            }
            Ok((StatusCode::CREATED, headers, Json(entry)).into_response())
        }
        Appended::Existing(id) => {
            let mut resp = ApiError::new(
                Rekor,
                StatusCode::CONFLICT,
                format!(
                    "an equivalent entry already exists in the transparency log with UUID {id}"
                ),
            )
            .into_response();
            resp.headers_mut().insert(header::LOCATION, location(&id));
            Ok(resp)
        }
    }
}

async fn get_by_uuid(
    State(log): State<Arc<Log>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    log.by_uuid(&id)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(Rekor, format!("no entry with UUID {id} in this log")))
}

#[derive(Deserialize)]
struct IndexQuery {
    #[serde(rename = "logIndex")]
    log_index: Option<String>,
}

async fn get_by_index(
    State(log): State<Arc<Log>>,
    Query(q): Query<IndexQuery>,
) -> Result<Json<Value>, ApiError> {
    let raw = q
        .log_index
        .ok_or_else(|| ApiError::bad_request(Rekor, "query parameter logIndex is required"))?;
    let index: u64 = raw.parse().map_err(|_| {
        ApiError::bad_request(
            Rekor,
            format!("logIndex must be a non-negative integer, got {raw:?}"),
        )
    })?;
    log.by_index(index)?.map(Json).ok_or_else(|| {
        ApiError::not_found(Rekor, format!("no entry at logIndex {index} in this log"))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetrieveRequest {
    #[serde(rename = "entryUUIDs", default)]
    entry_uuids: Vec<String>,
    #[serde(rename = "logIndexes", default)]
    log_indexes: Vec<i64>,
    #[serde(default)]
    entries: Vec<Value>,
}

async fn retrieve(State(log): State<Arc<Log>>, body: Body) -> Result<Json<Value>, ApiError> {
    let req: RetrieveRequest = read_json(Rekor, body).await?;
    let unprocessable = |m: String| ApiError::new(Rekor, StatusCode::UNPROCESSABLE_ENTITY, m);
    for (name, n) in [
        ("entryUUIDs", req.entry_uuids.len()),
        ("logIndexes", req.log_indexes.len()),
        ("entries", req.entries.len()),
    ] {
        if n > MAX_RETRIEVE {
            return Err(unprocessable(format!(
                "{name} names {n} items; at most {MAX_RETRIEVE} are allowed"
            )));
        }
    }
    if req.entry_uuids.is_empty() && req.log_indexes.is_empty() && req.entries.is_empty() {
        return Err(unprocessable(
            "give entryUUIDs, logIndexes or entries".into(),
        ));
    }
    let mut out = Vec::new();
    for id in &req.entry_uuids {
        out.extend(log.by_uuid(id)?);
    }
    for &i in &req.log_indexes {
        let i =
            u64::try_from(i).map_err(|_| unprocessable(format!("logIndexes: {i} is negative")))?;
        out.extend(log.by_index(i)?);
    }
    for e in req.entries {
        let c = canonicalize(e, false)?;
        out.extend(log.by_uuid(&hex::encode(leaf_hash(&c.body)))?);
    }
    Ok(Json(Value::Array(out)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchRequest {
    hash: Option<String>,
    email: Option<String>,
    #[serde(rename = "publicKey")]
    public_key: Option<SearchKey>,
    operator: Option<String>,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchKey {
    format: String,
    content: Option<String>,
    url: Option<String>,
}

async fn search_index(State(log): State<Arc<Log>>, body: Body) -> Result<Json<Value>, ApiError> {
    let req: SearchRequest = read_json(Rekor, body).await?;
    let bad_query = |m: String| ApiError::bad_request(Rekor, m);
    let all = match req.operator.as_deref() {
        None | Some("and") => true,
        Some("or") => false,
        Some(o) => {
            return Err(bad_query(format!(
                "operator must be \"and\" or \"or\", got {o:?}"
            )));
        }
    };
    let hash = req
        .hash
        .map(|h| {
            let h = h.to_ascii_lowercase();
            let (alg, hexv) = h.split_once(':').unwrap_or(("sha256", &h));
            let ok = matches!(
                (alg, hexv.len()),
                ("sha256", 64) | ("sha384", 96) | ("sha512", 128)
            ) && hexv.bytes().all(|b| b.is_ascii_hexdigit());
            ok.then(|| format!("{alg}:{hexv}"))
                .ok_or_else(|| bad_query(format!("hash must be [sha256:]<hex digest>, got {h:?}")))
        })
        .transpose()?;
    let key_sha = req
        .public_key
        .map(|k| {
            if k.format != "x509" {
                return Err(bad_query(format!(
                    "publicKey.format {:?} is not supported (x509 only)",
                    k.format
                )));
            }
            if k.url.is_some() {
                return Err(bad_query(
                    "publicKey.url is not supported by this test log".into(),
                ));
            }
            let content = k
                .content
                .ok_or_else(|| bad_query("publicKey.content is required".into()))?;
            let pem = STANDARD
                .decode(content)
                .map_err(|e| bad_query(format!("publicKey.content is not base64: {e}")))?;
            let m = parse_material(&pem).map_err(bad_query)?;
            Ok(hex::encode(Sha256::digest(&m.spki_der)))
        })
        .transpose()?;
    if hash.is_none() && req.email.is_none() && key_sha.is_none() {
        return Err(bad_query(
            "give at least one of hash, email, publicKey".into(),
        ));
    }
    let inner = log.lock();
    let found = inner
        .store
        .search(
            hash.as_deref(),
            req.email.as_deref(),
            key_sha.as_deref(),
            all,
        )
        .map_err(store_err)?;
    let mut ids = Vec::new();
    for i in found {
        if let Some(e) = inner.store.entry_by_index(i).map_err(store_err)? {
            ids.push(Value::String(log.entry_id(&e.leaf_hash)));
        }
    }
    Ok(Json(Value::Array(ids)))
}

async fn log_info(State(log): State<Arc<Log>>) -> Json<Value> {
    let inner = log.lock();
    let size = inner.tree.len();
    let root = inner.tree.root(size).unwrap_or_default();
    Json(json!({
        "rootHash": hex::encode(root),
        "treeSize": size,
        "signedTreeHead": checkpoint::sign(
            &log.key,
            checkpoint::log_name(&log.base_url),
            log.tree_id,
            size,
            &root,
        ),
        "treeID": log.tree_id.to_string(),
        "inactiveShards": [],
    }))
}

async fn public_key(State(log): State<Arc<Log>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        spki_pem(log.key.verifying_key()),
    )
        .into_response()
}

pub fn router(log: Arc<Log>) -> Router {
    Router::new()
        .route("/api/v1/log", get(log_info))
        .route("/api/v1/log/publicKey", get(public_key))
        .route("/api/v1/log/entries", post(create_entry).get(get_by_index))
        .route("/api/v1/log/entries/retrieve", post(retrieve))
        .route("/api/v1/log/entries/{id}", get(get_by_uuid))
        .route("/api/v1/index/retrieve", post(search_index))
        .with_state(log)
}
