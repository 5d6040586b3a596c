//! Arbitrary bytes as a credential-agent frame: the header check, then the same bytes as a
//! request payload (what the agent reads from a client) and as a response payload (what the
//! client reads from the agent). Decoding is strict, so whatever decodes must re-encode to the
//! same payload.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet::core::agent_proto::{
    decode_request, decode_response, encode_request, encode_response, frame_len,
};

fuzz_target!(|data: &[u8]| {
    if let Some(header) = data.first_chunk::<4>() {
        let _ = frame_len(*header).map_err(|e| e.to_string());
    }
    match decode_request(data) {
        Ok(request) => {
            let _ = format!("{request:?}");
            assert_eq!(&encode_request(&request)[4..], data);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    match decode_response(data) {
        Ok(response) => {
            let _ = format!("{response:?}");
            assert_eq!(&encode_response(&response)[4..], data);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
