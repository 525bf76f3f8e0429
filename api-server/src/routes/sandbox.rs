//! Sandbox calls (no Twilio account): the browser's "connect", hang-up, answer and
//! reject of a ringing inbound call, and placing an inbound call.

use crate::auth::Auth;
use crate::error::{AppError, AppJson, AppResult};
use crate::sandbox::standin;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use mpt_core::api::{DialParams, SandboxCallRequest, SandboxCallResponse, SandboxInboundRequest};
use mpt_twilio::TwilioError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/sandbox/calls", post(connect))
        .route("/api/sandbox/calls/{sid}/hangup", post(hangup))
        .route("/api/sandbox/calls/{sid}/answer", post(answer))
        .route("/api/sandbox/calls/{sid}/reject", post(reject))
        .route("/api/sandbox/inbound", post(inbound))
}

fn standin_error(e: TwilioError) -> AppError {
    match e {
        TwilioError::UnknownCall(_) => AppError::NotFound,
        TwilioError::InvalidCallAction { reason, .. } => AppError::Conflict(reason),
        TwilioError::InvalidInput { field, reason } => AppError::BadRequest(format!("{field}: {reason}")),
        e => AppError::internal(e),
    }
}

async fn connect(
    State(state): State<AppState>,
    auth: Auth,
    AppJson(req): AppJson<SandboxCallRequest>,
) -> AppResult<(StatusCode, AppJson<SandboxCallResponse>)> {
    let agent_id = auth.agent_id()?;
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    let agent = crate::auth::load_agent(&state, &tenant.id, agent_id).await?;
    crate::billing::entitlements::require_active(&state, &tenant.id, Some(agent_id)).await?;
    let to = crate::dest::check_destination(&tenant, &req.to)?;
    let s = standin(&state, &tenant)?;
    let mut params = req.params.clone();
    params.retain(|k, _| k != DialParams::TO && k != DialParams::CLIENT_CALL_ID && k != crate::voice_session::PARAM);
    params.insert("To".into(), to);
    // As a Voice token's grant would: the voice webhook checks this session is live.
    params.insert(crate::voice_session::PARAM.into(), crate::voice_session::param(&state, agent_id, &auth.session));
    if let Some(id) = &req.client_call_id {
        if !crate::calls::valid_client_id(id) {
            return Err(AppError::BadRequest("client_call_id must be 8-64 characters of letters, digits, '-' or '_'".into()));
        }
        params.insert(DialParams::CLIENT_CALL_ID.into(), id.clone());
    }
    let handle = s.place_outbound(&agent.identity, params).await.map_err(standin_error)?;
    Ok((StatusCode::CREATED, AppJson(SandboxCallResponse { call_sid: handle.call_sid })))
}

/// The call (parent or child SID) must belong to the caller's tenant.
async fn owned(state: &AppState, tenant_id: &str, sid: &str) -> AppResult<()> {
    let row = sqlx::query("SELECT id FROM calls WHERE tenant_id = $1 AND (call_sid = $2 OR child_call_sid = $2)")
        .bind(tenant_id)
        .bind(sid)
        .fetch_optional(&state.db.pool)
        .await?;
    row.map(|_| ()).ok_or(AppError::NotFound)
}

async fn hangup(State(state): State<AppState>, auth: Auth, Path(sid): Path<String>) -> AppResult<StatusCode> {
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    owned(&state, &tenant.id, &sid).await?;
    standin(&state, &tenant)?.hangup(&sid).map_err(standin_error)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn answer(State(state): State<AppState>, auth: Auth, Path(sid): Path<String>) -> AppResult<StatusCode> {
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    let agent = crate::auth::load_agent(&state, &tenant.id, auth.agent_id()?).await?;
    owned(&state, &tenant.id, &sid).await?;
    standin(&state, &tenant)?.answer_client(&sid, &agent.identity).map_err(standin_error)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reject(State(state): State<AppState>, auth: Auth, Path(sid): Path<String>) -> AppResult<StatusCode> {
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    auth.agent_id()?;
    owned(&state, &tenant.id, &sid).await?;
    standin(&state, &tenant)?.reject(&sid).map_err(standin_error)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn inbound(
    State(state): State<AppState>,
    auth: Auth,
    AppJson(req): AppJson<SandboxInboundRequest>,
) -> AppResult<(StatusCode, AppJson<SandboxCallResponse>)> {
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    let from = crate::dest::to_e164(&tenant, &req.from)?;
    let to = match &req.to {
        Some(t) => {
            let t = crate::dest::to_e164(&tenant, t)?;
            if !tenant.caller_ids.contains(&t) {
                return Err(AppError::BadRequest("`to` is not one of this tenant's numbers".into()));
            }
            t
        }
        None => tenant.caller_ids.first().cloned().ok_or_else(|| AppError::BadRequest("the tenant has no number".into()))?,
    };
    let handle = standin(&state, &tenant)?.inbound(&from, &to).await.map_err(standin_error)?;
    Ok((StatusCode::CREATED, AppJson(SandboxCallResponse { call_sid: handle.call_sid })))
}
