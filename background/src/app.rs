//! The service worker's in-memory state and how it is persisted and fanned out.
//!
//! The worker can be stopped at any time: the session, the recent calls and the
//! last event id live in `chrome.storage.local`, the current call in
//! `chrome.storage.session`; [`load`] restores them when the worker starts.

use std::cell::RefCell;
use std::collections::BTreeSet;

use mpt_core::msg::{
    BackgroundToContent, BackgroundToOffscreen, BackgroundToPopup, CallView, PopupStatus,
    RecentCall, ServerLink,
};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

use crate::calls;
use crate::chrome::{self, Port};
use crate::error::BgError;

/// Default server when `config.json` cannot be read.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8787";

/// Storage keys.
pub mod keys {
    /// `chrome.storage.local`: [`super::Session`].
    pub const SESSION: &str = "session";
    /// `chrome.storage.local`: recent calls.
    pub const RECENT: &str = "recent";
    /// `chrome.storage.local`: last server event id seen.
    pub const LAST_EVENT: &str = "last_event_id";
    /// `chrome.storage.session`: [`super::LiveCall`].
    pub const CALL: &str = "call";
}

/// A signed-in agent's tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// Bearer token.
    pub access_token: String,
    /// Refresh token (single use, rotated).
    pub refresh_token: String,
    /// When `access_token` expires, Unix ms.
    pub access_expires_at_ms: f64,
    /// Agent email (shown in the popup).
    pub email: String,
    /// Agent id.
    pub agent_id: String,
}

/// The current call plus what only the worker needs about it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveCall {
    /// What the views see.
    pub view: CallView,
    /// When it was placed, Unix ms.
    pub started_at_ms: f64,
    /// Twilio / sandbox call SID once known.
    pub call_sid: Option<String>,
    /// Whether it runs in the offscreen Voice SDK (else: sandbox on the server).
    pub via_sdk: bool,
    /// Already added to the recent-calls list (once it ended).
    #[serde(default)]
    pub recorded: bool,
}

/// Kinds of long-lived ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortKind {
    /// A popup receiving pushes.
    Popup,
    /// The offscreen document.
    Offscreen,
}

/// Everything the worker knows.
pub struct App {
    /// Our extension id.
    pub ext_id: String,
    /// `chrome-extension://<id>/`.
    pub ext_base: String,
    /// The api-server base URL.
    pub server_url: String,
    /// The session, when signed in.
    pub session: Option<Session>,
    /// Tenant in sandbox mode.
    pub sandbox: bool,
    /// Server reachability.
    pub link: ServerLink,
    /// Current (or just ended) call.
    pub call: Option<LiveCall>,
    /// Recent calls, newest first.
    pub recent: Vec<RecentCall>,
    /// Open ports by id.
    pub ports: Vec<(u32, PortKind, Port)>,
    /// Tabs whose content script said hello.
    pub content_tabs: BTreeSet<i32>,
    /// Highest server event id seen.
    pub last_event_id: u64,
    /// The event socket.
    pub ws: Option<web_sys::WebSocket>,
    /// Heartbeat interval id.
    pub heartbeat: Option<JsValue>,
    /// Reconnect delay, ms (exponential backoff).
    pub backoff_ms: i32,
    /// The offscreen driver said `Ready`.
    pub offscreen_ready: bool,
    /// Messages waiting for the offscreen driver.
    pub offscreen_queue: Vec<BackgroundToOffscreen>,
    /// Expiry of the Twilio token given to the offscreen driver, Unix ms.
    pub twilio_token_expires_ms: f64,
}

thread_local! {
    static APP: RefCell<App> = RefCell::new(App {
        ext_id: String::new(),
        ext_base: String::new(),
        server_url: DEFAULT_SERVER.to_owned(),
        session: None,
        sandbox: false,
        link: ServerLink::Unknown,
        call: None,
        recent: Vec::new(),
        ports: Vec::new(),
        content_tabs: BTreeSet::new(),
        last_event_id: 0,
        ws: None,
        heartbeat: None,
        backoff_ms: 1000,
        offscreen_ready: false,
        offscreen_queue: Vec::new(),
        twilio_token_expires_ms: 0.0,
    });
}

/// Runs `f` with the state borrowed mutably. Never hold across an `.await`.
pub fn with<R>(f: impl FnOnce(&mut App) -> R) -> R {
    APP.with(|a| f(&mut a.borrow_mut()))
}

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, BgError> {
    Ok(v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())?)
}

fn from_js<T: for<'de> Deserialize<'de>>(v: JsValue) -> Option<T> {
    if v.is_undefined() || v.is_null() {
        return None;
    }
    serde_wasm_bindgen::from_value(v).ok()
}

