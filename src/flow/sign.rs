//! Signing flow: ephemeral key → Fulcio certificate (checked) → signature → Rekor entry (checked)
//! → v0.3 bundle, which is verified once more with the core pipeline before it is returned.

use p256::ecdsa::signature::Signer;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{DerSignature, Signature, SigningKey};
use p256::elliptic_curve::Generate;
use p256::pkcs8::{EncodePublicKey, LineEnding};

use super::{CertIssuer, Clock, PortError, TimestampAuthority, TransparencyLog};
use crate::core::bundle;
use crate::core::rekor::HashedRekord;
use crate::core::signing::{self, SigningError};
use crate::core::token::{IdentityToken, TokenError};
use crate::core::trust_root::TrustedRoot;
use crate::core::verify::{self, Artifact, IdentityPolicy, VerifyError};

/// A finished signature: the bundle JSON and what it says.
#[derive(Debug, Clone)]
pub struct SignedArtifact {
    pub bundle_json: Vec<u8>,
    pub identity: String,
    pub issuer: String,
    pub log_index: i64,
    pub log_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("identity token: {0}")]
    Token(#[from] TokenError),
    #[error(transparent)]
    Service(#[from] PortError),
    #[error(transparent)]
    Untrusted(#[from] SigningError),
    #[error("the finished bundle does not verify: {0}")]
    SelfCheck(#[from] VerifyError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Sign an artifact, given its SHA-256 digest, keylessly. The signature is ECDSA P-256 over the
/// artifact (computed from the digest). The private key exists only in memory for this call.
///
/// With a timestamp authority, an RFC 3161 token over the signature goes into the bundle too.
pub async fn sign_artifact<T: TimestampAuthority>(
    issuer: &impl CertIssuer,
    log: &impl TransparencyLog,
    tsa: Option<&T>,
    clock: &impl Clock,
    root: &TrustedRoot,
    token: &IdentityToken,
    digest: &[u8; 32],
) -> Result<SignedArtifact, SignError> {
    let claims = token.claims()?;
    claims.check_not_expired(clock.now())?;
    let subject = claims.challenge_subject()?;

    let key =
        SigningKey::try_generate().map_err(|e| SignError::Internal(format!("random: {e}")))?;
    let public = key.verifying_key();
    let spki = public
        .to_public_key_der()
        .map_err(|e| SignError::Internal(e.to_string()))?;
    let pem = public
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| SignError::Internal(e.to_string()))?;
    let proof: DerSignature = key.sign(subject.as_bytes());

    let chain = issuer.issue(token, &pem, proof.as_bytes()).await?;
    let leaf = signing::check_issued_certificate(&chain, spki.as_bytes(), root, clock.now())?;
    let leaf_pem = der::EncodePem::to_pem(&leaf.cert, der::pem::LineEnding::LF)
        .map_err(|e| SignError::Internal(e.to_string()))?;

    let signature: Signature = key
        .sign_prehash(digest)
        .map_err(|e| SignError::Internal(e.to_string()))?;
    drop(key);
    let signature = signature.to_der().as_bytes().to_vec();

    let mut timestamps = Vec::new();
    if let Some(tsa) = tsa {
        timestamps.push(tsa.timestamp(&signature).await?);
    }

    let entry = log
        .submit(&HashedRekord::new(digest, &signature, &leaf_pem))
        .await?;
    let logged = signing::check_log_entry(&entry, digest, &signature, &leaf, root)?;

    let json = bundle::build_v03(&leaf.der, &entry, digest, &signature, &timestamps);
    let mut bundle_json =
        serde_json::to_vec_pretty(&json).map_err(|e| SignError::Internal(e.to_string()))?;
    bundle_json.push(b'\n');

    // Close the loop: what we write must pass the same pipeline a verifier runs.
    let issuer_name = leaf.oidc_issuer.clone().ok_or_else(|| {
        SignError::Untrusted(SigningError::Certificate(
            crate::core::x509::CertError::Malformed(
                "certificate has no OIDC issuer extension".into(),
            ),
        ))
    })?;
    let policy = IdentityPolicy {
        identity: leaf.identity.clone(),
        issuer: issuer_name.clone(),
    };
    verify::verify_bundle_bytes(&bundle_json, Artifact::Sha256(digest), root, &policy)?;

    Ok(SignedArtifact {
        bundle_json,
        identity: leaf.identity,
        issuer: issuer_name,
        log_index: logged.log_index,
        log_url: logged.log_url,
    })
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use der::DecodePem;
    use p256::ecdsa::signature::Verifier;
    use spki::SubjectPublicKeyInfoOwned;

    use super::*;
    use crate::core::keys::test_keys::{p256_key, spki_der};
    use crate::core::rekor::{BodyError, TlogEntry, TlogError};
    use crate::core::testworld::*;
    use crate::core::time::UnixTime;
    use crate::core::token::tests::jwt;
    use crate::core::x509::CertError;

    #[derive(Clone, Copy, PartialEq)]
    enum Fault {
        None,
        CertForOtherKey,
        CertFromOtherCa,
        FulcioDown,
        LogsOtherDigest,
        OtherLog,
        LateIntegration,
    }

    struct FakeFulcio<'a> {
        world: &'a World,
        other: &'a World,
        fault: Fault,
        calls: Cell<u32>,
    }

    impl CertIssuer for FakeFulcio<'_> {
        async fn issue(
            &self,
            token: &IdentityToken,
            pem: &str,
            proof: &[u8],
        ) -> Result<Vec<Vec<u8>>, PortError> {
            self.calls.set(self.calls.get() + 1);
            if self.fault == Fault::FulcioDown {
                return Err(PortError::Server {
                    service: "Fulcio",
                    status: 401,
                    message: "There was an error processing the identity token".into(),
                });
            }
            // Like Fulcio: the proof must be a signature over the token's email by this key.
            let spki = SubjectPublicKeyInfoOwned::from_pem(pem.as_bytes()).unwrap();
            let spki = der::Encode::to_der(&spki).unwrap();
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&spki[spki.len() - 65..]).unwrap();
            let email = token.claims().unwrap().email.unwrap();
            key.verify(email.as_bytes(), &DerSignature::from_bytes(proof).unwrap())
                .unwrap();
            let (world, spki) = match self.fault {
                Fault::CertForOtherKey => (self.world, spki_der(&p256_key())),
                Fault::CertFromOtherCa => (self.other, spki),
                _ => (self.world, spki),
            };
            Ok(vec![
                world.issue_leaf(&spki, T0),
                world.inter_der.clone(),
                world.root_der.clone(),
            ])
        }
    }

    struct FakeRekor<'a> {
        world: &'a World,
        other: &'a World,
        fault: Fault,
    }

    impl TransparencyLog for FakeRekor<'_> {
        async fn submit(&self, entry: &HashedRekord) -> Result<TlogEntry, PortError> {
            let mut entry = entry.clone();
            if self.fault == Fault::LogsOtherDigest {
                entry.spec.data.hash.value = hex::encode([1u8; 32]);
            }
            let body = serde_json::to_vec(&entry).unwrap();
            Ok(match self.fault {
                Fault::OtherLog => self.other.log_entry(&body, T0 + 5, 3),
                Fault::LateIntegration => self.world.log_entry(&body, T0 + 700, 3),
                _ => self.world.log_entry(&body, T0 + 5, 3),
            })
        }
    }

    struct FixedClock;
    impl Clock for FixedClock {
        fn now(&self) -> UnixTime {
            UnixTime(T0 + 1)
        }
    }

    fn token(claims: serde_json::Value) -> IdentityToken {
        IdentityToken::new(jwt(&claims)).unwrap()
    }

    fn good_token() -> IdentityToken {
        token(serde_json::json!({"iss": ISSUER, "sub": "alice", "email": EMAIL, "exp": T0 + 3600}))
    }

    async fn run(fault: Fault, token: &IdentityToken) -> (Result<SignedArtifact, SignError>, u32) {
        let (world, other) = (World::new(), World::new());
        let fulcio = FakeFulcio {
            world: &world,
            other: &other,
            fault,
            calls: Cell::new(0),
        };
        let rekor = FakeRekor {
            world: &world,
            other: &other,
            fault,
        };
        let digest = crate::core::keys::sha256(b"artifact bytes");
        let result = sign_artifact(
            &fulcio,
            &rekor,
            None::<&crate::adapters::tsa::TsaClient>,
            &FixedClock,
            &world.trusted_root(),
            token,
            &digest,
        )
        .await;
        if let Ok(signed) = &result {
            // The bundle verifies offline with the world's root.
            let policy = IdentityPolicy {
                identity: EMAIL.into(),
                issuer: ISSUER.into(),
            };
            crate::flow::verify::verify_artifact(
                &signed.bundle_json,
                Artifact::Bytes(b"artifact bytes"),
                &world.trusted_root(),
                crate::core::verify::Signer::Identity(&policy),
            )
            .unwrap();
        }
        (result, fulcio.calls.get())
    }

    #[tokio::test]
    async fn signs_and_the_bundle_verifies() {
        let (result, calls) = run(Fault::None, &good_token()).await;
        let signed = result.unwrap();
        assert_eq!(calls, 1);
        assert_eq!(signed.identity, EMAIL);
        assert_eq!(signed.issuer, ISSUER);
        assert_eq!(signed.log_index, 1002);
        assert_eq!(signed.log_url, "http://rekor.test");
        assert!(signed.bundle_json.ends_with(b"\n"));
    }

    #[tokio::test]
    async fn untrusted_certificates_are_refused() {
        let (r, _) = run(Fault::CertForOtherKey, &good_token()).await;
        assert!(matches!(
            r,
            Err(SignError::Untrusted(SigningError::KeyMismatch))
        ));
        let (r, _) = run(Fault::CertFromOtherCa, &good_token()).await;
        assert!(matches!(
            r,
            Err(SignError::Untrusted(SigningError::Certificate(
                CertError::UntrustedIssuer { .. }
            )))
        ));
    }

    #[tokio::test]
    async fn bad_log_answers_are_refused() {
        let (r, _) = run(Fault::LogsOtherDigest, &good_token()).await;
        assert!(matches!(
            r,
            Err(SignError::Untrusted(SigningError::Body(
                BodyError::DigestMismatch { .. }
            )))
        ));
        let (r, _) = run(Fault::OtherLog, &good_token()).await;
        assert!(matches!(
            r,
            Err(SignError::Untrusted(SigningError::Tlog(
                TlogError::UnknownLog { .. }
            )))
        ));
        let (r, _) = run(Fault::LateIntegration, &good_token()).await;
        assert!(matches!(
            r,
            Err(SignError::Untrusted(SigningError::Certificate(
                CertError::NotValidAt { .. }
            )))
        ));
    }

    #[tokio::test]
    async fn token_and_service_errors() {
        let expired = token(serde_json::json!({"email": EMAIL, "exp": T0 - 1}));
        let (r, calls) = run(Fault::None, &expired).await;
        assert!(matches!(
            r,
            Err(SignError::Token(TokenError::Expired { .. }))
        ));
        assert_eq!(calls, 0, "no request with an expired token");
        let nobody = token(serde_json::json!({"iss": ISSUER}));
        assert!(matches!(
            run(Fault::None, &nobody).await.0,
            Err(SignError::Token(TokenError::NoSubject))
        ));
        let opaque = IdentityToken::new("not-a-jwt".into()).unwrap();
        assert!(matches!(
            run(Fault::None, &opaque).await.0,
            Err(SignError::Token(TokenError::NotAJwt))
        ));
        assert!(matches!(
            run(Fault::FulcioDown, &good_token()).await.0,
            Err(SignError::Service(PortError::Server { status: 401, .. }))
        ));
    }
}
