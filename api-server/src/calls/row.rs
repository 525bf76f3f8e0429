//! Rows of `calls`: the selected columns, decryption of numbers and notes, and ids.

use super::Legs;
use crate::crypto::new_id;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use mpt_core::api::{CallDirection, CallLog};
use sqlx::any::AnyRow;
use sqlx::Row;

/// Values for a new call log.
#[derive(Debug, Clone)]
pub struct NewCall {
    /// Id (client-generated or new).
    pub id: String,
    /// Agent.
    pub agent_id: Option<String>,
    /// Direction.
    pub direction: CallDirection,
    /// From (E.164).
    pub from: String,
    /// To (E.164).
    pub to: String,
    /// Contact id.
    pub contact_id: Option<String>,
    /// Contact name.
    pub contact_name: Option<String>,
    /// CRM.
    pub crm: Option<String>,
    /// Parent call SID.
    pub call_sid: Option<String>,
    /// Initial status.
    pub status: String,
    /// Sandbox call.
    pub sandbox: bool,
    /// Start time (ms).
    pub started_at: i64,
}

pub(super) fn ctx(tenant_id: &str, call_id: &str, what: &str) -> String {
    format!("call:{tenant_id}:{call_id}:{what}")
}

/// Validates a client-generated id: 8–64 chars of `[A-Za-z0-9_-]`.
pub fn valid_client_id(id: &str) -> bool {
    (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub(super) fn dir_str(d: CallDirection) -> &'static str {
    match d {
        CallDirection::Inbound => "inbound",
        CallDirection::Outbound => "outbound",
    }
}

/// Columns selected for a [`CallLog`].
pub const COLS: &str = "tenant_id, id, agent_id, direction, from_enc, to_enc, contact_id, contact_name, crm, call_sid, \
    child_call_sid, status, progress, status_history, started_at, answered_at, ended_at, duration_s, recording_sid, \
    recording_url, recording_duration_s, notes_enc, disposition, sandbox, updated_at";

/// Builds a [`CallLog`] from a row (decrypting numbers and notes).
pub fn from_row(state: &AppState, row: &AnyRow) -> AppResult<CallLog> {
    let tid: String = row.try_get("tenant_id")?;
    let id: String = row.try_get("id")?;
    let open = |what: &str, v: &str| state.crypto.open(&ctx(&tid, &id, what), v).map_err(AppError::internal);
    let notes = match row.try_get::<Option<String>, _>("notes_enc")? {
        Some(n) => Some(open("notes", &n)?),
        None => None,
    };
    let u = |col: &str| -> AppResult<Option<u64>> { Ok(row.try_get::<Option<i64>, _>(col)?.map(|v| v.max(0) as u64)) };
    Ok(CallLog {
        direction: if row.try_get::<String, _>("direction")? == "inbound" { CallDirection::Inbound } else { CallDirection::Outbound },
        agent_id: row.try_get("agent_id")?,
        from: open("from", &row.try_get::<String, _>("from_enc")?)?,
        to: open("to", &row.try_get::<String, _>("to_enc")?)?,
        contact_id: row.try_get("contact_id")?,
        contact_name: row.try_get("contact_name")?,
        crm: row.try_get("crm")?,
        call_sid: row.try_get("call_sid")?,
        child_call_sid: row.try_get("child_call_sid")?,
        status: row.try_get("status")?,
        status_history: serde_json::from_str(&row.try_get::<String, _>("status_history")?)?,
        started_at: row.try_get("started_at")?,
        answered_at: row.try_get("answered_at")?,
        ended_at: row.try_get("ended_at")?,
        duration_seconds: u("duration_s")?,
        recording_sid: row.try_get("recording_sid")?,
        recording_url: row.try_get("recording_url")?,
        recording_duration_seconds: u("recording_duration_s")?,
        notes,
        disposition: row.try_get("disposition")?,
        sandbox: row.try_get::<i64, _>("sandbox")? != 0,
        updated_at: row.try_get("updated_at")?,
        id,
    })
}

/// Reads a call's stored state (log and legs) from a row of [`COLS`].
pub fn state_from_row(state: &AppState, row: &AnyRow) -> AppResult<(CallLog, Legs)> {
    let legs: Legs = serde_json::from_str(&row.try_get::<String, _>("progress")?).unwrap_or_default();
    Ok((from_row(state, row)?, legs))
}

/// A new call-log id.
pub fn new_call_id() -> String {
    new_id("call_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids() {
        assert!(valid_client_id("abcdefgh-123") && !valid_client_id("short") && !valid_client_id("bad id with spaces"));
    }
}
