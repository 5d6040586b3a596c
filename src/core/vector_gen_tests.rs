//! Generator of the verification vectors in `tests/vectors/verify/` (read by the integration
//! runner `tests/it/vectors.rs`). Ignored: run it on purpose, then review the diff:
//!
//! ```sh
//! cargo nextest run --lib --run-ignored only -E 'test(regenerate_verify_vectors)'
//! ```
//!
//! Signatures come from in-memory Sigstore instances (`testworld`), one trusted root file per
//! instance or variant under `roots/`, plus the four real gitsign commits against the
//! public-good root. Payloads are fixed (January 2024, testworld's `T0`); keys are fresh on each
//! run, so only keys, signatures and certificates change between regenerations. Every vector's
//! outcome is checked here before it is written, so the generator cannot write a vector whose
//! header lies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::core::asn1::{children, encode_tlv, read_tlv};
use crate::core::cms::tests::{fixture, fixture_names};
use crate::core::gitobject::ObjectKind;
use crate::core::keys::test_keys::{p256_key, sign_der};
use crate::core::signed_object::{self, SplitError};
use crate::core::testworld::*;

use super::tests::{Made, make};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/verify");
const PRODUCTION_ROOT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/production_trusted_root.json"
));

const COMMIT: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
parent 74f0d242677d95a477f953260a2686712846c619\n\
author Alice <alice@example.com> 1704067200 +0000\n\
committer Alice <alice@example.com> 1704067200 +0000\n\
\n\
Add the verification vectors\n";

const COMMIT_SHA256: &[u8] =
    b"tree 6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321\n\
author Alice <alice@example.com> 1704067200 +0000\n\
committer Alice <alice@example.com> 1704067200 +0000\n\
\n\
A commit in a SHA-256 repository\n";

const TAG: &[u8] = b"object 74f0d242677d95a477f953260a2686712846c619\n\
type commit\n\
tag v1.0.0\n\
tagger Alice <alice@example.com> 1704067200 +0000\n\
\n\
Release 1.0.0\n";

/// The same commit with its message changed after signing.
const COMMIT_CHANGED: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
parent 74f0d242677d95a477f953260a2686712846c619\n\
author Alice <alice@example.com> 1704067200 +0000\n\
committer Alice <alice@example.com> 1704067200 +0000\n\
\n\
Add the verification vectors and a backdoor\n";

const OTHER_COMMIT: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author Alice <alice@example.com> 1704067260 +0000\n\
committer Alice <alice@example.com> 1704067260 +0000\n\
\n\
Another commit\n";

fn tle_attr(entry_bytes: &[u8]) -> cms::Attribute {
    cms::octet_string_attribute(tle::OID_REKOR_TLE, entry_bytes)
}

/// The DER SignedData of `m`, with `entry` embedded (gitsign's encoding, no body) if given.
fn der_of(m: &Made, entry: Option<&TlogEntry>) -> Vec<u8> {
    let attrs: Vec<_> = entry
        .map(|e| tle_attr(&tle::encode(e)))
        .into_iter()
        .collect();
    cms::build_signed_data(&m.leaf_der, &m.signed_attrs, &m.signature, &attrs).unwrap()
}

fn armor(der: &[u8]) -> Vec<u8> {
    cms::armor(der).unwrap().into_bytes()
}

/// The object as git stores it once `armored` is added to `payload`.
fn object(payload: &[u8], armored: &[u8]) -> Vec<u8> {
    gitobject::with_signature(payload, armored).unwrap().1
}

/// Rebuild a ContentInfo after editing the SignedData fields (version, digestAlgorithms,
/// encapContentInfo, [0] certificates, signerInfos), each a complete TLV.
fn edit_signed_data(der: &[u8], edit: impl FnOnce(&mut Vec<Vec<u8>>)) -> Vec<u8> {
    let (ci, _) = read_tlv(der).unwrap();
    let parts = children(ci.content).unwrap();
    let (sd, _) = read_tlv(parts[1].content).unwrap();
    let mut fields: Vec<Vec<u8>> = children(sd.content)
        .unwrap()
        .iter()
        .map(|t| t.raw.to_vec())
        .collect();
    edit(&mut fields);
    let sd = encode_tlv(0x30, &fields.concat());
    encode_tlv(0x30, &[parts[0].raw, &encode_tlv(0xa0, &sd)].concat())
}

