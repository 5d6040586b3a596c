//! The local RFC 3161 timestamp authority: `POST /api/v1/timestamp` answers a DER
//! `TimeStampReq` (`application/timestamp-query`) with a granted `TimeStampResp`
//! (`application/timestamp-reply`), and `GET /api/v1/timestamp/certchain` gives its chain as PEM,
//! as sigstore/timestamp-authority does.
//!
//! Its own two-certificate PKI, made once per state directory: a self-signed root and a
//! signing certificate with the one critical EKU id-kp-timeStamping (RFC 3161 §2.3). Tokens
//! carry TSTInfo (policy 1.3.6.1.4.1.57264.2, the request's imprint echoed, genTime = the
//! stack's clock at the request, the request's nonce), signed attributes content-type,
//! signing-time, message-digest and ESS signing-certificate-v2, an ECDSA P-256 SHA-256
//! signature, and the signing certificate when the request asks for it. The DER is written
//! here by hand; nothing is shared with signet's parser.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::{
    Router,
    body::{Body, to_bytes},
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Decode, Encode};
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey, signature::Signer};
use sha2::{Digest, Sha256};
use spki::SubjectPublicKeyInfoOwned;
use time::OffsetDateTime;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::ca::{CaError, Fixed};
use crate::error::MAX_BODY;

pub const QUERY_CONTENT_TYPE: &str = "application/timestamp-query";
pub const REPLY_CONTENT_TYPE: &str = "application/timestamp-reply";
/// The Sigstore TSA policy, as timestamp.sigstore.dev uses it.
pub const POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2");
pub const ROOT_DN: &str = "CN=signet-teststack tsa root,O=signet-teststack";
pub const SIGNER_DN: &str = "CN=signet-teststack tsa,O=signet-teststack";

const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const OID_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const OID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const OID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const OID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_EKU_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_SKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");

/// How long the TSA certificates live.
const CERT_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// PKIFailureInfo bits (RFC 3161 §2.4.2) this TSA reports.
const FAIL_BAD_ALG: usize = 0;
const FAIL_BAD_REQUEST: usize = 2;
const FAIL_BAD_DATA_FORMAT: usize = 5;

// ---------------------------------------------------------------------------------------------
// DER, by hand

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn oid(o: &ObjectIdentifier) -> Vec<u8> {
    tlv(0x06, o.as_bytes())
}

fn int_small(v: u8) -> Vec<u8> {
    tlv(0x02, &[v])
}

/// One TLV read from the front of `input`: (tag, content, rest). Definite lengths only.
fn read(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |l, &b| (l << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

fn read_all(mut content: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tag, c, rest) = read(content)?;
        out.push((tag, c));
        content = rest;
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// The request

/// What a TimeStampReq asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The imprint's hash algorithm and value, echoed into the token.
    pub hash_alg: ObjectIdentifier,
    pub hash: Vec<u8>,
    /// The nonce INTEGER's content octets, echoed as they came.
    pub nonce: Option<Vec<u8>>,
    pub cert_req: bool,
}

/// Why a request is refused: the PKIFailureInfo bit and a text for the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub fail_bit: usize,
    pub text: String,
}

fn refuse(fail_bit: usize, text: impl Into<String>) -> Refusal {
    Refusal {
        fail_bit,
        text: text.into(),
    }
}

