//! The engine's Chrome executor: one [`Engine`] per service-worker lifetime, fed every
//! input with the current time; each effect it returns is carried out here with Chrome's
//! APIs (fetch and WebSocket in `net.rs`, the offscreen Voice SDK in `voice.rs`,
//! `chrome.storage.local` for the persisted state, timers with a `chrome.alarms` wake-up
//! for long ones, views to the popup ports and the content tabs).

use std::cell::RefCell;
use std::collections::BTreeMap;

use mpt_core::engine::{Effect, Engine, Input, Phase, PhoneCommand, PhoneEvent, PhoneView, StoredState, TimerId};
use mpt_core::msg::{BackgroundToContent, BackgroundToPopup};
use mpt_core::PhoneErrorCode;
use wasm_bindgen::prelude::*;

use crate::{app, chrome, net, voice};

/// `chrome.storage.local` key of the engine's persisted state.
pub const STORE_KEY: &str = "mpt.engine";
/// Alarm that wakes a stopped worker for a long timer.
pub const WAKE_ALARM: &str = "mpt-wake";
/// Timers at least this far out also get the wake alarm.
const WAKE_AFTER_MS: u64 = 25_000;

struct Host {
    engine: Engine,
    view: Option<PhoneView>,
    timers: BTreeMap<TimerId, (u64, JsValue)>,
}

thread_local! {
    static HOST: RefCell<Option<Host>> = const { RefCell::new(None) };
    /// Inputs that arrived before the stored state was read (the offscreen document's
    /// `Ready` after a worker restart): fed right after `Start`.
    static EARLY: RefCell<Vec<Input>> = const { RefCell::new(Vec::new()) };
}

fn now() -> u64 {
    chrome::now_ms() as u64
}

/// Starts the engine from what was stored.
pub async fn start() {
    let stored: Option<StoredState> =
        chrome::local_read(STORE_KEY).await.ok().and_then(|v| v.as_string()).and_then(|s| serde_json::from_str(&s).ok());
    HOST.with(|h| {
        *h.borrow_mut() = Some(Host { engine: Engine::new(chrome::random_seed()), view: None, timers: BTreeMap::new() });
    });
    feed(Input::Start { stored: stored.map(Box::new) });
    for i in EARLY.with(|e| std::mem::take(&mut *e.borrow_mut())) {
        feed(i);
    }
}

/// Feeds one input and carries out the effects. Returns the errors it raised (the
/// answer to a command).
pub fn feed(input: Input) -> Vec<PhoneErrorCode> {
    let effects = HOST.with(|h| h.borrow_mut().as_mut().map(|h| h.engine.handle(now(), input)));
    let Some(effects) = effects else {
        return Vec::new();
    };
    let mut errors = Vec::new();
    for e in effects {
        match e {
            Effect::Http(req) => net::http(req),
            Effect::SocketOpen { conn, path } => net::open(conn, &path),
            Effect::SocketSend { conn, text } => net::send_frame(conn, &text),
            Effect::SocketClose { conn } => net::close(Some(conn)),
            Effect::Persist(state) => persist(&state),
            Effect::Voice(cmd) => voice::command(cmd),
            Effect::SetTimer { timer, at_ms } => set_timer(timer, at_ms),
            Effect::CancelTimer(timer) => cancel_timer(timer),
            Effect::View(v) => show(*v),
            Effect::Event(ev) => {
                if let PhoneEvent::Error { code, .. } = &ev {
                    errors.push(*code);
                }
                to_owner_page(ev);
            }
        }
    }
    errors
}

/// Feeds one input (from the network, the offscreen document or a timer).
pub fn input(i: Input) {
    if HOST.with(|h| h.borrow().is_none()) {
        EARLY.with(|e| e.borrow_mut().push(i));
        return;
    }
    let _ = feed(i);
}

/// Runs a command; `Err` carries the first error it raised.
pub fn command(cmd: PhoneCommand) -> Result<(), PhoneErrorCode> {
    match feed(Input::Command(cmd)).first() {
        Some(code) => Err(*code),
        None => Ok(()),
    }
}