/// Rebuild a ContentInfo after editing its one SignerInfo's fields (version, sid,
/// digestAlgorithm, [0] signedAttrs, signatureAlgorithm, signature, [1] unsignedAttrs).
fn edit_signer(der: &[u8], edit: impl FnOnce(&mut Vec<Vec<u8>>)) -> Vec<u8> {
    edit_signed_data(der, |fields| {
        let infos = fields.last_mut().unwrap();
        let (set, _) = read_tlv(infos).unwrap();
        let signers = children(set.content).unwrap();
        let mut sf: Vec<Vec<u8>> = children(signers[0].content)
            .unwrap()
            .iter()
            .map(|t| t.raw.to_vec())
            .collect();
        edit(&mut sf);
        *infos = encode_tlv(0x31, &encode_tlv(0x30, &sf.concat()));
    })
}

fn algorithm(oid: &str) -> Vec<u8> {
    let oid = const_oid::ObjectIdentifier::new_unwrap(oid);
    encode_tlv(0x30, &encode_tlv(0x06, oid.as_bytes()))
}

/// Replace line `n` (0-based) of an armored text.
fn replace_line(armored: &[u8], n: usize, with: &str) -> Vec<u8> {
    let text = String::from_utf8(armored.to_vec()).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[n] = with;
    (lines.join("\n") + "\n").into_bytes()
}

/// The checkpoint note with one byte of its ECDSA signature (after the key hint) flipped.
fn corrupt_checkpoint(note: &str) -> String {
    let (head, sig_line) = note.trim_end().rsplit_once('\n').unwrap();
    let (prefix, b64) = sig_line.rsplit_once(' ').unwrap();
    let mut raw = B64.decode(b64).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 0x01;
    format!("{head}\n{prefix} {}\n", B64.encode(raw))
}

struct Vector {
    name: &'static str,
    comment: &'static str,
    expect: &'static str,
    status: &'static str,
    root: &'static str,
    kind: ObjectKind,
    object: Vec<u8>,
}

fn v(
    name: &'static str,
    comment: &'static str,
    expect: &'static str,
    root: &'static str,
    kind: ObjectKind,
    object: Vec<u8>,
) -> Vector {
    let status = match expect {
        "verified" => "GOODSIG",
        "content-mismatch" | "bad-signature" => "BADSIG",
        "not-signed" => "NONE",
        _ => "ERRSIG",
    };
    Vector {
        name,
        comment,
        expect,
        status,
        root,
        kind,
        object,
    }
}

/// What the library says about a vector: the outcome name and, for a signature failure, its
/// severity.
fn outcome(
    kind: ObjectKind,
    object: &[u8],
    root: &TrustedRoot,
) -> (&'static str, Option<Severity>) {
    match signed_object::split(kind, object) {
        Err(SplitError::NotSigned { .. }) => ("not-signed", None),
        Err(SplitError::DuplicateSignature { .. }) => ("duplicate-signature", None),
        Err(_) => ("malformed-object", None),
        Ok(s) => match check_signature(&s.signature, &s.payload)
            .and_then(|c| verify_embedded(&c, root))
        {
            Ok(_) => ("verified", None),
            Err(e) => (e.kind(), Some(e.severity())),
        },
    }
}

