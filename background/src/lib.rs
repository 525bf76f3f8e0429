//! mpt-background (wasm32): the MV3 service worker, the phone engine's Chrome executor.
//!
//! All phone logic is `mpt_core::engine`; this crate only carries out its effects
//! (`host.rs`, `net.rs`, `voice.rs`) and routes messages. `static/sw.js` registers every
//! `chrome.*` listener synchronously, then forwards events here once the module is
//! initialised. There is ONE dispatcher, [`on_message`]: it classifies the sender
//! ([`sender::classify`]) and only then deserializes the message into the enum of that
//! direction; anything else is rejected.
#![deny(clippy::unwrap_used)]

pub mod alerts;
pub mod app;
pub mod chrome;
pub mod config;
pub mod error;
pub mod fallback;
pub mod host;
pub mod menu;
pub mod net;
pub mod sender;
pub mod sites;
pub mod update;
pub mod voice;

use js_sys::Promise;
use mpt_core::engine::{DialContact, Input, PhoneCommand};
use mpt_core::msg::{
    BackgroundToContent, BackgroundToOptions, BackgroundToPopup, ContentToBackground, DialVia, OffscreenToBackground, OptionsToBackground,
    PageCommand, PanelToBackground, PopupToBackground, CONTENT_PORT, PANEL_PORT_PREFIX,
};
use mpt_core::PhoneErrorCode;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use app::{Doc, PortKind};
use error::BgError;
use sender::{RawSender, Sender};

fn decode<T: DeserializeOwned>(v: JsValue) -> Result<T, BgError> {
    Ok(serde_wasm_bindgen::from_value(v)?)
}

fn classify(sender: JsValue) -> Option<Sender> {
    let raw: RawSender = serde_wasm_bindgen::from_value(sender).ok()?;
    app::with(|a| sender::classify(&raw, &a.ext_id, &a.ext_base))
}

/// Learns the server, restores the engine's state and reconnects; `sw.js` calls this
/// once after `init()`.
#[wasm_bindgen]
pub fn start() -> Promise {
    future_to_promise(async {
        app::load().await;
        app::restore_owner().await;
        alerts::restore().await;
        host::start().await;
        sites::reconcile().await;
        Ok(JsValue::TRUE)
    })
}

/// `chrome.runtime.onMessage`: resolves to the response (or `undefined` for senders we ignore).
#[wasm_bindgen]
pub fn on_message(msg: JsValue, sender: JsValue) -> Promise {
    future_to_promise(async move {
        let reply = match classify(sender) {
            Some(Sender::Popup) => match decode::<PopupToBackground>(msg) {
                Ok(PopupToBackground::GetSite) => app::message(&BackgroundToPopup::Site { site: sites::active_site().await }),
                Ok(PopupToBackground::DisableSite { site }) => app::message(&match sites::disable(&site).await {
                    Ok(()) => BackgroundToPopup::Site { site: sites::active_site().await },
                    Err(e) => BackgroundToPopup::Error { code: PhoneErrorCode::NotAllowed, message: e.to_string() },
                }),
                other => app::message(&popup(other)),
            },
            Some(Sender::Options) => app::message(&options(msg).await),
            Some(Sender::Content { tab_id, origin, document_id, top }) => {
                app::message(&content(msg, Doc { tab: tab_id, id: document_id, origin, top }))
            }
            // The panel talks only over its nonce port; the offscreen document only over its port.
            Some(Sender::Panel { .. } | Sender::Offscreen) | None => return Ok(JsValue::UNDEFINED),
        };
        reply.map_err(|e| JsValue::from_str(&e.to_string()))
    })
}

fn refused(code: PhoneErrorCode) -> BackgroundToPopup {
    BackgroundToPopup::Error { code, message: code.message().to_owned() }
}

