//! Title, sandbox label, the agent, presence, sign-out, server reachability.

use leptos::prelude::*;
use mpt_core::api::Presence;
use mpt_core::engine::{Link, PhoneCommand};

use crate::ctx;

fn presence_label(p: Presence) -> &'static str {
    match p {
        Presence::Available => "Available",
        Presence::Busy => "On a call",
        Presence::Away => "Away",
        Presence::Offline => "Offline",
    }
}

#[component]
pub(crate) fn Header() -> impl IntoView {
    let ctx = ctx();
    let v = ctx.view;
    let signed_in = move || v.with(|v| v.agent.is_some());
    let sandbox = move || v.with(|v| v.sandbox);
    let presence = move || v.with(|v| v.presence);
    let chosen = move || v.with(|v| v.chosen_presence);
    let unreachable = move || v.with(|v| v.agent.is_some() && v.link == Link::Unreachable);
    view! {
        <header class="bar">
            <h1>"MPT Phone"</h1>
            <Show when=sandbox>
                <span class="sandbox" data-testid="sandbox-label" title="Calls are simulated: nobody is dialled">"Sandbox mode"</span>
            </Show>
            // Built when the agent signs in, not on every view update (the select keeps its state).
            <Show when=signed_in>
                <span class="account">
                    <span class="presence-dot" data-presence=move || presence_label(presence()).to_lowercase()
                        title=move || presence_label(presence()) data-testid="presence-state"></span>
                    <span data-testid="account-email">{v.with_untracked(|v| v.agent.as_ref().map(|a| a.email.clone()))}</span>
                    <select aria-label="Presence" data-testid="presence-select"
                        on:change=move |ev| {
                            let presence = if event_target_value(&ev) == "available" { Presence::Available } else { Presence::Away };
                            ctx.port.send(PhoneCommand::SetPresence { presence });
                        }>
                        <option value="available" selected=move || chosen() == Presence::Available>"Available"</option>
                        <option value="away" selected=move || chosen() != Presence::Available>"Away"</option>
                    </select>
                    <button type="button" class="link" data-testid="sign-out"
                        on:click=move |_| ctx.port.send(PhoneCommand::SignOut)>"Sign out"</button>
                </span>
            </Show>
        </header>
        <Show when=unreachable>
            <p class="warn" role="status" data-testid="link-state">"Server unreachable — retrying…"</p>
        </Show>
    }
}
