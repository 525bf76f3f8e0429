//! Twilio: the Voice access token for the browser, and the webhooks Twilio (or the
//! sandbox stand-in) calls: voice URL, status and recording callbacks. Every webhook
//! checks `X-Twilio-Signature` with the tenant's auth token against the public URL;
//! a bad or missing signature gets 403 and writes nothing.

use crate::auth::Auth;
use crate::calls::{self, NewCall, StatusOutcome};
use crate::db::now_ms;
use crate::error::{AppError, AppJson, AppResult};
use crate::metrics::inc;
use crate::state::AppState;
use crate::tenant::Tenant;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use mpt_core::api::{CallDirection, CallLog, DialParams, ServerEvent, TwilioTokenResponse};
use mpt_twilio::call_state::CallStatus;
use mpt_twilio::signature;
use mpt_twilio::token::{AccessToken, VoiceGrant};
use mpt_twilio::twiml::{CallEvent, Dial, DialTarget, Record, Response as Twiml};
use mpt_twilio::webhook::{parse_form_body, FormPairs, RecordingCallback, StatusCallback, VoiceRequest};
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/twilio/token", post(token))
        .route("/twilio/voice", post(voice))
        .route("/twilio/voice/after-dial", post(after_dial))
        .route("/twilio/status", post(status))
        .route("/twilio/recording", post(recording))
}

/// What an inbound caller hears when the tenant's subscription is not active.
pub const UNAVAILABLE: &str = "This number is not available right now. Please try again later.";

/// Token lifetime for the browser.
const TOKEN_TTL_SECS: u64 = 3600;

async fn token(State(state): State<AppState>, auth: Auth) -> AppResult<AppJson<TwilioTokenResponse>> {
    let agent_id = auth.agent_id()?;
    if !state.token_limit.check(agent_id) {
        inc(&state.metrics.rate_limited);
        return Err(AppError::RateLimited);
    }
    let identity = auth.identity.clone().ok_or(AppError::Forbidden)?;
    crate::billing::entitlements::require_active(&state, &auth.tenant_id, Some(agent_id)).await?;
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    let now = (now_ms() / 1000) as u64;
    // The session rides along to the voice webhook, which refuses calls of ended sessions.
    let outgoing_params = [(crate::voice_session::PARAM.to_string(), crate::voice_session::param(&state, agent_id, &auth.session))].into();
    let mut t = AccessToken::new(
        &tenant.account_sid,
        &tenant.api_key_sid,
        &tenant.api_key_secret,
        &identity,
        VoiceGrant { outgoing_application_sid: Some(tenant.twiml_app_sid.clone()), outgoing_params, incoming_allow: true },
    );
    // An embed session's Voice token does not outlive the embed token.
    let ttl = auth.expires_at.map_or(TOKEN_TTL_SECS, |exp| exp.saturating_sub(now).clamp(1, TOKEN_TTL_SECS));
    t.ttl_secs = ttl;
    let jwt = t.to_jwt(now).map_err(AppError::internal)?;
    inc(&state.metrics.tokens_minted);
    Ok(AppJson(TwilioTokenResponse {
        token: jwt,
        identity,
        ttl_seconds: ttl,
        expires_at: ((now + ttl) * 1000) as i64,
        sandbox: tenant.sandbox,
    }))
}

/// A Twilio webhook whose signature checked out: the tenant and the form.
pub struct SignedForm {
    /// The tenant (resolved by `AccountSid`, then proven by the signature).
    pub tenant: Arc<Tenant>,
    /// The form pairs.
    pub pairs: FormPairs,
}

