//! Fulcio v2 client: `POST {base}/api/v2/signingCert` with a public key and proof of possession.

use super::http::{HttpClient, error_message, join};
use crate::core::fulcio::{SigningCertRequest, parse_signing_cert_response};
use crate::core::token::IdentityToken;
use crate::flow::{CertIssuer, PortError};

const SERVICE: &str = "Fulcio";

pub struct FulcioClient {
    http: HttpClient,
    base_url: String,
}

impl FulcioClient {
    pub fn new(http: HttpClient, base_url: &str) -> Self {
        Self {
            http,
            base_url: base_url.to_owned(),
        }
    }
}

impl CertIssuer for FulcioClient {
    async fn issue(
        &self,
        token: &IdentityToken,
        public_key_pem: &str,
        proof_of_possession: &[u8],
    ) -> Result<Vec<Vec<u8>>, PortError> {
        let url = join(&self.base_url, "/api/v2/signingCert");
        let request = SigningCertRequest::new(token, public_key_pem, proof_of_possession);
        let resp = self.http.post_json(SERVICE, &url, &request).await?;
        if !(resp.status == 200 || resp.status == 201) {
            return Err(PortError::Server {
                service: SERVICE,
                status: resp.status,
                message: error_message(&resp.body),
            });
        }
        parse_signing_cert_response(&resp.body).map_err(|e| PortError::Protocol {
            service: SERVICE,
            detail: e.to_string(),
        })
    }
}
