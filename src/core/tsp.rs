//! RFC 3161 time-stamp tokens: verification of a token (or the `TimeStampResp` around it, as
//! Sigstore bundles store it) against the trusted root's `timestampAuthorities`, and the two
//! pure halves of requesting one: the DER `TimeStampReq` and the check of the reply.
//!
//! Verification, as sigstore-go and sigstore-python do it: a strict DER walk of the CMS
//! SignedData (eContentType id-ct-TSTInfo, exactly one signer, signed attributes content-type and
//! message-digest = H(TSTInfo)); the imprint is H(signed bytes); the signing certificate (embedded
//! or taken from the trusted root by the signer identifier) chains to a trusted timestamp
//! authority whose `validFor` contains genTime (both ends inclusive); every certificate of that
//! chain is valid *at genTime* (an expired chain is fine); the leaf has the one critical EKU
//! id-kp-timeStamping; an ESS signing-certificate attribute, if present, names that leaf; and the
//! signature over the DER `SET OF` signed attributes verifies (ECDSA P-256/P-384, or RSA
//! PKCS#1 v1.5 with SHA-256/384/512 through ring).

use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use sha1::Digest as _;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};

use super::asn1::{Tlv, children, encode_tlv, read_tlv};
use super::cms::{OID_CONTENT_TYPE, OID_MESSAGE_DIGEST, OID_SHA256, OID_SIGNED_DATA};
use super::keys::{HashAlg, ID_EC_PUBLIC_KEY, PublicKey};
use super::time::{UnixTime, ValidFor};
use super::trust_root::{CertificateAuthority, TrustedRoot};
use super::x509::{self, OID_ECDSA_SHA256, OID_ECDSA_SHA384, OID_ECDSA_SHA512};

/// Largest token or response accepted (Sigstore's are about 1 KiB; FreeTSA's with its chain 5 KiB).
pub const MAX_TIMESTAMP_BYTES: usize = 64 * 1024;

pub const OID_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
pub const OID_EKU_TIME_STAMPING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
pub const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
pub const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const OID_SIGNING_CERTIFICATE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
const OID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_SHA256_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_SHA384_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_SHA512_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
/// Critical certificate extensions this module understands.
const HANDLED_CRITICAL: [ObjectIdentifier; 4] = [
    x509::OID_KEY_USAGE,
    x509::OID_SAN,
    x509::OID_BASIC_CONSTRAINTS,
    x509::OID_EKU,
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("timestamp is {size} bytes, more than the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("malformed timestamp: {0}")]
    Malformed(String),
    #[error("the timestamp authority did not grant the request: status {status}, {detail}")]
    Rejected { status: u64, detail: String },
    #[error("timestamp content type is {0}, not id-ct-TSTInfo")]
    ContentType(String),
    #[error("timestamp has {0} signers; exactly one is required")]
    SignerCount(usize),
    #[error("timestamp signed attribute {oid} is missing or does not have exactly one value")]
    Attribute { oid: String },
    #[error("timestamp message-digest attribute is not the {algorithm} hash of its TSTInfo")]
    ContentDigestMismatch { algorithm: String },
    #[error(
        "timestamp imprint is not the {algorithm} hash of the signed bytes: it stamps {stamped}, the bytes hash to {expected}"
    )]
    ImprintMismatch {
        algorithm: String,
        stamped: String,
        expected: String,
    },
    #[error("hash algorithm {0} is not supported in timestamps")]
    UnsupportedHash(String),
    #[error("timestamp signature algorithm {0} is not supported")]
    UnsupportedSignatureAlgorithm(String),
    #[error("timestamp nonce is {got}, not the {expected:#x} that was requested")]
    NonceMismatch { expected: u64, got: String },
    #[error("timestamp signer ({signer}) is not a timestamp authority of the trusted root")]
    UntrustedTsa { signer: String },
    #[error(
        "timestamp authority certificate {subject} is valid from {not_before} to {not_after}, \
         not at the timestamp's time {at}"
    )]
    NotValidAt {
        subject: String,
        at: UnixTime,
        not_before: UnixTime,
        not_after: UnixTime,
    },
    #[error(
        "timestamp authority {tsa} is trusted for {valid_for}, not at the timestamp's time {at}"
    )]
    AuthorityNotValidAt {
        tsa: String,
        at: UnixTime,
        valid_for: ValidFor,
    },
    #[error("certificate {subject} cannot sign timestamps: {reason}")]
    NotTimestampingCert {
        subject: String,
        reason: &'static str,
    },
    #[error("timestamp authority chain is not valid at {subject}: {reason}")]
    Chain { subject: String, reason: String },
    #[error("timestamp signing-certificate attribute does not name {subject}")]
    SignerCertMismatch { subject: String },
    #[error("timestamp signature does not verify with the key of {subject}")]
    BadSignature { subject: String },
}

