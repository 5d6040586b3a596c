//! Arbitrary bytes as the protobuf TransparencyLogEntry gitsign embeds in offline-mode
//! signatures. On success, re-encoding and decoding again gives the same entry, less the
//! canonicalized body, which the encoder leaves out by design (gitsign embeds the entry
//! without it; verification rebuilds the body from the signature).

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet::core::tle;

fuzz_target!(|data: &[u8]| {
    match tle::decode(data) {
        Ok(entry) => {
            let again = tle::decode(&tle::encode(&entry)).expect("own encoding decodes");
            let expected = signet::core::rekor::TlogEntry {
                body: Vec::new(),
                ..entry
            };
            assert_eq!(again, expected);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
