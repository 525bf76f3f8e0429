//! The start page: the phone is beside it (or above it at phone width); this page says
//! where things are and how many voicemails are new.

use leptos::prelude::*;
use leptos_router::components::A;

use super::{load, Loaded};
use crate::api;

#[component]
pub fn Home() -> impl IntoView {
    let session = api::session();
    let vms: Loaded<serde_json::Value> = RwSignal::new(None);
    load(vms, api::get::<serde_json::Value>("/api/voicemails?limit=200"));
    let new_count = move || {
        vms.with(|v| match v {
            Some(Ok(v)) => v["items"].as_array().map(|a| a.iter().filter(|i| i["heard_at"].is_null()).count()).unwrap_or(0),
            _ => 0,
        })
    };
    view! {
        <h1>"Hello, " {move || session.with(|s| s.as_ref().map(|a| a.name.clone()).unwrap_or_default())}</h1>
        <p>"Dial from the phone, or call back from your "<A href="/calls">"call history"</A>" and "
            <A href="/voicemail">"voicemail"</A>"."</p>
        <p data-testid="home-new-voicemails">{move || match new_count() {
            0 => "No new voicemail.".to_string(),
            1 => "1 new voicemail.".to_string(),
            n => format!("{n} new voicemails."),
        }}</p>
    }
}
