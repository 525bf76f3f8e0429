//! The one error type of the service worker.

use wasm_bindgen::JsValue;

/// What can go wrong in the executor itself (phone errors are the engine's
/// `PhoneErrorCode`s, with their one text).
#[derive(Debug, thiserror::Error)]
pub enum BgError {
    /// The message does not match the enum of its direction.
    #[error("malformed message: {0}")]
    BadMessage(String),
    /// A browser API threw or rejected.
    #[error("browser error: {0}")]
    Js(String),
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
    js_sys::Reflect::get(v, &JsValue::from_str("message")).ok().and_then(|m| m.as_string()).unwrap_or_else(|| format!("{v:?}"))
}
