//! The local Fulcio's certificate authority: a root and an intermediate (made once, kept in the
//! store) and leaf certificates shaped like the public instance's (10 minutes by default, the
//! lifetime is the caller's), each with an SCT from the local CT log key embedded.
//!
//! Leaf profile (as `fulcio/docs/certificate-specification.md`): empty subject, KeyUsage
//! digitalSignature (critical), EKU codeSigning, SKI, AKI, one critical SAN (email or URI),
//! issuer extensions 1.3.6.1.4.1.57264.1.1 (raw) and .1.8 (UTF8String), then the SCT list. The
//! SCT signs the leaf's TBSCertificate without the SCT extension, as RFC 6962 §3.2 precert
//! entries are verified.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::{ID_CE_SUBJECT_ALT_NAME, ID_KP_CODE_SIGNING};
use der::asn1::{Ia5String, OctetString, Utf8StringRef};
use der::{Decode, Encode};
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey, signature::Signer};
use sha2::{Digest, Sha256};
use spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::builder::{Builder, CertificateBuilder, profile::BuilderProfile};
use x509_cert::certificate::{Certificate, TbsCertificate};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

pub const OID_ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
pub const OID_ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
pub const OID_SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_SKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const OID_AKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");

/// How long a leaf certificate lives by default, as on the public instance.
pub const LEAF_LIFETIME: Duration = Duration::from_secs(600);
/// How long the CA certificates live.
const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("building a certificate failed: {0}")]
    Build(String),
    #[error("invalid identity for a certificate: {0}")]
    Identity(String),
}

fn build_err(e: impl std::fmt::Display) -> CaError {
    CaError::Build(e.to_string())
}

/// The subject alternative name a leaf certifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum San {
    Email(String),
    Uri(String),
}

/// A profile that emits a fixed subject, issuer (none: self-issued) and list of extensions, in
/// order.
pub(crate) struct Fixed {
    pub(crate) issuer: Option<Name>,
    pub(crate) subject: Name,
    pub(crate) extensions: Vec<Extension>,
}

impl BuilderProfile for Fixed {
    fn get_issuer(&self, subject: &Name) -> Name {
        self.issuer.clone().unwrap_or_else(|| subject.clone())
    }
    fn get_subject(&self) -> Name {
        self.subject.clone()
    }
    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

fn ext(oid: ObjectIdentifier, critical: bool, value: Vec<u8>) -> Result<Extension, CaError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).map_err(build_err)?,
    })
}

fn der_of(v: &impl Encode) -> Result<Vec<u8>, CaError> {
    v.to_der().map_err(build_err)
}

/// Subject key identifier: the first 20 bytes of SHA-256 of the public key bits.
fn key_identifier(key: &VerifyingKey) -> Vec<u8> {
    Sha256::digest(key.to_sec1_point(false).as_bytes())[..20].to_vec()
}

fn time_at(unix: u64) -> Result<Time, CaError> {
    Time::try_from(SystemTime::UNIX_EPOCH + Duration::from_secs(unix)).map_err(build_err)
}

fn spki(key: &VerifyingKey) -> Result<SubjectPublicKeyInfoOwned, CaError> {
    SubjectPublicKeyInfoOwned::from_key(key).map_err(build_err)
}

fn random_serial() -> Result<SerialNumber, CaError> {
    let mut bytes: [u8; 20] = rand::random();
    bytes[0] = (bytes[0] & 0x7f) | 0x01; // positive, 160 bits, no leading zero to strip
    SerialNumber::new(&bytes).map_err(build_err)
}

fn build(
    profile: Fixed,
    serial: SerialNumber,
    validity: Validity,
    subject_key: &VerifyingKey,
    signer: &SigningKey,
) -> Result<Certificate, CaError> {
    CertificateBuilder::new(profile, serial, validity, spki(subject_key)?)
        .map_err(build_err)?
        .build::<_, DerSignature>(signer)
        .map_err(build_err)
}

fn ca_extensions(
    key: &VerifyingKey,
    path_len: Option<u8>,
    parent: Option<&VerifyingKey>,
) -> Result<Vec<Extension>, CaError> {
    let mut exts = vec![
        ext(
            OID_BASIC_CONSTRAINTS,
            true,
            der_of(&BasicConstraints {
                ca: true,
                path_len_constraint: path_len,
            })?,
        )?,
        ext(
            OID_KEY_USAGE,
            true,
            der_of(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))?,
        )?,
    ];
    if parent.is_some() {
        exts.push(ext(
            OID_EXT_KEY_USAGE,
            false,
            der_of(&ExtendedKeyUsage(vec![ID_KP_CODE_SIGNING]))?,
        )?);
    }
    exts.push(ext(
        OID_SKI,
        false,
        der_of(&OctetString::new(key_identifier(key)).map_err(build_err)?)?,
    )?);
    if let Some(parent) = parent {
        exts.push(aki(parent)?);
    }
    Ok(exts)
}

