//! Arbitrary bytes as an OIDC identity token: construction (trimming, size limit), unverified
//! JWT claims decoding, the proof-of-possession subject and the expiry check. The token text
//! must never show up in `Debug` output or in an error message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet::core::time::UnixTime;
use signet::core::token::IdentityToken;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = IdentityToken::new(String::from_utf8_lossy(data).into_owned()) else {
        return;
    };
    assert_eq!(format!("{token:?}"), "IdentityToken(<redacted>)");
    // Only JWT-shaped tokens are checked for leaks: a dotless token can coincide with the fixed
    // text of an error message (the fuzzer found "identity token is not a JWT (expected three
    // base64url parts sepa" in minutes), while no message template contains two dots and the
    // decoded payload a serde error may quote is shorter than the token.
    let secret = token.expose();
    let leaks = |msg: &str| secret.matches('.').count() >= 2 && msg.contains(secret);
    match token.claims() {
        Ok(claims) => {
            let _ = format!("{claims:?}");
            if let Err(e) = claims.challenge_subject() {
                assert!(!leaks(&e.to_string()));
            }
            for now in [
                UnixTime(i64::MIN),
                UnixTime(1_700_000_000),
                UnixTime(i64::MAX),
            ] {
                if let Err(e) = claims.check_not_expired(now) {
                    assert!(!leaks(&e.to_string()));
                }
            }
        }
        Err(e) => assert!(!leaks(&e.to_string())),
    }
});