/// A request from the popup.
fn popup(msg: Result<PopupToBackground, BgError>) -> BackgroundToPopup {
    let res = match msg {
        Err(_) => Err(PhoneErrorCode::Internal),
        Ok(PopupToBackground::GetView | PopupToBackground::GetSite | PopupToBackground::DisableSite { .. }) => Ok(()),
        Ok(PopupToBackground::Command { mut command }) => {
            if let PhoneCommand::SignIn { tenant: tenant @ None, .. } = &mut command {
                // The administrator's tenant (managed storage) when the agent gave none.
                *tenant = app::with(|a| a.managed_tenant.clone());
            }
            surface_command(command, None)
        }
    };
    match res.map(|()| host::popup_view()) {
        Ok(Some(v)) => v,
        Ok(None) => refused(PhoneErrorCode::NotReady),
        Err(code) => refused(code),
    }
}

/// A request from a call panel framed by `panel`'s document, over its nonce port.
/// `None` when accepted (the view that follows is pushed), else the refusal.
fn panel(msg: JsValue, panel: &Doc) -> Option<BackgroundToPopup> {
    let res = match decode::<PanelToBackground>(msg) {
        Err(_) => Err(PhoneErrorCode::Internal),
        // The panel never signs in or out (nor takes a token): that happens in the popup,
        // under our origin.
        Ok(PanelToBackground::Command {
            command: PhoneCommand::SignIn { .. } | PhoneCommand::SignOut | PhoneCommand::SetAuthToken { .. },
        }) => Err(PhoneErrorCode::NotAllowed),
        Ok(PanelToBackground::Command { command }) => surface_command(command, Some(panel)),
        Ok(PanelToBackground::DismissOffer) => {
            host::input(Input::DismissProposal);
            Ok(())
        }
    };
    res.err().map(refused)
}

/// A command from one of our own surfaces (the popup, or a panel framed by `panel`).
fn surface_command(command: PhoneCommand, panel: Option<&Doc>) -> Result<(), PhoneErrorCode> {
    if let PhoneCommand::Dial { number, .. } = &command {
        // The call belongs to the page that offered it, if the agent is confirming that
        // offer; else to the panel's page; a popup call belongs to no page.
        let proposer = host::proposal().filter(|p| p.number == *number).and_then(|_| app::with(|a| a.proposer.clone()));
        let owner = proposer.clone().or_else(|| panel.cloned());
        if !host::live_call() {
            app::set_owner(owner);
        }
        host::command(command)?;
        if let (Some(doc), Some(call)) = (proposer, host::view().and_then(|v| v.call)) {
            if let Ok(m) = app::message(&BackgroundToContent::OfferTaken { call_id: call.call_id }) {
                app::to_doc(&doc, &m);
            }
        }
        return Ok(());
    }
    host::command(command)
}

/// The options page's message; every answer is the settings as they now are.
async fn options(msg: JsValue) -> BackgroundToOptions {
    let err = |message: String| BackgroundToOptions::Error { message };
    match decode::<OptionsToBackground>(msg) {
        Err(e) => return err(e.to_string()),
        Ok(OptionsToBackground::GetSettings) => {}
        Ok(OptionsToBackground::SetServerUrl { url }) => match config::set_server_url(&url).await {
            Ok(next) => config::switch_server(next),
            Err(message) => return err(message),
        },
        Ok(OptionsToBackground::DisableSite { site }) => {
            if config::managed().await.locks("sites") {
                return err("Your administrator manages the sites MPT Phone runs on.".into());
            }
            if let Err(e) = sites::disable(&site).await {
                return err(e.to_string());
            }
        }
        Ok(OptionsToBackground::SignOut) => {
            if let Err(code) = host::command(PhoneCommand::SignOut) {
                return err(code.message().to_owned());
            }
        }
    }
    let region = host::tenant_region().map(|r| r.as_str().to_owned());
    match config::settings(region, host::agent_email()).await {
        Ok(settings) => BackgroundToOptions::Settings { settings },
        Err(e) => err(e.to_string()),
    }
}

