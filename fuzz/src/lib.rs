//! Fixed context shared by the fuzz targets: the production trusted root, and one real keyless
//! signature (sigstore-conformance `happy-path-v0.3`: its artifact, bundle, Fulcio leaf, Rekor
//! entry and the identity that signed it). Fuzzed bytes are checked against this context so that
//! a mutated but well-formed input reaches the deep verification steps, not only the parsers.
//!
//! Everything here is built once, through signet's public API, and checked to verify end to end
//! before any input runs: a broken fixture panics on the first input instead of silently
//! lowering coverage.

use std::sync::LazyLock;

use der::Encode;
use signet::core::bundle::Bundle;
use signet::core::keys::{PublicKey, sha256};
use signet::core::signing;
use signet::core::time::UnixTime;
use signet::core::trust_root::{ChainCert, TrustedRoot};
use signet::core::verify::{self, Artifact, IdentityPolicy};
use signet::core::x509::{self, Leaf};

/// The production trusted root signet embeds.
pub const PRODUCTION_ROOT_JSON: &[u8] = include_bytes!("../../assets/production_trusted_root.json");
/// sigstore-conformance `a.txt`, the artifact of `happy-path-v0.3`.
pub const ARTIFACT: &[u8] = include_bytes!("../fixtures/a.txt");
/// sigstore-conformance `happy-path-v0.3/bundle.sigstore.json`.
pub const HAPPY_PATH_BUNDLE: &[u8] = include_bytes!("../fixtures/happy-path-v0.3.sigstore.json");

/// The conformance suite's default signer (a GitHub Actions workflow).
pub const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
pub const ISSUER: &str = "https://token.actions.githubusercontent.com";

pub static PRODUCTION_ROOT: LazyLock<TrustedRoot> = LazyLock::new(|| {
    TrustedRoot::from_json(PRODUCTION_ROOT_JSON).expect("production trusted root parses")
});

pub fn policy() -> IdentityPolicy {
    IdentityPolicy {
        identity: IDENTITY.into(),
        issuer: ISSUER.into(),
    }
}

/// One real signature and everything derived from it.
pub struct HappyPath {
    pub bundle: Bundle,
    pub digest: [u8; 32],
    pub leaf: Leaf,
    /// The leaf's DER SubjectPublicKeyInfo: "our" key when a Fulcio answer is checked.
    pub leaf_spki: Vec<u8>,
    /// The production Fulcio intermediate that issued the leaf.
    pub issuer: ChainCert,
    /// Rekor's integrated time for the entry, inside the leaf's validity.
    pub signed_at: UnixTime,
}

pub static HAPPY_PATH: LazyLock<HappyPath> = LazyLock::new(|| {
    let root = &*PRODUCTION_ROOT;
    let bundle = Bundle::parse(HAPPY_PATH_BUNDLE).expect("fixture bundle parses");
    let digest = sha256(ARTIFACT);
    let policy = policy();
    let verified = verify::verify_bundle(
        &bundle,
        Artifact::Sha256(&digest),
        root,
        verify::Signer::Identity(&policy),
    )
    .expect("fixture bundle verifies");
    let leaf_der = bundle.leaf_der().expect("fixture bundle is keyless");
    let leaf = Leaf::from_der(leaf_der).expect("fixture leaf parses");
    let leaf_spki = leaf
        .cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .expect("fixture SPKI encodes");
    let issuer = x509::verify_chain(&leaf, root, verified.signed_at)
        .expect("fixture leaf chains")
        .clone();
    // The same evidence passes the checks a signer makes on fresh service answers.
    signing::check_issued_certificate(&[leaf_der.to_vec()], &leaf_spki, root, verified.signed_at)
        .expect("fixture leaf passes the Fulcio answer checks");
    signing::check_log_entry(
        &bundle.tlog_entries[0],
        &digest,
        bundle.content.signature(),
        &leaf,
        root,
    )
    .expect("fixture entry passes the Rekor answer checks");
    HappyPath {
        digest,
        leaf,
        leaf_spki,
        issuer,
        signed_at: verified.signed_at,
        bundle,
    }
});

/// The production Rekor v1 log key and its C2SP key hint (first 4 bytes of its key id).
pub static REKOR_V1_KEY: LazyLock<(PublicKey, [u8; 4])> = LazyLock::new(|| {
    let log = PRODUCTION_ROOT
        .tlogs
        .iter()
        .find(|l| l.base_url == "https://rekor.sigstore.dev")
        .expect("production root lists rekor.sigstore.dev");
    let id = sha256(&log.spki_der);
    (
        log.public_key().expect("Rekor v1 key is ECDSA"),
        [id[0], id[1], id[2], id[3]],
    )
});
