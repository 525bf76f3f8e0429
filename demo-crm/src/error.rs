//! The crate's one error type.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Everything that can go wrong serving the demo CRMs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command-line arguments.
    #[error("{0}")]
    Usage(String),
    /// Binding or serving failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// No such page or record.
    #[error("not found: {0}")]
    NotFound(String),
    /// A request the site cannot answer.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Missing or wrong API token.
    #[error("missing or invalid bearer token")]
    Unauthorized,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = match &self {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::BadRequest(_) | Error::Usage(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = match &self {
            Error::Io(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        let mut res = (status, Json(serde_json::json!({ "error": message }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer realm=\"demo-crm\""));
        }
        res
    }
}
