//! The one error type of the app.

use wasm_bindgen::JsValue;

/// What can go wrong talking to the server (phone errors are the engine's, shown by
/// `mpt-ui`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// The server answered with its error shape `{"error":{"code","message"}}`.
    #[error("{message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// `docs/errors.md` code.
        code: String,
        /// Text safe to show.
        message: String,
    },
    /// The server could not be reached, or a browser API failed.
    #[error("the server could not be reached ({0})")]
    Network(String),
    /// An answer that is not what the API documents.
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
    /// Not signed in (or the session ended).
    #[error("you are signed out")]
    SignedOut,
}

impl From<JsValue> for AppError {
    fn from(v: JsValue) -> Self {
        let message = js_sys::Reflect::get(&v, &JsValue::from_str("message")).ok().and_then(|m| m.as_string());
        AppError::Network(message.or_else(|| v.as_string()).unwrap_or_else(|| "browser error".into()))
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Decode(e.to_string())
    }
}
