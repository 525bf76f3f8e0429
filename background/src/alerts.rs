//! What reaches the agent outside the phone's own pages: an incoming call's notification
//! (with Answer and Decline), the popup opened and the panel ringing in the active tab,
//! "Missed call from …" notifications, and the toolbar badge (in a call, ringing, or the
//! count of missed calls not yet seen). Driven by the engine's view, so every surface
//! shows the same call; the labels are the view's.

use std::cell::RefCell;

use js_sys::{Object, Promise, Reflect};
use mpt_core::engine::{EndReason, Phase, PhoneView};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::{app, chrome};

/// Notification id prefix of a ringing call (`mpt-call:<call id>`).
pub const RING_PREFIX: &str = "mpt-call:";
/// Notification id prefix of a missed call.
pub const MISSED_PREFIX: &str = "mpt-missed:";
/// How long a call that stopped ringing waits for the server to say it was answered
/// elsewhere before it is announced as missed.
const MISSED_CONFIRM_MS: i32 = 3_000;
/// `chrome.storage.session` key of the missed calls not yet seen.
const MISSED_KEY: &str = "mpt.missed";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "notifications"], js_name = create, catch)]
    fn notifications_create(id: &str, opts: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "notifications"], js_name = clear, catch)]
    fn notifications_clear(id: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "action"], js_name = setBadgeText, catch)]
    fn set_badge_text(details: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "action"], js_name = setBadgeBackgroundColor, catch)]
    fn set_badge_colour(details: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "tabs"], js_name = query, catch)]
    fn tabs_query(q: &JsValue) -> Result<Promise, JsValue>;
}

#[derive(Default)]
struct Seen {
    /// The call shown last, and its phase.
    call: Option<(String, Phase)>,
    /// Missed calls not yet seen (ids, newest last).
    missed: Vec<String>,
    badge: Option<(String, &'static str)>,
}

thread_local! {
    static SEEN: RefCell<Seen> = RefCell::new(Seen::default());
}

fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o.into()
}

fn spawn(p: Result<Promise, JsValue>) {
    if let Ok(p) = p {
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = JsFuture::from(p).await {
                web_sys::console::warn_1(&format!("MPT Phone: {}", crate::error::js_error_text(&e)).into());
            }
        });
    }
}

/// Reads the unseen missed calls (after a worker restart).
pub async fn restore() {
    let ids: Vec<String> =
        chrome::session_read(MISSED_KEY).await.ok().and_then(|v| serde_wasm_bindgen::from_value(v).ok()).unwrap_or_default();
    SEEN.with(|s| s.borrow_mut().missed = ids);
}

fn store_missed() {
    let ids = SEEN.with(|s| s.borrow().missed.clone());
    if let Ok(v) = serde_wasm_bindgen::to_value(&ids) {
        wasm_bindgen_futures::spawn_local(async move {
            let _ = chrome::session_write(MISSED_KEY, &v).await;
        });
    }
}

/// A new view: notifications and the badge follow the call.
pub fn on_view(view: &PhoneView) {
    let now = view.call.as_ref().map(|c| (c.call_id.clone(), c.phase));
    let before = SEEN.with(|s| std::mem::replace(&mut s.borrow_mut().call, now.clone()));
    if let Some(c) = view.call.as_ref().filter(|c| c.phase == Phase::Incoming) {
        if before.as_ref() != Some(&(c.call_id.clone(), Phase::Incoming)) {
            let who = c.contact_name.clone().unwrap_or_else(|| c.number_display.clone());
            let detail = match (&c.contact_name, &c.contact_company) {
                (Some(_), Some(co)) => format!("{} · {co}", c.number_display),
                (Some(_), None) => c.number_display.clone(),
                _ => "Unknown caller".to_owned(),
            };
            ring(&c.call_id, &who, &detail);
        }
    }
    if let Some((id, Phase::Incoming)) = &before {
        if now.as_ref() != Some(&(id.clone(), Phase::Incoming)) {
            spawn(notifications_clear(&format!("{RING_PREFIX}{id}")));
            // Answered: the tab where it rang keeps the call in its panel.
            let ring_doc = app::with(|a| a.ring_doc.take());
            let answered = view.call.as_ref().is_some_and(|c| c.call_id == *id && c.phase.is_live());
            if answered && app::with(|a| a.call_owner.is_none()) {
                app::set_owner(ring_doc);
            }
            let missed = view.recent.iter().any(|r| r.call_id == *id && r.end_reason == Some(EndReason::Missed));
            if missed {
                // The Device's `cancel` also means "answered on another endpoint"; the
                // server's word on that comes a moment later: only a call still missed
                // then is announced.
                let id = id.clone();
                let later = Closure::once_into_js(move || {
                    let row = crate::host::view().and_then(|v| v.recent.into_iter().find(|r| r.call_id == id));
                    // Canceled (for an incoming call): another endpoint answered it.
                    if let Some(r) = row.filter(|r| r.end_reason != Some(EndReason::Canceled)) {
                        let who = r.contact_name.clone().unwrap_or_else(|| r.number_display.clone());
                        missed_call(&id, &who);
                        if let Some(v) = crate::host::view() {
                            badge(&v);
                        }
                    }
                });
                chrome::set_timeout(later.unchecked_ref(), MISSED_CONFIRM_MS);
            }
        }
    }
    badge(view);
}