/// A content script's request. Trust comes from the browser's sender (tab, document,
/// origin), never from the message: the call belongs to the document that placed it,
/// and a page's own links and page-API calls dial at once only on the tenant's allowed
/// origins; elsewhere they are offered to the agent in the panel.
fn content(msg: JsValue, doc: Doc) -> BackgroundToContent {
    let msg = match decode::<ContentToBackground>(msg) {
        Ok(m) => m,
        Err(_) => return BackgroundToContent::error(PhoneErrorCode::InvalidNumber),
    };
    match msg {
        ContentToBackground::FindNumbers { texts, region } => BackgroundToContent::Numbers { matches: fallback::find(&texts, region) },
        ContentToBackground::OpenPanel { nonce } => {
            if !mpt_core::msg::valid_nonce(&nonce) {
                return BackgroundToContent::error(PhoneErrorCode::Internal);
            }
            app::add_nonce(nonce, doc);
            BackgroundToContent::Ok
        }
        ContentToBackground::Dial { number, contact_id, contact_name, crm, origin: claimed, via } => {
            if claimed != doc.origin {
                return BackgroundToContent::error(PhoneErrorCode::NotAllowed);
            }
            // What the page's CRM adapter read from the record: context for the log,
            // never a grant of anything.
            let contact = DialContact { id: contact_id, name: contact_name, crm, ..DialContact::default() };
            let at_once = via == DialVia::CallButton || host::origin_allowed(&doc.origin);
            if !at_once {
                let offer = Input::Propose { number: number.as_str().to_owned(), contact, origin: doc.origin.clone() };
                return match host::feed(offer).first() {
                    None => {
                        app::with(|a| a.proposer = Some(doc));
                        host::push_content_states();
                        BackgroundToContent::Proposed
                    }
                    Some(code) => BackgroundToContent::error(*code),
                };
            }
            if host::live_call() {
                // Another call is live: this page may not even learn whose.
                return BackgroundToContent::error(PhoneErrorCode::InCall);
            }
            // The owner is set before the engine runs, so its first view reaches this
            // document; a refused dial leaves no call and no owner.
            let previous = app::with(|a| a.call_owner.clone());
            app::set_owner(Some(doc));
            match host::command(PhoneCommand::Dial { number: number.as_str().to_owned(), contact: Some(contact) }) {
                Ok(()) => match host::view().and_then(|v| v.call) {
                    Some(c) => BackgroundToContent::Dialing { call_id: c.call_id },
                    None => BackgroundToContent::Ok,
                },
                Err(code) => {
                    app::set_owner(previous);
                    BackgroundToContent::error(code)
                }
            }
        }
        ContentToBackground::Page { command } => page_command(command, doc),
    }
}

/// A page-API command other than `dial`: only from an allowed origin; call controls only
/// from the document that owns the call (answering makes it the owner).
fn page_command(command: PageCommand, doc: Doc) -> BackgroundToContent {
    if !host::origin_allowed(&doc.origin) {
        return BackgroundToContent::error(PhoneErrorCode::NotAllowed);
    }
    let incoming = host::view().and_then(|v| v.call).is_some_and(|c| c.phase == mpt_core::engine::Phase::Incoming);
    let owner = app::owns_call(&doc);
    let cmd = match command {
        PageCommand::Answer | PageCommand::Decline if !incoming => return BackgroundToContent::error(PhoneErrorCode::NoCall),
        PageCommand::Answer => {
            app::set_owner(Some(doc));
            PhoneCommand::Answer
        }
        PageCommand::Decline => PhoneCommand::Decline,
        _ if !owner => return BackgroundToContent::error(PhoneErrorCode::NoCall),
        PageCommand::HangUp => PhoneCommand::HangUp,
        PageCommand::Mute { muted } => PhoneCommand::Mute { muted },
        PageCommand::SendDigits { digits } => PhoneCommand::SendDigits { digits },
        PageCommand::SetContact { contact } => PhoneCommand::SetContact { contact },
    };
    match host::command(cmd) {
        Ok(()) => BackgroundToContent::Ok,
        Err(code) => BackgroundToContent::error(code),
    }
}

