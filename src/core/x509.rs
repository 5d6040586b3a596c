//! X.509 for Sigstore: the Fulcio leaf (identity SAN, OIDC issuer extension, key, validity) and
//! path validation of that leaf to a certificate authority of the trusted root at an explicit
//! time. Intermediates and anchors come only from the trusted root, never from a bundle or a
//! Fulcio response. Supports ECDSA P-256/P-384 with SHA-256/384/512 signatures.

use const_oid::ObjectIdentifier;
use der::asn1::Utf8StringRef;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};
use x509_cert::time::Time;

use super::asn1;
use super::keys::{HashAlg, PublicKey};
use super::time::{UnixTime, ValidFor};
use super::trust_root::{CertificateAuthority, ChainCert, TrustedRoot};

pub const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
pub const OID_SAN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
pub const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
pub const OID_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
pub const OID_EKU_CODE_SIGNING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
pub const OID_EKU_ANY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");
pub const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
pub const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
pub const OID_ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
/// Fulcio OIDC issuer, deprecated form: raw bytes of the string.
pub const OID_FULCIO_ISSUER_V1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio username SAN otherName type.
pub const OID_FULCIO_USERNAME: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");
/// Fulcio OIDC issuer, current form: a DER UTF8String.
pub const OID_FULCIO_ISSUER_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");

/// Why a certificate or its path to a trusted CA is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("certificate is malformed: {0}")]
    Malformed(String),
    #[error("certificate {subject} is valid from {not_before} to {not_after}, not at {at}")]
    NotValidAt {
        subject: String,
        at: UnixTime,
        not_before: UnixTime,
        not_after: UnixTime,
    },
    #[error("certificate authority {ca} is trusted for {valid_for}, not at {at}")]
    CaNotValidAt {
        ca: String,
        at: UnixTime,
        valid_for: ValidFor,
    },
    #[error(
        "certificate issued by {issuer:?} does not chain to a certificate authority of the trusted root"
    )]
    UntrustedIssuer { issuer: String },
    #[error("signature algorithm {0} is not supported")]
    UnsupportedSignatureAlgorithm(String),
    #[error("certificate {subject} has a critical extension {oid} that signet does not process")]
    UnhandledCriticalExtension { subject: String, oid: String },
    #[error("certificate {subject} is not a CA but is used as one")]
    NotACa { subject: String },
    #[error("certificate {subject} allows at most {allowed} intermediates below it")]
    PathLength { subject: String, allowed: u8 },
    #[error("signing certificate is a CA certificate")]
    LeafIsCa,
    #[error("signing certificate key usage does not allow digital signatures")]
    NoDigitalSignature,
    #[error("certificate {subject} is not valid for code signing (extended key usage)")]
    NoCodeSigning { subject: String },
    #[error("signing certificate has {0} subject alternative names; exactly one is required")]
    SanCount(usize),
    #[error("signing certificate identity has an unsupported form ({0})")]
    UnsupportedSan(String),
}

fn malformed(e: impl std::fmt::Display) -> CertError {
    CertError::Malformed(e.to_string())
}

/// A Fulcio-style signing certificate with the facts signet needs from it.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub der: Vec<u8>,
    pub cert: Certificate,
    /// The single SAN: an email, a URI or a Fulcio username.
    pub identity: String,
    /// The OIDC issuer (.1.8 UTF8String, else .1.1 raw), if present.
    pub oidc_issuer: Option<String>,
    pub public_key: PublicKey,
    pub not_before: UnixTime,
    pub not_after: UnixTime,
}

fn unix(t: &Time) -> UnixTime {
    UnixTime(i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX))
}

fn subject(cert: &Certificate) -> String {
    let s = cert.tbs_certificate().subject().to_string();
    if s.is_empty() {
        "(empty subject)".into()
    } else {
        s
    }
}