/// Parse a DER TimeStampReq: version 1, a SHA-2 imprint of the right length, optional
/// policy (must be ours), nonce, certReq; extensions are refused.
pub fn parse_request(der: &[u8]) -> Result<Request, Refusal> {
    let bad = |what: &str| {
        refuse(
            FAIL_BAD_DATA_FORMAT,
            format!("malformed TimeStampReq: {what}"),
        )
    };
    let (tag, body, rest) = read(der).ok_or_else(|| bad("not DER"))?;
    if tag != 0x30 || !rest.is_empty() {
        return Err(bad("not one SEQUENCE"));
    }
    let fields = read_all(body).ok_or_else(|| bad("bad fields"))?;
    let [(0x02, [1]), (0x30, imprint), optional @ ..] = fields.as_slice() else {
        return Err(bad("expected version 1 and a messageImprint"));
    };
    let [(0x30, alg), (0x04, hash)] = read_all(imprint).ok_or_else(|| bad("imprint"))?[..] else {
        return Err(bad("messageImprint is not (algorithm, hash)"));
    };
    let alg_oid = match read_all(alg).as_deref() {
        Some([(0x06, o)]) | Some([(0x06, o), (0x05, [])]) => {
            ObjectIdentifier::from_bytes(o).map_err(|_| bad("algorithm OID"))?
        }
        _ => return Err(bad("hash AlgorithmIdentifier")),
    };
    let want = match alg_oid {
        OID_SHA256 => 32,
        OID_SHA384 => 48,
        OID_SHA512 => 64,
        other => return Err(refuse(FAIL_BAD_ALG, format!("unsupported hash {other}"))),
    };
    if hash.len() != want {
        return Err(bad("imprint length does not match its algorithm"));
    }
    let mut req = Request {
        hash_alg: alg_oid,
        hash: hash.to_vec(),
        nonce: None,
        cert_req: false,
    };
    for (tag, content) in optional {
        match tag {
            0x06 => {
                if ObjectIdentifier::from_bytes(content).ok() != Some(POLICY) {
                    return Err(refuse(FAIL_BAD_REQUEST, "unaccepted policy"));
                }
            }
            0x02 if req.nonce.is_none() && !content.is_empty() => {
                req.nonce = Some(content.to_vec())
            }
            0x01 => req.cert_req = *content == [0xff],
            0xa0 => return Err(refuse(FAIL_BAD_REQUEST, "extensions are not supported")),
            _ => return Err(bad("unexpected field")),
        }
    }
    Ok(req)
}

// ---------------------------------------------------------------------------------------------
// The authority

/// The signing side: key, signing certificate and root.
pub struct Tsa {
    pub key: SigningKey,
    pub signer_der: Vec<u8>,
    pub root_der: Vec<u8>,
}

fn build_err(e: impl std::fmt::Display) -> CaError {
    CaError::Build(e.to_string())
}

fn ext(o: ObjectIdentifier, critical: bool, value: &impl Encode) -> Result<Extension, CaError> {
    Ok(Extension {
        extn_id: o,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(build_err)?).map_err(build_err)?,
    })
}

fn ski(key: &VerifyingKey) -> Result<Extension, CaError> {
    let id = Sha256::digest(key.to_sec1_point(false).as_bytes())[..20].to_vec();
    ext(OID_SKI, false, &OctetString::new(id).map_err(build_err)?)
}

fn certificate(
    issuer: &str,
    subject: &str,
    extensions: Vec<Extension>,
    not_before: u64,
    key: &VerifyingKey,
    signer: &SigningKey,
) -> Result<Vec<u8>, CaError> {
    let time =
        |t: u64| Time::try_from(SystemTime::UNIX_EPOCH + Duration::from_secs(t)).map_err(build_err);
    let mut serial: [u8; 20] = rand::random();
    serial[0] = (serial[0] & 0x7f) | 0x01;
    let profile = Fixed {
        issuer: Some(Name::from_str(issuer).map_err(build_err)?),
        subject: Name::from_str(subject).map_err(build_err)?,
        extensions,
    };
    let cert = CertificateBuilder::new(
        profile,
        SerialNumber::new(&serial).map_err(build_err)?,
        Validity::new(
            time(not_before)?,
            time(not_before + CERT_LIFETIME.as_secs())?,
        ),
        SubjectPublicKeyInfoOwned::from_key(key).map_err(build_err)?,
    )
    .map_err(build_err)?
    .build::<_, DerSignature>(signer)
    .map_err(build_err)?;
    cert.to_der().map_err(build_err)
}

