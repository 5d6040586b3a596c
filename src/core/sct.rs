//! Embedded Signed Certificate Timestamps (RFC 6962 §3.2-3.3) in Fulcio leaves: parse the SCT
//! list extension and verify a precert SCT against a CT log key of the trusted root. The signed
//! TBS is the leaf TBS with the SCT-list extension removed; the issuer key hash is SHA-256 of the
//! issuing CA's SPKI (taken from the trusted root).

use const_oid::ObjectIdentifier;
use der::asn1::OctetStringRef;
use der::{Decode, Encode};

use super::asn1;
use super::keys::{HashAlg, KeyError, sha256};
use super::time::{UnixTime, ValidFor};
use super::trust_root::{ChainCert, TrustedRoot};
use super::x509::Leaf;

pub const OID_SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SctError {
    #[error("signing certificate carries no embedded SCT")]
    Missing,
    #[error("embedded SCT list is malformed: {0}")]
    Malformed(&'static str),
    #[error("SCT is from CT log {log_id}, which the trusted root does not list")]
    UnknownLog { log_id: String },
    #[error("SCT uses hash {hash} / signature {sig}; only SHA-256 with ECDSA is supported")]
    UnsupportedAlgorithm { hash: u8, sig: u8 },
    #[error("the key of CT log {log} cannot be used: {source}")]
    UnusableLogKey { log: String, source: KeyError },
    #[error("CT log {log} key is valid for {valid_for}, not at the SCT time {at}")]
    LogKeyNotValidAt {
        log: String,
        at: UnixTime,
        valid_for: ValidFor,
    },
    #[error("SCT signature does not verify with the key of CT log {log}")]
    InvalidSignature { log: String },
}

/// One serialized v1 SCT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sct {
    pub log_id: [u8; 32],
    pub timestamp_ms: u64,
    pub extensions: Vec<u8>,
    pub hash_alg: u8,
    pub sig_alg: u8,
    pub signature: Vec<u8>,
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SctError> {
        if self.0.len() < n {
            return Err(SctError::Malformed("truncated"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, SctError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<usize, SctError> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
    fn vec16(&mut self) -> Result<&'a [u8], SctError> {
        let n = self.u16()?;
        self.take(n)
    }
}

/// Parse the TLS `SignedCertificateTimestampList`.
pub fn parse_sct_list(list: &[u8]) -> Result<Vec<Sct>, SctError> {
    let mut outer = Cursor(list);
    let mut items = Cursor(outer.vec16()?);
    if !outer.0.is_empty() {
        return Err(SctError::Malformed("trailing bytes after the list"));
    }
    let mut out = Vec::new();
    while !items.0.is_empty() {
        let mut c = Cursor(items.vec16()?);
        if c.u8()? != 0 {
            return Err(SctError::Malformed("unsupported SCT version"));
        }
        let mut log_id = [0u8; 32];
        log_id.copy_from_slice(c.take(32)?);
        let ts = c.take(8)?;
        let timestamp_ms =
            u64::from_be_bytes([ts[0], ts[1], ts[2], ts[3], ts[4], ts[5], ts[6], ts[7]]);
        let extensions = c.vec16()?.to_vec();
        let hash_alg = c.u8()?;
        let sig_alg = c.u8()?;
        let signature = c.vec16()?.to_vec();
        if !c.0.is_empty() {
            return Err(SctError::Malformed("trailing bytes in an SCT"));
        }
        out.push(Sct {
            log_id,
            timestamp_ms,
            extensions,
            hash_alg,
            sig_alg,
            signature,
        });
    }
    if out.is_empty() {
        return Err(SctError::Missing);
    }
    Ok(out)
}

/// The RFC 6962 `digitally-signed` input for a precert entry.
pub fn signed_data(
    sct: &Sct,
    issuer_key_hash: &[u8; 32],
    precert_tbs: &[u8],
) -> Result<Vec<u8>, SctError> {
    let tbs_len = u32::try_from(precert_tbs.len())
        .ok()
        .filter(|&n| n < 1 << 24)
        .ok_or(SctError::Malformed("TBS too large"))?;
    let ext_len = u16::try_from(sct.extensions.len())
        .map_err(|_| SctError::Malformed("extensions too large"))?;
    let mut out = Vec::with_capacity(precert_tbs.len() + 64);
    out.push(0); // sct_version v1
    out.push(0); // signature_type certificate_timestamp
    out.extend_from_slice(&sct.timestamp_ms.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes()); // precert_entry
    out.extend_from_slice(issuer_key_hash);
    out.extend_from_slice(&tbs_len.to_be_bytes()[1..]);
    out.extend_from_slice(precert_tbs);
    out.extend_from_slice(&ext_len.to_be_bytes());
    out.extend_from_slice(&sct.extensions);
    Ok(out)
}

/// The precert TBS and issuer key hash an embedded SCT of `leaf` (issued by `issuer`) signs.
pub fn precert_inputs(leaf: &Leaf, issuer: &ChainCert) -> Result<(Vec<u8>, [u8; 32]), SctError> {
    let oid_tlv = OID_SCT_LIST
        .to_der()
        .map_err(|_| SctError::Malformed("OID encoding"))?;
    let tbs = asn1::raw_tbs(&leaf.der).map_err(SctError::Malformed)?;
    let precert = asn1::tbs_without_extension(tbs, &oid_tlv).map_err(SctError::Malformed)?;
    let spki = issuer
        .cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|_| SctError::Malformed("issuer SPKI encoding"))?;
    Ok((precert, sha256(&spki)))
}

/// Verify that at least one embedded SCT is validly signed by a CT log of the trusted root.
pub fn verify_embedded_sct(
    leaf: &Leaf,
    issuer: &ChainCert,
    root: &TrustedRoot,
) -> Result<(), SctError> {
    let ext = leaf
        .cert
        .tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
        .find(|e| e.extn_id == OID_SCT_LIST)
        .ok_or(SctError::Missing)?;
    let list = <&OctetStringRef>::from_der(ext.extn_value.as_bytes())
        .map_err(|_| SctError::Malformed("extension value is not an OCTET STRING"))?;
    let scts = parse_sct_list(list.as_bytes())?;
    let (precert, issuer_key_hash) = precert_inputs(leaf, issuer)?;
    let mut first_err = None;
    for sct in &scts {
        match verify_one(sct, &issuer_key_hash, &precert, root) {
            Ok(()) => return Ok(()),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or(SctError::Missing))
}

fn verify_one(
    sct: &Sct,
    issuer_key_hash: &[u8; 32],
    precert: &[u8],
    root: &TrustedRoot,
) -> Result<(), SctError> {
    let at = UnixTime(i64::try_from(sct.timestamp_ms / 1000).unwrap_or(i64::MAX));
    let log = root
        .ctlog(&sct.log_id, at)
        .ok_or_else(|| SctError::UnknownLog {
            log_id: hex::encode(sct.log_id),
        })?;
    if sct.hash_alg != 4 || sct.sig_alg != 3 {
        return Err(SctError::UnsupportedAlgorithm {
            hash: sct.hash_alg,
            sig: sct.sig_alg,
        });
    }
    if !log.valid_for.contains(at) {
        return Err(SctError::LogKeyNotValidAt {
            log: log.base_url.clone(),
            at,
            valid_for: log.valid_for,
        });
    }
    let key = log
        .public_key()
        .map_err(|source| SctError::UnusableLogKey {
            log: log.base_url.clone(),
            source,
        })?;
    let data = signed_data(sct, issuer_key_hash, precert)?;
    key.verify_shared(HashAlg::Sha256, &data, &sct.signature)
        .map_err(|_| SctError::InvalidSignature {
            log: log.base_url.clone(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sct_bytes(ext: &[u8], sig: &[u8]) -> Vec<u8> {
        let mut s = vec![0u8];
        s.extend_from_slice(&[7u8; 32]);
        s.extend_from_slice(&1_700_000_000_000u64.to_be_bytes());
        s.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        s.extend_from_slice(ext);
        s.extend_from_slice(&[4, 3]);
        s.extend_from_slice(&(sig.len() as u16).to_be_bytes());
        s.extend_from_slice(sig);
        s
    }

    fn list(items: &[Vec<u8>]) -> Vec<u8> {
        let mut body = Vec::new();
        for i in items {
            body.extend_from_slice(&(i.len() as u16).to_be_bytes());
            body.extend_from_slice(i);
        }
        let mut out = (body.len() as u16).to_be_bytes().to_vec();
        out.extend(body);
        out
    }

    #[test]
    fn parses_list_with_extensions() {
        let l = list(&[
            sct_bytes(b"\x00\x00\x05\x01\x02\x03\x04\x05", b"sig"),
            sct_bytes(b"", b"s2"),
        ]);
        let scts = parse_sct_list(&l).unwrap();
        assert_eq!(scts.len(), 2);
        assert_eq!(scts[0].timestamp_ms, 1_700_000_000_000);
        assert_eq!(scts[0].extensions.len(), 8);
        assert_eq!(scts[1].signature, b"s2");
    }

    #[test]
    fn rejects_malformed_lists() {
        let good = sct_bytes(b"", b"sig");
        assert_eq!(parse_sct_list(&list(&[])), Err(SctError::Missing));
        let mut v1 = good.clone();
        v1[0] = 1;
        assert!(matches!(
            parse_sct_list(&list(&[v1])),
            Err(SctError::Malformed(_))
        ));
        let truncated = good[..good.len() - 1].to_vec();
        assert!(matches!(
            parse_sct_list(&list(&[truncated])),
            Err(SctError::Malformed(_))
        ));
        let mut trailing = list(std::slice::from_ref(&good));
        trailing.push(0);
        assert!(matches!(
            parse_sct_list(&trailing),
            Err(SctError::Malformed(_))
        ));
        assert!(matches!(
            parse_sct_list(&[0x00]),
            Err(SctError::Malformed(_))
        ));
    }

    #[test]
    fn signed_data_layout() {
        let sct = parse_sct_list(&list(&[sct_bytes(b"ab", b"sig")]))
            .unwrap()
            .remove(0);
        let d = signed_data(&sct, &[9; 32], b"TBS").unwrap();
        assert_eq!(&d[..2], &[0, 0]);
        assert_eq!(&d[2..10], &1_700_000_000_000u64.to_be_bytes());
        assert_eq!(&d[10..12], &[0, 1]);
        assert_eq!(&d[12..44], &[9; 32]);
        assert_eq!(&d[44..47], &[0, 0, 3]);
        assert_eq!(&d[47..50], b"TBS");
        assert_eq!(&d[50..], &[0, 2, b'a', b'b']);
    }
}

#[cfg(test)]
mod world_tests {
    use super::*;
    use crate::core::keys::test_keys::{p256_key, spki_der};
    use crate::core::testworld::*;
    use crate::core::x509::verify_chain;

    fn setup(w: &World) -> (Leaf, TrustedRoot) {
        let leaf = Leaf::from_der(&w.issue_leaf(&spki_der(&p256_key()), T0)).unwrap();
        (leaf, w.trusted_root())
    }

    #[test]
    fn embedded_sct_verifies() {
        let w = World::new();
        let (leaf, root) = setup(&w);
        let issuer = verify_chain(&leaf, &root, UnixTime(T0)).unwrap();
        verify_embedded_sct(&leaf, issuer, &root).unwrap();
    }

    #[test]
    fn sct_from_unknown_log_or_wrong_issuer_or_time() {
        let w = World::new();
        let (leaf, root) = setup(&w);
        let issuer = verify_chain(&leaf, &root, UnixTime(T0)).unwrap();

        // A root whose CT log is another key.
        let other = World::new();
        let mut json = w.trusted_root_json();
        json["ctlogs"] = other.trusted_root_json()["ctlogs"].clone();
        let foreign = TrustedRoot::from_json(&serde_json::to_vec(&json).unwrap()).unwrap();
        assert!(matches!(
            verify_embedded_sct(&leaf, issuer, &foreign),
            Err(SctError::UnknownLog { .. })
        ));

        // The right log, but its key is not valid at the SCT time.
        let mut json = w.trusted_root_json();
        json["ctlogs"][0]["publicKey"]["validFor"]["start"] = "2030-01-01T00:00:00Z".into();
        let late = TrustedRoot::from_json(&serde_json::to_vec(&json).unwrap()).unwrap();
        assert!(matches!(
            verify_embedded_sct(&leaf, issuer, &late),
            Err(SctError::LogKeyNotValidAt { .. })
        ));

        // The issuer key hash must be the real issuer's: using the root instead breaks the signature.
        let root_as_issuer = &root.certificate_authorities[0].chain[1];
        assert!(matches!(
            verify_embedded_sct(&leaf, root_as_issuer, &root),
            Err(SctError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn leaf_without_sct_is_rejected() {
        let w = World::new();
        let der = build_cert(
            INTER_DN,
            "",
            &spki_der(&p256_key()),
            (T0, T0 + 600),
            leaf_extensions(EMAIL, ISSUER),
            &w.inter_key,
        );
        let leaf = Leaf::from_der(&der).unwrap();
        let root = w.trusted_root();
        let issuer = verify_chain(&leaf, &root, UnixTime(T0)).unwrap();
        assert_eq!(
            verify_embedded_sct(&leaf, issuer, &root),
            Err(SctError::Missing)
        );
    }
}
