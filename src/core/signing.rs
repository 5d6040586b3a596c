//! Checks a signer makes on what the services hand back, before using it: the Fulcio chain
//! (our key, chains to the trusted root now, codeSigning, SCT) and the Rekor v1 response (parsed
//! from the wire format, body equal to what was sent, SET/proof/checkpoint, time inside the
//! certificate's validity).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use der::Encode;
use serde::Deserialize;

use super::merkle;
use super::rekor::{
    self, BodyError, InclusionProof, ProofPolicy, TlogEntry, TlogError, VerifiedEntry,
};
use super::sct::{self, SctError};
use super::time::UnixTime;
use super::trust_root::TrustedRoot;
use super::x509::{self, CertError, Leaf};

/// Largest Rekor response parsed (one hashedrekord entry with its proof is a few KB; a bundle,
/// which carries the same material, is capped at the same size).
pub const MAX_REKOR_RESPONSE_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    #[error("Fulcio returned no certificate")]
    EmptyChain,
    #[error("Fulcio issued a certificate for a different public key than ours")]
    KeyMismatch,
    #[error("Fulcio certificate: {0}")]
    Certificate(#[from] CertError),
    #[error("Fulcio certificate transparency: {0}")]
    Sct(#[from] SctError),
    #[error("Rekor response is malformed: {0}")]
    RekorResponse(String),
    #[error("Rekor logged something other than what was sent: {0}")]
    Body(#[from] BodyError),
    #[error("Rekor entry evidence: {0}")]
    Tlog(#[from] TlogError),
    #[error("timestamp authority's token: {0}")]
    Timestamp(#[from] super::tsp::TimestampError),
}

/// Check the chain Fulcio returned (DER, leaf first). Only the leaf is used; intermediates and
/// roots come from the trusted root.
pub fn check_issued_certificate(
    chain: &[Vec<u8>],
    our_spki_der: &[u8],
    root: &TrustedRoot,
    now: UnixTime,
) -> Result<Leaf, SigningError> {
    let leaf_der = chain.first().ok_or(SigningError::EmptyChain)?;
    let leaf = Leaf::from_der(leaf_der)?;
    let leaf_spki = leaf
        .cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| CertError::Malformed(e.to_string()))?;
    if leaf_spki != our_spki_der {
        return Err(SigningError::KeyMismatch);
    }
    let issuer = x509::verify_chain(&leaf, root, now)?;
    sct::verify_embedded_sct(&leaf, issuer, root)?;
    Ok(leaf)
}

/// Check a fresh Rekor entry for our signature before it goes into a bundle.
pub fn check_log_entry(
    entry: &TlogEntry,
    digest: &[u8; 32],
    signature: &[u8],
    leaf: &Leaf,
    root: &TrustedRoot,
) -> Result<VerifiedEntry, SigningError> {
    rekor::check_body(&entry.body, digest, signature, &leaf.der)?;
    let verified = rekor::verify_entry(entry, root, ProofPolicy::RequireCheckpoint)?;
    leaf.check_valid_at(verified.integrated_time)?;
    Ok(verified)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogEntryWire {
    body: String,
    integrated_time: i64,
    #[serde(rename = "logID")]
    log_id: String,
    log_index: i64,
    verification: Option<VerificationWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerificationWire {
    signed_entry_timestamp: Option<String>,
    inclusion_proof: Option<InclusionProofWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionProofWire {
    checkpoint: Option<String>,
    #[serde(default)]
    hashes: Vec<String>,
    log_index: i64,
    root_hash: String,
    tree_size: i64,
}

/// Parse a Rekor v1 `POST /api/v1/log/entries` response (`{entryID: LogEntry}`).
pub fn parse_rekor_response(bytes: &[u8]) -> Result<TlogEntry, SigningError> {
    let bad = |m: String| SigningError::RekorResponse(m);
    if bytes.len() > MAX_REKOR_RESPONSE_BYTES {
        return Err(bad(format!(
            "response is larger than {MAX_REKOR_RESPONSE_BYTES} bytes"
        )));
    }
    let map: BTreeMap<String, LogEntryWire> =
        serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    if map.len() != 1 {
        return Err(bad(format!("expected one entry, got {}", map.len())));
    }
    let Some((entry_id, e)) = map.into_iter().next() else {
        return Err(bad("no entry".into()));
    };
    let body = B64
        .decode(&e.body)
        .map_err(|_| bad("body is not base64".into()))?;
    let uuid = hex::encode(merkle::leaf_hash(&body));
    if !entry_id.ends_with(&uuid) || !(entry_id.len() == 64 || entry_id.len() == 80) {
        return Err(bad(format!(
            "entry id {entry_id} does not name the returned body"
        )));
    }
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| bad("body is not JSON".into()))?;
    let field = |k: &str| {
        value
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let hexd = |what: &str, s: &str| hex::decode(s).map_err(|_| bad(format!("{what} is not hex")));
    let verification = e
        .verification
        .ok_or_else(|| bad("no verification data".into()))?;
    let set = verification
        .signed_entry_timestamp
        .map(|s| {
            B64.decode(s)
                .map_err(|_| bad("signedEntryTimestamp is not base64".into()))
        })
        .transpose()?;
    let inclusion_proof = verification
        .inclusion_proof
        .map(|p| -> Result<_, SigningError> {
            Ok(InclusionProof {
                log_index: p.log_index,
                tree_size: p.tree_size,
                root_hash: hexd("rootHash", &p.root_hash)?,
                hashes: p
                    .hashes
                    .iter()
                    .map(|h| hexd("hash", h))
                    .collect::<Result<_, _>>()?,
                checkpoint: p.checkpoint,
            })
        })
        .transpose()?;
    Ok(TlogEntry {
        log_index: e.log_index,
        log_id: hexd("logID", &e.log_id)?,
        kind: field("kind"),
        version: field("apiVersion"),
        integrated_time: e.integrated_time,
        signed_entry_timestamp: set,
        inclusion_proof,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::keys::test_keys::{p256_key, spki_der};
    use crate::core::testworld::*;

    #[test]
    fn issued_certificate_checks() {
        let w = World::new();
        let root = w.trusted_root();
        let key = spki_der(&p256_key());
        let leaf = w.issue_leaf(&key, T0);
        let now = UnixTime(T0 + 1);
        // Extra certificates in the response are ignored; the trusted root decides.
        check_issued_certificate(&[leaf.clone(), b"junk".to_vec()], &key, &root, now).unwrap();
        assert_eq!(
            check_issued_certificate(&[], &key, &root, now).unwrap_err(),
            SigningError::EmptyChain
        );
        assert_eq!(
            check_issued_certificate(
                std::slice::from_ref(&leaf),
                &spki_der(&p256_key()),
                &root,
                now
            )
            .unwrap_err(),
            SigningError::KeyMismatch
        );
        assert!(matches!(
            check_issued_certificate(&[leaf], &key, &root, UnixTime(T0 + 3600)),
            Err(SigningError::Certificate(CertError::NotValidAt { .. }))
        ));
        let other = World::new();
        assert!(matches!(
            check_issued_certificate(&[other.issue_leaf(&key, T0)], &key, &root, now),
            Err(SigningError::Certificate(CertError::UntrustedIssuer { .. }))
        ));
    }

    fn wire(e: &TlogEntry, entry_id: Option<String>) -> Vec<u8> {
        let p = e.inclusion_proof.as_ref().unwrap();
        let id = entry_id
            .unwrap_or_else(|| format!("{:016x}{}", 7, hex::encode(merkle::leaf_hash(&e.body))));
        serde_json::to_vec(&serde_json::json!({ id: {
            "body": B64.encode(&e.body),
            "integratedTime": e.integrated_time,
            "logID": hex::encode(&e.log_id),
            "logIndex": e.log_index,
            "verification": {
                "signedEntryTimestamp": B64.encode(e.signed_entry_timestamp.as_ref().unwrap()),
                "inclusionProof": {
                    "checkpoint": p.checkpoint,
                    "hashes": p.hashes.iter().map(hex::encode).collect::<Vec<_>>(),
                    "logIndex": p.log_index,
                    "rootHash": hex::encode(&p.root_hash),
                    "treeSize": p.tree_size,
                }
            }
        }}))
        .unwrap()
    }

    #[test]
    fn rekor_response_round_trip_and_log_entry_check() {
        let w = World::new();
        let s = w.sign(b"data", T0 + 30, None);
        let parsed = parse_rekor_response(&wire(&s.entry, None)).unwrap();
        assert_eq!(parsed, s.entry);
        let leaf = Leaf::from_der(&s.leaf_der).unwrap();
        let v =
            check_log_entry(&parsed, &s.digest, &s.signature, &leaf, &w.trusted_root()).unwrap();
        assert_eq!(v.integrated_time, UnixTime(T0 + 30));
        // 64-hex UUIDs are accepted too.
        parse_rekor_response(&wire(
            &s.entry,
            Some(hex::encode(merkle::leaf_hash(&s.entry.body))),
        ))
        .unwrap();
    }

    #[test]
    fn rekor_response_negatives() {
        let w = World::new();
        let s = w.sign(b"data", T0 + 30, None);
        let bad = |bytes: &[u8]| {
            matches!(
                parse_rekor_response(bytes),
                Err(SigningError::RekorResponse(_))
            )
        };
        assert!(
            bad(&wire(&s.entry, Some("00".repeat(40)))),
            "entry id not naming the body"
        );
        assert!(bad(b"{}"));
        assert!(bad(b"[]"));
        assert_eq!(
            parse_rekor_response(&vec![b' '; MAX_REKOR_RESPONSE_BYTES + 1]),
            Err(SigningError::RekorResponse(format!(
                "response is larger than {MAX_REKOR_RESPONSE_BYTES} bytes"
            )))
        );
        let mut v: serde_json::Value = serde_json::from_slice(&wire(&s.entry, None)).unwrap();
        let (k, e) = v
            .as_object()
            .unwrap()
            .iter()
            .next()
            .map(|(k, e)| (k.clone(), e.clone()))
            .unwrap();
        v[format!("{k}x")] = e.clone();
        assert!(bad(&serde_json::to_vec(&v).unwrap()), "two entries");
        let mut one = serde_json::json!({ k.clone(): e.clone() });
        one[&k]["logID"] = "zz".into();
        assert!(bad(&serde_json::to_vec(&one).unwrap()), "logID not hex");
        let mut one = serde_json::json!({ k.clone(): e });
        one[&k].as_object_mut().unwrap().remove("verification");
        assert!(bad(&serde_json::to_vec(&one).unwrap()), "no verification");
    }
}