/// `chrome.runtime.onConnect`: keeps popup, offscreen, content and panel ports. Returns
/// false (and the caller disconnects the port) for anyone else, and for a panel whose
/// nonce is unknown, used or stale: a page that frames `panel.html` itself gets nothing.
#[wasm_bindgen]
pub fn on_connect(id: u32, port: chrome::Port) -> bool {
    let name = port.name();
    let kind = match classify(port.sender()) {
        Some(Sender::Popup) if name == mpt_core::msg::POPUP_PORT => PortKind::Popup,
        Some(Sender::Offscreen) if name == mpt_core::msg::OFFSCREEN_PORT => PortKind::Offscreen,
        Some(Sender::Content { tab_id, origin, document_id, top }) if name == CONTENT_PORT => {
            PortKind::Content(Doc { tab: tab_id, id: document_id, origin, top })
        }
        Some(Sender::Panel { tab_id }) => {
            let Some(nonce) = name.strip_prefix(PANEL_PORT_PREFIX) else { return false };
            match app::take_nonce(nonce, tab_id) {
                Some(host) => PortKind::Panel { host },
                None => return false,
            }
        }
        _ => return false,
    };
    if kind == PortKind::Offscreen {
        app::with(|a| a.ports.retain(|(_, k, _)| *k != PortKind::Offscreen));
        voice::connected();
    }
    app::with(|a| a.ports.push((id, kind.clone(), port.clone())));
    match kind {
        PortKind::Popup => {
            if let Some(Ok(v)) = host::popup_view().map(|m| app::message(&m)) {
                let _ = port.post_message(&v);
            }
            alerts::seen();
        }
        PortKind::Panel { .. } => {
            if let Some(Ok(v)) = host::panel_view().map(|m| app::message(&m)) {
                let _ = port.post_message(&v);
            }
            alerts::seen();
        }
        PortKind::Content(_) => host::push_content_states(),
        PortKind::Offscreen => {}
    }
    true
}

/// A message on port `id`: the offscreen driver's events, or a panel's requests (the
/// same as the popup's, answered with the view over the port).
#[wasm_bindgen]
pub fn on_port_message(id: u32, msg: JsValue) {
    let entry = app::with(|a| a.ports.iter().find(|(i, _, _)| *i == id).map(|(_, k, p)| (k.clone(), p.clone())));
    match entry {
        Some((PortKind::Offscreen, _)) => {
            if let Ok(m) = decode::<OffscreenToBackground>(msg) {
                voice::on_message(m);
            }
        }
        Some((PortKind::Panel { host }, port)) => {
            if let Some(Ok(m)) = panel(msg, &host).map(|r| app::message(&r)) {
                let _ = port.post_message(&m);
            }
        }
        _ => {}
    }
}

/// Port `id` closed. A panel's page is told, so its content script rebuilds the frame.
#[wasm_bindgen]
pub fn on_disconnect(id: u32) {
    let kind = app::with(|a| {
        let k = a.ports.iter().find(|(i, _, _)| *i == id).map(|(_, k, _)| k.clone());
        a.ports.retain(|(i, _, _)| *i != id);
        a.pushed.retain(|(i, _)| *i != id);
        k
    });
    match kind {
        Some(PortKind::Offscreen) => voice::gone(),
        Some(PortKind::Panel { host }) => {
            if let Ok(m) = app::message(&BackgroundToContent::PanelGone) {
                app::to_doc(&host, &m);
            }
        }
        _ => {}
    }
}

/// `chrome.runtime.onInstalled`: the context menu (install and update); on first install,
/// open the welcome page (it asks for the microphone once, which the offscreen document
/// cannot do).
#[wasm_bindgen]
pub fn on_installed(reason: String) -> Promise {
    future_to_promise(async move {
        if let Err(e) = menu::create().await {
            web_sys::console::warn_1(&format!("MPT Phone: no context menu: {e}").into());
        }
        if reason == "install" {
            chrome::open_tab("welcome.html").await.map_err(|e| JsValue::from_str(&e.to_string()))?;
        }
        Ok(JsValue::UNDEFINED)
    })
}

/// `chrome.alarms.onAlarm`: the wake-up for the engine's long timers.
#[wasm_bindgen]
pub fn on_alarm(name: String) -> Promise {
    future_to_promise(async move {
        if name == host::WAKE_ALARM {
            host::on_wake();
        }
        Ok(JsValue::UNDEFINED)
    })
}