fn roots(a: &World, b: &World) -> BTreeMap<&'static str, Vec<u8>> {
    let pretty = |j: &serde_json::Value| {
        let mut s = serde_json::to_vec_pretty(j).unwrap();
        s.push(b'\n');
        s
    };
    let aj = a.trusted_root_json();
    let bj = b.trusted_root_json();
    let mut foreign_ca = bj.clone();
    foreign_ca["tlogs"] = aj["tlogs"].clone();
    foreign_ca["ctlogs"] = aj["ctlogs"].clone();
    let mut ca_expired = aj.clone();
    ca_expired["certificateAuthorities"][0]["validFor"]["end"] = "2023-12-31T00:00:00Z".into();
    let mut foreign_ct = aj.clone();
    foreign_ct["ctlogs"] = bj["ctlogs"].clone();
    let mut log_late = aj.clone();
    log_late["tlogs"][0]["publicKey"]["validFor"]["start"] = "2024-06-01T00:00:00Z".into();
    BTreeMap::from([
        ("world-a.json", pretty(&aj)),
        ("world-b.json", pretty(&bj)),
        ("world-a-foreign-ca.json", pretty(&foreign_ca)),
        ("world-a-ca-expired.json", pretty(&ca_expired)),
        ("world-a-foreign-ctlog.json", pretty(&foreign_ct)),
        ("world-a-log-key-from-june.json", pretty(&log_late)),
        ("production.json", PRODUCTION_ROOT.to_vec()),
    ])
}

