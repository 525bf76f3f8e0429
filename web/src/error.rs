//! The one error type of the web executor.

use wasm_bindgen::JsValue;

/// What can go wrong in the executor itself (phone errors are the engine's
/// `PhoneErrorCode`s, with their one text).
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The page passed something that is not a command or an option.
    #[error("bad input: {0}")]
    BadInput(String),
    /// A browser API threw or rejected.
    #[error("browser error: {0}")]
    Js(String),
}

impl From<JsValue> for WebError {
    fn from(v: JsValue) -> Self {
        if let Some(s) = v.as_string() {
            return WebError::Js(s);
        }
        let message = js_sys::Reflect::get(&v, &JsValue::from_str("message")).ok().and_then(|m| m.as_string());
        WebError::Js(message.unwrap_or_else(|| format!("{v:?}")))
    }
}

impl From<serde_wasm_bindgen::Error> for WebError {
    fn from(e: serde_wasm_bindgen::Error) -> Self {
        WebError::BadInput(e.to_string())
    }
}

impl From<WebError> for JsValue {
    fn from(e: WebError) -> JsValue {
        js_sys::Error::new(&e.to_string()).into()
    }
}
