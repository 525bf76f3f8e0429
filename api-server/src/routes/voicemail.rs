//! The voicemail inbox (`GET /api/voicemails`), marking one heard
//! (`PUT /api/voicemails/{id}/heard`) and the authorised recording proxy
//! (`GET /api/calls/{id}/recording`). Everything within the caller's [`Scope`]: a call
//! the caller cannot see is a 404 like a missing one.

use crate::auth::Auth;
use crate::calls::voicemail::{self, Voicemail};
use crate::calls::Scope;
use crate::error::{AppError, AppJson, AppQuery, AppResult};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/voicemails", get(list))
        .route("/api/voicemails/{id}/heard", put(heard))
        .route("/api/calls/{id}/recording", get(recording))
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    limit: Option<i64>,
}

#[derive(Serialize)]
struct VoicemailPage {
    items: Vec<Voicemail>,
}

async fn list(State(state): State<AppState>, auth: Auth, AppQuery(q): AppQuery<ListQuery>) -> AppResult<AppJson<VoicemailPage>> {
    let items = voicemail::list(&state, &auth.tenant_id, &Scope::of(&auth), q.limit.unwrap_or(50)).await?;
    Ok(AppJson(VoicemailPage { items }))
}

#[derive(Deserialize)]
struct Heard {
    heard: bool,
}

#[derive(Serialize)]
struct HeardAt {
    heard_at: Option<i64>,
}

async fn heard(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    AppJson(h): AppJson<Heard>,
) -> AppResult<AppJson<HeardAt>> {
    let heard_at = voicemail::mark_heard(&state, &auth.tenant_id, &Scope::of(&auth), &id, h.heard).await?;
    Ok(AppJson(HeardAt { heard_at }))
}

/// The recording's audio, fetched by the server (never a Twilio URL in the browser);
/// private to the caller and never cached.
async fn recording(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> AppResult<Response> {
    let call = crate::calls::get(&state, &auth.tenant_id, &id).await?;
    if !Scope::of(&auth).allows(&call) {
        return Err(AppError::NotFound);
    }
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    let media = crate::recording::media(&state, &tenant, &call).await?;
    let mut resp = media.body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(&media.content_type).map_err(AppError::internal)?);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if media.sandbox {
        h.insert(header::HeaderName::from_static("mpt-sandbox-recording"), HeaderValue::from_static("1"));
    }
    Ok(resp)
}
