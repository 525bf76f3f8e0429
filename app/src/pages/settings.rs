//! The agent's settings: who is signed in, the tenant's calling settings, the audio
//! devices calls use (microphone, speaker, ringtone) and the default region numbers
//! without a country code are read in. Devices and region are this browser's choices,
//! remembered in `localStorage` (`prefs.rs`): devices reach the Voice driver at once and
//! at every start; the region applies to the next number typed.

use leptos::prelude::*;
use mpt_core::api::ClientConfig;
use mpt_core::phone::Region;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::{error_line, load, status_line, Loaded};
use crate::api;
use crate::error::AppError;
use crate::phone;
use crate::prefs::{self, Audio};

/// One audio device the browser offers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Device {
    input: bool,
    id: String,
    label: String,
}

async fn audio_devices() -> Result<Vec<Device>, AppError> {
    let w = web_sys::window().ok_or_else(|| AppError::Network("no window".into()))?;
    let media = w.navigator().media_devices()?;
    let list = JsFuture::from(media.enumerate_devices()?).await?;
    let arr: js_sys::Array = list.dyn_into()?;
    let mut out = Vec::new();
    for d in arr.iter() {
        let Ok(info) = d.dyn_into::<web_sys::MediaDeviceInfo>() else { continue };
        let input = match info.kind() {
            web_sys::MediaDeviceKind::Audioinput => true,
            web_sys::MediaDeviceKind::Audiooutput => false,
            _ => continue,
        };
        out.push(Device { input, id: info.device_id(), label: info.label() });
    }
    Ok(out)
}

/// Asks for the microphone once (the browser names devices only after that), then lets
/// it go at once.
async fn allow_microphone() -> Result<(), AppError> {
    let w = web_sys::window().ok_or_else(|| AppError::Network("no window".into()))?;
    let constraints = web_sys::MediaStreamConstraints::new();
    constraints.set_audio(&true.into());
    let stream: web_sys::MediaStream =
        JsFuture::from(w.navigator().media_devices()?.get_user_media_with_constraints(&constraints)?).await?.dyn_into()?;
    for t in stream.get_tracks().iter() {
        if let Ok(t) = t.dyn_into::<web_sys::MediaStreamTrack>() {
            t.stop();
        }
    }
    Ok(())
}

#[component]
pub fn Settings() -> impl IntoView {
    let session = api::session();
    let config: Loaded<ClientConfig> = RwSignal::new(None);
    load(config, api::get::<ClientConfig>("/api/config"));
    // One live region for the page's saves.
    let status = RwSignal::new(None::<String>);
    view! {
        <h1>"Settings"</h1>
        {status_line(status)}
        {move || session.get().map(|a| view! {
            <dl class="facts">
                <dt>"Name"</dt><dd>{a.name}</dd>
                <dt>"Email"</dt><dd data-testid="settings-email">{a.email}</dd>
                <dt>"Role"</dt><dd>{format!("{:?}", a.role).to_lowercase()}</dd>
            </dl>
        })}
        <h2>"Calling"</h2>
        {move || config.get().map(|r| match r {
            Err(e) => error_line(&e).into_any(),
            Ok(c) => view! {
                <dl class="facts" data-testid="settings-calling">
                    <dt>"Tenant"</dt><dd>{c.tenant_name}{if c.sandbox { " (sandbox calling)" } else { "" }}</dd>
                    <dt>"Caller ID"</dt><dd>{c.caller_ids.first().cloned().unwrap_or_else(|| "–".into())}</dd>
                    <dt>"Countries you may call"</dt><dd>{if c.allowed_countries.is_empty() { "all".to_string() } else { c.allowed_countries.join(", ") }}</dd>
                </dl>
            }.into_any(),
        })}
        <RegionSettings config=config status=status/>
        <AudioSettings status=status/>
    }
}

