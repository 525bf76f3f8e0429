//! Group commit for status callbacks on SQLite.
//!
//! SQLite has one writer, and a transaction per callback spent most of its time not in
//! SQLite but handing work to sqlx's connection thread and back (several thread
//! wake-ups per callback, all under the writer lock). Here one task owns the write
//! side of status callbacks: it takes every callback that is waiting, applies them in
//! arrival order to the calls' states in memory ([`calls::advance`]), and stores them
//! in **one** transaction on a connection of its own, on a thread of its own, with
//! prepared statements (rusqlite, linked to the same SQLite as sqlx). Each callback's
//! request is answered only after that transaction committed, so a 2xx still means
//! "durable": `synchronous=FULL`, so the WAL is fsynced at every commit and an
//! acknowledged callback survives a crash of the process and of the machine. Group
//! commit is what makes that affordable: one fsync per batch, not per callback.
//!
//! Batches form by themselves: while one commits, the next callbacks queue. At low
//! load a batch is one callback and nothing waits for company.
//!
//! Invariants:
//! - The task holds [`crate::db::Db::write_lock`] from reading a call's state to
//!   fanning out its events, like every other SQLite write path, so its reads are
//!   current and the events of a tenant go out in id order.
//! - Every update is still guarded by the row's `updated_at`; a call whose guard fails
//!   (its row changed underneath, which the lock should prevent) is re-read and its
//!   callbacks are applied again in the next batch, at most [`MAX_ATTEMPTS`] times.
//! - One bad callback cannot fail its neighbours: when a batch's transaction fails, it
//!   is rolled back and its callbacks are retried one per transaction, so only the
//!   failing one gets the error (and Twilio retries it).

use crate::calls::{self, Legs, StatusOutcome, COLS};
use crate::db::now_ms;
use crate::error::{AppError, AppResult};
use crate::hub::StoredEvent;
use crate::state::{AppState, WeakState};
use mpt_core::api::CallLog;
use mpt_twilio::call_state::StatusUpdate;
use sqlx::Row;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use tokio::sync::{mpsc, oneshot};

/// The most callbacks stored in one transaction.
pub const MAX_BATCH: usize = 256;
/// How often a callback is applied again after its call's row changed underneath.
pub const MAX_ATTEMPTS: u8 = 8;
/// Callbacks waiting for the writer before senders wait too.
const QUEUE: usize = 4096;
/// Calls looked up per query when their state is not cached.
const READ_CHUNK: usize = 64;

/// One status callback to store.
pub struct Job {
    tenant_id: String,
    parent_sid: String,
    leg_sid: String,
    update: StatusUpdate,
    agent_for_leg: Option<String>,
    attempts: u8,
    reply: Option<oneshot::Sender<AppResult<StatusOutcome>>>,
}

impl Job {
    /// A callback for leg `leg_sid` of the call with parent SID `parent_sid`.
    pub fn new(tenant_id: &str, parent_sid: &str, leg_sid: &str, update: StatusUpdate, agent_for_leg: Option<String>) -> Job {
        Job {
            tenant_id: tenant_id.to_string(),
            parent_sid: parent_sid.to_string(),
            leg_sid: leg_sid.to_string(),
            update,
            agent_for_leg,
            attempts: 0,
            reply: None,
        }
    }

    fn answer(mut self, outcome: AppResult<StatusOutcome>) {
        if let Some(tx) = self.reply.take() {
            let _ = tx.send(outcome);
        }
    }
}

/// The handle in [`AppState`]. [`StatusWriter::start`] (at server start, SQLite only)
/// opens the writer's connection and starts its thread and task; both end when the
/// state is dropped.
#[derive(Default)]
pub struct StatusWriter {
    tx: OnceLock<mpsc::Sender<Job>>,
    /// Callbacks handed to the writer and not answered yet (queued, or in a batch).
    waiting: AtomicUsize,
}