fn persist(state: &StoredState) {
    let Ok(text) = serde_json::to_string(state) else {
        return;
    };
    // Issued in order; chrome.storage applies writes in the order they were made.
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = chrome::local_write(STORE_KEY, &JsValue::from_str(&text)).await {
            web_sys::console::warn_1(&format!("MPT Phone: storing state: {e}").into());
        }
    });
}

fn set_timer(timer: TimerId, at_ms: u64) {
    cancel_timer(timer);
    let delay = at_ms.saturating_sub(now());
    let cb = Closure::once_into_js(move || fire(timer, at_ms));
    let handle = chrome::set_timeout(cb.unchecked_ref(), i32::try_from(delay).unwrap_or(i32::MAX));
    HOST.with(|h| {
        if let Some(h) = h.borrow_mut().as_mut() {
            h.timers.insert(timer, (at_ms, handle));
        }
    });
    if delay >= WAKE_AFTER_MS {
        arm_wake();
    }
}

fn cancel_timer(timer: TimerId) {
    let old = HOST.with(|h| h.borrow_mut().as_mut().and_then(|h| h.timers.remove(&timer)));
    if let Some((_, handle)) = old {
        chrome::clear_timeout(&handle);
    }
}

fn fire(timer: TimerId, at_ms: u64) {
    let current = HOST.with(|h| {
        let mut h = h.borrow_mut();
        let h = h.as_mut()?;
        match h.timers.get(&timer) {
            Some((at, _)) if *at == at_ms => h.timers.remove(&timer),
            _ => None,
        }
    });
    if current.is_some() {
        input(Input::Timer(timer));
    }
}

/// The wake alarm rang: fire every timer that is due (setTimeout may not have run while
/// the worker was stopped) and re-arm for the next long one.
pub fn on_wake() {
    let due: Vec<(TimerId, u64)> = HOST.with(|h| {
        h.borrow()
            .as_ref()
            .map(|h| h.timers.iter().filter(|(_, (at, _))| *at <= now() + 1_000).map(|(t, (at, _))| (*t, *at)).collect())
            .unwrap_or_default()
    });
    for (t, at) in due {
        fire(t, at);
    }
    arm_wake();
}

fn arm_wake() {
    let next = HOST
        .with(|h| h.borrow().as_ref().and_then(|h| h.timers.values().map(|(at, _)| *at).filter(|at| *at >= now() + WAKE_AFTER_MS).min()));
    if let Some(at) = next {
        wasm_bindgen_futures::spawn_local(async move {
            let _ = chrome::alarm_at(WAKE_ALARM, at as f64).await;
        });
    }
}

/// The popup's message for the current view.
pub fn popup_view() -> Option<BackgroundToPopup> {
    let server_url = app::with(|a| a.server_url.clone());
    HOST.with(|h| h.borrow().as_ref().and_then(|h| h.view.clone())).map(|v| BackgroundToPopup::View {
        view: Box::new(v),
        server_url,
        offer: None,
    })
}

/// A panel's message for the current view: the popup's, with the call a page offered.
pub fn panel_view() -> Option<BackgroundToPopup> {
    let offer = proposal();
    popup_view().map(|m| match m {
        BackgroundToPopup::View { view, server_url, .. } => BackgroundToPopup::View { view, server_url, offer },
        other => other,
    })
}

/// The call a page offered, waiting for the agent.
pub fn proposal() -> Option<mpt_core::engine::Proposal> {
    HOST.with(|h| h.borrow().as_ref().and_then(|h| h.engine.proposal().cloned()))
}

/// Whether the tenant lists `origin` as one of its CRMs.
pub fn origin_allowed(origin: &str) -> bool {
    HOST.with(|h| h.borrow().as_ref().is_some_and(|h| h.engine.origin_allowed(origin)))
}

/// The engine's latest view (a clone), if any.
pub fn view() -> Option<PhoneView> {
    HOST.with(|h| h.borrow().as_ref().and_then(|h| h.view.clone()))
}

