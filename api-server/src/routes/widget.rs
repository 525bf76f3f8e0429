//! The iframe widget's page (`GET /widget?key=pk_…&contact=…`) and the widget's built
//! files (`GET /phone/v1/{file}`).
//!
//! The page is the one response that may be framed, and only by the origins its key's
//! tenant allows: its `Content-Security-Policy: frame-ancestors` is that list and it
//! carries no `X-Frame-Options` (every other response keeps `DENY` and `frame-ancestors
//! 'none'`, [`crate::http`]). An unknown or revoked key gets the ordinary 404 with those
//! headers, so it cannot be framed anywhere. No agent credential is ever in the URL: the
//! parent hands the embed token over by `postMessage` (`docs/embed.md`).

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::widget_assets::BASE_PATH;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/widget", get(page)).route("/phone/v1/{file}", get(asset))
}

/// Marks a response that may be framed (its CSP says by whom): [`crate::http`] adds
/// `X-Frame-Options: DENY` to every response without it.
#[derive(Debug, Clone, Copy)]
pub struct Frameable;

/// The iframe page's own script (built beside `widget.js`).
pub const FRAME_SCRIPT: &str = "frame.js";
/// The phone UI's stylesheet (built beside `widget.js`).
pub const STYLESHEET: &str = "mpt-ui.css";
/// Longest `contact` parameter kept.
const MAX_CONTACT: usize = 128;

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    key: String,
    #[serde(default)]
    contact: Option<String>,
}

/// JSON safe inside an HTML `<script type="application/json">` element.
fn json_for_html(v: &serde_json::Value) -> String {
    v.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

fn attr_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

async fn page(State(state): State<AppState>, Query(q): Query<PageQuery>) -> AppResult<Response> {
    let key = crate::widget_keys::resolve(&state, &q.key).await?.ok_or(AppError::NotFound)?;
    let tenant = crate::tenant::by_id(&state, &key.tenant_id).await?;
    let contact = q.contact.filter(|c| !c.is_empty() && c.len() <= MAX_CONTACT);
    let own = crate::tenant::own_origin(&state.public_url);
    let ws = own.replacen("http", "ws", 1);
    let config = serde_json::json!({
        "v": 1,
        "key": q.key,
        "api": state.public_url,
        "contactId": contact,
        "tenantName": tenant.name,
        "sandbox": tenant.sandbox,
        // The parent's origin must match one of these before anything is posted to it.
        "allowedOrigins": tenant.allowed_origins,
    });
    let script = |name: &str| {
        state.widget_assets.get(name).map(|a| {
            format!("<script src=\"{BASE_PATH}{name}\" integrity=\"{}\" crossorigin=\"anonymous\"></script>", attr_escape(&a.integrity))
        })
    };
    let style = state
        .widget_assets
        .get(STYLESHEET)
        .map(|a| {
            format!("<link rel=\"stylesheet\" href=\"{BASE_PATH}{STYLESHEET}\" integrity=\"{}\" crossorigin=\"anonymous\">", a.integrity)
        })
        .unwrap_or_default();
    // widget.js brings the engine loader and the helpers the frame script uses.
    let scripts = match (script(crate::widget_assets::ENTRY), script(FRAME_SCRIPT)) {
        (Some(entry), Some(frame)) => format!("{entry}{frame}"),
        _ => "<p class=\"mpt-unbuilt\">The phone widget is not built on this server.</p>".into(),
    };
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>MPT Phone</title>{style}</head><body><div id=\"mpt-phone\"></div>\
         <script type=\"application/json\" id=\"mpt-widget-config\">{}</script>{scripts}</body></html>\n",
        json_for_html(&config)
    );
    let csp = format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         media-src 'self' blob: data:; connect-src 'self' {ws} https://*.twilio.com wss://*.twilio.com; base-uri 'none'; \
         form-action 'none'; frame-ancestors {}",
        crate::tenant::frame_ancestors(&tenant.allowed_origins)
    );
    let mut resp = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_str(&csp).map_err(AppError::internal)?);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::HeaderName::from_static("permissions-policy"), HeaderValue::from_static("microphone=(self), autoplay=(self)"));
    resp.extensions_mut().insert(Frameable);
    Ok(resp)
}

/// A built widget file: immutable (the path is versioned: a release that changes the
/// files bumps it, and hosts pin `widget.js` by its SRI hash anyway), loadable from
/// any origin (CORS `*`, `Cross-Origin-Resource-Policy: cross-origin`) because host pages
/// load `widget.js` with SRI (`crossorigin="anonymous"`). No credentials are involved.
async fn asset(State(state): State<AppState>, Path(file): Path<String>) -> AppResult<Response> {
    let a = state.widget_assets.get(&file).ok_or(AppError::NotFound)?;
    let mut resp = a.body.clone().into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::HeaderName::from_static("cross-origin-resource-policy"), HeaderValue::from_static("cross-origin"));
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", a.integrity)) {
        h.insert(header::ETAG, v);
    }
    Ok(resp)
}
