//! Status callbacks: applying one to its call, durably, on either backend.

use super::legs::advance;
use super::row::state_from_row;
use super::store::{agent_by_identity, find_by_sid, status_events};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use mpt_twilio::call_state::{CallStatus, StatusUpdate};

/// Result of applying a status callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusOutcome {
    /// No call with that SID in this tenant.
    UnknownCall,
    /// Stored; the overall status did or did not change.
    Applied {
        /// The overall status changed.
        changed: bool,
    },
}

/// Applies a status callback for leg `leg_sid` of the call whose parent SID is
/// `parent_sid`. Duplicate, late and out-of-order callbacks are absorbed by the state
/// machine ([`advance`]). Returns once the update is durable.
///
/// SQLite: handed to the group-commit writer ([`crate::status_writer`]), which stores
/// the callbacks that arrive together in one transaction. PostgreSQL: read, then an
/// update guarded by the row's `updated_at` plus the events in one transaction,
/// retried on a concurrent change (several processes may write).
pub async fn apply_status(
    state: &AppState,
    tenant_id: &str,
    parent_sid: &str,
    leg_sid: &str,
    update: &StatusUpdate,
    leg_identity: Option<&str>,
) -> AppResult<StatusOutcome> {
    let agent_for_leg = match leg_identity {
        Some(identity) if update.status == CallStatus::InProgress => agent_by_identity(state, tenant_id, identity).await?,
        _ => None,
    };
    if state.db.backend == crate::db::Backend::Sqlite {
        let job = crate::status_writer::Job::new(tenant_id, parent_sid, leg_sid, update.clone(), agent_for_leg);
        return state.status_writer.submit(job).await;
    }
    for _attempt in 0..8 {
        match try_apply(state, tenant_id, parent_sid, leg_sid, update, agent_for_leg.as_deref()).await {
            Ok(Some(outcome)) => return Ok(outcome),
            Ok(None) => continue,
            Err(e) if e.is_busy() => continue,
            Err(e) => return Err(e),
        }
    }
    Err(AppError::internal("status update kept conflicting"))
}

/// One attempt of [`apply_status`] (PostgreSQL); `None` when a concurrent change
/// requires a retry.
async fn try_apply(
    state: &AppState,
    tenant_id: &str,
    parent_sid: &str,
    leg_sid: &str,
    update: &StatusUpdate,
    agent_for_leg: Option<&str>,
) -> AppResult<Option<StatusOutcome>> {
    // Read outside the write transaction; the UPDATE below only applies if the row is
    // unchanged since (its `updated_at`), else the caller retries.
    let Some(row) = find_by_sid(state, tenant_id, parent_sid).await? else {
        return Ok(Some(StatusOutcome::UnknownCall));
    };
    let (mut call, mut legs) = state_from_row(state, &row)?;
    let version = call.updated_at;
    let changed = advance(&mut call, &mut legs, parent_sid, leg_sid, update, agent_for_leg);
    let legs_json = serde_json::to_string(&legs)?;
    let mut tx = state.db.pool.begin().await?;
    let res = sqlx::query(
        "UPDATE calls SET progress = $1, status = $2, status_history = $3, answered_at = $4, ended_at = $5, \
         duration_s = $6, child_call_sid = $7, agent_id = $8, updated_at = $9 \
         WHERE tenant_id = $10 AND id = $11 AND updated_at = $12",
    )
    .bind(&legs_json)
    .bind(&call.status)
    .bind(serde_json::to_string(&call.status_history)?)
    .bind(call.answered_at)
    .bind(call.ended_at)
    .bind(call.duration_seconds.map(|d| d as i64))
    .bind(&call.child_call_sid)
    .bind(&call.agent_id)
    .bind(call.updated_at)
    .bind(tenant_id)
    .bind(&call.id)
    .bind(version)
    .execute(&mut *tx)
    .await?;
    if res.rows_affected() != 1 {
        return Ok(None);
    }
    let mut staged = Vec::new();
    if changed {
        staged = state.hub.stage_many(&mut tx, tenant_id, &status_events(&call)).await?;
    }
    tx.commit().await?;
    crate::metrics::add(&state.metrics.events_published, staged.len() as u64);
    state.hub.flush(staged);
    Ok(Some(StatusOutcome::Applied { changed }))
}
