//! The agent's settings: who is signed in, the tenant's region and countries, and the
//! audio devices this browser offers. Calls use the browser's default microphone and
//! speaker (choose them in the browser or the system); the list shows what the phone can
//! reach, with labels once microphone access was granted.

use leptos::prelude::*;
use mpt_core::api::ClientConfig;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::{error_line, load, Loaded};
use crate::api;
use crate::error::AppError;

/// `(kind, label)` of every audio device.
async fn audio_devices() -> Result<Vec<(String, String)>, AppError> {
    let w = web_sys::window().ok_or_else(|| AppError::Network("no window".into()))?;
    let media = w.navigator().media_devices()?;
    let list = JsFuture::from(media.enumerate_devices()?).await?;
    let arr: js_sys::Array = list.dyn_into()?;
    let mut out = Vec::new();
    for d in arr.iter() {
        let Ok(info) = d.dyn_into::<web_sys::MediaDeviceInfo>() else { continue };
        let kind = match info.kind() {
            web_sys::MediaDeviceKind::Audioinput => "Microphone",
            web_sys::MediaDeviceKind::Audiooutput => "Speaker",
            _ => continue,
        };
        let label = info.label();
        out.push((kind.to_string(), if label.is_empty() { "(name shown once the microphone is allowed)".into() } else { label }));
    }
    Ok(out)
}

#[component]
pub fn Settings() -> impl IntoView {
    let session = api::session();
    let config: Loaded<ClientConfig> = RwSignal::new(None);
    load(config, api::get::<ClientConfig>("/api/config"));
    let devices: Loaded<Vec<(String, String)>> = RwSignal::new(None);
    load(devices, audio_devices());
    view! {
        <h1>"Settings"</h1>
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
                <p class="muted">{format!("Numbers typed without a country code are read as {} numbers.", c.allowed_countries.first().cloned().unwrap_or_else(|| "US".into()))}</p>
            }.into_any(),
        })}
        <h2>"Audio devices"</h2>
        <p class="muted">"Calls use this browser's default microphone and speaker."</p>
        {move || devices.get().map(|r| match r {
            Err(e) => error_line(&e).into_any(),
            Ok(list) if list.is_empty() => view! { <p>"No microphone or speaker found."</p> }.into_any(),
            Ok(list) => view! {
                <ul class="list" data-testid="settings-devices">
                    {list.into_iter().map(|(kind, label)| view! { <li><span class="muted">{kind}</span><span>{label}</span></li> }).collect_view()}
                </ul>
            }.into_any(),
        })}
    }
}
