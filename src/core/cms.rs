//! Detached CMS SignedData exactly as gitsign writes it (SHA-256; signed attributes content-type,
//! signing-time, message-digest; ECDSA over the DER `SET OF` signed attributes; the leaf
//! certificate only; optional unsigned attributes), its `SIGNED MESSAGE` armor, and a strict
//! parser that hands the verifier the signed attributes exactly as received.
//!
//! Encoding is hand-written DER (a few TLVs) so every byte is under control; parsing walks the
//! DER with [`super::asn1`] and refuses indefinite lengths, trailing bytes and anything but one
//! detached signer.

use const_oid::ObjectIdentifier;
use time::OffsetDateTime;

use super::asn1::{Tlv, children, encode_tlv, read_tlv};
use super::time::UnixTime;

pub const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
pub const OID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
pub const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
pub const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
pub const OID_MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
pub const OID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
pub const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// The PEM label git recognises as an x509 signature.
pub const ARMOR_LABEL: &str = "SIGNED MESSAGE";
/// Largest DER signature the parser accepts (gitsign's are about 3 KiB).
pub const MAX_CMS_BYTES: usize = 128 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmsError {
    #[error("signature is {size} bytes, more than the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("signature armor: {0}")]
    Armor(String),
    #[error("malformed CMS: {0}")]
    Malformed(String),
    #[error("CMS content type is {0}, not signedData")]
    NotSignedData(String),
    #[error("CMS has {0} signers; exactly one is supported")]
    SignerCount(usize),
    #[error("CMS signature is not detached (it carries the signed content)")]
    NotDetached,
    #[error("CMS signer has no signed attributes")]
    NoSignedAttributes,
    #[error("signed attribute {oid} must occur once with one value")]
    AttributeCount { oid: String },
    #[error("CMS signed content type is {0}, not id-data")]
    ContentType(String),
    #[error("certificate cannot be used as a CMS signer: {0}")]
    Certificate(String),
    #[error("signing time {0} cannot be encoded")]
    Time(i64),
}

fn malformed(e: impl std::fmt::Display) -> CmsError {
    CmsError::Malformed(e.to_string())
}

fn oid_tlv(oid: &ObjectIdentifier) -> Vec<u8> {
    encode_tlv(0x06, oid.as_bytes())
}

/// `AlgorithmIdentifier` with absent parameters.
fn algorithm(oid: &ObjectIdentifier) -> Vec<u8> {
    encode_tlv(0x30, &oid_tlv(oid))
}

/// An attribute: an OID and its values, each a complete DER TLV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub oid: ObjectIdentifier,
    pub values: Vec<Vec<u8>>,
}

impl Attribute {
    fn to_der(&self) -> Vec<u8> {
        let mut values: Vec<&Vec<u8>> = self.values.iter().collect();
        values.sort();
        let set: Vec<u8> = values.into_iter().flatten().copied().collect();
        let mut body = oid_tlv(&self.oid);
        body.extend(encode_tlv(0x31, &set));
        encode_tlv(0x30, &body)
    }

    /// The single value of a single-valued attribute.
    pub fn single_value(&self) -> Result<&[u8], CmsError> {
        match self.values.as_slice() {
            [v] => Ok(v),
            _ => Err(CmsError::AttributeCount {
                oid: self.oid.to_string(),
            }),
        }
    }
}

/// DER `SET OF` the attributes (sorted by encoding), with the given tag.
fn attribute_set(tag: u8, attrs: &[Attribute]) -> Vec<u8> {
    let mut encoded: Vec<Vec<u8>> = attrs.iter().map(Attribute::to_der).collect();
    encoded.sort();
    encode_tlv(tag, &encoded.concat())
}