/// Rings: the notification with Answer and Decline, the popup, and the panel of the active
/// tab's page (when MPT Phone runs there).
fn ring(call_id: &str, who: &str, detail: &str) {
    let buttons = js_sys::Array::of2(&obj(&[("title", "Answer".into())]), &obj(&[("title", "Decline".into())]));
    let opts = obj(&[
        ("type", "basic".into()),
        ("iconUrl", chrome::get_url("icons/icon-128.png").into()),
        ("title", format!("Incoming call: {who}").into()),
        ("message", detail.into()),
        ("buttons", buttons.into()),
        ("requireInteraction", true.into()),
        ("priority", 2.into()),
    ]);
    spawn(notifications_create(&format!("{RING_PREFIX}{call_id}"), &opts));
    wasm_bindgen_futures::spawn_local(async {
        crate::menu::open_dialer().await;
        ring_in_active_tab().await;
    });
}

/// The top document of the focused window's active tab, if our content script runs there.
async fn ring_in_active_tab() {
    let Ok(p) = tabs_query(&obj(&[("active", true.into()), ("lastFocusedWindow", true.into())])) else { return };
    let Ok(tabs) = JsFuture::from(p).await else { return };
    let Some(tab) = Reflect::get(&js_sys::Array::from(&tabs).get(0), &"id".into()).ok().and_then(|v| v.as_f64()) else {
        return;
    };
    let doc = app::content_ports().into_iter().map(|(_, d, _)| d).find(|d| f64::from(d.tab) == tab && d.top);
    let still_ringing = SEEN.with(|s| s.borrow().call.as_ref().is_some_and(|(_, p)| *p == Phase::Incoming));
    if let (Some(doc), true) = (doc, still_ringing) {
        app::with(|a| a.ring_doc = Some(doc));
        crate::host::push_content_states();
    }
}

fn missed_call(call_id: &str, who: &str) {
    SEEN.with(|s| {
        let mut s = s.borrow_mut();
        s.missed.retain(|m| m != call_id);
        s.missed.push(call_id.to_owned());
    });
    store_missed();
    let opts = obj(&[
        ("type", "basic".into()),
        ("iconUrl", chrome::get_url("icons/icon-128.png").into()),
        ("title", format!("Missed call from {who}").into()),
        ("message", "Open MPT Phone to call back.".into()),
    ]);
    spawn(notifications_create(&format!("{MISSED_PREFIX}{call_id}"), &opts));
}

/// The agent opened the popup or a panel: missed calls are seen.
pub fn seen() {
    let ids = SEEN.with(|s| std::mem::take(&mut s.borrow_mut().missed));
    if ids.is_empty() {
        return;
    }
    for id in &ids {
        spawn(notifications_clear(&format!("{MISSED_PREFIX}{id}")));
    }
    store_missed();
    if let Some(v) = crate::host::view() {
        badge(&v);
    }
}

/// Unseen missed calls (tests and the popup).
pub fn missed_count() -> usize {
    SEEN.with(|s| s.borrow().missed.len())
}

fn badge(view: &PhoneView) {
    let (text, colour) = match view.call.as_ref().map(|c| c.phase) {
        Some(Phase::Incoming) => ("RING".to_owned(), "#2563eb"),
        Some(Phase::Placing | Phase::Ringing | Phase::InCall) => ("CALL".to_owned(), "#16a34a"),
        _ => match missed_count() {
            0 => (String::new(), "#dc2626"),
            n => (n.min(99).to_string(), "#dc2626"),
        },
    };
    let changed = SEEN.with(|s| {
        let mut s = s.borrow_mut();
        let new = Some((text.clone(), colour));
        let changed = s.badge != new;
        s.badge = new;
        changed
    });
    if changed {
        spawn(set_badge_colour(&obj(&[("color", colour.into())])));
        spawn(set_badge_text(&obj(&[("text", text.into())])));
    }
}
