//! The one error type of the service worker.

use wasm_bindgen::JsValue;

/// Everything that can go wrong while handling a message or talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum BgError {
    /// The sender is neither one of our pages nor a content script of ours.
    #[error("message from an unknown sender")]
    UnknownSender,
    /// The message does not match the enum of its direction.
    #[error("malformed message: {0}")]
    BadMessage(String),
    /// The agent has to sign in first.
    #[error("Sign in to MPT Phone first")]
    SignedOut,
    /// The request is not allowed in the current state (shown to the agent as is).
    #[error("{0}")]
    Rejected(String),
    /// The server could not be reached.
    #[error("Cannot reach the MPT Phone server at {0}")]
    Unreachable(String),
    /// The server answered with an error body.
    #[error("{message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's error code (`unauthorized`, `bad_request`…).
        code: String,
        /// The server's message, safe to show.
        message: String,
    },
    /// The server's answer did not parse.
    #[error("unexpected answer from the server: {0}")]
    BadResponse(String),
    /// A browser API threw or rejected.
    #[error("browser error: {0}")]
    Js(String),
}

impl BgError {
    /// True when the server said the access token is no longer valid.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, BgError::Server { status: 401, .. })
    }
}

impl From<JsValue> for BgError {
    fn from(v: JsValue) -> Self {
        BgError::Js(js_error_text(&v))
    }
}

impl From<serde_wasm_bindgen::Error> for BgError {
    fn from(e: serde_wasm_bindgen::Error) -> Self {
        BgError::BadMessage(e.to_string())
    }
}

/// Best-effort text of a thrown JS value (`Error.message`, or the string itself).
pub fn js_error_text(v: &JsValue) -> String {
    if let Some(s) = v.as_string() {
        return s;
    }
    js_sys::Reflect::get(v, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{v:?}"))
}