fn malformed(e: impl std::fmt::Display) -> TimestampError {
    TimestampError::Malformed(e.to_string())
}

/// A timestamp that verified: the time it proves and who proved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    /// genTime, whole seconds (a fraction is dropped).
    pub time: UnixTime,
    /// `time`, plus one second when genTime has a fraction: the real time lies in
    /// `time..=latest`, so whatever must hold at the token's time is checked at both ends.
    pub latest: UnixTime,
    /// The trusted root's `uri` of the authority, or the signing certificate's subject DN when
    /// the root gives no uri.
    pub tsa: String,
}

// ---------------------------------------------------------------------------------------------
// DER walking

fn one<'a>(content: &'a [u8], what: &str) -> Result<Tlv<'a>, TimestampError> {
    super::asn1::read_one(content, what).map_err(malformed)
}

fn expect(tlv: &Tlv<'_>, tag: u8, what: &str) -> Result<(), TimestampError> {
    super::asn1::expect_tag(tlv, tag, what).map_err(malformed)
}

fn kids<'a>(tlv: &Tlv<'a>, tag: u8, what: &str) -> Result<Vec<Tlv<'a>>, TimestampError> {
    expect(tlv, tag, what)?;
    children(tlv.content).map_err(|e| malformed(format!("{what}: {e}")))
}

fn parse_oid(tlv: &Tlv<'_>) -> Result<ObjectIdentifier, TimestampError> {
    expect(tlv, 0x06, "OBJECT IDENTIFIER")?;
    ObjectIdentifier::from_bytes(tlv.content).map_err(malformed)
}

/// AlgorithmIdentifier → OID; parameters must be absent or NULL.
fn parse_algorithm(tlv: &Tlv<'_>) -> Result<ObjectIdentifier, TimestampError> {
    match kids(tlv, 0x30, "AlgorithmIdentifier")?.as_slice() {
        [oid] => parse_oid(oid),
        [oid, p] if p.raw == [0x05, 0x00] => parse_oid(oid),
        _ => Err(malformed("algorithm parameters are not supported")),
    }
}

/// A non-negative DER INTEGER of at most 64 bits.
fn parse_uint(tlv: &Tlv<'_>, what: &str) -> Result<u64, TimestampError> {
    expect(tlv, 0x02, what)?;
    let c = tlv.content;
    let bad = || malformed(format!("{what} is not a small non-negative INTEGER"));
    let digits = match c {
        [] => return Err(bad()),
        [0, next, ..] if next & 0x80 == 0 => return Err(malformed(format!("{what}: non-minimal"))),
        [0, rest @ ..] if !rest.is_empty() => rest,
        [first, ..] if first & 0x80 != 0 => return Err(bad()),
        all => all,
    };
    if digits.len() > 8 {
        return Err(bad());
    }
    Ok(digits.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b)))
}

/// A DER INTEGER holding `v`.
fn encode_uint(v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
    let mut content = bytes[skip..].to_vec();
    if content[0] & 0x80 != 0 {
        content.insert(0, 0);
    }
    encode_tlv(0x02, &content)
}

fn hash_alg(oid: ObjectIdentifier) -> Result<HashAlg, TimestampError> {
    match oid {
        OID_SHA256 => Ok(HashAlg::Sha256),
        OID_SHA384 => Ok(HashAlg::Sha384),
        OID_SHA512 => Ok(HashAlg::Sha512),
        other => Err(TimestampError::UnsupportedHash(other.to_string())),
    }
}

fn hash_name(h: HashAlg) -> String {
    format!("{h:?}").to_uppercase()
}

