//! The router, its middleware (request ids, logs, security headers, CORS, metrics)
//! and the server lifecycle (bind, ready line, graceful shutdown).

use crate::auth::PasswordParams;
use crate::config::Config;
use crate::error::AppError;
use crate::metrics::inc;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::net::SocketAddr;
use std::time::Duration;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

#[derive(Clone, Default)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _req: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&crate::crypto::new_id("req_")).ok().map(RequestId::new)
    }
}

/// The largest request body any route takes.
pub const MAX_BODY: usize = 64 * 1024;

/// The whole application router.
pub fn app(state: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    let headers: [(HeaderName, &'static str); 5] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'"),
        (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains"),
        (HeaderName::from_static("cross-origin-resource-policy"), "same-site"),
    ];
    let mut router = crate::routes::router()
        .fallback(|| async { AppError::NotFound })
        // Every body is small (the largest are notes, 10 KB); routes that take less set less.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(state.clone(), cors))
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .layer(middleware::from_fn(deny_framing));
    for (name, value) in headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)));
    }
    router
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(x_request_id, RandomRequestId))
        .with_state(state)
}

/// `X-Frame-Options: DENY` on every response but the iframe widget's page
/// ([`crate::routes::widget::Frameable`]), whose CSP `frame-ancestors` names who may frame it.
async fn deny_framing(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    if resp.extensions().get::<crate::routes::widget::Frameable>().is_none() {
        resp.headers_mut().insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    resp
}

async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    inc(&state.metrics.http_requests);
    if resp.status().is_server_error() {
        inc(&state.metrics.http_errors);
    }
    resp
}

/// CORS: only origins some tenant allows (the per-tenant check happens again in
/// [`crate::auth::Auth`], which refuses a request whose origin its tenant does not allow).
async fn cors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(origin) = req.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok()).map(str::to_string) else {
        return next.run(req).await;
    };
    let allowed = state.origins.allows_any(&state, &origin).await;
    let preflight = req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        if !allowed {
            return (StatusCode::FORBIDDEN, "").into_response();
        }
        let mut resp = StatusCode::NO_CONTENT.into_response();
        let h = resp.headers_mut();
        add_cors(h, &origin);
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type, x-request-id, mpt-widget-key"),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        return resp;
    }
    let mut resp = next.run(req).await;
    if allowed {
        add_cors(resp.headers_mut(), &origin);
    }
    resp
}

fn add_cors(h: &mut axum::http::HeaderMap, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.append(header::VARY, HeaderValue::from_static("Origin"));
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("x-request-id"));
    }
}

/// A running server.
pub struct Server {
    /// Base URL, e.g. `http://127.0.0.1:43123`.
    pub url: String,
    /// Its state (tests use it to seed data directly).
    pub state: AppState,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Asks the server to stop (WebSockets get a close frame) and waits for it.
    pub async fn shutdown(self) {
        let _ = self.state.shutdown.send(true);
        let _ = self.task.await;
    }

    /// Waits until the server stops (after a shutdown signal).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Opens the database, migrates, loads keys, seeds the demo tenant when asked, binds
/// and starts serving. Returns once listening.
pub async fn serve(cfg: Config) -> Result<Server, AppError> {
    serve_with(cfg, PasswordParams::default()).await
}

/// [`serve`] with explicit password-hashing parameters (tests use cheap ones).
pub async fn serve_with(cfg: Config, password_params: PasswordParams) -> Result<Server, AppError> {
    let listener = tokio::net::TcpListener::bind(cfg.bind).await.map_err(|e| AppError::Internal(format!("bind {}: {e}", cfg.bind)))?;
    let addr = listener.local_addr().map_err(AppError::internal)?;
    let url = format!("http://{addr}");
    let public_url = cfg.public_url.clone().unwrap_or_else(|| url.clone());
    let demo = cfg.demo;
    let grace = Duration::from_secs(cfg.shutdown_grace_secs);
    let state = AppState::open(cfg, public_url, password_params).await?;
    if state.db.backend == crate::db::Backend::Sqlite {
        crate::status_writer::StatusWriter::start(&state).await?;
    }
    if demo {
        crate::seed::seed_demo(&state).await?;
    }
    state.hub.spawn_pg_listener();
    state.hub.spawn_pruner(state.cfg.events_retention_hours);
    let router = app(state.clone());
    let mut stop = state.shutdown.subscribe();
    let mut stop_grace = state.shutdown.subscribe();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        });
        // Sockets get a close frame on shutdown; give open connections `grace` to drain.
        let grace_over = async move {
            let _ = stop_grace.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            r = std::future::IntoFuture::into_future(served) => {
                if let Err(e) = r {
                    tracing::error!(error = %e, "server error");
                }
            }
            _ = grace_over => tracing::warn!("shutdown grace period over; closing remaining connections"),
        }
    });
    Ok(Server { url, state, task })
}
