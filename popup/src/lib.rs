//! mpt-popup (wasm32): the toolbar popup, a Leptos CSR app.
//!
//! Components live here; [`start`] only mounts [`App`]. All state comes from the
//! service worker as [`PopupStatus`] snapshots (one request on open, then pushes
//! over a port); the popup keeps only its own small prefs (the dialer draft) in
//! `localStorage` via gloo-storage. Every control has a `data-testid`.
#![deny(clippy::unwrap_used)]

pub mod bridge;
pub mod dial;
pub mod error;

use std::time::Duration;

use gloo_storage::{LocalStorage, Storage};
use leptos::prelude::*;
use leptos::task::spawn_local;
use mpt_core::msg::{CallPhase, EndReason, PopupStatus, PopupToBackground, ServerLink};
use wasm_bindgen::prelude::*;

use dial::DialCheck;

/// `localStorage` key of the dialer's draft.
const DRAFT_KEY: &str = "mpt.dialer.draft";
const KEYS: [&str; 12] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

/// Mounts the popup.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

/// Shared popup state: the worker's snapshot, the last error, a busy flag, a clock.
#[derive(Clone, Copy)]
struct Ctx {
    status: RwSignal<Option<PopupStatus>>,
    error: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
    now_ms: RwSignal<f64>,
    /// The dialer's text (persisted as the draft).
    draft: RwSignal<String>,
}

impl Ctx {
    /// Sends a request; the answer replaces the snapshot, a refusal shows as the error.
    fn send(self, msg: PopupToBackground) {
        self.busy.set(true);
        spawn_local(async move {
            match bridge::request(&msg).await {
                Ok(s) => {
                    self.error.set(None);
                    self.status.set(Some(s));
                }
                Err(e) => self.error.set(Some(e.to_string())),
            }
            self.busy.set(false);
        });
    }

    /// Replaces the dialer's text and saves it as the draft.
    fn set_draft(self, text: String) {
        if text.is_empty() {
            LocalStorage::delete(DRAFT_KEY);
        } else {
            let _ = LocalStorage::set(DRAFT_KEY, &text);
        }
        self.draft.set(text);
    }

    fn signed_in(self) -> bool {
        self.status.with(|s| s.as_ref().is_some_and(|s| s.email.is_some()))
    }

    fn live_call(self) -> bool {
        self.status
            .with(|s| s.as_ref().and_then(|s| s.call.as_ref()).is_some_and(|c| c.phase.is_live()))
    }
}

/// The whole popup.
#[component]
pub fn App() -> impl IntoView {
    let ctx = Ctx {
        status: RwSignal::new(None),
        error: RwSignal::new(None),
        busy: RwSignal::new(false),
        now_ms: RwSignal::new(js_sys::Date::now()),
        draft: RwSignal::new(LocalStorage::get::<String>(DRAFT_KEY).unwrap_or_default()),
    };
    provide_context(ctx);
    bridge::subscribe(
        move |s| ctx.status.set(Some(s)),
        move || ctx.error.set(Some("MPT Phone restarted. Close and reopen this popup.".into())),
    );
    ctx.send(PopupToBackground::GetStatus);
    let _ = set_interval_with_handle(move || ctx.now_ms.set(js_sys::Date::now()), Duration::from_secs(1));

    view! {
        <main class="popup" data-testid="popup">
            <Header/>
            {move || ctx.error.get().map(|e| view! {
                <p class="error" role="alert" data-testid="popup-error">{e}</p>
            })}
            <Show
                when=move || ctx.status.with(Option::is_some)
                fallback=|| view! { <p class="muted" data-testid="popup-loading">"Starting…"</p> }
            >
                <Show when=move || !ctx.signed_in()>
                    <SignIn/>
                </Show>
                <Show when=move || ctx.live_call()>
                    <CallPanel/>
                </Show>
                <Dialer/>
                <Recent/>
            </Show>
        </main>
    }
}

fn ctx() -> Ctx {
    use_context::<Ctx>().unwrap_or_else(|| Ctx {
        status: RwSignal::new(None),
        error: RwSignal::new(None),
        busy: RwSignal::new(false),
        now_ms: RwSignal::new(0.0),
        draft: RwSignal::new(String::new()),
    })
}

