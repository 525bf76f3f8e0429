//! Call logs: storage (numbers and notes encrypted, numbers blind-indexed), the status
//! state machine per call leg (via `mpt_twilio::call_state`), and events on change.

use crate::crypto::new_id;
use crate::db::now_ms;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use mpt_core::api::{CallDirection, CallLog, ServerEvent, StatusChange};
use mpt_twilio::call_state::{Applied, CallProgress, CallStatus, StatusUpdate};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::BTreeMap;

/// One received status update of a leg, as stored (replayed to rebuild [`CallProgress`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredUpdate {
    /// Status.
    pub s: CallStatus,
    /// SequenceNumber.
    #[serde(default)]
    pub q: Option<u64>,
    /// Timestamp (Unix seconds).
    #[serde(default)]
    pub t: Option<i64>,
    /// CallDuration.
    #[serde(default)]
    pub d: Option<u64>,
}

impl StoredUpdate {
    fn update(&self) -> StatusUpdate {
        StatusUpdate { status: self.s, sequence_number: self.q, timestamp: self.t, duration_secs: self.d }
    }
}

/// Updates received per leg (call SID → updates in arrival order).
pub type Legs = BTreeMap<String, Vec<StoredUpdate>>;

/// Calls per cache generation: the cache keeps the last 10,000–20,000 calls written.
const CACHE_GENERATION: usize = 10_000;

type CacheKey = (String, String);

/// SQLite only (one process owns the file): the last state this process wrote for each
/// call, so a status callback can skip reading it back. A stale entry is harmless: the
/// UPDATE is guarded by `updated_at`, and a failed guard drops the entry and re-reads.
///
/// Two generations: when the young one is full it becomes the old one and the previous
/// old one is dropped, so the cache stays bounded without ever emptying at once.
pub struct CallCache {
    generation: usize,
    gens: std::sync::Mutex<[std::collections::HashMap<CacheKey, (CallLog, Legs)>; 2]>,
}

impl Default for CallCache {
    fn default() -> Self {
        CallCache::with_generation(CACHE_GENERATION)
    }
}

impl CallCache {
    /// A cache keeping between `generation` and twice that many calls.
    pub fn with_generation(generation: usize) -> CallCache {
        CallCache { generation: generation.max(1), gens: Default::default() }
    }
    pub(crate) fn get(&self, tenant_id: &str, sid: &str) -> Option<(CallLog, Legs)> {
        let key = (tenant_id.to_string(), sid.to_string());
        let gens = self.gens.lock().ok()?;
        gens[0].get(&key).or_else(|| gens[1].get(&key)).cloned()
    }
    pub(crate) fn put(&self, tenant_id: &str, sid: &str, call: CallLog, legs: Legs) {
        if let Ok(mut gens) = self.gens.lock() {
            let key = (tenant_id.to_string(), sid.to_string());
            gens[1].remove(&key);
            gens[0].insert(key, (call, legs));
            if gens[0].len() >= self.generation {
                gens[1] = std::mem::take(&mut gens[0]);
            }
        }
    }
    /// Forgets a call (by parent SID).
    pub fn forget(&self, tenant_id: &str, sid: Option<&str>) {
        if let (Some(sid), Ok(mut gens)) = (sid, self.gens.lock()) {
            let key = (tenant_id.to_string(), sid.to_string());
            gens[0].remove(&key);
            gens[1].remove(&key);
        }
    }
}

/// The most updates kept per leg (duplicates beyond this are dropped).
const MAX_UPDATES_PER_LEG: usize = 32;

fn progress_of(updates: &[StoredUpdate]) -> CallProgress {
    let mut p = CallProgress::new();
    for u in updates {
        p.apply(&u.update());
    }
    p
}

