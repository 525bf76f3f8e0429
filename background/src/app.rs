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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortKind {
    /// A popup receiving pushes.
    Popup,
    /// The offscreen document.
    Offscreen,
    /// A content script's port: its document's pushes go over it.
    Content(Doc),
    /// A call panel, opened with a nonce that `host` (the framing document) registered.
    Panel {
        /// The document that framed it.
        host: Doc,
    },
}

/// A document a content script runs in, as the browser named it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doc {
    /// Tab id.
    pub tab: i32,
    /// `documentId` (changes when the frame navigates).
    pub id: String,
    /// Its origin (from the sender, never from a message).
    pub origin: String,
    /// The tab's top frame.
    #[serde(default)]
    pub top: bool,
}

/// A panel nonce a content script registered, waiting for its panel to connect.
#[derive(Debug, Clone)]
pub struct PanelNonce {
    /// The nonce (32 hex digits).
    pub nonce: String,
    /// The document that will frame the panel.
    pub doc: Doc,
    /// When it was registered (ms); unused nonces expire.
    pub at_ms: f64,
}

/// Nonces older than this are refused.
pub const NONCE_TTL_MS: f64 = 30_000.0;
/// At most this many nonces wait at once (oldest dropped).
const NONCES_MAX: usize = 32;
/// `chrome.storage.session` key of the call's owner, so it survives a worker restart.
pub const OWNER_KEY: &str = "mpt.owner";

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
    /// The document whose content script placed (or offered, once the agent confirmed)
    /// the current call: the only page that hears about it. `None` for calls from
    /// extension pages.
    pub call_owner: Option<Doc>,
    /// The top document of the tab that was active when a call came in: its panel rings
    /// with Answer and Decline (and answering there makes it the call's owner).
    pub ring_doc: Option<Doc>,
    /// The document whose page offered the call waiting for the agent's confirmation.
    pub proposer: Option<Doc>,
    /// Owners of recent calls (client call id → document), so `call-logged`, which comes
    /// once the log is written after the call, still reaches the page that owned it.
    pub past_owners: Vec<(String, Doc)>,
    /// Panel nonces waiting for their panel.
    pub nonces: Vec<PanelNonce>,
    /// The last state pushed to each content port (by port id), so only changes go out.
    pub pushed: Vec<(u32, JsValue)>,
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
        proposer: None,
        ring_doc: None,
        past_owners: Vec::new(),
        nonces: Vec::new(),
        pushed: Vec::new(),
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
    to_ports(msg, |k| *k == PortKind::Popup);
}

/// Posts `msg` to every panel port, dropping the dead ones.
pub fn to_panels(msg: &JsValue) {
    to_ports(msg, |k| matches!(k, PortKind::Panel { .. }));
}

fn to_ports(msg: &JsValue, which: impl Fn(&PortKind) -> bool) {
    let dead: Vec<u32> = with(|a| {
        a.ports.iter().filter(|(_, k, _)| which(k)).filter(|(_, _, p)| p.post_message(msg).is_err()).map(|(id, _, _)| *id).collect()
    });
    with(|a| a.ports.retain(|(id, _, _)| !dead.contains(id)));
}

/// The content ports, with their documents.
pub fn content_ports() -> Vec<(u32, Doc, Port)> {
    with(|a| {
        a.ports
            .iter()
            .filter_map(|(id, k, p)| match k {
                PortKind::Content(d) => Some((*id, d.clone(), p.clone())),
                _ => None,
            })
            .collect()
    })
}

/// Posts `msg` to the content port(s) of `doc` (a document has one, but a reconnect may
/// briefly overlap the old one).
pub fn to_doc(doc: &Doc, msg: &JsValue) {
    for (_, d, p) in content_ports() {
        if d == *doc {
            let _ = p.post_message(msg);
        }
    }
}

/// Whether `doc` is the document that owns the current call.
pub fn owns_call(doc: &Doc) -> bool {
    with(|a| a.call_owner.as_ref() == Some(doc))
}

/// Sets the call's owner and keeps it in `chrome.storage.session`, so a restarted
/// worker still sends the call's events to that document and no other.
pub fn set_owner(owner: Option<Doc>) {
    let changed = with(|a| {
        let changed = a.call_owner != owner;
        a.call_owner = owner.clone();
        changed
    });
    if changed {
        let text = serde_json::to_string(&owner).unwrap_or_else(|_| "null".into());
        wasm_bindgen_futures::spawn_local(async move {
            let _ = chrome::session_write(OWNER_KEY, &JsValue::from_str(&text)).await;
        });
    }
}

/// Remembers that `doc` owned call `call_id` (a few, newest last).
pub fn remember_owner(call_id: &str, doc: &Doc) {
    with(|a| {
        a.past_owners.retain(|(id, _)| id != call_id);
        if a.past_owners.len() >= 8 {
            a.past_owners.remove(0);
        }
        a.past_owners.push((call_id.to_owned(), doc.clone()));
    });
}

/// The document that owned call `call_id`, if remembered.
pub fn past_owner(call_id: &str) -> Option<Doc> {
    with(|a| a.past_owners.iter().find(|(id, _)| id == call_id).map(|(_, d)| d.clone()))
}

/// Restores the call's owner after a worker restart.
pub async fn restore_owner() {
    let stored = chrome::session_read(OWNER_KEY).await.ok().and_then(|v| v.as_string());
    let owner: Option<Doc> = stored.and_then(|s| serde_json::from_str(&s).ok()).flatten();
    with(|a| a.call_owner = owner);
}

/// Registers a panel nonce for `doc`.
pub fn add_nonce(nonce: String, doc: Doc) {
    let now = chrome::now_ms();
    with(|a| {
        a.nonces.retain(|n| now - n.at_ms < NONCE_TTL_MS && n.nonce != nonce);
        if a.nonces.len() >= NONCES_MAX {
            a.nonces.remove(0);
        }
        a.nonces.push(PanelNonce { nonce, doc, at_ms: now });
    });
}

/// Takes (once) the fresh nonce `nonce` if it was registered by a document in `tab`.
pub fn take_nonce(nonce: &str, tab: i32) -> Option<Doc> {
    let now = chrome::now_ms();
    with(|a| {
        let i = a.nonces.iter().position(|n| n.nonce == nonce)?;
        let n = a.nonces.remove(i);
        (n.doc.tab == tab && now - n.at_ms < NONCE_TTL_MS).then_some(n.doc)
    })
}
