//! The few `chrome.*` and global functions the service worker calls from Rust.
//!
//! MV3 APIs return promises when called without a callback; `catch` turns a
//! synchronous throw (API missing, bad argument) into an `Err`.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::BgError;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "local"], js_name = get, catch)]
    fn local_get(keys: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "local"], js_name = set, catch)]
    fn local_set(items: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "session"], js_name = get, catch)]
    fn session_get(keys: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "session"], js_name = set, catch)]
    fn session_set(items: &JsValue) -> Result<Promise, JsValue>;

    /// `chrome.runtime.getURL(path)`.
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = getURL)]
    pub fn get_url(path: &str) -> String;

    #[wasm_bindgen(js_namespace = ["chrome", "tabs"], js_name = sendMessage, catch)]
    fn tabs_send_message(tab_id: i32, msg: &JsValue, options: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "tabs"], js_name = create, catch)]
    fn tabs_create(props: &JsValue) -> Result<Promise, JsValue>;

    #[wasm_bindgen(js_namespace = ["chrome", "alarms"], js_name = create, catch)]
    fn alarms_create(name: &str, info: &JsValue) -> Result<Promise, JsValue>;

    #[wasm_bindgen(js_namespace = ["chrome", "offscreen"], js_name = createDocument, catch)]
    fn offscreen_create(params: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = getContexts, catch)]
    fn runtime_get_contexts(filter: &JsValue) -> Result<Promise, JsValue>;

    /// Global `fetch`.
    #[wasm_bindgen(js_name = fetch)]
    pub fn fetch_request(req: &web_sys::Request) -> Promise;
    /// Global `setTimeout`.
    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(cb: &js_sys::Function, ms: i32) -> JsValue;
    /// Global `clearTimeout`.
    #[wasm_bindgen(js_name = clearTimeout)]
    pub fn clear_timeout(id: &JsValue);
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &js_sys::Uint32Array);

    /// A `chrome.runtime.Port`.
    #[derive(Clone, Debug)]
    pub type Port;
    /// `port.postMessage(msg)` (throws once the other end is gone).
    #[wasm_bindgen(method, js_name = postMessage, catch)]
    pub fn post_message(this: &Port, msg: &JsValue) -> Result<(), JsValue>;
    /// `port.name`.
    #[wasm_bindgen(method, getter)]
    pub fn name(this: &Port) -> String;
    /// `port.sender`.
    #[wasm_bindgen(method, getter)]
    pub fn sender(this: &Port) -> JsValue;
}

async fn run(p: Result<Promise, JsValue>) -> Result<JsValue, BgError> {
    Ok(JsFuture::from(p?).await?)
}

/// Reads one key of `chrome.storage.local` (`undefined` if absent).
pub async fn local_read(key: &str) -> Result<JsValue, BgError> {
    let all = run(local_get(&JsValue::from_str(key))).await?;
    Ok(js_sys::Reflect::get(&all, &JsValue::from_str(key))?)
}

/// Writes one key of `chrome.storage.local`.
pub async fn local_write(key: &str, value: &JsValue) -> Result<(), BgError> {
    let obj = js_sys::Object::new();
    js_sys::Reflect::set(&obj, &JsValue::from_str(key), value)?;
    run(local_set(&obj)).await.map(|_| ())
}

/// Reads one key of `chrome.storage.session` (memory only, gone with the browser; closed
/// to content scripts by default).
pub async fn session_read(key: &str) -> Result<JsValue, BgError> {
    let all = run(session_get(&JsValue::from_str(key))).await?;
    Ok(js_sys::Reflect::get(&all, &JsValue::from_str(key))?)
}

/// Writes one key of `chrome.storage.session`.
pub async fn session_write(key: &str, value: &JsValue) -> Result<(), BgError> {
    let obj = js_sys::Object::new();
    js_sys::Reflect::set(&obj, &JsValue::from_str(key), value)?;
    run(session_set(&obj)).await.map(|_| ())
}

/// `chrome.tabs.sendMessage(tab, msg, {documentId})`: only to that one document (not
/// the tab's other frames, nor what the tab navigates to next); errors when that
/// document is gone.
pub async fn send_to_document(tab_id: i32, document_id: &str, msg: &JsValue) -> Result<(), BgError> {
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"documentId".into(), &document_id.into())?;
    run(tabs_send_message(tab_id, msg, &options)).await.map(|_| ())
}

/// Opens an extension page in a new tab.
pub async fn open_tab(path: &str) -> Result<(), BgError> {
    let props = js_sys::Object::new();
    js_sys::Reflect::set(&props, &"url".into(), &get_url(path).into())?;
    run(tabs_create(&props)).await.map(|_| ())
}

/// Schedules the one-shot alarm `name` at `when_ms` (Unix milliseconds).
pub async fn alarm_at(name: &str, when_ms: f64) -> Result<(), BgError> {
    let info = js_sys::Object::new();
    js_sys::Reflect::set(&info, &"when".into(), &when_ms.into())?;
    run(alarms_create(name, &info)).await.map(|_| ())
}

/// Creates the offscreen document at `path` unless one exists already.
pub async fn ensure_offscreen(path: &str) -> Result<(), BgError> {
    let filter = js_sys::Object::new();
    let types = js_sys::Array::of1(&"OFFSCREEN_DOCUMENT".into());
    js_sys::Reflect::set(&filter, &"contextTypes".into(), &types)?;
    let existing = run(runtime_get_contexts(&filter)).await?;
    if js_sys::Array::from(&existing).length() > 0 {
        return Ok(());
    }
    let params = js_sys::Object::new();
    js_sys::Reflect::set(&params, &"url".into(), &path.into())?;
    let reasons = js_sys::Array::of3(&"USER_MEDIA".into(), &"WEB_RTC".into(), &"AUDIO_PLAYBACK".into());
    js_sys::Reflect::set(&params, &"reasons".into(), &reasons)?;
    js_sys::Reflect::set(
        &params,
        &"justification".into(),
        &"Runs the Twilio Voice SDK (microphone and call audio) for the agent's calls.".into(),
    )?;
    run(offscreen_create(&params)).await.map(|_| ())
}

/// Current time, Unix milliseconds.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// 64 bits from `crypto.getRandomValues`: the engine's seed (call ids, jitter).
pub fn random_seed() -> u64 {
    let buf = js_sys::Uint32Array::new_with_length(2);
    get_random_values(&buf);
    (u64::from(buf.get_index(0)) << 32) | u64::from(buf.get_index(1))
}
