//! Arbitrary bytes as a Sigstore bundle: strict parsing, then (when it parses) the whole offline
//! verification pipeline against the production trusted root, for a fixed artifact digest and
//! identity policy. Every outcome must be `Ok` or an error; errors must also display.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet::core::bundle::Bundle;
use signet::core::verify::{self, Artifact};
use signet_fuzz::{HAPPY_PATH, IDENTITY, ISSUER, PRODUCTION_ROOT, policy};

fuzz_target!(|data: &[u8]| {
    let bundle = match Bundle::parse(data) {
        Ok(b) => b,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let digest = &HAPPY_PATH.digest;
    let policy = policy();
    match verify::verify_bundle(
        &bundle,
        Artifact::Sha256(digest),
        &PRODUCTION_ROOT,
        verify::Signer::Identity(&policy),
    ) {
        // Success means the policy's signer, as the certificate states it.
        Ok(v) => assert_eq!((v.identity.as_str(), v.issuer.as_str()), (IDENTITY, ISSUER)),
        Err(e) => {
            let _ = e.to_string();
        }
    }
    // The managed-key path, with the happy-path leaf's key as the trusted key.
    match verify::verify_bundle(
        &bundle,
        Artifact::Sha256(digest),
        &PRODUCTION_ROOT,
        verify::Signer::Key(&HAPPY_PATH.leaf_spki),
    ) {
        Ok(v) => assert!(v.identity.starts_with("public key sha256:") && v.issuer.is_empty()),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
