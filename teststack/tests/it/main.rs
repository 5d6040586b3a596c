//! Integration tests of signet-teststack: the real binary, real HTTP, independent clients.

mod bad_input;
mod flows;
mod harness;
mod interop;
mod restart;
