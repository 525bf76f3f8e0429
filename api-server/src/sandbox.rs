//! Sandbox mode: one Twilio stand-in (`mpt_twilio::standin::StandIn`) per sandbox
//! tenant, signing with the tenant's auth token and calling our own public URL, so the
//! webhook path is exactly the real one. Its events are surfaced to agents over the
//! live-events socket.

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::tenant::Tenant;
use mpt_core::api::ServerEvent;
use mpt_twilio::standin::{StandIn, StandInConfig, StandInEvent, StandInEventKind};
use std::collections::HashMap;
use std::sync::Mutex;

/// The stand-ins, by tenant id.
pub struct Sandbox {
    speed: f64,
    standins: Mutex<HashMap<String, StandIn>>,
}

impl Sandbox {
    /// `speed`: 1.0 realistic timing, larger is faster.
    pub fn new(speed: f64) -> Sandbox {
        let speed = if speed.is_finite() && speed > 0.0 { speed } else { 1.0 };
        Sandbox { speed, standins: Mutex::new(HashMap::new()) }
    }
}

/// The tenant's stand-in (created on first use).
pub fn standin(state: &AppState, tenant: &Tenant) -> AppResult<StandIn> {
    if !tenant.sandbox {
        return Err(AppError::Conflict("this tenant is not in sandbox mode".into()));
    }
    let mut map = state.sandbox.standins.lock().map_err(|_| AppError::internal("sandbox lock poisoned"))?;
    if let Some(s) = map.get(&tenant.id) {
        if s.config().auth_token == tenant.auth_token {
            return Ok(s.clone());
        }
    }
    let mut cfg = StandInConfig::new(&tenant.account_sid, &tenant.auth_token, format!("{}/twilio/voice", state.public_url));
    cfg.time_scale = 1.0 / state.sandbox.speed;
    cfg.application_sid = Some(tenant.twiml_app_sid.clone());
    let s = StandIn::new(cfg).map_err(AppError::internal)?;
    spawn_forwarder(state.clone(), tenant.id.clone(), &s);
    map.insert(tenant.id.clone(), s.clone());
    Ok(s)
}

fn spawn_forwarder(state: AppState, tenant_id: String, s: &StandIn) {
    let mut rx = s.subscribe();
    let stop = crate::state::until_shutdown(state.shutdown.subscribe());
    tokio::spawn(async move {
        tokio::pin!(stop);
        loop {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Ok(ev) => {
                        if let Err(e) = forward(&state, &tenant_id, ev).await {
                            tracing::warn!(error = %e, "forwarding a sandbox event");
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "sandbox events lagged");
                    }
                    Err(_) => return,
                },
                _ = &mut stop => return,
            }
        }
    });
}

async fn forward(state: &AppState, tenant_id: &str, ev: StandInEvent) -> AppResult<()> {
    // The browsers' side first: devices ring, stop ringing or hang up.
    state.signal.on_event(tenant_id, &ev);
    let (kind, status, identity, detail) = match &ev.kind {
        StandInEventKind::Ringing => ("ringing", None, None, None),
        StandInEventKind::ClientRinging { identity, from, .. } => ("client_ringing", None, Some(identity.clone()), Some(from.clone())),
        StandInEventKind::Answered => ("answered", None, None, None),
        StandInEventKind::Completed { status, .. } => ("completed", Some(status.as_str().to_string()), None, None),
        StandInEventKind::Recording { .. } => ("recording", None, None, None),
        StandInEventKind::Digits { digits } => ("digits", None, None, Some(digits.clone())),
        StandInEventKind::WebhookFailed { .. } => ("webhook_failed", None, None, None),
    };
    // Route to the agent of the call (or the rung identity); else to the whole tenant.
    let parent = ev.parent_call_sid.clone().unwrap_or_else(|| ev.call_sid.clone());
    let mut agent: Option<String> = match &identity {
        Some(id) => crate::calls::agent_by_identity(state, tenant_id, id).await?,
        None => None,
    };
    if agent.is_none() {
        if let Some(row) = crate::calls::find_by_sid(state, tenant_id, &parent).await? {
            agent = sqlx::Row::try_get::<Option<String>, _>(&row, "agent_id")?;
        }
    }
    let event = ServerEvent::SandboxCall {
        call_sid: ev.call_sid,
        parent_call_sid: ev.parent_call_sid,
        kind: kind.to_string(),
        status,
        identity,
        detail,
    };
    state.hub.publish(tenant_id, agent.as_deref(), &event).await?;
    Ok(())
}
