//! Call logs: list (filters, cursor pagination), get, patch, CSV export, idempotent
//! upsert by client-generated id.

use crate::auth::Auth;
use crate::calls::{self, ListQuery};
use crate::error::{AppError, AppJson, AppQuery, AppResult};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use mpt_core::api::{CallLog, CallLogPage, CallLogPatch, CallLogUpsert};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/calls", get(list))
        .route("/api/calls/export.csv", get(export))
        .route("/api/calls/{id}", get(get_one).patch(patch).put(upsert))
}

async fn number_filter(state: &AppState, auth: &Auth, q: &ListQuery) -> AppResult<Option<String>> {
    match &q.number {
        Some(n) => {
            let tenant = crate::tenant::by_id(state, &auth.tenant_id).await?;
            let e164 = crate::dest::to_e164(&tenant, n)?;
            Ok(Some(state.crypto.blind_index(&auth.tenant_id, &e164)))
        }
        None => Ok(None),
    }
}

async fn list(State(state): State<AppState>, auth: Auth, AppQuery(q): AppQuery<ListQuery>) -> AppResult<AppJson<CallLogPage>> {
    let bidx = number_filter(&state, &auth, &q).await?;
    let (items, next_cursor) = calls::list(&state, &auth.tenant_id, &q, bidx, 200).await?;
    Ok(AppJson(CallLogPage { items, next_cursor }))
}

async fn export(State(state): State<AppState>, auth: Auth, AppQuery(mut q): AppQuery<ListQuery>) -> AppResult<impl IntoResponse> {
    let bidx = number_filter(&state, &auth, &q).await?;
    let mut all = Vec::new();
    q.limit = Some(1000);
    loop {
        let (items, next) = calls::list(&state, &auth.tenant_id, &q, bidx.clone(), 1000).await?;
        all.extend(items);
        match next {
            Some(c) if all.len() < 100_000 => q.cursor = Some(c),
            _ => break,
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"calls.csv\""),
        ],
        calls::to_csv(&all),
    ))
}

async fn get_one(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> AppResult<AppJson<CallLog>> {
    Ok(AppJson(calls::get(&state, &auth.tenant_id, &id).await?))
}

const MAX_NOTES: usize = 10_000;

async fn patch(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    AppJson(p): AppJson<CallLogPatch>,
) -> AppResult<AppJson<CallLog>> {
    if p.notes.as_ref().is_some_and(|n| n.len() > MAX_NOTES) {
        return Err(AppError::BadRequest(format!("notes longer than {MAX_NOTES} bytes")));
    }
    if p.disposition.as_ref().is_some_and(|d| d.len() > 64) {
        return Err(AppError::BadRequest("disposition longer than 64 bytes".into()));
    }
    Ok(AppJson(calls::patch(&state, &auth.tenant_id, &id, p.notes.as_deref(), p.disposition.as_deref()).await?))
}

async fn upsert(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    AppJson(u): AppJson<CallLogUpsert>,
) -> AppResult<impl IntoResponse> {
    let agent_id = auth.agent_id()?.to_string();
    if !calls::valid_client_id(&id) {
        return Err(AppError::BadRequest("call id must be 8-64 characters of letters, digits, '-' or '_'".into()));
    }
    if u.notes.as_ref().is_some_and(|n| n.len() > MAX_NOTES) {
        return Err(AppError::BadRequest(format!("notes longer than {MAX_NOTES} bytes")));
    }
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    let from = crate::dest::to_e164(&tenant, &u.from)?;
    let to = crate::dest::to_e164(&tenant, &u.to)?;
    let (call, created) = calls::upsert_from_client(&state, &auth.tenant_id, &agent_id, &id, &u, from, to).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, AppJson(call)))
}