/// A signing time as Go's `asn1.Marshal` writes it: UTCTime for 1950–2049, else
/// GeneralizedTime.
fn encode_time(t: UnixTime) -> Result<Vec<u8>, CmsError> {
    let dt = OffsetDateTime::from_unix_timestamp(t.0).map_err(|_| CmsError::Time(t.0))?;
    let (y, mo, d) = (dt.year(), u8::from(dt.month()), dt.day());
    let (h, mi, s) = (dt.hour(), dt.minute(), dt.second());
    if (1950..2050).contains(&y) {
        let text = format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100);
        Ok(encode_tlv(0x17, text.as_bytes()))
    } else if (0..=9999).contains(&y) {
        let text = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z");
        Ok(encode_tlv(0x18, text.as_bytes()))
    } else {
        Err(CmsError::Time(t.0))
    }
}

fn decode_time(tlv: &Tlv<'_>) -> Result<UnixTime, CmsError> {
    // Only ASCII digits and a final `Z`: anything else (multi-byte UTF-8 included) is refused
    // before the text is sliced by position.
    let digits = tlv.content.strip_suffix(b"Z").unwrap_or(tlv.content);
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(malformed("signing time is not digits ending in Z"));
    }
    let text = std::str::from_utf8(tlv.content).map_err(malformed)?;
    let (year, rest) = match (tlv.tag, text.len()) {
        (0x17, 13) => {
            let yy: i32 = text[..2].parse().map_err(malformed)?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &text[2..])
        }
        (0x18, 15) => (text[..4].parse().map_err(malformed)?, &text[4..]),
        _ => {
            return Err(malformed(
                "signing time is not a UTCTime or GeneralizedTime",
            ));
        }
    };
    if !rest.ends_with('Z') || !rest[..rest.len() - 1].bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("signing time is not in UTC"));
    }
    let num = |i: usize| rest[i..i + 2].parse::<u8>().map_err(malformed);
    let month = time::Month::try_from(num(0)?).map_err(malformed)?;
    let date = time::Date::from_calendar_date(year, month, num(2)?).map_err(malformed)?;
    let dt = date
        .with_hms(num(4)?, num(6)?, num(8)?)
        .map_err(malformed)?
        .assume_utc();
    Ok(UnixTime(dt.unix_timestamp()))
}

/// The signed attributes gitsign writes, as the DER `SET OF` the signature covers (tag 0x31).
pub fn signed_attributes(
    payload_sha256: &[u8; 32],
    signing_time: UnixTime,
) -> Result<Vec<u8>, CmsError> {
    let attrs = [
        Attribute {
            oid: OID_CONTENT_TYPE,
            values: vec![oid_tlv(&OID_DATA)],
        },
        Attribute {
            oid: OID_SIGNING_TIME,
            values: vec![encode_time(signing_time)?],
        },
        Attribute {
            oid: OID_MESSAGE_DIGEST,
            values: vec![encode_tlv(0x04, payload_sha256)],
        },
    ];
    Ok(attribute_set(0x31, &attrs))
}

/// The unsigned attribute holding one OCTET STRING value (how gitsign stores its log entry).
pub fn octet_string_attribute(oid: ObjectIdentifier, bytes: &[u8]) -> Attribute {
    Attribute {
        oid,
        values: vec![encode_tlv(0x04, bytes)],
    }
}

/// `IssuerAndSerialNumber` of a certificate, from its raw TBS (bytes kept as issued).
fn issuer_and_serial(cert_der: &[u8]) -> Result<Vec<u8>, CmsError> {
    let bad = |e: &str| CmsError::Certificate(e.to_string());
    let tbs = super::asn1::raw_tbs(cert_der).map_err(bad)?;
    let (tbs, _) = read_tlv(tbs).map_err(bad)?;
    let mut fields = children(tbs.content).map_err(bad)?.into_iter();
    let mut serial = fields.next().ok_or_else(|| bad("empty TBSCertificate"))?;
    if serial.tag == 0xa0 {
        serial = fields.next().ok_or_else(|| bad("no serial number"))?;
    }
    let _signature_alg = fields.next();
    let issuer = fields.next().ok_or_else(|| bad("no issuer"))?;
    if serial.tag != 0x02 || issuer.tag != 0x30 {
        return Err(bad("unexpected TBSCertificate layout"));
    }
    Ok(encode_tlv(0x30, &[issuer.raw, serial.raw].concat()))
}

