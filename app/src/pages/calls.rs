//! Call history: filters (dates, direction, status, number, and agent for supervisors and
//! admins), cursor pagination (newest first) and the CSV export, which the server allows
//! supervisors and admins only. Each row links to the call's detail and can be called back.

use leptos::prelude::*;
use leptos_router::components::A;
use mpt_core::api::{CallDirection, CallLog, CallLogPage};

use super::{error_line, load, Loaded};
use crate::{api, fmt, phone};

/// Page size.
const PAGE: usize = 25;

#[derive(Clone, Default, PartialEq)]
struct Filters {
    from: String,
    to: String,
    direction: String,
    status: String,
    number: String,
    agent_id: String,
}

impl Filters {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("since", fmt::date_ms(&self.from, false).map(|t| t.to_string()).unwrap_or_default()),
            ("until", fmt::date_ms(&self.to, true).map(|t| t.to_string()).unwrap_or_default()),
            ("direction", self.direction.clone()),
            ("status", self.status.clone()),
            ("number", self.number.clone()),
            ("agent_id", self.agent_id.clone()),
        ]
    }
}

/// The other party of a call.
pub fn other_party(c: &CallLog) -> &str {
    match c.direction {
        CallDirection::Inbound => &c.from,
        CallDirection::Outbound => &c.to,
    }
}

