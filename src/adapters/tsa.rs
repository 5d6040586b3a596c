//! RFC 3161 timestamp authority client: `POST {url}` with a DER TimeStampReq
//! (`application/timestamp-query`), expecting a DER TimeStampResp (`application/timestamp-reply`)
//! whose token answers this request (SHA-256 imprint of the signature, our nonce).

use super::http::{HttpClient, error_message};
use crate::core::keys::sha256;
use crate::core::tsp;
use crate::flow::{PortError, TimestampAuthority};

const SERVICE: &str = "timestamp authority";

pub struct TsaClient {
    http: HttpClient,
    url: String,
}

impl TsaClient {
    /// `url` is the TSA's full endpoint (a signing config's `tsaUrls[].url`, e.g.
    /// `https://timestamp.sigstore.dev/api/v1/timestamp`).
    pub fn new(http: HttpClient, url: &str) -> Self {
        Self {
            http,
            url: url.to_owned(),
        }
    }
}

fn nonce() -> Result<u64, PortError> {
    let mut bytes = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).map_err(|_| {
        PortError::Protocol {
            service: SERVICE,
            detail: "no randomness for the request nonce".into(),
        }
    })?;
    // A positive INTEGER that fits 63 bits keeps the DER encoding short and unambiguous.
    Ok(u64::from_be_bytes(bytes) >> 1)
}

impl TimestampAuthority for TsaClient {
    async fn timestamp(&self, signature: &[u8]) -> Result<Vec<u8>, PortError> {
        let digest = sha256(signature);
        let nonce = nonce()?;
        let resp = self
            .http
            .post_bytes(
                SERVICE,
                &self.url,
                "application/timestamp-query",
                "application/timestamp-reply",
                tsp::request_der(&digest, nonce),
            )
            .await?;
        if resp.status != 200 {
            return Err(PortError::Server {
                service: SERVICE,
                status: resp.status,
                message: error_message(&resp.body),
            });
        }
        tsp::token_from_response(&resp.body, &digest, nonce).map_err(|e| PortError::Protocol {
            service: SERVICE,
            detail: e.to_string(),
        })
    }
}
