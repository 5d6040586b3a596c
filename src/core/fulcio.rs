//! Fulcio v2 wire format: the `signingCert` request (public key + proof of possession) and the
//! response chain. Pure serde; the HTTP call lives in `adapters::fulcio`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use der::Encode;
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;

use super::token::IdentityToken;

/// `POST /api/v2/signingCert` body. Holds the token: deliberately not `Debug`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningCertRequest<'a> {
    credentials: Credentials<'a>,
    public_key_request: PublicKeyRequest,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Credentials<'a> {
    oidc_identity_token: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyRequest {
    public_key: PublicKeyJson,
    proof_of_possession: String,
}

#[derive(Serialize)]
struct PublicKeyJson {
    algorithm: &'static str,
    content: String,
}

impl<'a> SigningCertRequest<'a> {
    pub fn new(token: &'a IdentityToken, public_key_pem: &str, proof_of_possession: &[u8]) -> Self {
        Self {
            credentials: Credentials {
                oidc_identity_token: token.expose(),
            },
            public_key_request: PublicKeyRequest {
                public_key: PublicKeyJson {
                    algorithm: "ECDSA",
                    content: public_key_pem.to_owned(),
                },
                proof_of_possession: B64.encode(proof_of_possession),
            },
        }
    }
}

/// Largest `signingCert` response parsed (a leaf, an intermediate and a root in PEM are a few
/// KB; a bundle, which carries the leaf, is capped at the same size).
pub const MAX_SIGNING_CERT_RESPONSE_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FulcioResponseError {
    #[error("response is larger than {MAX_SIGNING_CERT_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("response is not the expected JSON: {0}")]
    Json(String),
    #[error("response has a detached SCT; only certificates with an embedded SCT are supported")]
    DetachedSct,
    #[error("response has no certificate chain")]
    NoChain,
    #[error("certificate {index} in the response is not a PEM certificate: {detail}")]
    Pem { index: usize, detail: String },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigningCertResponse {
    signed_certificate_embedded_sct: Option<EmbeddedSct>,
    signed_certificate_detached_sct: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct EmbeddedSct {
    chain: Chain,
}

#[derive(Deserialize)]
struct Chain {
    #[serde(default)]
    certificates: Vec<String>,
}

/// Parse a `signingCert` response into DER certificates, leaf first.
pub fn parse_signing_cert_response(body: &[u8]) -> Result<Vec<Vec<u8>>, FulcioResponseError> {
    if body.len() > MAX_SIGNING_CERT_RESPONSE_BYTES {
        return Err(FulcioResponseError::TooLarge);
    }
    let resp: SigningCertResponse =
        serde_json::from_slice(body).map_err(|e| FulcioResponseError::Json(e.to_string()))?;
    let chain = match (
        resp.signed_certificate_embedded_sct,
        resp.signed_certificate_detached_sct,
    ) {
        (Some(e), _) => e.chain.certificates,
        (None, Some(_)) => return Err(FulcioResponseError::DetachedSct),
        (None, None) => return Err(FulcioResponseError::NoChain),
    };
    if chain.is_empty() {
        return Err(FulcioResponseError::NoChain);
    }
    chain
        .iter()
        .enumerate()
        .map(|(index, pem)| {
            let err = |detail: String| FulcioResponseError::Pem { index, detail };
            if pem.matches("-----BEGIN ").count() != 1 {
                return Err(err("expected exactly one PEM block".into()));
            }
            let cert = <Certificate as der::DecodePem>::from_pem(pem.as_bytes())
                .map_err(|e| err(e.to_string()))?;
            cert.to_der().map_err(|e| err(e.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_shape_and_errors() {
        let token = IdentityToken::new("a.b.c".into()).unwrap();
        let req = SigningCertRequest::new(&token, "PEM", b"\x01\x02");
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(v["credentials"]["oidcIdentityToken"], "a.b.c");
        assert_eq!(v["publicKeyRequest"]["publicKey"]["algorithm"], "ECDSA");
        assert_eq!(v["publicKeyRequest"]["proofOfPossession"], "AQI=");

        assert_eq!(
            parse_signing_cert_response(b"{}").unwrap_err(),
            FulcioResponseError::NoChain
        );
        assert_eq!(
            parse_signing_cert_response(br#"{"signedCertificateDetachedSct":{}}"#).unwrap_err(),
            FulcioResponseError::DetachedSct
        );
        assert_eq!(
            parse_signing_cert_response(
                br#"{"signedCertificateEmbeddedSct":{"chain":{"certificates":[]}}}"#
            )
            .unwrap_err(),
            FulcioResponseError::NoChain
        );
        assert!(matches!(
            parse_signing_cert_response(
                br#"{"signedCertificateEmbeddedSct":{"chain":{"certificates":["nope"]}}}"#
            ),
            Err(FulcioResponseError::Pem { index: 0, .. })
        ));
        assert!(matches!(
            parse_signing_cert_response(b"<html>"),
            Err(FulcioResponseError::Json(_))
        ));
        assert_eq!(
            parse_signing_cert_response(&vec![b' '; MAX_SIGNING_CERT_RESPONSE_BYTES + 1])
                .unwrap_err(),
            FulcioResponseError::TooLarge
        );
    }
}
