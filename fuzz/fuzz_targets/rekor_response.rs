//! Arbitrary bytes as the answer to Rekor v1 `POST /api/v1/log/entries`, through the functions
//! the signing flow uses: `parse_rekor_response`, then `check_log_entry` for one real signature
//! (body must match, SET, inclusion proof, checkpoint, time inside the leaf's validity).

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet::core::signing;
use signet_fuzz::{HAPPY_PATH, PRODUCTION_ROOT};

fuzz_target!(|data: &[u8]| {
    let entry = match signing::parse_rekor_response(data) {
        Ok(e) => e,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let hp = &*HAPPY_PATH;
    match signing::check_log_entry(
        &entry,
        &hp.digest,
        hp.bundle.content.signature(),
        &hp.leaf,
        &PRODUCTION_ROOT,
    ) {
        // Only the real entry for this signature can pass.
        Ok(v) => assert_eq!(v.integrated_time, hp.signed_at),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