/// The self-signed TSA root, valid from `not_before` (unix seconds).
pub fn make_root(key: &SigningKey, not_before: u64) -> Result<Vec<u8>, CaError> {
    let exts = vec![
        ext(
            OID_BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: Some(0),
            },
        )?,
        ext(
            OID_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        )?,
        ski(key.verifying_key())?,
    ];
    certificate(ROOT_DN, ROOT_DN, exts, not_before, key.verifying_key(), key)
}

/// The timestamp signing certificate for `key`, issued by the root.
pub fn make_signer(
    key: &SigningKey,
    root_key: &SigningKey,
    not_before: u64,
) -> Result<Vec<u8>, CaError> {
    let exts = vec![
        ext(
            OID_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::DigitalSignature.into()),
        )?,
        ext(
            OID_EXT_KEY_USAGE,
            true,
            &ExtendedKeyUsage(vec![OID_EKU_TIME_STAMPING]),
        )?,
        ski(key.verifying_key())?,
    ];
    certificate(
        ROOT_DN,
        SIGNER_DN,
        exts,
        not_before,
        key.verifying_key(),
        root_key,
    )
}

/// GeneralizedTime (genTime) and UTCTime (signing-time) of a unix time.
fn times(unix: u64) -> (Vec<u8>, Vec<u8>) {
    let t = OffsetDateTime::from_unix_timestamp(unix as i64).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
    let (h, mi, s) = (t.hour(), t.minute(), t.second());
    let generalized = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z");
    let utc = format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100);
    (tlv(0x18, generalized.as_bytes()), tlv(0x17, utc.as_bytes()))
}

/// A DER `SET OF`, elements sorted by their encoding.
fn set_of(mut items: Vec<Vec<u8>>) -> Vec<u8> {
    items.sort();
    tlv(0x31, &items.concat())
}

impl Tsa {
    /// The PEM chain (signing certificate, root), as `/api/v1/timestamp/certchain` serves it.
    pub fn chain_pem(&self) -> String {
        [&self.signer_der, &self.root_der]
            .iter()
            .map(|der| {
                der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der)
                    .unwrap_or_default()
            })
            .collect()
    }

    /// A granted TimeStampResp for `req` with genTime `now` (unix seconds).
    pub fn respond(&self, req: &Request, now: u64) -> Result<Vec<u8>, CaError> {
        let signer = Certificate::from_der(&self.signer_der).map_err(build_err)?;
        let tbs = signer.tbs_certificate();
        let issuer = tbs.issuer().to_der().map_err(build_err)?;
        let serial = tbs.serial_number().to_der().map_err(build_err)?;
        let (gen_time, signing_time) = times(now);

        let mut token_serial: [u8; 16] = rand::random();
        token_serial[0] = (token_serial[0] & 0x7f) | 0x01;
        let mut tst = [
            int_small(1),
            oid(&POLICY),
            seq(&[&seq(&[&oid(&req.hash_alg)]), &tlv(0x04, &req.hash)]),
            tlv(0x02, &token_serial),
            gen_time,
        ]
        .concat();
        if let Some(n) = &req.nonce {
            tst.extend(tlv(0x02, n));
        }
        let tst = tlv(0x30, &tst);

        let attr = |o: &ObjectIdentifier, value: Vec<u8>| seq(&[&oid(o), &tlv(0x31, &value)]);
        // ESSCertIDv2 with the default hash (SHA-256, so the AlgorithmIdentifier is omitted)
        // and the issuer/serial of the signing certificate.
        let issuer_serial = seq(&[&seq(&[&tlv(0xa4, &issuer)]), &serial]);
        let ess_cert_id = seq(&[
            &tlv(0x04, &Sha256::digest(&self.signer_der)),
            &issuer_serial,
        ]);
        let signed_attrs = set_of(vec![
            attr(&OID_CONTENT_TYPE, oid(&OID_TST_INFO)),
            attr(&OID_SIGNING_TIME, signing_time),
            attr(&OID_MESSAGE_DIGEST, tlv(0x04, &Sha256::digest(&tst))),
            attr(&OID_SIGNING_CERTIFICATE_V2, seq(&[&seq(&[&ess_cert_id])])),
        ]);
        let signature: DerSignature = self.key.sign(&signed_attrs);
        let mut implicit_attrs = signed_attrs.clone();
        implicit_attrs[0] = 0xa0;
        let signer_info = seq(&[
            &int_small(1),
            &seq(&[&issuer, &serial]),
            &seq(&[&oid(&OID_SHA256)]),
            &implicit_attrs,
            &seq(&[&oid(&OID_ECDSA_SHA256)]),
            &tlv(0x04, signature.as_bytes()),
        ]);
        let certificates = if req.cert_req {
            tlv(0xa0, &self.signer_der)
        } else {
            Vec::new()
        };
        let signed_data = seq(&[
            &int_small(3),
            &tlv(0x31, &seq(&[&oid(&OID_SHA256)])),
            &seq(&[&oid(&OID_TST_INFO), &tlv(0xa0, &tlv(0x04, &tst))]),
            &certificates,
            &tlv(0x31, &signer_info),
        ]);
        let token = seq(&[&oid(&OID_SIGNED_DATA), &tlv(0xa0, &signed_data)]);
        Ok(seq(&[&seq(&[&int_small(0)]), &token]))
    }
}

