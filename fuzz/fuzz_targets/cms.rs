//! Arbitrary bytes as a git x509 signature: the armor (when the input looks armored) and the
//! strict detached-CMS parser. On success: the armor round-trips, the signed attributes are the
//! SET the signature covers, and an embedded Rekor entry, if any, goes through its decoder.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet::core::{cms, tle};

fuzz_target!(|data: &[u8]| {
    let der = if data.starts_with(b"-----BEGIN") {
        match cms::dearmor(data) {
            Ok(der) => der,
            Err(e) => {
                let _ = e.to_string();
                return;
            }
        }
    } else {
        data.to_vec()
    };
    let parsed = match cms::parse(&der) {
        Ok(p) => p,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let armored = cms::armor(&der).expect("armor of parsed DER");
    assert_eq!(cms::dearmor(armored.as_bytes()).expect("own armor"), der);
    assert_eq!(
        parsed.signed_attrs.first(),
        Some(&0x31),
        "signed attributes are a SET"
    );
    let _ = parsed.signer_certificate();
    if let Some(attr) = parsed.unsigned(tle::OID_REKOR_TLE) {
        if let Ok(value) = attr.single_value() {
            let _ = signet::core::asn1::read_tlv(value).map(|(tlv, _)| tle::decode(tlv.content));
        }
    }
});
