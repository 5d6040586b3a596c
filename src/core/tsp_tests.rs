//! RFC 3161 timestamps against the real sigstore-conformance bundles (their `signedTimestamp`
//! is a DER TimeStampResp), tampered copies of them, and tokens from a small in-test TSA for
//! what the real ones do not exercise (key-id signer ids, ESS binding, EKU profile, nonces,
//! refusals).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use der::Encode;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages};

use super::*;
use crate::core::keys::sha256;
use crate::core::keys::test_keys::{p256_key, sign_der, spki_der};
use crate::core::testworld::{T0, World, build_cert, ca_extensions, ext};
use crate::core::x509::{OID_EKU, OID_EKU_CODE_SIGNING, OID_KEY_USAGE};

const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/conformance/bundle-verify"
);
const PRODUCTION_ROOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/trust/production_trusted_root.json"
);

/// A conformance case: its one timestamp, the bytes it must cover, its trusted root.
struct Case {
    timestamp: Vec<u8>,
    signed: Vec<u8>,
    root_json: serde_json::Value,
    bundle: serde_json::Value,
}

fn case(name: &str) -> Case {
    let dir = format!("{CASES}/{name}");
    let bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{dir}/bundle.sigstore.json")).unwrap())
            .unwrap();
    let stamps = bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
        .as_array()
        .unwrap();
    assert_eq!(stamps.len(), 1, "{name}");
    // Some bundles wrap their base64 at 76 columns.
    let b64: String = stamps[0]["signedTimestamp"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .collect();
    let timestamp = B64.decode(b64).unwrap();
    let sig = bundle["messageSignature"]["signature"]
        .as_str()
        .or_else(|| bundle["dsseEnvelope"]["signatures"][0]["sig"].as_str())
        .unwrap();
    let root_json =
        serde_json::from_slice(&std::fs::read(format!("{dir}/trusted_root.json")).unwrap())
            .unwrap();
    Case {
        timestamp,
        signed: B64.decode(sig).unwrap(),
        root_json,
        bundle,
    }
}

fn root(json: &serde_json::Value) -> TrustedRoot {
    TrustedRoot::from_json(&serde_json::to_vec(json).unwrap()).unwrap()
}

impl Case {
    fn verify(&self) -> Result<VerifiedTimestamp, TimestampError> {
        verify_timestamp(&self.timestamp, &self.signed, &root(&self.root_json))
    }

    /// The signing certificate's validity (not the TSA's), to show why a case fails elsewhere.
    fn signing_cert_validity(&self) -> (UnixTime, UnixTime) {
        let vm = &self.bundle["verificationMaterial"];
        let raw = vm["certificate"]["rawBytes"]
            .as_str()
            .or_else(|| vm["x509CertificateChain"]["certificates"][0]["rawBytes"].as_str())
            .unwrap();
        let cert = Certificate::from_der(&B64.decode(raw).unwrap()).unwrap();
        let v = cert.tbs_certificate().validity();
        (unix(&v.not_before), unix(&v.not_after))
    }
}

const STAGING_TSA: &str = "https://timestamp.sigstage.dev/api/v1/timestamp";

#[test]
fn conformance_timestamps_that_verify() {
    for (name, time, tsa) in [
        ("rekor2-happy-path", 1_749_729_740, STAGING_TSA),
        (
            "rekor2-timestamp-with-embedded-cert",
            1_754_506_296,
            STAGING_TSA,
        ),
        (
            "rekor2-timestamp-without-embedded-cert",
            1_754_507_031,
            STAGING_TSA,
        ),
        // The whole TSA chain expired minutes after genTime: checked at genTime, it is fine.
        (
            "rekor2-timestamp-with-expired-cert-chain",
            1_754_580_746,
            "https://localhost:3000/api/v1/timestamp",
        ),
        // validFor.end == genTime: the interval is closed.
        (
            "trust-root-tsa-validity-end-inclusive",
            1_749_729_740,
            STAGING_TSA,
        ),
    ] {
        let v = case(name)
            .verify()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((v.time, v.tsa.as_str()), (UnixTime(time), tsa), "{name}");
        assert!(
            v.latest == v.time || v.latest == UnixTime(time + 1),
            "{name}"
        );
    }
}

#[test]
fn conformance_timestamps_that_fail() {
    let err = |name: &str| case(name).verify().unwrap_err();
    assert_eq!(
        err("rekor2-timestamp-outside-trust-root-tsa-validity_fail"),
        TimestampError::AuthorityNotValidAt {
            tsa: STAGING_TSA.into(),
            at: UnixTime(1_749_729_740),
            valid_for: ValidFor {
                start: crate::core::time::Instant::parse_rfc3339("2025-04-09T00:00:00Z").unwrap(),
                end: Some(
                    crate::core::time::Instant::parse_rfc3339("2025-06-01T00:00:00Z").unwrap()
                ),
            },
        }
    );
    // Requested after the TSA's (short-lived) leaf expired: the leaf is not valid at genTime.
    assert_eq!(
        err("rekor2-timestamp-outside-tsa-cert-validity_fail"),
        TimestampError::NotValidAt {
            subject: "CN=Test TSA Timestamping,O=local".into(),
            at: UnixTime(1_754_581_112),
            not_before: UnixTime(1_754_580_548),
            not_after: UnixTime(1_754_581_028),
        }
    );
    assert!(matches!(
        err("rekor2-timestamp-payload-mismatch_fail"),
        TimestampError::ImprintMismatch { ref algorithm, .. } if algorithm == "SHA256"
    ));
    // FreeTSA, with and without its certificates embedded: not in the trusted root.
    for name in [
        "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
        "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail",
    ] {
        match err(name) {
            TimestampError::UntrustedTsa { signer } => {
                assert!(signer.contains("Free TSA"), "{name}: {signer}")
            }
            other => panic!("{name}: {other}"),
        }
    }
}

/// These two cases fail because genTime is outside the *signing* certificate's validity: the
/// timestamp itself is good, and rejecting the bundle is the pipeline's job.
#[test]
fn conformance_cases_that_fail_outside_the_timestamp() {
    for (name, time, tsa) in [
        (
            "rekor2-timestamp-with-incorrect-time_fail",
            1_752_575_611,
            STAGING_TSA,
        ),
        (
            "intoto-tsa-timestamp-outside-cert-validity_fail",
            1_675_296_000,
            "http://localhost:8000",
        ),
    ] {
        let c = case(name);
        let v = c.verify().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((v.time, v.tsa.as_str()), (UnixTime(time), tsa), "{name}");
        let (not_before, not_after) = c.signing_cert_validity();
        assert!(
            v.time < not_before || v.time > not_after,
            "{name}: {} is inside [{not_before}, {not_after}]",
            v.time
        );
    }
}

#[test]
fn conformance_timestamps_fail_against_other_roots_and_windows() {
    let c = case("rekor2-happy-path");
    // The production root lists only the production TSA.
    let production = TrustedRoot::from_json(&std::fs::read(PRODUCTION_ROOT).unwrap()).unwrap();
    assert!(matches!(
        verify_timestamp(&c.timestamp, &c.signed, &production),
        Err(TimestampError::UntrustedTsa { .. })
    ));
    // One second either side of genTime is outside the window.
    for (field, value) in [
        ("end", "2025-06-12T12:02:19Z"),
        ("start", "2025-06-12T12:02:21Z"),
    ] {
        let mut json = c.root_json.clone();
        json["timestampAuthorities"][0]["validFor"][field] = value.into();
        if field == "start" {
            json["timestampAuthorities"][0]["validFor"]["end"] = "2026-01-01T00:00:00Z".into();
        }
        assert!(
            matches!(
                verify_timestamp(&c.timestamp, &c.signed, &root(&json)),
                Err(TimestampError::AuthorityNotValidAt { .. })
            ),
            "{field} = {value}"
        );
    }
    // A root listing only the anchor: an embedded leaf it issued is accepted, but without an
    // embedded certificate nothing in the root names the signer.
    let anchor_only = |json: &serde_json::Value| {
        let mut json = json.clone();
        let certs = &mut json["timestampAuthorities"][0]["certChain"]["certificates"];
        certs.as_array_mut().unwrap().remove(0);
        root(&json)
    };
    assert_eq!(
        verify_timestamp(&c.timestamp, &c.signed, &anchor_only(&c.root_json))
            .unwrap()
            .time,
        UnixTime(1_749_729_740)
    );
    let bare = case("rekor2-timestamp-without-embedded-cert");
    assert!(matches!(
        verify_timestamp(&bare.timestamp, &bare.signed, &anchor_only(&bare.root_json)),
        Err(TimestampError::UntrustedTsa { .. })
    ));
    // No timestamp authorities at all.
    let mut json = c.root_json.clone();
    json["timestampAuthorities"] = serde_json::json!([]);
    assert!(matches!(
        verify_timestamp(&c.timestamp, &c.signed, &root(&json)),
        Err(TimestampError::UntrustedTsa { .. })
    ));
}

fn position(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("needle present")
}

#[test]
fn tampered_conformance_timestamps_fail() {
    let c = case("rekor2-timestamp-without-embedded-cert");
    let root = root(&c.root_json);
    let verify = |ts: &[u8], signed: &[u8]| verify_timestamp(ts, signed, &root);
    verify(&c.timestamp, &c.signed).unwrap();

    // Other signed bytes.
    let mut signed = c.signed.clone();
    signed[0] ^= 1;
    assert!(matches!(
        verify(&c.timestamp, &signed).unwrap_err(),
        TimestampError::ImprintMismatch { ref algorithm, .. } if algorithm == "SHA256"
    ));
    // The signature is the last TLV: flip its last byte (a bit of `s`).
    let mut ts = c.timestamp.clone();
    *ts.last_mut().unwrap() ^= 1;
    assert!(matches!(
        verify(&ts, &c.signed),
        Err(TimestampError::BadSignature { .. })
    ));
    // A later genTime: the signed message-digest no longer covers the TSTInfo.
    let mut ts = c.timestamp.clone();
    let at = position(&ts, b"20250806190351");
    ts[at + 13] = b'2';
    assert_eq!(
        verify(&ts, &c.signed).unwrap_err(),
        TimestampError::ContentDigestMismatch {
            algorithm: "SHA256".into()
        }
    );
    // The content-type attribute (the second TSTInfo OID; the first is eContentType) names
    // another type.
    let mut ts = c.timestamp.clone();
    let ct = encode_tlv(0x06, OID_TST_INFO.as_bytes());
    let first = position(&ts, &ct);
    let second = first + 1 + position(&ts[first + 1..], &ct);
    ts[second + ct.len() - 1] ^= 0x07;
    assert_eq!(
        verify(&ts, &c.signed).unwrap_err(),
        TimestampError::ContentType("1.2.840.113549.1.9.16.1.3".into())
    );
    // Truncation, trailing bytes, a status other than granted, and size.
    assert!(matches!(
        verify(&c.timestamp[..c.timestamp.len() - 1], &c.signed),
        Err(TimestampError::Malformed(_))
    ));
    let mut ts = c.timestamp.clone();
    ts.push(0);
    assert!(matches!(
        verify(&ts, &c.signed),
        Err(TimestampError::Malformed(_))
    ));
    assert_eq!(&c.timestamp[4..9], &[0x30, 0x03, 0x02, 0x01, 0x00]);
    let mut ts = c.timestamp.clone();
    ts[8] = 2;
    assert_eq!(
        verify(&ts, &c.signed).unwrap_err(),
        TimestampError::Rejected {
            status: 2,
            detail: "no reason given".into()
        }
    );
    let huge = vec![0u8; MAX_TIMESTAMP_BYTES + 1];
    assert_eq!(
        verify(&huge, &c.signed).unwrap_err(),
        TimestampError::TooLarge {
            size: MAX_TIMESTAMP_BYTES + 1,
            limit: MAX_TIMESTAMP_BYTES
        }
    );
    assert!(matches!(
        verify(b"", &c.signed),
        Err(TimestampError::Malformed(_))
    ));
}

#[test]
fn a_bare_token_verifies_like_the_response_around_it() {
    let c = case("rekor2-timestamp-with-embedded-cert");
    let (outer, _) = read_tlv(&c.timestamp).unwrap();
    let parts = children(outer.content).unwrap();
    let token = parts[1].raw;
    assert_eq!(
        verify_timestamp(token, &c.signed, &root(&c.root_json)).unwrap(),
        c.verify().unwrap()
    );
    // And the granted response signet writes around a bare token verifies the same.
    let wrapped = response_from_token(token);
    assert_eq!(
        verify_timestamp(&wrapped, &c.signed, &root(&c.root_json)).unwrap(),
        c.verify().unwrap()
    );
    assert_eq!(token_of(&wrapped).unwrap(), token);
}

#[test]
fn request_der_is_the_expected_timestampreq() {
    let digest = [0x11u8; 32];
    let req = request_der(&digest, 0x8000_0000_0000_0001);
    let expected = [
        "3042",                           // TimeStampReq
        "020101",                         // version 1
        "302f300b0609608648016503040201", // messageImprint, sha256
        "0420",                           // hashedMessage
        &"11".repeat(32),
        "0209008000000000000001", // nonce (positive: a leading zero)
        "0101ff",                 // certReq TRUE
    ]
    .concat();
    assert_eq!(hex::encode(&req), expected);
    assert_eq!(hex::encode(encode_uint(0)), "020100");
    assert_eq!(hex::encode(encode_uint(0x7f)), "02017f");
    assert_eq!(hex::encode(encode_uint(0x80)), "02020080");
    assert_eq!(hex::encode(encode_uint(u64::MAX)), "020900ffffffffffffffff");
}

#[test]
fn generalized_time_forms() {
    let t = |s: &str| {
        parse_generalized_time(&Tlv {
            tag: 0x18,
            raw: &[],
            content: s.as_bytes(),
        })
    };
    assert_eq!(t("20240101000000Z").unwrap(), (UnixTime(T0), false));
    assert_eq!(t("20240101000000.999Z").unwrap(), (UnixTime(T0), true));
    assert_eq!(t("20240101000000.000Z").unwrap(), (UnixTime(T0), false));
    for bad in [
        "20240101000000",
        "20240101000000.Z",
        "2024010100000Z",
        "20241301000000Z",
        "20240101000000+0100",
        "2024010100000٠Z",
    ] {
        assert!(t(bad).is_err(), "{bad}");
    }
}

// ---------------------------------------------------------------------------------------------
// A small TSA built here, independent of the conformance data.

const TSA_ROOT_DN: &str = "CN=test tsa root,O=signet";
const TSA_DN: &str = "CN=test tsa,O=signet";
const TSA_URI: &str = "http://tsa.test/api/v1/timestamp";
/// genTime of the test tokens: T0 + 600.
const GEN_TIME: &str = "20240101001000Z";

fn timestamping_eku(critical: bool, purposes: Vec<ObjectIdentifier>) -> x509_cert::ext::Extension {
    ext(
        OID_EKU,
        critical,
        ExtendedKeyUsage(purposes).to_der().unwrap(),
    )
}

struct MiniTsa {
    root_der: Vec<u8>,
    key: p256::ecdsa::SigningKey,
    leaf_der: Vec<u8>,
    ski: Vec<u8>,
}

/// How to shape one token.
struct Shape {
    imprint_alg: ObjectIdentifier,
    imprint: Vec<u8>,
    gen_time: &'static str,
    nonce: Option<u64>,
    embed: bool,
    by_key_id: bool,
    ess_hash: Option<Vec<u8>>,
}

impl MiniTsa {
    fn new() -> Self {
        Self::with_leaf_extensions(|_| {})
    }

    fn with_leaf_extensions(edit: impl FnOnce(&mut Vec<x509_cert::ext::Extension>)) -> Self {
        let root_key = p256_key();
        let key = p256_key();
        let root_der = build_cert(
            TSA_ROOT_DN,
            TSA_ROOT_DN,
            &spki_der(&root_key),
            (T0 - 86_400, T0 + 86_400),
            ca_extensions(Some(0)),
            &root_key,
        );
        let ski = sha256(&spki_der(&key))[..20].to_vec();
        let mut exts = vec![
            ext(
                OID_KEY_USAGE,
                true,
                KeyUsage(KeyUsages::DigitalSignature.into())
                    .to_der()
                    .unwrap(),
            ),
            timestamping_eku(true, vec![OID_EKU_TIME_STAMPING]),
            ext(
                ObjectIdentifier::new_unwrap("2.5.29.14"),
                false,
                der::asn1::OctetString::new(ski.clone())
                    .unwrap()
                    .to_der()
                    .unwrap(),
            ),
        ];
        edit(&mut exts);
        // A validity unlike the root's, so the two serial numbers differ.
        let leaf_der = build_cert(
            TSA_ROOT_DN,
            TSA_DN,
            &spki_der(&key),
            (T0 - 3_600, T0 + 3_600),
            exts,
            &root_key,
        );
        Self {
            root_der,
            key,
            leaf_der,
            ski,
        }
    }

    fn root(&self) -> TrustedRoot {
        let mut json = World::new().trusted_root_json();
        json["timestampAuthorities"] = serde_json::json!([{
            "subject": {"organization": "signet", "commonName": "test tsa"},
            "uri": TSA_URI,
            "certChain": {"certificates": [
                {"rawBytes": B64.encode(&self.leaf_der)},
                {"rawBytes": B64.encode(&self.root_der)}
            ]},
            "validFor": {"start": "2023-01-01T00:00:00Z"}
        }]);
        root(&json)
    }

    fn shape(&self, signed: &[u8]) -> Shape {
        Shape {
            imprint_alg: OID_SHA256,
            imprint: sha256(signed).to_vec(),
            gen_time: GEN_TIME,
            nonce: Some(42),
            embed: true,
            by_key_id: false,
            ess_hash: Some(sha256(&self.leaf_der).to_vec()),
        }
    }

    /// A granted TimeStampResp.
    fn response(&self, s: &Shape) -> Vec<u8> {
        let seq = |parts: &[&[u8]]| encode_tlv(0x30, &parts.concat());
        let oid = |o: &ObjectIdentifier| encode_tlv(0x06, o.as_bytes());
        let alg = |o: &ObjectIdentifier| seq(&[&oid(o)]);
        let mut tst = [
            encode_tlv(0x02, &[1]),
            oid(&ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2")),
            seq(&[&alg(&s.imprint_alg), &encode_tlv(0x04, &s.imprint)]),
            encode_tlv(0x02, &[7]),
            encode_tlv(0x18, s.gen_time.as_bytes()),
        ]
        .concat();
        if let Some(n) = s.nonce {
            tst.extend(encode_uint(n));
        }
        let tst = encode_tlv(0x30, &tst);
        let attr = |o: &ObjectIdentifier, v: &[u8]| seq(&[&oid(o), &encode_tlv(0x31, v)]);
        let mut attrs = vec![
            attr(&OID_CONTENT_TYPE, &oid(&OID_TST_INFO)),
            attr(&OID_MESSAGE_DIGEST, &encode_tlv(0x04, &sha256(&tst))),
        ];
        if let Some(h) = &s.ess_hash {
            let ess = seq(&[&seq(&[&seq(&[&encode_tlv(0x04, h)])])]);
            attrs.push(attr(&OID_SIGNING_CERTIFICATE_V2, &ess));
        }
        attrs.sort();
        let attrs = attrs.concat();
        let signature = sign_der(&self.key, &encode_tlv(0x31, &attrs));
        let sid = if s.by_key_id {
            encode_tlv(0x80, &self.ski)
        } else {
            encode_tlv(0x30, &issuer_and_serial(&self.leaf_der).unwrap())
        };
        let signer = seq(&[
            &encode_tlv(0x02, &[if s.by_key_id { 3 } else { 1 }]),
            &sid,
            &alg(&OID_SHA256),
            &encode_tlv(0xa0, &attrs),
            &alg(&OID_ECDSA_SHA256),
            &encode_tlv(0x04, &signature),
        ]);
        let certs = if s.embed {
            encode_tlv(0xa0, &self.leaf_der)
        } else {
            Vec::new()
        };
        let sd = seq(&[
            &encode_tlv(0x02, &[3]),
            &encode_tlv(0x31, &alg(&OID_SHA256)),
            &seq(&[
                &oid(&OID_TST_INFO),
                &encode_tlv(0xa0, &encode_tlv(0x04, &tst)),
            ]),
            &certs,
            &encode_tlv(0x31, &signer),
        ]);
        let token = seq(&[&oid(&OID_SIGNED_DATA), &encode_tlv(0xa0, &sd)]);
        seq(&[&seq(&[&encode_tlv(0x02, &[0])]), &token])
    }
}

#[test]
fn mini_tsa_tokens_verify_by_issuer_serial_and_by_key_id() {
    let tsa = MiniTsa::new();
    let root = tsa.root();
    for (embed, by_key_id) in [(true, false), (false, false), (true, true), (false, true)] {
        let shape = Shape {
            embed,
            by_key_id,
            ..tsa.shape(b"sig")
        };
        let v = verify_timestamp(&tsa.response(&shape), b"sig", &root)
            .unwrap_or_else(|e| panic!("embed {embed}, key id {by_key_id}: {e}"));
        assert_eq!(
            v,
            VerifiedTimestamp {
                time: UnixTime(T0 + 600),
                latest: UnixTime(T0 + 600),
                tsa: TSA_URI.into()
            }
        );
    }
    // A fractional genTime is truncated; no ESS attribute is acceptable.
    let shape = Shape {
        gen_time: "20240101001000.75Z",
        ess_hash: None,
        ..tsa.shape(b"sig")
    };
    let v = verify_timestamp(&tsa.response(&shape), b"sig", &root).unwrap();
    assert_eq!(v.time, UnixTime(T0 + 600));
    assert_eq!(v.latest, UnixTime(T0 + 601));
    // The leaf's last second (notAfter T0 + 1 h, inclusive) is fine; half a second after it is
    // not, though the whole seconds are equal.
    let at_end = Shape {
        gen_time: "20240101010000Z",
        ..tsa.shape(b"sig")
    };
    verify_timestamp(&tsa.response(&at_end), b"sig", &root).unwrap();
    let past_end = Shape {
        gen_time: "20240101010000.5Z",
        ..tsa.shape(b"sig")
    };
    assert!(matches!(
        verify_timestamp(&tsa.response(&past_end), b"sig", &root),
        Err(TimestampError::NotValidAt { at: UnixTime(t), .. }) if t == T0 + 3_601
    ));
}

#[test]
fn mini_tsa_failures() {
    let tsa = MiniTsa::new();
    let root = tsa.root();
    let verify = |shape: Shape| verify_timestamp(&tsa.response(&shape), b"sig", &root);

    // Outside the leaf's validity (T0 ± 1 h), though inside the root's and the authority's.
    assert_eq!(
        verify(Shape {
            gen_time: "20240101020000Z",
            ..tsa.shape(b"sig")
        })
        .unwrap_err(),
        TimestampError::NotValidAt {
            subject: TSA_DN.into(),
            at: UnixTime(T0 + 7_200),
            not_before: UnixTime(T0 - 3_600),
            not_after: UnixTime(T0 + 3_600),
        }
    );
    // The ESS attribute names another certificate.
    assert_eq!(
        verify(Shape {
            ess_hash: Some(vec![0; 32]),
            ..tsa.shape(b"sig")
        })
        .unwrap_err(),
        TimestampError::SignerCertMismatch {
            subject: TSA_DN.into()
        }
    );
    // The imprint's algorithm is the one it names: SHA-384 and SHA-512 work, SHA-1 does not.
    for (alg, imprint) in [
        (OID_SHA384, HashAlg::Sha384.digest(b"sig")),
        (OID_SHA512, HashAlg::Sha512.digest(b"sig")),
    ] {
        let shape = Shape {
            imprint_alg: alg,
            imprint: imprint.clone(),
            ..tsa.shape(b"sig")
        };
        verify(shape).unwrap();
        let shape = Shape {
            imprint_alg: alg,
            imprint,
            ..tsa.shape(b"sig")
        };
        assert!(matches!(
            verify_timestamp(&tsa.response(&shape), b"gis", &root),
            Err(TimestampError::ImprintMismatch { .. })
        ));
    }
    let sha1 = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
    assert_eq!(
        verify(Shape {
            imprint_alg: sha1,
            imprint: vec![0; 20],
            ..tsa.shape(b"sig")
        })
        .unwrap_err(),
        TimestampError::UnsupportedHash(sha1.to_string())
    );

    // An embedded signer with the same names but another key: not the trusted TSA.
    let impostor = MiniTsa::new();
    assert!(matches!(
        verify_timestamp(&impostor.response(&impostor.shape(b"sig")), b"sig", &root),
        Err(TimestampError::UntrustedTsa { .. })
    ));
    // Without embedding, the impostor's key-id does not name a trusted certificate.
    let shape = Shape {
        embed: false,
        by_key_id: true,
        ..impostor.shape(b"sig")
    };
    assert!(matches!(
        verify_timestamp(&impostor.response(&shape), b"sig", &root),
        Err(TimestampError::UntrustedTsa { .. })
    ));
    // The impostor's leaf has the trusted leaf's issuer and serial. Not embedded, the trusted
    // leaf is taken from the root: the ESS attribute names another certificate, and without
    // one the signature does not verify.
    assert_eq!(
        issuer_and_serial(&impostor.leaf_der),
        issuer_and_serial(&tsa.leaf_der)
    );
    let shape = Shape {
        embed: false,
        ..impostor.shape(b"sig")
    };
    assert_eq!(
        verify_timestamp(&impostor.response(&shape), b"sig", &root).unwrap_err(),
        TimestampError::SignerCertMismatch {
            subject: TSA_DN.into()
        }
    );
    let shape = Shape {
        embed: false,
        ess_hash: None,
        ..impostor.shape(b"sig")
    };
    assert_eq!(
        verify_timestamp(&impostor.response(&shape), b"sig", &root).unwrap_err(),
        TimestampError::BadSignature {
            subject: TSA_DN.into()
        }
    );
}

#[test]
fn tsa_leaf_profile_is_enforced() {
    for (edit, reason) in [
        (
            timestamping_eku(false, vec![OID_EKU_TIME_STAMPING]),
            "its extended key usage is not critical",
        ),
        (
            timestamping_eku(true, vec![OID_EKU_TIME_STAMPING, OID_EKU_CODE_SIGNING]),
            "its extended key usage is not only timeStamping",
        ),
        (
            timestamping_eku(true, vec![OID_EKU_CODE_SIGNING]),
            "its extended key usage is not only timeStamping",
        ),
    ] {
        let tsa = MiniTsa::with_leaf_extensions(|exts| exts[1] = edit);
        assert_eq!(
            verify_timestamp(&tsa.response(&tsa.shape(b"s")), b"s", &tsa.root()).unwrap_err(),
            TimestampError::NotTimestampingCert {
                subject: TSA_DN.into(),
                reason
            }
        );
    }
    let tsa = MiniTsa::with_leaf_extensions(|exts| {
        exts.remove(1);
    });
    assert_eq!(
        verify_timestamp(&tsa.response(&tsa.shape(b"s")), b"s", &tsa.root()).unwrap_err(),
        TimestampError::NotTimestampingCert {
            subject: TSA_DN.into(),
            reason: "it has no extended key usage"
        }
    );
    let tsa = MiniTsa::with_leaf_extensions(|exts| {
        exts.push(ext(
            ObjectIdentifier::new_unwrap("1.2.3.4"),
            true,
            vec![5, 0],
        ))
    });
    assert!(matches!(
        verify_timestamp(&tsa.response(&tsa.shape(b"s")), b"s", &tsa.root()),
        Err(TimestampError::Chain { .. })
    ));
}

#[test]
fn token_from_response_checks_status_nonce_and_imprint() {
    let tsa = MiniTsa::new();
    let digest = sha256(b"signature bytes");
    let shape = |nonce| Shape {
        nonce,
        ..tsa.shape(b"signature bytes")
    };
    let resp = tsa.response(&shape(Some(42)));
    let token = token_from_response(&resp, &digest, 42).unwrap();
    // The token is the ContentInfo inside the response, and verifies.
    let (outer, _) = read_tlv(&resp).unwrap();
    assert_eq!(token, children(outer.content).unwrap()[1].raw);
    verify_timestamp(&token, b"signature bytes", &tsa.root()).unwrap();

    assert_eq!(
        token_from_response(&resp, &digest, 43).unwrap_err(),
        TimestampError::NonceMismatch {
            expected: 43,
            got: "0x2a".into()
        }
    );
    assert_eq!(
        token_from_response(&tsa.response(&shape(None)), &digest, 42).unwrap_err(),
        TimestampError::NonceMismatch {
            expected: 42,
            got: "absent".into()
        }
    );
    let big = tsa.response(&shape(Some(u64::MAX)));
    token_from_response(&big, &digest, u64::MAX).unwrap();
    assert!(matches!(
        token_from_response(&resp, &sha256(b"other"), 42).unwrap_err(),
        TimestampError::ImprintMismatch { ref algorithm, .. } if algorithm == "SHA256"
    ));
    // grantedWithMods is accepted; a bare token is not a response.
    let mut with_mods = resp.clone();
    assert_eq!(
        &with_mods[with_mods.len() - token.len() - 5..][..5],
        &[0x30, 0x03, 0x02, 0x01, 0]
    );
    let status_at = with_mods.len() - token.len() - 1;
    with_mods[status_at] = 1;
    token_from_response(&with_mods, &digest, 42).unwrap();
    assert!(matches!(
        token_from_response(&token, &digest, 42),
        Err(TimestampError::Malformed(_))
    ));
    // A refusal, with its text and failure bits.
    let refusal = encode_tlv(
        0x30,
        &encode_tlv(
            0x30,
            &[
                encode_tlv(0x02, &[2]),
                encode_tlv(0x30, &encode_tlv(0x0c, b"bad alg")),
                encode_tlv(0x03, &[0x07, 0x80]),
            ]
            .concat(),
        ),
    );
    assert_eq!(
        token_from_response(&refusal, &digest, 42).unwrap_err(),
        TimestampError::Rejected {
            status: 2,
            detail: "\"bad alg\", failInfo bits 0780".into()
        }
    );
    // Granted but empty.
    let empty = encode_tlv(0x30, &encode_tlv(0x30, &encode_tlv(0x02, &[0])));
    assert!(matches!(
        token_from_response(&empty, &digest, 42),
        Err(TimestampError::Malformed(_))
    ));
}

#[test]
fn garbage_never_panics() {
    let c = case("rekor2-timestamp-with-embedded-cert");
    let root = root(&c.root_json);
    let digest = sha256(&c.signed);
    // Every truncation and every single-byte change of a real token is refused cleanly.
    for len in 0..c.timestamp.len() {
        assert!(verify_timestamp(&c.timestamp[..len], &c.signed, &root).is_err());
        let _ = token_from_response(&c.timestamp[..len], &digest, 1);
    }
    let mut changed = 0;
    for i in (0..c.timestamp.len()).step_by(7) {
        let mut t = c.timestamp.clone();
        t[i] ^= 0x55;
        if verify_timestamp(&t, &c.signed, &root).is_err() {
            changed += 1;
        }
    }
    // Flips inside unused-by-verification bytes (the embedded copy of the trusted leaf's
    // signature, for one) may still verify; the rest must not.
    assert!(changed > c.timestamp.len() / 7 * 3 / 4, "{changed}");
}

#[test]
fn a_tsa_ca_path_length_constraint_is_enforced() {
    let key = p256_key();
    let der = build_cert(
        TSA_ROOT_DN,
        TSA_ROOT_DN,
        &spki_der(&key),
        (T0 - 86_400, T0 + 86_400),
        ca_extensions(Some(0)),
        &key,
    );
    let cert = <Certificate as der::Decode>::from_der(&der).unwrap();
    // pathLen 0: it may issue the TSA's certificate directly, but no CA below it.
    check_issuer_ca(&cert, 0).unwrap();
    assert!(matches!(
        check_issuer_ca(&cert, 1),
        Err(TimestampError::Chain { ref reason, .. }) if reason.contains("path length")
    ));
}
