//! What the service worker knows besides the engine: who it is, where the server is,
//! which ports and tabs listen.
//!
//! The phone's state is the engine's (`host.rs`); this is only the executor's plumbing.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

use crate::chrome::{self, Port};
use crate::error::BgError;

/// Default server when `config.json` cannot be read.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8787";

/// Kinds of long-lived ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortKind {
    /// A popup receiving pushes.
    Popup,
    /// The offscreen document.
    Offscreen,
}

/// The executor's plumbing.
pub struct App {
    /// Our extension id.
    pub ext_id: String,
    /// `chrome-extension://<id>/`.
    pub ext_base: String,
    /// The api-server base URL in use (`config::server_url`: administrator, agent, build).
    pub server_url: String,
    /// The build's server URL (`config.json`).
    pub built_in_server_url: String,
    /// The administrator's tenant slug (managed storage), filled into sign-ins without one.
    pub managed_tenant: Option<String>,
    /// Open ports by id.
    pub ports: Vec<(u32, PortKind, Port)>,
    /// The document (tab, documentId) whose content script placed the current call:
    /// the only page that hears about it. `None` for calls from extension pages.
    pub call_owner: Option<(i32, String)>,
}

thread_local! {
    static APP: RefCell<App> = RefCell::new(App {
        ext_id: String::new(),
        ext_base: String::new(),
        server_url: DEFAULT_SERVER.to_owned(),
        built_in_server_url: DEFAULT_SERVER.to_owned(),
        managed_tenant: None,
        ports: Vec::new(),
        call_owner: None,
    });
}

/// Runs `f` with the state borrowed mutably. Never hold across an `.await`.
pub fn with<R>(f: impl FnOnce(&mut App) -> R) -> R {
    APP.with(|a| f(&mut a.borrow_mut()))
}

/// Serializes a message for `postMessage`/`sendMessage`.
pub fn message<T: Serialize>(v: &T) -> Result<JsValue, BgError> {
    Ok(v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())?)
}

#[derive(Deserialize)]
struct ExtConfig {
    server_url: String,
}

/// Learns our id and the server URL (the build's `config.json`, then the agent's and the
/// administrator's settings: `config.rs`).
pub async fn load() {
    let base = chrome::get_url("");
    let id = base.trim_start_matches("chrome-extension://").trim_end_matches('/').to_owned();
    let built_in = read_config().await.unwrap_or_else(|| DEFAULT_SERVER.to_owned());
    let managed = crate::config::managed().await;
    let server = crate::config::server_url(&built_in, &managed).await;
    with(|a| {
        a.ext_id = id;
        a.ext_base = base;
        a.server_url = server;
        a.built_in_server_url = built_in;
        a.managed_tenant = managed.tenant.clone();
    });
}

async fn read_config() -> Option<String> {
    let req = web_sys::Request::new_with_str(&chrome::get_url("config.json")).ok()?;
    let resp = wasm_bindgen_futures::JsFuture::from(chrome::fetch_request(&req)).await.ok()?;
    let resp: web_sys::Response = wasm_bindgen::JsCast::dyn_into(resp).ok()?;
    let text = wasm_bindgen_futures::JsFuture::from(resp.text().ok()?).await.ok()?.as_string()?;
    let cfg: ExtConfig = serde_json::from_str(&text).ok()?;
    Some(cfg.server_url.trim_end_matches('/').to_owned())
}

/// Posts `msg` to every popup port, dropping the dead ones.
pub fn to_popups(msg: &JsValue) {
    let dead: Vec<u32> = with(|a| {
        a.ports
            .iter()
            .filter(|(_, k, _)| *k == PortKind::Popup)
            .filter(|(_, _, p)| p.post_message(msg).is_err())
            .map(|(id, _, _)| *id)
            .collect()
    });
    with(|a| a.ports.retain(|(id, _, _)| !dead.contains(id)));
}

/// Sends `msg` to the document that owns the call, and to no other page: call state
/// is never broadcast to content tabs. Forgets the owner once its document is gone.
pub fn to_call_owner(msg: &JsValue) {
    let Some((tab, doc)) = with(|a| a.call_owner.clone()) else {
        return;
    };
    let msg = msg.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if chrome::send_to_document(tab, &doc, &msg).await.is_err() {
            with(|a| {
                if a.call_owner.as_ref() == Some(&(tab, doc.clone())) {
                    a.call_owner = None;
                }
            });
        }
    });
}

/// Whether `(tab, doc)` is the document that owns the current call.
pub fn owns_call(tab: i32, doc: &str) -> bool {
    with(|a| matches!(&a.call_owner, Some((t, d)) if *t == tab && d == doc))
}
