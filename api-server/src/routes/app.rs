//! The standalone web app (`app/`, crate `mpt-app`): its page at `/` and at each of its
//! client-side routes (a reload or a shared link lands on the same page, the app's router
//! picks the view), and its built files under `/app/v1/`.
//!
//! The page has no inline script: the only script is the app's module loader, pinned by
//! its SRI hash, under a strict CSP (`script-src 'self' 'wasm-unsafe-eval'`); it may not be
//! framed. The phone's Voice SDK driver comes from the widget's files (`/phone/v1/`),
//! which are the same origin. No credential is ever in the page: the app signs in with a
//! form and keeps its tokens in memory.

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// Where the app's files are served.
pub const BASE_PATH: &str = "/app/v1/";
/// The app's entry script (an ES module that loads the wasm).
pub const ENTRY: &str = "app.js";
/// The app's own stylesheet.
pub const STYLESHEET: &str = "app.css";
/// The app's icon.
pub const ICON: &str = "icon.svg";

/// The app's client-side routes (`app/src/lib.rs` routes): each serves the page.
const PAGES: &[&str] = &[
    "/",
    "/calls",
    "/calls/{id}",
    "/voicemail",
    "/contacts",
    "/settings",
    "/admin",
    "/admin/agents",
    "/admin/keys",
    "/admin/origins",
    "/admin/tenant",
    "/admin/telephony",
    "/admin/billing",
    "/admin/sso",
    "/admin/connectors",
    "/admin/audit",
    // Where a CRM sends the agent back after "Sign in with SSO" (`app_session.rs`).
    "/sso",
];

pub fn router() -> Router<AppState> {
    let mut r = Router::new().route("/app/v1/{file}", get(asset));
    for p in PAGES {
        r = r.route(p, get(page));
    }
    r
}

fn attr_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

async fn page(State(state): State<AppState>) -> AppResult<Response> {
    let assets = &state.app_assets;
    let link = |name: &str| {
        assets
            .get(name)
            .map(|a| format!("<link rel=\"stylesheet\" href=\"{BASE_PATH}{name}\" integrity=\"{}\">", attr_escape(&a.integrity)))
            .unwrap_or_default()
    };
    let body = match assets.get(ENTRY) {
        Some(a) => format!(
            "<div id=\"mpt-app\" data-testid=\"app-root\"><p class=\"app-loading\">Loading MPT Phone…</p></div>\
             <script type=\"module\" src=\"{BASE_PATH}{ENTRY}\" integrity=\"{}\"></script>",
            attr_escape(&a.integrity)
        ),
        None => "<main><h1>MPT Phone</h1><p>The web app is not built on this server (run <code>cargo xtask build</code> \
                 and set MPT_APP_DIR).</p></main>"
            .into(),
    };
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>MPT Phone</title>{}{}{}</head>\
         <body>{body}</body></html>\n",
        if assets.get(ICON).is_some() { format!("<link rel=\"icon\" href=\"{BASE_PATH}{ICON}\">") } else { String::new() },
        link(crate::routes::widget::STYLESHEET),
        link(STYLESHEET),
    );
    let ws = crate::tenant::own_origin(&state.public_url).replacen("http", "ws", 1);
    let csp = format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         media-src 'self' blob: data:; connect-src 'self' {ws} https://*.twilio.com wss://*.twilio.com; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'"
    );
    let mut resp = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_str(&csp).map_err(AppError::internal)?);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::HeaderName::from_static("permissions-policy"), HeaderValue::from_static("microphone=(self), autoplay=(self)"));
    Ok(resp)
}

/// A built file of the app. Same-origin only (no CORS); revalidated on every load
/// (`no-cache` with the SRI hash as ETag) since the path is not content-addressed.
async fn asset(State(state): State<AppState>, Path(file): Path<String>) -> AppResult<Response> {
    let a = state.app_assets.get(&file).ok_or(AppError::NotFound)?;
    let mut resp = a.body.clone().into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", a.integrity)) {
        h.insert(header::ETAG, v);
    }
    Ok(resp)
}
