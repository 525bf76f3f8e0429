//! The one error type of the server. Every handler returns `Result<_, AppError>`;
//! the response is always `{"error":{"code","message"}}`, and internal details are
//! logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use mpt_core::api::{ErrorBody, ErrorDetail};

/// Errors a request can end with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input; the message is shown to the client.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Missing or invalid credentials.
    #[error("unauthorized")]
    Unauthorized,
    /// Authenticated, but not allowed (also: bad Twilio signature).
    #[error("forbidden")]
    Forbidden,
    /// No such object (or it belongs to another tenant).
    #[error("not found")]
    NotFound,
    /// Conflicts with existing state; the message is shown to the client.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Too many requests.
    #[error("rate limited")]
    RateLimited,
    /// A refusal named by a phone error code (`docs/errors.md`), with the agent-facing
    /// text of that code; e.g. 402 `subscription_inactive`, 409 `seats_exceeded`.
    #[error("refused: {code}")]
    Refused {
        /// The code (its text is the message).
        code: mpt_core::PhoneErrorCode,
        /// The HTTP status (usually `code.http_status()`).
        status: StatusCode,
    },
    /// Anything else: logged, answered with a generic 500.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// Wraps any error as an internal one (logged, never sent).
    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(e.to_string())
    }

    /// A refusal with the code's own HTTP status.
    pub fn refused(code: mpt_core::PhoneErrorCode) -> Self {
        let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        AppError::Refused { code, status }
    }

    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m.clone()),
            AppError::Unauthorized => {
                (StatusCode::UNAUTHORIZED, "unauthorized", "sign-in required or invalid".into())
            }
            AppError::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "not allowed".into()),
            AppError::NotFound => (StatusCode::NOT_FOUND, "not_found", "not found".into()),
            AppError::Conflict(m) => (StatusCode::CONFLICT, "conflict", m.clone()),
            AppError::RateLimited => {
                (StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests, retry later".into())
            }
            AppError::Refused { code, status } => (*status, code.as_str(), code.message().into()),
            AppError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error".into())
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self {
            tracing::error!(error = %detail, "internal error");
        }
        let (status, code, message) = self.parts();
        let body = ErrorBody { error: ErrorDetail { code: code.into(), message } };
        let mut resp = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => AppError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                AppError::Conflict("already exists".into())
            }
            _ => AppError::Internal(e.to_string()),
        }
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Internal(format!("json: {e}"))
    }
}

impl From<axum::extract::rejection::JsonRejection> for AppError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        AppError::BadRequest(format!("invalid JSON body: {}", e.body_text()))
    }
}

impl From<axum::extract::rejection::QueryRejection> for AppError {
    fn from(e: axum::extract::rejection::QueryRejection) -> Self {
        AppError::BadRequest(format!("invalid query: {}", e.body_text()))
    }
}

/// `Result` with [`AppError`].
pub type AppResult<T> = Result<T, AppError>;

/// A JSON extractor whose rejection is an [`AppError`] (so bad bodies get our error shape).
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct AppJson<T>(pub T);

impl<T: serde::Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// A query extractor whose rejection is an [`AppError`].
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct AppQuery<T>(pub T);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn internal_errors_hide_details() {
        let resp = AppError::internal("db password is hunter2").into_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16).await.expect("body");
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains(r#""code":"internal""#), "{text}");
    }
}
