//! The one error type of the server. Every handler returns `Result<_, AppError>`;
//! the response is always `{"error":{"code","message"}}`, and internal details are
//! logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use mpt_core::api::{ErrorBody, ErrorDetail};
use mpt_core::PhoneErrorCode;

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
    /// The body is larger than the route takes.
    #[error("payload too large")]
    PayloadTooLarge,
    /// Too many requests (retry in a minute).
    #[error("rate limited")]
    RateLimited,
    /// Too many requests: retry after this many seconds.
    #[error("rate limited for {0} s")]
    RetryAfter(u64),
    /// A failure the phone clients know by its [`PhoneErrorCode`] (`docs/errors.md`);
    /// the message, when given, replaces the code's standard text.
    #[error("{code}")]
    Phone {
        /// The code.
        code: PhoneErrorCode,
        /// The HTTP status (the code's own unless a route says otherwise, e.g. 409
        /// `seats_exceeded` when inviting past the seat count).
        status: StatusCode,
        /// A message of the route's own instead of the code's standard text.
        message: Option<String>,
    },
    /// A database error: a missing row is a 404, a unique violation a 409, anything
    /// else a logged 500.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Anything else: logged, answered with a generic 500.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// Wraps any error as an internal one (logged, never sent).
    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(e.to_string())
    }

    /// A phone error with its standard text and status.
    pub fn phone(code: PhoneErrorCode) -> Self {
        let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        AppError::Phone { code, status, message: None }
    }

    /// A phone error with a message of its own (safe to show).
    pub fn phone_msg(code: PhoneErrorCode, message: impl Into<String>) -> Self {
        match AppError::phone(code) {
            AppError::Phone { code, status, .. } => AppError::Phone { code, status, message: Some(message.into()) },
            other => other,
        }
    }

    /// A phone error answered with another status than the code's own.
    pub fn phone_with_status(code: PhoneErrorCode, status: StatusCode) -> Self {
        AppError::Phone { code, status, message: None }
    }

    /// SQLite said the database is busy or locked, or PostgreSQL could not serialize
    /// or found a deadlock: the same work may succeed if tried again.
    pub fn is_busy(&self) -> bool {
        let AppError::Db(sqlx::Error::Database(db)) = self else { return false };
        match db.code() {
            // SQLite primary codes 5 (BUSY) and 6 (LOCKED), also as extended codes.
            Some(code) => match code.parse::<u32>() {
                Ok(n) => matches!(n & 0xff, 5 | 6),
                Err(_) => matches!(code.as_ref(), "40001" | "40P01"),
            },
            None => false,
        }
    }

    /// The write conflicts with an existing row (a unique constraint, or a conflict the
    /// code found itself).
    pub fn is_conflict(&self) -> bool {
        match self {
            AppError::Conflict(_) => true,
            AppError::Db(sqlx::Error::Database(db)) => db.is_unique_violation(),
            _ => false,
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, String) {
        let phone = |code: PhoneErrorCode, message: Option<&String>| {
            let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, code.as_str(), message.cloned().unwrap_or_else(|| code.message().to_string()))
        };
        match self {
            AppError::Phone { code, status, message } => {
                (*status, code.as_str(), message.clone().unwrap_or_else(|| code.message().to_string()))
            }
            AppError::Db(sqlx::Error::RowNotFound) => (StatusCode::NOT_FOUND, "not_found", "not found".into()),
            AppError::Db(e) if self.is_conflict() => {
                let _ = e;
                (StatusCode::CONFLICT, "conflict", "already exists".into())
            }
            AppError::Db(_) => phone(PhoneErrorCode::Internal, None),
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m.clone()),
            AppError::Unauthorized => phone(PhoneErrorCode::Unauthorized, None),
            AppError::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "not allowed".into()),
            AppError::NotFound => (StatusCode::NOT_FOUND, "not_found", "not found".into()),
            AppError::Conflict(m) => (StatusCode::CONFLICT, "conflict", m.clone()),
            AppError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "bad_request", "the request body is too large".into()),
            AppError::RateLimited | AppError::RetryAfter(_) => phone(PhoneErrorCode::RateLimited, None),
            AppError::Internal(_) => phone(PhoneErrorCode::Internal, None),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match &self {
            AppError::Internal(detail) => tracing::error!(error = %detail, "internal error"),
            AppError::Db(e) if !self.is_conflict() && !matches!(e, sqlx::Error::RowNotFound) => {
                tracing::error!(error = %e, "database error")
            }
            _ => {}
        }
        let (status, code, message) = self.parts();
        let body = ErrorBody { error: ErrorDetail { code: code.into(), message } };
        let mut resp = (status, Json(body)).into_response();
        let retry_after = match self {
            AppError::RetryAfter(s) => Some(s),
            AppError::RateLimited => Some(60),
            _ => None,
        };
        if let Some(secs) = retry_after {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Internal(format!("json: {e}"))
    }
}

impl From<axum::extract::rejection::JsonRejection> for AppError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return AppError::PayloadTooLarge;
        }
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

    #[tokio::test]
    async fn a_locked_sqlite_database_is_busy_and_a_duplicate_a_conflict() {
        use sqlx::ConnectOptions;
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.path().join("busy.db"))
            .create_if_missing(true)
            .busy_timeout(std::time::Duration::ZERO);
        let mut a = opts.connect().await.expect("a");
        let mut b = opts.connect().await.expect("b");
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY)").execute(&mut a).await.expect("create");
        sqlx::query("BEGIN IMMEDIATE").execute(&mut a).await.expect("lock");
        let err = AppError::from(sqlx::query("INSERT INTO t (id) VALUES (1)").execute(&mut b).await.expect_err("busy"));
        assert!(err.is_busy(), "{err}");
        assert!(!err.is_conflict());
        sqlx::query("INSERT INTO t (id) VALUES (1)").execute(&mut a).await.expect("insert");
        sqlx::query("COMMIT").execute(&mut a).await.expect("commit");
        let dup = AppError::from(sqlx::query("INSERT INTO t (id) VALUES (1)").execute(&mut b).await.expect_err("dup"));
        assert!(dup.is_conflict() && !dup.is_busy(), "{dup}");
        assert_eq!(dup.into_response().status(), StatusCode::CONFLICT);
        let missing = AppError::from(sqlx::Error::RowNotFound).into_response();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn phone_errors_use_the_shared_codes_and_texts() {
        for code in PhoneErrorCode::ALL {
            let resp = AppError::phone(code).into_response();
            assert_eq!(resp.status().as_u16(), code.http_status());
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16).await.expect("body");
            let body: ErrorBody = serde_json::from_slice(&bytes).expect("error body");
            assert_eq!(body.error.code, code.as_str());
            assert_eq!(body.error.message, code.message());
        }
        let resp = AppError::Unauthorized.into_response();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    }
}
