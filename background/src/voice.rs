//! The Voice half of the executor: the engine's `VoiceCommand`s go to the offscreen
//! document, whose driver (`voice/voice.js`) runs the Device (the Twilio Voice SDK's, or
//! the sandbox stand-in), and its `VoiceEvent`s come back. Both cross in the engine's own
//! shapes, so nothing here knows the SDK.
//!
//! The offscreen document outlives the worker: when the worker is stopped mid-call the
//! call goes on there, the document connects its port again (starting a new worker), and
//! its `Ready` says where the Device stands. Commands wait in a queue until `Ready`.

use std::cell::RefCell;

use mpt_core::engine::{Input, VoiceCommand, VoiceEvent};
use mpt_core::msg::{BackgroundToOffscreen, DriverState, OffscreenToBackground};

use crate::app::{self, PortKind};
use crate::{chrome, host};

/// Path of the offscreen document (relative to the extension root).
pub const OFFSCREEN_PATH: &str = "offscreen.html";

thread_local! {
    static STATE: RefCell<(bool, Vec<BackgroundToOffscreen>)> = const { RefCell::new((false, Vec::new())) };
}

fn offscreen_port() -> Option<chrome::Port> {
    app::with(|a| a.ports.iter().find(|(_, k, _)| *k == PortKind::Offscreen).map(|(_, _, p)| p.clone()))
}

/// Runs one engine command in the offscreen document.
pub fn command(mut cmd: VoiceCommand) {
    // The sandbox Device signals to our server: its path becomes a `ws(s)://` URL here.
    if let VoiceCommand::Init { signal: Some(path), .. } = &mut cmd {
        *path = crate::net::ws_url(&app::with(|a| a.server_url.clone()), path);
    }
    let msg = BackgroundToOffscreen::Voice { command: cmd };
    let ready = STATE.with(|s| s.borrow().0);
    if let (true, Some(p)) = (ready, offscreen_port()) {
        if let Ok(v) = app::message(&msg) {
            if p.post_message(&v).is_ok() {
                return;
            }
        }
    }
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.0 = false;
        s.1.push(msg);
    });
    wasm_bindgen_futures::spawn_local(async {
        if let Err(e) = chrome::ensure_offscreen(OFFSCREEN_PATH).await {
            web_sys::console::warn_1(&format!("MPT Phone: offscreen document: {e}").into());
        }
    });
}

/// The offscreen port (re)connected: nothing is delivered until it says `Ready`.
pub fn connected() {
    STATE.with(|s| s.borrow_mut().0 = false);
}

/// A report from the offscreen driver.
pub fn on_message(msg: OffscreenToBackground) {
    match msg {
        OffscreenToBackground::Ready { state } => ready(state),
        OffscreenToBackground::Voice { event } => host::input(Input::Voice(event)),
    }
}

fn ready(state: DriverState) {
    let queue = STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.0 = true;
        std::mem::take(&mut s.1)
    });
    if let Some(p) = offscreen_port() {
        for m in queue {
            if let Ok(v) = app::message(&m) {
                let _ = p.post_message(&v);
            }
        }
    }
    wasm_bindgen_futures::spawn_local(send_audio_devices());
    // A worker that restarted believes what it stored; the document knows.
    let call = state.call_sid.is_some() || state.incoming_sid.is_some();
    host::input(Input::Voice(VoiceEvent::State { registered: state.registered, call }));
}

/// The offscreen port closed while this worker runs: the document is gone, and a call
/// running there with it.
pub fn gone() {
    STATE.with(|s| s.borrow_mut().0 = false);
    host::input(Input::Voice(VoiceEvent::Error { code: None, message: "the offscreen document closed".into() }));
    host::input(Input::Voice(VoiceEvent::Disconnect));
    host::input(Input::Voice(VoiceEvent::Unregistered));
}

/// `chrome.storage.sync` keys of the agent's microphone, speaker and ringtone device
/// (options page).
pub const AUDIO_KEYS: [&str; 3] = ["audioInput", "audioOutput", "audioRingtone"];

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "sync"], js_name = get, catch)]
    fn sync_get(keys: &wasm_bindgen::JsValue) -> Result<js_sys::Promise, wasm_bindgen::JsValue>;
}

/// Tells a ready offscreen driver the agent's audio devices (at its start, and when the
/// options page changes them).
pub async fn send_audio_devices() {
    if !STATE.with(|s| s.borrow().0) {
        return; // sent when the driver says Ready
    }
    let keys: js_sys::Array = AUDIO_KEYS.iter().map(|k| wasm_bindgen::JsValue::from_str(k)).collect();
    let Ok(p) = sync_get(&keys) else { return };
    let Ok(got) = wasm_bindgen_futures::JsFuture::from(p).await else { return };
    let read = |k: &str| js_sys::Reflect::get(&got, &k.into()).ok().and_then(|v| v.as_string()).filter(|v| !v.is_empty());
    let msg =
        BackgroundToOffscreen::SetAudioDevices { input: read(AUDIO_KEYS[0]), output: read(AUDIO_KEYS[1]), ringtone: read(AUDIO_KEYS[2]) };
    if let (Some(p), Ok(v)) = (offscreen_port(), app::message(&msg)) {
        let _ = p.post_message(&v);
    }
}
