//! One call: its facts, status history, notes and disposition (saved with
//! `PATCH /api/calls/{id}`) and its recording, played through the server's proxy.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use mpt_core::api::{CallDirection, CallLog, CallLogPatch, ClientConfig};

use super::{error_line, load, status_line, Loaded};
use crate::{api, fmt, phone};

#[component]
pub fn CallDetail() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let call: Loaded<CallLog> = RwSignal::new(None);
    let notes = RwSignal::new(String::new());
    let disposition = RwSignal::new(String::new());
    let status = RwSignal::new(None::<String>);
    let audio = RwSignal::new(None::<String>);
    // The tenant's dispositions, offered as the field's suggestions (as in the phone's wrap-up).
    let config: Loaded<ClientConfig> = RwSignal::new(None);
    load(config, api::get::<ClientConfig>("/api/config"));
    Effect::new(move |_| {
        let path = format!("/api/calls/{}", String::from(js_sys::encode_uri_component(&id())));
        call.set(None);
        wasm_bindgen_futures::spawn_local(async move {
            let r = api::get::<CallLog>(&path).await;
            if let Ok(c) = &r {
                notes.set(c.notes.clone().unwrap_or_default());
                disposition.set(c.disposition.clone().unwrap_or_default());
            }
            call.set(Some(r));
        });
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let path = format!("/api/calls/{}", String::from(js_sys::encode_uri_component(&id())));
        let body =
            CallLogPatch { notes: Some(notes.get_untracked()), disposition: Some(disposition.get_untracked()).filter(|d| !d.is_empty()) };
        super::act(status, "Saved.", async move { api::json("PATCH", &path, &body).await.map(|_| ()) }, move || {
            load(
                call,
                async move { api::get::<CallLog>(&format!("/api/calls/{}", String::from(js_sys::encode_uri_component(&id())))).await },
            );
        });
    };
    let play = move |_| {
        let path = format!("/api/calls/{}/recording", String::from(js_sys::encode_uri_component(&id())));
        wasm_bindgen_futures::spawn_local(async move {
            match api::object_url(&path).await {
                Ok(u) => audio.set(Some(u)),
                Err(e) => status.set(Some(e.to_string())),
            }
        });
    };
    on_cleanup(move || {
        if let Some(u) = audio.get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&u);
        }
    });
    view! {
        <h1>"Call"</h1>
        {move || match call.get() {
            None => view! { <p aria-busy="true">"Loading…"</p> }.into_any(),
            Some(Err(e)) => error_line(&e).into_any(),
            Some(Ok(c)) => {
                let number = super::calls::other_party(&c).to_string();
                let dial_number = number.clone();
                let (cid, cname) = (c.contact_id.clone(), c.contact_name.clone());
                view! {
                    <dl class="facts" data-testid="call-detail">
                        <dt>"Number"</dt><dd>{number}</dd>
                        <dt>"Direction"</dt><dd>{match c.direction { CallDirection::Inbound => "Inbound", CallDirection::Outbound => "Outbound" }}</dd>
                        <dt>"Contact"</dt><dd>{c.contact_name.clone().unwrap_or_else(|| "–".into())}</dd>
                        <dt>"Status"</dt><dd data-testid="detail-status">{c.status.clone()}</dd>
                        <dt>"Started"</dt><dd>{fmt::time(c.started_at)}</dd>
                        <dt>"Duration"</dt><dd>{fmt::duration(c.duration_seconds)}</dd>
                    </dl>
                    <button type="button" on:click=move |_| phone::dial(&dial_number, cid.clone(), cname.clone())>"Call back"</button>
                    <h2>"Status history"</h2>
                    <ol class="history" data-testid="status-history">
                        {c.status_history.iter().map(|h| view! { <li>{format!("{} — {}", h.status, fmt::time(h.at))}</li> }).collect_view()}
                    </ol>
                    {c.recording_sid.is_some().then(|| view! {
                        <h2>"Recording"</h2>
                        <button type="button" data-testid="detail-play" on:click=play>"Load recording"</button>
                        {move || audio.get().map(|u| view! { <audio controls src=u data-testid="detail-audio"></audio> })}
                    })}
                }.into_any()
            }
        }}
        <h2>"Notes and disposition"</h2>
        <form class="stack" on:submit=save>
            <label>"Notes"
                <textarea rows="4" data-testid="detail-notes" prop:value=move || notes.get() on:input=move |ev| notes.set(event_target_value(&ev))></textarea>
            </label>
            <label>"Disposition"
                <input type="text" list="dispositions" autocomplete="off" data-testid="detail-disposition"
                    prop:value=move || disposition.get() on:input=move |ev| disposition.set(event_target_value(&ev))/>
            </label>
            <datalist id="dispositions">
                {move || config.get().and_then(Result::ok).map(|c| c.dispositions.into_iter().map(|d| view! { <option value=d></option> }).collect_view())}
            </datalist>
            <button type="submit" data-testid="detail-save">"Save"</button>
        </form>
        {status_line(status)}
    }
}