impl Leaf {
    pub fn from_der(der: &[u8]) -> Result<Self, CertError> {
        let cert = Certificate::from_der(der).map_err(malformed)?;
        let tbs = cert.tbs_certificate();
        let spki = tbs.subject_public_key_info().to_der().map_err(malformed)?;
        let public_key = PublicKey::from_spki_der(&spki).map_err(malformed)?;
        let (_, san) = tbs
            .get_extension::<SubjectAltName>()
            .map_err(malformed)?
            .ok_or(CertError::SanCount(0))?;
        if san.0.len() != 1 {
            return Err(CertError::SanCount(san.0.len()));
        }
        let identity = match &san.0[0] {
            GeneralName::Rfc822Name(s) | GeneralName::UniformResourceIdentifier(s) => s.to_string(),
            GeneralName::OtherName(o) if o.type_id == OID_FULCIO_USERNAME => {
                Utf8StringRef::try_from(&o.value)
                    .map_err(malformed)?
                    .to_string()
            }
            other => return Err(CertError::UnsupportedSan(format!("{other:?}"))),
        };
        let mut v1 = None;
        let mut v2 = None;
        for ext in tbs.extensions().into_iter().flatten() {
            if ext.extn_id == OID_FULCIO_ISSUER_V2 {
                let s = Utf8StringRef::from_der(ext.extn_value.as_bytes()).map_err(malformed)?;
                v2 = Some(s.to_string());
            } else if ext.extn_id == OID_FULCIO_ISSUER_V1 {
                let s = std::str::from_utf8(ext.extn_value.as_bytes()).map_err(malformed)?;
                v1 = Some(s.to_owned());
            }
        }
        Ok(Self {
            der: der.to_vec(),
            identity,
            oidc_issuer: v2.or(v1),
            public_key,
            not_before: unix(&tbs.validity().not_before),
            not_after: unix(&tbs.validity().not_after),
            cert,
        })
    }

    /// Leaf-only policy: not a CA, digitalSignature, EKU codeSigning, no unknown critical extension.
    pub fn check_profile(&self) -> Result<(), CertError> {
        check_critical_extensions(&self.cert)?;
        let tbs = self.cert.tbs_certificate();
        if let Some((_, bc)) = tbs.get_extension::<BasicConstraints>().map_err(malformed)?
            && bc.ca
        {
            return Err(CertError::LeafIsCa);
        }
        match tbs.get_extension::<KeyUsage>().map_err(malformed)? {
            Some((_, ku)) if ku.digital_signature() => {}
            _ => return Err(CertError::NoDigitalSignature),
        }
        match tbs.get_extension::<ExtendedKeyUsage>().map_err(malformed)? {
            Some((_, eku)) if eku.0.contains(&OID_EKU_CODE_SIGNING) => Ok(()),
            _ => Err(CertError::NoCodeSigning {
                subject: "signing certificate".into(),
            }),
        }
    }

    pub fn check_valid_at(&self, at: UnixTime) -> Result<(), CertError> {
        check_validity(&self.cert, at)
    }
}

fn check_validity(cert: &Certificate, at: UnixTime) -> Result<(), CertError> {
    let v = cert.tbs_certificate().validity();
    let (not_before, not_after) = (unix(&v.not_before), unix(&v.not_after));
    if at < not_before || at > not_after {
        return Err(CertError::NotValidAt {
            subject: subject(cert),
            at,
            not_before,
            not_after,
        });
    }
    Ok(())
}

fn check_critical_extensions(cert: &Certificate) -> Result<(), CertError> {
    const HANDLED: [ObjectIdentifier; 4] = [OID_KEY_USAGE, OID_SAN, OID_BASIC_CONSTRAINTS, OID_EKU];
    for ext in cert.tbs_certificate().extensions().into_iter().flatten() {
        if ext.critical && !HANDLED.contains(&ext.extn_id) {
            return Err(CertError::UnhandledCriticalExtension {
                subject: subject(cert),
                oid: ext.extn_id.to_string(),
            });
        }
    }
    Ok(())
}

const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// RSASSA-PKCS1-v1_5 certificate signatures (some private Sigstore CAs use RSA roots), keys of
/// 2048 to 8192 bits.
fn rsa_algorithm(oid: ObjectIdentifier) -> Option<&'static ring::signature::RsaParameters> {
    use ring::signature as rs;
    const SHA256_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
    const SHA384_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
    const SHA512_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
    match oid {
        SHA256_RSA => Some(&rs::RSA_PKCS1_2048_8192_SHA256),
        SHA384_RSA => Some(&rs::RSA_PKCS1_2048_8192_SHA384),
        SHA512_RSA => Some(&rs::RSA_PKCS1_2048_8192_SHA512),
        _ => None,
    }
}

