//! Arbitrary bytes as the commit or tag payload git pipes to the signer: the object kind, the
//! committer/tagger email (`signet.matchCommitter`), and the predicted object id.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet::core::gitobject;

const ARMOR: &[u8] = b"-----BEGIN SIGNED MESSAGE-----\nMIIB\n\n-----END SIGNED MESSAGE-----\n";

fuzz_target!(|data: &[u8]| {
    let kind = gitobject::kind(data).map_err(|e| e.to_string());
    let _ = gitobject::signer_email(data).map_err(|e| e.to_string());
    match gitobject::predicted_id(data, ARMOR) {
        Ok(id) => {
            assert!(kind.is_ok());
            assert!(id.len() == 40 || id.len() == 64, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
