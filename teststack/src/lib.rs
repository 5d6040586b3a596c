//! # signet-teststack
//!
//! A local Sigstore stack for tests and demos: an OpenID Connect issuer, a Fulcio v2 and a
//! Rekor v1 on one loopback HTTP listener, with durable state in a directory. It is a test
//! stack, not a production log: one process, one shard, P-256 keys only, no rate limits.
//!
//! Layout, one concern per module:
//! - [`store`]: the SQLite state (keys, CA certificates, log entries), fsynced before acks;
//! - [`keys`]: key material made once per state directory and its published encodings;
//! - [`oidc`]: the issuer (discovery, JWKS, auth code + PKCE, device flow, token checks, and
//!   counters of login requests, [`Running::login_counts`]);
//! - [`ca`] and [`fulcio`]: certificate issuance with embedded SCTs, and its HTTP API;
//! - [`merkle`], [`checkpoint`] and [`rekor`]: the RFC 6962 log, signed notes, SETs, HTTP API;
//! - [`tsa`]: the RFC 3161 timestamp authority (its own root and timeStamping certificate);
//! - [`trust`]: `trusted_root.json`, `client_trust_config.json` and `env`, written atomically;
//! - [`error`]: error bodies in each service's dialect and the size-limited JSON reader.
//!
//! It shares no verification code with `signet`: each side is checked against the other and
//! against independent clients (sigstore-python, openssl).

pub mod ca;
pub mod checkpoint;
pub mod error;
pub mod fulcio;
pub mod keys;
pub mod merkle;
pub mod oidc;
pub mod rekor;
pub mod store;
pub mod trust;
pub mod tsa;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::{
    Json, Router,
    http::{Method, StatusCode, Uri},
    routing::get,
};
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::oidc::{LoginCounts, TokenCounts};
use crate::store::{Store, StoreError};

/// The lifetime of the leaf certificates the local Fulcio issues unless told otherwise: 10
/// minutes, as on the public instance.
pub const DEFAULT_CERT_LIFETIME: Duration = ca::LEAF_LIFETIME;
/// The shortest leaf lifetime [`start`] accepts.
pub const MIN_CERT_LIFETIME: Duration = Duration::from_secs(1);
/// The longest leaf lifetime [`start`] accepts: 24 hours.
pub const MAX_CERT_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// How to run the stack.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub state_dir: PathBuf,
    /// Must be a loopback address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The email the interactive and device flows log in as.
    pub identity: String,
    /// How long the leaf certificates Fulcio issues live, from `notBefore` = the time of
    /// issuance: whole seconds, [`MIN_CERT_LIFETIME`] to [`MAX_CERT_LIFETIME`].
    pub cert_lifetime: Duration,
}

