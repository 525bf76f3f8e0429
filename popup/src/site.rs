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

use crate::bridge;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "permissions"], js_name = request, catch)]
    fn permissions_request(p: &JsValue) -> Result<Promise, JsValue>;
}

/// The active tab's site: `(site, pattern, access)` as the worker names them.
type Site = (String, String, String);

fn load(state: RwSignal<Option<Site>>, msg: PopupToBackground) {
    spawn_local(async move {
        if let Some(reply) = bridge::raw(&msg).await {
            let site = bridge::field(&reply, "site");
            let s = |k| bridge::field(&site, k).as_string().unwrap_or_default();
            state.set(site.is_object().then(|| (s("site"), s("pattern"), s("access"))));
        }
    });
}

/// The control under the phone: nothing on built-in CRMs and non-web tabs.
#[component]
pub fn SiteBar() -> impl IntoView {
    let state = RwSignal::new(None::<Site>);
    load(state, PopupToBackground::GetSite);
    let enable = move |_| {
        let Some((_, pattern, _)) = state.get_untracked() else { return };
        let p = Object::new();
        let _ = Reflect::set(&p, &"origins".into(), &Array::of1(&pattern.into()));
        // Called synchronously in the click: the browser shows its prompt only then.
        let Ok(asked) = permissions_request(&p) else { return };
        spawn_local(async move {
            let _ = JsFuture::from(asked).await;
            load(state, PopupToBackground::GetSite);
        });
    };
    let disable = move |_| {
        if let Some((site, _, _)) = state.get_untracked() {
            load(state, PopupToBackground::DisableSite { site });
        }
    };
    move || {
        state.get().and_then(|(site, _, access)| match access.as_str() {
            "disabled" => Some(
                view! { <p class="site" data-testid="site-bar"><button type="button" data-testid="site-enable" on:click=enable>"Enable on " {site}</button></p> }
                    .into_any(),
            ),
            "enabled" => Some(
                view! { <p class="site" data-testid="site-bar">"On for " {site} " " <button type="button" class="link" data-testid="site-disable" on:click=disable>"Disable"</button></p> }
                    .into_any(),
            ),
            _ => None,
        })
    }
}
