//! MPT Phone's demo CRMs: two sites on two loopback origins, realistic enough to
//! break a naive click-to-call, with a ground truth for the end-to-end tests.
//!
//! - MPT-CRM ([`mpt`]): contact list with client-side paging, contact detail,
//!   `/stress` (10,000 rows), `/stress-csp` (the same under a strict CSP), `/strict-csp`.
//! - AMS-APP-CRM ([`ams`]): an insurance agency's clients, policies, renewals.
//! - Both: the contacts REST API ([`api`]) and `/__truth/{path}` (the numbers a
//!   page shows, built by the same code that writes the page: [`page::Page`]).

pub mod ams;
pub mod api;
pub mod args;
pub mod data;
pub mod date;
pub mod error;
pub mod mpt;
pub mod page;
pub mod phone;
pub mod rng;
mod statics;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};

pub use crate::data::Dataset;
pub use crate::error::Error;
use crate::page::{PageTruth, Site};

/// A rendered page: markup, truth, and the CSP it must be served with.
#[derive(Debug)]
pub struct Rendered {
    /// The HTML.
    pub html: String,
    /// What it shows.
    pub truth: PageTruth,
    /// `Content-Security-Policy` header value, if any.
    pub csp: Option<&'static str>,
}

/// Shared state of one site's router.
#[derive(Debug, Clone)]
pub struct AppState {
    /// All demo data.
    pub data: Arc<Dataset>,
    /// Which site this router serves.
    pub site: Site,
    /// This site's origin, `http://127.0.0.1:8801` (used in API links).
    pub base: String,
}

impl AppState {
    /// Renders `path` of this site.
    pub fn render(&self, path: &str, query: &BTreeMap<String, String>) -> Result<Rendered, Error> {
        match self.site {
            Site::Mpt => mpt::render(&self.data.mpt, path, query),
            Site::Ams => ams::render(&self.data.ams, path),
        }
    }

    /// Every page path of this site.
    pub fn pages(&self) -> Vec<String> {
        match self.site {
            Site::Mpt => mpt::pages(&self.data.mpt),
            Site::Ams => ams::pages(&self.data.ams),
        }
    }
}

type Q = Query<BTreeMap<String, String>>;

async fn page(State(st): State<AppState>, uri: Uri, Query(q): Q) -> Response {
    match st.render(uri.path(), &q) {
        Ok(r) => {
            let mut res = Html(r.html).into_response();
            if let Some(csp) = r.csp {
                res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
            }
            res
        }
        Err(e) => {
            let status = match e {
                Error::BadRequest(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::NOT_FOUND,
            };
            let body = format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title>\
                 <link rel=\"icon\" href=\"/static/favicon.svg\"></head><body><h1>{}</h1><p>{}</p></body></html>",
                status.as_u16(),
                page::esc(&e.to_string())
            );
            (status, Html(body)).into_response()
        }
    }
}

async fn truth(State(st): State<AppState>, Path(path): Path<String>, Query(mut q): Q) -> Result<Json<PageTruth>, Error> {
    let summary = q.remove("summary").is_some_and(|v| v != "0" && v != "false");
    let r = st.render(&format!("/{path}"), &q)?;
    Ok(Json(if summary { r.truth.summary() } else { r.truth }))
}

async fn truth_index(State(st): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "site": st.site, "origin": st.base, "pages": st.pages() }))
}

async fn api_contacts(State(st): State<AppState>, headers: HeaderMap, Query(q): Q) -> Result<Json<serde_json::Value>, Error> {
    api::authorize(&headers)?;
    let lookup = api::Lookup::parse(&q)?;
    Ok(Json(match st.site {
        Site::Mpt => api::mpt_contacts(&st.data.mpt, &lookup, &st.base),
        Site::Ams => api::ams_contacts(&st.data.ams, &lookup, &st.base),
    }))
}

async fn contacts_json(State(st): State<AppState>, Query(q): Q) -> Result<Json<mpt::RowsJson>, Error> {
    let lq = mpt::ListQuery::parse(&q)?;
    Ok(Json(mpt::contacts_json(&st.data.mpt, &lq)))
}

async fn renewals_json(State(st): State<AppState>) -> Json<Vec<ams::RenewalJson>> {
    Json(ams::renewals_json(&st.data.ams))
}

async fn static_file(Path(name): Path<String>) -> Result<Response, Error> {
    let (body, mime) = statics::get(&name).ok_or_else(|| Error::NotFound(format!("/static/{name}")))?;
    Ok(([(header::CONTENT_TYPE, mime)], body).into_response())
}

async fn no_store(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut res = next.run(req).await;
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The router of one site.
pub fn router(state: AppState) -> Router {
    let home = match state.site {
        Site::Mpt => "/contacts",
        Site::Ams => "/clients",
    };
    let mut r = Router::new()
        .route("/", get(move || async move { Redirect::to(home) }))
        .route("/static/{name}", get(static_file))
        // Third-party demo pages embedding the phone (`cargo xtask run` prints them).
        .route("/embed/component", get(|| async { axum::response::Html(include_str!("../sites/embed/component.html")) }))
        .route("/embed/iframe", get(|| async { axum::response::Html(include_str!("../sites/embed/iframe.html")) }))
        .route("/api/contacts", get(api_contacts))
        .route("/__truth", get(truth_index))
        .route("/__truth/{*path}", get(truth));
    r = match state.site {
        Site::Mpt => r.route("/contacts.json", get(contacts_json)),
        Site::Ams => r.route("/renewals.json", get(renewals_json)),
    };
    r.fallback(get(page)).layer(axum::middleware::from_fn(no_store)).with_state(state)
}

/// Binds both sites on 127.0.0.1, prints the ready line, serves until killed.
pub async fn run(args: args::Args) -> Result<(), Error> {
    let mpt_listener = tokio::net::TcpListener::bind(("127.0.0.1", args.mpt_port)).await?;
    let ams_listener = tokio::net::TcpListener::bind(("127.0.0.1", args.ams_port)).await?;
    let mpt_base = format!("http://{}", mpt_listener.local_addr()?);
    let ams_base = format!("http://{}", ams_listener.local_addr()?);
    let data = Arc::new(Dataset::generate());
    let mpt = router(AppState { data: data.clone(), site: Site::Mpt, base: mpt_base.clone() });
    let ams = router(AppState { data, site: Site::Ams, base: ams_base.clone() });
    let ready = serde_json::json!({ "event": "listening", "mpt_crm": mpt_base, "ams_crm": ams_base });
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{ready}")?;
        out.flush()?;
    }
    if args.exit_with_stdin {
        tokio::spawn(async {
            use tokio::io::AsyncReadExt;
            let mut stdin = tokio::io::stdin();
            let mut buf = [0u8; 256];
            while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
            std::process::exit(0);
        });
    }
    let a = tokio::spawn(async move { axum::serve(mpt_listener, mpt).await });
    let b = tokio::spawn(async move { axum::serve(ams_listener, ams).await });
    let (ra, rb) = tokio::join!(a, b);
    for r in [ra, rb] {
        r.map_err(|e| Error::Io(std::io::Error::other(e)))??;
    }
    Ok(())
}