fn verify_rsa_issued_by(
    cert_der: &[u8],
    cert: &Certificate,
    issuer: &Certificate,
    alg: &'static ring::signature::RsaParameters,
) -> Result<(), CertError> {
    let sig_alg = cert.signature_algorithm();
    // RFC 4055: the parameters are NULL (or absent), and match the TBS copy.
    let null_or_absent = sig_alg
        .parameters
        .as_ref()
        .is_none_or(|p| der::Tagged::tag(p) == der::Tag::Null && p.value().is_empty());
    if !null_or_absent || sig_alg != cert.tbs_certificate().signature() {
        return Err(malformed("inconsistent RSA signature algorithm parameters"));
    }
    let spki = issuer.tbs_certificate().subject_public_key_info();
    if spki.algorithm.oid != OID_RSA_ENCRYPTION {
        return Err(malformed(format!(
            "certificate says RSA but its issuer's key is {}",
            spki.algorithm.oid
        )));
    }
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| malformed("RSA key bit string has unused bits"))?;
    let tbs = asn1::raw_tbs(cert_der).map_err(malformed)?;
    let sig = cert
        .signature()
        .as_bytes()
        .ok_or_else(|| malformed("signature bit string has unused bits"))?;
    ring::signature::UnparsedPublicKey::new(alg, key)
        .verify(tbs, sig)
        .map_err(|_| CertError::UntrustedIssuer {
            issuer: cert.tbs_certificate().issuer().to_string(),
        })
}

/// Verify `cert_der`'s signature with `issuer`'s key, over the TBS bytes exactly as received.
pub fn verify_issued_by(
    cert_der: &[u8],
    cert: &Certificate,
    issuer: &Certificate,
) -> Result<(), CertError> {
    let alg = cert.signature_algorithm();
    if let Some(ring_alg) = rsa_algorithm(alg.oid) {
        return verify_rsa_issued_by(cert_der, cert, issuer, ring_alg);
    }
    if alg.parameters.is_some() || alg.oid != cert.tbs_certificate().signature().oid {
        return Err(malformed(
            "inconsistent or parameterised ECDSA signature algorithm",
        ));
    }
    let hash = match alg.oid {
        OID_ECDSA_SHA256 => HashAlg::Sha256,
        OID_ECDSA_SHA384 => HashAlg::Sha384,
        OID_ECDSA_SHA512 => HashAlg::Sha512,
        other => return Err(CertError::UnsupportedSignatureAlgorithm(other.to_string())),
    };
    let spki = issuer
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(malformed)?;
    let key = PublicKey::from_spki_der(&spki).map_err(malformed)?;
    // An ECDSA signature algorithm needs an ECDSA issuer key (never an Ed25519 one).
    if !matches!(key, PublicKey::P256(_) | PublicKey::P384(_)) {
        return Err(malformed(format!(
            "certificate says ECDSA but its issuer's key is {}",
            key.name()
        )));
    }
    let tbs = asn1::raw_tbs(cert_der).map_err(malformed)?;
    let sig = cert
        .signature()
        .as_bytes()
        .ok_or_else(|| malformed("signature bit string has unused bits"))?;
    key.verify_shared(hash, tbs, sig)
        .map_err(|_| CertError::UntrustedIssuer {
            issuer: cert.tbs_certificate().issuer().to_string(),
        })
}

/// CA-only policy for the certificate at `depth` (0 = the one that issued the leaf).
fn check_ca(cert: &Certificate, depth: usize) -> Result<(), CertError> {
    check_critical_extensions(cert)?;
    let tbs = cert.tbs_certificate();
    let not_ca = || CertError::NotACa {
        subject: subject(cert),
    };
    let (_, bc) = tbs
        .get_extension::<BasicConstraints>()
        .map_err(malformed)?
        .ok_or_else(not_ca)?;
    if !bc.ca {
        return Err(not_ca());
    }
    if let Some(allowed) = bc.path_len_constraint
        && usize::from(allowed) < depth
    {
        return Err(CertError::PathLength {
            subject: subject(cert),
            allowed,
        });
    }
    if let Some((_, ku)) = tbs.get_extension::<KeyUsage>().map_err(malformed)?
        && !ku.key_cert_sign()
    {
        return Err(not_ca());
    }
    if let Some((_, eku)) = tbs.get_extension::<ExtendedKeyUsage>().map_err(malformed)?
        && !eku.0.contains(&OID_EKU_CODE_SIGNING)
        && !eku.0.contains(&OID_EKU_ANY)
    {
        return Err(CertError::NoCodeSigning {
            subject: subject(cert),
        });
    }
    Ok(())
}

