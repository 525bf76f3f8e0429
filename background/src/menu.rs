//! "Call <selection>" (context menu) and the "open the dialer" shortcut (`commands`).
//!
//! The selection is read by the same detector that marks pages (`mpt_core::selection`), in
//! the agent's default region: `defaultRegion` in `chrome.storage.sync` (the options page,
//! the content script reads the same key), else the tenant's. A call started here belongs
//! to no page (like one from the popup); the dialer opens to show it. A selection that is
//! no number, or several, gets a notification saying so.

use js_sys::{Object, Promise, Reflect};
use mpt_core::engine::PhoneCommand;
use mpt_core::phone::Region;
use mpt_core::selection::number_in_selection;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::BgError;
use crate::{app, chrome, host};

/// Id of the context-menu item.
pub const CALL_SELECTION: &str = "mpt-call-selection";
/// Name of the shortcut command in the manifest's `commands`.
pub const OPEN_DIALER: &str = "open-dialer";
/// `chrome.storage.sync` key of the agent's default region (shared with the content script).
pub const REGION_KEY: &str = "defaultRegion";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "contextMenus"], js_name = removeAll, catch)]
    fn menus_remove_all() -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "contextMenus"], js_name = create, catch)]
    fn menus_create(props: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "action"], js_name = openPopup, catch)]
    fn action_open_popup() -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "notifications"], js_name = create, catch)]
    fn notifications_create(id: &str, opts: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "sync"], js_name = get, catch)]
    fn sync_get(key: &str) -> Result<Promise, JsValue>;
}

fn set(o: &Object, k: &str, v: JsValue) -> Result<(), BgError> {
    Reflect::set(o, &JsValue::from_str(k), &v)?;
    Ok(())
}

/// Creates the context-menu item (on install and update: Chrome keeps it across restarts).
pub async fn create() -> Result<(), BgError> {
    JsFuture::from(menus_remove_all()?).await?;
    let props = Object::new();
    set(&props, "id", CALL_SELECTION.into())?;
    set(&props, "title", "Call “%s” with MPT Phone".into())?;
    set(&props, "contexts", js_sys::Array::of1(&"selection".into()).into())?;
    menus_create(&props)?;
    Ok(())
}

/// The agent's default region, as the content script resolves it: the administrator's when
/// locked, else the agent's choice in the options page, else the administrator's preset,
/// else the tenant's.
pub async fn default_region() -> Region {
    let managed = crate::config::managed().await;
    let mut own = None;
    if let Ok(p) = sync_get(REGION_KEY) {
        if let Ok(got) = JsFuture::from(p).await {
            own = Reflect::get(&got, &REGION_KEY.into()).ok().and_then(|v| v.as_string());
        }
    }
    let order = if managed.locks("default_region") { [managed.default_region, None] } else { [own, managed.default_region] };
    order.into_iter().flatten().find_map(|v| Region::parse(&v).ok()).or_else(host::tenant_region).unwrap_or(Region::US)
}

/// `contextMenus.onClicked` for our item: dial the selection, or say why not.
pub async fn call_selection(selection: &str) {
    let region = default_region().await;
    let number = match number_in_selection(selection, region) {
        Ok(n) => n,
        Err(e) => return notify(&e.message(selection)).await,
    };
    // A call from the menu belongs to no page, like one from the popup.
    let previous = app::with(|a| a.call_owner.take());
    if let Err(code) = host::command(PhoneCommand::Dial { number: number.as_str().to_owned(), contact: None }) {
        app::with(|a| a.call_owner = previous);
        return notify(code.message()).await;
    }
    open_dialer().await;
}

/// Opens the toolbar popup (the dialer). Chrome may refuse when no browser window is
/// focused; the call goes on regardless.
pub async fn open_dialer() {
    if let Ok(p) = action_open_popup() {
        if let Err(e) = JsFuture::from(p).await {
            web_sys::console::warn_1(&format!("MPT Phone: could not open the dialer: {}", crate::error::js_error_text(&e)).into());
        }
    }
}

/// A basic notification with `message`.
pub async fn notify(message: &str) {
    let opts = Object::new();
    let _ = set(&opts, "type", "basic".into());
    let _ = set(&opts, "iconUrl", chrome::get_url("icons/icon-128.png").into());
    let _ = set(&opts, "title", "MPT Phone".into());
    let _ = set(&opts, "message", message.into());
    if let Ok(p) = notifications_create("mpt-menu", &opts) {
        let _ = JsFuture::from(p).await;
    }
}
