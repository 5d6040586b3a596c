//! Orchestration of signing and verification over small traits (ports) that the adapters
//! implement: `CertIssuer` (Fulcio), `TransparencyLog` (Rekor), `Clock`. No I/O of its own
//! besides key generation, so every flow runs against in-memory fakes in tests.

pub mod sign;
pub mod sign_commit;
pub mod verify;
pub mod verify_commit;

use crate::core::rekor::{HashedRekord, TlogEntry};
use crate::core::time::UnixTime;
use crate::core::token::IdentityToken;

/// A failure talking to a service, with the facts needed to explain it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("cannot reach {service} at {url}: {detail}")]
    Transport {
        service: &'static str,
        url: String,
        detail: String,
    },
    #[error("{service} answered HTTP {status}: {message}")]
    Server {
        service: &'static str,
        status: u16,
        message: String,
    },
    #[error("{service} sent an unusable response: {detail}")]
    Protocol {
        service: &'static str,
        detail: String,
    },
}

/// Issues short-lived signing certificates (Fulcio).
pub trait CertIssuer {
    /// Request a certificate for `public_key_pem`; returns the chain as DER, leaf first.
    fn issue(
        &self,
        token: &IdentityToken,
        public_key_pem: &str,
        proof_of_possession: &[u8],
    ) -> impl Future<Output = Result<Vec<Vec<u8>>, PortError>>;
}

/// Records signatures in a transparency log (Rekor v1).
pub trait TransparencyLog {
    /// Submit a hashedrekord entry; returns the log's entry with its evidence, unverified.
    fn submit(&self, entry: &HashedRekord) -> impl Future<Output = Result<TlogEntry, PortError>>;
}

/// Finds log entries for a certificate (Rekor v1 search index). Used only for gitsign online-mode
/// signatures, which embed no entry.
pub trait LogSearch {
    /// Every entry the log's index lists for this leaf certificate (PEM), fetched and checked to
    /// be named by its UUID (the body's RFC 6962 leaf hash). Not otherwise verified: the caller
    /// filters and verifies.
    fn entries_for_certificate(
        &self,
        cert_pem: &str,
    ) -> impl Future<Output = Result<Vec<TlogEntry>, PortError>>;
}

/// The current time, for the few checks that are about "now" (a fresh certificate).
/// An RFC 3161 timestamp authority.
pub trait TimestampAuthority {
    /// A DER time-stamp token over `signature` (its SHA-256 is the message imprint), checked to
    /// answer this request (imprint, nonce); trust in it is the verifier's job.
    fn timestamp(&self, signature: &[u8]) -> impl Future<Output = Result<Vec<u8>, PortError>>;
}

pub trait Clock {
    fn now(&self) -> UnixTime;
}
