//! Recent calls (with redial) and contact search (with call).

use leptos::prelude::*;
use mpt_core::engine::{DialContact, Direction, PhoneCommand};

use crate::ctx;

#[component]
pub(crate) fn Recent() -> impl IntoView {
    let ctx = ctx();
    let recent = move || ctx.view.with(|v| v.recent.clone());
    view! {
        <section class="recent" data-testid="recent" aria-label="Recent calls">
            <h2>"Recent calls"</h2>
            <Show when=move || ctx.view.with(|v| !v.recent.is_empty())
                fallback=|| view! { <p class="muted small" data-testid="recent-empty">"No calls yet."</p> }>
                <ul data-testid="recent-list">
                    {move || recent().into_iter().map(|r| {
                        let number = r.number.clone();
                        let who = r.contact_name.clone().unwrap_or_else(|| r.number_display.clone());
                        view! {
                            <li data-testid="recent-item" data-direction=direction(r.direction)>
                                <button type="button" class="link" data-testid="recent-redial"
                                    title=format!("Call {} again", r.number_display)
                                    on:click=move |_| ctx.port.send(PhoneCommand::Dial { number: number.clone(), contact: None })>
                                    {who}
                                </button>
                                <span class="muted small">{r.number_display.clone()}" · "{r.outcome.clone()}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </Show>
        </section>
    }
}

fn direction(d: Direction) -> &'static str {
    match d {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
    }
}

#[component]
pub(crate) fn Contacts() -> impl IntoView {
    let ctx = ctx();
    let query = RwSignal::new(String::new());
    let results = move || ctx.view.with(|v| v.search.results.clone());
    let loading = move || ctx.view.with(|v| v.search.loading);
    view! {
        <section class="contacts" data-testid="contacts" aria-label="Contacts">
            <input type="search" placeholder="Search contacts" aria-label="Search contacts" data-testid="contact-search"
                prop:value=move || query.get()
                on:input=move |ev| {
                    let q = event_target_value(&ev);
                    query.set(q.clone());
                    ctx.port.send(PhoneCommand::SearchContacts { query: q });
                }/>
            <Show when=loading>
                <p class="muted small" aria-live="polite">"Searching…"</p>
            </Show>
            <ul data-testid="contact-results">
                {move || results().into_iter().map(|c| {
                    let number = c.phone.clone();
                    let contact = DialContact::from(&c);
                    view! {
                        <li data-testid="contact-item">
                            <span>{c.name.clone()}</span>
                            {c.company.clone().map(|co| view! { <span class="muted small">" · "{co}</span> })}
                            <button type="button" class="link" data-testid="contact-call"
                                aria-label=format!("Call {}", c.name)
                                on:click=move |_| ctx.port.send(PhoneCommand::Dial { number: number.clone(), contact: Some(contact.clone()) })>
                                "Call"
                            </button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