/// Title, account, sandbox label, server link.
#[component]
fn Header() -> impl IntoView {
    let ctx = ctx();
    let email = move || ctx.status.with(|s| s.as_ref().and_then(|s| s.email.clone()));
    let sandbox = move || ctx.status.with(|s| s.as_ref().is_some_and(|s| s.sandbox));
    let link = move || ctx.status.with(|s| s.as_ref().map(|s| s.link));
    view! {
        <header class="bar">
            <h1>"MPT Phone"</h1>
            <Show when=sandbox>
                <span class="sandbox" data-testid="sandbox-label" title="Calls are simulated: nobody is dialled">"Sandbox mode"</span>
            </Show>
            {move || email().map(|e| view! {
                <span class="account">
                    <span data-testid="account-email">{e}</span>
                    <button type="button" class="link" data-testid="sign-out"
                        on:click=move |_| ctx.send(PopupToBackground::SignOut)>"Sign out"</button>
                </span>
            })}
        </header>
        {move || (email().is_some() && link() == Some(ServerLink::Unreachable)).then(|| view! {
            <p class="warn" role="status" data-testid="link-state">"Server unreachable — retrying…"</p>
        })}
    }
}

/// Email + password form; the server URL comes from the build's config.json.
#[component]
fn SignIn() -> impl IntoView {
    let ctx = ctx();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let server = move || ctx.status.with(|s| s.as_ref().map(|s| s.server_url.clone()).unwrap_or_default());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        ctx.send(PopupToBackground::SignIn { email: email.get(), password: password.get() });
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
            <button type="submit" class="primary" data-testid="sign-in-submit"
                prop:disabled=move || ctx.busy.get()>
                {move || if ctx.busy.get() { "Signing in…" } else { "Sign in" }}
            </button>
            <p class="muted small">"Server: " <span data-testid="server-url">{server}</span></p>
        </form>
    }
}

/// Number field with as-you-type formatting, keypad, call button (with the reason it is disabled).
#[component]
fn Dialer() -> impl IntoView {
    let ctx = ctx();
    let draft = ctx.draft;
    let set_draft = move |text: String| ctx.set_draft(text);
    let check = Memo::new(move |_| dial::check(&draft.get(), ctx.signed_in(), ctx.live_call()));
    let ready = move || matches!(check.get(), DialCheck::Ready(_));
    let call = move || {
        if let DialCheck::Ready(number) = check.get_untracked() {
            if !ctx.busy.get_untracked() {
                ctx.set_draft(String::new());
                ctx.send(PopupToBackground::Dial { number });
            }
        }
    };
    let press = move |k: &'static str| {
        let next = dial::reformat(&draft.get_untracked(), &format!("{}{k}", draft.get_untracked()));
        set_draft(next);
    };
    view! {
        <section class="card dialer" data-testid="dialer">
            <div class="field">
                <input type="tel" inputmode="tel" autocomplete="off" spellcheck="false"
                    placeholder="Number to call" aria-label="Number to call" data-testid="dial-input"
                    prop:value=move || draft.get()
                    on:input=move |ev| set_draft(dial::reformat(&draft.get_untracked(), &event_target_value(&ev)))
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Enter" {
                            ev.prevent_default();
                            call();
                        }
                    }/>
                <button type="button" class="clear" aria-label="Clear" data-testid="dial-clear"
                    prop:hidden=move || draft.with(String::is_empty)
                    on:click=move |_| set_draft(String::new())>"×"</button>
            </div>
            <div class="keypad" data-testid="dial-keypad">
                {KEYS.iter().map(|&k| view! {
                    <button type="button" data-testid=format!("dial-key-{}", key_id(k))
                        on:click=move |_| press(k)>{k}</button>
                }).collect_view()}
            </div>
            <button type="button" class="primary call" data-testid="dial-call"
                prop:disabled=move || !ready() || ctx.busy.get()
                on:click=move |_| call()>"Call"</button>
            <p class="muted small reason" data-testid="dial-reason" aria-live="polite">
                {move || match check.get() {
                    DialCheck::Ready(n) => format!("Ready to call {}", dial::display(&n)),
                    DialCheck::Blocked(why) => why,
                }}
            </p>
        </section>
    }
}

fn key_id(k: &str) -> &str {
    match k {
        "*" => "star",
        "#" => "hash",
        d => d,
    }
}

fn phase_label(p: CallPhase, reason: Option<EndReason>) -> &'static str {
    match (p, reason) {
        (CallPhase::Dialing, _) => "Calling…",
        (CallPhase::Ringing, _) => "Ringing…",
        (CallPhase::InCall, _) => "In call",
        (CallPhase::Ended, r) => reason_label(r),
    }
}

