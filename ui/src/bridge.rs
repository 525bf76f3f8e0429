//! (Feature `extension`.) How the extension's own pages (popup, call panel) talk to the
//! service worker: typed requests over `chrome.runtime.sendMessage`,
//! pushed views (`BackgroundToPopup`) over a `chrome.runtime.connect({name: "popup"})` port.

use js_sys::{Function, Promise};
use mpt_core::engine::PhoneView;
use mpt_core::msg::{PopupToBackground, POPUP_PORT};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// What can go wrong between an extension page and the service worker.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// `chrome.runtime.sendMessage` or the port failed (the worker is restarting or gone).
    #[error("no service worker")]
    NoWorker,
    /// The worker's answer is not a `BackgroundToPopup`.
    #[error("unexpected answer from MPT Phone: {0}")]
    BadReply(String),
    /// The worker's engine refused a command (its view shows why).
    #[error("{0}")]
    Refused(String),
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = sendMessage, catch)]
    fn send_message(msg: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = connect, catch)]
    fn runtime_connect(info: &JsValue) -> Result<Port, JsValue>;

    /// A `chrome.runtime.Port`.
    pub type Port;
    #[wasm_bindgen(method, js_name = postMessage, catch)]
    fn post_message(this: &Port, msg: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, getter, js_name = onMessage)]
    fn on_message(this: &Port) -> PortEvent;
    #[wasm_bindgen(method, getter, js_name = onDisconnect)]
    fn on_disconnect(this: &Port) -> PortEvent;

    type PortEvent;
    #[wasm_bindgen(method, js_name = addListener)]
    fn add_listener(this: &PortEvent, cb: &Function);
}

/// Sends a request; resolves to the worker's view and server, or its refusal as an error.
pub async fn request(msg: &PopupToBackground) -> Result<(PhoneView, String), BridgeError> {
    let js = msg.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(|e| BridgeError::BadReply(e.to_string()))?;
    let promise = send_message(&js).map_err(|_| BridgeError::NoWorker)?;
    let reply = JsFuture::from(promise).await.map_err(|_| BridgeError::NoWorker)?;
    decode(&reply)
}

/// Sends a request and returns the worker's raw answer (the popup's site control reads it
/// by hand).
pub async fn raw(msg: &PopupToBackground) -> Option<JsValue> {
    let js = msg.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).ok()?;
    JsFuture::from(send_message(&js).ok()?).await.ok()
}

/// Opens the popup's push port; `on_view` gets every view, `on_gone` runs when the port closes.
pub fn subscribe(on_view: impl Fn(PhoneView, String) + 'static, on_gone: impl Fn() + 'static) {
    let _ = open(
        POPUP_PORT,
        move |msg| {
            if let Ok((v, url)) = decode(&msg) {
                on_view(v, url);
            }
        },
        on_gone,
    );
}

/// Opens port `name`: `on_msg` gets every message as it came, `on_gone` runs when the
/// port closes. The panel sends its requests over it ([`post`]).
pub fn open(name: &str, on_msg: impl Fn(JsValue) + 'static, on_gone: impl Fn() + 'static) -> Option<Port> {
    let info = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&info, &"name".into(), &name.into());
    let Ok(port) = runtime_connect(&info) else {
        on_gone();
        return None;
    };
    let cb = Closure::<dyn Fn(JsValue)>::new(on_msg);
    port.on_message().add_listener(cb.as_ref().unchecked_ref());
    cb.forget(); // lives as long as the popup
    let gone = Closure::<dyn Fn()>::new(on_gone);
    port.on_disconnect().add_listener(gone.as_ref().unchecked_ref());
    gone.forget();
    Some(port)
}

/// Posts a request on `port` (the answer, if any, comes back as a push).
pub fn post<T: Serialize>(port: &Port, msg: &T) -> Result<(), BridgeError> {
    let js = msg.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(|e| BridgeError::BadReply(e.to_string()))?;
    port.post_message(&js).map_err(|_| BridgeError::NoWorker)
}

/// Field `name` of a message (`undefined` when absent).
pub fn field(msg: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(msg, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// Reads a [`BackgroundToPopup`] by hand: its `type` first, then the payload straight
/// into its type. (Deriving through the internally tagged enum would buffer the whole
/// view in serde's generic `Content` first, which costs the popup's wasm ~40 KB.)
pub fn decode(msg: &JsValue) -> Result<(PhoneView, String), BridgeError> {
    match field(msg, "type").as_string().as_deref() {
        Some("View") => {
            let view: PhoneView = serde_wasm_bindgen::from_value(field(msg, "view")).map_err(|e| BridgeError::BadReply(e.to_string()))?;
            Ok((view, field(msg, "server_url").as_string().unwrap_or_default()))
        }
        Some("Error") => Err(BridgeError::Refused(field(msg, "message").as_string().unwrap_or_default())),
        _ => Err(BridgeError::BadReply("a message of an unknown type".into())),
    }
}
