//! Reading and writing call logs: insert (with its events, in one transaction), get,
//! notes and disposition, recordings, and logs written by clients.

use super::row::{ctx, dir_str, from_row, state_from_row, NewCall, COLS};
use crate::db::now_ms;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use mpt_core::api::{CallLog, ServerEvent, StatusChange};
use sqlx::any::AnyRow;
use sqlx::Row;

/// Loads a call of a tenant.
pub async fn get(state: &AppState, tenant_id: &str, id: &str) -> AppResult<CallLog> {
    let sql = format!("SELECT {COLS} FROM calls WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(&sql).bind(tenant_id).bind(id).fetch_optional(&state.db.pool).await?.ok_or(AppError::NotFound)?;
    from_row(state, &row)
}

/// Finds a call by its parent call SID.
pub async fn find_by_sid(state: &AppState, tenant_id: &str, sid: &str) -> AppResult<Option<AnyRow>> {
    let sql = format!("SELECT {COLS} FROM calls WHERE tenant_id = $1 AND call_sid = $2");
    Ok(sqlx::query(&sql).bind(tenant_id).bind(sid).fetch_optional(&state.db.pool).await?)
}

/// Events stored with a new call: (target agent or `None` for the whole tenant, event).
pub type CallEvents = Vec<(Option<String>, ServerEvent)>;

/// Inserts a call (or, when the id exists already — an offline log that raced ahead —
/// attaches the call SID to it) and the events `events` builds from the stored log, in
/// one transaction. Returns the stored log.
pub async fn insert(state: &AppState, tenant_id: &str, c: &NewCall, events: impl FnOnce(&CallLog) -> CallEvents) -> AppResult<CallLog> {
    let cr = &state.crypto;
    let now = now_ms();
    let history = vec![StatusChange { status: c.status.clone(), at: c.started_at, sequence: None }];
    let writer = state.db.write_lock().await;
    let mut tx = state.db.pool.begin().await?;
    sqlx::query(
        "INSERT INTO calls (tenant_id, id, agent_id, direction, from_enc, to_enc, from_bidx, to_bidx, contact_id, \
         contact_name, crm, call_sid, status, status_history, started_at, sandbox, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
         ON CONFLICT (tenant_id, id) DO UPDATE SET call_sid = COALESCE(calls.call_sid, excluded.call_sid), \
         sandbox = excluded.sandbox, updated_at = excluded.updated_at",
    )
    .bind(tenant_id)
    .bind(&c.id)
    .bind(&c.agent_id)
    .bind(dir_str(c.direction))
    .bind(cr.seal(&ctx(tenant_id, &c.id, "from"), &c.from))
    .bind(cr.seal(&ctx(tenant_id, &c.id, "to"), &c.to))
    .bind(cr.blind_index(tenant_id, &c.from))
    .bind(cr.blind_index(tenant_id, &c.to))
    .bind(&c.contact_id)
    .bind(&c.contact_name)
    .bind(&c.crm)
    .bind(&c.call_sid)
    .bind(&c.status)
    .bind(serde_json::to_string(&history)?)
    .bind(c.started_at)
    .bind(c.sandbox as i64)
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let sql = format!("SELECT {COLS} FROM calls WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(&sql).bind(tenant_id).bind(&c.id).fetch_optional(&mut *tx).await?.ok_or(AppError::NotFound)?;
    let (call, legs) = state_from_row(state, &row)?;
    let events = events(&call);
    let staged = state.hub.stage_many(&mut tx, tenant_id, &events).await?;
    tx.commit().await?;
    // Cached under the writer lock, so the status writer starts from this state (the
    // call's first callback follows within a second) instead of reading it again.
    match (&call.call_sid, state.db.backend) {
        (Some(sid), crate::db::Backend::Sqlite) => state.call_cache.put(tenant_id, sid, call.clone(), legs),
        _ => state.call_cache.forget(tenant_id, c.call_sid.as_deref()),
    }
    crate::metrics::add(&state.metrics.events_published, staged.len() as u64);
    state.hub.flush(staged);
    drop(writer);
    Ok(call)
}

/// The events a status change announces (and a new outbound call starts with):
/// `call_status` and `log_updated`, to the call's agent (or to every agent of the
/// tenant when unassigned).
pub fn status_events(call: &CallLog) -> CallEvents {
    let target = call.agent_id.clone();
    vec![
        (
            target.clone(),
            ServerEvent::CallStatus {
                call_id: call.id.clone(),
                call_sid: call.call_sid.clone(),
                status: call.status.clone(),
                direction: call.direction,
            },
        ),
        (target, ServerEvent::LogUpdated { call: call.clone() }),
    ]
}

/// Publishes `log_updated` for a call (to its agent, or to every agent of the tenant
/// when unassigned).
pub async fn announce(state: &AppState, tenant_id: &str, call: &CallLog) -> AppResult<()> {
    state.hub.publish(tenant_id, call.agent_id.as_deref(), &ServerEvent::LogUpdated { call: call.clone() }).await?;
    crate::metrics::inc(&state.metrics.events_published);
    Ok(())
}

/// Agent id for a Twilio client identity within a tenant.
pub async fn agent_by_identity(state: &AppState, tenant_id: &str, identity: &str) -> AppResult<Option<String>> {
    let row = sqlx::query("SELECT id FROM agents WHERE tenant_id = $1 AND identity = $2")
        .bind(tenant_id)
        .bind(identity)
        .fetch_optional(&state.db.pool)
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("id")?),
        None => None,
    })
}

