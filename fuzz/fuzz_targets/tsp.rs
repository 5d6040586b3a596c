//! Arbitrary bytes as an RFC 3161 timestamp (a bundle's `signedTimestamp`: a TimeStampResp or
//! a bare token) and as a TSA's reply to a request. The first input byte says how many of the
//! following bytes are the signed bytes the imprint must cover; the rest is the timestamp. The
//! trusted root is the conformance suite's staging root, whose TSA signed the seed tokens, so
//! well-formed mutations reach chain and signature checks.
//!
//! Checked: nothing panics; verification is deterministic; a token extracted from a reply
//! verifies exactly as the reply does; every error displays.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use signet::core::keys::sha256;
use signet::core::trust_root::TrustedRoot;
use signet::core::tsp;

static STAGING_ROOT: LazyLock<TrustedRoot> = LazyLock::new(|| {
    TrustedRoot::from_json(include_bytes!(
        "../../../shared/conformance/bundle-verify/rekor2-timestamp-with-embedded-cert/trusted_root.json"
    ))
    .expect("staging trusted root parses")
});

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let (signed, timestamp) = rest.split_at(usize::from(n).min(rest.len()));
    let root = &*STAGING_ROOT;
    let verified = tsp::verify_timestamp(timestamp, signed, root);
    assert_eq!(verified, tsp::verify_timestamp(timestamp, signed, root));
    if let Err(e) = &verified {
        let _ = e.to_string();
    }

    let digest = sha256(signed);
    let mut nonce = [0u8; 8];
    let take = signed.len().min(8);
    nonce[..take].copy_from_slice(&signed[..take]);
    let nonce = u64::from_be_bytes(nonce);
    let request = tsp::request_der(&digest, nonce);
    assert_eq!(request.first(), Some(&0x30));
    match tsp::token_from_response(timestamp, &digest, nonce) {
        Ok(token) => {
            assert!(
                timestamp
                    .windows(token.len())
                    .any(|w| w == token.as_slice()),
                "the token is a part of the reply"
            );
            assert_eq!(tsp::verify_timestamp(&token, signed, root), verified);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