fn gitsign_vectors() -> Vec<Vector> {
    let names = fixture_names();
    assert_eq!(names.len(), 4, "{names:?}");
    let mut out = Vec::new();
    for name in &names {
        let bytes = fixture(name);
        let (vname, comment, expect): (&'static str, &'static str, &'static str) = match &name[..8]
        {
            "529ee14c" => (
                "gitsign-529ee14c-offline",
                "# A real gitsign commit (offline mode, embedded Rekor entry) from the public-good instance.\n# Defends interoperability: signet must verify what gitsign writes, byte for byte.",
                "verified",
            ),
            "dc68e8ce" => (
                "gitsign-dc68e8ce-offline",
                "# A real gitsign commit (offline mode, embedded Rekor entry) from the public-good instance.\n# Defends interoperability: signet must verify what gitsign writes, byte for byte.",
                "verified",
            ),
            "7dc71a2a" => (
                "gitsign-7dc71a2a-online",
                "# A real gitsign online-mode commit: no embedded entry, only the log has it.\n# Offline verification must fail closed (unverifiable), not pass without log evidence.",
                "missing-log-entry",
            ),
            "bf21f298" => (
                "gitsign-bf21f298-online",
                "# A real gitsign online-mode commit: no embedded entry, only the log has it.\n# Offline verification must fail closed (unverifiable), not pass without log evidence.",
                "missing-log-entry",
            ),
            other => panic!("unexpected fixture {other}"),
        };
        if vname == "gitsign-529ee14c-offline" {
            // Flip one bit in the commit message (after the signature header).
            let mut flipped = bytes.clone();
            let at = flipped.len() - 2;
            assert_ne!(flipped[at], b'\n');
            flipped[at] ^= 0x01;
            out.push(v(
                "gitsign-529ee14c-byte-flipped",
                "# The real gitsign commit 529ee14c with one bit of its message flipped.\n# Defends against accepting a commit edited after signing (BADSIG).",
                "content-mismatch",
                "production.json",
                ObjectKind::Commit,
                flipped,
            ));
        }
        out.push(v(
            vname,
            comment,
            expect,
            "production.json",
            ObjectKind::Commit,
            bytes,
        ));
    }
    out
}

fn world_vectors(a: &World) -> Vec<Vector> {
    use ObjectKind::{Commit, Tag};
    const A: &str = "world-a.json";
    let m = make(a, COMMIT, T0 + 5);
    let good_der = der_of(&m, Some(&m.entry));
    let good = armor(&good_der);
    let tag = make(a, TAG, T0 + 7);
    let sha = make(a, COMMIT_SHA256, T0 + 9);
    let other = make(a, OTHER_COMMIT, T0 + 65);
    let commit = |armored: &[u8]| object(COMMIT, armored);
    let with_entry = |entry: &TlogEntry| commit(&armor(&der_of(&m, Some(entry))));
    let lines = String::from_utf8(good.clone()).unwrap().lines().count();

    let mut out = vec![
        v(
            "good-commit",
            "# An offline-mode commit signature (embedded entry with SET, inclusion proof, checkpoint).\n# The baseline every negative vector below breaks in exactly one way.",
            "verified",
            A,
            Commit,
            commit(&good),
        ),
        v(
            "good-tag",
            "# An offline-mode signed annotated tag (signature appended to the message).",
            "verified",
            A,
            Tag,
            object(TAG, &armor(&der_of(&tag, Some(&tag.entry)))),
        ),
        v(
            "good-commit-sha256",
            "# An offline-mode commit in a SHA-256 repository (gpgsig-sha256 header).",
            "verified",
            A,
            Commit,
            object(COMMIT_SHA256, &armor(&der_of(&sha, Some(&sha.entry)))),
        ),
    ];

    // ---- the armor ----
    let half = String::from_utf8(good.clone())
        .unwrap()
        .lines()
        .take(lines / 2)
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    out.push(v(
        "armor-truncated",
        "# The armor cut in the middle: no END line.\n# Defends against reading a partial signature as a complete one.",
        "armor",
        A,
        Commit,
        commit(half.as_bytes()),
    ));
    out.push(v(
        "armor-garbage-base64",
        "# A line of the armor body replaced by characters outside base64.",
        "armor",
        A,
        Commit,
        commit(&replace_line(&good, 3, "!!!!this*is*not*base64$$$$ ????")),
    ));
    let label = String::from_utf8(good.clone())
        .unwrap()
        .replace("SIGNED MESSAGE", "PKCS7");
    out.push(v(
        "armor-wrong-label",
        "# A valid CMS signature under the PEM label PKCS7 instead of SIGNED MESSAGE.\n# Defends against accepting armor git would not classify as an x509 signature.",
        "armor",
        A,
        Commit,
        commit(label.as_bytes()),
    ));
    let pgp = String::from_utf8(good.clone())
        .unwrap()
        .replace("SIGNED MESSAGE", "PGP SIGNATURE");
    out.push(v(
        "tag-pgp-armor",
        "# A tag whose signature block is PGP SIGNATURE armor (git's openpgp format) around a CMS.\n# If handed to signet anyway it must be refused, not read as an x509 signature.",
        "armor",
        A,
        Tag,
        object(TAG, pgp.as_bytes()),
    ));

    // ---- hostile DER ----
    let mut bomb = vec![0x05, 0x00];
    for _ in 0..4000 {
        bomb = encode_tlv(0x30, &bomb);
    }
    let bomb = encode_tlv(
        0x30,
        &[
            encode_tlv(0x06, cms::OID_SIGNED_DATA.as_bytes()),
            encode_tlv(0xa0, &bomb),
        ]
        .concat(),
    );
    out.push(v(
        "der-bomb-deep-nesting",
        "# A ContentInfo whose SignedData is 4000 nested SEQUENCEs (about 16 KB).\n# Defends against stack exhaustion in a recursive DER parser.",
        "malformed-signature",
        A,
        Commit,
        commit(&armor(&bomb)),
    ));
    let mut gig = vec![0x30, 0x84, 0x7f, 0xff, 0xff, 0xff];
    gig.extend_from_slice(&good_der[4..200]);
    out.push(v(
        "der-length-gigabytes-outer",
        "# The outer SEQUENCE's length field claims 2 GiB; 196 bytes follow.\n# Defends against allocating or reading by a length the input does not hold.",
        "malformed-signature",
        A,
        Commit,
        commit(&armor(&gig)),
    ));
    let inner = {
        let (ci, _) = read_tlv(&good_der).unwrap();
        let parts = children(ci.content).unwrap();
        let mut content = parts[0].raw.to_vec();
        content.extend_from_slice(&[0xa0, 0x84, 0xff, 0xff, 0xff, 0xf0]);
        content.extend_from_slice(parts[1].content);
        encode_tlv(0x30, &content)
    };
    out.push(v(
        "der-length-gigabytes-inner",
        "# A well-formed outer ContentInfo whose [0] content claims a length of 4 GiB.",
        "malformed-signature",
        A,
        Commit,
        commit(&armor(&inner)),
    ));
    let huge = cms::build_signed_data(
        &m.leaf_der,
        &m.signed_attrs,
        &m.signature,
        &[
            tle_attr(&tle::encode(&m.entry)),
            cms::octet_string_attribute(
                const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.99.1"),
                &vec![0x41; cms::MAX_CMS_BYTES],
            ),
        ],
    )
    .unwrap();
    assert!(huge.len() > cms::MAX_CMS_BYTES);
    out.push(v(
        "signature-too-large",
        "# A valid signature padded with a 128 KiB unsigned attribute (DER over MAX_CMS_BYTES).\n# Defends against unbounded work on oversized signatures; refused before parsing.",
        "signature-too-large",
        A,
        Commit,
        commit(&armor(&huge)),
    ));

    // ---- the CMS structure ----
    let two = edit_signed_data(&good_der, |f| {
        let (set, _) = read_tlv(&f[4]).unwrap();
        f[4] = encode_tlv(0x31, &[set.content, set.content].concat());
    });
    out.push(v(
        "two-signers",
        "# The SignedData carries the signer twice.\n# Defends against confusion over which signer was verified.",
        "signer-count",
        A,
        Commit,
        commit(&armor(&two)),
    ));
    let zero = edit_signed_data(&good_der, |f| f[4] = encode_tlv(0x31, &[]));
    out.push(v(
        "zero-signers",
        "# The SignedData has an empty signerInfos SET.",
        "signer-count",
        A,
        Commit,
        commit(&armor(&zero)),
    ));
    let attached = edit_signed_data(&good_der, |f| {
        let eci = [
            encode_tlv(0x06, cms::OID_DATA.as_bytes()),
            encode_tlv(0xa0, &encode_tlv(0x04, b"attached content\n")),
        ]
        .concat();
        f[2] = encode_tlv(0x30, &eci);
    });
    out.push(v(
        "attached-content",
        "# The CMS carries its own (attached) content instead of being detached.\n# Defends against verifying the embedded content instead of the commit.",
        "not-detached",
        A,
        Commit,
        commit(&armor(&attached)),
    ));
    let not_sd = {
        let (ci, _) = read_tlv(&good_der).unwrap();
        let parts = children(ci.content).unwrap();
        encode_tlv(
            0x30,
            &[&encode_tlv(0x06, cms::OID_DATA.as_bytes()), parts[1].raw].concat(),
        )
    };
    out.push(v(
        "not-signed-data",
        "# The ContentInfo's content type is id-data, not signedData.",
        "malformed-signature",
        A,
        Commit,
        commit(&armor(&not_sd)),
    ));
    let no_cert = edit_signed_data(&good_der, |f| {
        f.remove(3);
    });
    out.push(v(
        "no-signer-certificate",
        "# The SignedData without its certificates field: nothing names the signer's key.\n# Defends against trusting a signature whose key cannot be tied to a certificate.",
        "no-certificate",
        A,
        Commit,
        commit(&armor(&no_cert)),
    ));
    let sha384 = edit_signer(&good_der, |s| s[2] = algorithm("2.16.840.1.101.3.4.2.2"));
    out.push(v(
        "unsupported-digest-sha384",
        "# The signer's digest algorithm says SHA-384; signet verifies SHA-256 only.\n# Defends against algorithm confusion (a digest other than the one checked).",
        "unsupported-algorithm",
        A,
        Commit,
        commit(&armor(&sha384)),
    ));

    // ---- content binding and the signature ----
    out.push(v(
        "payload-changed",
        "# A good signature on a commit whose message was changed after signing.\n# Defends the core promise: the signature covers the exact commit bytes (BADSIG).",
        "content-mismatch",
        A,
        Commit,
        object(COMMIT_CHANGED, &good),
    ));
    out.push(v(
        "tag-payload-changed",
        "# A good tag signature moved onto a tag with another message.",
        "content-mismatch",
        A,
        Tag,
        object(
            &[&TAG[..TAG.len() - 1], b" (edited)\n".as_slice()].concat(),
            &armor(&der_of(&tag, Some(&tag.entry))),
        ),
    ));
    // git's remove_signature drops only `gpgsig`/`gpgsig-sha256` headers from a tag: any other
    // `gpgsig…` header is signed content (the review finding behind this vector).
    out.push(v(
        "tag-extra-gpgsig-header",
        "# A good tag with a header named gpgsig-x added: git keeps it in the payload, so the\n# signature no longer covers the tag (signet once dropped it and said verified).",
        "content-mismatch",
        A,
        Tag,
        object(
            &String::from_utf8_lossy(TAG)
                .replacen("+0000\n", "+0000\ngpgsig-x injected\n", 1)
                .into_bytes(),
            &armor(&der_of(&tag, Some(&tag.entry))),
        ),
    ));
    let forged = cms::build_signed_data(
        &m.leaf_der,
        &m.signed_attrs,
        &sign_der(&p256_key(), &m.signed_attrs),
        &[tle_attr(&tle::encode(&m.entry))],
    )
    .unwrap();
    out.push(v(
        "signed-by-another-key",
        "# The signed attributes signed by a key other than the certificate's.\n# Defends against a signature that only borrows someone's certificate (BADSIG).",
        "bad-signature",
        A,
        Commit,
        commit(&armor(&forged)),
    ));
    let garbage_sig = edit_signer(&good_der, |s| {
        s[5] = encode_tlv(0x04, &[0x30, 0x03, 1, 2, 3])
    });
    out.push(v(
        "signature-value-garbage",
        "# The signature OCTET STRING holds bytes that are not an ECDSA signature.",
        "bad-signature",
        A,
        Commit,
        commit(&armor(&garbage_sig)),
    ));

    // ---- the embedded log entry ----
    out.push(v(
        "entry-of-another-commit",
        "# A good signature carrying the (valid) log entry of another commit's signature.\n# Defends against replaying one entry as evidence for every signature.",
        "bad-set",
        A,
        Commit,
        with_entry(&other.entry),
    ));
    let mut with_body = tle::encode(&other.entry);
    with_body.push(0x3a); // field 7 (canonicalized_body), wire type 2
    let mut len = other.entry.body.len();
    while len >= 0x80 {
        with_body.push((len as u8) | 0x80);
        len >>= 7;
    }
    with_body.push(len as u8);
    with_body.extend_from_slice(&other.entry.body);
    let body_der = cms::build_signed_data(
        &m.leaf_der,
        &m.signed_attrs,
        &m.signature,
        &[tle_attr(&with_body)],
    )
    .unwrap();
    out.push(v(
        "entry-body-for-other-content",
        "# The embedded entry carries an explicit canonicalized_body (protobuf field 7) logging another signature.\n# Defends against trusting a logged body without comparing it with this signature.",
        "log-body-mismatch",
        A,
        Commit,
        commit(&armor(&body_der)),
    ));
    let mut e = m.entry.clone();
    e.signed_entry_timestamp.as_mut().unwrap()[12] ^= 1;
    out.push(v(
        "bad-set",
        "# One byte of the signed entry timestamp (SET) flipped.",
        "bad-set",
        A,
        Commit,
        with_entry(&e),
    ));
    let mut e = m.entry.clone();
    e.signed_entry_timestamp = None;
    out.push(v(
        "entry-without-promise",
        "# The embedded entry has no signed entry timestamp (inclusion promise).\n# Defends against accepting an entry without the log's signature over its time.",
        "bad-log-entry",
        A,
        Commit,
        with_entry(&e),
    ));
    let mut e = m.entry.clone();
    e.inclusion_proof.as_mut().unwrap().hashes[0][0] ^= 1;
    out.push(v(
        "inclusion-proof-hash-corrupted",
        "# One byte of the first inclusion-proof hash flipped (the SET is intact).",
        "bad-inclusion-proof",
        A,
        Commit,
        with_entry(&e),
    ));
    let mut e = m.entry.clone();
    {
        let proof = e.inclusion_proof.as_mut().unwrap();
        let note = proof.checkpoint.as_deref().unwrap();
        proof.checkpoint = Some(corrupt_checkpoint(note));
    }
    out.push(v(
        "checkpoint-bad-signature",
        "# One byte of the checkpoint's ECDSA signature flipped (SET and proof intact).",
        "bad-checkpoint",
        A,
        Commit,
        with_entry(&e),
    ));
    let garbage_entry = cms::build_signed_data(
        &m.leaf_der,
        &m.signed_attrs,
        &m.signature,
        &[tle_attr(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])],
    )
    .unwrap();
    out.push(v(
        "entry-garbage-protobuf",
        "# The embedded entry attribute holds a protobuf field whose length runs past the end.",
        "malformed-log-entry",
        A,
        Commit,
        commit(&armor(&garbage_entry)),
    ));
    out.push(v(
        "missing-log-entry",
        "# A signature without an embedded entry (as gitsign's online mode writes).\n# Offline verification must fail closed: no log evidence, no trusted time.",
        "missing-log-entry",
        A,
        Commit,
        commit(&armor(&der_of(&m, None))),
    ));

    // ---- trust: log, CA, CT log, times ----
    out.push(v(
        "unknown-log",
        "# A good signature checked against another instance's root (its Rekor key is unknown).",
        "unknown-log",
        "world-b.json",
        Commit,
        commit(&good),
    ));
    out.push(v(
        "unknown-ca",
        "# A root that knows this Rekor and CT log but another instance's Fulcio CA.\n# Defends against chaining a leaf to a CA the trusted root does not list.",
        "untrusted-ca",
        "world-a-foreign-ca.json",
        Commit,
        commit(&good),
    ));
    out.push(v(
        "expired-ca",
        "# The root's CA validFor ends (2023-12-31) before the entry's integrated time.",
        "ca-not-valid-at-log-time",
        "world-a-ca-expired.json",
        Commit,
        commit(&good),
    ));
    out.push(v(
        "log-key-not-yet-valid",
        "# The root's Rekor key validFor starts (2024-06-01) after the entry's integrated time.",
        "log-key-not-valid",
        "world-a-log-key-from-june.json",
        Commit,
        commit(&good),
    ));
    out.push(v(
        "sct-unknown-ct-log",
        "# The leaf's embedded SCT is from a CT log the root does not list.",
        "bad-sct",
        "world-a-foreign-ctlog.json",
        Commit,
        commit(&good),
    ));
    let late = make(a, COMMIT, T0 + 601);
    out.push(v(
        "leaf-expired-at-log-time",
        "# Logged 601 s after the 10-minute leaf's notBefore: the certificate had expired.\n# Defends against a stolen, expired ephemeral key signing later.",
        "certificate-not-valid-at-log-time",
        A,
        Commit,
        commit(&armor(&der_of(&late, Some(&late.entry)))),
    ));
    let early = make(a, COMMIT, T0 - 60);
    out.push(v(
        "leaf-not-yet-valid-at-log-time",
        "# Logged 60 s before the leaf's notBefore.",
        "certificate-not-valid-at-log-time",
        A,
        Commit,
        commit(&armor(&der_of(&early, Some(&early.entry)))),
    ));

    // ---- object splitting ----
    let dup = {
        let mut o = commit(&good);
        let second = object(COMMIT, &armor(&der_of(&other, Some(&other.entry))));
        let start = second.windows(7).position(|w| w == b"gpgsig ").unwrap();
        let end = second.windows(2).position(|w| w == b"\n\n").unwrap() + 1;
        let at = o.windows(2).position(|w| w == b"\n\n").unwrap() + 1;
        o.splice(at..at, second[start..end].iter().copied());
        o
    };
    out.push(v(
        "duplicate-gpgsig",
        "# A commit with two gpgsig headers (git concatenates them into one signature).\n# Defends against ambiguity over which signature a verifier checked.",
        "duplicate-signature",
        A,
        Commit,
        dup,
    ));
    let junk = [
        &COMMIT[..COMMIT.iter().position(|&b| b == b'\n').unwrap() + 1],
        b"gpgsig junk that is not armor\n".as_slice(),
        &COMMIT[COMMIT.iter().position(|&b| b == b'\n').unwrap() + 1..],
    ]
    .concat();
    out.push(v(
        "gpgsig-not-armor",
        "# A gpgsig header whose value is not an armored signature.",
        "malformed-object",
        A,
        Commit,
        junk,
    ));
    out.push(v(
        "unsigned-commit",
        "# A commit without a signature header: git does not run the verifier.",
        "not-signed",
        A,
        Commit,
        COMMIT.to_vec(),
    ));
    out.push(v(
        "unsigned-tag",
        "# A tag without a signature block.",
        "not-signed",
        A,
        Tag,
        TAG.to_vec(),
    ));
    let in_message = [COMMIT, b"\ngpgsig ".as_slice(), &good].concat();
    out.push(v(
        "signature-in-commit-message",
        "# A commit whose only signature is text in the message, after the header block.\n# Defends against reading a signature from the message as a header would be.",
        "not-signed",
        A,
        Commit,
        in_message,
    ));
    out
}

