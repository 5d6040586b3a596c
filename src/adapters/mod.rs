//! Real I/O behind the flow ports: one HTTP client, the Fulcio and Rekor clients, the system
//! clock, file helpers (bounded reads, atomic writes), the git repository reader, and the
//! credential stores (the signet agent, the Linux kernel keyring).

pub mod agent;
pub mod clock;
pub mod fs;
pub mod fulcio;
pub mod gitconfig;
pub mod http;
#[cfg(target_os = "linux")]
pub mod keyring;
pub mod loopback;
pub mod notes;
pub mod oidc;
pub mod rekor;
pub mod repo;
pub mod tsa;
