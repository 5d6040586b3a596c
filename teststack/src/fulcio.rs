//! The local Fulcio v2: `POST /api/v2/signingCert` (CSR or public key + proof of possession,
//! token in the body or as a Bearer header), `GET /api/v2/trustBundle` and
//! `GET /api/v2/configuration`.
//!
//! The token must come from the local issuer (signature, `iss`, `aud=sigstore`, expiry,
//! `email_verified`); the proof of possession is an ECDSA-SHA256 signature over the `email`
//! claim (the challenge claim of email issuers); only P-256 keys are accepted.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::{
    Json, Router,
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use der::{Decode, Encode};
use p256::ecdsa::{DerSignature, VerifyingKey, signature::Verifier};
use p256::pkcs8::DecodePublicKey;
use serde::Deserialize;
use serde_json::{Value, json};
use x509_cert::request::CertReq;

use crate::ca::{Ca, San};
use crate::error::{ApiError, Dialect::Fulcio};
use crate::oidc::{AUDIENCE, Issuer};

pub struct Service {
    pub ca: Ca,
    pub issuer: Arc<Issuer>,
    /// How long the leaves it issues live (whole seconds), from `notBefore` = now.
    pub leaf_lifetime: Duration,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigningCertRequest {
    #[serde(default)]
    credentials: Option<Credentials>,
    #[serde(default, alias = "public_key_request")]
    public_key_request: Option<PublicKeyRequest>,
    #[serde(default, alias = "certificate_signing_request")]
    certificate_signing_request: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(default, alias = "oidc_identity_token")]
    oidc_identity_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyRequest {
    #[serde(default, alias = "public_key")]
    public_key: Option<PublicKey>,
    #[serde(default, alias = "proof_of_possession")]
    proof_of_possession: Option<String>,
}

#[derive(Deserialize)]
struct PublicKey {
    #[serde(default)]
    #[allow(dead_code)] // the public instance ignores it too
    algorithm: Option<String>,
    #[serde(default)]
    content: Option<String>,
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::bad_request(Fulcio, msg)
}

fn unauthenticated(msg: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        Fulcio,
        StatusCode::UNAUTHORIZED,
        format!("There was an error processing the identity token: {msg}"),
    )
}

fn p256_key(spki_der: &[u8]) -> Result<VerifyingKey, ApiError> {
    VerifyingKey::from_public_key_der(spki_der).map_err(|_| {
        bad("The public key supplied in the request is not supported: this test CA issues for ECDSA P-256 keys only")
    })
}

/// The key of a CSR (base64 of a PEM, or of DER), after its self-signature verified.
fn key_from_csr(b64_csr: &str) -> Result<VerifyingKey, ApiError> {
    let raw = STANDARD.decode(b64_csr.trim()).map_err(|e| {
        bad(format!(
            "The certificate signing request could not be parsed: not base64 ({e})"
        ))
    })?;
    let der = match der::pem::decode_vec(&raw) {
        Ok(("CERTIFICATE REQUEST", der)) | Ok(("NEW CERTIFICATE REQUEST", der)) => der,
        Ok((label, _)) => {
            return Err(bad(format!(
                "The certificate signing request could not be parsed: PEM label {label:?} is not CERTIFICATE REQUEST"
            )));
        }
        Err(_) => raw,
    };
    let csr = CertReq::from_der(&der).map_err(|e| {
        bad(format!(
            "The certificate signing request could not be parsed: {e}"
        ))
    })?;
    if csr.algorithm.oid != const_oid::db::rfc5912::ECDSA_WITH_SHA_256 {
        return Err(bad(format!(
            "The certificate signing request is signed with {}, this test CA accepts ecdsa-with-SHA256 only",
            csr.algorithm.oid
        )));
    }
    let spki = csr.info.public_key.to_der().map_err(|e| {
        bad(format!(
            "The certificate signing request could not be parsed: {e}"
        ))
    })?;
    let key = p256_key(&spki)?;
    let info = csr.info.to_der().map_err(|e| {
        bad(format!(
            "The certificate signing request could not be parsed: {e}"
        ))
    })?;
    let sig = DerSignature::from_bytes(csr.signature.raw_bytes()).map_err(|_| {
        bad("The certificate signing request signature is not a DER ECDSA signature")
    })?;
    key.verify(&info, &sig).map_err(|_| {
        bad("The certificate signing request signature does not verify with its own key")
    })?;
    Ok(key)
}