/// The agent's default region: empty means the company's (its first allowed country).
#[component]
fn RegionSettings(config: Loaded<ClientConfig>, status: RwSignal<Option<String>>) -> impl IntoView {
    let ctx = phone::ctx();
    let draft = RwSignal::new(ctx.region.get_untracked().unwrap_or_default());
    let company = move || {
        config.with(|c| match c {
            Some(Ok(c)) => c.allowed_countries.first().cloned().unwrap_or_else(|| "US".into()),
            _ => "US".into(),
        })
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let v = draft.get_untracked().trim().to_ascii_uppercase();
        if v.is_empty() {
            prefs::set_region(None);
            ctx.region.set(None);
            status.set(Some(format!("Numbers without a country code are read as {} numbers (your company's default).", company())));
            return;
        }
        match Region::parse(&v) {
            Ok(r) => {
                prefs::set_region(Some(r.as_str()));
                ctx.region.set(Some(r.as_str().to_owned()));
                draft.set(r.as_str().to_owned());
                status.set(Some(format!("Numbers without a country code are read as {} numbers.", r.as_str())));
            }
            Err(_) => status.set(Some(format!("“{v}” is not a region MPT Phone knows: use a two-letter code like US, GB or DE."))),
        }
    };
    view! {
        <h2>"Default region"</h2>
        <form class="stack" on:submit=save>
            <label>"Numbers without a country code are read as numbers of"
                <input type="text" maxlength="2" size="3" autocomplete="off" spellcheck="false" data-testid="settings-region"
                    aria-describedby="region-hint" placeholder=company
                    prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))/>
            </label>
            <p class="muted" id="region-hint">{move || format!("Leave empty for your company's default ({}).", company())}</p>
            <button type="submit" data-testid="settings-region-save">"Save region"</button>
        </form>
    }
}

/// Microphone, speaker and ringtone: this browser's devices, remembered.
#[component]
fn AudioSettings(status: RwSignal<Option<String>>) -> impl IntoView {
    let devices: Loaded<Vec<Device>> = RwSignal::new(None);
    let reload = move || load(devices, audio_devices());
    reload();
    let chosen = RwSignal::new(prefs::audio());
    let named = move || devices.with(|d| matches!(d, Some(Ok(list)) if list.iter().any(|d| !d.label.is_empty() && !d.id.is_empty())));
    let allow = move |_| {
        wasm_bindgen_futures::spawn_local(async move {
            match allow_microphone().await {
                Ok(()) => reload(),
                Err(e) => status.set(Some(format!("The microphone was not allowed: {e}"))),
            }
        })
    };
    let choose = move |which: &'static str, id: String| {
        let mut a: Audio = chosen.get_untracked();
        let v = Some(id).filter(|v| !v.is_empty());
        match which {
            "input" => a.input = v,
            "output" => a.output = v,
            _ => a.ringtone = v,
        }
        prefs::set_audio(&a);
        chosen.set(a);
        status.set(Some("Saved: calls use these devices.".into()));
    };
    let select = move |which: &'static str, label: &'static str, input: bool| {
        let current = move || {
            chosen.with(|a| match which {
                "input" => a.input.clone(),
                "output" => a.output.clone(),
                _ => a.ringtone.clone(),
            })
        };
        view! {
            <label>{label}
                <select data-testid=format!("settings-audio-{which}") on:change=move |ev| choose(which, event_target_value(&ev))>
                    <option value="" selected=move || current().is_none()>"Browser default"</option>
                    {move || devices.with(|d| match d {
                        Some(Ok(list)) => list.iter().filter(|d| d.input == input && !d.id.is_empty() && d.id != "default").map(|d| {
                            let id = d.id.clone();
                            let label = if d.label.is_empty() { "Unnamed device".to_string() } else { d.label.clone() };
                            let selected = { let id = id.clone(); move || current().as_deref() == Some(id.as_str()) };
                            view! { <option value=id selected=selected>{label}</option> }
                        }).collect_view().into_any(),
                        _ => ().into_any(),
                    })}
                </select>
            </label>
        }
    };
    view! {
        <h2>"Audio devices"</h2>
        {move || devices.get().and_then(Result::err).map(|e| error_line(&e))}
        <Show when=move || !named()>
            <p class="muted">"The browser names your microphones and speakers once MPT Phone may use the microphone."</p>
            <button type="button" data-testid="settings-audio-allow" on:click=allow>"Allow the microphone"</button>
        </Show>
        <div class="stack" data-testid="settings-devices">
            {select("input", "Microphone", true)}
            {select("output", "Speaker (calls)", false)}
            {select("ringtone", "Ringtone (incoming calls)", false)}
        </div>
    }
}
