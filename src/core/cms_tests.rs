//! Tests for `cms`: our own signatures both ways, real gitsign signatures from git objects, and
//! malformed input.

use der::Decode;

use super::*;
use crate::core::gitobject;
use crate::core::keys::test_keys::{p256_key, sign_der, spki_der};
use crate::core::keys::{HashAlg, PublicKey, sha256};
use crate::core::testworld::{T0, World};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/gitsign");

/// Split a signed commit into (payload, armored signature) the way git does.
pub(crate) fn split_commit(object: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let s = crate::core::signed_object::split(gitobject::ObjectKind::Commit, object).unwrap();
    (s.payload, s.signature)
}

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

pub(crate) fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".commit"))
        .collect();
    names.sort();
    names
}

#[test]
fn gitsign_fixtures_parse_and_their_signatures_verify() {
    let names = fixture_names();
    assert_eq!(names.len(), 4, "fixtures: {names:?}");
    let mut with_tle = 0;
    for name in names {
        let (payload, armored) = split_commit(&fixture(&name));
        // The object id is the file name: our placement of the signature is git's.
        let id = gitobject::predicted_id(&payload, &armored).unwrap();
        assert_eq!(format!("{id}.commit"), name);
        let der = dearmor(&armored).unwrap();
        let p = parse(&der).unwrap();
        assert_eq!(p.digest_algorithm, OID_SHA256, "{name}");
        assert_eq!(p.signature_algorithm, OID_ECDSA_SHA256, "{name}");
        assert_eq!(p.message_digest, sha256(&payload), "{name}");
        assert!(p.signing_time.is_some(), "{name}");
        assert!(!p.certificates.is_empty(), "{name}");
        assert_eq!(p.signed_attrs[0], 0x31);
        // The leaf's key verifies the signature over the signed attributes as received.
        let signer = x509_cert::Certificate::from_der(p.signer_certificate().unwrap()).unwrap();
        let spki = der::Encode::to_der(signer.tbs_certificate().subject_public_key_info()).unwrap();
        PublicKey::from_spki_der(&spki)
            .unwrap()
            .verify(HashAlg::Sha256, &p.signed_attrs, &p.signature)
            .unwrap();
        if p.unsigned(crate::core::tle::OID_REKOR_TLE).is_some() {
            with_tle += 1;
        }
        // Our armor of their DER is their armor, byte for byte.
        assert_eq!(armor(&der).unwrap().as_bytes(), &armored[..], "{name}");
    }
    assert_eq!(with_tle, 2, "dc68e8ce and 529ee14c embed a log entry");
}

#[test]
fn fixture_signing_time_is_decoded() {
    let (_, armored) = split_commit(&fixture("dc68e8ce155fe12ab8fd7c55de6ef336ce716ee8.commit"));
    let p = parse(&dearmor(&armored).unwrap()).unwrap();
    // 260805141717Z
    assert_eq!(p.signing_time, Some(UnixTime(1_785_939_437)));
}

fn build(world: &World, unsigned: &[Attribute]) -> (Vec<u8>, Vec<u8>, p256::ecdsa::SigningKey) {
    let key = p256_key();
    let leaf = world.issue_leaf(&spki_der(&key), T0);
    let attrs = signed_attributes(&sha256(b"payload"), UnixTime(T0 + 5)).unwrap();
    let sig = sign_der(&key, &attrs);
    let der = build_signed_data(&leaf, &attrs, &sig, unsigned).unwrap();
    (der, leaf, key)
}

#[test]
fn our_signature_round_trips() {
    let w = World::new();
    let tle = octet_string_attribute(crate::core::tle::OID_REKOR_TLE, b"\x08\x01");
    let (der, leaf, key) = build(&w, std::slice::from_ref(&tle));
    let p = parse(&der).unwrap();
    assert_eq!(p.certificates, vec![leaf.clone()]);
    assert_eq!(p.signer_certificate(), Some(&leaf[..]));
    assert_eq!(p.message_digest, sha256(b"payload"));
    assert_eq!(p.signing_time, Some(UnixTime(T0 + 5)));
    assert_eq!(
        p.signed_attrs,
        signed_attributes(&sha256(b"payload"), UnixTime(T0 + 5)).unwrap()
    );
    assert_eq!(p.unsigned_attributes, vec![tle]);
    assert_eq!(p.signed_attributes.len(), 3);
    // Order: content-type, signing-time, message-digest (DER order, as gitsign).
    let oids: Vec<_> = p.signed_attributes.iter().map(|a| a.oid).collect();
    assert_eq!(
        oids,
        [OID_CONTENT_TYPE, OID_SIGNING_TIME, OID_MESSAGE_DIGEST]
    );
    PublicKey::from_spki_der(&spki_der(&key))
        .unwrap()
        .verify(HashAlg::Sha256, &p.signed_attrs, &p.signature)
        .unwrap();
    let text = armor(&der).unwrap();
    assert!(text.starts_with("-----BEGIN SIGNED MESSAGE-----\n"));
    assert!(text.ends_with("\n-----END SIGNED MESSAGE-----\n"));
    assert!(text.lines().all(|l| l.len() <= 64));
    assert_eq!(dearmor(text.as_bytes()).unwrap(), der);
    // No unsigned attributes: the [1] field is absent.
    let (der, _, _) = build(&w, &[]);
    assert!(parse(&der).unwrap().unsigned_attributes.is_empty());
}

