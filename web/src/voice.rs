//! The Voice half: the engine's `VoiceCommand`s go to the page's Voice driver
//! (`voice/voice.js`, shared with the extension's offscreen document: the vendored Twilio
//! Voice SDK, or the sandbox Device stand-in), its reports come back as `VoiceEvent`s. Both cross as the engine's own serde shapes, so the driver holds no
//! call logic: it only calls the SDK and relays what the SDK says.

use mpt_core::engine::{Input, VoiceCommand, VoiceEvent};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::host;

#[wasm_bindgen]
extern "C" {
    /// `globalThis.mptVoice`, defined by `voice.js` when the SDK is loaded.
    #[wasm_bindgen(thread_local_v2, js_name = mptVoice)]
    static DRIVER: JsValue;
}

/// Runs one engine command on the SDK driver; without one (the SDK could not load), the
/// engine hears an SDK error and the call fails with its usual error.
pub fn command(mut cmd: VoiceCommand) {
    // The sandbox Device signals to our server: its path becomes a `ws(s)://` URL here.
    if let VoiceCommand::Init { signal: Some(path), .. } = &mut cmd {
        *path = crate::net::ws_url(&crate::net::api(), path);
    }
    let driver = DRIVER.with(JsValue::clone);
    let send = js_sys::Reflect::get(&driver, &"command".into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let msg = cmd.serialize(&serde_wasm_bindgen::Serializer::json_compatible());
    match (send, msg) {
        (Some(f), Ok(m)) => {
            if let Err(e) = f.call1(&driver, &m) {
                report_error(&crate::error::WebError::from(e).to_string());
            }
        }
        _ => report_error("the Twilio Voice SDK is not loaded"),
    }
}

/// Gives the driver the agent's audio devices (`mptVoice.setAudio({input, output,
/// ringtone})`; `None` is the browser's default). Without a driver there is nothing to set:
/// the devices are given again when the app starts.
pub fn set_audio(input: Option<&str>, output: Option<&str>, ringtone: Option<&str>) {
    let driver = DRIVER.with(JsValue::clone);
    let Some(f) = js_sys::Reflect::get(&driver, &"setAudio".into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok()) else {
        return;
    };
    let o = js_sys::Object::new();
    for (k, v) in [("input", input), ("output", output), ("ringtone", ringtone)] {
        let _ = js_sys::Reflect::set(&o, &k.into(), &v.map(JsValue::from_str).unwrap_or(JsValue::NULL));
    }
    if let Err(e) = f.call1(&driver, &o) {
        web_sys::console::warn_2(&"MPT Phone: audio devices:".into(), &e);
    }
}

fn report_error(message: &str) {
    let message = message.to_owned();
    wasm_bindgen_futures::spawn_local(async move { host::input(Input::Voice(VoiceEvent::Error { code: None, message })) });
}

/// A report from the driver (a `VoiceEvent` as JSON-compatible object).
#[wasm_bindgen(js_name = voiceEvent)]
pub fn voice_event(ev: JsValue) {
    match serde_wasm_bindgen::from_value::<VoiceEvent>(ev) {
        Ok(ev) => host::input(Input::Voice(ev)),
        Err(e) => web_sys::console::warn_1(&format!("MPT Phone: unknown Voice event: {e}").into()),
    }
}
