//! mpt-ui: the one phone UI. It renders a [`PhoneView`] (every label, number and timer
//! text already written by `mpt-core`'s engine) and sends [`PhoneCommand`]s through the
//! host's [`PhoneHost`] port. It decides nothing about calls: the popup, the side panel
//! and the embeddable widget are hosts that feed it the engine's views.
//!
//! Accessibility: every control is a real button/input with a label; the dialer's field
//! has focus first; Enter places the call, Esc closes the in-call keypad; state changes
//! are announced through `aria-live`. Every control has a `data-testid`.
#![deny(clippy::unwrap_used)]

#[cfg(feature = "extension")]
pub mod bridge;
mod call;
mod dialer;
mod header;
mod lists;
mod signin;
pub mod theme;

use std::rc::Rc;

use leptos::prelude::*;
use mpt_core::engine::Phase;
pub use mpt_core::engine::{PhoneCommand, PhoneView};

pub use theme::{Layout, Theme};

/// The host's side of the UI: where commands go.
pub trait PhoneHost {
    /// Executes (or forwards to the engine) one command.
    fn send(&self, cmd: PhoneCommand);
}

/// The port in the components' context.
#[derive(Clone, Copy)]
pub(crate) struct Port(StoredValue<Rc<dyn PhoneHost>, LocalStorage>);

impl Port {
    pub(crate) fn send(self, cmd: PhoneCommand) {
        self.0.with_value(|h| h.send(cmd));
    }
}

/// Everything the components share.
#[derive(Clone, Copy)]
pub(crate) struct Ctx {
    pub view: Signal<PhoneView>,
    pub port: Port,
    pub draft: RwSignal<String>,
}

pub(crate) fn ctx() -> Ctx {
    expect_context::<Ctx>()
}

/// The phone. `view` is the engine's latest snapshot; `draft` (optional) lets the host
/// keep the dialer's text across reopenings; `server_url` is shown on the sign-in form.
#[component]
pub fn Phone(
    /// The engine's snapshot.
    #[prop(into)]
    view: Signal<PhoneView>,
    /// Where commands go.
    host: Rc<dyn PhoneHost>,
    /// Colours.
    #[prop(into, optional)]
    theme: Signal<Theme>,
    /// How much to show.
    #[prop(into, optional)]
    layout: Signal<Layout>,
    /// The dialer's text, if the host keeps it.
    #[prop(optional)]
    draft: Option<RwSignal<String>>,
    /// Server the host talks to (shown when signing in).
    #[prop(into, optional)]
    server_url: Option<String>,
) -> impl IntoView {
    let ctx = Ctx { view, port: Port(StoredValue::new_local(host)), draft: draft.unwrap_or_else(|| RwSignal::new(String::new())) };
    provide_context(ctx);
    let started = move || view.with(|v| v.started);
    let signed_in = move || view.with(|v| v.agent.is_some());
    // Memoised: the call's part is rebuilt only when its phase (or call) changes, never on
    // other view updates, so notes being typed and the keypad's state survive them.
    let phase_of_call = Memo::new(move |_| view.with(|v| v.call.as_ref().map(|c| (c.phase, c.call_id.clone()))));
    let phase = move || phase_of_call.with(|p| p.as_ref().map(|(p, _)| *p));
    let server_url = StoredValue::new(server_url);
    view! {
        <div class="mpt-phone" data-testid="phone"
            data-theme=move || theme.get().as_str()
            data-layout=move || layout.get().as_str()>
            <header::Header/>
            {move || view.with(|v| v.notice.clone()).map(|n| view! {
                <p class="notice" role="alert" data-testid="phone-error" data-code=n.code.as_str()>
                    <span>{n.message}</span>
                    <button type="button" class="link" aria-label="Dismiss" data-testid="phone-error-dismiss"
                        on:click=move |_| ctx.port.send(PhoneCommand::DismissError)>"×"</button>
                </p>
            })}
            <Show when=started fallback=|| view! { <p class="muted" data-testid="phone-loading">"Starting…"</p> }>
                <Show when=move || !signed_in()>
                    <signin::SignIn server_url=server_url.get_value()/>
                </Show>
                {move || match phase_of_call.get().map(|(p, _)| p) {
                    Some(Phase::Incoming) => Some(view! { <call::Incoming/> }.into_any()),
                    Some(Phase::WrapUp) => Some(view! { <call::WrapUp/> }.into_any()),
                    Some(p) if p.is_live() => Some(view! { <call::CallPanel/> }.into_any()),
                    _ => None,
                }}
                <Show when=move || !(layout.get() == Layout::Minimal && phase().is_some())>
                    <dialer::Dialer/>
                </Show>
                <Show when=move || signed_in() && layout.get() != Layout::Minimal>
                    <lists::Contacts/>
                    <lists::Recent/>
                </Show>
            </Show>
        </div>
    }
}