impl FromRequest<AppState> for SignedForm {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let path_and_query = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
        let sig = req.headers().get(signature::HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = Bytes::from_request(req, state).await.map_err(|_| AppError::BadRequest("unreadable body".into()))?;
        let pairs = parse_form_body(&body);
        let reject = || {
            inc(&state.metrics.webhooks_bad_signature);
            AppError::Forbidden
        };
        let Some(sig) = sig else { return Err(reject()) };
        let account = pairs.iter().find(|(k, _)| k == "AccountSid").map(|(_, v)| v.clone());
        let Some(account) = account else { return Err(reject()) };
        let Some(tenant) = crate::tenant::by_account_sid(state, &account).await? else {
            return Err(reject());
        };
        let url = format!("{}{}", state.public_url, path_and_query);
        if !signature::validate_form(&tenant.auth_token, &url, &pairs, &sig) {
            tracing::warn!(tenant = %tenant.id, "webhook with a bad signature");
            return Err(reject());
        }
        inc(&state.metrics.webhooks_ok);
        Ok(SignedForm { tenant, pairs })
    }
}

fn twiml(doc: Twiml) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], doc.to_xml()).into_response()
}

fn say_and_hangup(text: &str) -> Response {
    twiml(Twiml::new().say(text, None).hangup())
}

fn status_url(state: &AppState) -> String {
    format!("{}/twilio/status", state.public_url)
}

fn voicemail(state: &AppState, tenant: &Tenant) -> Twiml {
    Twiml::new()
        .say(format!("You have reached {}. Nobody can take your call right now. Please leave a message after the tone.", tenant.name), None)
        .record(Record {
            action: None,
            max_length: Some(120),
            play_beep: Some(true),
            recording_status_callback: Some(format!("{}/twilio/recording", state.public_url)),
            transcribe: None,
        })
        .hangup()
}

async fn voice(State(state): State<AppState>, form: SignedForm) -> AppResult<Response> {
    let req = VoiceRequest::from_form(&form.pairs).map_err(|e| AppError::BadRequest(format!("voice webhook: {e}")))?;
    let tenant = form.tenant;
    match req.client_identity() {
        Some(identity) => outbound(&state, &tenant, &req, identity.to_string()).await,
        None => inbound(&state, &tenant, &req).await,
    }
}

