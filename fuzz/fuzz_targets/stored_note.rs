//! Arbitrary bytes as the git note stored for a real gitsign online-mode commit (the public-good
//! fixture `7dc71a2a...`, whose signature embeds no log entry): parsed as a Sigstore bundle and
//! checked against that signature, its object id and the production trusted root. No input can
//! verify (the fixture's log entry is not among the inputs), so every outcome must be an error
//! that displays, never a panic and never a pass.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use signet::core::gitobject::{self, ObjectKind};
use signet::core::gitsig::{self, CheckedSignature};
use signet::core::signed_object;
use signet::core::stored;
use signet_fuzz::PRODUCTION_ROOT;

const COMMIT: &[u8] = include_bytes!("../fixtures/gitsign-online.commit");

static SIGNATURE: LazyLock<(CheckedSignature, String)> = LazyLock::new(|| {
    let split = signed_object::split(ObjectKind::Commit, COMMIT).expect("fixture splits");
    let checked =
        gitsig::check_signature(&split.signature, &split.payload).expect("fixture signature");
    let id = gitobject::predicted_id(&split.payload, &split.signature).expect("fixture id");
    assert_eq!(id, "7dc71a2a12805f63b2a209a39e4f422e00670f61");
    (checked, id)
});

fuzz_target!(|data: &[u8]| {
    let (checked, id) = &*SIGNATURE;
    match stored::verify(checked, data, id, &PRODUCTION_ROOT) {
        Ok(v) => panic!("a fuzzed note verified: {v:?}"),
        Err(e) => {
            let _ = (e.to_string(), e.kind(), e.severity());
        }
    }
});