impl ServeOptions {
    /// Options for a stack with its state in `state_dir`, on a free port of 127.0.0.1, logging
    /// in as `alice@example.com`, issuing [`DEFAULT_CERT_LIFETIME`] certificates.
    pub fn new(state_dir: impl Into<PathBuf>) -> ServeOptions {
        ServeOptions {
            state_dir: state_dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            identity: "alice@example.com".to_owned(),
            cert_lifetime: DEFAULT_CERT_LIFETIME,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("refusing to listen on {0}: signet-teststack serves loopback addresses only")]
    NotLoopback(SocketAddr),
    #[error(
        "refusing a certificate lifetime of {got:?}: it must be a whole number of seconds from \
         {} to {} (24 h)",
        MIN_CERT_LIFETIME.as_secs(),
        MAX_CERT_LIFETIME.as_secs()
    )]
    CertLifetime { got: Duration },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot create the CA: {0}")]
    Ca(#[from] ca::CaError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no running stack in {0} (its env file is missing)")]
    NotRunning(PathBuf),
    #[error("the server stopped with an error: {0}")]
    Serve(std::io::Error),
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Keys, CA and log identity of a state directory, made on first use and kept.
struct Material {
    oidc_key: p256::ecdsa::SigningKey,
    rekor_key: p256::ecdsa::SigningKey,
    ca: ca::Ca,
    tsa: tsa::Tsa,
    tree_id: i64,
    created: i64,
}

fn text_meta(
    store: &Store,
    key: &str,
    make: impl FnOnce() -> String,
) -> Result<String, StoreError> {
    let v = store.get_or_init(key, || Ok(make().into_bytes()))?;
    String::from_utf8(v).map_err(|_| StoreError::Corrupt {
        path: PathBuf::from(store::DB_FILE),
        detail: format!("{key} is not text"),
    })
}

fn parse_meta<T: std::str::FromStr>(key: &str, v: String) -> Result<T, StoreError> {
    v.parse().map_err(|_| StoreError::Corrupt {
        path: PathBuf::from(store::DB_FILE),
        detail: format!("{key} is not a number: {v:?}"),
    })
}

fn load_material(store: &Store) -> Result<Material, Error> {
    // Validity windows start a minute before creation so that clients with a slightly
    // different clock, or second-granular times, never fall before them.
    let created = text_meta(store, "created_at", || (now_unix() as i64 - 60).to_string())?;
    let created: i64 = parse_meta("created_at", created)?;
    let tree_id = text_meta(store, "tree_id", || {
        (rand::random::<u64>() >> 1).max(1).to_string()
    })?;
    let tree_id: i64 = parse_meta("tree_id", tree_id)?;
    let root_key = keys::load_or_create(store, "fulcio_root_key")?;
    let intermediate_key = keys::load_or_create(store, "fulcio_intermediate_key")?;
    let root_der = store.get_or_init("fulcio_root_cert", || {
        ca::make_root(&root_key, created as u64).map_err(|e| e.to_string())
    })?;
    let intermediate_der = store.get_or_init("fulcio_intermediate_cert", || {
        ca::make_intermediate(&intermediate_key, &root_key, &root_der, created as u64)
            .map_err(|e| e.to_string())
    })?;
    let tsa_root_key = keys::load_or_create(store, "tsa_root_key")?;
    let tsa_key = keys::load_or_create(store, "tsa_key")?;
    let tsa_root_der = store.get_or_init("tsa_root_cert", || {
        tsa::make_root(&tsa_root_key, created as u64).map_err(|e| e.to_string())
    })?;
    let tsa_signer_der = store.get_or_init("tsa_signer_cert", || {
        tsa::make_signer(&tsa_key, &tsa_root_key, created as u64).map_err(|e| e.to_string())
    })?;
    Ok(Material {
        oidc_key: keys::load_or_create(store, "oidc_key")?,
        rekor_key: keys::load_or_create(store, "rekor_key")?,
        ca: ca::Ca {
            intermediate_key,
            intermediate_der,
            root_der,
            ct_key: keys::load_or_create(store, "ct_key")?,
        },
        tsa: tsa::Tsa {
            key: tsa_key,
            signer_der: tsa_signer_der,
            root_der: tsa_root_der,
        },
        tree_id,
        created,
    })
}

/// A stack serving in the background of the current tokio runtime.
pub struct Running {
    pub addr: SocketAddr,
    pub base_url: String,
    pub issuer_url: String,
    pub state_dir: PathBuf,
    issuer: Arc<oidc::Issuer>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

/// Opens the state, binds the listener, writes the published files (`env` last) and serves.
pub async fn start(opts: ServeOptions) -> Result<Running, Error> {
    if !opts.listen.ip().is_loopback() {
        return Err(Error::NotLoopback(opts.listen));
    }
    let lifetime = opts.cert_lifetime;
    if !(MIN_CERT_LIFETIME..=MAX_CERT_LIFETIME).contains(&lifetime) || lifetime.subsec_nanos() != 0
    {
        return Err(Error::CertLifetime { got: lifetime });
    }
    let dir = opts.state_dir.clone();
    let store = Store::open(&dir)?;
    let env_path = dir.join(trust::ENV_FILE);
    match std::fs::remove_file(&env_path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(Error::Io {
                path: env_path,
                source,
            });
        }
    }
    let material = load_material(&store)?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|source| Error::Bind {
            addr: opts.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Bind {
        addr: opts.listen,
        source,
    })?;
    let base_url = format!("http://{addr}");
    let issuer_url = format!("{base_url}/oidc");

    let issuer = Arc::new(oidc::Issuer::new(
        issuer_url.clone(),
        material.oidc_key,
        opts.identity.clone(),
    ));
    let published = trust::Published {
        base_url: &base_url,
        issuer_url: &issuer_url,
        valid_from: material.created,
        ca_chain_der: [&material.ca.intermediate_der, &material.ca.root_der],
        rekor_key: material.rekor_key.verifying_key(),
        ct_key: material.ca.ct_key.verifying_key(),
    };
    let tsa = trust::PublishedTsa {
        chain_der: [&material.tsa.signer_der, &material.tsa.root_der],
    };
    let write = published.write_all(&dir, Some(&tsa));
    let app = Router::new()
        .nest("/oidc", oidc::router(issuer.clone()))
        .merge(fulcio::router(Arc::new(fulcio::Service {
            ca: material.ca,
            issuer: issuer.clone(),
            leaf_lifetime: lifetime,
        })))
        .merge(rekor::router(Arc::new(rekor::Log::open(
            store,
            material.rekor_key,
            material.tree_id,
            base_url.clone(),
        )?)))
        .merge(tsa::router(Arc::new(material.tsa)))
        .route("/", get(index))
        .fallback(not_found);
    // The listener is bound, so connections queue from here on; `env` is written last of
    // all, so a client that sees it can connect.
    write.map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    Ok(Running {
        addr,
        base_url,
        issuer_url,
        state_dir: dir,
        issuer,
        shutdown: Some(tx),
        task,
    })
}

impl Running {
    /// How many requests the issuer's authorization (browser flow), device-authorization and
    /// token endpoints have received since [`start`], whatever their outcome.
    pub fn login_counts(&self) -> LoginCounts {
        self.issuer.login_counts()
    }

    /// The requests to the token endpoint since [`start`], by grant type.
    pub fn token_counts(&self) -> TokenCounts {
        self.issuer.token_counts()
    }

    /// Stops serving, waits for in-flight requests, and removes the `env` file.
    pub async fn stop(mut self) -> Result<(), Error> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let result = (&mut self.task).await;
        let _ = std::fs::remove_file(self.state_dir.join(trust::ENV_FILE));
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::Serve(e)),
            Err(e) => Err(Error::Serve(std::io::Error::other(e.to_string()))),
        }
    }

    /// Resolves if the server stops by itself (an error); it never does otherwise.
    pub async fn stopped(&mut self) -> Result<(), Error> {
        match (&mut self.task).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::Serve(e)),
            Err(e) => Err(Error::Serve(std::io::Error::other(e.to_string()))),
        }
    }
}