/// The call's overall state from its legs: the answered leg if any; else, when every
/// leg ended, the one that ended last; else the most advanced live leg.
pub fn derive(legs: &Legs) -> Option<(String, CallProgress)> {
    let all: Vec<(String, CallProgress)> = legs.iter().map(|(sid, u)| (sid.clone(), progress_of(u))).collect();
    if let Some(answered) = all.iter().filter(|(_, p)| p.answered_at().is_some() || p.status() == CallStatus::InProgress).min_by_key(|(_, p)| p.answered_at().unwrap_or(i64::MAX)) {
        return Some(answered.clone());
    }
    if all.iter().all(|(_, p)| p.status().is_terminal()) {
        return all.into_iter().max_by_key(|(_, p)| p.ended_at().unwrap_or(0));
    }
    all.into_iter().filter(|(_, p)| !p.status().is_terminal()).max_by_key(|(_, p)| p.status().rank())
}

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

fn ctx(tenant_id: &str, call_id: &str, what: &str) -> String {
    format!("call:{tenant_id}:{call_id}:{what}")
}

/// Validates a client-generated id: 8–64 chars of `[A-Za-z0-9_-]`.
pub fn valid_client_id(id: &str) -> bool {
    (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn dir_str(d: CallDirection) -> &'static str {
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
            ServerEvent::CallStatus { call_id: call.id.clone(), call_sid: call.call_sid.clone(), status: call.status.clone(), direction: call.direction },
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
            Err(AppError::Internal(m)) if m.contains("database is locked") => continue,
            Err(e) => return Err(e),
        }
    }
    Err(AppError::internal("status update kept conflicting"))
}

/// Applies one status update to a call's state in memory (the call log and its legs).
/// Returns whether the call's overall status changed (then `call_status` and
/// `log_updated` are due). Pure: the caller stores the result.
pub fn advance(call: &mut CallLog, legs: &mut Legs, parent_sid: &str, leg_sid: &str, update: &StatusUpdate, agent_for_leg: Option<&str>) -> bool {
    let version = call.updated_at;
    let before = derive(legs).map(|(_, p)| p.status());
    let leg = legs.entry(leg_sid.to_string()).or_default();
    let mut probe = progress_of(leg);
    let applied = probe.apply(update);
    if leg.len() < MAX_UPDATES_PER_LEG || matches!(applied, Applied::Advanced { .. }) {
        leg.push(StoredUpdate { s: update.status, q: update.sequence_number, t: update.timestamp, d: update.duration_secs });
    }
    let Some((winner_sid, p)) = derive(legs) else { return false };
    let new = p.status();
    // The stored status only moves forward (it may have been set at creation, before
    // any callback): a later rank, or a different final status.
    let forward = match call.status.parse::<CallStatus>() {
        Ok(cur) => new != cur && (new.rank() > cur.rank() || new.is_terminal()),
        Err(_) => true,
    };
    let changed = forward && before != Some(new);
    if forward {
        call.status = new.as_str().to_string();
        call.status_history.push(StatusChange {
            status: call.status.clone(),
            at: update.timestamp.map(|t| t * 1000).unwrap_or_else(now_ms),
            sequence: update.sequence_number,
        });
    }
    if winner_sid != parent_sid {
        call.child_call_sid = Some(winner_sid.clone());
    }
    if call.agent_id.is_none() && new == CallStatus::InProgress && winner_sid == leg_sid {
        call.agent_id = agent_for_leg.map(str::to_string);
    }
    call.answered_at = p.answered_at().map(|t| t * 1000);
    call.ended_at = p.ended_at().map(|t| t * 1000);
    call.duration_seconds = p.duration_secs();
    call.updated_at = now_ms().max(version + 1);
    changed
}

