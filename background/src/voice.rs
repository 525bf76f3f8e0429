//! The Voice half of the executor: the engine's `VoiceCommand`s go to the offscreen
//! document (which runs the Twilio Voice SDK), its reports come back as `VoiceEvent`s.
//! Messages wait in a queue until the driver's port says `Ready`.

use std::cell::RefCell;

use mpt_core::engine::{Input, VoiceCommand, VoiceEvent};
use mpt_core::msg::{BackgroundToOffscreen, OffscreenToBackground, SdkCallEvent};

use crate::app::{self, PortKind};
use crate::{chrome, host};

/// Path of the offscreen document (relative to the extension root).
pub const OFFSCREEN_PATH: &str = "offscreen.html";

thread_local! {
    static STATE: RefCell<(bool, Vec<BackgroundToOffscreen>)> = const { RefCell::new((false, Vec::new())) };
}

fn to_offscreen_msg(cmd: VoiceCommand) -> Option<BackgroundToOffscreen> {
    Some(match cmd {
        VoiceCommand::Init { token } => BackgroundToOffscreen::Init { token },
        VoiceCommand::UpdateToken { token } => BackgroundToOffscreen::UpdateToken { token },
        VoiceCommand::Connect { params } => BackgroundToOffscreen::Connect { params },
        VoiceCommand::Disconnect | VoiceCommand::Reject => BackgroundToOffscreen::HangUp,
        VoiceCommand::Mute { muted } => BackgroundToOffscreen::SetMute { muted },
        VoiceCommand::SendDigits { digits } => BackgroundToOffscreen::SendDigits { digits },
        // Incoming calls in the offscreen driver come with "Calls that survive and ring";
        // until then there is no incoming call there to accept, and no device to destroy
        // beyond what closing the document does.
        VoiceCommand::Accept | VoiceCommand::Destroy => return None,
    })
}

/// Runs one engine command in the offscreen document.
pub fn command(cmd: VoiceCommand) {
    let Some(msg) = to_offscreen_msg(cmd) else {
        return;
    };
    let ready = STATE.with(|s| s.borrow().0);
    let port = app::with(|a| a.ports.iter().find(|(_, k, _)| *k == PortKind::Offscreen).map(|(_, _, p)| p.clone()));
    if let (true, Some(p)) = (ready, port) {
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
    let ev = match msg {
        OffscreenToBackground::Ready => {
            let queue = STATE.with(|s| {
                let mut s = s.borrow_mut();
                s.0 = true;
                std::mem::take(&mut s.1)
            });
            let port = app::with(|a| a.ports.iter().find(|(_, k, _)| *k == PortKind::Offscreen).map(|(_, _, p)| p.clone()));
            if let Some(p) = port {
                for m in queue {
                    if let Ok(v) = app::message(&m) {
                        let _ = p.post_message(&v);
                    }
                }
            }
            wasm_bindgen_futures::spawn_local(send_audio_devices());
            return;
        }
        OffscreenToBackground::DeviceState { state } => match state.as_str() {
            "registered" => VoiceEvent::Registered,
            "unregistered" | "destroyed" => VoiceEvent::Unregistered,
            _ => return,
        },
        OffscreenToBackground::TokenWillExpire => VoiceEvent::TokenWillExpire,
        OffscreenToBackground::CallEvent { event, call_sid } => match event {
            SdkCallEvent::Ringing => VoiceEvent::Ringing { call_sid },
            SdkCallEvent::Accept => VoiceEvent::Accept { call_sid },
            SdkCallEvent::Disconnect => VoiceEvent::Disconnect,
            SdkCallEvent::Cancel => VoiceEvent::Cancel,
            SdkCallEvent::Reject => VoiceEvent::Reject,
            SdkCallEvent::Reconnecting => VoiceEvent::Reconnecting,
            SdkCallEvent::Reconnected => VoiceEvent::Reconnected,
        },
        OffscreenToBackground::Warning { name } => VoiceEvent::Warning { name },
        OffscreenToBackground::WarningCleared { name } => VoiceEvent::WarningCleared { name },
        OffscreenToBackground::Muted { muted } => VoiceEvent::Muted { muted },
        OffscreenToBackground::Error { code, message } => VoiceEvent::Error { code, message },
    };
    host::input(Input::Voice(ev));
}

/// The offscreen port closed: a call running there is gone.
pub fn gone() {
    STATE.with(|s| s.borrow_mut().0 = false);
    host::input(Input::Voice(VoiceEvent::Error { code: None, message: "the offscreen document closed".into() }));
    host::input(Input::Voice(VoiceEvent::Disconnect));
}

/// `chrome.storage.sync` keys of the agent's microphone and speaker (options page).
pub const AUDIO_KEYS: [&str; 2] = ["audioInput", "audioOutput"];

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
    let msg = BackgroundToOffscreen::SetAudioDevices { input: read(AUDIO_KEYS[0]), output: read(AUDIO_KEYS[1]) };
    let port = app::with(|a| a.ports.iter().find(|(_, k, _)| *k == PortKind::Offscreen).map(|(_, _, p)| p.clone()));
    if let (Some(p), Ok(v)) = (port, app::message(&msg)) {
        let _ = p.post_message(&v);
    }
}
