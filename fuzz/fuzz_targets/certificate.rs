//! Arbitrary DER as a Fulcio signing certificate: identity (SAN) and OIDC issuer extraction,
//! the leaf profile and validity, path validation to the production trusted root, and the
//! embedded SCT list (parsing, precertificate TBS reconstruction, signature check). The same
//! bytes also go to the raw SCT-list parser and the self-signed check.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet::core::time::UnixTime;
use signet::core::verify;
use signet::core::x509::{self, Leaf};
use signet::core::{asn1, sct};
use signet_fuzz::{HAPPY_PATH, PRODUCTION_ROOT, policy};

fuzz_target!(|data: &[u8]| {
    let _ = sct::parse_sct_list(data).map_err(|e| e.to_string());
    let _ = x509::is_self_signed(data);
    let _ = asn1::raw_tbs(data);
    let leaf = match Leaf::from_der(data) {
        Ok(l) => l,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let root = &*PRODUCTION_ROOT;
    let _ = leaf.check_profile().map_err(|e| e.to_string());
    let _ = verify::check_identity(&leaf, &policy()).map_err(|e| e.to_string());
    for at in [
        leaf.not_before,
        leaf.not_after,
        UnixTime(i64::MIN),
        UnixTime(i64::MAX),
    ] {
        let _ = leaf.check_valid_at(at).map_err(|e| e.to_string());
    }
    match x509::verify_chain(&leaf, root, leaf.not_before) {
        Ok(issuer) => {
            let _ = sct::verify_embedded_sct(&leaf, issuer, root).map_err(|e| e.to_string());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    // SCT handling does not depend on the chain verifying: check against the real issuer too.
    let _ = sct::precert_inputs(&leaf, &HAPPY_PATH.issuer);
    let _ = sct::verify_embedded_sct(&leaf, &HAPPY_PATH.issuer, root).map_err(|e| e.to_string());
});
