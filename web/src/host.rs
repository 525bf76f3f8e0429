//! The engine's web executor: one [`Engine`] per page, fed every input with the current
//! time; each effect is carried out with the page's APIs — `fetch` and `WebSocket`
//! (`net.rs`), the Voice SDK driver (`voice.rs`), `localStorage` through gloo-storage for
//! the persisted state (never a session: no token or refresh token is written), `setTimeout`
//! timers, the view into a Leptos signal for `mpt-ui`, and integrator events to the
//! page's listener (`../shared/CONTRACTS.md` §2).
//!
//! The model is the extension's service worker (`background/src/host.rs`); the difference
//! is where things go, never what the phone decides.

use std::cell::RefCell;
use std::collections::BTreeMap;

use gloo_storage::Storage;
use leptos::prelude::{RwSignal, Set};
use mpt_core::engine::{Effect, Engine, Input, PhoneCommand, PhoneEvent, PhoneView, StoredState, TimerId};
use mpt_core::PhoneErrorCode;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::{net, voice};

/// `localStorage` key of the engine's persisted state.
pub const STORE_KEY: &str = "mpt.web.engine";

/// A `dial()` waiting for the server to accept its call, or a first `setAuthToken`
/// waiting for the session to be ready.
struct Waiter {
    resolve: js_sys::Function,
    reject: js_sys::Function,
}

struct Host {
    engine: Engine,
    view: RwSignal<PhoneView>,
    timers: BTreeMap<TimerId, (u64, JsValue)>,
    dial: Option<Waiter>,
    auth: Option<Waiter>,
}

thread_local! {
    static HOST: RefCell<Option<Host>> = const { RefCell::new(None) };
    /// The page's event listener (may be set before the engine starts).
    static LISTENER: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(cb: &js_sys::Function, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &js_sys::Uint32Array);
}

fn now() -> u64 {
    js_sys::Date::now() as u64
}

fn random_seed() -> u64 {
    let buf = js_sys::Uint32Array::new_with_length(2);
    get_random_values(&buf);
    (u64::from(buf.get_index(0)) << 32) | u64::from(buf.get_index(1))
}

/// Whether the engine runs already (one phone per page).
pub fn started() -> bool {
    HOST.with(|h| h.borrow().is_some())
}

/// Starts the engine from what was stored; views go to `view`. `wrap_up`: whether answered
/// calls end in a wrap-up (the host's `features.callLogging`).
pub fn start(view: RwSignal<PhoneView>, wrap_up: bool) {
    let stored: Option<StoredState> = gloo_storage::LocalStorage::get(STORE_KEY).ok();
    let engine = if wrap_up { Engine::new(random_seed()) } else { Engine::new(random_seed()).without_wrap_up() };
    HOST.with(|h| {
        *h.borrow_mut() = Some(Host { engine, view, timers: BTreeMap::new(), dial: None, auth: None });
    });
    // A stored session is never used here: an embedded phone signs in from its host's token.
    feed(Input::Start {
        stored: stored.map(|mut s| {
            s.session = None;
            Box::new(s)
        }),
    });
}

/// Sets the page's event listener, called as `listener(name, detail)`.
pub fn listen(listener: js_sys::Function) {
    LISTENER.with(|l| *l.borrow_mut() = Some(listener));
}

/// Feeds one input and carries out the effects. Returns the errors it raised (the answer
/// to a command).
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
            Effect::Persist(state) => persist(*state),
            Effect::Voice(cmd) => voice::command(cmd),
            Effect::SetTimer { timer, at_ms } => set_timer(timer, at_ms),
            Effect::CancelTimer(timer) => cancel_timer(timer),
            Effect::View(v) => {
                let signal = HOST.with(|h| h.borrow().as_ref().map(|h| h.view));
                if let Some(s) = signal {
                    s.set(*v);
                }
            }
            Effect::Event(ev) => {
                if let PhoneEvent::Error { code, .. } = &ev {
                    errors.push(*code);
                }
                emit(&ev);
            }
        }
    }
    errors
}

/// Feeds one input (from the network, the SDK or a timer).
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

/// Runs `dial`; the promise settles when the server accepted the call (`{callId}`) or
/// the dial failed (`{code, message}`).
pub fn dial(cmd: PhoneCommand, resolve: js_sys::Function, reject: js_sys::Function) {
    let previous = HOST.with(|h| h.borrow_mut().as_mut().and_then(|h| h.dial.replace(Waiter { resolve, reject })));
    if let Some(p) = previous {
        let _ = p.reject.call1(&JsValue::NULL, &error_value(PhoneErrorCode::InCall));
    }
    if let Err(code) = command(cmd) {
        if let Some(w) = HOST.with(|h| h.borrow_mut().as_mut().and_then(|h| h.dial.take())) {
            let _ = w.reject.call1(&JsValue::NULL, &error_value(code));
        }
    }
}

