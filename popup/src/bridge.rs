//! Talking to the service worker: typed requests over `chrome.runtime.sendMessage`,
//! pushed snapshots over a `chrome.runtime.connect({name: "popup"})` port.

use js_sys::{Function, Promise};
use mpt_core::engine::PhoneView;
use mpt_core::msg::{BackgroundToPopup, PopupToBackground, POPUP_PORT};
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
    let js = msg
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| PopupError::BadReply(e.to_string()))?;
    let promise = send_message(&js).map_err(|_| PopupError::NoWorker)?;
    let reply = JsFuture::from(promise).await.map_err(|_| PopupError::NoWorker)?;
    match serde_wasm_bindgen::from_value::<BackgroundToPopup>(reply) {
        Ok(BackgroundToPopup::View { view, server_url }) => Ok((*view, server_url)),
        Ok(BackgroundToPopup::Error { message, .. }) => Err(PopupError::Refused(message)),
        Err(e) => Err(PopupError::BadReply(e.to_string())),
    }
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
        if let Ok(BackgroundToPopup::View { view, server_url }) = serde_wasm_bindgen::from_value(msg) {
            on_view(*view, server_url);
        }
    });
    port.on_message().add_listener(cb.as_ref().unchecked_ref());
    cb.forget(); // lives as long as the popup
    let gone = Closure::<dyn Fn()>::new(on_gone);
    port.on_disconnect().add_listener(gone.as_ref().unchecked_ref());
    gone.forget();
}
