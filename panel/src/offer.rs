//! A call a page offered (its own `tel:` link or the page API, on an origin the tenant
//! does not list as its CRM): shown with who offered it, and placed only when the agent
//! presses Call here, in our own frame. Panel-only: the popup never shows offers.

use leptos::prelude::*;
use mpt_core::engine::{PhoneCommand, Proposal};
use mpt_core::msg::PanelToBackground;

use crate::Link;

/// The offer card; `send` forwards the panel's requests (visibility-gated).
#[component]
pub(crate) fn Offer(offer: ReadSignal<Option<Proposal>>, send: StoredValue<Link, LocalStorage>) -> impl IntoView {
    move || {
        offer.get().map(|p| {
            let who = p.contact.name.clone().unwrap_or_else(|| p.number_display.clone());
            let from = format!("Offered by {}", p.origin);
            let shown = p.number_display.clone();
            view! {
                <section class="mpt-phone offer" data-testid="offer" aria-label="Call offered by the page">
                    <div class="card">
                        <div class="party">
                            <div class="contact" data-testid="offer-contact">{who}</div>
                            <div class="number" data-testid="offer-number">{shown}</div>
                            <div class="muted small" data-testid="offer-origin">{from}</div>
                        </div>
                        <div class="row">
                            <button type="button" class="primary" data-testid="offer-call"
                                on:click=move |_| send.with_value(|l| l.send(PanelToBackground::Command {
                                    command: PhoneCommand::Dial { number: p.number.clone(), contact: Some(p.contact.clone()) },
                                }))>"Call"</button>
                            <button type="button" data-testid="offer-dismiss"
                                on:click=move |_| send.with_value(|l| l.send(PanelToBackground::DismissOffer))>"Dismiss"</button>
                        </div>
                    </div>
                </section>
            }
        })
    }
}
