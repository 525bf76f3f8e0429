//! The agent's settings: who is signed in, and the audio devices the browser offers
//! (the phone uses the system defaults; the extension's options page chooses devices).

use leptos::prelude::*;

use crate::api;

#[component]
pub fn Settings() -> impl IntoView {
    let session = api::session();
    view! {
        <h1>"Settings"</h1>
        {move || session.get().map(|a| view! {
            <dl class="facts">
                <dt>"Name"</dt><dd>{a.name}</dd>
                <dt>"Email"</dt><dd data-testid="settings-email">{a.email}</dd>
                <dt>"Role"</dt><dd>{format!("{:?}", a.role).to_lowercase()}</dd>
            </dl>
        })}
        <p class="muted">"Calls use this browser's default microphone and speaker. The default region for numbers typed without a country code is the tenant's."</p>
    }
}
