//! Call logs: list (filters, cursor pagination), get, patch, CSV export, idempotent
//! upsert by client-generated id. Every route sees only the caller's [`Scope`]; the export
//! is for supervisors and admins, streamed page by page, rate-limited and audited.

use crate::auth::Auth;
use crate::calls::{self, ListQuery, Scope};
use crate::error::{AppError, AppJson, AppQuery, AppResult};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use mpt_core::api::{CallLog, CallLogPage, CallLogPatch, CallLogUpsert};
use mpt_core::PhoneErrorCode;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/calls", get(list))
        .route("/api/calls/export.csv", get(export))
        .route("/api/calls/{id}", get(get_one).patch(patch).put(upsert))
        .route("/api/agents", get(agents))
}

/// An agent as the call history's agent filter shows it.
#[derive(serde::Serialize)]
struct AgentName {
    id: String,
    name: String,
    disabled: bool,
}

/// `GET /api/agents`: the tenant's agents by name, for those who see every call
/// (supervisors and admins) to filter the history by agent. No emails, roles or identities:
/// managing agents stays with admins (`/api/admin/agents`).
async fn agents(State(state): State<AppState>, auth: Auth) -> AppResult<AppJson<Vec<AgentName>>> {
    if !auth.sees_all_calls() {
        return Err(AppError::phone_msg(PhoneErrorCode::NotAllowed, "the agent list is for supervisors and admins"));
    }
    use sqlx::Row;
    let rows = sqlx::query("SELECT id, name, disabled_at FROM agents WHERE tenant_id = $1 ORDER BY name, id")
        .bind(&auth.tenant_id)
        .fetch_all(&state.db.pool)
        .await?;
    let list = rows
        .iter()
        .map(|r| {
            Ok(AgentName {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                disabled: r.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(AppJson(list))
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
    let (items, next_cursor) = calls::list(&state, &auth.tenant_id, &Scope::of(&auth), &q, bidx, 200).await?;
    Ok(AppJson(CallLogPage { items, next_cursor }))
}

/// Rows read per page of an export: memory stays flat whatever the export's size.
const EXPORT_PAGE: i64 = 500;

async fn export(State(state): State<AppState>, auth: Auth, AppQuery(mut q): AppQuery<ListQuery>) -> AppResult<impl IntoResponse> {
    if !auth.sees_all_calls() {
        return Err(AppError::phone_msg(PhoneErrorCode::NotAllowed, "exports are for supervisors and admins"));
    }
    if !state.export_limit.check(&auth.actor) {
        crate::metrics::inc(&state.metrics.rate_limited);
        return Err(AppError::RateLimited);
    }
    let bidx = number_filter(&state, &auth, &q).await?;
    // The filters, never the number itself (phone numbers stay out of logs and audits).
    let detail = serde_json::json!({
        "direction": q.direction, "status": q.status, "agent_id": q.agent_id, "contact_id": q.contact_id,
        "since": q.since, "until": q.until, "number": q.number.is_some(),
    });
    crate::routes::audit(&state, &auth, "calls.export", None, Some(&detail.to_string())).await?;
    q.limit = Some(EXPORT_PAGE);
    q.cursor = None;
    let tenant_id = auth.tenant_id.clone();
    // Header first, then one chunk per page; the next page is read only when the client
    // has taken the previous one.
    let pages = futures_util::stream::unfold(Some(q), move |next| {
        let (state, tenant_id, bidx) = (state.clone(), tenant_id.clone(), bidx.clone());
        async move {
            let mut q = next?;
            match calls::list(&state, &tenant_id, &Scope::All, &q, bidx, EXPORT_PAGE).await {
                Ok((items, cursor)) => {
                    let chunk: String = items.iter().map(calls::csv_line).collect();
                    let following = cursor.map(|c| {
                        q.cursor = Some(c);
                        q
                    });
                    Some((Ok::<_, std::io::Error>(chunk), following))
                }
                Err(e) => {
                    tracing::error!(error = %e, "export page failed");
                    Some((Err(std::io::Error::other("export failed")), None))
                }
            }
        }
    });
    let header = futures_util::stream::once(async { Ok::<_, std::io::Error>(calls::CSV_HEADER.to_string()) });
    use futures_util::StreamExt;
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"calls.csv\"")],
        axum::body::Body::from_stream(header.chain(pages)),
    ))
}

/// A call in the caller's scope (others are indistinguishable from missing ones).
async fn visible(state: &AppState, auth: &Auth, id: &str) -> AppResult<CallLog> {
    let call = calls::get(state, &auth.tenant_id, id).await?;
    if !Scope::of(auth).allows(&call) {
        return Err(AppError::NotFound);
    }
    Ok(call)
}

async fn get_one(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> AppResult<AppJson<CallLog>> {
    Ok(AppJson(visible(&state, &auth, &id).await?))
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
    visible(&state, &auth, &id).await?;
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
    // Someone else's call under this id: refused without saying whose or what.
    match calls::get(&state, &auth.tenant_id, &id).await {
        Ok(existing) if !Scope::of(&auth).allows(&existing) => return Err(AppError::Conflict("this call id is taken".into())),
        Ok(_) | Err(AppError::NotFound) => {}
        Err(e) => return Err(e),
    }
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    let from = crate::dest::to_e164(&tenant, &u.from)?;
    let to = crate::dest::to_e164(&tenant, &u.to)?;
    let (call, created) = calls::upsert_from_client(&state, &auth.tenant_id, &agent_id, &id, &u, from, to).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, AppJson(call)))
}
