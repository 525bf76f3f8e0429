//! The call: the panel while it is live (number, contact, state and timer, mute,
//! keypad for DTMF, hang up, SDK warnings), the incoming view, and the wrap-up.

use leptos::prelude::*;
use mpt_core::engine::view::CallPanel as Panel;
use mpt_core::engine::PhoneCommand;

use crate::ctx;
use crate::dialer::{key_id, KEYS};

fn call() -> impl Fn() -> Option<Panel> + Copy {
    let v = ctx().view;
    move || v.with(|v| v.call.clone())
}

/// Who is on the other end: contact name and company over the number.
#[component]
fn Party() -> impl IntoView {
    let call = call();
    view! {
        <div class="party">
            {move || call().and_then(|c| c.contact_name).map(|n| view! {
                <div class="contact" data-testid="call-contact">{n}</div>
            })}
            {move || call().and_then(|c| c.contact_company).map(|n| view! {
                <div class="company muted small" data-testid="call-company">{n}</div>
            })}
            <div class="number" data-testid="call-number">{move || call().map(|c| c.number_display).unwrap_or_default()}</div>
        </div>
    }
}

#[component]
pub(crate) fn CallPanel() -> impl IntoView {
    let ctx = ctx();
    let call = call();
    let can = move |f: fn(&Panel) -> bool| call().is_some_and(|c| f(&c));
    let muted = move || call().is_some_and(|c| c.muted);
    let keypad = RwSignal::new(false);
    let digits = move |d: &str| ctx.port.send(PhoneCommand::SendDigits { digits: d.to_owned() });
    view! {
        <section class="card call-panel" data-testid="call-panel" aria-label="Current call"
            data-call-id=move || call().map(|c| c.call_id).unwrap_or_default()
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                let k = ev.key();
                if k == "Escape" && keypad.get_untracked() {
                    ev.prevent_default();
                    keypad.set(false);
                } else if keypad.get_untracked() && can(|c| c.can_send_digits) && KEYS.contains(&k.as_str()) {
                    digits(&k);
                }
            }>
            <div class="row">
                <span class="state" data-testid="call-state" aria-live="polite">{move || call().map(|c| c.label).unwrap_or_default()}</span>
                <span class="timer" data-testid="call-timer">{move || call().and_then(|c| c.timer)}</span>
            </div>
            <Party/>
            {move || call().and_then(|c| c.warning).map(|w| view! {
                <p class="warn small" role="status" data-testid="call-warning">{w}</p>
            })}
            <Show when=move || can(|c| c.reconnecting)>
                <p class="warn small" role="status" data-testid="call-reconnecting">"Reconnecting…"</p>
            </Show>
            <div class="row actions">
                <button type="button" data-testid="call-mute" prop:disabled=move || !can(|c| c.can_mute)
                    aria-pressed=move || muted().to_string()
                    on:click=move |_| ctx.port.send(PhoneCommand::Mute { muted: !muted() })>
                    {move || if muted() { "Unmute" } else { "Mute" }}
                </button>
                <button type="button" data-testid="call-keypad-toggle" prop:disabled=move || !can(|c| c.can_send_digits)
                    aria-expanded=move || keypad.get().to_string()
                    on:click=move |_| keypad.update(|k| *k = !*k)>"Keypad"</button>
                <button type="button" class="danger" data-testid="call-hangup" prop:disabled=move || !can(|c| c.can_hang_up)
                    on:click=move |_| ctx.port.send(PhoneCommand::HangUp)>"Hang up"</button>
            </div>
            <Show when=move || keypad.get() && can(|c| c.can_send_digits)>
                <div class="keypad" role="group" aria-label="Send tones" data-testid="call-keypad">
                    {KEYS.iter().map(|&k| view! {
                        <button type="button" data-testid=format!("call-key-{}", key_id(k))
                            on:click=move |_| digits(k)>{k}</button>
                    }).collect_view()}
                </div>
                <p class="muted small" data-testid="call-digits">{move || call().map(|c| c.digits).unwrap_or_default()}</p>
            </Show>
        </section>
    }
}

#[component]
pub(crate) fn Incoming() -> impl IntoView {
    let ctx = ctx();
    let call = call();
    view! {
        <section class="card incoming" data-testid="incoming" role="alertdialog" aria-label="Incoming call">
            <span class="state" data-testid="call-state" aria-live="assertive">{move || call().map(|c| c.label).unwrap_or_default()}</span>
            <Party/>
            <div class="row actions">
                <button type="button" class="primary" data-testid="call-answer" autofocus
                    on:click=move |_| ctx.port.send(PhoneCommand::Answer)>"Answer"</button>
                <button type="button" class="danger" data-testid="call-decline"
                    on:click=move |_| ctx.port.send(PhoneCommand::Decline)>"Decline"</button>
            </div>
        </section>
    }
}

#[component]
pub(crate) fn WrapUp() -> impl IntoView {
    let ctx = ctx();
    let call = call();
    let notes = RwSignal::new(String::new());
    let disposition = RwSignal::new(String::new());
    // Read once: the wrap-up is rebuilt only when the call's phase changes.
    let dispositions = ctx.view.with_untracked(|v| v.dispositions.clone());
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let d = disposition.get_untracked();
        ctx.port.send(PhoneCommand::SaveWrapUp { notes: notes.get_untracked(), disposition: (!d.is_empty()).then_some(d) });
    };
    view! {
        <form class="card wrap-up" data-testid="wrap-up" aria-label="Wrap-up" on:submit=save
            data-call-id=move || call().map(|c| c.call_id).unwrap_or_default()>
            <div class="row">
                <span class="state" data-testid="wrap-up-state" aria-live="polite">{move || call().map(|c| c.label).unwrap_or_default()}</span>
                <span class="timer">{move || call().and_then(|c| c.timer)}</span>
            </div>
            <Party/>
            <label>"Notes"
                <textarea rows="3" maxlength="10000" data-testid="wrap-up-notes" autofocus
                    prop:value=move || notes.get()
                    on:input=move |ev| notes.set(event_target_value(&ev))></textarea>
            </label>
            <label>"Disposition"
                <select data-testid="wrap-up-disposition" on:change=move |ev| disposition.set(event_target_value(&ev))>
                    <option value="">"—"</option>
                    {dispositions.into_iter().map(|d| view! {
                        <option value=d.clone()>{d.replace('-', " ")}</option>
                    }).collect_view()}
                </select>
            </label>
            <div class="row actions">
                <button type="submit" class="primary" data-testid="wrap-up-save">"Save"</button>
                <button type="button" data-testid="wrap-up-skip"
                    on:click=move |_| ctx.port.send(PhoneCommand::SkipWrapUp)>"Skip"</button>
            </div>
        </form>
    }
}