/// A browser placed a call: check the agent and destination, log it, dial.
async fn outbound(state: &AppState, tenant: &Tenant, req: &VoiceRequest, identity: String) -> AppResult<Response> {
    let Some(agent_id) = calls::agent_by_identity(state, &tenant.id, &identity).await? else {
        return Ok(say_and_hangup("This caller is not allowed to place calls."));
    };
    // The session the call was placed in (Voice token grant or sandbox) must still be
    // live: a revoked embed token, widget key or sign-in stops calling at once, not when
    // its Twilio token expires. Without the parameter (tokens minted before it existed),
    // the agent must at least be enabled.
    let live = match req.param(crate::voice_session::PARAM) {
        Some(v) => match crate::voice_session::verify(state, &agent_id, v) {
            Some(session) => state.sessions.is_live(state, Some(&agent_id), &session).await?,
            None => false,
        },
        None => state.sessions.agent_enabled(state, &agent_id).await?,
    };
    if !live {
        return Ok(say_and_hangup(mpt_core::PhoneErrorCode::Unauthorized.message()));
    }
    if let Err(e) = crate::billing::entitlements::require_active(state, &tenant.id, Some(&agent_id)).await {
        return match e {
            AppError::Phone { code, .. } => Ok(say_and_hangup(code.message())),
            e => Err(e),
        };
    }
    // Both dial paths (SDK and sandbox stand-in) arrive here: one per-agent limit for both.
    if !state.dial_limit.check(&agent_id) {
        inc(&state.metrics.rate_limited);
        return Ok(say_and_hangup(mpt_core::PhoneErrorCode::RateLimited.message()));
    }
    // The client's parameters, read under the names both dial paths (SDK and sandbox)
    // send: one type in mpt-core.
    let dial = DialParams::from_params(|k| req.param(k));
    let raw_to = if dial.to.is_empty() { req.to.clone() } else { dial.to.clone() };
    let to = match crate::dest::check_destination(tenant, &raw_to) {
        Ok(n) => n,
        Err(_) => return Ok(say_and_hangup("The number you dialled is not valid or not allowed.")),
    };
    let caller_id = req
        .param("CallerId")
        .filter(|c| tenant.caller_ids.iter().any(|t| t == c))
        .map(str::to_string)
        .or_else(|| tenant.caller_ids.first().cloned());
    let Some(caller_id) = caller_id else {
        return Ok(say_and_hangup("No caller ID is configured for this account."));
    };
    if calls::find_by_sid(state, &tenant.id, &req.call_sid).await?.is_none() {
        let id =
            Some(dial.client_call_id.as_str()).filter(|c| calls::valid_client_id(c)).map(str::to_string).unwrap_or_else(calls::new_call_id);
        let nc = NewCall {
            id,
            agent_id: Some(agent_id),
            direction: CallDirection::Outbound,
            from: caller_id.clone(),
            to: to.clone(),
            // Context from the agent's page, bounded: it labels the log and grants nothing.
            contact_id: dial.contact_id.map(|s| bounded(s, 128)),
            contact_name: dial.contact_name.map(|s| bounded(s, 200)),
            crm: dial.crm.map(|s| bounded(s, 64)),
            call_sid: Some(req.call_sid.clone()),
            status: CallStatus::Initiated.as_str().to_string(),
            sandbox: tenant.sandbox,
            started_at: now_ms(),
        };
        match calls::insert(state, &tenant.id, &nc, calls::status_events).await {
            // The same CallSid raced in twice (Twilio retry): the other request logged it.
            Ok(_) => {}
            Err(e) if e.is_conflict() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(dial_number(state, caller_id, to))
}

/// `s` cut to at most `max` characters (on a char boundary).
fn bounded(s: String, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_owned(),
        None => s,
    }
}

fn dial_number(state: &AppState, caller_id: String, to: String) -> Response {
    twiml(Twiml::new().dial(Dial {
        caller_id: Some(caller_id),
        answer_on_bridge: true,
        targets: vec![DialTarget::Number {
            number: to,
            status_callback: Some(status_url(state)),
            status_callback_event: CallEvent::ALL.to_vec(),
            status_callback_method: None,
        }],
        ..Default::default()
    }))
}

/// Someone called a tenant number: ring the available agents with the matched
/// contact, fall back to voicemail.
async fn inbound(state: &AppState, tenant: &Tenant, req: &VoiceRequest) -> AppResult<Response> {
    // A lapsed tenant's callers hear a short message; nothing is logged or rung.
    if let Err(e) = crate::billing::entitlements::require_active(state, &tenant.id, None).await {
        return match e {
            AppError::Phone { .. } => Ok(say_and_hangup(UNAVAILABLE)),
            e => Err(e),
        };
    }
    let from = crate::dest::to_e164(tenant, &req.from).unwrap_or_else(|_| req.from.clone());
    let to = crate::dest::to_e164(tenant, &req.to).unwrap_or_else(|_| req.to.clone());
    let contact = crate::contacts::lookup(state, tenant, &from).await.ok().and_then(|l| l.into_iter().next());
    let existing = calls::find_by_sid(state, &tenant.id, &req.call_sid).await?;
    let call_id = match existing {
        Some(row) => calls::from_row(state, &row)?.id,
        None => {
            let nc = NewCall {
                id: calls::new_call_id(),
                agent_id: None,
                direction: CallDirection::Inbound,
                from: from.clone(),
                to: to.clone(),
                contact_id: contact.as_ref().map(|c| c.id.clone()),
                contact_name: contact.as_ref().map(|c| c.name.clone()),
                crm: contact.as_ref().map(|c| c.source.clone()),
                call_sid: Some(req.call_sid.clone()),
                status: CallStatus::Ringing.as_str().to_string(),
                sandbox: tenant.sandbox,
                started_at: now_ms(),
            };
            // The screen pop and the new log reach every agent of the tenant.
            let events = |call: &CallLog| {
                vec![
                    (
                        None,
                        ServerEvent::IncomingCall {
                            call_id: call.id.clone(),
                            call_sid: req.call_sid.clone(),
                            from: from.clone(),
                            to: to.clone(),
                            contact: contact.clone(),
                        },
                    ),
                    (None, ServerEvent::LogUpdated { call: call.clone() }),
                ]
            };
            calls::insert(state, &tenant.id, &nc, events).await?.id
        }
    };
    let rows = sqlx::query("SELECT id, identity FROM agents WHERE tenant_id = $1 AND available = 1 ORDER BY created_at LIMIT 10")
        .bind(&tenant.id)
        .fetch_all(&state.db.pool)
        .await?;
    let mut identities: Vec<String> = Vec::with_capacity(rows.len());
    for r in &rows {
        let (Ok(id), Ok(identity)) = (sqlx::Row::try_get::<String, _>(r, "id"), sqlx::Row::try_get::<String, _>(r, "identity")) else {
            continue;
        };
        // Agents beyond the paid seats are not rung.
        if crate::billing::entitlements::require_active(state, &tenant.id, Some(&id)).await.is_ok() {
            identities.push(identity);
        }
    }
    if identities.is_empty() {
        return Ok(twiml(voicemail(state, tenant)));
    }
    let mut params = vec![("CallId".to_string(), call_id), ("From".to_string(), from.clone())];
    if let Some(c) = &contact {
        params.push(("ContactId".into(), c.id.clone()));
        params.push(("ContactName".into(), c.name.clone()));
        if let Some(co) = &c.company {
            params.push(("ContactCompany".into(), co.clone()));
        }
        params.push(("ContactSource".into(), c.source.clone()));
    }
    let targets = identities
        .into_iter()
        .map(|identity| DialTarget::Client {
            identity,
            parameters: params.clone(),
            status_callback: Some(status_url(state)),
            status_callback_event: CallEvent::ALL.to_vec(),
        })
        .collect();
    Ok(twiml(Twiml::new().dial(Dial {
        answer_on_bridge: true,
        timeout: Some(state.cfg.ring_secs),
        action: Some(format!("{}/twilio/voice/after-dial", state.public_url)),
        targets,
        ..Default::default()
    })))
}

/// `<Dial action>`: after the agents' legs end. Answered → hang up; else voicemail.
async fn after_dial(State(state): State<AppState>, form: SignedForm) -> AppResult<Response> {
    let answered = form.pairs.iter().any(|(k, v)| k == "DialCallStatus" && v == "completed");
    if answered {
        return Ok(twiml(Twiml::new().hangup()));
    }
    Ok(twiml(voicemail(&state, &form.tenant)))
}

async fn status(State(state): State<AppState>, form: SignedForm) -> AppResult<Response> {
    let cb = StatusCallback::from_form(&form.pairs).map_err(|e| AppError::BadRequest(format!("status callback: {e}")))?;
    let parent = cb.parent_call_sid.clone().unwrap_or_else(|| cb.call_sid.clone());
    let identity = cb.to.as_deref().and_then(|t| t.strip_prefix("client:"));
    let outcome = calls::apply_status(&state, &form.tenant.id, &parent, &cb.call_sid, &cb.update(), identity).await?;
    if outcome == StatusOutcome::UnknownCall {
        tracing::warn!(tenant = %form.tenant.id, "status callback for an unknown call");
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn recording(State(state): State<AppState>, form: SignedForm) -> AppResult<Response> {
    let cb = RecordingCallback::from_form(&form.pairs).map_err(|e| AppError::BadRequest(format!("recording callback: {e}")))?;
    let found =
        calls::apply_recording(&state, &form.tenant.id, &cb.call_sid, &cb.recording_sid, &cb.recording_url, cb.recording_duration).await?;
    if !found {
        tracing::warn!(tenant = %form.tenant.id, "recording callback for an unknown call");
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