fn aki(parent: &VerifyingKey) -> Result<Extension, CaError> {
    ext(
        OID_AKI,
        false,
        der_of(&AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(key_identifier(parent)).map_err(build_err)?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        })?,
    )
}

fn name(s: &str) -> Result<Name, CaError> {
    Name::from_str(s).map_err(build_err)
}

/// Makes the self-signed root, valid from `not_before` (unix seconds).
pub fn make_root(key: &SigningKey, not_before: u64) -> Result<Vec<u8>, CaError> {
    let subject = name("CN=signet-teststack root,O=signet-teststack")?;
    let profile = Fixed {
        issuer: None,
        subject,
        extensions: ca_extensions(key.verifying_key(), Some(1), None)?,
    };
    let validity = Validity::new(
        time_at(not_before)?,
        time_at(not_before + CA_LIFETIME.as_secs())?,
    );
    der_of(&build(
        profile,
        random_serial()?,
        validity,
        key.verifying_key(),
        key,
    )?)
}

/// Makes the intermediate, signed by the root.
pub fn make_intermediate(
    key: &SigningKey,
    root_key: &SigningKey,
    root_der: &[u8],
    not_before: u64,
) -> Result<Vec<u8>, CaError> {
    let root = Certificate::from_der(root_der).map_err(build_err)?;
    let profile = Fixed {
        issuer: Some(root.tbs_certificate().subject().clone()),
        subject: name("CN=signet-teststack intermediate,O=signet-teststack")?,
        extensions: ca_extensions(key.verifying_key(), Some(0), Some(root_key.verifying_key()))?,
    };
    let validity = Validity::new(
        time_at(not_before)?,
        time_at(not_before + CA_LIFETIME.as_secs())?,
    );
    der_of(&build(
        profile,
        random_serial()?,
        validity,
        key.verifying_key(),
        root_key,
    )?)
}

/// The issuing side of the local Fulcio.
pub struct Ca {
    pub intermediate_key: SigningKey,
    pub intermediate_der: Vec<u8>,
    pub root_der: Vec<u8>,
    pub ct_key: SigningKey,
}

