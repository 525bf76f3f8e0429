//! Talking to the service worker: typed requests over `chrome.runtime.sendMessage`,
//! pushed views (`BackgroundToPopup`) over a `chrome.runtime.connect({name: "popup"})` port.

use js_sys::{Function, Promise};
use mpt_core::engine::PhoneView;
use mpt_core::msg::{PopupToBackground, POPUP_PORT};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::PopupError;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = sendMessage, catch)]
    fn send_message(msg: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = connect, catch)]
    fn runtime_connect(info: &JsValue) -> Result<Port, JsValue>;

    type Port;
    #[wasm_bindgen(method, getter, js_name = onMessage)]
    fn on_message(this: &Port) -> PortEvent;
    #[wasm_bindgen(method, getter, js_name = onDisconnect)]
    fn on_disconnect(this: &Port) -> PortEvent;

    type PortEvent;
    #[wasm_bindgen(method, js_name = addListener)]
    fn add_listener(this: &PortEvent, cb: &Function);
}

/// Sends a request; resolves to the worker's view and server, or its refusal as an error.
pub async fn request(msg: &PopupToBackground) -> Result<(PhoneView, String), PopupError> {
    let js = msg.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(|e| PopupError::BadReply(e.to_string()))?;
    let promise = send_message(&js).map_err(|_| PopupError::NoWorker)?;
    let reply = JsFuture::from(promise).await.map_err(|_| PopupError::NoWorker)?;
    decode(&reply)
}

/// Opens the push port; `on_view` gets every view, `on_gone` runs when the port closes.
pub fn subscribe(on_view: impl Fn(PhoneView, String) + 'static, on_gone: impl Fn() + 'static) {
    let info = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&info, &"name".into(), &POPUP_PORT.into());
    let Ok(port) = runtime_connect(&info) else {
        on_gone();
        return;
    };
    let cb = Closure::<dyn Fn(JsValue)>::new(move |msg: JsValue| {
        if let Ok(v) = decode(&msg) {
            on_view(v.0, v.1);
        }
    });
    port.on_message().add_listener(cb.as_ref().unchecked_ref());
    cb.forget(); // lives as long as the popup
    let gone = Closure::<dyn Fn()>::new(on_gone);
    port.on_disconnect().add_listener(gone.as_ref().unchecked_ref());
    gone.forget();
}

/// Sends a request and returns the worker's raw answer (the site control reads it by hand).
pub async fn raw(msg: &PopupToBackground) -> Option<JsValue> {
    let js = msg.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).ok()?;
    JsFuture::from(send_message(&js).ok()?).await.ok()
}

/// `msg[name]`, or `undefined`.
pub fn field(msg: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(msg, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// Reads a [`BackgroundToPopup`] by hand: its `type` first, then the payload straight
/// into its type. (Deriving through the internally tagged enum would buffer the whole
/// view in serde's generic `Content` first, which costs the popup's wasm ~40 KB.)
fn decode(msg: &JsValue) -> Result<(PhoneView, String), PopupError> {
    match field(msg, "type").as_string().as_deref() {
        Some("View") => {
            let view: PhoneView = serde_wasm_bindgen::from_value(field(msg, "view")).map_err(|e| PopupError::BadReply(e.to_string()))?;
            Ok((view, field(msg, "server_url").as_string().unwrap_or_default()))
        }
        Some("Error") => Err(PopupError::Refused(field(msg, "message").as_string().unwrap_or_default())),
        other => Err(PopupError::BadReply(format!("unexpected message type {other:?}"))),
    }
}
