//! The dialer: as-you-type formatting in the tenant's default region, paste
//! normalisation, keypad, Enter calls; the call button says why it is disabled.

use leptos::prelude::*;
use mpt_core::engine::dialer::{self, DialCheck};
use mpt_core::engine::{DialContact, PhoneCommand};
use mpt_core::phone::Region;

use crate::ctx;

pub(crate) const KEYS: [&str; 12] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

/// `data-testid` suffix of a key.
pub(crate) fn key_id(k: &str) -> &str {
    match k {
        "*" => "star",
        "#" => "hash",
        d => d,
    }
}

#[component]
pub(crate) fn Dialer() -> impl IntoView {
    let ctx = ctx();
    let draft = ctx.draft;
    let region = Memo::new(move |_| ctx.view.with(|v| Region::parse(&v.default_region).unwrap_or(Region::US)));
    let check = Memo::new(move |_| {
        let (signed_in, busy) = ctx.view.with(|v| (v.agent.is_some(), v.call.as_ref().is_some_and(|c| c.phase.is_live())));
        dialer::check(&draft.get(), region.get(), signed_in, busy)
    });
    let ready = move || matches!(check.get(), DialCheck::Ready(_));
    let call = move || {
        if let DialCheck::Ready(number) = check.get_untracked() {
            draft.set(String::new());
            ctx.port.send(PhoneCommand::Dial { number, contact: None::<DialContact> });
        }
    };
    let press = move |k: &'static str| {
        let now = draft.get_untracked();
        draft.set(dialer::reformat(&now, &format!("{now}{k}"), region.get_untracked()));
    };
    view! {
        <section class="card dialer" data-testid="dialer" aria-label="Dialer">
            <div class="field">
                <input type="tel" inputmode="tel" autocomplete="off" spellcheck="false" autofocus
                    placeholder="Number to call" aria-label="Number to call" data-testid="dial-input"
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(dialer::reformat(&draft.get_untracked(), &event_target_value(&ev), region.get_untracked()))
                    on:paste=move |ev: leptos::ev::ClipboardEvent| {
                        let text = ev.clipboard_data().and_then(|d| d.get_data("text").ok()).unwrap_or_default();
                        if !text.is_empty() {
                            ev.prevent_default();
                            draft.set(dialer::paste(&text, region.get_untracked()));
                        }
                    }
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Enter" {
                            ev.prevent_default();
                            call();
                        }
                    }/>
                <button type="button" class="clear" aria-label="Clear" data-testid="dial-clear"
                    prop:hidden=move || draft.with(String::is_empty)
                    on:click=move |_| draft.set(String::new())>"×"</button>
            </div>
            <div class="keypad" role="group" aria-label="Keypad" data-testid="dial-keypad">
                {KEYS.iter().map(|&k| view! {
                    <button type="button" tabindex="-1" data-testid=format!("dial-key-{}", key_id(k))
                        on:click=move |_| press(k)>{k}</button>
                }).collect_view()}
            </div>
            <button type="button" class="primary call" data-testid="dial-call"
                prop:disabled=move || !ready()
                on:click=move |_| call()>"Call"</button>
            <p class="muted small reason" data-testid="dial-reason" aria-live="polite">
                {move || match check.get() {
                    DialCheck::Ready(n) => format!("Ready to call {}", mpt_core::engine::view::display_number(&n, region.get())),
                    DialCheck::Blocked(why) => why,
                }}
            </p>
        </section>
    }
}
