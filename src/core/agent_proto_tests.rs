#![allow(clippy::unwrap_used)]

use super::*;

fn requests() -> Vec<Request> {
    vec![
        Request::Get {
            scope_key: "v1-abc".into(),
        },
        Request::Get {
            scope_key: String::new(),
        },
        Request::Put {
            credential: Zeroizing::new(vec![1, 2, 3, 0, 255]),
        },
        Request::Put {
            credential: Zeroizing::new(vec![]),
        },
        Request::Delete {
            scope_key: "v1-ünï".into(),
        },
        Request::List,
    ]
}

fn responses() -> Vec<Response> {
    vec![
        Response::Credential(Zeroizing::new(vec![9; 300])),
        Response::NotFound,
        Response::Stored,
        Response::Deleted { found: true },
        Response::Deleted { found: false },
        Response::Entries(vec![]),
        Response::Entries(vec![
            EntrySummary {
                scope_key: "v1-a".into(),
                identity: "alice@example.com".into(),
                issuer: Some("https://issuer.example.com".into()),
                not_after: UnixTime(1_704_067_800),
            },
            EntrySummary {
                scope_key: "v1-b".into(),
                identity: "https://github.com/o/r/.github/workflows/x.yml@refs/heads/main".into(),
                issuer: None,
                not_after: UnixTime(-5),
            },
        ]),
        Response::Error("credential expired".into()),
    ]
}

/// Split a frame into its validated header length and payload.
fn payload(frame: &[u8]) -> &[u8] {
    let len = frame_len(frame[..4].try_into().unwrap()).unwrap();
    assert_eq!(len, frame.len() - 4);
    &frame[4..]
}

#[test]
fn agent_proto_round_trips_every_variant() {
    for r in requests() {
        let frame = encode_request(&r);
        assert_eq!(frame[4], PROTOCOL_VERSION);
        assert_eq!(decode_request(payload(&frame)).unwrap(), r);
    }
    for r in responses() {
        let frame = encode_response(&r);
        assert_eq!(frame[4], PROTOCOL_VERSION);
        assert_eq!(decode_response(payload(&frame)).unwrap(), r);
    }
}

#[test]
fn agent_proto_every_truncation_refused() {
    for r in requests() {
        let frame = encode_request(&r);
        let p = payload(&frame);
        for n in 0..p.len() {
            assert!(decode_request(&p[..n]).is_err(), "{r:?} cut at {n}");
        }
    }
    for r in responses() {
        let frame = encode_response(&r);
        let p = payload(&frame);
        for n in 0..p.len() {
            assert!(decode_response(&p[..n]).is_err(), "{r:?} cut at {n}");
        }
    }
}

#[test]
fn agent_proto_trailing_bytes_refused() {
    for r in requests() {
        let mut p = payload(&encode_request(&r)).to_vec();
        p.push(0);
        assert_eq!(
            decode_request(&p).unwrap_err(),
            ProtoError::TrailingBytes(1)
        );
    }
    for r in responses() {
        let mut p = payload(&encode_response(&r)).to_vec();
        p.push(0);
        assert_eq!(
            decode_response(&p).unwrap_err(),
            ProtoError::TrailingBytes(1)
        );
    }
}

#[test]
fn agent_proto_unknown_version_and_op_refused() {
    let list = payload(&encode_request(&Request::List)).to_vec();
    for v in [0u8, 2, 255] {
        let mut p = list.clone();
        p[0] = v;
        assert_eq!(
            decode_request(&p).unwrap_err(),
            ProtoError::UnsupportedVersion {
                found: v,
                supported: 1
            }
        );
        assert_eq!(
            decode_response(&p).unwrap_err(),
            ProtoError::UnsupportedVersion {
                found: v,
                supported: 1
            }
        );
    }
    for op in [0x00u8, 0x05, 0x81, 0xff] {
        assert_eq!(
            decode_request(&[1, op]).unwrap_err(),
            ProtoError::UnknownOp {
                kind: "request",
                op
            }
        );
    }
    for op in [0x00u8, 0x01, 0x04, 0x80, 0x87, 0xff] {
        assert_eq!(
            decode_response(&[1, op]).unwrap_err(),
            ProtoError::UnknownOp {
                kind: "response",
                op
            }
        );
    }
    // Requests are not responses and vice versa.
    let stored = payload(&encode_response(&Response::Stored)).to_vec();
    assert!(decode_request(&stored).is_err());
    assert!(decode_response(&list).is_err());
}

#[test]
fn agent_proto_bad_fields_refused() {
    assert_eq!(
        decode_response(&[1, 0x84, 2]).unwrap_err(),
        ProtoError::BadFlag {
            what: "found",
            value: 2
        }
    );
    assert_eq!(
        decode_request(&[1, 0x01, 0, 0, 0, 2, 0xc3, 0x28]).unwrap_err(),
        ProtoError::NotUtf8("scope key")
    );
    // A length prefix or entry count larger than the payload.
    assert_eq!(
        decode_request(&[1, 0x02, 0xff, 0xff, 0xff, 0xff, 1]).unwrap_err(),
        ProtoError::Truncated("credential")
    );
    assert_eq!(
        decode_response(&[1, 0x85, 0xff, 0xff, 0xff, 0xff]).unwrap_err(),
        ProtoError::Truncated("entry scope key")
    );
}

#[test]
fn agent_proto_frame_len_limits() {
    assert_eq!(frame_len([0, 0, 0, 0]).unwrap_err(), ProtoError::Empty);
    assert_eq!(frame_len([0, 0, 0, 1]).unwrap(), 1);
    assert_eq!(frame_len(65_536u32.to_be_bytes()).unwrap(), MAX_FRAME_BYTES);
    assert_eq!(
        frame_len(65_537u32.to_be_bytes()).unwrap_err(),
        ProtoError::TooLarge {
            len: 65_537,
            max: MAX_FRAME_BYTES
        }
    );
    assert!(matches!(
        frame_len([0xff; 4]),
        Err(ProtoError::TooLarge { .. })
    ));
    assert_eq!(decode_request(&[]).unwrap_err(), ProtoError::Empty);
    assert_eq!(decode_response(&[]).unwrap_err(), ProtoError::Empty);
    let mut big = vec![1u8, 0x86];
    big.resize(MAX_FRAME_BYTES + 1, b'a');
    assert!(matches!(
        decode_response(&big),
        Err(ProtoError::TooLarge { .. })
    ));
    assert!(matches!(
        decode_request(&big),
        Err(ProtoError::TooLarge { .. })
    ));
}

#[test]
fn agent_proto_debug_redacts_credentials() {
    let secret = vec![0xde, 0xad, 0xbe, 0xef];
    let req = format!(
        "{:?}",
        Request::Put {
            credential: Zeroizing::new(secret.clone())
        }
    );
    let resp = format!("{:?}", Response::Credential(Zeroizing::new(secret)));
    for s in [req, resp] {
        assert!(s.contains("redacted"), "{s}");
        assert!(!s.contains("222") && !s.contains("173"), "{s}");
    }
}
