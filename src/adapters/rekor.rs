//! Rekor v1 client: `POST {base}/api/v1/log/entries` with a hashedrekord entry; expects 201.

use super::http::{HttpClient, error_message, join};
use crate::core::rekor::{HashedRekord, TlogEntry};
use crate::core::signing::parse_rekor_response;
use crate::flow::{PortError, TransparencyLog};

const SERVICE: &str = "Rekor";

pub struct RekorClient {
    http: HttpClient,
    base_url: String,
}

impl RekorClient {
    pub fn new(http: HttpClient, base_url: &str) -> Self {
        Self {
            http,
            base_url: base_url.to_owned(),
        }
    }
}

impl TransparencyLog for RekorClient {
    async fn submit(&self, entry: &HashedRekord) -> Result<TlogEntry, PortError> {
        let url = join(&self.base_url, "/api/v1/log/entries");
        let resp = self.http.post_json(SERVICE, &url, entry).await?;
        if resp.status != 201 {
            return Err(PortError::Server {
                service: SERVICE,
                status: resp.status,
                message: error_message(&resp.body),
            });
        }
        parse_rekor_response(&resp.body).map_err(|e| PortError::Protocol {
            service: SERVICE,
            detail: e.to_string(),
        })
    }
}
