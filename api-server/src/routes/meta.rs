//! Health, readiness, metrics, OpenAPI and the client configuration.

use crate::auth::Auth;
use crate::error::{AppError, AppJson, AppResult};
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use mpt_core::api::ClientConfig;

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

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}

async fn config(State(state): State<AppState>, auth: Auth) -> AppResult<AppJson<ClientConfig>> {
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    let identity = match &auth.agent_id {
        Some(id) => crate::auth::load_agent(&state, &tenant.id, id).await?.identity,
        None => String::new(),
    };
    Ok(AppJson(ClientConfig {
        tenant_id: tenant.id.clone(),
        tenant_name: tenant.name.clone(),
        sandbox: tenant.sandbox,
        caller_ids: tenant.caller_ids.clone(),
        allowed_countries: tenant.allowed_countries.clone(),
        identity,
    }))
}
