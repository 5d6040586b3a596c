//! Arbitrary bytes as the answer to Fulcio `POST /api/v2/signingCert`, through the functions the
//! signing flow uses: `parse_signing_cert_response` (JSON + PEM chain), then
//! `check_issued_certificate` (our key, chain to the production root at a fixed time, SCT).

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet::core::{fulcio, signing};
use signet_fuzz::{HAPPY_PATH, PRODUCTION_ROOT};

fuzz_target!(|data: &[u8]| {
    let chain = match fulcio::parse_signing_cert_response(data) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert!(!chain.is_empty() && chain.iter().all(|c| !c.is_empty()));
    let hp = &*HAPPY_PATH;
    match signing::check_issued_certificate(&chain, &hp.leaf_spki, &PRODUCTION_ROOT, hp.signed_at) {
        Ok(leaf) => assert_eq!(Some(&leaf.der[..]), hp.bundle.leaf_der()),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