/// GeneralizedTime `YYYYMMDDHHMMSS[.f+]Z` → unix seconds (the fraction dropped), and whether
/// the fraction was not zero.
fn parse_generalized_time(tlv: &Tlv<'_>) -> Result<(UnixTime, bool), TimestampError> {
    expect(tlv, 0x18, "genTime")?;
    let bad = || malformed("genTime is not YYYYMMDDHHMMSS[.fff]Z");
    let body = tlv.content.strip_suffix(b"Z").ok_or_else(bad)?;
    let (whole, fraction) = match body.iter().position(|&b| b == b'.') {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    if whole.len() != 14
        || !whole.iter().all(u8::is_ascii_digit)
        || fraction.is_some_and(|f| f.is_empty() || !f.iter().all(u8::is_ascii_digit))
    {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| {
        whole[r]
            .iter()
            .fold(0u32, |v, &b| v * 10 + u32::from(b - b'0'))
    };
    let month = time::Month::try_from(num(4..6) as u8).map_err(malformed)?;
    let date = time::Date::from_calendar_date(num(0..4) as i32, month, num(6..8) as u8)
        .map_err(malformed)?;
    let dt = date
        .with_hms(num(8..10) as u8, num(10..12) as u8, num(12..14) as u8)
        .map_err(malformed)?
        .assume_utc();
    let fractional = fraction.is_some_and(|f| f.iter().any(|&d| d != b'0'));
    Ok((UnixTime(dt.unix_timestamp()), fractional))
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// The fields of a TSTInfo that matter here.
#[derive(Debug)]
struct TstInfo<'a> {
    imprint_alg: ObjectIdentifier,
    imprint: &'a [u8],
    gen_time: UnixTime,
    gen_time_fractional: bool,
    nonce: Option<Tlv<'a>>,
}

/// A parsed token: one signer, its signed attributes, the TSTInfo they cover.
#[derive(Debug)]
struct Token<'a> {
    sid: Tlv<'a>,
    digest_alg: ObjectIdentifier,
    signature_alg: ObjectIdentifier,
    /// The signed attributes exactly as received, tag 0xA0 rewritten to 0x31.
    signed_attrs: Vec<u8>,
    attrs: Vec<(ObjectIdentifier, Vec<Tlv<'a>>)>,
    signature: &'a [u8],
    certificates: Vec<&'a [u8]>,
    tst_der: &'a [u8],
    tst: TstInfo<'a>,
}

impl<'a> Token<'a> {
    fn attr(&self, oid: ObjectIdentifier) -> Option<&[Tlv<'a>]> {
        self.attrs
            .iter()
            .find(|(o, _)| *o == oid)
            .map(|(_, v)| v.as_slice())
    }

    fn single(&self, oid: ObjectIdentifier) -> Result<&Tlv<'a>, TimestampError> {
        match self.attr(oid) {
            Some([v]) => Ok(v),
            _ => Err(TimestampError::Attribute {
                oid: oid.to_string(),
            }),
        }
    }

    /// The message-digest attribute must be H(TSTInfo) with the signer's digest algorithm.
    fn check_content_digest(&self) -> Result<(), TimestampError> {
        let hash = hash_alg(self.digest_alg)?;
        let md = self.single(OID_MESSAGE_DIGEST)?;
        expect(md, 0x04, "message-digest")?;
        if md.content != hash.digest(self.tst_der).as_slice() {
            return Err(TimestampError::ContentDigestMismatch {
                algorithm: hash_name(hash),
            });
        }
        Ok(())
    }
}

fn check_size(der: &[u8]) -> Result<(), TimestampError> {
    if der.len() > MAX_TIMESTAMP_BYTES {
        return Err(TimestampError::TooLarge {
            size: der.len(),
            limit: MAX_TIMESTAMP_BYTES,
        });
    }
    Ok(())
}

/// PKIStatusInfo: Ok for granted (0) and grantedWithMods (1), else `Rejected` with its text.
fn check_status(info: &Tlv<'_>) -> Result<(), TimestampError> {
    let parts = kids(info, 0x30, "PKIStatusInfo")?;
    let (status, rest) = parts
        .split_first()
        .ok_or_else(|| malformed("empty PKIStatusInfo"))?;
    let status = parse_uint(status, "PKIStatus")?;
    if matches!(status, 0 | 1) {
        return Ok(());
    }
    let mut detail = Vec::new();
    for part in rest {
        match part.tag {
            0x30 => {
                for s in children(part.content).map_err(malformed)? {
                    detail.push(format!("{:?}", String::from_utf8_lossy(s.content)));
                }
            }
            0x03 => detail.push(format!("failInfo bits {}", hex::encode(part.content))),
            _ => {}
        }
    }
    Err(TimestampError::Rejected {
        status,
        detail: if detail.is_empty() {
            "no reason given".into()
        } else {
            detail.join(", ")
        },
    })
}

/// The token inside `der`, which is either a TimeStampResp (status must be granted) or the
/// token (a ContentInfo) itself.
fn token_of(der: &[u8]) -> Result<&[u8], TimestampError> {
    check_size(der)?;
    let outer = one(der, "timestamp")?;
    let parts = kids(&outer, 0x30, "timestamp")?;
    match parts.as_slice() {
        [first, ..] if first.tag == 0x06 => Ok(der),
        [status] => {
            check_status(status)?;
            Err(malformed("granted response carries no token"))
        }
        [status, token] => {
            check_status(status)?;
            Ok(token.raw)
        }
        _ => Err(malformed("neither a TimeStampResp nor a ContentInfo")),
    }
}

fn parse_tst_info(der: &[u8]) -> Result<TstInfo<'_>, TimestampError> {
    let tst = one(der, "TSTInfo")?;
    let fields = kids(&tst, 0x30, "TSTInfo")?;
    let [version, policy, imprint, serial, gen_time, optional @ ..] = fields.as_slice() else {
        return Err(malformed("TSTInfo is too short"));
    };
    if parse_uint(version, "TSTInfo version")? != 1 {
        return Err(malformed("TSTInfo version is not 1"));
    }
    parse_oid(policy)?;
    let (imprint_alg, imprint) = match kids(imprint, 0x30, "messageImprint")?.as_slice() {
        [alg, hash] => {
            expect(hash, 0x04, "hashedMessage")?;
            (parse_algorithm(alg)?, hash.content)
        }
        _ => return Err(malformed("messageImprint is not (algorithm, hash)")),
    };
    expect(serial, 0x02, "TSTInfo serialNumber")?;
    let (gen_time, gen_time_fractional) = parse_generalized_time(gen_time)?;
    // Optional fields, each at most once and in this order: accuracy, ordering, nonce, tsa,
    // extensions.
    const ORDER: [u8; 5] = [0x30, 0x01, 0x02, 0xa0, 0xa1];
    let mut next = 0;
    let mut nonce = None;
    for field in optional {
        let at = ORDER[next..]
            .iter()
            .position(|&t| t == field.tag)
            .ok_or_else(|| malformed(format!("unexpected TSTInfo field {:#04x}", field.tag)))?;
        next += at + 1;
        if field.tag == 0x02 {
            nonce = Some(*field);
        }
    }
    Ok(TstInfo {
        imprint_alg,
        imprint,
        gen_time,
        gen_time_fractional,
        nonce,
    })
}

