//! HTTP calls to the api-server (JSON in, JSON out, shapes from `mpt_core::api`).

use mpt_core::api::ErrorBody;
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

use crate::chrome;
use crate::error::BgError;

/// Sends `method path` to `base` with an optional JSON body and bearer token,
/// and parses the JSON answer (an empty body parses as `null`).
pub async fn request<B: Serialize, T: DeserializeOwned>(
    base: &str,
    method: &str,
    path: &str,
    body: Option<&B>,
    bearer: Option<&str>,
) -> Result<T, BgError> {
    let init = RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new()?;
    headers.set("Accept", "application/json")?;
    if let Some(b) = body {
        let text = serde_json::to_string(b).map_err(|e| BgError::BadMessage(e.to_string()))?;
        headers.set("Content-Type", "application/json")?;
        init.set_body(&text.into());
    }
    if let Some(t) = bearer {
        headers.set("Authorization", &format!("Bearer {t}"))?;
    }
    init.set_headers(&headers);
    let url = format!("{}{}", base.trim_end_matches('/'), path);
    let req = Request::new_with_str_and_init(&url, &init)?;
    let resp = JsFuture::from(chrome::fetch_request(&req))
        .await
        .map_err(|_| BgError::Unreachable(base.to_owned()))?;
    let resp: Response = resp.dyn_into()?;
    let text = JsFuture::from(resp.text()?)
        .await
        .map_err(|_| BgError::Unreachable(base.to_owned()))?
        .as_string()
        .unwrap_or_default();
    let status = resp.status();
    if !resp.ok() {
        return Err(match serde_json::from_str::<ErrorBody>(&text) {
            Ok(e) => BgError::Server {
                status,
                code: e.error.code,
                message: e.error.message,
            },
            Err(_) => BgError::Server {
                status,
                code: "http".into(),
                message: format!("The server answered HTTP {status}"),
            },
        });
    }
    let text = if text.trim().is_empty() { "null" } else { text.as_str() };
    serde_json::from_str(text).map_err(|e| BgError::BadResponse(e.to_string()))
}

/// `ws://…/api/events?ticket=…` for an `http://…` server URL (`wss` for `https`).
pub fn events_url(base: &str, ticket: &str, last_event_id: u64) -> String {
    let base = base.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    };
    let mut url = format!("{ws}/api/events?ticket={}", encode(ticket));
    if last_event_id > 0 {
        url.push_str(&format!("&last_event_id={last_event_id}"));
    }
    url
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_urls() {
        assert_eq!(
            events_url("http://127.0.0.1:8787/", "a.b+c", 0),
            "ws://127.0.0.1:8787/api/events?ticket=a.b%2Bc"
        );
        assert_eq!(
            events_url("https://x.test", "t", 42),
            "wss://x.test/api/events?ticket=t&last_event_id=42"
        );
    }
}
