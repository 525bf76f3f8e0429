//! The agent's choices for this browser, in `localStorage`: the audio devices (microphone,
//! speaker, ringtone), the default region numbers are read in, and the organisation last
//! used for SSO. None of them is a credential (`CONTRACTS.md`: no session in storage).
//!
//! Audio devices reach the Voice driver (`voice/voice.js`, `mptVoice.setAudio`) when the
//! app starts and whenever they change; device ids are per origin, as the browser gives
//! them.

use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};

const AUDIO_KEY: &str = "mpt.app.audio";
const REGION_KEY: &str = "mpt.app.region";
const SSO_TENANT_KEY: &str = "mpt.app.ssoTenant";

/// The chosen audio devices (`None`: the browser's default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audio {
    /// Microphone device id.
    #[serde(default)]
    pub input: Option<String>,
    /// Speaker device id (the call's audio).
    #[serde(default)]
    pub output: Option<String>,
    /// Where incoming calls ring (default: the speaker).
    #[serde(default)]
    pub ringtone: Option<String>,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

fn get(key: &str) -> Option<String> {
    storage().and_then(|s| s.get_item(key).ok().flatten()).filter(|v| !v.is_empty())
}

fn set(key: &str, value: Option<&str>) {
    if let Some(s) = storage() {
        let _ = match value {
            Some(v) if !v.is_empty() => s.set_item(key, v),
            _ => s.remove_item(key),
        };
    }
}

/// The remembered audio devices.
pub fn audio() -> Audio {
    get(AUDIO_KEY).and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default()
}

/// Remembers `a` and gives it to the Voice driver.
pub fn set_audio(a: &Audio) {
    set(AUDIO_KEY, serde_json::to_string(a).ok().as_deref());
    apply_audio();
}

/// Gives the remembered devices to the Voice driver (`globalThis.mptVoice.setAudio`).
pub fn apply_audio() {
    let a = audio();
    let global = js_sys::global();
    let Ok(driver) = js_sys::Reflect::get(&global, &"mptVoice".into()) else { return };
    let Ok(f) = js_sys::Reflect::get(&driver, &"setAudio".into()) else { return };
    let Ok(f) = f.dyn_into::<js_sys::Function>() else { return };
    let o = js_sys::Object::new();
    for (k, v) in [("input", &a.input), ("output", &a.output), ("ringtone", &a.ringtone)] {
        let _ = js_sys::Reflect::set(&o, &k.into(), &v.as_deref().map(JsValue::from_str).unwrap_or(JsValue::NULL));
    }
    if let Err(e) = f.call1(&driver, &o) {
        web_sys::console::warn_2(&"MPT Phone: audio devices:".into(), &e);
    }
}

/// The agent's default region (two letters), if they chose one.
pub fn region() -> Option<String> {
    get(REGION_KEY)
}

/// Sets (or with `None`, clears) the agent's default region.
pub fn set_region(r: Option<&str>) {
    set(REGION_KEY, r);
}

/// The organisation last used for SSO.
pub fn sso_tenant() -> Option<String> {
    get(SSO_TENANT_KEY)
}

/// Remembers the organisation used for SSO.
pub fn set_sso_tenant(t: &str) {
    set(SSO_TENANT_KEY, Some(t));
}
