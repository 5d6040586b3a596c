//! Arbitrary bytes as a stored commit and as a stored tag: `signed_object::split`, the byte-exact
//! split into the payload git verifies and the armored signature. On success: the parts are no
//! larger than the object, a commit signature starts with an armor line, a commit payload has no
//! signature header left (splitting it again says "not signed"), and the split is deterministic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet::core::gitobject::ObjectKind;
use signet::core::signed_object::{self, SplitError};

fuzz_target!(|data: &[u8]| {
    for kind in [ObjectKind::Commit, ObjectKind::Tag] {
        let split = signed_object::split(kind, data);
        assert_eq!(split, signed_object::split(kind, data), "deterministic");
        let s = match split {
            Ok(s) => s,
            Err(e) => {
                let _ = e.to_string();
                continue;
            }
        };
        assert_eq!(s.kind, kind);
        assert!(!s.signature.is_empty());
        assert!(s.payload.len() + s.signature.len() <= data.len());
        if kind == ObjectKind::Commit {
            assert!(s.signature.starts_with(b"-----BEGIN "));
            assert!(
                matches!(
                    signed_object::split(kind, &s.payload),
                    Err(SplitError::NotSigned { .. })
                ),
                "a commit payload still carries a signature header"
            );
        } else {
            assert!(
                data.ends_with(&s.signature),
                "a tag signature is the object's tail"
            );
        }
    }
});
