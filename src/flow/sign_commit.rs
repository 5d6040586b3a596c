//! Signing a git commit or tag payload keylessly, as gitsign does: ephemeral P-256 key →
//! Fulcio certificate (checked: our key, chain, SCT, validity) → detached CMS over the payload
//! → Rekor. In offline mode the log entry covers the signed attributes and is embedded in the
//! signature (unsigned attribute `1.3.6.1.4.1.57264.3.1`); in online mode it covers the
//! predicted commit id and nothing is embedded. Every log answer is verified before use.

use p256::ecdsa::signature::Signer;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{DerSignature, Signature, SigningKey};
use p256::elliptic_curve::Generate;
use p256::pkcs8::{EncodePublicKey, LineEnding};

use super::sign::SignError;
use super::{CertIssuer, Clock, TimestampAuthority, TransparencyLog};
use crate::core::cms::{self, CmsError};
use crate::core::gitobject::{self, PayloadError};
use crate::core::gitsig;
use crate::core::keys::{HashAlg, sha256};
use crate::core::rekor::HashedRekord;
use crate::core::signing::{self, SigningError};
use crate::core::time::UnixTime;
use crate::core::tle;
use crate::core::token::IdentityToken;
use crate::core::trust_root::TrustedRoot;
use crate::core::tsp;
use crate::core::x509::Leaf;

/// What the transparency log records (`signet.rekorMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogMode {
    /// hashedrekord over sha256(DER signed attributes), entry embedded in the signature.
    Offline,
    /// hashedrekord over sha256(predicted object id hex), nothing embedded (gitsign `online`).
    Online,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadOptions {
    pub mode: LogMode,
    /// Refuse unless the certificate identity equals the committer/tagger email.
    pub match_committer: bool,
}