/// Whether a call is in progress (not yet ended).
pub fn live_call() -> bool {
    view().is_some_and(|v| v.call.is_some_and(|c| c.phase.is_live()))
}

/// What `doc` may know of the phone: signed in or not, and whether to show the panel
/// (it owns the call, or offered the call the agent is asked to confirm). Never the call.
pub fn content_state(doc: &app::Doc) -> BackgroundToContent {
    let v = view();
    let signed_in = v.as_ref().is_some_and(|v| v.agent.is_some());
    let has_call = v.as_ref().is_some_and(|v| v.call.is_some());
    let has_offer = proposal().is_some();
    // A ringing call with no owner rings in the panel of the active tab's page.
    let panel = app::with(|a| {
        (has_call && (a.call_owner.as_ref() == Some(doc) || (a.call_owner.is_none() && a.ring_doc.as_ref() == Some(doc))))
            || (has_offer && a.proposer.as_ref() == Some(doc))
    });
    BackgroundToContent::PhoneState { signed_in, panel }
}

/// Pushes each content port its state, when it changed.
pub fn push_content_states() {
    for (id, doc, port) in app::content_ports() {
        let Ok(msg) = app::message(&content_state(&doc)) else { continue };
        let same =
            app::with(|a| a.pushed.iter().any(|(i, m)| *i == id && js_sys::JSON::stringify(m).ok() == js_sys::JSON::stringify(&msg).ok()));
        if !same && port.post_message(&msg).is_ok() {
            app::with(|a| {
                a.pushed.retain(|(i, _)| *i != id);
                a.pushed.push((id, msg));
            });
        }
    }
}

/// A page-API event goes to the document that owns the call, and only if its origin is
/// one of the tenant's CRMs (`../shared/CONTRACTS.md` §2).
fn to_owner_page(ev: PhoneEvent) {
    let owner = match &ev {
        PhoneEvent::CallLogged { call_id, .. } => app::past_owner(call_id),
        _ => app::with(|a| a.call_owner.clone()),
    };
    let Some(owner) = owner else { return };
    let allowed = HOST.with(|h| h.borrow().as_ref().is_some_and(|h| h.engine.origin_allowed(&owner.origin)));
    if !allowed {
        return;
    }
    if let Ok(msg) = app::message(&BackgroundToContent::PageEvent { event: ev }) {
        app::to_doc(&owner, &msg);
    }
}

fn show(view: PhoneView) {
    crate::alerts::on_view(&view);
    crate::update::on_view(&view);
    // An incoming call belongs to no page until a page or the agent answers it.
    if view.call.as_ref().is_some_and(|c| c.phase == Phase::Incoming) {
        app::set_owner(None);
    }
    let no_call = view.call.is_none();
    let no_offer = proposal().is_none();
    if let (Some(c), Some(owner)) = (view.call.as_ref(), app::with(|a| a.call_owner.clone())) {
        app::remember_owner(&c.call_id, &owner);
    }
    HOST.with(|h| {
        if let Some(h) = h.borrow_mut().as_mut() {
            h.view = Some(view);
        }
    });
    if let Some(Ok(msg)) = popup_view().map(|m| app::message(&m)) {
        app::to_popups(&msg);
    }
    if let Some(Ok(msg)) = panel_view().map(|m| app::message(&m)) {
        app::to_panels(&msg);
    }
    if no_offer {
        app::with(|a| a.proposer = None);
    }
    push_content_states();
    if no_call {
        // No call any more (the owner was told above): the next one starts unowned.
        app::set_owner(None);
    }
}

/// The tenant's default region (its first allowed country, else the US), once started.
pub fn tenant_region() -> Option<mpt_core::phone::Region> {
    HOST.with(|h| h.borrow().as_ref().map(|h| h.engine.default_region()))
}

/// The signed-in agent's email, for the options page.
pub fn agent_email() -> Option<String> {
    HOST.with(|h| h.borrow().as_ref().and_then(|h| h.view.as_ref()?.agent.as_ref().map(|a| a.email.clone())))
}