fn origins_of(permissions: &JsValue) -> Vec<String> {
    let origins = js_sys::Reflect::get(permissions, &"origins".into()).unwrap_or(JsValue::UNDEFINED);
    js_sys::Array::from(&origins).iter().filter_map(|o| o.as_string()).collect()
}

/// `chrome.permissions.onAdded`: the agent enabled a site (or the server's origin).
#[wasm_bindgen]
pub fn on_permissions_added(permissions: JsValue) -> Promise {
    let origins = origins_of(&permissions);
    future_to_promise(async move {
        sites::on_added(origins).await;
        Ok(JsValue::UNDEFINED)
    })
}

/// `chrome.permissions.onRemoved`: a site was disabled (here or in chrome://extensions).
#[wasm_bindgen]
pub fn on_permissions_removed(permissions: JsValue) -> Promise {
    let origins = origins_of(&permissions);
    future_to_promise(async move {
        sites::on_removed(origins).await;
        Ok(JsValue::UNDEFINED)
    })
}

/// `chrome.contextMenus.onClicked`: "Call <selection>". Only our item; the selection is
/// what the browser reports the agent selected (menus are browser UI: no page can click them).
#[wasm_bindgen]
pub fn on_menu_click(menu_item_id: String, selection: String) -> Promise {
    future_to_promise(async move {
        if menu_item_id == menu::CALL_SELECTION {
            menu::call_selection(&selection).await;
        }
        Ok(JsValue::UNDEFINED)
    })
}

/// `chrome.commands.onCommand`: `open-dialer` opens the popup; `focus-number` (the keyboard
/// path) asks the pressed tab's page to focus our call button on its first visible number.
#[wasm_bindgen]
pub fn on_command(name: String, tab_id: Option<i32>) -> Promise {
    future_to_promise(async move {
        if name == menu::OPEN_DIALER {
            menu::open_dialer().await;
        } else if name == "focus-number" {
            if let (Some(tab), Ok(m)) = (tab_id, app::message(&BackgroundToContent::FocusNumbers)) {
                for (_, doc, port) in app::content_ports() {
                    if doc.tab == tab {
                        let _ = port.post_message(&m);
                    }
                }
            }
        }
        Ok(JsValue::UNDEFINED)
    })
}

/// `chrome.storage.onChanged`: the options page changed the agent's audio devices, or the
/// administrator's policy changed.
#[wasm_bindgen]
pub fn on_storage_changed(area: String, keys: Vec<String>) -> Promise {
    future_to_promise(async move {
        if area == "sync" && keys.iter().any(|k| voice::AUDIO_KEYS.contains(&k.as_str())) {
            voice::send_audio_devices().await;
        }
        if area == "managed" {
            config::managed_changed().await;
        }
        Ok(JsValue::UNDEFINED)
    })
}

/// `chrome.notifications.onButtonClicked`: Answer (0) or Decline (1) on the ringing call's
/// notification. Notifications are browser UI: only the agent can press their buttons.
#[wasm_bindgen]
pub fn on_notification_button(id: String, index: u32) {
    let Some(call_id) = id.strip_prefix(alerts::RING_PREFIX) else { return };
    let ringing = host::view().and_then(|v| v.call).is_some_and(|c| c.call_id == call_id && c.phase == mpt_core::engine::Phase::Incoming);
    if !ringing {
        return;
    }
    let cmd = if index == 0 { PhoneCommand::Answer } else { PhoneCommand::Decline };
    if let Err(code) = host::command(cmd) {
        web_sys::console::warn_1(&format!("MPT Phone: {}", code.message()).into());
    }
}

/// `chrome.notifications.onClicked`: the agent wants the phone (to answer, or to call a
/// missed caller back).
#[wasm_bindgen]
pub fn on_notification_click(id: String) -> Promise {
    future_to_promise(async move {
        if id.starts_with(alerts::RING_PREFIX) || id.starts_with(alerts::MISSED_PREFIX) {
            menu::open_dialer().await;
        }
        Ok(JsValue::UNDEFINED)
    })
}

/// `chrome.runtime.onUpdateAvailable`: the update waits until no call is up.
#[wasm_bindgen]
pub fn on_update_available(version: String) {
    update::available(version);
}
