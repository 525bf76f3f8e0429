//! mpt-popup (wasm32): the toolbar popup, the first host of `mpt-ui`.
//!
//! The popup holds no phone logic: it renders the service worker's engine view with
//! `mpt_ui::Phone` and forwards the UI's commands to the worker (`mpt_ui::bridge`). It keeps
//! only its own small pref, the dialer's draft, in `localStorage` (a plain string: no
//! JSON library in the popup's wasm for one value).
#![deny(clippy::unwrap_used)]

pub mod site;

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use mpt_core::engine::{PhoneCommand, PhoneView};
use mpt_core::msg::PopupToBackground;
use mpt_core::PhoneErrorCode;
use mpt_ui::bridge;
use mpt_ui::{Layout, Phone, PhoneHost, Theme};
use wasm_bindgen::prelude::*;

/// `localStorage` key of the dialer's draft.
const DRAFT_KEY: &str = "mpt.dialer.draft";

/// Mounts the popup.
#[wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(App);
}

/// The worker's latest view and server, and what went wrong reaching the worker.
#[derive(Clone, Copy)]
struct State {
    view: RwSignal<Option<(PhoneView, String)>>,
    problem: RwSignal<Option<PhoneErrorCode>>,
}

impl State {
    fn request(self, msg: PopupToBackground) {
        spawn_local(async move {
            match bridge::request(&msg).await {
                Ok(v) => {
                    self.problem.set(None);
                    self.view.set(Some(v));
                }
                // The engine shows its own refusals in the view it pushes.
                Err(bridge::BridgeError::Refused(_)) => {}
                Err(_) => self.problem.set(Some(PhoneErrorCode::NotReady)),
            }
        });
    }
}

struct Host(State);

impl PhoneHost for Host {
    fn send(&self, command: PhoneCommand) {
        self.0.request(PopupToBackground::Command { command });
    }
}

/// The whole popup.
#[component]
pub fn App() -> impl IntoView {
    let state = State { view: RwSignal::new(None), problem: RwSignal::new(None) };
    bridge::subscribe(move |v, url| state.view.set(Some((v, url))), move || state.problem.set(Some(PhoneErrorCode::NotReady)));
    state.request(PopupToBackground::GetView);
    let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
    let saved = storage.as_ref().and_then(|s| s.get_item(DRAFT_KEY).ok().flatten());
    let draft = RwSignal::new(saved.unwrap_or_default());
    Effect::new(move |_| {
        let text = draft.get();
        if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = if text.is_empty() { s.remove_item(DRAFT_KEY) } else { s.set_item(DRAFT_KEY, &text) };
        }
    });
    let view = Signal::derive(move || state.view.with(|v| v.as_ref().map(|(v, _)| v.clone()).unwrap_or_default()));
    let host = StoredValue::new_local(Rc::new(Host(state)) as Rc<dyn PhoneHost>);
    view! {
        <main class="popup" data-testid="popup">
            {move || state.problem.get().map(|code| view! {
                <p class="host-problem" role="alert" data-testid="popup-problem">{code.message()}</p>
            })}
            <Show when=move || state.view.with(Option::is_some)
                fallback=|| view! { <p class="muted" data-testid="popup-loading">"Starting…"</p> }>
                {
                    let host = host.get_value();
                    let url = state.view.with_untracked(|v| v.as_ref().map(|(_, u)| u.clone()));
                    view! { <Phone view=view host=host theme=Theme::Auto layout=Layout::Compact draft=draft server_url=url.unwrap_or_default()/> }
                }
            </Show>
            <site::SiteBar/>
        </main>
    }
}
