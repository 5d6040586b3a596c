//! Stored bundles: the transparency-log proof of a gitsign online-mode signature, looked up once
//! and kept next to the signed object (as a git note) in a Sigstore bundle v0.3, so that the
//! signature verifies offline from then on.
//!
//! An online-mode signature embeds no log entry. What Rekor logged for it is a hashedrekord over
//! SHA-256 of the signed object's id (lowercase hex), signed by the certificate's key. The stored
//! bundle holds exactly that: the leaf certificate, that signature with that digest, and the log
//! entry with its signed entry timestamp, inclusion proof and checkpoint.
//!
//! [`verify`] accepts a bundle only when it belongs to the signature it is stored for: the same
//! leaf certificate, a digest that is SHA-256 of *this* object's id, signature bytes that verify
//! with the certificate's key over it and that every log entry records; then every entry's
//! evidence, the chain and SCT at the time the log proves, and any timestamps. A bundle that does
//! not match is an error, never a reason to look elsewhere.

use super::bundle::{self, Bundle, Content, Material};
use super::gitobject;
use super::gitsig::{self, CheckedSignature, EvidenceSource, GitSigError, VerifiedSignature};
use super::keys::sha256;
use super::rekor;
use super::trust_root::TrustedRoot;
use super::tsp;
use super::x509;

/// The bundle to store for an online-mode signature whose entry a log search found and
/// verified ([`gitsig::find_searched`]): pretty JSON, checked by [`verify`] before it is handed
/// out, so nothing that does not verify is ever stored.
pub fn build(
    checked: &CheckedSignature,
    found: &gitsig::FoundEntry,
    object_id: &str,
    root: &TrustedRoot,
) -> Result<(Vec<u8>, VerifiedSignature), GitSigError> {
    let digest = sha256(object_id.as_bytes());
    let json = bundle::build_v03(
        &checked.leaf.der,
        &found.entry,
        &digest,
        &found.signature,
        &[],
    );
    let mut bytes = serde_json::to_vec_pretty(&json)
        .map_err(|e| GitSigError::StoredBundle(bundle::BundleError::Json(e.to_string())))?;
    bytes.push(b'\n');
    let verified = verify(checked, &bytes, object_id, root)?;
    Ok((bytes, verified))
}

fn mismatch(what: impl Into<String>) -> GitSigError {
    GitSigError::StoredMismatch(what.into())
}

fn in_bundle(e: GitSigError) -> GitSigError {
    match e {
        GitSigError::StoredMismatch(_) | GitSigError::StoredBundle(_) => e,
        other => GitSigError::InStoredBundle(Box::new(other)),
    }
}

/// Steps 2 and 3 of [`gitsig`] for a signature without an embedded entry, from the bundle
/// stored for the object `object_id` (lowercase hex, the id the signature's object has).
pub fn verify(
    checked: &CheckedSignature,
    bundle_json: &[u8],
    object_id: &str,
    root: &TrustedRoot,
) -> Result<VerifiedSignature, GitSigError> {
    let bundle = Bundle::parse(bundle_json).map_err(GitSigError::StoredBundle)?;
    match &bundle.material {
        Material::Certificate { leaf_der, .. } if *leaf_der == checked.leaf.der => {}
        Material::Certificate { leaf_der, .. } => {
            return Err(mismatch(format!(
                "it holds certificate {}, the signature was made with certificate {}",
                gitobject::sha1_hex(leaf_der),
                checked.fingerprint
            )));
        }
        Material::PublicKey { .. } => {
            return Err(mismatch(
                "it names a public key, not the signature's certificate",
            ));
        }
    }
    let id_digest = sha256(object_id.as_bytes());
    let signature = match &bundle.content {
        Content::Message {
            signature,
            digest: Some(digest),
        } => {
            if *digest != id_digest {
                return Err(mismatch(format!(
                    "it is for another object: it signs SHA-256 {}, and SHA-256 of this object's id {object_id} is {}",
                    hex::encode(digest),
                    hex::encode(id_digest)
                )));
            }
            signature
        }
        Content::Message { digest: None, .. } => {
            return Err(mismatch("it does not say what it signs (no messageDigest)"));
        }
        Content::Dsse(_) => {
            return Err(mismatch(
                "it holds a DSSE envelope, not a signature over the object id",
            ));
        }
    };
    checked
        .leaf
        .public_key
        .verify_prehash(&id_digest, signature)
        .map_err(|e| {
            mismatch(format!(
                "its signature bytes do not verify with the certificate's key over this object's id ({e})"
            ))
        })?;
    let mut verified: Option<VerifiedSignature> = None;
    for entry in &bundle.tlog_entries {
        rekor::check_body(&entry.body, &id_digest, signature, &checked.leaf.der)
            .map_err(|e| mismatch(format!("its log entry {}: {e}", entry.log_index)))?;
        let v = gitsig::verify_object_entry(
            checked,
            entry,
            &id_digest,
            signature,
            root,
            EvidenceSource::Stored,
        )
        .map_err(in_bundle)?;
        verified.get_or_insert(v);
    }
    let mut verified = verified.ok_or_else(|| mismatch("it holds no log entry"))?;
    // Timestamps are optional, but one that is present must verify over the bundle's signature,
    // at a time the certificate was valid.
    for token in &bundle.timestamps {
        let ts = tsp::verify_timestamp(token, signature, root)
            .map_err(|e| in_bundle(GitSigError::Timestamp(e)))?;
        for at in [ts.time, ts.latest] {
            x509::verify_chain(&checked.leaf, root, at)
                .map_err(|e| in_bundle(GitSigError::ChainAtTimestamp(e)))?;
        }
        verified.timestamps.push((ts.time, ts.tsa));
    }
    Ok(verified)
}

#[cfg(test)]
#[path = "stored_tests.rs"]
mod tests;
