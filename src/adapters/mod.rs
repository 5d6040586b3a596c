//! Real I/O behind the flow ports: one HTTP client, the Fulcio and Rekor clients, the system
//! clock, and file helpers (bounded reads, atomic writes).

pub mod agent;
pub mod clock;
pub mod fs;
pub mod fulcio;
pub mod gitconfig;
pub mod http;
pub mod loopback;
pub mod oidc;
pub mod rekor;
pub mod repo;