/// Attributes: each OID once, values kept as TLVs.
fn parse_attributes(
    content: &[u8],
) -> Result<Vec<(ObjectIdentifier, Vec<Tlv<'_>>)>, TimestampError> {
    let mut out: Vec<(ObjectIdentifier, Vec<Tlv<'_>>)> = Vec::new();
    for attr in children(content).map_err(malformed)? {
        let parts = kids(&attr, 0x30, "Attribute")?;
        let [oid, values] = parts.as_slice() else {
            return Err(malformed("Attribute is not (type, values)"));
        };
        let oid = parse_oid(oid)?;
        let values = kids(values, 0x31, "attribute values")?;
        if out.iter().any(|(o, _)| *o == oid) {
            return Err(TimestampError::Attribute {
                oid: oid.to_string(),
            });
        }
        out.push((oid, values));
    }
    Ok(out)
}

fn parse_token(der: &[u8]) -> Result<Token<'_>, TimestampError> {
    check_size(der)?;
    let ci = one(der, "ContentInfo")?;
    let [ctype, content] = kids(&ci, 0x30, "ContentInfo")?[..] else {
        return Err(malformed("ContentInfo is not (contentType, [0] content)"));
    };
    let ctype = parse_oid(&ctype)?;
    if ctype != OID_SIGNED_DATA {
        return Err(malformed(format!("content type {ctype} is not signedData")));
    }
    expect(&content, 0xa0, "ContentInfo content")?;
    let sd = one(content.content, "SignedData")?;
    let fields = kids(&sd, 0x30, "SignedData")?;
    let [version, digest_algs, eci, rest @ ..] = fields.as_slice() else {
        return Err(malformed("SignedData is too short"));
    };
    if !matches!(parse_uint(version, "SignedData version")?, 1 | 3) {
        return Err(malformed("unsupported SignedData version"));
    }
    expect(digest_algs, 0x31, "digestAlgorithms")?;
    let (etype, econtent) = match kids(eci, 0x30, "encapContentInfo")?.as_slice() {
        [t, c] => (parse_oid(t)?, *c),
        [t] => {
            parse_oid(t)?;
            return Err(malformed("timestamp has no TSTInfo (detached content)"));
        }
        _ => return Err(malformed("encapContentInfo has an unexpected layout")),
    };
    if etype != OID_TST_INFO {
        return Err(TimestampError::ContentType(etype.to_string()));
    }
    expect(&econtent, 0xa0, "eContent")?;
    let octets = one(econtent.content, "eContent")?;
    expect(&octets, 0x04, "eContent")?;
    let mut certificates = Vec::new();
    let mut rest = rest.iter();
    let mut field = rest.next().ok_or_else(|| malformed("no signerInfos"))?;
    if field.tag == 0xa0 {
        for cert in children(field.content).map_err(malformed)? {
            expect(&cert, 0x30, "certificate")?;
            certificates.push(cert.raw);
        }
        field = rest.next().ok_or_else(|| malformed("no signerInfos"))?;
    }
    // CRLs are allowed and ignored: revocation is not checked (as in sigstore-go).
    if field.tag == 0xa1 {
        field = rest.next().ok_or_else(|| malformed("no signerInfos"))?;
    }
    let signers = kids(field, 0x31, "signerInfos")?;
    if rest.next().is_some() {
        return Err(malformed("trailing fields after signerInfos"));
    }
    let [signer] = signers.as_slice() else {
        return Err(TimestampError::SignerCount(signers.len()));
    };
    let parts = kids(signer, 0x30, "SignerInfo")?;
    let [
        version,
        sid,
        digest_alg,
        signed,
        sig_alg,
        signature,
        unsigned @ ..,
    ] = parts.as_slice()
    else {
        return Err(malformed(
            "SignerInfo is too short or has no signed attributes",
        ));
    };
    if !matches!(parse_uint(version, "SignerInfo version")?, 1 | 3) {
        return Err(malformed("unsupported SignerInfo version"));
    }
    if !matches!(sid.tag, 0x30 | 0x80) {
        return Err(malformed(
            "SignerInfo sid is neither issuerAndSerialNumber nor [0] keyId",
        ));
    }
    if signed.tag != 0xa0 {
        return Err(malformed("SignerInfo has no signed attributes"));
    }
    expect(signature, 0x04, "signature")?;
    match unsigned {
        [] => {}
        [u] => expect(u, 0xa1, "unsigned attributes")?,
        _ => return Err(malformed("trailing fields after the SignerInfo signature")),
    }
    let attrs = parse_attributes(signed.content)?;
    let mut signed_attrs = signed.raw.to_vec();
    signed_attrs[0] = 0x31;
    let token = Token {
        sid: *sid,
        digest_alg: parse_algorithm(digest_alg)?,
        signature_alg: parse_algorithm(sig_alg)?,
        signed_attrs,
        attrs,
        signature: signature.content,
        certificates,
        tst_der: octets.content,
        tst: parse_tst_info(octets.content)?,
    };
    let ct = token.single(OID_CONTENT_TYPE)?;
    let ct = parse_oid(ct)?;
    if ct != OID_TST_INFO {
        return Err(TimestampError::ContentType(ct.to_string()));
    }
    Ok(token)
}