#[test]
fn signing_times_encode_like_go() {
    let t = |s: i64| encode_time(UnixTime(s)).unwrap();
    assert_eq!(t(0), b"\x17\x0d700101000000Z");
    assert_eq!(t(2_524_608_000)[0], 0x18, "2050 is GeneralizedTime");
    assert_eq!(&t(2_524_608_000)[2..], b"20500101000000Z");
    for s in [0, 1_785_939_437, 2_524_608_000] {
        let enc = t(s);
        let (tlv, _) = read_tlv(&enc).unwrap();
        assert_eq!(decode_time(&tlv).unwrap(), UnixTime(s));
    }
}

#[test]
fn malformed_signatures_are_refused() {
    let w = World::new();
    let (der, _, _) = build(&w, &[]);
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("truncated", der[..der.len() - 1].to_vec()),
        ("trailing byte", [der.clone(), vec![0]].concat()),
        ("indefinite length", {
            let mut d = der.clone();
            d[1] = 0x80;
            d
        }),
        ("not a sequence", encode_tlv(0x04, &der)),
    ];
    // Wrong content type.
    let mut d = der.clone();
    let pos = d
        .windows(11)
        .position(|w| w == oid_tlv(&OID_SIGNED_DATA))
        .unwrap();
    d[pos + 10] = 3;
    cases.push(("envelopedData", d));
    for (what, bytes) in cases {
        assert!(parse(&bytes).is_err(), "{what}");
    }
    assert!(matches!(
        parse(&vec![0x30; MAX_CMS_BYTES + 1]),
        Err(CmsError::TooLarge { .. })
    ));
    assert!(matches!(
        dearmor(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        Err(CmsError::Armor(_))
    ));
    assert!(dearmor(b"garbage").is_err());
}

/// Rebuild a SignedData with a hand-made signer list / eContent to hit the structural checks.
fn signed_data_with(eci: Vec<u8>, signers: Vec<Vec<u8>>) -> Vec<u8> {
    let mut sd = encode_tlv(0x02, &[1]);
    sd.extend(encode_tlv(0x31, &algorithm(&OID_SHA256)));
    sd.extend(eci);
    sd.extend(encode_tlv(0x31, &signers.concat()));
    let mut ci = oid_tlv(&OID_SIGNED_DATA);
    ci.extend(encode_tlv(0xa0, &encode_tlv(0x30, &sd)));
    encode_tlv(0x30, &ci)
}

#[test]
fn structure_negatives() {
    let w = World::new();
    let (der, _, _) = build(&w, &[]);
    let p = parse(&der).unwrap();
    // Pull our SignerInfo back out of the DER.
    let signer_pos = der.len() - {
        let (ci, _) = read_tlv(&der).unwrap();
        let c = children(ci.content).unwrap();
        let (sd, _) = read_tlv(c[1].content).unwrap();
        let f = children(sd.content).unwrap();
        f.last().unwrap().content.len()
    };
    let signer = der[signer_pos..].to_vec();
    let detached = encode_tlv(0x30, &oid_tlv(&OID_DATA));
    assert_eq!(
        parse(&signed_data_with(detached.clone(), vec![])).unwrap_err(),
        CmsError::SignerCount(0)
    );
    assert_eq!(
        parse(&signed_data_with(
            detached.clone(),
            vec![signer.clone(), signer.clone()]
        ))
        .unwrap_err(),
        CmsError::SignerCount(2)
    );
    let attached = encode_tlv(
        0x30,
        &[
            oid_tlv(&OID_DATA),
            encode_tlv(0xa0, &encode_tlv(0x04, b"payload")),
        ]
        .concat(),
    );
    assert_eq!(
        parse(&signed_data_with(attached, vec![signer.clone()])).unwrap_err(),
        CmsError::NotDetached
    );
    let one = parse(&signed_data_with(detached, vec![signer])).unwrap();
    assert_eq!(one.signed_attrs, p.signed_attrs);
    assert!(one.certificates.is_empty());
}

/// Regression (review finding): a signing time whose text is 13 bytes but not ASCII made the
/// parser slice inside a multi-byte character and panic.
#[test]
fn signing_time_with_non_ascii_text_is_refused_not_a_panic() {
    for (tag, text) in [
        (0x17, "€0101000000".as_bytes()),
        (0x17, "2401010000+0Z".as_bytes()),
        (0x18, "€€€€€Z".as_bytes()),
        (0x17, b"\xff\xfe0101000000Z".as_slice()),
    ] {
        let tlv_bytes = encode_tlv(tag, text);
        let (tlv, _) = read_tlv(&tlv_bytes).unwrap();
        assert!(
            matches!(decode_time(&tlv), Err(CmsError::Malformed(_))),
            "{text:?}"
        );
    }
    let ok = encode_tlv(0x17, b"260805141717Z");
    assert_eq!(
        decode_time(&read_tlv(&ok).unwrap().0),
        Ok(UnixTime(1_785_939_437))
    );
}