#[component]
pub fn History() -> impl IntoView {
    let session = api::session();
    let sees_all = move || session.with(|s| s.as_ref().is_some_and(|a| a.role.sees_all_calls()));
    let draft = RwSignal::new(Filters::default());
    let applied = RwSignal::new(Filters::default());
    // Cursors of the pages before this one (for "Newer"), and this page's.
    let back: RwSignal<Vec<Option<String>>> = RwSignal::new(Vec::new());
    let cursor: RwSignal<Option<String>> = RwSignal::new(None);
    let page: Loaded<CallLogPage> = RwSignal::new(None);
    let agents: Loaded<Vec<serde_json::Value>> = RwSignal::new(None);
    let export_status = RwSignal::new(None::<String>);

    let fetch = move || {
        let mut pairs = applied.get_untracked().pairs();
        pairs.push(("limit", PAGE.to_string()));
        if let Some(c) = cursor.get_untracked() {
            pairs.push(("cursor", c));
        }
        let path = format!("/api/calls{}", api::query(&pairs));
        page.set(None);
        load(page, async move { api::get::<CallLogPage>(&path).await });
    };
    fetch();
    if sees_all() {
        load(agents, api::get::<Vec<serde_json::Value>>("/api/agents"));
    }
    // Live: a call placed from the phone shows up (and its status moves) without a reload.
    let ctx = phone::ctx();
    let phase = Memo::new(move |_| ctx.view.with(|v| v.call.as_ref().map(|c| (c.call_id.clone(), format!("{:?}", c.phase)))));
    Effect::new(move |prev: Option<()>| {
        phase.track();
        if prev.is_some() && cursor.get_untracked().is_none() {
            fetch();
        }
    });

    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        applied.set(draft.get_untracked());
        back.set(Vec::new());
        cursor.set(None);
        fetch();
    };
    let older = move |_| {
        let next = page.with_untracked(|p| p.as_ref().and_then(|r| r.as_ref().ok()).and_then(|p| p.next_cursor.clone()));
        if next.is_some() {
            back.update(|b| b.push(cursor.get_untracked()));
            cursor.set(next);
            fetch();
        }
    };
    let newer = move |_| {
        let mut prev = None;
        back.update(|b| prev = b.pop());
        if let Some(c) = prev {
            cursor.set(c);
            fetch();
        }
    };
    let export = move |_| {
        let path = format!("/api/calls/export.csv{}", api::query(&applied.get_untracked().pairs()));
        export_status.set(Some("Preparing the export…".into()));
        wasm_bindgen_futures::spawn_local(async move {
            match api::object_url(&path).await {
                Ok(url) => {
                    download(&url, "calls.csv");
                    export_status.set(Some("Export downloaded.".into()));
                }
                Err(e) => export_status.set(Some(e.to_string())),
            }
        });
    };
    let text_input =
        move |label: &'static str, kind: &'static str, testid: &'static str, get: fn(&Filters) -> String, set: fn(&mut Filters, String)| {
            view! {
                <label>{label}
                    <input type=kind data-testid=testid prop:value=move || draft.with(get)
                        on:input=move |ev| { let v = event_target_value(&ev); draft.update(|f| set(f, v)); }/>
                </label>
            }
        };
    view! {
        <h1>"Calls"</h1>
        <form class="filters" aria-label="Filter calls" on:submit=apply>
            {text_input("From", "date", "filter-from", |f| f.from.clone(), |f, v| f.from = v)}
            {text_input("To", "date", "filter-to", |f| f.to.clone(), |f, v| f.to = v)}
            <label>"Direction"
                <select data-testid="filter-direction" on:change=move |ev| { let v = event_target_value(&ev); draft.update(|f| f.direction = v); }>
                    <option value="">"Any"</option>
                    <option value="outbound">"Outbound"</option>
                    <option value="inbound">"Inbound"</option>
                </select>
            </label>
            <label>"Status"
                <select data-testid="filter-status" on:change=move |ev| { let v = event_target_value(&ev); draft.update(|f| f.status = v); }>
                    <option value="">"Any"</option>
                    {["completed", "in-progress", "ringing", "initiated", "busy", "no-answer", "failed", "canceled"]
                        .into_iter().map(|s| view! { <option value=s>{s}</option> }).collect_view()}
                </select>
            </label>
            {text_input("Number", "search", "filter-number", |f| f.number.clone(), |f, v| f.number = v)}
            {move || agents.get().and_then(Result::ok).map(|list| view! {
                <label>"Agent"
                    <select data-testid="filter-agent" on:change=move |ev| { let v = event_target_value(&ev); draft.update(|f| f.agent_id = v); }>
                        <option value="">"Any"</option>
                        {list.into_iter().map(|a| {
                            let id = a["id"].as_str().unwrap_or_default().to_string();
                            view! { <option value=id>{a["name"].as_str().unwrap_or_default().to_string()}</option> }
                        }).collect_view()}
                    </select>
                </label>
            })}
            <button type="submit" data-testid="filter-apply">"Apply"</button>
            <Show when=sees_all>
                <button type="button" data-testid="calls-export" on:click=export>"Export CSV"</button>
            </Show>
        </form>
        <p class="status" role="status" aria-live="polite" data-testid="export-status">{move || export_status.get()}</p>
        {move || match page.get() {
            None => view! { <p aria-busy="true">"Loading…"</p> }.into_any(),
            Some(Err(e)) => error_line(&e).into_any(),
            Some(Ok(p)) if p.items.is_empty() => view! { <p data-testid="calls-empty">"No calls match."</p> }.into_any(),
            Some(Ok(p)) => view! {
                <div class="table-wrap">
                <table class="calls" data-testid="calls-table">
                    <caption class="sr-only">"Calls, newest first"</caption>
                    <thead><tr>
                        <th scope="col">"When"</th><th scope="col">"Direction"</th><th scope="col">"Number"</th>
                        <th scope="col">"Contact"</th><th scope="col">"Status"</th><th scope="col">"Duration"</th><th scope="col"><span class="sr-only">"Actions"</span></th>
                    </tr></thead>
                    <tbody>
                        {p.items.into_iter().map(|c| {
                            let number = other_party(&c).to_string();
                            let (cid, cname) = (c.contact_id.clone(), c.contact_name.clone());
                            let dial_number = number.clone();
                            let href = format!("/calls/{}", c.id);
                            view! {
                                <tr data-testid="call-row" data-call-id=c.id.clone() data-status=c.status.clone()>
                                    <td><A href=href>{fmt::time(c.started_at)}</A></td>
                                    <td>{match c.direction { CallDirection::Inbound => "Inbound", CallDirection::Outbound => "Outbound" }}</td>
                                    <td data-testid="call-number">{number.clone()}</td>
                                    <td>{c.contact_name.clone().unwrap_or_default()}</td>
                                    <td data-testid="call-status">{c.status.clone()}</td>
                                    <td>{fmt::duration(c.duration_seconds)}</td>
                                    <td><button type="button" aria-label=format!("Call {number} back")
                                        on:click=move |_| phone::dial(&dial_number, cid.clone(), cname.clone())>"Call back"</button></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
                <nav class="pager" aria-label="Pages">
                    <button type="button" data-testid="calls-newer" prop:disabled=move || back.with(Vec::is_empty) on:click=newer>"Newer"</button>
                    <button type="button" data-testid="calls-older" prop:disabled=p.next_cursor.is_none() on:click=older>"Older"</button>
                </nav>
            }.into_any(),
        }}
    }
}

/// Saves an object URL as a file (a download link, clicked once, then the URL revoked).
pub fn download(url: &str, name: &str) {
    use wasm_bindgen::JsCast;
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
    if let Ok(a) = doc.create_element("a") {
        if let Ok(a) = a.dyn_into::<web_sys::HtmlAnchorElement>() {
            a.set_href(url);
            a.set_download(name);
            a.click();
        }
    }
    let url = url.to_string();
    // Give the download a moment to start before releasing the bytes.
    let cb = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    if let Some(w) = web_sys::window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), 10_000);
    }
}