// ---------------------------------------------------------------------------------------------
// The signer and its chain

/// `issuer || serialNumber` TLVs of a certificate, byte-exact from its DER.
fn issuer_and_serial(cert_der: &[u8]) -> Option<Vec<u8>> {
    let tbs = super::asn1::raw_tbs(cert_der).ok()?;
    let (tbs, _) = read_tlv(tbs).ok()?;
    let mut fields = children(tbs.content).ok()?.into_iter();
    let mut serial = fields.next()?;
    if serial.tag == 0xa0 {
        serial = fields.next()?;
    }
    let _signature_alg = fields.next()?;
    let issuer = fields.next()?;
    Some([issuer.raw, serial.raw].concat())
}

fn subject_key_id(cert: &Certificate) -> Option<Vec<u8>> {
    match cert
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
    {
        Ok(Some((_, ski))) => Some(ski.0.as_bytes().to_vec()),
        _ => None,
    }
}

/// Does the SignerInfo `sid` name this certificate?
fn sid_matches(sid: &Tlv<'_>, der: &[u8], cert: Option<&Certificate>) -> bool {
    match sid.tag {
        0x30 => issuer_and_serial(der).is_some_and(|id| id == sid.content),
        0x80 => {
            let parsed;
            let cert = match cert {
                Some(c) => c,
                None => match Certificate::from_der(der) {
                    Ok(c) => {
                        parsed = c;
                        &parsed
                    }
                    Err(_) => return false,
                },
            };
            subject_key_id(cert).is_some_and(|id| id == sid.content)
        }
        _ => false,
    }
}

fn describe_sid(sid: &Tlv<'_>) -> String {
    let issuer_serial = || -> Option<String> {
        let parts = children(sid.content).ok()?;
        let [issuer, serial] = parts.as_slice() else {
            return None;
        };
        let name = x509_cert::name::Name::from_der(issuer.raw).ok()?;
        Some(format!(
            "issuer {name}, serial {}",
            hex::encode(serial.content)
        ))
    };
    match sid.tag {
        0x30 => issuer_serial().unwrap_or_else(|| "unparseable issuer and serial".into()),
        _ => format!("key id {}", hex::encode(sid.content)),
    }
}

fn subject(cert: &Certificate) -> String {
    let s = cert.tbs_certificate().subject().to_string();
    if s.is_empty() {
        "(empty subject)".into()
    } else {
        s
    }
}

fn unix(t: &x509_cert::time::Time) -> UnixTime {
    UnixTime(i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX))
}

/// A certificate on the path from the TSA's signing certificate to its trust anchor.
#[derive(Clone, Copy)]
struct PathCert<'a> {
    der: &'a [u8],
    cert: &'a Certificate,
}

/// The path from `signer` through `ca`'s chain, if `ca` vouches for it: the signer is one of
/// the chain's certificates, or was issued by the chain's first one.
fn path_through<'a>(
    ca: &'a CertificateAuthority,
    signer: PathCert<'a>,
) -> Option<Vec<PathCert<'a>>> {
    let chain = ca.chain.iter().map(|c| PathCert {
        der: &c.der,
        cert: &c.cert,
    });
    if let Some(j) = ca.chain.iter().position(|c| c.der == signer.der) {
        return Some(chain.skip(j).collect());
    }
    let first = ca.chain.first()?;
    if signer.cert.tbs_certificate().issuer() == first.cert.tbs_certificate().subject()
        && x509::verify_issued_by(signer.der, signer.cert, &first.cert).is_ok()
    {
        return Some(std::iter::once(signer).chain(chain).collect());
    }
    None
}