/// Counts one callback in [`StatusWriter::waiting`] while it lives (also when its request
/// is dropped before the answer).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(n: &'a AtomicUsize) -> Waiting<'a> {
        n.fetch_add(1, Ordering::Relaxed);
        Waiting(n)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl StatusWriter {
    /// Opens the writer's own connection to the SQLite file of `state.db` and starts
    /// the writer. Idempotent.
    pub async fn start(state: &AppState) -> AppResult<()> {
        if state.status_writer.tx.get().is_some() {
            return Ok(());
        }
        let path = database_file(state).await?;
        let conn = open(&path).map_err(|e| AppError::Internal(format!("status writer: opening {path}: {e}")))?;
        let (db_tx, db_rx) = std::sync::mpsc::channel::<DbRequest>();
        std::thread::Builder::new()
            .name("mpt-status-writer".into())
            .spawn(move || db_thread(conn, db_rx))
            .map_err(|e| AppError::Internal(format!("status writer thread: {e}")))?;
        let (tx, rx) = mpsc::channel(QUEUE);
        if state.status_writer.tx.set(tx).is_ok() {
            tokio::spawn(run(state.downgrade(), rx, db_tx));
        }
        Ok(())
    }

    /// Callbacks waiting for the writer (not yet taken into a batch).
    pub fn queued(&self) -> usize {
        self.tx.get().map_or(0, |tx| tx.max_capacity() - tx.capacity())
    }

    /// Callbacks the writer has (queued or in the batch it is storing) and not yet
    /// answered. Unlike [`StatusWriter::queued`], this does not depend on how many the
    /// writer has taken into its batch: with the writer held, it counts every callback
    /// that has reached it.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Stores a callback; resolves once it is committed (or failed).
    pub async fn submit(&self, mut job: Job) -> AppResult<StatusOutcome> {
        let (tx, rx) = oneshot::channel();
        job.reply = Some(tx);
        let sender = self.tx.get().ok_or_else(|| AppError::internal("status writer not started"))?;
        sender.send(job).await.map_err(|_| AppError::internal("status writer stopped"))?;
        let _waiting = Waiting::enter(&self.waiting);
        rx.await.map_err(|_| AppError::internal("status writer dropped a callback"))?
    }
}

/// The file of the pool's main database, as SQLite itself reports it (no URL parsing
/// to get out of step with sqlx's).
async fn database_file(state: &AppState) -> AppResult<String> {
    let rows = sqlx::query("PRAGMA database_list").fetch_all(&state.db.pool).await?;
    for row in rows {
        if row.try_get::<String, _>("name")? == "main" {
            let file: String = row.try_get("file")?;
            if file.is_empty() {
                break;
            }
            return Ok(file);
        }
    }
    Err(AppError::Internal(format!("status writer: {} is not a database file (in-memory SQLite is not supported)", state.db.url)))
}

fn open(path: &str) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; \
         PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384;",
    )?;
    Ok(conn)
}

