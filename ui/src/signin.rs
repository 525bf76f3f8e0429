//! Email and password; the password is sent once and never kept.

use leptos::prelude::*;
use mpt_core::engine::PhoneCommand;

use crate::ctx;

#[component]
pub(crate) fn SignIn(server_url: Option<String>) -> impl IntoView {
    let ctx = ctx();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let busy = move || ctx.view.with(|v| v.signing_in);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        ctx.port.send(PhoneCommand::SignIn { email: email.get(), password: password.get(), tenant: None });
        password.set(String::new());
    };
    view! {
        <form class="card signin" data-testid="sign-in-form" on:submit=submit>
            <h2>"Sign in"</h2>
            <label>"Email"
                <input type="email" autocomplete="username" required data-testid="sign-in-email"
                    prop:value=move || email.get()
                    on:input=move |ev| email.set(event_target_value(&ev))/>
            </label>
            <label>"Password"
                <input type="password" autocomplete="current-password" required data-testid="sign-in-password"
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev))/>
            </label>
            <button type="submit" class="primary" data-testid="sign-in-submit" prop:disabled=busy>
                {move || if busy() { "Signing in…" } else { "Sign in" }}
            </button>
            {server_url.map(|u| view! {
                <p class="muted small">"Server: " <span data-testid="server-url">{u}</span></p>
            })}
        </form>
    }
}