fn check_critical(cert: &Certificate) -> Result<(), TimestampError> {
    for ext in cert.tbs_certificate().extensions().into_iter().flatten() {
        if ext.critical && !HANDLED_CRITICAL.contains(&ext.extn_id) {
            return Err(TimestampError::Chain {
                subject: subject(cert),
                reason: format!("unhandled critical extension {}", ext.extn_id),
            });
        }
    }
    Ok(())
}

/// The TSA signing certificate's profile (RFC 3161 §2.3): the one critical EKU timeStamping,
/// not a CA, and a key usage (if any) that allows signatures.
fn check_tsa_leaf(cert: &Certificate) -> Result<(), TimestampError> {
    let tbs = cert.tbs_certificate();
    let not = |reason| TimestampError::NotTimestampingCert {
        subject: subject(cert),
        reason,
    };
    match tbs.get_extension::<ExtendedKeyUsage>() {
        Ok(Some((true, eku))) if eku.0 == [OID_EKU_TIME_STAMPING] => {}
        Ok(Some((false, _))) => return Err(not("its extended key usage is not critical")),
        Ok(Some(_)) => return Err(not("its extended key usage is not only timeStamping")),
        Ok(None) => return Err(not("it has no extended key usage")),
        Err(_) => return Err(not("its extended key usage does not parse")),
    }
    if let Ok(Some((_, bc))) = tbs.get_extension::<BasicConstraints>()
        && bc.ca
    {
        return Err(not("it is a CA certificate"));
    }
    match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) if !ku.digital_signature() && !ku.non_repudiation() => {
            Err(not("its key usage allows no signatures"))
        }
        Ok(_) => Ok(()),
        Err(_) => Err(not("its key usage does not parse")),
    }
}

/// A CA on the TSA's path, with `depth` CA certificates between it and the TSA's certificate.
fn check_issuer_ca(cert: &Certificate, depth: usize) -> Result<(), TimestampError> {
    let tbs = cert.tbs_certificate();
    let bad = |reason: &str| TimestampError::Chain {
        subject: subject(cert),
        reason: reason.to_owned(),
    };
    match tbs.get_extension::<BasicConstraints>() {
        Ok(Some((_, bc))) if bc.ca => {
            if let Some(allowed) = bc.path_len_constraint
                && usize::from(allowed) < depth
            {
                return Err(bad(&format!(
                    "its path length constraint {allowed} allows fewer CAs below it than the {depth} there are"
                )));
            }
        }
        _ => return Err(bad("it issues certificates but is not a CA")),
    }
    match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) if !ku.key_cert_sign() => Err(bad("its key usage forbids keyCertSign")),
        Ok(_) => Ok(()),
        Err(_) => Err(bad("its key usage does not parse")),
    }
}

