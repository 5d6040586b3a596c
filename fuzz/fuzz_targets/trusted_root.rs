//! Arbitrary bytes as a trusted root (`trusted_root.json`). When it parses, its keys are decoded,
//! its validity intervals are queried and displayed, and it is used as the trust root for one
//! real bundle, so that odd CA chains and log keys reach chain, SCT and log verification.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet::core::time::UnixTime;
use signet::core::trust_root::TrustedRoot;
use signet::core::verify::{self, Artifact};
use signet::core::x509;
use signet_fuzz::{HAPPY_PATH, policy};

fuzz_target!(|data: &[u8]| {
    let root = match TrustedRoot::from_json(data) {
        Ok(r) => r,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let probes = [
        UnixTime(i64::MIN),
        UnixTime(0),
        HAPPY_PATH.signed_at,
        UnixTime(i64::MAX),
    ];
    for log in root.tlogs.iter().chain(&root.ctlogs) {
        let _ = log.public_key().map_err(|e| e.to_string());
        let _ = log.valid_for.to_string();
        for t in probes {
            let _ = log.valid_for.contains(t);
        }
    }
    for ca in root
        .certificate_authorities
        .iter()
        .chain(&root.timestamp_authorities)
    {
        assert!(!ca.chain.is_empty());
        let _ = ca.valid_for.to_string();
        for t in probes {
            let _ = ca.valid_for.contains(t);
        }
        for c in &ca.chain {
            let _ = x509::is_self_signed(&c.der);
        }
    }
    let digest = &HAPPY_PATH.digest;
    let policy = policy();
    if let Err(e) = verify::verify_bundle(
        &HAPPY_PATH.bundle,
        Artifact::Sha256(digest),
        &root,
        verify::Signer::Identity(&policy),
    ) {
        let _ = e.to_string();
    }
});