/// Reads a call's stored state (log and legs) from a row of [`COLS`].
pub fn state_from_row(state: &AppState, row: &AnyRow) -> AppResult<(CallLog, Legs)> {
    let legs: Legs = serde_json::from_str(&row.try_get::<String, _>("progress")?).unwrap_or_default();
    Ok((from_row(state, row)?, legs))
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
            AppError::Conflict(_) => AppError::Conflict("call_sid already belongs to another log".into()),
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

/// Filters for listing.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    /// `inbound` / `outbound`.
    pub direction: Option<String>,
    /// Agent id.
    pub agent_id: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// A number (from or to), any format.
    pub number: Option<String>,
    /// Contact id.
    pub contact_id: Option<String>,
    /// Started at or after (ms).
    pub since: Option<i64>,
    /// Started before (ms).
    pub until: Option<i64>,
    /// Page size (1–200, default 50).
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// Encodes a pagination cursor.
pub fn encode_cursor(started_at: i64, id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{started_at}:{id}"))
}

/// Decodes a pagination cursor.
pub fn decode_cursor(c: &str) -> AppResult<(i64, String)> {
    use base64::Engine;
    let bad = || AppError::BadRequest("invalid cursor".into());
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).map_err(|_| bad())?;
    let s = String::from_utf8(raw).map_err(|_| bad())?;
    let (t, id) = s.split_once(':').ok_or_else(bad)?;
    Ok((t.parse().map_err(|_| bad())?, id.to_string()))
}

/// Lists calls, newest first; `number_bidx` is the blind index of the number filter.
pub async fn list(state: &AppState, tenant_id: &str, q: &ListQuery, number_bidx: Option<String>, max: i64) -> AppResult<(Vec<CallLog>, Option<String>)> {
    let limit = q.limit.unwrap_or(50).clamp(1, max);
    let mut sql = format!("SELECT {COLS} FROM calls WHERE tenant_id = $1");
    let mut args: Vec<Arg> = vec![Arg::S(tenant_id.to_string())];
    let mut push = |sql: &mut String, cond: &str, a: Arg| {
        args.push(a);
        sql.push_str(&cond.replace('?', &format!("${}", args.len())));
    };
    if let Some(d) = &q.direction {
        if d != "inbound" && d != "outbound" {
            return Err(AppError::BadRequest("direction must be inbound or outbound".into()));
        }
        push(&mut sql, " AND direction = ?", Arg::S(d.clone()));
    }
    if let Some(a) = &q.agent_id {
        push(&mut sql, " AND agent_id = ?", Arg::S(a.clone()));
    }
    if let Some(s) = &q.status {
        push(&mut sql, " AND status = ?", Arg::S(s.clone()));
    }
    if let Some(c) = &q.contact_id {
        push(&mut sql, " AND contact_id = ?", Arg::S(c.clone()));
    }
    if let Some(b) = number_bidx {
        push(&mut sql, " AND (from_bidx = ?", Arg::S(b.clone()));
        push(&mut sql, " OR to_bidx = ?)", Arg::S(b));
    }
    if let Some(t) = q.since {
        push(&mut sql, " AND started_at >= ?", Arg::I(t));
    }
    if let Some(t) = q.until {
        push(&mut sql, " AND started_at < ?", Arg::I(t));
    }
    if let Some(c) = &q.cursor {
        let (t, id) = decode_cursor(c)?;
        push(&mut sql, " AND (started_at < ?", Arg::I(t));
        push(&mut sql, " OR (started_at = ?", Arg::I(t));
        push(&mut sql, " AND id < ?))", Arg::S(id));
    }
    push(&mut sql, " ORDER BY started_at DESC, id DESC LIMIT ?", Arg::I(limit + 1));
    let mut query = sqlx::query(&sql);
    for a in &args {
        query = match a {
            Arg::S(s) => query.bind(s.clone()),
            Arg::I(i) => query.bind(*i),
        };
    }
    let rows = query.fetch_all(&state.db.pool).await?;
    let mut items = rows.iter().map(|r| from_row(state, r)).collect::<AppResult<Vec<_>>>()?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|c| encode_cursor(c.started_at, &c.id))
    } else {
        None
    };
    Ok((items, next))
}

enum Arg {
    S(String),
    I(i64),
}

/// A new call-log id.
pub fn new_call_id() -> String {
    new_id("call_")
}

