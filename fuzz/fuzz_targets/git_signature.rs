//! Arbitrary bytes as the armored signature of a git commit (what git writes to SIGFILE), over a
//! fixed payload: `gitsig::check_signature` (armor, strict CMS, algorithms, certificate, content
//! binding, ECDSA) and `gitsig::facts` (what `signet show` reads). The payload is the real
//! gitsign offline-mode commit `dc68e8ce` (fuzz/fixtures/), so mutations of its signature (a
//! seed) pass the content and signature checks and go on through `verify_embedded` against the
//! production root: embedded entry, SET, proof, chain, SCT. Only the real signer may verify.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use signet::core::gitobject::ObjectKind;
use signet::core::gitsig;
use signet::core::keys::sha256;
use signet::core::signed_object::{self, SignedObject};
use signet_fuzz::PRODUCTION_ROOT;

const COMMIT: &[u8] = include_bytes!("../fixtures/gitsign-dc68e8ce.commit");

static FIXTURE: LazyLock<SignedObject> = LazyLock::new(|| {
    let s = signed_object::split(ObjectKind::Commit, COMMIT).expect("fixture commit splits");
    let checked = gitsig::check_signature(&s.signature, &s.payload).expect("fixture checks");
    gitsig::verify_embedded(&checked, &PRODUCTION_ROOT).expect("fixture verifies");
    s
});

fuzz_target!(|data: &[u8]| {
    let payload = &FIXTURE.payload;
    let facts = gitsig::facts(data).map_err(|e| e.to_string());
    let checked = match gitsig::check_signature(data, payload) {
        Ok(c) => c,
        Err(e) => {
            let _ = (e.to_string(), e.kind(), e.severity());
            return;
        }
    };
    if let Ok(f) = &facts {
        assert_eq!(f.identity.as_deref(), Some(checked.leaf.identity.as_str()));
        assert_eq!(f.fingerprint.as_deref(), Some(checked.fingerprint.as_str()));
        assert_eq!(f.message_digest, hex(&sha256(payload)));
    }
    match gitsig::verify_embedded(&checked, &PRODUCTION_ROOT) {
        Ok(v) => {
            assert_eq!(v.identity, "billy@chainguard.dev");
            assert!(v.not_before <= v.integrated_time && v.integrated_time <= v.not_after);
        }
        Err(e) => {
            let _ = (e.to_string(), e.kind(), e.severity());
        }
    }
});

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
