//! mpt-background (wasm32): the MV3 service worker, the phone engine's Chrome executor.
//!
//! All phone logic is `mpt_core::engine`; this crate only carries out its effects
//! (`host.rs`, `net.rs`, `voice.rs`) and routes messages. `static/sw.js` registers every
//! `chrome.*` listener synchronously, then forwards events here once the module is
//! initialised. There is ONE dispatcher, [`on_message`]: it classifies the sender
//! ([`sender::classify`]) and only then deserializes the message into the enum of that
//! direction; anything else is rejected.
#![deny(clippy::unwrap_used)]

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
pub mod voice;

use js_sys::Promise;
use mpt_core::engine::{DialContact, PhoneCommand};
use mpt_core::msg::{
    BackgroundToContent, BackgroundToOptions, BackgroundToPopup, ContentToBackground, OffscreenToBackground, OptionsToBackground,
    PopupToBackground,
};
use mpt_core::PhoneErrorCode;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use app::PortKind;
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
            Some(Sender::Content { tab_id, origin, document_id }) => app::message(&content(msg, tab_id, origin, document_id)),
            Some(Sender::Offscreen) | None => return Ok(JsValue::UNDEFINED),
        };
        reply.map_err(|e| JsValue::from_str(&e.to_string()))
    })
}

fn refused(code: PhoneErrorCode) -> BackgroundToPopup {
    BackgroundToPopup::Error { code, message: code.message().to_owned() }
}

fn popup(msg: Result<PopupToBackground, BgError>) -> BackgroundToPopup {
    let res = match msg {
        Err(_) => Err(PhoneErrorCode::Internal),
        Ok(PopupToBackground::GetView | PopupToBackground::GetSite | PopupToBackground::DisableSite { .. }) => Ok(()),
        Ok(PopupToBackground::Command { mut command }) => {
            if matches!(command, PhoneCommand::Dial { .. }) {
                // A call placed from an extension page belongs to no tab.
                app::with(|a| a.call_owner = None);
            }
            if let PhoneCommand::SignIn { tenant: tenant @ None, .. } = &mut command {
                // The administrator's tenant (managed storage) when the agent gave none.
                *tenant = app::with(|a| a.managed_tenant.clone());
            }
            host::command(command)
        }
    };
    match res.map(|()| host::popup_view()) {
        Ok(Some(v)) => v,
        Ok(None) => refused(PhoneErrorCode::NotReady),
        Err(code) => refused(code),
    }
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

/// A content script's message. Call state and call controls belong to the document
/// that placed the call (`app::call_owner`); every other page is told there is no call.
/// The content script sends controls only on trusted gestures; this side trusts only
/// the browser's sender (tab, document, origin).
fn content(msg: JsValue, tab_id: i32, origin: String, document_id: String) -> BackgroundToContent {
    let msg = match decode::<ContentToBackground>(msg) {
        Ok(m) => m,
        Err(e) => return BackgroundToContent::Error { message: e.to_string() },
    };
    let owner = app::owns_call(tab_id, &document_id);
    let not_yours = || {
        let code = PhoneErrorCode::NoCall;
        BackgroundToContent::Error { message: code.message().to_owned() }
    };
    let cmd = match msg {
        ContentToBackground::Hello => {
            return if owner { host::content_state() } else { host::content_state_without_call() };
        }
        ContentToBackground::FindNumbers { texts, region } => {
            return BackgroundToContent::Numbers { matches: fallback::find(&texts, region) };
        }
        ContentToBackground::Dial { number, contact_id, contact_name, crm, origin: claimed } => {
            if claimed != origin {
                // Trust the browser's sender, never the message.
                let code = PhoneErrorCode::NotAllowed;
                return BackgroundToContent::Error { message: code.message().to_owned() };
            }
            // What the page's CRM adapter read from the record: context for the log,
            // never a grant of anything.
            let contact = DialContact { id: contact_id, name: contact_name, crm, ..DialContact::default() };
            let cmd = PhoneCommand::Dial { number: number.as_str().to_owned(), contact: Some(contact) };
            // The owner is set before the engine runs, so its first view reaches this
            // document; a refused dial leaves no call, so the owner hears "no call".
            if host::live_call() && !owner {
                // Another page's (or the popup's) call is live: this page may not see it.
                let code = PhoneErrorCode::InCall;
                return BackgroundToContent::Error { message: code.message().to_owned() };
            }
            let previous = app::with(|a| a.call_owner.replace((tab_id, document_id.clone())));
            return match host::command(cmd) {
                Ok(()) => BackgroundToContent::Ok,
                Err(code) => {
                    app::with(|a| a.call_owner = previous);
                    BackgroundToContent::Error { message: code.message().to_owned() }
                }
            };
        }
        ContentToBackground::HangUp if owner => PhoneCommand::HangUp,
        ContentToBackground::SetMute { muted } if owner => PhoneCommand::Mute { muted },
        ContentToBackground::SendDigits { digits } if owner => PhoneCommand::SendDigits { digits },
        ContentToBackground::HangUp | ContentToBackground::SetMute { .. } | ContentToBackground::SendDigits { .. } => return not_yours(),
    };
    match host::command(cmd) {
        Ok(()) => BackgroundToContent::Ok,
        Err(code) => BackgroundToContent::Error { message: code.message().to_owned() },
    }
}

/// `chrome.runtime.onConnect`: keeps popup and offscreen ports. Returns false (and
/// the caller disconnects the port) for anyone else.
#[wasm_bindgen]
pub fn on_connect(id: u32, port: chrome::Port) -> bool {
    let kind = match (classify(port.sender()), port.name().as_str()) {
        (Some(Sender::Popup), mpt_core::msg::POPUP_PORT) => PortKind::Popup,
        (Some(Sender::Offscreen), mpt_core::msg::OFFSCREEN_PORT) => PortKind::Offscreen,
        _ => return false,
    };
    if kind == PortKind::Offscreen {
        app::with(|a| a.ports.retain(|(_, k, _)| *k != PortKind::Offscreen));
        voice::connected();
    }
    app::with(|a| a.ports.push((id, kind, port.clone())));
    if kind == PortKind::Popup {
        if let Some(Ok(v)) = host::popup_view().map(|m| app::message(&m)) {
            let _ = port.post_message(&v);
        }
    }
    true
}

/// A message on port `id` (only the offscreen port sends any).
#[wasm_bindgen]
pub fn on_port_message(id: u32, msg: JsValue) {
    let kind = app::with(|a| a.ports.iter().find(|(i, _, _)| *i == id).map(|(_, k, _)| *k));
    if kind == Some(PortKind::Offscreen) {
        if let Ok(m) = decode::<OffscreenToBackground>(msg) {
            voice::on_message(m);
        }
    }
}

/// Port `id` closed.
#[wasm_bindgen]
pub fn on_disconnect(id: u32) {
    let kind = app::with(|a| {
        let k = a.ports.iter().find(|(i, _, _)| *i == id).map(|(_, k, _)| *k);
        a.ports.retain(|(i, _, _)| *i != id);
        k
    });
    if kind == Some(PortKind::Offscreen) {
        voice::gone();
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

/// `chrome.commands.onCommand`: the keyboard shortcut that opens the dialer.
#[wasm_bindgen]
pub fn on_command(name: String) -> Promise {
    future_to_promise(async move {
        if name == menu::OPEN_DIALER {
            menu::open_dialer().await;
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