/// Quotes one CSV field (RFC 4180), neutralizing spreadsheet formulas.
pub fn csv_field(s: &str) -> String {
    let risky = s.starts_with(['=', '@', '\t', '\r'])
        || (s.starts_with(['+', '-']) && !s[1..].bytes().all(|b| b.is_ascii_digit()));
    let s = if risky {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Renders call logs as CSV (header + one line per call).
pub fn to_csv(calls: &[CallLog]) -> String {
    let mut out = String::from(
        "id,direction,agent_id,from,to,contact_id,contact_name,crm,call_sid,status,started_at,answered_at,ended_at,duration_seconds,recording_url,disposition,notes\n",
    );
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let n = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    for c in calls {
        let fields = [
            c.id.clone(),
            dir_str(c.direction).to_string(),
            o(&c.agent_id),
            c.from.clone(),
            c.to.clone(),
            o(&c.contact_id),
            o(&c.contact_name),
            o(&c.crm),
            o(&c.call_sid),
            c.status.clone(),
            c.started_at.to_string(),
            n(c.answered_at),
            n(c.ended_at),
            n(c.duration_seconds.map(|d| d as i64)),
            o(&c.recording_url),
            o(&c.disposition),
            o(&c.notes),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(s: CallStatus, q: u64, t: i64) -> StoredUpdate {
        StoredUpdate { s, q: Some(q), t: Some(t), d: None }
    }

    #[test]
    fn derive_prefers_answered_leg() {
        let mut legs = Legs::new();
        legs.insert("CA_a".into(), vec![up(CallStatus::Ringing, 1, 10), up(CallStatus::Canceled, 3, 14)]);
        legs.insert("CA_b".into(), vec![up(CallStatus::Ringing, 1, 10), up(CallStatus::InProgress, 2, 12)]);
        let (sid, p) = derive(&legs).expect("some");
        assert_eq!(sid, "CA_b");
        assert_eq!(p.status(), CallStatus::InProgress);
    }

    #[test]
    fn derive_all_ended_takes_last() {
        let mut legs = Legs::new();
        legs.insert("CA_a".into(), vec![up(CallStatus::NoAnswer, 2, 40)]);
        legs.insert("CA_b".into(), vec![up(CallStatus::Canceled, 2, 30)]);
        assert_eq!(derive(&legs).expect("some").1.status(), CallStatus::NoAnswer);
    }

    #[test]
    fn call_cache_keeps_one_to_two_generations() {
        let call: CallLog = serde_json::from_value(serde_json::json!({
            "id": "call_1", "direction": "outbound", "from": "+14155550100", "to": "+14155550142",
            "status": "initiated", "status_history": [], "started_at": 1, "sandbox": false, "updated_at": 1
        }))
        .expect("call");
        let cache = CallCache::with_generation(3);
        let put = |sid: &str| cache.put("t", sid, call.clone(), Legs::new());
        let has = |sid: &str| cache.get("t", sid).is_some();
        for sid in ["a", "b", "c"] {
            put(sid);
        }
        put("d");
        assert!(has("a") && has("c") && has("d"), "a full generation is kept while the next fills");
        put("a"); // moves to the young generation
        put("e"); // young full (d, a, e): the old one (b, c) goes
        assert!(has("a") && has("d") && has("e"));
        assert!(!has("b") && !has("c"));
        cache.forget("t", Some("a"));
        assert!(!has("a"));
        assert!(cache.get("other-tenant", "d").is_none(), "keyed by tenant too");
    }

    #[test]
    fn cursor_roundtrip_and_csv_escaping() {
        let c = encode_cursor(123, "call_x");
        assert_eq!(decode_cursor(&c).expect("decode"), (123, "call_x".to_string()));
        assert!(decode_cursor("!!").is_err());
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("+14155550100"), "+14155550100");
        assert!(valid_client_id("abcdefgh-123") && !valid_client_id("short") && !valid_client_id("bad id with spaces"));
    }
}