/// Try one CA: signatures along leaf → chain[0] → … → chain[last], then times and CA policy.
/// Returns `Ok(None)` when the CA did not issue this leaf at all (names or signatures differ).
fn try_ca<'a>(
    leaf: &Leaf,
    ca: &'a CertificateAuthority,
    at: UnixTime,
) -> Result<Option<&'a ChainCert>, CertError> {
    let Some(issuer) = ca.chain.first() else {
        return Ok(None);
    };
    if leaf.cert.tbs_certificate().issuer() != issuer.cert.tbs_certificate().subject()
        || verify_issued_by(&leaf.der, &leaf.cert, &issuer.cert).is_err()
    {
        return Ok(None);
    }
    for pair in ca.chain.windows(2) {
        let (child, parent) = (&pair[0], &pair[1]);
        if child.cert.tbs_certificate().issuer() != parent.cert.tbs_certificate().subject()
            || verify_issued_by(&child.der, &child.cert, &parent.cert).is_err()
        {
            return Err(CertError::Malformed(format!(
                "trusted root chain for {} is broken at {}",
                ca.uri,
                subject(&child.cert)
            )));
        }
    }
    // The leaf is cryptographically from this CA; now everything must hold at `at`.
    if !ca.valid_for.contains(at) {
        return Err(CertError::CaNotValidAt {
            ca: ca.uri.clone(),
            at,
            valid_for: ca.valid_for,
        });
    }
    for (depth, c) in ca.chain.iter().enumerate() {
        check_validity(&c.cert, at)?;
        check_ca(&c.cert, depth)?;
    }
    Ok(Some(issuer))
}

/// Validate the leaf at time `at`: leaf profile, leaf validity, and a path to one of the trusted
/// root's CAs. Returns the certificate that issued the leaf (needed for SCT verification).
pub fn verify_chain<'a>(
    leaf: &Leaf,
    root: &'a TrustedRoot,
    at: UnixTime,
) -> Result<&'a ChainCert, CertError> {
    leaf.check_profile()?;
    leaf.check_valid_at(at)?;
    let mut first_err = None;
    for ca in &root.certificate_authorities {
        match try_ca(leaf, ca, at) {
            Ok(Some(issuer)) => return Ok(issuer),
            Ok(None) => {}
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| CertError::UntrustedIssuer {
        issuer: leaf.cert.tbs_certificate().issuer().to_string(),
    }))
}

