//! The pure core: bytes and explicit times in, typed values out. No files, network, environment,
//! clock or stdout here; everything that touches the world lives in `flow`, `adapters`, `cli`.

pub mod agent_proto;
pub mod asn1;
pub mod bundle;
pub mod checkpoint;
pub mod cms;
#[cfg(test)]
mod conformance_tests;
pub mod credential;
pub mod dsse;
pub mod fulcio;
pub mod gitobject;
pub mod gitsig;
pub mod gpg;
pub mod keys;
pub mod merkle;
pub mod policy;
pub mod policy_file;
pub mod rekor;
pub mod sct;
pub mod signed_object;
pub mod signing;
pub mod signing_config;
pub mod stored;
#[cfg(test)]
pub(crate) mod testworld;
pub mod time;
pub mod tle;
pub mod token;
pub mod trust_root;
pub mod tsp;
pub mod verify;
pub mod x509;
