//! "Enable on this site" / "Disable": the popup's one control outside the phone UI.
//!
//! The worker says what the active tab's site is and whether MPT Phone runs there
//! (`GetSite`). Enabling must be `chrome.permissions.request` inside the agent's click,
//! since a permission prompt needs a user gesture that only this page has; the worker then
//! registers the content script (`permissions.onAdded`). Disabling is the worker's
//! (`DisableSite`: unmark, remove, unregister). Kept to plain strings, read by hand like
//! the view (`bridge::decode`): every byte here counts against the popup's budget.

use js_sys::{Array, Object, Promise, Reflect};
use leptos::prelude::*;
use leptos::task::spawn_local;
use mpt_core::msg::PopupToBackground;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use mpt_ui::bridge;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "permissions"], js_name = request, catch)]
    fn permissions_request(p: &JsValue) -> Result<Promise, JsValue>;
}

/// The active tab's site: `(site, pattern, access)` as the worker names them (empty
/// until it answered; `access` is `built_in`, `enabled`, `disabled` or `unsupported`).
type Site = (String, String, String);

fn load(state: RwSignal<Site>, msg: PopupToBackground) {
    spawn_local(async move {
        if let Some(reply) = bridge::raw(&msg).await {
            let site = bridge::field(&reply, "site");
            let s = |k| bridge::field(&site, k).as_string().unwrap_or_default();
            state.set((s("site"), s("pattern"), s("access")));
        }
    });
}

/// One line under the phone, shown only for sites the agent can switch (one static view
/// whose texts follow the state: the smallest wasm for it).
#[component]
pub fn SiteBar() -> impl IntoView {
    let state = RwSignal::new(Site::default());
    load(state, PopupToBackground::GetSite);
    let on = move || state.with(|s| s.2 == "enabled");
    let click = move |_| {
        let (site, pattern, access) = state.get_untracked();
        if access == "enabled" {
            return load(state, PopupToBackground::DisableSite { site });
        }
        let p = Object::new();
        let _ = Reflect::set(&p, &"origins".into(), &Array::of1(&pattern.into()));
        // Called synchronously in the click: the browser shows its prompt only then.
        if let Ok(asked) = permissions_request(&p) {
            spawn_local(async move {
                let _ = JsFuture::from(asked).await;
                load(state, PopupToBackground::GetSite);
            });
        }
    };
    view! {
        <p class="site" data-testid="site-bar" data-access=move || state.with(|s| s.2.clone())
            hidden=move || state.with(|s| s.2 != "enabled" && s.2 != "disabled")>
            {move || state.with(|s| s.0.clone())} {move || if on() { " — MPT Phone is on " } else { " " }}
            <button type="button" data-testid="site-toggle" on:click=click>{move || if on() { "Disable" } else { "Enable on this site" }}</button>
        </p>
    }
}
