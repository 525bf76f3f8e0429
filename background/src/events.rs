//! The live event socket to `/api/events`: opened with a single-use ticket
//! (`POST /api/events/ticket`, so no credential is ever in a URL), heartbeat every 20 s,
//! resume by the last event id, reconnect with backoff while signed in; close code 4401
//! means the session ended or was revoked: sign out, never reconnect.

use mpt_core::api::{ClientMessage, EventEnvelope, EventTicket, ServerEvent, CLOSE_SESSION_ENDED};
use mpt_core::msg::ServerLink;
use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::app::{self, keys};
use crate::{calls, chrome, server, session};

/// Heartbeat period (keeps the socket and the MV3 worker alive).
pub const HEARTBEAT_MS: i32 = 20_000;
const MAX_BACKOFF_MS: i32 = 30_000;

fn same(a: &WebSocket, b: &WebSocket) -> bool {
    js_sys::Object::is(a.as_ref(), b.as_ref())
}

fn is_current(ws: &WebSocket) -> bool {
    app::with(|a| a.ws.as_ref().is_some_and(|w| same(w, ws)))
}

/// Closes the socket without reconnecting.
pub fn disconnect() {
    let (ws, hb) = app::with(|a| (a.ws.take(), a.heartbeat.take()));
    if let Some(hb) = hb {
        chrome::clear_interval(&hb);
    }
    if let Some(ws) = ws {
        let _ = ws.close();
    }
}

/// Opens the socket (replacing any open one). Needs a session.
pub fn connect() {
    wasm_bindgen_futures::spawn_local(async {
        let ticket = match session::authed::<(), EventTicket>("POST", "/api/events/ticket", None).await {
            Ok(t) => t.ticket,
            Err(_) => {
                retry_later();
                return;
            }
        };
        let (base, last) = app::with(|a| (a.server_url.clone(), a.last_event_id));
        disconnect();
        let Ok(ws) = WebSocket::new(&server::events_url(&base, &ticket, last)) else {
            app::set_link(ServerLink::Unreachable);
            return;
        };
        wire(&ws);
        app::with(|a| a.ws = Some(ws));
    });
}

fn wire(ws: &WebSocket) {
    let me = ws.clone();
    let onopen = Closure::<dyn FnMut()>::new(move || {
        if !is_current(&me) {
            return;
        }
        let beat = me.clone();
        let tick = Closure::<dyn FnMut()>::new(move || {
            if let Ok(text) = serde_json::to_string(&ClientMessage::Heartbeat) {
                let _ = beat.send_with_str(&text);
            }
        });
        let id = chrome::set_interval(tick.as_ref().unchecked_ref(), HEARTBEAT_MS);
        tick.forget();
        app::with(|a| {
            a.backoff_ms = 1000;
            a.heartbeat = Some(id);
        });
        app::set_link(ServerLink::Online);
    });
    ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
    onopen.forget();

    let me = ws.clone();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        if !is_current(&me) {
            return;
        }
        if let Some(text) = ev.data().as_string() {
            if let Ok(env) = serde_json::from_str::<EventEnvelope>(&text) {
                wasm_bindgen_futures::spawn_local(on_event(env));
            }
        }
    });
    ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();

    let me = ws.clone();
    let onclose = Closure::<dyn FnMut(CloseEvent)>::new(move |ev: CloseEvent| {
        if !is_current(&me) {
            return;
        }
        let hb = app::with(|a| {
            a.ws = None;
            a.heartbeat.take()
        });
        if let Some(hb) = hb {
            chrome::clear_interval(&hb);
        }
        if ev.code() == CLOSE_SESSION_ENDED {
            wasm_bindgen_futures::spawn_local(async {
                let _ = session::sign_out().await;
            });
            return;
        }
        retry_later();
    });
    ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
    onclose.forget();
}

/// Reconnects after the current backoff (doubling, at most 30 s) while signed in.
fn retry_later() {
    let (signed_in, delay) = app::with(|a| {
        let d = a.backoff_ms;
        a.backoff_ms = (a.backoff_ms * 2).min(MAX_BACKOFF_MS);
        (a.session.is_some(), d)
    });
    if !signed_in {
        return;
    }
    app::set_link(ServerLink::Unreachable);
    // Jitter (up to a quarter of the delay) so a restarted server is not hit by every
    // agent at the same instant.
    let jitter = (js_sys::Math::random() * f64::from(delay) / 4.0) as i32;
    let retry = Closure::once_into_js(move || {
        let still = app::with(|a| a.session.is_some() && a.ws.is_none());
        if still {
            connect();
        }
    });
    chrome::set_timeout(retry.unchecked_ref(), delay + jitter);
}

/// Applies one server event.
pub async fn on_event(env: EventEnvelope) {
    if let Some(id) = env.id {
        let newer = app::with(|a| {
            let n = id > a.last_event_id;
            if n {
                a.last_event_id = id;
            }
            n
        });
        if !newer {
            return;
        }
        let _ = chrome::local_write(keys::LAST_EVENT, &JsValue::from_f64(id as f64)).await;
    }
    match env.event {
        ServerEvent::CallStatus { call_id, call_sid, status, .. } => {
            let now = chrome::now_ms();
            let changed = app::with(|a| {
                let c = a.call.as_mut()?;
                let ours = c.view.call_id == call_id
                    || (call_sid.is_some() && c.call_sid == call_sid);
                if !ours {
                    return None;
                }
                if c.call_sid.is_none() {
                    c.call_sid = call_sid.clone();
                }
                calls::apply_status(&mut c.view, &status, now).then(|| c.clone())
            });
            if let Some(c) = changed {
                app::set_call(Some(c)).await;
            }
        }
        ServerEvent::SandboxCall { call_sid, parent_call_sid, kind, status, .. } => {
            let status = match kind.as_str() {
                "ringing" => "ringing".to_owned(),
                "answered" => "in-progress".to_owned(),
                "completed" => status.unwrap_or_else(|| "completed".into()),
                _ => return,
            };
            let now = chrome::now_ms();
            let changed = app::with(|a| {
                let c = a.call.as_mut().filter(|c| !c.via_sdk)?;
                let sid = c.call_sid.as_deref()?;
                let ours = sid == call_sid || parent_call_sid.as_deref() == Some(sid);
                (ours && calls::apply_status(&mut c.view, &status, now)).then(|| c.clone())
            });
            if let Some(c) = changed {
                app::set_call(Some(c)).await;
            }
        }
        ServerEvent::Hello { last_event_id, .. } => {
            app::with(|a| a.last_event_id = a.last_event_id.max(last_event_id));
        }
        ServerEvent::IncomingCall { .. }
        | ServerEvent::LogUpdated { .. }
        | ServerEvent::Presence { .. }
        | ServerEvent::Heartbeat { .. } => {}
    }
}