impl Ca {
    /// Issues a leaf for `subject_key`, certifying `san` as issued by OIDC issuer `issuer`,
    /// valid from `now` for `lifetime` (whole seconds; [`LEAF_LIFETIME`] on the public
    /// instance), with an embedded SCT timestamped `now`.
    pub fn issue_leaf(
        &self,
        subject_key: &VerifyingKey,
        san: &San,
        issuer: &str,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Vec<u8>, CaError> {
        let intermediate = Certificate::from_der(&self.intermediate_der).map_err(build_err)?;
        let unix = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(build_err)?;
        let general_name = match san {
            San::Email(e) => GeneralName::Rfc822Name(
                Ia5String::new(e).map_err(|e| CaError::Identity(format!("email: {e}")))?,
            ),
            San::Uri(u) => GeneralName::UniformResourceIdentifier(
                Ia5String::new(u).map_err(|e| CaError::Identity(format!("uri: {e}")))?,
            ),
        };
        let mut extensions = vec![
            ext(
                OID_KEY_USAGE,
                true,
                der_of(&KeyUsage(KeyUsages::DigitalSignature.into()))?,
            )?,
            ext(
                OID_EXT_KEY_USAGE,
                false,
                der_of(&ExtendedKeyUsage(vec![ID_KP_CODE_SIGNING]))?,
            )?,
            ext(
                OID_SKI,
                false,
                der_of(&OctetString::new(key_identifier(subject_key)).map_err(build_err)?)?,
            )?,
            aki(self.intermediate_key.verifying_key())?,
            ext(
                ID_CE_SUBJECT_ALT_NAME,
                true,
                der_of(&SubjectAltName(vec![general_name]))?,
            )?,
            ext(OID_ISSUER_V1, false, issuer.as_bytes().to_vec())?,
            ext(
                OID_ISSUER_V2,
                false,
                der_of(&Utf8StringRef::new(issuer).map_err(build_err)?)?,
            )?,
        ];
        let serial = random_serial()?;
        let validity = Validity::new(
            time_at(unix.as_secs())?,
            time_at(unix.as_secs().saturating_add(lifetime.as_secs()))?,
        );
        let issuer_name = intermediate.tbs_certificate().subject().clone();
        let profile = |extensions: Vec<Extension>| Fixed {
            issuer: Some(issuer_name.clone()),
            subject: Name::default(),
            extensions,
        };

        // The TBSCertificate without the SCT list is what the CT log signs.
        let mut pre = CertificateBuilder::new(
            profile(extensions.clone()),
            serial.clone(),
            validity,
            spki(subject_key)?,
        )
        .map_err(build_err)?;
        let pre_tbs = pre.finalize(&self.intermediate_key).map_err(build_err)?;
        let issuer_spki = der_of(
            &intermediate
                .tbs_certificate()
                .subject_public_key_info()
                .clone(),
        )?;
        let sct = sign_sct(
            &self.ct_key,
            unix.as_millis() as u64,
            &issuer_spki,
            &pre_tbs,
        );
        extensions.push(ext(
            OID_SCT_LIST,
            false,
            der_of(&OctetString::new(sct_list(&sct)).map_err(build_err)?)?,
        )?);
        der_of(&build(
            profile(extensions),
            serial,
            validity,
            subject_key,
            &self.intermediate_key,
        )?)
    }
}

/// A serialized RFC 6962 v1 SCT over a precert entry.
fn sign_sct(ct_key: &SigningKey, timestamp_ms: u64, issuer_spki: &[u8], tbs: &[u8]) -> Vec<u8> {
    let mut signed = vec![0u8, 0u8]; // sct_version v1, signature_type certificate_timestamp
    signed.extend_from_slice(&timestamp_ms.to_be_bytes());
    signed.extend_from_slice(&1u16.to_be_bytes()); // precert_entry
    signed.extend_from_slice(&Sha256::digest(issuer_spki));
    signed.extend_from_slice(&(tbs.len() as u32).to_be_bytes()[1..]); // uint24 length
    signed.extend_from_slice(tbs);
    signed.extend_from_slice(&0u16.to_be_bytes()); // no extensions
    let sig: DerSignature = ct_key.sign(&signed);
    let sig = sig.as_bytes();

    let mut sct = vec![0u8]; // v1
    sct.extend_from_slice(&crate::keys::key_id(ct_key.verifying_key()));
    sct.extend_from_slice(&timestamp_ms.to_be_bytes());
    sct.extend_from_slice(&0u16.to_be_bytes()); // extensions
    sct.extend_from_slice(&[4, 3]); // sha256, ecdsa
    sct.extend_from_slice(&(sig.len() as u16).to_be_bytes());
    sct.extend_from_slice(sig);
    sct
}

/// A TLS `SignedCertificateTimestampList` holding one SCT.
fn sct_list(sct: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(sct.len() + 4);
    out.extend_from_slice(&((sct.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&(sct.len() as u16).to_be_bytes());
    out.extend_from_slice(sct);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::elliptic_curve::Generate;

    fn ca() -> Ca {
        let root_key = SigningKey::generate();
        let inter_key = SigningKey::generate();
        let root = make_root(&root_key, 1_700_000_000).unwrap();
        let inter = make_intermediate(&inter_key, &root_key, &root, 1_700_000_000).unwrap();
        Ca {
            intermediate_key: inter_key,
            intermediate_der: inter,
            root_der: root,
            ct_key: SigningKey::generate(),
        }
    }

    fn verify_signed_by(cert: &Certificate, issuer: &VerifyingKey) -> bool {
        let tbs = cert.tbs_certificate().to_der().unwrap();
        let sig = DerSignature::from_bytes(cert.signature().raw_bytes()).unwrap();
        issuer.verify(&tbs, &sig).is_ok()
    }

    #[test]
    fn leaf_has_the_fulcio_profile_and_chains_to_the_root() {
        let ca = ca();
        let subject = SigningKey::generate();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let der = ca
            .issue_leaf(
                subject.verifying_key(),
                &San::Email("alice@example.com".into()),
                "http://127.0.0.1:1/oidc",
                now,
                LEAF_LIFETIME,
            )
            .unwrap();
        let leaf = Certificate::from_der(&der).unwrap();
        let inter = Certificate::from_der(&ca.intermediate_der).unwrap();
        let root = Certificate::from_der(&ca.root_der).unwrap();
        assert!(verify_signed_by(&leaf, ca.intermediate_key.verifying_key()));
        let root_vk = VerifyingKey::from_sec1_bytes(
            root.tbs_certificate()
                .subject_public_key_info()
                .subject_public_key
                .raw_bytes(),
        )
        .unwrap();
        assert!(verify_signed_by(&inter, &root_vk));
        assert!(verify_signed_by(&root, &root_vk));

        let tbs = leaf.tbs_certificate();
        assert!(tbs.subject().is_empty());
        let v = tbs.validity();
        assert_eq!(
            v.not_after.to_unix_duration() - v.not_before.to_unix_duration(),
            LEAF_LIFETIME
        );
        let exts = tbs.extensions().unwrap();
        let oids: Vec<String> = exts.iter().map(|e| e.extn_id.to_string()).collect();
        assert_eq!(
            oids,
            [
                "2.5.29.15",
                "2.5.29.37",
                "2.5.29.14",
                "2.5.29.35",
                "2.5.29.17",
                "1.3.6.1.4.1.57264.1.1",
                "1.3.6.1.4.1.57264.1.8",
                "1.3.6.1.4.1.11129.2.4.2"
            ]
        );
        assert!(exts[4].critical && exts[0].critical);
        assert_eq!(exts[5].extn_value.as_bytes(), b"http://127.0.0.1:1/oidc");
    }

    #[test]
    fn leaf_lives_for_the_lifetime_it_is_given() {
        let ca = ca();
        let subject = SigningKey::generate();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for lifetime in [
            Duration::from_secs(1),
            Duration::from_secs(5),
            Duration::from_secs(86_400),
        ] {
            let der = ca
                .issue_leaf(
                    subject.verifying_key(),
                    &San::Email("a@b.c".into()),
                    "iss",
                    now,
                    lifetime,
                )
                .unwrap();
            let leaf = Certificate::from_der(&der).unwrap();
            let v = leaf.tbs_certificate().validity();
            assert_eq!(
                v.not_before.to_unix_duration(),
                Duration::from_secs(1_800_000_000)
            );
            assert_eq!(
                v.not_after.to_unix_duration() - v.not_before.to_unix_duration(),
                lifetime
            );
        }
    }

    #[test]
    fn embedded_sct_verifies_over_the_tbs_without_it() {
        let ca = ca();
        let subject = SigningKey::generate();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let der = ca
            .issue_leaf(
                subject.verifying_key(),
                &San::Uri("https://x/y".into()),
                "iss",
                now,
                LEAF_LIFETIME,
            )
            .unwrap();
        let leaf = Certificate::from_der(&der).unwrap();
        // Rebuild the precert TBS the way a verifier does: drop the SCT extension, re-encode.
        let exts = leaf.tbs_certificate().extensions().unwrap().to_vec();
        let sct_ext = exts.iter().find(|e| e.extn_id == OID_SCT_LIST).unwrap();
        let list = OctetString::from_der(sct_ext.extn_value.as_bytes()).unwrap();
        let list = list.as_bytes();
        let sct = &list[4..];
        assert_eq!(
            &sct[1..33],
            crate::keys::key_id(ca.ct_key.verifying_key()).as_slice()
        );
        let ts = u64::from_be_bytes(sct[33..41].try_into().unwrap());
        assert_eq!(ts, 1_800_000_000_000);
        let sig_len = u16::from_be_bytes([sct[45], sct[46]]) as usize;
        let sig = DerSignature::from_bytes(&sct[47..47 + sig_len]).unwrap();

        // The same TBS fields minus the SCT extension, encoded afresh.
        let kept: Vec<Extension> = exts
            .into_iter()
            .filter(|e| e.extn_id != OID_SCT_LIST)
            .collect();
        let inter = Certificate::from_der(&ca.intermediate_der).unwrap();
        let mut pre = CertificateBuilder::new(
            Fixed {
                issuer: Some(inter.tbs_certificate().subject().clone()),
                subject: Name::default(),
                extensions: kept,
            },
            leaf.tbs_certificate().serial_number().clone(),
            *leaf.tbs_certificate().validity(),
            leaf.tbs_certificate().subject_public_key_info().clone(),
        )
        .unwrap();
        let pre_tbs = pre.finalize(&ca.intermediate_key).unwrap();
        let mut signed = vec![0u8, 0];
        signed.extend_from_slice(&ts.to_be_bytes());
        signed.extend_from_slice(&[0, 1]);
        let issuer_spki = inter
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .unwrap();
        signed.extend_from_slice(&Sha256::digest(&issuer_spki));
        signed.extend_from_slice(&(pre_tbs.len() as u32).to_be_bytes()[1..]);
        signed.extend_from_slice(&pre_tbs);
        signed.extend_from_slice(&[0, 0]);
        assert!(ca.ct_key.verifying_key().verify(&signed, &sig).is_ok());
        signed[5] ^= 1;
        assert!(ca.ct_key.verifying_key().verify(&signed, &sig).is_err());
    }
}