/// A rejection TimeStampResp (status 2) with text and failure bit.
pub fn rejection(refusal: &Refusal) -> Vec<u8> {
    // PKIFailureInfo is a named BIT STRING: DER drops trailing zero bits.
    let bit = refusal.fail_bit;
    let byte = bit / 8;
    let mut bits = vec![0u8; byte + 1];
    bits[byte] = 0x80 >> (bit % 8);
    let unused = (7 - bit % 8) as u8;
    let mut bit_string = vec![unused];
    bit_string.extend(bits);
    seq(&[&seq(&[
        &int_small(2),
        &seq(&[&tlv(0x0c, refusal.text.as_bytes())]),
        &tlv(0x03, &bit_string),
    ])])
}

// ---------------------------------------------------------------------------------------------
// HTTP

fn reply(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, REPLY_CONTENT_TYPE)], body).into_response()
}

async fn timestamp(State(tsa): State<Arc<Tsa>>, headers: HeaderMap, body: Body) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.split(';').next().map(str::trim) != Some(QUERY_CONTENT_TYPE) {
        let r = refuse(
            FAIL_BAD_REQUEST,
            format!("Content-Type must be {QUERY_CONTENT_TYPE}, not {content_type:?}"),
        );
        return reply(StatusCode::UNSUPPORTED_MEDIA_TYPE, rejection(&r));
    }
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        let r = refuse(
            FAIL_BAD_DATA_FORMAT,
            format!("request larger than {MAX_BODY} bytes"),
        );
        return reply(StatusCode::PAYLOAD_TOO_LARGE, rejection(&r));
    };
    let req = match parse_request(&bytes) {
        Ok(r) => r,
        Err(r) => return reply(StatusCode::BAD_REQUEST, rejection(&r)),
    };
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match tsa.respond(&req, now) {
        Ok(resp) => reply(StatusCode::OK, resp),
        Err(e) => {
            let r = refuse(FAIL_BAD_REQUEST, format!("cannot sign: {e}"));
            reply(StatusCode::INTERNAL_SERVER_ERROR, rejection(&r))
        }
    }
}

async fn cert_chain(State(tsa): State<Arc<Tsa>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        tsa.chain_pem(),
    )
        .into_response()
}