/// The key of a public-key request, after the proof of possession over `challenge` verified.
fn key_from_pop(req: PublicKeyRequest, challenge: &str) -> Result<VerifyingKey, ApiError> {
    let content = req
        .public_key
        .and_then(|k| k.content)
        .ok_or_else(|| bad("publicKeyRequest.publicKey.content is required"))?;
    let spki = match der::pem::decode_vec(content.as_bytes()) {
        Ok(("PUBLIC KEY", der)) => der,
        Ok((label, _)) => {
            return Err(bad(format!(
                "publicKey.content is a PEM {label:?}, expected PUBLIC KEY"
            )));
        }
        Err(_) => STANDARD
            .decode(content.trim())
            .map_err(|_| bad("publicKey.content is neither a PEM PUBLIC KEY nor base64 DER"))?,
    };
    let key = p256_key(&spki)?;
    let proof = req
        .proof_of_possession
        .ok_or_else(|| bad("publicKeyRequest.proofOfPossession is required"))?;
    let proof = STANDARD
        .decode(proof.trim())
        .map_err(|e| bad(format!("proofOfPossession is not base64: {e}")))?;
    let sig = DerSignature::from_bytes(&proof)
        .map_err(|_| bad("The signature supplied in the request could not be verified: not a DER ECDSA signature"))?;
    key.verify(challenge.as_bytes(), &sig).map_err(|_| {
        bad(format!(
            "The signature supplied in the request could not be verified: proofOfPossession must sign the token's email claim ({challenge:?})"
        ))
    })?;
    Ok(key)
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

fn pem(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap_or_default()
}

async fn signing_cert(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let req: SigningCertRequest = crate::error::read_json(Fulcio, body).await?;
    let token = req
        .credentials
        .and_then(|c| c.oidc_identity_token)
        .filter(|t| !t.is_empty())
        .or_else(|| bearer(&headers))
        .ok_or_else(|| {
            unauthenticated(
                "no token: send credentials.oidcIdentityToken or an Authorization: Bearer header",
            )
        })?;
    let now = SystemTime::now();
    let now_unix = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let claims = svc
        .issuer
        .verify(&token, AUDIENCE, now_unix)
        .map_err(unauthenticated)?;
    let (san, challenge) = match &claims.email {
        Some(email) => (San::Email(email.clone()), email.clone()),
        None => {
            if url::Url::parse(&claims.sub).is_err() {
                return Err(unauthenticated(
                    "the token has no email claim and its sub is not a URI",
                ));
            }
            (San::Uri(claims.sub.clone()), claims.sub.clone())
        }
    };
    let key = match (req.public_key_request, req.certificate_signing_request) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "give either publicKeyRequest or certificateSigningRequest, not both",
            ));
        }
        (None, None) => return Err(bad("give publicKeyRequest or certificateSigningRequest")),
        (None, Some(csr)) => key_from_csr(&csr)?,
        (Some(pkr), None) => key_from_pop(pkr, &challenge)?,
    };
    let leaf = svc
        .ca
        .issue_leaf(&key, &san, &claims.iss, now, svc.leaf_lifetime)
        .map_err(|e| ApiError::internal(Fulcio, e.to_string()))?;
    Ok(Json(json!({
        "signedCertificateEmbeddedSct": {
            "chain": { "certificates": [
                pem("CERTIFICATE", &leaf),
                pem("CERTIFICATE", &svc.ca.intermediate_der),
                pem("CERTIFICATE", &svc.ca.root_der),
            ] }
        }
    })))
}

async fn trust_bundle(State(svc): State<Arc<Service>>) -> Json<Value> {
    Json(json!({ "chains": [ { "certificates": [
        pem("CERTIFICATE", &svc.ca.intermediate_der),
        pem("CERTIFICATE", &svc.ca.root_der),
    ] } ] }))
}

async fn configuration(State(svc): State<Arc<Service>>) -> Json<Value> {
    Json(json!({ "issuers": [ {
        "issuerUrl": svc.issuer.issuer_url(),
        "audience": AUDIENCE,
        "challengeClaim": "email",
        "issuerType": "email",
    } ] }))
}

pub fn router(svc: Arc<Service>) -> Router {
    Router::new()
        .route("/api/v2/signingCert", post(signing_cert))
        .route("/api/v2/trustBundle", get(trust_bundle))
        .route("/api/v2/configuration", get(configuration))
        .with_state(svc)
}
