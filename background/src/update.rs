//! Extension updates never cut a call: `runtime.onUpdateAvailable` is held while a call
//! is up (placing, ringing in or out, or connected) and applied with
//! `chrome.runtime.reload()` as soon as none is. Without a listener Chrome would apply
//! the update when the worker next idles, killing the offscreen document and its call.

use std::cell::RefCell;

use mpt_core::engine::PhoneView;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = reload)]
    fn runtime_reload();
}

thread_local! {
    static PENDING: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn call_up(view: Option<&PhoneView>) -> bool {
    view.and_then(|v| v.call.as_ref()).is_some_and(|c| c.phase.is_live())
}

/// An update to `version` is ready.
pub fn available(version: String) {
    if call_up(crate::host::view().as_ref()) {
        web_sys::console::info_1(&format!("MPT Phone: update {version} waits for the call to end").into());
        PENDING.with(|p| *p.borrow_mut() = Some(version));
    } else {
        runtime_reload();
    }
}

/// Whether an update is waiting (tests, the popup).
pub fn pending() -> Option<String> {
    PENDING.with(|p| p.borrow().clone())
}

/// A new view: a waiting update is applied once no call is up.
pub fn on_view(view: &PhoneView) {
    if pending().is_some() && !call_up(Some(view)) {
        PENDING.with(|p| *p.borrow_mut() = None);
        // After this view is shown (the call's wrap-up is stored first).
        let cb = Closure::once_into_js(runtime_reload);
        crate::chrome::set_timeout(cb.unchecked_ref(), 500);
    }
}
