//! The voicemail inbox: newest first, new ones marked; each plays through the server's
//! authorised proxy (`GET /api/calls/{id}/recording`, fetched with the agent's token into
//! an object URL: the page never holds a Twilio URL), is marked heard when played or by
//! hand, and can be called back from the phone.

use leptos::prelude::*;
use serde::Deserialize;

use super::{error_line, load, status_line, Loaded};
use crate::{api, fmt, phone};

#[derive(Debug, Clone, Deserialize)]
struct Voicemail {
    id: String,
    from: String,
    #[serde(default)]
    contact_id: Option<String>,
    #[serde(default)]
    contact_name: Option<String>,
    started_at: i64,
    #[serde(default)]
    duration_seconds: Option<u64>,
    #[serde(default)]
    heard_at: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
struct Page {
    items: Vec<Voicemail>,
}

#[component]
pub fn Inbox() -> impl IntoView {
    let page: Loaded<Page> = RwSignal::new(None);
    let status = RwSignal::new(None::<String>);
    // The message being played: (who left it, object URL). One player above the list, so
    // the list refreshing (a message marked heard) never interrupts it.
    let playing = RwSignal::new(None::<(String, String)>);
    let reload = move || load(page, api::get::<Page>("/api/voicemails"));
    reload();
    let mark = move |id: String, heard: bool| {
        let path = format!("/api/voicemails/{}/heard", String::from(js_sys::encode_uri_component(&id)));
        super::act(
            status,
            if heard { "Marked heard." } else { "Marked new." },
            async move { api::json("PUT", &path, &serde_json::json!({ "heard": heard })).await.map(|_| ()) },
            reload,
        );
    };
    let play = move |id: String, who: String, heard: bool| {
        let path = format!("/api/calls/{}/recording", String::from(js_sys::encode_uri_component(&id)));
        wasm_bindgen_futures::spawn_local(async move {
            match api::object_url(&path).await {
                Ok(url) => {
                    if let Some((_, old)) = playing.get_untracked() {
                        let _ = web_sys::Url::revoke_object_url(&old);
                    }
                    playing.set(Some((who, url)));
                    if !heard {
                        mark(id, true);
                    }
                }
                Err(e) => status.set(Some(e.to_string())),
            }
        });
    };
    on_cleanup(move || {
        if let Some((_, u)) = playing.get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&u);
        }
    });
    view! {
        <h1>"Voicemail"</h1>
        {status_line(status)}
        {move || playing.get().map(|(who, url)| view! {
            <section class="player" aria-label="Playing">
                <p>"Message from "{who}</p>
                <audio controls autoplay src=url data-testid="voicemail-audio"></audio>
            </section>
        })}
        {move || match page.get() {
            None => view! { <p aria-busy="true">"Loading…"</p> }.into_any(),
            Some(Err(e)) => error_line(&e).into_any(),
            Some(Ok(p)) if p.items.is_empty() => view! { <p data-testid="voicemail-empty">"No voicemail."</p> }.into_any(),
            Some(Ok(p)) => view! {
                <ul class="list voicemails" data-testid="voicemail-list">
                    {p.items.into_iter().map(|v| {
                        let heard = v.heard_at.is_some();
                        let who = v.contact_name.clone().unwrap_or_else(|| v.from.clone());
                        let (id_play, id_mark, who_play) = (v.id.clone(), v.id.clone(), who.clone());
                        let (number, cid, cname) = (v.from.clone(), v.contact_id.clone(), v.contact_name.clone());
                        view! {
                            <li data-testid="voicemail" data-call-id=v.id.clone() data-heard=heard.to_string() class:new=!heard>
                                <span class="who">{if heard { "" } else { "New · " }}{who.clone()}</span>
                                <span data-testid="voicemail-from">{v.from.clone()}</span>
                                <span class="muted">{fmt::time(v.started_at)}" · "{fmt::duration(v.duration_seconds)}</span>
                                <span class="actions">
                                    <button type="button" data-testid="voicemail-play" aria-label=format!("Play the message from {who}")
                                        on:click=move |_| play(id_play.clone(), who_play.clone(), heard)>"Play"</button>
                                    <button type="button" data-testid="voicemail-mark" on:click=move |_| mark(id_mark.clone(), !heard)>
                                        {if heard { "Mark new" } else { "Mark heard" }}</button>
                                    <button type="button" data-testid="voicemail-call-back" aria-label=format!("Call {who} back")
                                        on:click=move |_| phone::dial(&number, cid.clone(), cname.clone())>"Call back"</button>
                                </span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any(),
        }}
    }
}
