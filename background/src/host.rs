//! The engine's Chrome executor: one [`Engine`] per service-worker lifetime, fed every
//! input with the current time; each effect it returns is carried out here with Chrome's
//! APIs (fetch and WebSocket in `net.rs`, the offscreen Voice SDK in `voice.rs`,
//! `chrome.storage.local` for the persisted state, timers with a `chrome.alarms` wake-up
//! for long ones, views to the popup ports and the content tabs).

use std::cell::RefCell;
use std::collections::BTreeMap;

use mpt_core::engine::view::CallPanel;
use mpt_core::engine::{Effect, EndReason, Engine, Input, Phase, PhoneCommand, PhoneEvent, PhoneView, StoredState, TimerId};
use mpt_core::msg::{self, BackgroundToContent, BackgroundToPopup, CallPhase, CallView};
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
    content: Option<BackgroundToContent>,
    timers: BTreeMap<TimerId, (u64, JsValue)>,
}

thread_local! {
    static HOST: RefCell<Option<Host>> = const { RefCell::new(None) };
}

fn now() -> u64 {
    chrome::now_ms() as u64
}

/// Starts the engine from what was stored.
pub async fn start() {
    let stored: Option<StoredState> =
        chrome::local_read(STORE_KEY).await.ok().and_then(|v| v.as_string()).and_then(|s| serde_json::from_str(&s).ok());
    HOST.with(|h| {
        *h.borrow_mut() = Some(Host { engine: Engine::new(chrome::random_seed()), view: None, content: None, timers: BTreeMap::new() });
    });
    feed(Input::Start { stored: stored.map(Box::new) });
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
            Effect::Event(PhoneEvent::Error { code, .. }) => errors.push(code),
            Effect::Event(_) => {}
        }
    }
    errors
}

/// Feeds one input (from the network, the offscreen document or a timer).
pub fn input(i: Input) {
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
    HOST.with(|h| h.borrow().as_ref().and_then(|h| h.view.clone())).map(|v| BackgroundToPopup::View { view: Box::new(v), server_url })
}

/// What content scripts are told about the call.
pub fn content_state() -> BackgroundToContent {
    HOST.with(|h| h.borrow().as_ref().and_then(|h| h.content.clone()))
        .unwrap_or(BackgroundToContent::CallState { call: None, signed_in: false })
}

/// The same, with the call left out: what every page but the call's owner is told.
pub fn content_state_without_call() -> BackgroundToContent {
    match content_state() {
        BackgroundToContent::CallState { signed_in, .. } => BackgroundToContent::CallState { call: None, signed_in },
        other => other,
    }
}

/// Whether a call is in progress (not yet ended).
pub fn live_call() -> bool {
    matches!(
        content_state(),
        BackgroundToContent::CallState { call: Some(c), .. } if c.phase != CallPhase::Ended
    )
}

fn show(view: PhoneView) {
    // An incoming call belongs to no page (answered from extension pages).
    if view.call.as_ref().is_some_and(|c| c.phase == Phase::Incoming) {
        app::with(|a| a.call_owner = None);
    }
    let content = BackgroundToContent::CallState { call: view.call.as_ref().map(overlay_call), signed_in: view.agent.is_some() };
    let content_changed = HOST.with(|h| {
        let mut h = h.borrow_mut();
        let Some(h) = h.as_mut() else { return false };
        h.view = Some(view);
        let changed = h.content.as_ref() != Some(&content);
        h.content = Some(content.clone());
        changed
    });
    if let Some(Ok(msg)) = popup_view().map(|m| app::message(&m)) {
        app::to_popups(&msg);
    }
    if content_changed {
        if let Ok(msg) = app::message(&content) {
            app::to_call_owner(&msg);
        }
    }
    if matches!(&content, BackgroundToContent::CallState { call: None, .. }) {
        // No call any more (the owner was told above): the next one starts unowned.
        app::with(|a| a.call_owner = None);
    }
}

/// The `<mpt-phone>` overlay's view of a call (its attributes predate the engine).
fn overlay_call(c: &CallPanel) -> CallView {
    let phase = match c.phase {
        Phase::Placing => CallPhase::Dialing,
        Phase::Incoming | Phase::Ringing => CallPhase::Ringing,
        Phase::InCall => CallPhase::InCall,
        Phase::WrapUp | Phase::Ended => CallPhase::Ended,
    };
    let end_reason = c.end_reason.map(|r| match r {
        EndReason::Completed => msg::EndReason::Completed,
        EndReason::Busy => msg::EndReason::Busy,
        EndReason::NoAnswer | EndReason::Missed => msg::EndReason::NoAnswer,
        EndReason::Failed => msg::EndReason::Failed,
        EndReason::Canceled | EndReason::Declined => msg::EndReason::Canceled,
    });
    CallView {
        call_id: c.call_id.clone(),
        number: c.number.clone(),
        contact_id: c.contact_id.clone(),
        contact_name: c.contact_name.clone(),
        phase,
        muted: c.muted,
        answered_at_ms: c.answered_at_ms.map(|a| a as f64),
        end_reason,
        label: c.label.clone(),
        number_display: c.number_display.clone(),
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