/// Everything on the path must hold at `at`: validity, profiles, signatures along it.
fn check_path(path: &[PathCert<'_>], at: UnixTime) -> Result<(), TimestampError> {
    for c in path {
        let v = c.cert.tbs_certificate().validity();
        let (not_before, not_after) = (unix(&v.not_before), unix(&v.not_after));
        if at < not_before || at > not_after {
            return Err(TimestampError::NotValidAt {
                subject: subject(c.cert),
                at,
                not_before,
                not_after,
            });
        }
        check_critical(c.cert)?;
    }
    check_tsa_leaf(path[0].cert)?;
    for (depth, pair) in path.windows(2).enumerate() {
        let (child, parent) = (pair[0], pair[1]);
        check_issuer_ca(parent.cert, depth)?;
        if child.cert.tbs_certificate().issuer() != parent.cert.tbs_certificate().subject() {
            return Err(TimestampError::Chain {
                subject: subject(child.cert),
                reason: format!("its issuer is not {}", subject(parent.cert)),
            });
        }
        x509::verify_issued_by(child.der, child.cert, parent.cert).map_err(|e| {
            TimestampError::Chain {
                subject: subject(child.cert),
                reason: e.to_string(),
            }
        })?;
    }
    Ok(())
}

/// An ESS signing-certificate(-v2) attribute, if present, must name the signing certificate.
fn check_ess(token: &Token<'_>, signer: PathCert<'_>) -> Result<(), TimestampError> {
    let mismatch = || TimestampError::SignerCertMismatch {
        subject: subject(signer.cert),
    };
    for (oid, v2) in [
        (OID_SIGNING_CERTIFICATE_V2, true),
        (OID_SIGNING_CERTIFICATE, false),
    ] {
        if token.attr(oid).is_none() {
            continue;
        }
        // SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), policies OPTIONAL }
        let value = token.single(oid)?;
        let outer = kids(value, 0x30, "SigningCertificate")?;
        let certs = kids(outer.first().ok_or_else(mismatch)?, 0x30, "ESSCertIDs")?;
        let first = kids(certs.first().ok_or_else(mismatch)?, 0x30, "ESSCertID")?;
        let (hash, cert_hash) = match (v2, first.as_slice()) {
            (true, [alg, h, ..]) if alg.tag == 0x30 => (hash_alg(parse_algorithm(alg)?)?, h),
            (true, [h, ..]) => (HashAlg::Sha256, h),
            (false, [h, ..]) => {
                expect(h, 0x04, "ESSCertID certHash")?;
                if h.content != sha1::Sha1::digest(signer.der).as_slice() {
                    return Err(mismatch());
                }
                continue;
            }
            _ => return Err(malformed("empty ESSCertID")),
        };
        expect(cert_hash, 0x04, "ESSCertIDv2 certHash")?;
        if cert_hash.content != hash.digest(signer.der).as_slice() {
            return Err(mismatch());
        }
    }
    Ok(())
}

/// The signer's signature over the DER SET OF signed attributes.
fn check_signature(token: &Token<'_>, signer: PathCert<'_>) -> Result<(), TimestampError> {
    let digest = || hash_alg(token.digest_alg);
    let (rsa, hash) = match token.signature_alg {
        OID_ECDSA_SHA256 => (false, HashAlg::Sha256),
        OID_ECDSA_SHA384 => (false, HashAlg::Sha384),
        OID_ECDSA_SHA512 => (false, HashAlg::Sha512),
        ID_EC_PUBLIC_KEY => (false, digest()?),
        OID_SHA256_RSA => (true, HashAlg::Sha256),
        OID_SHA384_RSA => (true, HashAlg::Sha384),
        OID_SHA512_RSA => (true, HashAlg::Sha512),
        OID_RSA_ENCRYPTION => (true, digest()?),
        other => {
            return Err(TimestampError::UnsupportedSignatureAlgorithm(
                other.to_string(),
            ));
        }
    };
    let bad = || TimestampError::BadSignature {
        subject: subject(signer.cert),
    };
    let spki = signer.cert.tbs_certificate().subject_public_key_info();
    if rsa {
        use ring::signature as rs;
        if spki.algorithm.oid != OID_RSA_ENCRYPTION {
            return Err(bad());
        }
        let key = spki.subject_public_key.as_bytes().ok_or_else(bad)?;
        let alg: &rs::RsaParameters = match hash {
            HashAlg::Sha256 => &rs::RSA_PKCS1_2048_8192_SHA256,
            HashAlg::Sha384 => &rs::RSA_PKCS1_2048_8192_SHA384,
            HashAlg::Sha512 => &rs::RSA_PKCS1_2048_8192_SHA512,
        };
        return rs::UnparsedPublicKey::new(alg, key)
            .verify(&token.signed_attrs, token.signature)
            .map_err(|_| bad());
    }
    if spki.algorithm.oid != ID_EC_PUBLIC_KEY {
        return Err(bad());
    }
    let key = PublicKey::from_spki_der(&spki.to_der().map_err(malformed)?).map_err(|e| {
        TimestampError::Chain {
            subject: subject(signer.cert),
            reason: e.to_string(),
        }
    })?;
    key.verify(hash, &token.signed_attrs, token.signature)
        .map_err(|_| bad())
}

// ---------------------------------------------------------------------------------------------
// Public API

/// Verify a DER TimeStampToken (CMS ContentInfo/SignedData, eContentType id-ct-TSTInfo) — or
/// the granted TimeStampResp around one, which is what a bundle's `signedTimestamp` holds —
/// whose messageImprint must be H(signed) (SHA-256/384/512 as named in the imprint), against the
/// trusted root's timestampAuthorities.
pub fn verify_timestamp(
    token_der: &[u8],
    signed: &[u8],
    root: &TrustedRoot,
) -> Result<VerifiedTimestamp, TimestampError> {
    let token = parse_token(token_of(token_der)?)?;
    token.check_content_digest()?;
    let imprint_hash = hash_alg(token.tst.imprint_alg)?;
    let expected = imprint_hash.digest(signed);
    if expected != token.tst.imprint {
        return Err(TimestampError::ImprintMismatch {
            algorithm: hash_name(imprint_hash),
            stamped: hex::encode(token.tst.imprint),
            expected: hex::encode(expected),
        });
    }
    let at = token.tst.gen_time;
    // A fractional genTime lies strictly between `at` and `latest`: windows and validity must
    // hold at both.
    let latest = if token.tst.gen_time_fractional {
        UnixTime(at.0.saturating_add(1))
    } else {
        at
    };

    // The embedded certificate the signer identifier names, if any.
    let embedded = match token
        .certificates
        .iter()
        .find(|der| sid_matches(&token.sid, der, None))
    {
        Some(der) => Some((*der, Certificate::from_der(der).map_err(malformed)?)),
        None => None,
    };

    let mut outside_window = None;
    let mut first_err = None;
    for ca in &root.timestamp_authorities {
        let path = match &embedded {
            Some((der, cert)) => path_through(ca, PathCert { der, cert }),
            None => ca
                .chain
                .iter()
                .position(|c| sid_matches(&token.sid, &c.der, Some(&c.cert)))
                .map(|j| {
                    ca.chain[j..]
                        .iter()
                        .map(|c| PathCert {
                            der: &c.der,
                            cert: &c.cert,
                        })
                        .collect()
                }),
        };
        let Some(path) = path else { continue };
        if !ca.valid_for.contains(at) || !ca.valid_for.contains(latest) {
            outside_window.get_or_insert(TimestampError::AuthorityNotValidAt {
                tsa: if ca.uri.is_empty() {
                    subject(path[0].cert)
                } else {
                    ca.uri.clone()
                },
                at,
                valid_for: ca.valid_for,
            });
            continue;
        }
        let checked = check_path(&path, at)
            .and_then(|()| check_path(&path, latest))
            .and_then(|()| check_ess(&token, path[0]))
            .and_then(|()| check_signature(&token, path[0]));
        match checked {
            Ok(()) => {
                return Ok(VerifiedTimestamp {
                    time: at,
                    latest,
                    tsa: if ca.uri.is_empty() {
                        subject(path[0].cert)
                    } else {
                        ca.uri.clone()
                    },
                });
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err
        .or(outside_window)
        .unwrap_or_else(|| TimestampError::UntrustedTsa {
            signer: describe_sid(&token.sid),
        }))
}

/// A granted TimeStampResp (status 0, no text) around `token`: what a bundle's
/// `rfc3161Timestamps[].signedTimestamp` holds, for a token kept on its own (a CMS
/// id-aa-timeStampToken attribute, or [`token_from_response`]'s result).
pub fn response_from_token(token: &[u8]) -> Vec<u8> {
    let granted = encode_tlv(0x30, &encode_tlv(0x02, &[0]));
    encode_tlv(0x30, &[granted, token.to_vec()].concat())
}

/// For signing: a DER TimeStampReq (v1, SHA-256 imprint of `digest`, nonce, certReq TRUE).
pub fn request_der(digest: &[u8; 32], nonce: u64) -> Vec<u8> {
    let algorithm = encode_tlv(0x30, &encode_tlv(0x06, OID_SHA256.as_bytes()));
    let imprint = encode_tlv(0x30, &[algorithm, encode_tlv(0x04, digest)].concat());
    let body = [
        encode_tlv(0x02, &[1]),
        imprint,
        encode_uint(nonce),
        encode_tlv(0x01, &[0xff]),
    ]
    .concat();
    encode_tlv(0x30, &body)
}

/// For signing: parse a DER TimeStampResp, check status granted(0)/grantedWithMods(1), return
/// the token DER (the ContentInfo), checking its nonce and imprint match the request and that
/// its signed attributes cover its TSTInfo. The TSA's signature and chain are not checked here:
/// that is [`verify_timestamp`]'s job, against a trusted root.
pub fn token_from_response(
    resp: &[u8],
    digest: &[u8; 32],
    nonce: u64,
) -> Result<Vec<u8>, TimestampError> {
    check_size(resp)?;
    let outer = one(resp, "TimeStampResp")?;
    let parts = kids(&outer, 0x30, "TimeStampResp")?;
    let token_der = match parts.as_slice() {
        [status] if status.tag == 0x30 => {
            check_status(status)?;
            return Err(malformed("granted response carries no token"));
        }
        [status, token] if status.tag == 0x30 => {
            check_status(status)?;
            token.raw
        }
        _ => return Err(malformed("not a TimeStampResp (status, token)")),
    };
    let token = parse_token(token_der)?;
    token.check_content_digest()?;
    if token.tst.imprint_alg != OID_SHA256 || token.tst.imprint != digest {
        return Err(TimestampError::ImprintMismatch {
            algorithm: hash_name(HashAlg::Sha256),
            stamped: hex::encode(token.tst.imprint),
            expected: hex::encode(digest),
        });
    }
    match &token.tst.nonce {
        Some(n) if parse_uint(n, "nonce").ok() == Some(nonce) => Ok(token_der.to_vec()),
        Some(n) => Err(TimestampError::NonceMismatch {
            expected: nonce,
            got: format!("0x{}", hex::encode(n.content)),
        }),
        None => Err(TimestampError::NonceMismatch {
            expected: nonce,
            got: "absent".into(),
        }),
    }
}

#[cfg(test)]
#[path = "tsp_tests.rs"]
mod tests;
