//! Voicemail: an inbound call the server answered with `<Record>` (no agent took it) and
//! whose recording callback arrived. The inbox lists them newest first within the
//! caller's [`Scope`] (agents: unanswered inbound calls are everyone's to pick up), and
//! each can be marked heard (or new again) by whoever sees it.

use super::row::{from_row, COLS};
use super::visibility::Scope;
use crate::db::now_ms;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use mpt_core::api::CallDirection;
use serde::Serialize;
use sqlx::Row;

/// One voicemail as the inbox shows it: never the recording's Twilio URL (the audio is
/// played through `GET /api/calls/{id}/recording`).
#[derive(Debug, Clone, Serialize)]
pub struct Voicemail {
    /// The call's id.
    pub id: String,
    /// The caller (E.164).
    pub from: String,
    /// The number called.
    pub to: String,
    /// Matched contact.
    pub contact_id: Option<String>,
    /// Matched contact's name.
    pub contact_name: Option<String>,
    /// When the call came in (Unix ms).
    pub started_at: i64,
    /// Length of the message in seconds.
    pub duration_seconds: Option<u64>,
    /// When it was marked heard (Unix ms); `None` while new.
    pub heard_at: Option<i64>,
}

/// The newest `limit` voicemails the caller may see.
pub async fn list(state: &AppState, tenant_id: &str, scope: &Scope, limit: i64) -> AppResult<Vec<Voicemail>> {
    let mut sql = format!(
        "SELECT {COLS}, voicemail_heard_at FROM calls WHERE tenant_id = $1 AND direction = 'inbound' AND recording_sid IS NOT NULL"
    );
    let agent = scope.condition().map(|(cond, agent)| {
        sql.push_str(&format!(" AND {}", cond.replace('?', "$2")));
        agent
    });
    sql.push_str(&format!(" ORDER BY started_at DESC, id DESC LIMIT {}", limit.clamp(1, 200)));
    let mut q = sqlx::query(&sql).bind(tenant_id);
    if let Some(a) = agent {
        q = q.bind(a);
    }
    let rows = q.fetch_all(&state.db.pool).await?;
    rows.iter()
        .map(|row| {
            let c = from_row(state, row)?;
            Ok(Voicemail {
                id: c.id,
                from: c.from,
                to: c.to,
                contact_id: c.contact_id,
                contact_name: c.contact_name,
                started_at: c.started_at,
                duration_seconds: c.recording_duration_seconds,
                heard_at: row.try_get("voicemail_heard_at")?,
            })
        })
        .collect()
}

/// Marks the voicemail of call `id` heard (or new again). A call the caller cannot see,
/// or one without a voicemail, is 404.
pub async fn mark_heard(state: &AppState, tenant_id: &str, scope: &Scope, id: &str, heard: bool) -> AppResult<Option<i64>> {
    let call = super::get(state, tenant_id, id).await?;
    if !scope.allows(&call) || call.direction != CallDirection::Inbound || call.recording_sid.is_none() {
        return Err(AppError::NotFound);
    }
    let at = heard.then(now_ms);
    // Every write to `calls` holds the writer lock (ARCHITECTURE.md).
    let writer = state.db.write_lock().await;
    sqlx::query("UPDATE calls SET voicemail_heard_at = $1 WHERE tenant_id = $2 AND id = $3")
        .bind(at)
        .bind(tenant_id)
        .bind(id)
        .execute(&state.db.pool)
        .await?;
    drop(writer);
    Ok(at)
}