fn write_vector(dir: &Path, v: &Vector) {
    assert!(v.comment.starts_with("# ") && v.comment.lines().count() <= 2);
    let kind = match v.kind {
        ObjectKind::Commit => "commit",
        ObjectKind::Tag => "tag",
    };
    let mut text = format!(
        "{}\nexpect: {}\nstatus: {}\nroot: {}\nkind: {kind}\nobject:\n",
        v.comment, v.expect, v.status, v.root
    )
    .into_bytes();
    text.extend_from_slice(&v.object);
    std::fs::write(dir.join(format!("{}.vector", v.name)), text).unwrap();
}

#[test]
#[ignore = "writes tests/vectors/verify/; run on purpose and review the diff"]
fn regenerate_verify_vectors() {
    let (a, b) = (World::new(), World::new());
    let roots = roots(&a, &b);
    let dir = PathBuf::from(DIR);
    std::fs::create_dir_all(dir.join("roots")).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "vector") {
            std::fs::remove_file(path).unwrap();
        }
    }
    for (name, json) in &roots {
        std::fs::write(dir.join("roots").join(name), json).unwrap();
    }
    let mut vectors = world_vectors(&a);
    vectors.extend(gitsign_vectors());
    let mut names: Vec<&str> = vectors.iter().map(|v| v.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), vectors.len(), "vector names must be unique");
    for vector in &vectors {
        let root = TrustedRoot::from_json(&roots[vector.root]).unwrap();
        let (got, severity) = outcome(vector.kind, &vector.object, &root);
        assert_eq!(got, vector.expect, "{}", vector.name);
        let status = match severity {
            Some(Severity::Bad) => "BADSIG",
            Some(Severity::Unverifiable) => "ERRSIG",
            None if got == "verified" => "GOODSIG",
            None if got == "not-signed" => "NONE",
            None => "ERRSIG",
        };
        assert_eq!(status, vector.status, "{}", vector.name);
        write_vector(&dir, vector);
    }
    let positive = vectors.iter().filter(|v| v.expect == "verified").count();
    assert!(vectors.len() - positive > 3 * positive);
}