/// Assemble the detached SignedData (as a ContentInfo) around a finished signature.
/// `signed_attrs` is the `SET OF` (0x31) from [`signed_attributes`]; `signature` the DER ECDSA
/// signature over it; `unsigned` may be empty.
pub fn build_signed_data(
    leaf_der: &[u8],
    signed_attrs: &[u8],
    signature: &[u8],
    unsigned: &[Attribute],
) -> Result<Vec<u8>, CmsError> {
    let (attrs, rest) = read_tlv(signed_attrs).map_err(malformed)?;
    if attrs.tag != 0x31 || !rest.is_empty() {
        return Err(malformed("signed attributes are not a DER SET"));
    }
    let mut signer = encode_tlv(0x02, &[1]);
    signer.extend(issuer_and_serial(leaf_der)?);
    signer.extend(algorithm(&OID_SHA256));
    signer.extend(encode_tlv(0xa0, attrs.content));
    signer.extend(algorithm(&OID_ECDSA_SHA256));
    signer.extend(encode_tlv(0x04, signature));
    if !unsigned.is_empty() {
        signer.extend(attribute_set(0xa1, unsigned));
    }
    let mut sd = encode_tlv(0x02, &[1]);
    sd.extend(encode_tlv(0x31, &algorithm(&OID_SHA256)));
    sd.extend(encode_tlv(0x30, &oid_tlv(&OID_DATA)));
    sd.extend(encode_tlv(0xa0, leaf_der));
    sd.extend(encode_tlv(0x31, &encode_tlv(0x30, &signer)));
    let mut ci = oid_tlv(&OID_SIGNED_DATA);
    ci.extend(encode_tlv(0xa0, &encode_tlv(0x30, &sd)));
    Ok(encode_tlv(0x30, &ci))
}

/// PEM armor as Go's `pem.EncodeToMemory` writes it: 64 columns, LF, trailing newline.
pub fn armor(der: &[u8]) -> Result<String, CmsError> {
    der::pem::encode_string(ARMOR_LABEL, der::pem::LineEnding::LF, der)
        .map_err(|e| CmsError::Armor(e.to_string()))
}

/// Undo [`armor`]: exactly one `SIGNED MESSAGE` block, size-limited.
pub fn dearmor(text: &[u8]) -> Result<Vec<u8>, CmsError> {
    if text.len() > MAX_CMS_BYTES * 2 {
        return Err(CmsError::TooLarge {
            size: text.len(),
            limit: MAX_CMS_BYTES * 2,
        });
    }
    let (label, der) = der::pem::decode_vec(text).map_err(|e| CmsError::Armor(e.to_string()))?;
    if label != ARMOR_LABEL {
        return Err(CmsError::Armor(format!(
            "PEM label is {label:?}, not {ARMOR_LABEL:?}"
        )));
    }
    Ok(der)
}

/// A parsed detached SignedData with one signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSignature {
    /// The signer's digest algorithm.
    pub digest_algorithm: ObjectIdentifier,
    /// The signature algorithm (its parameters must be absent or NULL).
    pub signature_algorithm: ObjectIdentifier,
    /// The signed attributes exactly as received, tag rewritten 0xA0 → 0x31: what the
    /// signature covers.
    pub signed_attrs: Vec<u8>,
    pub signed_attributes: Vec<Attribute>,
    /// The message-digest attribute's value.
    pub message_digest: Vec<u8>,
    /// The signing-time attribute, if present (the signer's clock: untrusted).
    pub signing_time: Option<UnixTime>,
    pub signature: Vec<u8>,
    /// Every certificate in the SignedData, DER, in order.
    pub certificates: Vec<Vec<u8>>,
    /// The signer's `sid` TLV (IssuerAndSerialNumber or [0] SubjectKeyIdentifier).
    pub signer_id: Vec<u8>,
    pub unsigned_attributes: Vec<Attribute>,
}