fn reason_label(r: Option<EndReason>) -> &'static str {
    match r {
        Some(EndReason::Busy) => "Busy",
        Some(EndReason::NoAnswer) => "No answer",
        Some(EndReason::Failed) => "Call failed",
        Some(EndReason::Canceled) => "Canceled",
        Some(EndReason::Completed) | None => "Call ended",
    }
}

/// The current call: state, timer, mute, keypad (DTMF), hang up.
#[component]
fn CallPanel() -> impl IntoView {
    let ctx = ctx();
    let call = move || ctx.status.with(|s| s.as_ref().and_then(|s| s.call.clone()));
    let in_call = move || call().is_some_and(|c| c.phase == CallPhase::InCall);
    let muted = move || call().is_some_and(|c| c.muted);
    let keypad = RwSignal::new(false);
    let timer = move || {
        call().and_then(|c| c.answered_at_ms).map(|at| {
            dial::clock(((ctx.now_ms.get() - at) / 1000.0).max(0.0) as u64)
        })
    };
    let digits = move |d: &'static str| ctx.send(PopupToBackground::SendDigits { digits: d.into() });
    view! {
        <section class="card call-panel" data-testid="call-panel"
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                let k = ev.key();
                if in_call() && KEYS.contains(&k.as_str()) {
                    if let Some(&d) = KEYS.iter().find(|&&x| x == k) { digits(d); }
                }
            }>
            <div class="row">
                <span class="state" data-testid="call-state" aria-live="polite">
                    {move || call().map(|c| phase_label(c.phase, c.end_reason)).unwrap_or("")}
                </span>
                <span class="timer" data-testid="call-timer">{timer}</span>
            </div>
            <div class="number" data-testid="call-number">
                {move || call().map(|c| dial::display(&c.number)).unwrap_or_default()}
            </div>
            <div class="row actions">
                <button type="button" data-testid="call-mute" prop:disabled=move || !in_call()
                    aria-pressed=move || muted().to_string()
                    on:click=move |_| ctx.send(PopupToBackground::SetMute { muted: !muted() })>
                    {move || if muted() { "Unmute" } else { "Mute" }}
                </button>
                <button type="button" data-testid="call-keypad-toggle" prop:disabled=move || !in_call()
                    aria-expanded=move || keypad.get().to_string()
                    on:click=move |_| keypad.update(|k| *k = !*k)>"Keypad"</button>
                <button type="button" class="danger" data-testid="call-hangup"
                    on:click=move |_| ctx.send(PopupToBackground::HangUp)>"Hang up"</button>
            </div>
            <Show when=move || keypad.get() && in_call()>
                <div class="keypad" data-testid="call-keypad">
                    {KEYS.iter().map(|&k| view! {
                        <button type="button" data-testid=format!("call-key-{}", key_id(k))
                            on:click=move |_| digits(k)>{k}</button>
                    }).collect_view()}
                </div>
            </Show>
        </section>
    }
}

/// Recent calls, newest first; clicking one puts its number in the dialer.
#[component]
fn Recent() -> impl IntoView {
    let ctx = ctx();
    let recent = move || ctx.status.with(|s| s.as_ref().map(|s| s.recent.clone()).unwrap_or_default());
    view! {
        <section class="recent" data-testid="recent">
            <h2>"Recent calls"</h2>
            <Show when=move || !recent().is_empty()
                fallback=|| view! { <p class="muted small" data-testid="recent-empty">"No calls yet."</p> }>
                <ul data-testid="recent-list">
                    {move || recent().into_iter().map(|r| {
                        let when = js_sys::Date::new(&r.started_at_ms.into())
                            .to_locale_time_string("default")
                            .as_string()
                            .unwrap_or_default();
                        let outcome = match r.duration_s {
                            Some(d) => dial::clock(u64::from(d)),
                            None => reason_label(r.end_reason).to_owned(),
                        };
                        let number = r.number.clone();
                        view! {
                            <li data-testid="recent-item">
                                <button type="button" class="link" data-testid="recent-redial"
                                    title="Put this number in the dialer"
                                    on:click=move |_| ctx.set_draft(dial::display(&number))>{dial::display(&r.number)}</button>
                                <span class="muted small">{when}" · "{outcome}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </Show>
        </section>
    }
}
