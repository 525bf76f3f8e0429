//! Contact search (the tenant's contacts and CRM connectors, `GET /api/contacts/search`),
//! each with a call button.

use leptos::prelude::*;
use mpt_core::api::ContactList;

use super::{error_line, load, Loaded};
use crate::{api, phone};

#[component]
pub fn Contacts() -> impl IntoView {
    let q = RwSignal::new(String::new());
    let found: Loaded<ContactList> = RwSignal::new(None);
    let search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let query = q.get_untracked();
        if query.trim().is_empty() {
            return;
        }
        let path = format!("/api/contacts/search{}", api::query(&[("q", query)]));
        load(found, async move { api::get::<ContactList>(&path).await });
    };
    view! {
        <h1>"Contacts"</h1>
        <form class="row" role="search" on:submit=search>
            <label>"Name, company or number "
                <input type="search" data-testid="contacts-q" prop:value=move || q.get() on:input=move |ev| q.set(event_target_value(&ev))/>
            </label>
            <button type="submit">"Search"</button>
        </form>
        {move || found.get().map(|r| match r {
            Err(e) => error_line(&e).into_any(),
            Ok(list) if list.items.is_empty() => view! { <p>"No contact found."</p> }.into_any(),
            Ok(list) => view! {
                <ul class="list" data-testid="contacts-results">
                    {list.items.into_iter().map(|c| {
                        let (number, id, name) = (c.phone.clone(), c.id.clone(), c.name.clone());
                        view! {
                            <li>
                                <span>{c.name.clone()}</span>
                                <span class="muted">{c.company.clone().unwrap_or_default()}</span>
                                <span>{c.phone.clone()}</span>
                                <button type="button" on:click=move |_| phone::dial(&number, Some(id.clone()), Some(name.clone()))>
                                    {format!("Call {}", c.name)}
                                </button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any(),
        })}
    }
}
