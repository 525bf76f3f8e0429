//! The one error type of the options page.

use wasm_bindgen::JsValue;

/// What can go wrong talking to the browser or the worker.
#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
    /// A browser API threw or rejected.
    #[error("{0}")]
    Browser(String),
    /// The worker's answer was not a `BackgroundToOptions`.
    #[error("unexpected answer from MPT Phone: {0}")]
    BadReply(String),
    /// The worker refused (its message is for the agent).
    #[error("{0}")]
    Refused(String),
}

impl From<JsValue> for OptionsError {
    fn from(v: JsValue) -> Self {
        let text = v
            .as_string()
            .or_else(|| js_sys::Reflect::get(&v, &"message".into()).ok().and_then(|m| m.as_string()))
            .unwrap_or_else(|| format!("{v:?}"));
        OptionsError::Browser(text)
    }
}
