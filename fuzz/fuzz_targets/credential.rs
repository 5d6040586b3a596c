//! Arbitrary bytes as an encoded cached credential (what the agent receives in a Put and the
//! client in a Get answer): size limit, version, length-prefixed fields, then the leaf parse and
//! the key/certificate match. Whatever decodes must re-encode to the same bytes, and neither
//! `Debug` nor an error message may show the private key.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet::core::credential::Credential;
use signet::core::time::UnixTime;

fuzz_target!(|data: &[u8]| {
    let credential = match Credential::decode(data) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert_eq!(&**credential.encode(), data);
    let key_hex: String = credential
        .key_pkcs8
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let debug = format!("{credential:?}");
    assert!(!debug.contains(&key_hex));
    assert!(credential.signing_key().is_ok());
    for now in [UnixTime(i64::MIN), credential.not_after, UnixTime(i64::MAX)] {
        let _ = credential.usable_at(now, 30);
        let _ = credential.usable_at(now, i64::MAX);
    }
});
