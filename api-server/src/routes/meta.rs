//! Health, readiness, metrics, OpenAPI and the client configuration.

use crate::auth::Auth;
use crate::error::{AppError, AppJson, AppResult};
use crate::state::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use mpt_core::api::ClientConfig;
use std::net::SocketAddr;
use subtle::ConstantTimeEq;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { Json(serde_json::json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(|| async { Json(crate::openapi::document()) }))
        .route("/api/config", get(config))
}

async fn readyz(State(state): State<AppState>) -> AppResult<impl IntoResponse> {
    state.db.ping().await.map_err(|e| AppError::Internal(format!("readyz: {e}")))?;
    Ok(Json(serde_json::json!({"status": "ready"})))
}

/// Prometheus metrics: with `MPT_METRICS_TOKEN`, for that bearer token only; without
/// one, for clients on loopback only (a scraper on the same host). Anyone else gets a 404,
/// as if there were nothing here.
async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> AppResult<impl IntoResponse> {
    let allowed = match &state.cfg.metrics_token {
        Some(expected) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| bool::from(given.as_bytes().ct_eq(expected.as_bytes()))),
        None => crate::client_ip::client_ip(peer.ip(), &headers, &state.cfg.trusted_proxies).is_loopback(),
    };
    if !allowed {
        return Err(AppError::NotFound);
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()))
}

/// `/api/config`: the phone's configuration, plus where the embeddable widget's script is
/// and its Subresource Integrity hash (`docs/embed.md`).
#[derive(serde::Serialize)]
struct ConfigResponse {
    #[serde(flatten)]
    config: ClientConfig,
    widget: WidgetScript,
}

#[derive(serde::Serialize)]
struct WidgetScript {
    /// `<public url>/phone/v1/widget.js`.
    script_url: String,
    /// `sha384-…`, or null when this server has no widget build.
    integrity: Option<String>,
}

async fn config(State(state): State<AppState>, auth: Auth) -> AppResult<AppJson<ConfigResponse>> {
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    let identity = match &auth.agent_id {
        Some(id) => crate::auth::load_agent(&state, &tenant.id, id).await?.identity,
        None => String::new(),
    };
    let config = ClientConfig {
        tenant_id: tenant.id.clone(),
        tenant_name: tenant.name.clone(),
        sandbox: tenant.sandbox,
        caller_ids: tenant.caller_ids.clone(),
        allowed_countries: tenant.allowed_countries.clone(),
        identity,
        dispositions: tenant.dispositions.clone(),
        allowed_origins: tenant.allowed_origins.clone(),
    };
    let widget = WidgetScript {
        script_url: format!("{}{}{}", state.public_url, crate::widget_assets::BASE_PATH, crate::widget_assets::ENTRY),
        integrity: state.widget_assets.entry_integrity(),
    };
    Ok(AppJson(ConfigResponse { config, widget }))
}
