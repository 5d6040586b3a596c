//! Arbitrary text as a C2SP signed note (a Rekor checkpoint): parsing, then signature
//! verification with the production Rekor v1 key (by its key hint, and by the hint of the first
//! signature line so that mismatched lines reach ECDSA), then the tree-head comparison.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet::core::checkpoint::Checkpoint;
use signet_fuzz::REKOR_V1_KEY;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let cp = match Checkpoint::parse(text) {
        Ok(cp) => cp,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    // The signed text is a prefix of the note and ends with a newline.
    assert!(text.starts_with(&cp.text) && cp.text.ends_with('\n'));
    assert!(!cp.signatures.is_empty());
    let (key, hint) = &*REKOR_V1_KEY;
    let _ = cp.verify_signature(key, *hint).map_err(|e| e.to_string());
    let _ = cp
        .verify_signature(key, cp.signatures[0].key_hint)
        .map_err(|e| e.to_string());
    // A checkpoint always matches its own tree head, and never a different one.
    cp.check_matches(cp.size, &cp.root_hash).unwrap();
    let mut other = cp.root_hash;
    other[0] ^= 1;
    assert!(cp.check_matches(cp.size, &other).is_err());
    assert!(
        cp.check_matches(cp.size.wrapping_add(1), &cp.root_hash)
            .is_err()
    );
});
