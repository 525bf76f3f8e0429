//! The options page's edges: typed requests to the service worker
//! (`OptionsToBackground` → `BackgroundToOptions`), `chrome.storage.sync` for the agent's
//! preferences (the content script and the worker read the same keys),
//! `chrome.storage.managed` for the administrator's, and `chrome.permissions.request`.

use js_sys::{Array, Object, Promise, Reflect};
use mpt_core::msg::{BackgroundToOptions, OptionsToBackground, Settings};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::OptionsError;

/// `chrome.storage.sync` keys (shared with `content/static/runtime.js` and the worker).
pub const REGION_KEY: &str = "defaultRegion";
/// `'mpt'` (call with MPT Phone) or `'browser'` (leave tel: links to the browser).
pub const TEL_KEY: &str = "telLinks";
/// Chosen microphone and speaker (`MediaDeviceInfo.deviceId`).
pub const MIC_KEY: &str = "audioInput";
/// See [`MIC_KEY`].
pub const SPEAKER_KEY: &str = "audioOutput";
/// See [`MIC_KEY`]: the speaker an incoming call rings on.
pub const RINGTONE_KEY: &str = "audioRingtone";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = sendMessage, catch)]
    fn send_message(msg: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "sync"], js_name = get, catch)]
    fn sync_get(keys: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "sync"], js_name = set, catch)]
    fn sync_set(items: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "sync"], js_name = remove, catch)]
    fn sync_remove(key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "managed"], js_name = get, catch)]
    fn managed_get() -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "permissions"], js_name = request, catch)]
    fn permissions_request(p: &JsValue) -> Result<Promise, JsValue>;
}

/// Sends `msg` to the worker; its settings, or its refusal.
pub async fn request(msg: &OptionsToBackground) -> Result<Settings, OptionsError> {
    let js = msg.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(|e| OptionsError::BadReply(e.to_string()))?;
    let reply = JsFuture::from(send_message(&js)?).await?;
    match serde_wasm_bindgen::from_value::<BackgroundToOptions>(reply).map_err(|e| OptionsError::BadReply(e.to_string()))? {
        BackgroundToOptions::Settings { settings } => Ok(settings),
        BackgroundToOptions::Error { message } => Err(OptionsError::Refused(message)),
    }
}

/// One string preference from `chrome.storage.sync`.
pub async fn pref(key: &str) -> Option<String> {
    let got = JsFuture::from(sync_get(&JsValue::from_str(key)).ok()?).await.ok()?;
    Reflect::get(&got, &key.into()).ok()?.as_string()
}

/// Stores (or, for an empty value, removes) a string preference.
pub async fn set_pref(key: &str, value: &str) -> Result<(), OptionsError> {
    if value.is_empty() {
        JsFuture::from(sync_remove(key)?).await?;
    } else {
        let o = Object::new();
        Reflect::set(&o, &key.into(), &value.into())?;
        JsFuture::from(sync_set(&o)?).await?;
    }
    Ok(())
}

/// The administrator's preset for `key` (managed storage), if any.
pub async fn managed(key: &str) -> Option<String> {
    let got = JsFuture::from(managed_get().ok()?).await.ok()?;
    Reflect::get(&got, &key.into()).ok()?.as_string()
}

/// Starts `chrome.permissions.request` for `patterns`. Must be called synchronously in
/// the agent's click (the browser shows its prompt only in a user gesture); await the
/// returned future afterwards.
pub fn ask(patterns: &[String]) -> Result<JsFuture, OptionsError> {
    let p = Object::new();
    let list: Array = patterns.iter().map(|s| JsValue::from_str(s)).collect();
    Reflect::set(&p, &"origins".into(), &list)?;
    Ok(JsFuture::from(permissions_request(&p)?))
}
