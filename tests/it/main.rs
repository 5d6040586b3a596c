//! signet's integration tests: one binary, a module per purpose (STYLE.md).
//!
//! Servers run in-process ([`harness::Stack`] starts `signet-teststack` on 127.0.0.1:0 and stops
//! it on drop); the `signet` binary runs as a child with a hermetic environment.

mod bundle_export;
mod cache;
mod config;
mod conformance;
mod faults;
mod git_e2e;
mod gpg_compat;
mod harness;
mod hook;
mod interop;
mod login;
mod notes;
mod tsa;
mod vectors;
mod verify;
mod verify_gpg;