/// A signed ID token from the issuer of the stack running in `state_dir`.
pub fn mint_token(state_dir: &Path, email: &str, expires_in: u64) -> Result<String, Error> {
    let env_path = state_dir.join(trust::ENV_FILE);
    let env = std::fs::read_to_string(&env_path)
        .map_err(|_| Error::NotRunning(state_dir.to_path_buf()))?;
    let issuer_url = trust::parse_env(&env)
        .into_iter()
        .find(|(k, _)| k == "SIGNET_OIDC_ISSUER")
        .map(|(_, v)| v)
        .ok_or_else(|| Error::NotRunning(state_dir.to_path_buf()))?;
    let store = Store::open(state_dir)?;
    let key = keys::load_or_create(&store, "oidc_key")?;
    let issuer = oidc::Issuer::new(issuer_url, key, email.to_string());
    Ok(issuer.mint(email, oidc::AUDIENCE, expires_in, None, now_unix()))
}

async fn index() -> Json<serde_json::Value> {
    Json(json!({
        "service": "signet-teststack",
        "oidc": "/oidc/.well-known/openid-configuration",
        "fulcio": ["/api/v2/signingCert", "/api/v2/trustBundle", "/api/v2/configuration"],
        "rekor": ["/api/v1/log", "/api/v1/log/publicKey", "/api/v1/log/entries",
                  "/api/v1/log/entries/{uuid}", "/api/v1/log/entries/retrieve", "/api/v1/index/retrieve"],
        "tsa": ["/api/v1/timestamp", "/api/v1/timestamp/certchain"],
    }))
}

async fn not_found(method: Method, uri: Uri) -> (StatusCode, Json<serde_json::Value>) {
    (
        StatusCode::NOT_FOUND,
        Json(
            json!({ "code": 404, "message": format!("no such endpoint: {method} {}", uri.path()) }),
        ),
    )
}
