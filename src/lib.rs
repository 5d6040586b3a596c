//! signet: keyless Git commit and tag signing with Sigstore.
//!
//! Three layers, each depending only on the ones before it:
//!
//! 1. [`core`] is pure: bytes and explicit times in, typed values out (trust root, X.509 and
//!    Fulcio extensions, SCTs, Rekor entries, Merkle proofs, checkpoints, bundles, the
//!    verification pipeline). No files, network, environment, clock or stdout.
//! 2. [`flow`] orchestrates signing and verification through small traits (ports):
//!    `CertIssuer` (Fulcio), `TransparencyLog` (Rekor), `Clock`. Testable with in-memory fakes.
//! 3. [`adapters`] do the real I/O (one HTTP client, Fulcio/Rekor clients, the system clock,
//!    files) and [`cli`] parses arguments, maps errors to exit codes and owns stdout/stderr.

pub mod adapters;
pub mod cli;
pub mod core;
pub mod flow;