/// A finished signature over a payload, with what the status lines and messages need.
#[derive(Debug, Clone)]
pub struct SignedPayload {
    pub der: Vec<u8>,
    pub armored: String,
    pub leaf_der: Vec<u8>,
    /// The leaf's own signature algorithm OID (gitsign derives the status hash id from it).
    pub leaf_signature_oid: String,
    pub identity: String,
    pub signed_at: UnixTime,
    pub log_index: i64,
    pub log_url: String,
    /// The object id logged in online mode.
    pub logged_object_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadSignError {
    /// Boxed: `SignError` is large and this travels through every `?`.
    #[error(transparent)]
    Sign(Box<SignError>),
    #[error("cannot build the signature: {0}")]
    Cms(#[from] CmsError),
    #[error("{0}")]
    Payload(#[from] PayloadError),
    #[error("the certificate identity {certificate} is not the {role} email {payload}")]
    CommitterMismatch {
        certificate: String,
        payload: String,
        role: &'static str,
    },
}

impl From<SignError> for PayloadSignError {
    fn from(e: SignError) -> Self {
        Self::Sign(Box::new(e))
    }
}

fn internal(e: impl std::fmt::Display) -> PayloadSignError {
    SignError::Internal(e.to_string()).into()
}

fn untrusted(e: impl Into<SigningError>) -> PayloadSignError {
    SignError::Untrusted(e.into()).into()
}

/// An ephemeral P-256 key with its checked Fulcio certificate: what signing needs, and what the
/// credential cache holds between commits. The key zeroizes itself on drop.
pub struct IssuedKey {
    pub key: SigningKey,
    pub leaf: Leaf,
}

impl std::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedKey")
            .field("key", &"<redacted>")
            .field("identity", &self.leaf.identity)
            .finish()
    }
}

/// Make an ephemeral key and get a Fulcio certificate for it with `token`; the certificate must
/// be for our key and chain (with its SCT) to the trusted root now.
pub async fn issue_key(
    issuer: &impl CertIssuer,
    clock: &impl Clock,
    root: &TrustedRoot,
    token: &IdentityToken,
) -> Result<IssuedKey, PayloadSignError> {
    let claims = token.claims().map_err(SignError::from)?;
    claims
        .check_not_expired(clock.now())
        .map_err(SignError::from)?;
    let subject = claims.challenge_subject().map_err(SignError::from)?;

    let key = SigningKey::try_generate().map_err(|e| internal(format!("random: {e}")))?;
    let public = key.verifying_key();
    let spki = public.to_public_key_der().map_err(internal)?;
    let pem = public.to_public_key_pem(LineEnding::LF).map_err(internal)?;
    let proof: DerSignature = key.sign(subject.as_bytes());
    let chain = issuer
        .issue(token, &pem, proof.as_bytes())
        .await
        .map_err(SignError::from)?;
    let leaf = signing::check_issued_certificate(&chain, spki.as_bytes(), root, clock.now())
        .map_err(untrusted)?;
    Ok(IssuedKey { key, leaf })
}

/// Check what can be checked about a payload before any login or request: a commit or tag
/// where the options need one, with a committer (tagger) email when `matchCommitter` is on.
pub fn check_payload(payload: &[u8], options: PayloadOptions) -> Result<(), PayloadSignError> {
    payload_facts(payload, options).map(drop)
}

/// The committer (tagger) email and role when `matchCommitter` is on; checks the payload is a
/// commit or tag before anything is requested.
fn payload_facts(
    payload: &[u8],
    options: PayloadOptions,
) -> Result<Option<(String, &'static str)>, PayloadSignError> {
    if options.mode == LogMode::Online {
        gitobject::kind(payload)?;
    }
    if !options.match_committer {
        return Ok(None);
    }
    let role = match gitobject::kind(payload)?.0 {
        gitobject::ObjectKind::Commit => "committer",
        gitobject::ObjectKind::Tag => "tagger",
    };
    Ok(Some((gitobject::signer_email(payload)?, role)))
}

/// Sign `payload` (the exact bytes git passes on stdin): a fresh key and certificate from
/// `token`, then [`sign_payload_with`].
// The ports, the trust material and the input are each needed; a struct for them would only rename
// the list.
#[allow(clippy::too_many_arguments)]
pub async fn sign_payload<T: TimestampAuthority>(
    issuer: &impl CertIssuer,
    log: &impl TransparencyLog,
    tsa: Option<&T>,
    clock: &impl Clock,
    root: &TrustedRoot,
    token: &IdentityToken,
    payload: &[u8],
    options: PayloadOptions,
) -> Result<SignedPayload, PayloadSignError> {
    // Facts about the payload first: a bad object fails before any request is made.
    payload_facts(payload, options)?;
    let issued = issue_key(issuer, clock, root, token).await?;
    sign_payload_with(log, tsa, clock, root, &issued, payload, options).await
}

/// Sign `payload` with an already issued key (fresh, or from the credential cache; the caller
/// checks a cached certificate is still valid). The log must integrate the entry while the
/// certificate is valid.
pub async fn sign_payload_with<T: TimestampAuthority>(
    log: &impl TransparencyLog,
    tsa: Option<&T>,
    clock: &impl Clock,
    root: &TrustedRoot,
    issued: &IssuedKey,
    payload: &[u8],
    options: PayloadOptions,
) -> Result<SignedPayload, PayloadSignError> {
    let committer = payload_facts(payload, options)?;
    let (key, leaf) = (&issued.key, &issued.leaf);
    if let Some((email, role)) = committer
        && email != leaf.identity
    {
        return Err(PayloadSignError::CommitterMismatch {
            certificate: leaf.identity.clone(),
            payload: email,
            role,
        });
    }
    let now = clock.now();
    let leaf_pem =
        der::EncodePem::to_pem(&leaf.cert, der::pem::LineEnding::LF).map_err(internal)?;

    let signed_attrs = cms::signed_attributes(&sha256(payload), now)?;
    let attrs_digest = sha256(&signed_attrs);
    let signature: Signature = key.sign_prehash(&attrs_digest).map_err(internal)?;
    let signature = signature.to_der().as_bytes().to_vec();
    // Our own signature must verify with the certificate's key before anything is logged.
    leaf.public_key
        .verify(HashAlg::Sha256, &signed_attrs, &signature)
        .map_err(internal)?;
    // A timestamp authority's token over the signature value, as gitsign adds it; the verifier
    // checks it against the trusted root's timestamp authorities.
    let mut unsigned = Vec::new();
    if let Some(tsa) = tsa {
        let token = tsa.timestamp(&signature).await.map_err(SignError::from)?;
        // What goes into the signature must verify the way a verifier will check it.
        let stamped = tsp::verify_timestamp(&token, &signature, root)
            .map_err(|e| untrusted(SigningError::from(e)))?;
        for at in [stamped.time, stamped.latest] {
            if let Err(e) = leaf.check_valid_at(at) {
                return Err(untrusted(SigningError::Certificate(e)));
            }
        }
        unsigned.push(cms::Attribute {
            oid: gitsig::OID_TIMESTAMP_TOKEN,
            values: vec![token],
        });
    }

    let (der, logged, logged_object_id) = match options.mode {
        LogMode::Offline => {
            let entry = log
                .submit(&HashedRekord::new(&attrs_digest, &signature, &leaf_pem))
                .await
                .map_err(SignError::from)?;
            let logged = signing::check_log_entry(&entry, &attrs_digest, &signature, leaf, root)
                .map_err(untrusted)?;
            unsigned.push(cms::octet_string_attribute(
                tle::OID_REKOR_TLE,
                &tle::encode(&entry),
            ));
            let der = cms::build_signed_data(&leaf.der, &signed_attrs, &signature, &unsigned)?;
            (der, logged, None)
        }
        LogMode::Online => {
            let der = cms::build_signed_data(&leaf.der, &signed_attrs, &signature, &unsigned)?;
            let armored = cms::armor(&der)?;
            let id = gitobject::predicted_id(payload, armored.as_bytes())?;
            let id_digest = sha256(id.as_bytes());
            let id_signature: Signature = key.sign_prehash(&id_digest).map_err(internal)?;
            let id_signature = id_signature.to_der().as_bytes().to_vec();
            let entry = log
                .submit(&HashedRekord::new(&id_digest, &id_signature, &leaf_pem))
                .await
                .map_err(SignError::from)?;
            let logged = signing::check_log_entry(&entry, &id_digest, &id_signature, leaf, root)
                .map_err(untrusted)?;
            (der, logged, Some(id))
        }
    };
    finish(der, leaf, now, logged, logged_object_id)
}

fn finish(
    der: Vec<u8>,
    leaf: &Leaf,
    signed_at: UnixTime,
    logged: crate::core::rekor::VerifiedEntry,
    logged_object_id: Option<String>,
) -> Result<SignedPayload, PayloadSignError> {
    let armored = cms::armor(&der)?;
    Ok(SignedPayload {
        der,
        armored,
        leaf_der: leaf.der.clone(),
        leaf_signature_oid: leaf.cert.signature_algorithm().oid.to_string(),
        identity: leaf.identity.clone(),
        signed_at,
        log_index: logged.log_index,
        log_url: logged.log_url,
        logged_object_id,
    })
}

#[cfg(test)]
#[path = "sign_commit_tests.rs"]
mod tests;
