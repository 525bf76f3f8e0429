//! Where the worker's settings come from: the build (`config.json`), the agent (the options
//! page's server URL, kept in `chrome.storage.local`) and the administrator (managed
//! storage, `storage.managed_schema` in the manifest, set by policy).
//!
//! An administrator's value is a preset; the option is the administrator's alone when its
//! name is in `locked` (then the agent's own value is ignored and the options page shows
//! the field disabled). Contract: `docs/deploy.md`.

use js_sys::Promise;
use mpt_core::msg::Settings;
use mpt_core::site::server_origin;
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::BgError;
use crate::{app, chrome, sites};

/// `chrome.storage.local` key of the agent's own server URL (options page).
pub const SERVER_KEY: &str = "mpt.serverUrl";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "managed"], js_name = get, catch)]
    fn managed_get() -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "local"], js_name = remove, catch)]
    fn local_remove(key: &str) -> Result<Promise, JsValue>;
}

/// The administrator's settings (managed storage), as `managed_schema.json` declares them.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Managed {
    /// The api-server origin.
    #[serde(default)]
    pub server_url: Option<String>,
    /// The tenant slug agents sign in to.
    #[serde(default)]
    pub tenant: Option<String>,
    /// CRM origins (`https://crm.example.com`) the extension should run on.
    #[serde(default)]
    pub crm_origins: Vec<String>,
    /// The region numbers without a country code are read in (`US`, `GB`…).
    #[serde(default)]
    pub default_region: Option<String>,
    /// Options the agent may not change: `server_url`, `default_region`, `tel_links`, `sites`.
    #[serde(default)]
    pub locked: Vec<String>,
}

impl Managed {
    /// Whether `option` is locked by the administrator.
    pub fn locks(&self, option: &str) -> bool {
        self.locked.iter().any(|l| l == option)
    }
}

/// Reads managed storage (empty when no policy applies, or the browser has none).
pub async fn managed() -> Managed {
    let Ok(p) = managed_get() else { return Managed::default() };
    // A managed-storage read that does not answer must not hold up the phone's start for
    // ever: after 10 s, no policy. (On a fresh headless profile the first read takes seconds.)
    let timeout = js_sys::Promise::new(&mut |resolve, _| {
        let _ = crate::chrome::set_timeout(&resolve, MANAGED_TIMEOUT_MS);
    });
    let Ok(v) = JsFuture::from(js_sys::Promise::race(&js_sys::Array::of2(&p, &timeout))).await else { return Managed::default() };
    if v.is_undefined() {
        return Managed::default();
    }
    serde_wasm_bindgen::from_value(v).unwrap_or_default()
}

/// How long the worker waits for managed storage before going on without a policy.
const MANAGED_TIMEOUT_MS: i32 = 10_000;

/// The server the worker uses: the administrator's when locked, else the agent's, else
/// the administrator's preset, else the build's. Values that are no acceptable origin
/// (plain http off loopback) are skipped.
pub async fn server_url(build: &str, managed: &Managed) -> String {
    let agent = chrome::local_read(SERVER_KEY).await.ok().and_then(|v| v.as_string());
    let admin = managed.server_url.clone();
    let order = if managed.locks("server_url") { [admin, None] } else { [agent, admin] };
    order.into_iter().flatten().find_map(|u| server_origin(&u).ok()).unwrap_or_else(|| build.to_owned())
}

/// The options page's "server URL": checked and stored; returns the server to use from now
/// on (the caller signs out of the old one before switching, so the sign-out reaches it).
/// An empty URL returns to the build's (or the administrator's) server.
pub async fn set_server_url(url: &str) -> Result<String, String> {
    let managed = managed().await;
    if managed.locks("server_url") {
        return Err("Your administrator set the server URL.".into());
    }
    if url.trim().is_empty() {
        if let Ok(p) = local_remove(SERVER_KEY) {
            let _ = JsFuture::from(p).await;
        }
    } else {
        let origin = server_origin(url).map_err(|e| e.message().to_owned())?;
        chrome::local_write(SERVER_KEY, &JsValue::from_str(&origin)).await.map_err(|e| e.to_string())?;
    }
    let build = app::with(|a| a.built_in_server_url.clone());
    Ok(server_url(&build, &managed).await)
}

/// Switches the worker to `next` (signing out of the current server first when it differs:
/// a session belongs to one server). Used by the options page and when the policy changes.
pub fn switch_server(next: String) {
    if app::with(|a| a.server_url == next) {
        return;
    }
    // The engine sends the sign-out now, to the server still in `server_url`.
    let _ = crate::host::command(mpt_core::engine::PhoneCommand::SignOut);
    app::with(|a| a.server_url = next.clone());
    wasm_bindgen_futures::spawn_local(async move { sites::forget_server_site(&next).await });
}

/// The administrator's policy changed (`storage.onChanged`, area `managed`): take its
/// server and tenant at once.
pub async fn managed_changed() {
    let managed = managed().await;
    let build = app::with(|a| a.built_in_server_url.clone());
    let next = server_url(&build, &managed).await;
    app::with(|a| a.managed_tenant = managed.tenant.clone());
    switch_server(next);
}

/// What the options page shows.
pub async fn settings(tenant_region: Option<String>, agent: Option<String>) -> Result<Settings, BgError> {
    let managed = managed().await;
    let (server_url, built_in_server_url) = app::with(|a| (a.server_url.clone(), a.built_in_server_url.clone()));
    let mut list = Vec::new();
    for site in sites::granted().await? {
        list.push(sites::view(&site).await);
    }
    Ok(Settings {
        server_url,
        built_in_server_url,
        tenant_region,
        agent,
        sites: list,
        managed_sites: managed.crm_origins.clone(),
        tenant: managed.tenant.clone(),
        locked: managed.locked.clone(),
    })
}