/// Serializes a message for `postMessage`/`sendMessage`.
pub fn message<T: Serialize>(v: &T) -> Result<JsValue, BgError> {
    to_js(v)
}

#[derive(Deserialize)]
struct ExtConfig {
    server_url: String,
}

/// Restores the state from storage and `config.json`.
pub async fn load() -> Result<(), BgError> {
    let base = chrome::get_url("");
    let id = base
        .trim_start_matches("chrome-extension://")
        .trim_end_matches('/')
        .to_owned();
    let server = read_config().await.unwrap_or_else(|| DEFAULT_SERVER.to_owned());
    let session: Option<Session> = from_js(chrome::local_read(keys::SESSION).await?);
    let recent: Option<Vec<RecentCall>> = from_js(chrome::local_read(keys::RECENT).await?);
    let last: Option<u64> = from_js(chrome::local_read(keys::LAST_EVENT).await?);
    let call: Option<LiveCall> = from_js(chrome::session_read(keys::CALL).await?);
    with(|a| {
        a.ext_id = id;
        a.ext_base = base;
        a.server_url = server;
        a.session = session;
        a.recent = recent.unwrap_or_default();
        a.last_event_id = last.unwrap_or(0);
        a.call = call;
    });
    Ok(())
}

async fn read_config() -> Option<String> {
    let req = web_sys::Request::new_with_str(&chrome::get_url("config.json")).ok()?;
    let resp = wasm_bindgen_futures::JsFuture::from(chrome::fetch_request(&req)).await.ok()?;
    let resp: web_sys::Response = wasm_bindgen::JsCast::dyn_into(resp).ok()?;
    let text = wasm_bindgen_futures::JsFuture::from(resp.text().ok()?).await.ok()?.as_string()?;
    let cfg: ExtConfig = serde_json::from_str(&text).ok()?;
    Some(cfg.server_url.trim_end_matches('/').to_owned())
}

/// Saves the session (or its absence).
pub async fn save_session() -> Result<(), BgError> {
    let s = with(|a| a.session.clone());
    chrome::local_write(keys::SESSION, &to_js(&s)?).await
}

/// The popup's snapshot.
pub fn status() -> PopupStatus {
    with(|a| PopupStatus {
        server_url: a.server_url.clone(),
        email: a.session.as_ref().map(|s| s.email.clone()),
        sandbox: a.sandbox,
        link: a.link,
        call: a.call.as_ref().map(|c| c.view.clone()),
        recent: a.recent.clone(),
    })
}

/// The content scripts' snapshot.
pub fn content_state() -> BackgroundToContent {
    with(|a| BackgroundToContent::CallState {
        call: a.call.as_ref().map(|c| c.view.clone()),
        signed_in: a.session.is_some(),
    })
}

/// Pushes the current state to every popup port and content tab.
pub fn broadcast() {
    let status = BackgroundToPopup::Status(status());
    if let Ok(msg) = to_js(&status) {
        let dead: Vec<u32> = with(|a| {
            a.ports
                .iter()
                .filter(|(_, k, _)| *k == PortKind::Popup)
                .filter(|(_, _, p)| p.post_message(&msg).is_err())
                .map(|(id, _, _)| *id)
                .collect()
        });
        with(|a| a.ports.retain(|(id, _, _)| !dead.contains(id)));
    }
    let Ok(msg) = to_js(&content_state()) else { return };
    let tabs: Vec<i32> = with(|a| a.content_tabs.iter().copied().collect());
    for tab in tabs {
        let msg = msg.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if chrome::send_to_tab(tab, &msg).await.is_err() {
                with(|a| a.content_tabs.remove(&tab));
            }
        });
    }
}

/// Replaces the current call, persists it (and the recent list once it ended) and broadcasts.
pub async fn set_call(mut call: Option<LiveCall>) {
    let ended_now = match call.as_mut() {
        Some(c) if !c.view.phase.is_live() && !c.recorded => {
            c.recorded = true;
            Some(c.clone())
        }
        _ => None,
    };
    with(|a| a.call = call.clone());
    if let Some(c) = ended_now {
        let entry = calls::recent_entry(&c.view, c.started_at_ms, chrome::now_ms());
        let recent = with(|a| {
            calls::push_recent(&mut a.recent, entry);
            a.recent.clone()
        });
        if let Ok(v) = to_js(&recent) {
            let _ = chrome::local_write(keys::RECENT, &v).await;
        }
    }
    if let Ok(v) = to_js(&call) {
        let _ = chrome::session_write(keys::CALL, &v).await;
    }
    broadcast();
}

/// Sets the server link state and broadcasts when it changed.
pub fn set_link(link: ServerLink) {
    let changed = with(|a| std::mem::replace(&mut a.link, link) != link);
    if changed {
        broadcast();
    }
}
