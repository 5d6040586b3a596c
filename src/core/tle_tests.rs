//! Tests for `tle`: round trips, gitsign's embedded entries byte for byte, strict decoding.

use super::*;
use crate::core::cms;
use crate::core::cms::tests::{fixture, split_commit};
use crate::core::testworld::{T0, World};

fn embedded(name: &str) -> Vec<u8> {
    let (_, armored) = split_commit(&fixture(name));
    let p = cms::parse(&cms::dearmor(&armored).unwrap()).unwrap();
    let attr = p.unsigned(OID_REKOR_TLE).unwrap();
    let value = attr.single_value().unwrap();
    let (tlv, rest) = crate::core::asn1::read_tlv(value).unwrap();
    assert!(rest.is_empty());
    assert_eq!(tlv.tag, 0x04, "the entry is an OCTET STRING");
    tlv.content.to_vec()
}

#[test]
fn gitsign_entries_decode_and_re_encode_byte_for_byte() {
    for (name, index) in [
        (
            "dc68e8ce155fe12ab8fd7c55de6ef336ce716ee8.commit",
            2_345_438_208_i64,
        ),
        ("529ee14c05ac4640c599d6b34298b940d8a977f3.commit", 0),
    ] {
        let bytes = embedded(name);
        let e = decode(&bytes).unwrap();
        if index != 0 {
            assert_eq!(e.log_index, index, "{name}");
        }
        assert!(e.log_index > 0, "{name}");
        assert_eq!(e.kind, "hashedrekord");
        assert_eq!(e.version, "0.0.1");
        assert_eq!(e.log_id.len(), 32);
        assert!(e.integrated_time > 1_600_000_000);
        assert!(
            e.signed_entry_timestamp
                .as_ref()
                .is_some_and(|s| !s.is_empty())
        );
        assert!(e.body.is_empty(), "gitsign removes the body");
        let p = e.inclusion_proof.as_ref().unwrap();
        assert_eq!(p.root_hash.len(), 32);
        assert!(p.hashes.iter().all(|h| h.len() == 32));
        assert!(
            p.checkpoint
                .as_ref()
                .unwrap()
                .contains("rekor.sigstore.dev")
        );
        assert_eq!(encode(&e), bytes, "{name}: our encoding is gitsign's");
    }
}

#[test]
fn round_trip_of_a_fresh_entry() {
    let w = World::new();
    let s = w.sign(b"artifact", T0 + 30, None);
    let bytes = encode(&s.entry);
    let mut back = decode(&bytes).unwrap();
    assert!(back.body.is_empty());
    back.body = s.entry.body.clone();
    assert_eq!(back, s.entry);
    // A body, when present, is field 7 and comes back.
    let mut with_body = bytes.clone();
    with_body.extend([0x3a, 2, b'{', b'}']);
    assert_eq!(decode(&with_body).unwrap().body, b"{}");
    // Unknown fields are skipped.
    let mut unknown = bytes.clone();
    unknown.extend([0x78, 5]);
    assert_eq!(decode(&unknown).unwrap().log_index, s.entry.log_index);
}

#[test]
fn strict_decoding() {
    let w = World::new();
    let good = encode(&w.sign(b"artifact", T0 + 30, None).entry);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() - 1].to_vec()),
        ("repeated log index", [vec![0x08, 1], good.clone()].concat()),
        ("log index as bytes", [good.clone(), vec![0x0a, 0]].concat()),
        ("fixed64 wire type", [good.clone(), vec![0x09; 9]].concat()),
        ("field 0", [good.clone(), vec![0x00, 0]].concat()),
        (
            "overlong varint",
            [good.clone(), vec![0x08], vec![0xff; 10], vec![1]].concat(),
        ),
        ("length past end", [good.clone(), vec![0x3a, 0x7f]].concat()),
        ("no log id", vec![0x08, 1, 0x1a, 0]),
        ("empty", vec![]),
    ];
    for (what, bytes) in cases {
        assert!(decode(&bytes).is_err(), "{what}");
    }
    assert!(matches!(
        decode(&vec![0; MAX_TLE_BYTES + 1]),
        Err(TleError::TooLarge { .. })
    ));
    // Too many proof hashes.
    let mut proof = Vec::new();
    for _ in 0..=MAX_PROOF_HASHES {
        proof.extend([0x22, 1, 0]);
    }
    let mut e = vec![0x12, 3, 0x0a, 1, 1, 0x1a, 0];
    e.push(0x32);
    put_varint(&mut e, proof.len() as u64);
    e.extend(proof);
    assert!(matches!(decode(&e), Err(TleError::Malformed(_))));
}
