//! The network half of the executor: the engine's HTTP requests through `fetch`, its
//! event socket through `WebSocket`. Answers go back into the engine as inputs.

use mpt_core::engine::{ConnId, HttpRequest, HttpResponse, Input};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CloseEvent, MessageEvent, Request, RequestInit, Response, WebSocket};

use crate::{app, chrome, host};

/// Runs `req` against the server and feeds the answer (status 0 when nothing came back).
pub fn http(req: HttpRequest) {
    wasm_bindgen_futures::spawn_local(async move {
        let id = req.id;
        let (status, body) = send(req).await.unwrap_or((0, String::new()));
        host::input(Input::Http(HttpResponse { id, status, body }));
    });
}

async fn send(req: HttpRequest) -> Result<(u16, String), JsValue> {
    let base = app::with(|a| a.server_url.clone());
    let init = RequestInit::new();
    init.set_method(req.method.as_str());
    let headers = web_sys::Headers::new()?;
    headers.set("Accept", "application/json")?;
    if let Some(b) = &req.body {
        headers.set("Content-Type", "application/json")?;
        init.set_body(&JsValue::from_str(b));
    }
    if let Some(t) = &req.bearer {
        headers.set("Authorization", &format!("Bearer {t}"))?;
    }
    init.set_headers(&headers);
    let url = format!("{}{}", base.trim_end_matches('/'), req.path);
    let request = Request::new_with_str_and_init(&url, &init)?;
    let resp: Response = JsFuture::from(chrome::fetch_request(&request)).await?.dyn_into()?;
    let text = JsFuture::from(resp.text()?).await?.as_string().unwrap_or_default();
    Ok((resp.status(), text))
}

/// `ws://…` / `wss://…` for the server's `http://…` / `https://…` origin, plus `path`.
pub fn ws_url(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    };
    format!("{ws}{path}")
}

thread_local! {
    static SOCKET: std::cell::RefCell<Option<(ConnId, WebSocket)>> = const { std::cell::RefCell::new(None) };
}

/// Opens the event socket `conn` (replacing any other).
pub fn open(conn: ConnId, path: &str) {
    close(None);
    let base = app::with(|a| a.server_url.clone());
    let ws = match WebSocket::new(&ws_url(&base, path)) {
        Ok(ws) => ws,
        Err(_) => {
            // Reported like a failed connection, after the current input is done.
            wasm_bindgen_futures::spawn_local(async move { host::input(Input::SocketClosed { conn, code: 1006 }) });
            return;
        }
    };
    let onopen = Closure::<dyn FnMut()>::new(move || host::input(Input::SocketOpened { conn }));
    ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
    onopen.forget();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        if let Some(text) = ev.data().as_string() {
            host::input(Input::SocketFrame { conn, text });
        }
    });
    ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    let onclose = Closure::<dyn FnMut(CloseEvent)>::new(move |ev: CloseEvent| {
        SOCKET.with(|s| {
            let mut s = s.borrow_mut();
            if s.as_ref().is_some_and(|(c, _)| *c == conn) {
                *s = None;
            }
        });
        host::input(Input::SocketClosed { conn, code: ev.code() });
    });
    ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
    onclose.forget();
    SOCKET.with(|s| *s.borrow_mut() = Some((conn, ws)));
}

/// Sends a text frame on `conn`.
pub fn send_frame(conn: ConnId, text: &str) {
    SOCKET.with(|s| {
        if let Some((c, ws)) = s.borrow().as_ref() {
            if *c == conn {
                let _ = ws.send_with_str(text);
            }
        }
    });
}

/// Closes `conn` (or whatever is open) without telling the engine: it asked for it.
pub fn close(conn: Option<ConnId>) {
    let ws = SOCKET.with(|s| {
        let mut s = s.borrow_mut();
        match s.as_ref() {
            Some((c, _)) if conn.is_none_or(|x| x == *c) => s.take().map(|(_, ws)| ws),
            _ => None,
        }
    });
    if let Some(ws) = ws {
        ws.set_onopen(None);
        ws.set_onmessage(None);
        ws.set_onclose(None);
        let _ = ws.close();
    }
}

#[cfg(test)]
mod tests {
    use super::ws_url;

    #[test]
    fn ws_urls() {
        assert_eq!(ws_url("http://127.0.0.1:8787/", "/api/events?ticket=t"), "ws://127.0.0.1:8787/api/events?ticket=t");
        assert_eq!(ws_url("https://x.test", "/api/events?ticket=t&last_event_id=4"), "wss://x.test/api/events?ticket=t&last_event_id=4");
    }
}