impl ParsedSignature {
    /// The values of the unsigned attribute `oid`, if present.
    pub fn unsigned(&self, oid: ObjectIdentifier) -> Option<&Attribute> {
        self.unsigned_attributes.iter().find(|a| a.oid == oid)
    }

    /// The certificate the signer identifier (IssuerAndSerialNumber) names, if it is included.
    pub fn signer_certificate(&self) -> Option<&[u8]> {
        self.certificates
            .iter()
            .find(|c| issuer_and_serial(c).is_ok_and(|id| id == self.signer_id))
            .map(Vec::as_slice)
    }
}

fn one<'a>(content: &'a [u8], what: &str) -> Result<Tlv<'a>, CmsError> {
    super::asn1::read_one(content, what).map_err(malformed)
}

fn expect(tlv: &Tlv<'_>, tag: u8, what: &str) -> Result<(), CmsError> {
    super::asn1::expect_tag(tlv, tag, what).map_err(malformed)
}

fn parse_oid(tlv: &Tlv<'_>) -> Result<ObjectIdentifier, CmsError> {
    expect(tlv, 0x06, "OBJECT IDENTIFIER")?;
    ObjectIdentifier::from_bytes(tlv.content).map_err(malformed)
}

/// AlgorithmIdentifier → OID; parameters must be absent or NULL.
fn parse_algorithm(tlv: &Tlv<'_>) -> Result<ObjectIdentifier, CmsError> {
    expect(tlv, 0x30, "AlgorithmIdentifier")?;
    let parts = children(tlv.content).map_err(malformed)?;
    match parts.as_slice() {
        [oid] => parse_oid(oid),
        [oid, p] if p.raw == [0x05, 0x00] => parse_oid(oid),
        _ => Err(malformed("algorithm parameters are not supported")),
    }
}

fn parse_attributes(content: &[u8]) -> Result<Vec<Attribute>, CmsError> {
    let mut out: Vec<Attribute> = Vec::new();
    for attr in children(content).map_err(malformed)? {
        expect(&attr, 0x30, "Attribute")?;
        let parts = children(attr.content).map_err(malformed)?;
        let [oid, values] = parts.as_slice() else {
            return Err(malformed("Attribute is not (type, values)"));
        };
        let oid = parse_oid(oid)?;
        expect(values, 0x31, "attribute values")?;
        let values: Vec<Vec<u8>> = children(values.content)
            .map_err(malformed)?
            .iter()
            .map(|v| v.raw.to_vec())
            .collect();
        if out.iter().any(|a| a.oid == oid) {
            return Err(CmsError::AttributeCount {
                oid: oid.to_string(),
            });
        }
        out.push(Attribute { oid, values });
    }
    Ok(out)
}

fn required(attrs: &[Attribute], oid: ObjectIdentifier) -> Result<&[u8], CmsError> {
    attrs
        .iter()
        .find(|a| a.oid == oid)
        .ok_or(CmsError::AttributeCount {
            oid: oid.to_string(),
        })?
        .single_value()
}

