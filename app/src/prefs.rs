//! The agent's choices for this browser, in `localStorage`: the audio devices (microphone,
//! speaker, ringtone), the default region numbers are read in, and the organisation last
//! used for SSO. None of them is a credential (`CONTRACTS.md`: no session in storage).
//!
//! Audio devices reach the Voice driver (`voice/voice.js`, `mptVoice.setAudio`) when the
//! app starts and whenever they change; device ids are per origin, as the browser gives
//! them.

use gloo_storage::{LocalStorage, Storage};
use serde::{Deserialize, Serialize};

const AUDIO_KEY: &str = "mpt.app.audio";
const REGION_KEY: &str = "mpt.app.region";
const SSO_TENANT_KEY: &str = "mpt.app.ssoTenant";

/// The chosen audio devices (`None`: the browser's default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Audio {
    /// Microphone device id.
    pub input: Option<String>,
    /// Speaker device id (the call's audio).
    pub output: Option<String>,
    /// Where incoming calls ring (default: the speaker).
    pub ringtone: Option<String>,
}

/// What is stored under `key`; nothing (or what cannot be read) is `None`. Storage that
/// refuses a write (private mode, quota) keeps the choice for this page only.
fn get<T: for<'de> Deserialize<'de>>(key: &str) -> Option<T> {
    LocalStorage::get(key).ok()
}

fn set<T: Serialize>(key: &str, value: Option<&T>) {
    match value {
        Some(v) => {
            let _ = LocalStorage::set(key, v);
        }
        None => LocalStorage::delete(key),
    }
}

/// The remembered audio devices.
pub fn audio() -> Audio {
    get(AUDIO_KEY).unwrap_or_default()
}

/// Remembers `a` and gives it to the Voice driver.
pub fn set_audio(a: &Audio) {
    set(AUDIO_KEY, Some(a));
    apply_audio();
}

/// Gives the remembered devices to the Voice driver.
pub fn apply_audio() {
    let a = audio();
    mpt_web::voice::set_audio(a.input.as_deref(), a.output.as_deref(), a.ringtone.as_deref());
}

/// The agent's default region (two letters), if they chose one.
pub fn region() -> Option<String> {
    get::<String>(REGION_KEY).filter(|r| !r.is_empty())
}

/// Sets (or with `None`, clears) the agent's default region.
pub fn set_region(r: Option<&str>) {
    set(REGION_KEY, r.filter(|r| !r.is_empty()).as_ref());
}

/// The organisation last used for SSO.
pub fn sso_tenant() -> Option<String> {
    get::<String>(SSO_TENANT_KEY).filter(|t| !t.is_empty())
}

/// Remembers the organisation used for SSO.
pub fn set_sso_tenant(t: &str) {
    set(SSO_TENANT_KEY, Some(&t).filter(|t| !t.is_empty()));
}