async fn run(weak: WeakState, mut rx: mpsc::Receiver<Job>, db: std::sync::mpsc::Sender<DbRequest>) {
    // Callbacks to apply again (their call's row changed underneath), first in line.
    let mut again: Vec<Job> = Vec::new();
    // Callbacks of a failed batch, retried one per transaction.
    let mut alone: VecDeque<Job> = VecDeque::new();
    loop {
        let batch = if let Some(job) = alone.pop_front() {
            vec![job]
        } else {
            let mut batch = std::mem::take(&mut again);
            if batch.is_empty() {
                match rx.recv().await {
                    Some(job) => batch.push(job),
                    None => return,
                }
            }
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        let Some(state) = weak.upgrade() else { return };
        let single = batch.len() == 1;
        match commit(&state, &db, batch).await {
            Ok(retry) => again.extend(retry),
            Err((e, jobs)) if single => {
                for job in jobs {
                    job.answer(Err(AppError::Internal(e.clone())));
                }
            }
            Err((e, jobs)) => {
                tracing::warn!(error = %e, callbacks = jobs.len(), "status batch failed; retrying its callbacks one by one");
                alone.extend(jobs);
            }
        }
    }
}

/// One call touched by a batch.
struct Slot {
    tenant_id: String,
    parent_sid: String,
    call: CallLog,
    legs: Legs,
    /// `updated_at` as read: the guard of the update.
    version: i64,
    /// Events due, in order: (target agent, payload).
    events: Vec<(Option<String>, String)>,
    /// Its callbacks and what each did.
    jobs: Vec<(Job, StatusOutcome)>,
}

/// What the database thread writes for one call.
struct SlotWrite {
    tenant_id: String,
    id: String,
    version: i64,
    progress: String,
    status: String,
    status_history: String,
    answered_at: Option<i64>,
    ended_at: Option<i64>,
    duration_s: Option<i64>,
    child_call_sid: Option<String>,
    agent_id: Option<String>,
    updated_at: i64,
    /// (target agent, payload).
    events: Vec<(Option<String>, String)>,
}

/// A batch for the database thread, with its creation time for the events, and where
/// to answer: per call, `None` when its guard failed, else the new event ids.
type DbRequest = (Vec<SlotWrite>, i64, oneshot::Sender<Result<Vec<Option<Vec<i64>>>, String>>);

/// The database thread: one transaction per batch, prepared statements cached.
fn db_thread(mut conn: rusqlite::Connection, rx: std::sync::mpsc::Receiver<DbRequest>) {
    while let Ok((batch, at, reply)) = rx.recv() {
        let _ = reply.send(write_batch(&mut conn, &batch, at).map_err(|e| e.to_string()));
    }
}

fn write_batch(conn: &mut rusqlite::Connection, batch: &[SlotWrite], at: i64) -> rusqlite::Result<Vec<Option<Vec<i64>>>> {
    // Dropped without commit (an error below) = rolled back.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut out = Vec::with_capacity(batch.len());
    {
        let mut update = tx.prepare_cached(
            "UPDATE calls SET progress = ?1, status = ?2, status_history = ?3, answered_at = ?4, ended_at = ?5, \
             duration_s = ?6, child_call_sid = ?7, agent_id = ?8, updated_at = ?9 \
             WHERE tenant_id = ?10 AND id = ?11 AND updated_at = ?12",
        )?;
        let mut insert =
            tx.prepare_cached("INSERT INTO events (tenant_id, agent_id, payload, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id")?;
        for s in batch {
            let n = update.execute(rusqlite::params![
                s.progress,
                s.status,
                s.status_history,
                s.answered_at,
                s.ended_at,
                s.duration_s,
                s.child_call_sid,
                s.agent_id,
                s.updated_at,
                s.tenant_id,
                s.id,
                s.version,
            ])?;
            if n != 1 {
                out.push(None);
                continue;
            }
            let mut ids = Vec::with_capacity(s.events.len());
            for (agent, payload) in &s.events {
                ids.push(insert.query_row(rusqlite::params![s.tenant_id, agent, payload, at], |r| r.get::<_, i64>(0))?);
            }
            out.push(Some(ids));
        }
    }
    tx.commit()?;
    Ok(out)
}

/// Stores a batch. `Ok` holds the callbacks to apply again (their guard failed);
/// `Err` gives back every callback not yet answered, with the error.
async fn commit(state: &AppState, db: &std::sync::mpsc::Sender<DbRequest>, jobs: Vec<Job>) -> Result<Vec<Job>, (String, Vec<Job>)> {
    let _writer = state.db.write_lock().await;

    // 1. Current state of every call in the batch: cached, or read in a few queries.
    let mut slots: Vec<Slot> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    let mut missing: Vec<(String, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for job in &jobs {
        let key = (job.tenant_id.clone(), job.parent_sid.clone());
        if !seen.insert(key.clone()) {
            continue;
        }
        match state.call_cache.get(&key.0, &key.1) {
            Some((call, legs)) => {
                index.insert(key.clone(), slots.len());
                slots.push(Slot::new(key, call, legs));
            }
            None => missing.push(key),
        }
    }
    for chunk in missing.chunks(READ_CHUNK) {
        let mut sql = format!("SELECT {COLS} FROM calls WHERE ");
        for i in 0..chunk.len() {
            let _ = write!(sql, "{}(tenant_id = ${} AND call_sid = ${})", if i > 0 { " OR " } else { "" }, 2 * i + 1, 2 * i + 2);
        }
        let mut q = sqlx::query(&sql).persistent(false);
        for (tenant_id, sid) in chunk {
            q = q.bind(tenant_id.clone()).bind(sid.clone());
        }
        let rows = match q.fetch_all(&state.db.pool).await {
            Ok(rows) => rows,
            Err(e) => return Err((e.to_string(), jobs)),
        };
        for row in rows {
            let loaded = (|| -> AppResult<_> {
                let key: (String, String) = (row.try_get("tenant_id")?, row.try_get("call_sid")?);
                let (call, legs) = calls::state_from_row(state, &row)?;
                Ok((key, call, legs))
            })();
            match loaded {
                Ok((key, call, legs)) => {
                    index.insert(key.clone(), slots.len());
                    slots.push(Slot::new(key, call, legs));
                }
                Err(e) => return Err((e.to_string(), jobs)),
            }
        }
    }

    // 2. Apply the callbacks in arrival order, in memory.
    for job in jobs {
        let Some(&i) = index.get(&(job.tenant_id.clone(), job.parent_sid.clone())) else {
            job.answer(Ok(StatusOutcome::UnknownCall));
            continue;
        };
        let slot = &mut slots[i];
        let changed =
            calls::advance(&mut slot.call, &mut slot.legs, &job.parent_sid, &job.leg_sid, &job.update, job.agent_for_leg.as_deref());
        if changed {
            for (target, ev) in calls::status_events(&slot.call) {
                // Serializing these types cannot fail; should it, the call is stored
                // and only its live events are missing (clients re-read the log).
                match serde_json::to_string(&ev) {
                    Ok(payload) => slot.events.push((target, payload)),
                    Err(e) => tracing::error!(error = %e, "status event not serializable"),
                }
            }
        }
        slot.jobs.push((job, StatusOutcome::Applied { changed }));
    }
    slots.retain(|s| !s.jobs.is_empty());
    if slots.is_empty() {
        return Ok(Vec::new());
    }

    // 3. One transaction on the database thread: per call an update guarded by its
    //    version, then (if it applied) its events.
    let at = now_ms();
    let mut writes = Vec::with_capacity(slots.len());
    for s in &slots {
        let json = serde_json::to_string(&s.legs).and_then(|p| Ok((p, serde_json::to_string(&s.call.status_history)?)));
        let (progress, status_history) = match json {
            Ok(j) => j,
            Err(e) => return Err((e.to_string(), unanswered(slots))),
        };
        let c = &s.call;
        writes.push(SlotWrite {
            tenant_id: s.tenant_id.clone(),
            id: c.id.clone(),
            version: s.version,
            progress,
            status: c.status.clone(),
            status_history,
            answered_at: c.answered_at,
            ended_at: c.ended_at,
            duration_s: c.duration_seconds.map(|d| d as i64),
            child_call_sid: c.child_call_sid.clone(),
            agent_id: c.agent_id.clone(),
            updated_at: c.updated_at,
            events: s.events.clone(),
        });
    }
    let (reply, answer) = oneshot::channel();
    let written = match db.send((writes, at, reply)) {
        Ok(()) => answer.await.unwrap_or_else(|_| Err("status writer thread ended".into())),
        Err(_) => Err("status writer thread ended".into()),
    };
    let written = match written {
        Ok(w) if w.len() == slots.len() => w,
        Ok(_) => return Err(("status writer: wrong answer size".into(), unanswered(slots))),
        Err(e) => {
            for s in &slots {
                state.call_cache.forget(&s.tenant_id, Some(&s.parent_sid));
            }
            return Err((e, unanswered(slots)));
        }
    };

    // 4. Committed: cache, fan out (in id order, still under the writer lock), answer.
    let mut events: Vec<StoredEvent> = Vec::new();
    let mut answered: Vec<(Job, StatusOutcome)> = Vec::new();
    let mut retry = Vec::new();
    for (mut s, ids) in slots.into_iter().zip(written) {
        let Some(mut ids) = ids else {
            state.call_cache.forget(&s.tenant_id, Some(&s.parent_sid));
            for (mut job, _) in s.jobs {
                job.attempts += 1;
                if job.attempts >= MAX_ATTEMPTS {
                    job.answer(Err(AppError::internal("status update kept conflicting")));
                } else {
                    retry.push(job);
                }
            }
            continue;
        };
        ids.sort_unstable();
        for (id, (target, payload)) in ids.iter().zip(&s.events) {
            events.push(StoredEvent::new(*id, &s.tenant_id, target.as_deref(), at, payload));
        }
        answered.append(&mut s.jobs);
        state.call_cache.put(&s.tenant_id, &s.parent_sid, s.call, s.legs);
    }
    events.sort_unstable_by_key(|e| e.id);
    crate::metrics::add(&state.metrics.events_published, events.len() as u64);
    crate::metrics::inc(&state.metrics.status_batches);
    crate::metrics::add(&state.metrics.status_callbacks_stored, answered.len() as u64);
    state.hub.flush(events);
    for (job, outcome) in answered {
        job.answer(Ok(outcome));
    }
    Ok(retry)
}

/// The callbacks of `slots`, to give back on failure.
fn unanswered(slots: Vec<Slot>) -> Vec<Job> {
    slots.into_iter().flat_map(|s| s.jobs).map(|(j, _)| j).collect()
}

impl Slot {
    fn new((tenant_id, parent_sid): (String, String), call: CallLog, legs: Legs) -> Slot {
        let version = call.updated_at;
        Slot { tenant_id, parent_sid, call, legs, version, events: Vec::new(), jobs: Vec::new() }
    }
}
