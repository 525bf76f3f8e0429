//! mpt-background (wasm32): the MV3 service worker's logic.
//!
//! `static/sw.js` registers every `chrome.*` listener synchronously, then forwards
//! events here once the module is initialised. There is ONE dispatcher,
//! [`on_message`]: it classifies the sender ([`sender::classify`]) and only then
//! deserializes the message into the enum of that direction; anything else is
//! rejected.
#![deny(clippy::unwrap_used)]

pub mod app;
pub mod calling;
pub mod calls;
pub mod chrome;
pub mod error;
pub mod events;
pub mod fallback;
pub mod sender;
pub mod server;
pub mod session;

use js_sys::Promise;
use mpt_core::msg::{
    BackgroundToContent, BackgroundToPopup, ContentToBackground, OffscreenToBackground,
    PopupToBackground,
};
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

/// Restores state and reconnects; `sw.js` calls this once after `init()`.
#[wasm_bindgen]
pub fn start() -> Promise {
    future_to_promise(async {
        app::load().await.map_err(|e| JsValue::from_str(&e.to_string()))?;
        if app::with(|a| a.session.is_some()) {
            wasm_bindgen_futures::spawn_local(session::after_sign_in());
        }
        Ok(JsValue::TRUE)
    })
}

/// `chrome.runtime.onMessage`: resolves to the response (or `undefined` for senders we ignore).
#[wasm_bindgen]
pub fn on_message(msg: JsValue, sender: JsValue) -> Promise {
    future_to_promise(async move {
        let reply = match classify(sender) {
            Some(Sender::Popup) => app::message(&popup(msg).await),
            Some(Sender::Content { tab_id, origin }) => {
                app::message(&content(msg, tab_id, origin).await)
            }
            Some(Sender::Offscreen) | None => return Ok(JsValue::UNDEFINED),
        };
        reply.map_err(|e| JsValue::from_str(&e.to_string()))
    })
}

async fn popup(msg: JsValue) -> BackgroundToPopup {
    let res = match decode::<PopupToBackground>(msg) {
        Err(e) => Err(e),
        Ok(PopupToBackground::GetStatus) => Ok(()),
        Ok(PopupToBackground::SignIn { email, password }) => session::sign_in(email, password).await,
        Ok(PopupToBackground::SignOut) => session::sign_out().await,
        Ok(PopupToBackground::Dial { number }) => calling::dial(number, None).await,
        Ok(PopupToBackground::HangUp) => calling::hang_up().await,
        Ok(PopupToBackground::SetMute { muted }) => calling::set_mute(muted).await,
        Ok(PopupToBackground::SendDigits { digits }) => calling::send_digits(digits).await,
    };
    match res {
        Ok(()) => BackgroundToPopup::Status(app::status()),
        Err(e) => BackgroundToPopup::Error { message: e.to_string() },
    }
}

async fn content(msg: JsValue, tab_id: i32, origin: String) -> BackgroundToContent {
    let msg = match decode::<ContentToBackground>(msg) {
        Ok(m) => m,
        Err(e) => return BackgroundToContent::Error { message: e.to_string() },
    };
    let res = match msg {
        ContentToBackground::Hello => {
            app::with(|a| a.content_tabs.insert(tab_id));
            return app::content_state();
        }
        ContentToBackground::FindNumbers { texts, region } => {
            return BackgroundToContent::Numbers { matches: fallback::find(&texts, &region) };
        }
        ContentToBackground::Dial { number, contact_id, origin: claimed } => {
            app::with(|a| a.content_tabs.insert(tab_id));
            if claimed != origin {
                Err(BgError::Rejected("The page origin does not match its sender".into()))
            } else {
                calling::dial(number, contact_id).await
            }
        }
        ContentToBackground::HangUp => calling::hang_up().await,
        ContentToBackground::SetMute { muted } => calling::set_mute(muted).await,
        ContentToBackground::SendDigits { digits } => calling::send_digits(digits).await,
    };
    match res {
        Ok(()) => BackgroundToContent::Ok,
        Err(e) => BackgroundToContent::Error { message: e.to_string() },
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
        app::with(|a| {
            a.ports.retain(|(_, k, _)| *k != PortKind::Offscreen);
            a.offscreen_ready = false;
        });
    }
    app::with(|a| a.ports.push((id, kind, port.clone())));
    if kind == PortKind::Popup {
        if let Ok(v) = app::message(&BackgroundToPopup::Status(app::status())) {
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
            wasm_bindgen_futures::spawn_local(calling::on_offscreen(m));
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
        wasm_bindgen_futures::spawn_local(calling::offscreen_gone());
    }
}

/// `chrome.runtime.onInstalled`: on first install, open the welcome page (it asks
/// for the microphone once, which the offscreen document cannot do).
#[wasm_bindgen]
pub fn on_installed(reason: String) -> Promise {
    future_to_promise(async move {
        if reason == "install" {
            chrome::open_tab("welcome.html")
                .await
                .map_err(|e| JsValue::from_str(&e.to_string()))?;
        }
        Ok(JsValue::UNDEFINED)
    })
}

/// `chrome.alarms.onAlarm`.
#[wasm_bindgen]
pub fn on_alarm(name: String) -> Promise {
    future_to_promise(async move {
        if name == session::REFRESH_ALARM && app::with(|a| a.session.is_some()) {
            // Unreachable server: keep the old token; the next request retries.
            let _ = session::refresh().await;
            if app::with(|a| a.ws.is_none() && a.session.is_some()) {
                events::connect();
            }
        }
        Ok(JsValue::UNDEFINED)
    })
}
