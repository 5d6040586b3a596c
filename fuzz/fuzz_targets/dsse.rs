//! Arbitrary bytes as a DSSE envelope's JSON (a bundle's `dsseEnvelope`): strict parsing (JSON,
//! then `Envelope::from_json`), the PAE of whatever parsed, and the in-toto subject check
//! against a fixed digest and against one taken from the payload. Nothing may panic; what
//! parses must respect the size limits.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet::core::dsse::{self, Envelope};

fuzz_target!(|data: &[u8]| {
    let env = match Envelope::parse(data) {
        Ok(env) => env,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert!(!env.signatures.is_empty() && env.signatures.len() <= dsse::MAX_SIGNATURES);
    assert!(env.payload.len() <= dsse::MAX_PAYLOAD_BYTES);
    assert!(env.signatures.iter().all(|s| !s.sig.is_empty()));
    let pae = dsse::pae(&env.payload_type, &env.payload);
    assert!(pae.starts_with(b"DSSEv1 ") && pae.ends_with(&env.payload));
    let _ = dsse::check_in_toto_subject(&env, &[0u8; 32]).map_err(|e| e.to_string());
    // A digest taken from the input itself, so the matching path is reached too.
    let mut digest = [0u8; 32];
    for (d, b) in digest.iter_mut().zip(env.payload.iter().rev()) {
        *d = *b;
    }
    let _ = dsse::check_in_toto_subject(&env, &digest).map_err(|e| e.to_string());
});
