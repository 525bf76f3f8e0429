//! Sites the agent enabled: optional host permissions and the content scripts registered
//! for them.
//!
//! "Enable on this site" is `chrome.permissions.request` in the popup's click (a request
//! needs the user's gesture, which the worker never has); the browser then fires
//! `permissions.onAdded` here and [`on_added`] registers the manifest's content-script
//! files for the site with `chrome.scripting.registerContentScripts`
//! (`persistAcrossSessions`, so it survives a restart) and injects them into the site's
//! open tabs. "Disable" ([`disable`]) unmarks the site's tabs while the worker may still
//! see their URLs, removes the permission and unregisters. A permission removed elsewhere
//! (chrome://extensions) arrives as `permissions.onRemoved` ([`on_removed`]).

use js_sys::{Array, Object, Promise, Reflect};
use mpt_core::msg::{BackgroundToContent, SiteAccess, SiteView};
use mpt_core::site::{pattern_covers, pattern_of, site_of_pattern, site_of_url};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::app;
use crate::error::BgError;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = getManifest)]
    fn get_manifest() -> JsValue;
    #[wasm_bindgen(js_namespace = ["chrome", "permissions"], js_name = getAll, catch)]
    fn permissions_get_all() -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "permissions"], js_name = remove, catch)]
    fn permissions_remove(p: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "scripting"], js_name = registerContentScripts, catch)]
    fn register_content_scripts(scripts: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "scripting"], js_name = unregisterContentScripts, catch)]
    fn unregister_content_scripts(filter: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "scripting"], js_name = getRegisteredContentScripts, catch)]
    fn get_registered_content_scripts(filter: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "scripting"], js_name = executeScript, catch)]
    fn execute_script(inj: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "scripting"], js_name = insertCSS, catch)]
    fn insert_css(inj: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "tabs"], js_name = query, catch)]
    fn tabs_query(q: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "tabs"], js_name = sendMessage, catch)]
    fn tabs_send_message(tab_id: i32, msg: &JsValue) -> Result<Promise, JsValue>;
}

/// Prefix of our registered content scripts' ids (`site:https://crm.example.com`).
const ID_PREFIX: &str = "site:";

async fn run(p: Result<Promise, JsValue>) -> Result<JsValue, BgError> {
    Ok(JsFuture::from(p?).await?)
}

fn obj(pairs: &[(&str, JsValue)]) -> Result<JsValue, BgError> {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &JsValue::from_str(k), v)?;
    }
    Ok(o.into())
}

