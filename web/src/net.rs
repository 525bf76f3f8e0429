//! The network half: the engine's HTTP requests through `fetch` (with the publishable
//! widget key beside the bearer token, `docs/embed.md`), its event socket through
//! `WebSocket` opened with a single-use ticket. Answers go back into the engine as inputs.

use std::cell::RefCell;

use mpt_core::engine::{ConnId, HttpRequest, HttpResponse, Input};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CloseEvent, MessageEvent, Request, RequestInit, Response, WebSocket};

use crate::host;

/// Where the server is and which widget key this page presents.
#[derive(Debug, Clone, Default)]
pub struct Server {
    /// Base URL, e.g. `https://phone.example.com`.
    pub api: String,
    /// The publishable widget key (`pk_…`).
    pub widget_key: String,
}

thread_local! {
    static SERVER: RefCell<Server> = RefCell::new(Server::default());
    static SOCKET: RefCell<Option<(ConnId, WebSocket)>> = const { RefCell::new(None) };
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_request(req: &Request) -> js_sys::Promise;
}

/// Sets the server and key (before the engine starts).
pub fn configure(server: Server) {
    SERVER.with(|s| *s.borrow_mut() = server);
}

/// The server's base URL.
pub fn api() -> String {
    SERVER.with(|s| s.borrow().api.clone())
}

/// Runs `req` against the server and feeds the answer (status 0 when nothing came back).
pub fn http(req: HttpRequest) {
    wasm_bindgen_futures::spawn_local(async move {
        let id = req.id;
        let (status, body) = send(req).await.unwrap_or((0, String::new()));
        host::input(Input::Http(HttpResponse { id, status, body }));
    });
}

async fn send(req: HttpRequest) -> Result<(u16, String), JsValue> {
    let server = SERVER.with(|s| s.borrow().clone());
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
        // An embed token works only beside the tenant's live widget key.
        if !server.widget_key.is_empty() {
            headers.set("MPT-Widget-Key", &server.widget_key)?;
        }
    }
    init.set_headers(&headers);
    // No cookies: the phone's credentials are the bearer token and the key.
    init.set_credentials(web_sys::RequestCredentials::Omit);
    let url = format!("{}{}", server.api.trim_end_matches('/'), req.path);
    let request = Request::new_with_str_and_init(&url, &init)?;
    let resp: Response = JsFuture::from(fetch_request(&request)).await?.dyn_into()?;
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

/// Opens the event socket `conn` (replacing any other).
pub fn open(conn: ConnId, path: &str) {
    close(None);
    let ws = match WebSocket::new(&ws_url(&api(), path)) {
        Ok(ws) => ws,
        Err(_) => {
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
