//! Integration tests of signet-teststack: the real binary, real HTTP, independent clients.

mod bad_input;
mod cert_lifetime;
mod flows;
mod harness;
mod interop;
mod login_counts;
mod restart;
mod tsa;