/// The strings of a JS array (none when `v` is not an array: a manifest entry without `css`).
fn strings(v: &JsValue) -> Vec<String> {
    if !Array::is_array(v) {
        return Vec::new();
    }
    Array::from(v).iter().filter_map(|s| s.as_string()).collect()
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn js_array(items: &[String]) -> JsValue {
    items.iter().map(|s| JsValue::from_str(s)).collect::<Array>().into()
}

/// One of the manifest's `content_scripts` entries: every registered site gets each of them
/// too (the same files in the same worlds: the isolated content script and the page API), so
/// an enabled site behaves like a built-in one.
struct Entry {
    js: Vec<String>,
    css: Vec<String>,
    /// `MAIN` for the page API; `None` is the isolated world.
    world: Option<String>,
    /// `document_start` or `document_idle`.
    run_at: String,
}

/// The manifest's content scripts: their match patterns, and their entries.
fn manifest_scripts() -> (Vec<String>, Vec<Entry>) {
    let (mut matches, mut entries) = (Vec::new(), Vec::new());
    for cs in Array::from(&get(&get_manifest(), "content_scripts")).iter() {
        matches.extend(strings(&get(&cs, "matches")));
        entries.push(Entry {
            js: strings(&get(&cs, "js")),
            css: strings(&get(&cs, "css")),
            world: get(&cs, "world").as_string(),
            run_at: get(&cs, "run_at").as_string().unwrap_or_else(|| "document_idle".into()),
        });
    }
    (matches, entries)
}

/// The registration id of entry `i` for `site` (the first keeps the plain id).
fn entry_id(site: &str, i: usize) -> String {
    if i == 0 {
        format!("{ID_PREFIX}{site}")
    } else {
        format!("{ID_PREFIX}{site}#{i}")
    }
}

/// Whether the manifest's content scripts always run on `site`.
pub fn built_in(site: &str) -> bool {
    manifest_scripts().0.iter().any(|p| pattern_covers(p, site))
}

/// Sites granted as optional host permissions (the server's own origin is not a site).
pub async fn granted() -> Result<Vec<String>, BgError> {
    let all = run(permissions_get_all()).await?;
    let server = app::with(|a| a.server_url.clone());
    let mut sites: Vec<String> =
        strings(&get(&all, "origins")).iter().filter_map(|p| site_of_pattern(p)).filter(|s| *s != server).collect();
    sites.sort();
    sites.dedup();
    Ok(sites)
}

/// What the popup shows for `site`.
pub async fn view(site: &str) -> SiteView {
    let access = if built_in(site) {
        SiteAccess::BuiltIn
    } else if granted().await.unwrap_or_default().iter().any(|s| s == site) {
        SiteAccess::Enabled
    } else {
        SiteAccess::Disabled
    };
    SiteView { site: site.to_owned(), pattern: pattern_of(site), access }
}

/// The site of the tab the popup is about: the active tab of the last focused window,
/// or, when that is one of our own pages (the popup opened as a tab), the web tab used
/// last. The URL of a site not yet granted is visible thanks to `activeTab`.
pub async fn active_site() -> Option<SiteView> {
    let q = obj(&[("active", JsValue::TRUE), ("lastFocusedWindow", JsValue::TRUE)]).ok()?;
    let tabs = run(tabs_query(&q)).await.ok()?;
    let first = Array::from(&tabs).get(0);
    let url = get(&first, "url").as_string().unwrap_or_default();
    if let Some(site) = site_of_url(&url) {
        return Some(view(&site).await);
    }
    let all = run(tabs_query(&Object::new().into())).await.ok()?;
    let best = Array::from(&all)
        .iter()
        .filter_map(|t| Some((get(&t, "lastAccessed").as_f64().unwrap_or(0.0), site_of_url(&get(&t, "url").as_string()?)?)))
        .max_by(|a, b| a.0.total_cmp(&b.0))?;
    Some(view(&best.1).await)
}

async fn registered(id: &str) -> bool {
    let Ok(filter) = obj(&[("ids", js_array(&[id.to_owned()]))]) else { return false };
    run(get_registered_content_scripts(&filter)).await.map(|v| Array::from(&v).length() > 0).unwrap_or(false)
}

/// Registers the content script for `site` (once) and starts it in the site's open tabs.
pub async fn register(site: &str) -> Result<(), BgError> {
    if built_in(site) {
        return Ok(());
    }
    let (_, entries) = manifest_scripts();
    let pattern = pattern_of(site);
    for (i, e) in entries.iter().enumerate() {
        let id = entry_id(site, i);
        if registered(&id).await {
            continue;
        }
        let mut fields = vec![
            ("id", JsValue::from_str(&id)),
            ("matches", js_array(std::slice::from_ref(&pattern))),
            ("js", js_array(&e.js)),
            ("runAt", JsValue::from_str(&e.run_at)),
            ("persistAcrossSessions", JsValue::TRUE),
        ];
        if !e.css.is_empty() {
            fields.push(("css", js_array(&e.css)));
        }
        if let Some(w) = &e.world {
            fields.push(("world", JsValue::from_str(w)));
        }
        run(register_content_scripts(&Array::of1(&obj(&fields)?).into())).await?;
    }
    // Pages already open on the site get the scripts now (each runs once per document).
    let tabs = run(tabs_query(&obj(&[("url", pattern.as_str().into())])?)).await.unwrap_or_default();
    for tab in Array::from(&tabs).iter() {
        let Some(tab_id) = get(&tab, "id").as_f64() else { continue };
        let target = obj(&[("tabId", tab_id.into())])?;
        for e in &entries {
            if !e.css.is_empty() {
                let _ = run(insert_css(&obj(&[("target", target.clone()), ("files", js_array(&e.css))])?)).await;
            }
            let mut inj = vec![("target", target.clone()), ("files", js_array(&e.js))];
            if let Some(w) = &e.world {
                inj.push(("world", JsValue::from_str(w)));
            }
            let _ = run(execute_script(&obj(&inj)?)).await;
        }
    }
    Ok(())
}

/// The server's own site is never a CRM: the options page asks for its host permission just
/// before switching to it, and `permissions.onAdded` may have registered the content script
/// there meanwhile.
pub async fn forget_server_site(server: &str) {
    if let Some(site) = site_of_url(server).filter(|s| s == server) {
        unregister(&site).await;
    }
}

async fn unregister(site: &str) {
    let ids: Vec<String> = (0..manifest_scripts().1.len().max(1)).map(|i| entry_id(site, i)).collect();
    for id in ids {
        if let Ok(filter) = obj(&[("ids", js_array(&[id]))]) {
            let _ = run(unregister_content_scripts(&filter)).await;
        }
    }
}

/// Tells the content scripts in `tabs` (a `tabs.query` result) that `site` is disabled.
async fn unmark(tabs: JsValue, site: &str) {
    let Ok(msg) = app::message(&BackgroundToContent::Unmark { site: site.to_owned() }) else { return };
    for tab in Array::from(&tabs).iter() {
        if let Some(id) = get(&tab, "id").as_f64() {
            // Tabs without our script reject: nothing to unmark there.
            let _ = run(tabs_send_message(id as i32, &msg)).await;
        }
    }
}

/// "Disable": unmark the site's tabs, remove its permission, unregister its script.
pub async fn disable(site: &str) -> Result<(), BgError> {
    if built_in(site) {
        return Err(BgError::Js(format!("{site} is one of the CRMs MPT Phone was built for; it cannot be disabled.")));
    }
    let pattern = pattern_of(site);
    // While the permission holds, the worker may list the site's tabs.
    let tabs = run(tabs_query(&obj(&[("url", pattern.as_str().into())])?)).await.unwrap_or_default();
    unmark(tabs, site).await;
    run(permissions_remove(&obj(&[("origins", js_array(&[pattern]))])?)).await?;
    unregister(site).await;
    Ok(())
}

/// `permissions.onAdded`: register every newly granted site.
pub async fn on_added(origins: Vec<String>) {
    let server = app::with(|a| a.server_url.clone());
    for site in origins.iter().filter_map(|p| site_of_pattern(p)).filter(|s| *s != server) {
        if let Err(e) = register(&site).await {
            web_sys::console::warn_1(&format!("MPT Phone: could not enable {site}: {e}").into());
        }
    }
}

/// `permissions.onRemoved` (also after [`disable`]): unregister, and tell every tab (the
/// worker cannot see their URLs any more; each frame checks its own site).
pub async fn on_removed(origins: Vec<String>) {
    for site in origins.iter().filter_map(|p| site_of_pattern(p)) {
        if built_in(&site) {
            continue;
        }
        unregister(&site).await;
        let all = run(tabs_query(&Object::new().into())).await.unwrap_or_default();
        unmark(all, &site).await;
    }
}

/// At start: make sure every granted site has its registration (a profile restored from
/// sync, or a permission granted while the worker was not running).
pub async fn reconcile() {
    for site in granted().await.unwrap_or_default() {
        let id = format!("{ID_PREFIX}{site}");
        if !built_in(&site) && !registered(&id).await {
            let _ = register(&site).await;
        }
    }
}