/// Records a recording (voicemail) on the call with that parent SID.
pub async fn apply_recording(
    state: &AppState,
    tenant_id: &str,
    call_sid: &str,
    recording_sid: &str,
    url: &str,
    duration: Option<u64>,
) -> AppResult<bool> {
    let writer = state.db.write_lock().await;
    let rows = sqlx::query(
        "UPDATE calls SET recording_sid = $1, recording_url = $2, recording_duration_s = $3, \
         updated_at = CASE WHEN updated_at >= $4 THEN updated_at + 1 ELSE $4 END \
         WHERE tenant_id = $5 AND (call_sid = $6 OR child_call_sid = $6) RETURNING id, call_sid",
    )
    .bind(recording_sid)
    .bind(url)
    .bind(duration.map(|d| d as i64))
    .bind(now_ms())
    .bind(tenant_id)
    .bind(call_sid)
    .fetch_all(&state.db.pool)
    .await?;
    let mut ids = Vec::with_capacity(rows.len());
    for row in &rows {
        state.call_cache.forget(tenant_id, row.try_get::<Option<String>, _>("call_sid")?.as_deref());
        ids.push(row.try_get::<String, _>("id")?);
    }
    drop(writer);
    for id in &ids {
        let call = get(state, tenant_id, id).await?;
        announce(state, tenant_id, &call).await?;
    }
    Ok(!ids.is_empty())
}

/// Sets notes and/or disposition.
pub async fn patch(state: &AppState, tenant_id: &str, id: &str, notes: Option<&str>, disposition: Option<&str>) -> AppResult<CallLog> {
    let existing = get(state, tenant_id, id).await?;
    let notes_enc = notes.map(|n| state.crypto.seal(&ctx(tenant_id, id, "notes"), n));
    let writer = state.db.write_lock().await;
    sqlx::query(
        "UPDATE calls SET notes_enc = COALESCE($1, notes_enc), disposition = COALESCE($2, disposition), updated_at = $3 \
         WHERE tenant_id = $4 AND id = $5",
    )
    .bind(notes_enc)
    .bind(disposition)
    .bind(now_ms().max(existing.updated_at + 1))
    .bind(tenant_id)
    .bind(id)
    .execute(&state.db.pool)
    .await?;
    state.call_cache.forget(tenant_id, existing.call_sid.as_deref());
    drop(writer);
    let call = get(state, tenant_id, id).await?;
    announce(state, tenant_id, &call).await?;
    Ok(call)
}

/// Merges a log written by the extension (idempotent per id): creates it when absent;
/// otherwise fills what the server does not know yet, never overriding callback data.
/// Returns (log, created).
pub async fn upsert_from_client(
    state: &AppState,
    tenant_id: &str,
    agent_id: &str,
    id: &str,
    u: &mpt_core::api::CallLogUpsert,
    from: String,
    to: String,
) -> AppResult<(CallLog, bool)> {
    let existing = match get(state, tenant_id, id).await {
        Ok(c) => Some(c),
        Err(AppError::NotFound) => None,
        Err(e) => return Err(e),
    };
    let created = existing.is_none();
    if created {
        let nc = NewCall {
            id: id.to_string(),
            agent_id: Some(agent_id.to_string()),
            direction: u.direction,
            from,
            to,
            contact_id: u.contact_id.clone(),
            contact_name: u.contact_name.clone(),
            crm: u.crm.clone(),
            call_sid: u.call_sid.clone(),
            status: u.status.clone().unwrap_or_else(|| "completed".into()),
            sandbox: false,
            started_at: u.started_at,
        };
        insert(state, tenant_id, &nc, |_| Vec::new()).await.map_err(|e| match e {
            // Another tenant's or another log's call SID: do not reveal which.
            e if e.is_conflict() => AppError::Conflict("call_sid already belongs to another log".into()),
            e => e,
        })?;
    }
    let notes_enc = u.notes.as_deref().map(|n| state.crypto.seal(&ctx(tenant_id, id, "notes"), n));
    let writer = state.db.write_lock().await;
    sqlx::query(
        "UPDATE calls SET contact_id = COALESCE(contact_id, $1), contact_name = COALESCE(contact_name, $2), \
         crm = COALESCE(crm, $3), answered_at = COALESCE(answered_at, $4), ended_at = COALESCE(ended_at, $5), \
         duration_s = COALESCE(duration_s, $6), notes_enc = COALESCE($7, notes_enc), \
         disposition = COALESCE($8, disposition), updated_at = $9 WHERE tenant_id = $10 AND id = $11",
    )
    .bind(&u.contact_id)
    .bind(&u.contact_name)
    .bind(&u.crm)
    .bind(u.answered_at)
    .bind(u.ended_at)
    .bind(u.duration_seconds.map(|d| d as i64))
    .bind(notes_enc)
    .bind(&u.disposition)
    .bind(now_ms().max(existing.as_ref().map_or(0, |c| c.updated_at + 1)))
    .bind(tenant_id)
    .bind(id)
    .execute(&state.db.pool)
    .await?;
    state.call_cache.forget(tenant_id, existing.as_ref().and_then(|c| c.call_sid.as_deref()));
    state.call_cache.forget(tenant_id, u.call_sid.as_deref());
    drop(writer);
    let call = get(state, tenant_id, id).await?;
    announce(state, tenant_id, &call).await?;
    Ok((call, created))
}