pub fn router(tsa: Arc<Tsa>) -> Router {
    Router::new()
        .route("/api/v1/timestamp", post(timestamp))
        .route("/api/v1/timestamp/certchain", get(cert_chain))
        .with_state(tsa)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::elliptic_curve::Generate;

    fn tsa() -> Tsa {
        let root_key = SigningKey::generate();
        let key = SigningKey::generate();
        Tsa {
            root_der: make_root(&root_key, 1_700_000_000).unwrap(),
            signer_der: make_signer(&key, &root_key, 1_700_000_000).unwrap(),
            key,
        }
    }

    fn request(nonce: Option<&[u8]>, cert_req: bool) -> Vec<u8> {
        let mut body = [
            int_small(1),
            seq(&[&seq(&[&oid(&OID_SHA256)]), &tlv(0x04, &[7u8; 32])]),
        ]
        .concat();
        if let Some(n) = nonce {
            body.extend(tlv(0x02, n));
        }
        if cert_req {
            body.extend(tlv(0x01, &[0xff]));
        }
        tlv(0x30, &body)
    }

    #[test]
    fn requests_parse_and_bad_ones_are_refused_with_a_reason() {
        let r = parse_request(&request(Some(&[0x00, 0x80]), true)).unwrap();
        assert_eq!(r.hash, vec![7u8; 32]);
        assert_eq!(r.nonce.as_deref(), Some(&[0x00, 0x80][..]));
        assert!(r.cert_req);
        let r = parse_request(&request(None, false)).unwrap();
        assert_eq!((r.nonce, r.cert_req), (None, false));

        assert_eq!(
            parse_request(b"").unwrap_err().fail_bit,
            FAIL_BAD_DATA_FORMAT
        );
        let mut trailing = request(None, false);
        trailing.push(0);
        assert_eq!(
            parse_request(&trailing).unwrap_err().fail_bit,
            FAIL_BAD_DATA_FORMAT
        );
        let md5 = ObjectIdentifier::new_unwrap("1.2.840.113549.2.5");
        let bad_alg = seq(&[
            &int_small(1),
            &seq(&[&seq(&[&oid(&md5)]), &tlv(0x04, &[0u8; 16])]),
        ]);
        assert_eq!(parse_request(&bad_alg).unwrap_err().fail_bit, FAIL_BAD_ALG);
        let short = seq(&[
            &int_small(1),
            &seq(&[&seq(&[&oid(&OID_SHA256)]), &tlv(0x04, &[0u8; 31])]),
        ]);
        assert_eq!(
            parse_request(&short).unwrap_err().fail_bit,
            FAIL_BAD_DATA_FORMAT
        );
    }

    #[test]
    fn response_embeds_the_signer_only_when_asked_and_echoes_the_nonce() {
        let tsa = tsa();
        let with = tsa
            .respond(
                &parse_request(&request(Some(&[0x2a]), true)).unwrap(),
                1_700_000_100,
            )
            .unwrap();
        let without = tsa
            .respond(
                &parse_request(&request(Some(&[0x2a]), false)).unwrap(),
                1_700_000_100,
            )
            .unwrap();
        let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        assert!(contains(&with, &tsa.signer_der));
        assert!(!contains(&without, &tsa.signer_der));
        assert!(contains(&with, b"20231114221500Z"));
        // TSTInfo ends with the echoed nonce.
        assert!(contains(&with, b"20231114221500Z\x02\x01\x2a"));
        assert!(tsa.chain_pem().matches("BEGIN CERTIFICATE").count() == 2);
    }

    #[test]
    fn rejection_encodes_the_failure_bit() {
        let r = rejection(&refuse(FAIL_BAD_DATA_FORMAT, "x"));
        // status 2, "x", BIT STRING with 2 unused bits and bit 5 set.
        assert_eq!(
            r,
            [
                0x30, 0x0e, 0x30, 0x0c, 0x02, 0x01, 0x02, 0x30, 0x03, 0x0c, 0x01, b'x', 0x03, 0x02,
                0x02, 0x04
            ]
        );
        let r = rejection(&refuse(FAIL_BAD_ALG, "x"));
        assert_eq!(&r[r.len() - 4..], [0x03, 0x02, 0x07, 0x80]);
    }
}