/// Parse a DER ContentInfo holding a detached SignedData with exactly one signer.
pub fn parse(der: &[u8]) -> Result<ParsedSignature, CmsError> {
    if der.len() > MAX_CMS_BYTES {
        return Err(CmsError::TooLarge {
            size: der.len(),
            limit: MAX_CMS_BYTES,
        });
    }
    let ci = one(der, "ContentInfo")?;
    expect(&ci, 0x30, "ContentInfo")?;
    let parts = children(ci.content).map_err(malformed)?;
    let [ctype, content] = parts.as_slice() else {
        return Err(malformed("ContentInfo is not (contentType, [0] content)"));
    };
    let ctype = parse_oid(ctype)?;
    if ctype != OID_SIGNED_DATA {
        return Err(CmsError::NotSignedData(ctype.to_string()));
    }
    expect(content, 0xa0, "ContentInfo content")?;
    let sd = one(content.content, "SignedData")?;
    expect(&sd, 0x30, "SignedData")?;
    let mut fields = children(sd.content).map_err(malformed)?.into_iter();
    let mut next = |what: &str| fields.next().ok_or_else(|| malformed(format!("no {what}")));
    let version = next("version")?;
    if version.tag != 0x02 || !matches!(version.content, [1] | [3]) {
        return Err(malformed("unsupported SignedData version"));
    }
    let digest_algs = next("digestAlgorithms")?;
    expect(&digest_algs, 0x31, "digestAlgorithms")?;
    let eci = next("encapContentInfo")?;
    expect(&eci, 0x30, "encapContentInfo")?;
    let eci_parts = children(eci.content).map_err(malformed)?;
    match eci_parts.as_slice() {
        [t] if parse_oid(t)? == OID_DATA => {}
        [t] => return Err(CmsError::ContentType(parse_oid(t)?.to_string())),
        _ => return Err(CmsError::NotDetached),
    }
    let mut certificates = Vec::new();
    let mut tlv = next("signerInfos")?;
    if tlv.tag == 0xa0 {
        for cert in children(tlv.content).map_err(malformed)? {
            expect(&cert, 0x30, "certificate")?;
            certificates.push(cert.raw.to_vec());
        }
        tlv = next("signerInfos")?;
    }
    if tlv.tag == 0xa1 {
        return Err(malformed("CRLs in the signature are not supported"));
    }
    expect(&tlv, 0x31, "signerInfos")?;
    if fields.next().is_some() {
        return Err(malformed("trailing fields after signerInfos"));
    }
    let signers = children(tlv.content).map_err(malformed)?;
    let [signer] = signers.as_slice() else {
        return Err(CmsError::SignerCount(signers.len()));
    };
    expect(signer, 0x30, "SignerInfo")?;
    let parts = children(signer.content).map_err(malformed)?;
    let (version, sid, digest_alg, rest) = match parts.as_slice() {
        [v, s, d, rest @ ..] => (v, s, d, rest),
        _ => return Err(malformed("SignerInfo is too short")),
    };
    if version.tag != 0x02 || !matches!(version.content, [1] | [3]) {
        return Err(malformed("unsupported SignerInfo version"));
    }
    let (signed, sig_alg, signature, unsigned) = match rest {
        [a, s, sig] => (a, s, sig, None),
        [a, s, sig, u] => (a, s, sig, Some(u)),
        _ => return Err(malformed("SignerInfo has an unexpected layout")),
    };
    if signed.tag != 0xa0 {
        return Err(CmsError::NoSignedAttributes);
    }
    expect(signature, 0x04, "signature")?;
    let signed_attributes = parse_attributes(signed.content)?;
    let content_type = required(&signed_attributes, OID_CONTENT_TYPE)?;
    let content_type = parse_oid(&one(content_type, "content type")?)?;
    if content_type != OID_DATA {
        return Err(CmsError::ContentType(content_type.to_string()));
    }
    let digest = one(
        required(&signed_attributes, OID_MESSAGE_DIGEST)?,
        "message digest",
    )?;
    expect(&digest, 0x04, "message digest")?;
    let signing_time = match signed_attributes.iter().find(|a| a.oid == OID_SIGNING_TIME) {
        Some(a) => Some(decode_time(&one(a.single_value()?, "signing time")?)?),
        None => None,
    };
    let unsigned_attributes = match unsigned {
        Some(u) => {
            expect(u, 0xa1, "unsigned attributes")?;
            parse_attributes(u.content)?
        }
        None => Vec::new(),
    };
    let mut signed_attrs = signed.raw.to_vec();
    signed_attrs[0] = 0x31;
    Ok(ParsedSignature {
        digest_algorithm: parse_algorithm(digest_alg)?,
        signature_algorithm: parse_algorithm(sig_alg)?,
        signed_attrs,
        message_digest: digest.content.to_vec(),
        signing_time,
        signature: signature.content.to_vec(),
        certificates,
        signer_id: sid.raw.to_vec(),
        signed_attributes,
        unsigned_attributes,
    })
}

#[cfg(test)]
#[path = "cms_tests.rs"]
pub(crate) mod tests;
