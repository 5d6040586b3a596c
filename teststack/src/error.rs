//! HTTP error responses in the dialect of each service, and the size-limited JSON body reader
//! that every POST handler uses.
//!
//! Fulcio answers grpc-gateway style `{"code": <grpc code>, "message": "...", "details": []}`,
//! Rekor answers `{"code": <http status>, "message": "..."}`. Every rejection names the problem.

use axum::{
    Json,
    body::Body,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;
use serde_json::json;

/// Largest request body any endpoint accepts. Real Fulcio/Rekor requests are a few KiB.
pub const MAX_BODY: usize = 64 * 1024;

/// Which service's error dialect to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Fulcio,
    Rekor,
}

/// An error answer: status, dialect and a message naming the problem.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub dialect: Dialect,
    pub message: String,
}

impl ApiError {
    pub fn new(dialect: Dialect, status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            dialect,
            message: message.into(),
        }
    }
    pub fn bad_request(dialect: Dialect, message: impl Into<String>) -> Self {
        Self::new(dialect, StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(dialect: Dialect, message: impl Into<String>) -> Self {
        Self::new(dialect, StatusCode::NOT_FOUND, message)
    }
    pub fn internal(dialect: Dialect, message: impl Into<String>) -> Self {
        Self::new(dialect, StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

/// The gRPC status code grpc-gateway would report for an HTTP status (Fulcio's error body).
fn grpc_code(status: StatusCode) -> u16 {
    match status.as_u16() {
        400 => 3,  // InvalidArgument
        401 => 16, // Unauthenticated
        403 => 7,  // PermissionDenied
        404 => 5,  // NotFound
        409 => 6,  // AlreadyExists
        413 => 8,  // ResourceExhausted
        _ => 13,   // Internal
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.dialect {
            Dialect::Fulcio => json!({
                "code": grpc_code(self.status),
                "message": self.message,
                "details": [],
            }),
            Dialect::Rekor => json!({ "code": self.status.as_u16(), "message": self.message }),
        };
        (self.status, Json(body)).into_response()
    }
}

/// Reads a request body of at most [`MAX_BODY`] bytes and parses it as JSON into `T`.
/// An oversized body is a 413, unparsable JSON a 400, both naming the problem.
pub async fn read_json<T: DeserializeOwned>(dialect: Dialect, body: Body) -> Result<T, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        ApiError::new(
            dialect,
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is larger than the {MAX_BODY}-byte limit of this test stack"),
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            dialect,
            format!("request body is not valid JSON for this endpoint: {e}"),
        )
    })
}