/// Runs `setAuthToken`; signing in, the promise settles when the phone is ready (or the
/// token was refused); renewing, at once.
pub fn authenticate(cmd: PhoneCommand, resolve: js_sys::Function, reject: js_sys::Function) {
    let signed_in = HOST.with(|h| h.borrow().as_ref().is_some_and(|h| h.engine.view().agent.is_some()));
    if signed_in {
        let _ = match command(cmd) {
            Ok(()) => resolve.call0(&JsValue::NULL),
            Err(code) => reject.call1(&JsValue::NULL, &error_value(code)),
        };
        return;
    }
    let previous = HOST.with(|h| h.borrow_mut().as_mut().and_then(|h| h.auth.replace(Waiter { resolve, reject })));
    if let Some(p) = previous {
        let _ = p.reject.call1(&JsValue::NULL, &error_value(PhoneErrorCode::NotReady));
    }
    if let Err(code) = command(cmd) {
        if let Some(w) = HOST.with(|h| h.borrow_mut().as_mut().and_then(|h| h.auth.take())) {
            let _ = w.reject.call1(&JsValue::NULL, &error_value(code));
        }
    }
}

/// `{code, message}` for a rejected command.
pub fn error_value(code: PhoneErrorCode) -> JsValue {
    let o = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&o, &"code".into(), &code.as_str().into());
    let _ = js_sys::Reflect::set(&o, &"message".into(), &code.message().into());
    o.into()
}

fn emit(ev: &PhoneEvent) {
    // A dial waiting for its answer settles on the first call-started or error.
    let settle = match ev {
        PhoneEvent::CallStarted(c) => Some(Ok(c.call_id.clone())),
        PhoneEvent::Error { code, .. } => Some(Err(*code)),
        _ => None,
    };
    if let Some(result) = settle {
        if let Some(w) = HOST.with(|h| h.borrow_mut().as_mut().and_then(|h| h.dial.take())) {
            let _ = match result {
                Ok(call_id) => {
                    let o = js_sys::Object::new();
                    let _ = js_sys::Reflect::set(&o, &"callId".into(), &call_id.into());
                    w.resolve.call1(&JsValue::NULL, &o)
                }
                Err(code) => w.reject.call1(&JsValue::NULL, &error_value(code)),
            };
        }
    }
    let auth = match ev {
        PhoneEvent::Ready {} => Some(Ok(())),
        PhoneEvent::Error { code, .. } => Some(Err(*code)),
        _ => None,
    };
    if let Some(result) = auth {
        if let Some(w) = HOST.with(|h| h.borrow_mut().as_mut().and_then(|h| h.auth.take())) {
            let _ = match result {
                Ok(()) => w.resolve.call0(&JsValue::NULL),
                Err(code) => w.reject.call1(&JsValue::NULL, &error_value(code)),
            };
        }
    }
    let Some(listener) = LISTENER.with(|l| l.borrow().clone()) else { return };
    let Ok(v) = ev.serialize(&serde_wasm_bindgen::Serializer::json_compatible()) else { return };
    let name = js_sys::Reflect::get(&v, &"name".into()).unwrap_or(JsValue::UNDEFINED);
    let detail =
        js_sys::Reflect::get(&v, &"detail".into()).ok().filter(|d| !d.is_undefined()).unwrap_or_else(|| js_sys::Object::new().into());
    let _ = listener.call2(&JsValue::NULL, &name, &detail);
}

fn persist(mut state: StoredState) {
    // No credential in localStorage, whatever the engine kept.
    state.session = None;
    if let Err(e) = gloo_storage::LocalStorage::set(STORE_KEY, &state) {
        web_sys::console::warn_1(&format!("MPT Phone: storing state: {e}").into());
    }
}

fn set_timer(timer: TimerId, at_ms: u64) {
    cancel_timer(timer);
    let delay = at_ms.saturating_sub(now());
    let cb = Closure::once_into_js(move || fire(timer, at_ms));
    let handle = set_timeout(cb.unchecked_ref(), i32::try_from(delay).unwrap_or(i32::MAX));
    HOST.with(|h| {
        if let Some(h) = h.borrow_mut().as_mut() {
            h.timers.insert(timer, (at_ms, handle));
        }
    });
}

fn cancel_timer(timer: TimerId) {
    let old = HOST.with(|h| h.borrow_mut().as_mut().and_then(|h| h.timers.remove(&timer)));
    if let Some((_, handle)) = old {
        clear_timeout(&handle);
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