/// True for a self-signed certificate (subject == issuer and its own key verifies it).
pub fn is_self_signed(der: &[u8]) -> bool {
    match Certificate::from_der(der) {
        Ok(c) => {
            c.tbs_certificate().issuer() == c.tbs_certificate().subject()
                && verify_issued_by(der, &c, &c).is_ok()
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::keys::test_keys::{p256_key, spki_der};
    use crate::core::testworld::*;
    use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage};

    fn leaf_at(world: &World, validity: (i64, i64), exts: Vec<x509_cert::ext::Extension>) -> Leaf {
        Leaf::from_der(&world.issue_leaf_with(&spki_der(&p256_key()), validity, exts)).unwrap()
    }

    #[test]
    fn valid_leaf_chains_to_intermediate_and_reads_identity() {
        let w = World::new();
        let leaf = Leaf::from_der(&w.issue_leaf(&spki_der(&p256_key()), T0)).unwrap();
        assert_eq!(leaf.identity, EMAIL);
        assert_eq!(leaf.oidc_issuer.as_deref(), Some(ISSUER));
        assert_eq!(
            (leaf.not_before, leaf.not_after),
            (UnixTime(T0), UnixTime(T0 + 600))
        );
        let root = w.trusted_root();
        let issuer = verify_chain(&leaf, &root, UnixTime(T0 + 60)).unwrap();
        assert_eq!(issuer.der, w.inter_der);
        // Both ends of the validity period are inside it.
        verify_chain(&leaf, &root, UnixTime(T0)).unwrap();
        verify_chain(&leaf, &root, UnixTime(T0 + 600)).unwrap();
    }

    #[test]
    fn leaf_outside_validity_at_verified_time() {
        let w = World::new();
        let root = w.trusted_root();
        let leaf = Leaf::from_der(&w.issue_leaf(&spki_der(&p256_key()), T0)).unwrap();
        for at in [T0 + 601, T0 - 1] {
            assert_eq!(
                verify_chain(&leaf, &root, UnixTime(at)).unwrap_err(),
                CertError::NotValidAt {
                    subject: "(empty subject)".into(),
                    at: UnixTime(at),
                    not_before: UnixTime(T0),
                    not_after: UnixTime(T0 + 600),
                }
            );
        }
    }

    #[test]
    fn leaf_from_untrusted_ca_fails() {
        let trusted = World::new();
        let other = World::new(); // same DNs, different keys
        let leaf = Leaf::from_der(&other.issue_leaf(&spki_der(&p256_key()), T0)).unwrap();
        assert!(matches!(
            verify_chain(&leaf, &trusted.trusted_root(), UnixTime(T0 + 1)),
            Err(CertError::UntrustedIssuer { .. })
        ));
    }

    #[test]
    fn ca_outside_its_trusted_root_validity() {
        let w = World::new();
        let mut json = w.trusted_root_json();
        json["certificateAuthorities"][0]["validFor"]["end"] = "2023-12-31T23:59:59Z".into();
        let root = TrustedRoot::from_json(&serde_json::to_vec(&json).unwrap()).unwrap();
        let leaf = Leaf::from_der(&w.issue_leaf(&spki_der(&p256_key()), T0)).unwrap();
        assert!(matches!(
            verify_chain(&leaf, &root, UnixTime(T0 + 1)),
            Err(CertError::CaNotValidAt { .. })
        ));
    }

    #[test]
    fn leaf_profile_violations() {
        let w = World::new();
        let root = w.trusted_root();
        let at = UnixTime(T0 + 1);
        let base = || leaf_extensions(EMAIL, ISSUER);

        let mut no_code_signing = base();
        no_code_signing[1] = ext(
            OID_EKU,
            false,
            ExtendedKeyUsage(vec![OID_EKU_ANY]).to_der().unwrap(),
        );
        let leaf = leaf_at(&w, (T0, T0 + 600), no_code_signing);
        assert!(matches!(
            verify_chain(&leaf, &root, at),
            Err(CertError::NoCodeSigning { .. })
        ));

        let mut is_ca = base();
        is_ca.push(ext(
            OID_BASIC_CONSTRAINTS,
            true,
            BasicConstraints {
                ca: true,
                path_len_constraint: None,
            }
            .to_der()
            .unwrap(),
        ));
        assert_eq!(
            verify_chain(&leaf_at(&w, (T0, T0 + 600), is_ca), &root, at).unwrap_err(),
            CertError::LeafIsCa
        );

        let mut unknown_critical = base();
        unknown_critical.push(ext(
            ObjectIdentifier::new_unwrap("1.2.3.4"),
            true,
            vec![5, 0],
        ));
        assert!(matches!(
            verify_chain(&leaf_at(&w, (T0, T0 + 600), unknown_critical), &root, at),
            Err(CertError::UnhandledCriticalExtension { .. })
        ));

        let no_key_usage: Vec<_> = base().into_iter().skip(1).collect();
        assert_eq!(
            verify_chain(&leaf_at(&w, (T0, T0 + 600), no_key_usage), &root, at).unwrap_err(),
            CertError::NoDigitalSignature
        );
    }

    #[test]
    fn identity_extraction_edge_cases() {
        let w = World::new();
        let key = spki_der(&p256_key());
        // Only the deprecated issuer extension: it is used.
        let v1_only: Vec<_> = leaf_extensions(EMAIL, ISSUER)
            .into_iter()
            .filter(|e| e.extn_id != OID_FULCIO_ISSUER_V2)
            .collect();
        let leaf = Leaf::from_der(&w.issue_leaf_with(&key, (T0, T0 + 600), v1_only)).unwrap();
        assert_eq!(leaf.oidc_issuer.as_deref(), Some(ISSUER));
        // No SAN at all.
        let no_san: Vec<_> = leaf_extensions(EMAIL, ISSUER)
            .into_iter()
            .filter(|e| e.extn_id != OID_SAN)
            .collect();
        assert_eq!(
            Leaf::from_der(&w.issue_leaf_with(&key, (T0, T0 + 600), no_san)).unwrap_err(),
            CertError::SanCount(0)
        );
        assert!(matches!(
            Leaf::from_der(b"\x30\x03\x02\x01\x00"),
            Err(CertError::Malformed(_))
        ));
    }

    #[test]
    fn self_signed_detection() {
        let w = World::new();
        assert!(is_self_signed(&w.root_der));
        assert!(!is_self_signed(&w.inter_der));
        assert!(!is_self_signed(b"garbage"));
    }
}
