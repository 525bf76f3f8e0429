//! mpt-panel (wasm32): the call panel, `panel.html`, the same phone as the popup
//! (`mpt-ui`, a separate bundle so the popup keeps its size budget), framed by the content
//! script in a closed shadow root over the CRM page (an extension frame: the page can
//! neither read nor script it).
//!
//! - It talks to the worker only over the port named by the one-time nonce its content
//!   script registered (`panel:<nonce>` from the URL's fragment); a panel framed by a
//!   page has no valid nonce, its port is refused and it shows nothing of the phone.
//! - It never asks for a password, and it has no `message` listener at all.
//! - Placing and answering calls act only while the frame is really visible to the agent
//!   (IntersectionObserver v2 `isVisible`: not covered, not transparent, not transformed),
//!   against clickjacking by the page around it.

#![deny(clippy::unwrap_used)]

use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::*;
use mpt_core::engine::{PhoneCommand, PhoneView, Proposal};
use mpt_core::msg::{valid_nonce, PanelToBackground, PANEL_PORT_PREFIX};
use mpt_core::PhoneErrorCode;
use mpt_ui::bridge::{self, BridgeError};
use mpt_ui::{Layout, Phone, PhoneHost, Theme};
use wasm_bindgen::prelude::*;

mod offer;

/// Mounts the panel.
#[wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(Panel);
}

/// Where the panel's requests go: its port, and only while the agent can see the frame
/// for the requests that start or take a call.
#[derive(Clone)]
pub(crate) struct Link {
    port: Rc<Option<bridge::Port>>,
    visible: Rc<Cell<bool>>,
    hidden_try: RwSignal<bool>,
}

impl Link {
    pub(crate) fn send(&self, msg: PanelToBackground) {
        let starts_call = matches!(&msg, PanelToBackground::Command { command: PhoneCommand::Dial { .. } | PhoneCommand::Answer });
        // Starting or taking a call needs the agent to see what they press.
        if starts_call && !self.visible.get() {
            self.hidden_try.set(true);
            return;
        }
        self.hidden_try.set(false);
        if let Some(port) = self.port.as_ref() {
            let _ = bridge::post(port, &msg);
        }
    }
}

struct Host(Link);

impl PhoneHost for Host {
    fn send(&self, command: PhoneCommand) {
        self.0.send(PanelToBackground::Command { command });
    }
}

/// Watches whether the frame is visible to the agent (IntersectionObserver v2).
fn watch_visibility(visible: Rc<Cell<bool>>) {
    let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) else { return };
    let cb = Closure::<dyn Fn(js_sys::Array)>::new(move |entries: js_sys::Array| {
        for e in entries.iter() {
            let v = js_sys::Reflect::get(&e, &"isVisible".into()).ok().and_then(|v| v.as_bool()).unwrap_or(false);
            visible.set(v);
            // Shown on the frame's own root (the extension's origin: the page cannot read it),
            // for tests to wait on instead of guessing the observer's delay.
            if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
                let _ = root.set_attribute("data-visible", if v { "true" } else { "false" });
            }
        }
    });
    let opts = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&opts, &"trackVisibility".into(), &JsValue::TRUE);
    let _ = js_sys::Reflect::set(&opts, &"delay".into(), &JsValue::from(100));
    if let Ok(io) = web_sys::IntersectionObserver::new_with_options(
        cb.as_ref().unchecked_ref(),
        opts.unchecked_ref::<web_sys::IntersectionObserverInit>(),
    ) {
        io.observe(&body);
        std::mem::forget(io);
    }
    cb.forget();
}

/// The whole panel.
#[component]
pub fn Panel() -> impl IntoView {
    let view = RwSignal::new(None::<PhoneView>);
    let offer = RwSignal::new(None::<Proposal>);
    let problem = RwSignal::new(None::<PhoneErrorCode>);
    let refused = RwSignal::new(None::<String>);
    let hidden_try = RwSignal::new(false);
    let nonce = web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
    let nonce = nonce.trim_start_matches('#').to_owned();
    let port = if valid_nonce(&nonce) {
        bridge::open(
            &format!("{PANEL_PORT_PREFIX}{nonce}"),
            move |msg| match bridge::decode(&msg) {
                Ok((v, _)) => {
                    problem.set(None);
                    refused.set(None);
                    offer.set(serde_wasm_bindgen::from_value(bridge::field(&msg, "offer")).ok().flatten());
                    view.set(Some(v));
                }
                Err(BridgeError::Refused(why)) => refused.set(Some(why)),
                Err(_) => {}
            },
            move || problem.set(Some(PhoneErrorCode::NotReady)),
        )
    } else {
        // Not framed by our content script: nothing of the phone is shown.
        problem.set(Some(PhoneErrorCode::NotAllowed));
        None
    };
    let visible = Rc::new(Cell::new(false));
    watch_visibility(visible.clone());
    let link = Link { port: Rc::new(port), visible, hidden_try };
    let send = StoredValue::new_local(link.clone());
    let host = StoredValue::new_local(Rc::new(Host(link)) as Rc<dyn PhoneHost>);
    let shown = Signal::derive(move || view.with(|v| v.clone().unwrap_or_default()));
    let signed_in = move || view.with(|v| v.as_ref().is_some_and(|v| v.agent.is_some()));
    view! {
        <main class="panel" data-testid="panel">
            {move || problem.get().map(|code| view! {
                <p class="host-problem" role="alert" data-testid="panel-problem">{code.message()}</p>
            })}
            {move || refused.get().map(|why| view! {
                <p class="host-problem" role="alert" data-testid="panel-refused">{why}</p>
            })}
            {move || hidden_try.get().then(|| view! {
                <p class="host-problem" role="alert" data-testid="panel-hidden">"Make the MPT Phone panel fully visible, then try again."</p>
            })}
            <offer::Offer offer=offer.read_only() send=send/>
            <Show when=move || view.with(Option::is_some)>
                <Show when=signed_in fallback=|| view! {
                    <p class="host-problem" data-testid="panel-signed-out">"Sign in from the MPT Phone button in the browser's toolbar."</p>
                }>
                    <Phone view=shown host=host.get_value() theme=Theme::Auto layout=Layout::Minimal/>
                </Show>
            </Show>
        </main>
    }
}
