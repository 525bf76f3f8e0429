//! Live events: every event is stored (so a reconnecting client can resume from its
//! last id) and fanned out to the sockets of this process, each agent on a channel of
//! its own. With PostgreSQL, a process announces each stored event with
//! `NOTIFY mpt_events, …`, and every process (itself included) `LISTEN`s, loads the
//! event and fans it out, so an agent gets it whichever process received the webhook.

use crate::db::{now_ms, Backend, Db};
use mpt_core::api::ServerEvent;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::broadcast;

/// Events deleted per pruning transaction.
pub const PRUNE_CHUNK: i64 = 5_000;
/// How often old events are pruned.
pub const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// A stored event, serialized once for all sockets.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// Event id.
    pub id: u64,
    /// Tenant.
    pub tenant_id: String,
    /// Target agent; `None` = every agent of the tenant.
    pub agent_id: Option<String>,
    /// The frame to send (`EventEnvelope` JSON).
    pub frame: Arc<str>,
}

impl StoredEvent {
    /// An event as stored (`payload` is the serialized [`ServerEvent`]).
    pub fn new(id: i64, tenant_id: &str, agent_id: Option<&str>, at: i64, payload: &str) -> StoredEvent {
        StoredEvent {
            id: id as u64,
            tenant_id: tenant_id.to_string(),
            agent_id: agent_id.map(str::to_string),
            frame: frame(id, at, payload),
        }
    }

    /// Is this event for that agent?
    pub fn is_for(&self, tenant_id: &str, agent_id: &str) -> bool {
        self.tenant_id == tenant_id && self.agent_id.as_deref().is_none_or(|a| a == agent_id)
    }
}

/// What an agent's channel carries.
#[derive(Debug, Clone)]
pub enum Live {
    /// A committed event.
    Event(Arc<StoredEvent>),
    /// Events may have been committed that this channel never got (this process's
    /// PostgreSQL listener was not listening for a while): replay from the database.
    CatchUp,
}

/// The event hub.
#[derive(Clone)]
pub struct Hub {
    db: Db,
    routes: Arc<Mutex<Routes>>,
}

/// One channel per connected agent, by tenant then agent: an event wakes only the
/// sockets it is for (one global channel woke every socket of the process for every
/// event, which dominated CPU with 1,000 agents connected). A tenant-wide event is
/// sent into each of the tenant's agent channels; since events of a tenant are fanned
/// out in id order (see [`Hub::stage`]), every channel stays in id order.
#[derive(Default)]
struct Routes {
    by_tenant: HashMap<String, HashMap<String, broadcast::Sender<Live>>>,
}

impl Routes {
    fn subscribe(&mut self, tenant_id: &str, agent_id: &str) -> broadcast::Receiver<Live> {
        self.by_tenant
            .entry(tenant_id.to_string())
            .or_default()
            .entry(agent_id.to_string())
            .or_insert_with(|| broadcast::channel(AGENT_CHANNEL_CAPACITY).0)
            .subscribe()
    }

    /// Sends an event to the channels it is for, dropping channels whose sockets are gone.
    fn deliver(&mut self, ev: StoredEvent) {
        let ev = Arc::new(ev);
        let Some(agents) = self.by_tenant.get_mut(&ev.tenant_id) else { return };
        match ev.agent_id.as_deref() {
            Some(agent) => {
                if agents.get(agent).is_some_and(|tx| tx.send(Live::Event(ev.clone())).is_err()) {
                    agents.remove(agent);
                }
            }
            None => agents.retain(|_, tx| tx.send(Live::Event(ev.clone())).is_ok()),
        }
        if agents.is_empty() {
            self.by_tenant.remove(&ev.tenant_id);
        }
    }

    /// Tells every channel to catch up from the database, dropping channels whose
    /// sockets are gone.
    fn catch_up(&mut self) {
        self.by_tenant.retain(|_, agents| {
            agents.retain(|_, tx| tx.send(Live::CatchUp).is_ok());
            !agents.is_empty()
        });
    }
}

/// Events an agent's channel buffers before its socket counts as lagging (it then
/// replays from the database).
const AGENT_CHANNEL_CAPACITY: usize = 1024;

const CHANNEL: &str = "mpt_events";

/// PostgreSQL notification text: the whole event (`id\nat\ntenant\nagent\npayload`) when it
/// fits in a notification (8000 bytes), else just the id (listeners then load the row).
fn notification(id: i64, at: i64, tenant_id: &str, agent_id: Option<&str>, payload: &str) -> String {
    let full = format!("{id}\n{at}\n{tenant_id}\n{}\n{payload}", agent_id.unwrap_or(""));
    if full.len() < 7900 {
        full
    } else {
        id.to_string()
    }
}

fn parse_notification(s: &str) -> Option<StoredEvent> {
    let mut parts = s.splitn(5, '\n');
    let id: i64 = parts.next()?.parse().ok()?;
    let at: i64 = parts.next()?.parse().ok()?;
    let tenant = parts.next()?;
    let agent = parts.next()?;
    let payload = parts.next()?;
    Some(StoredEvent::new(id, tenant, (!agent.is_empty()).then_some(agent), at, payload))
}

fn frame(id: i64, at: i64, payload: &str) -> Arc<str> {
    // payload is a serialized ServerEvent; the envelope is assembled without re-parsing.
    Arc::from(format!(r#"{{"id":{id},"at":{at},"event":{payload}}}"#))
}

impl Hub {
    /// A hub over `db`.
    pub fn new(db: Db) -> Hub {
        Hub { db, routes: Arc::default() }
    }

    /// Subscribes to this process's fan-out of one agent's events (its own and its
    /// tenant's tenant-wide ones).
    pub fn subscribe(&self, tenant_id: &str, agent_id: &str) -> broadcast::Receiver<Live> {
        self.routes.lock().unwrap_or_else(PoisonError::into_inner).subscribe(tenant_id, agent_id)
    }

    /// Delivers a committed event to this process's sockets it is for.
    fn fan_out(&self, ev: StoredEvent) {
        self.routes.lock().unwrap_or_else(PoisonError::into_inner).deliver(ev);
    }

    /// Stores an event and fans it out; returns its id.
    pub async fn publish(&self, tenant_id: &str, agent_id: Option<&str>, event: &ServerEvent) -> Result<u64, sqlx::Error> {
        let _writer = self.db.write_lock().await;
        let mut tx = self.db.pool.begin().await?;
        let ev = self.stage(&mut tx, tenant_id, agent_id, event).await?;
        tx.commit().await?;
        let id = ev.id;
        self.flush(vec![ev]);
        Ok(id)
    }

    /// Stores an event inside the caller's transaction. After commit, pass the result to
    /// [`Hub::flush`] (while still holding [`Db::write_lock`]).
    ///
    /// Events of one tenant reach subscribers in id order: with SQLite, writes hold the
    /// writer lock through commit and fan-out; with PostgreSQL, a per-tenant advisory
    /// lock held until commit makes commit order (hence NOTIFY order) equal id order.
    pub async fn stage(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant_id: &str,
        agent_id: Option<&str>,
        event: &ServerEvent,
    ) -> Result<StoredEvent, sqlx::Error> {
        let payload = serde_json::to_string(event).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        let at = now_ms();
        if self.db.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))").bind(tenant_id).execute(&mut **tx).await?;
        }
        let row = sqlx::query("INSERT INTO events (tenant_id, agent_id, payload, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(tenant_id)
            .bind(agent_id)
            .bind(&payload)
            .bind(at)
            .fetch_one(&mut **tx)
            .await?;
        let id: i64 = row.try_get(0)?;
        if self.db.backend == Backend::Postgres {
            let note = notification(id, at, tenant_id, agent_id, &payload);
            sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(note).execute(&mut **tx).await?;
        }
        Ok(StoredEvent {
            id: id as u64,
            tenant_id: tenant_id.to_string(),
            agent_id: agent_id.map(str::to_string),
            frame: frame(id, at, &payload),
        })
    }

    /// Stores several events of one tenant with one statement (ids in the given order).
    pub async fn stage_many(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant_id: &str,
        events: &[(Option<String>, ServerEvent)],
    ) -> Result<Vec<StoredEvent>, sqlx::Error> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        if self.db.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))").bind(tenant_id).execute(&mut **tx).await?;
        }
        let at = now_ms();
        let mut payloads = Vec::with_capacity(events.len());
        let mut sql = String::from("INSERT INTO events (tenant_id, agent_id, payload, created_at) VALUES ");
        for (i, (_, ev)) in events.iter().enumerate() {
            payloads.push(serde_json::to_string(ev).map_err(|e| sqlx::Error::Protocol(e.to_string()))?);
            let b = i * 3;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("($1, ${}, ${}, ${})", b + 2, b + 3, b + 4));
        }
        sql.push_str(" RETURNING id");
        let mut q = sqlx::query(&sql).bind(tenant_id);
        for ((agent, _), payload) in events.iter().zip(&payloads) {
            q = q.bind(agent.clone()).bind(payload.clone()).bind(at);
        }
        let rows = q.fetch_all(&mut **tx).await?;
        let mut ids = rows.iter().map(|r| r.try_get::<i64, _>(0)).collect::<Result<Vec<_>, _>>()?;
        ids.sort_unstable();
        let mut out = Vec::with_capacity(events.len());
        for ((id, (agent, _)), payload) in ids.into_iter().zip(events).zip(&payloads) {
            if self.db.backend == Backend::Postgres {
                let note = notification(id, at, tenant_id, agent.as_deref(), payload);
                sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(note).execute(&mut **tx).await?;
            }
            out.push(StoredEvent {
                id: id as u64,
                tenant_id: tenant_id.to_string(),
                agent_id: agent.clone(),
                frame: frame(id, at, payload),
            });
        }
        Ok(out)
    }

    /// Fans out committed events (SQLite; with PostgreSQL the listener does it).
    pub fn flush(&self, events: Vec<StoredEvent>) {
        if self.db.backend == Backend::Sqlite {
            for ev in events {
                self.fan_out(ev);
            }
        }
    }

    /// Events for an agent after `after_id`, oldest first (at most `limit`).
    pub async fn since(&self, tenant_id: &str, agent_id: &str, after_id: u64, limit: i64) -> Result<Vec<StoredEvent>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, agent_id, payload, created_at FROM events \
             WHERE tenant_id = $1 AND id > $2 AND (agent_id IS NULL OR agent_id = $3) ORDER BY id LIMIT $4",
        )
        .bind(tenant_id)
        .bind(after_id as i64)
        .bind(agent_id)
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                Ok(StoredEvent {
                    id: id as u64,
                    tenant_id: tenant_id.to_string(),
                    agent_id: r.try_get("agent_id")?,
                    frame: frame(id, r.try_get("created_at")?, &r.try_get::<String, _>("payload")?),
                })
            })
            .collect()
    }

    /// Highest event id of a tenant (0 when none).
    pub async fn last_id(&self, tenant_id: &str) -> Result<u64, sqlx::Error> {
        let row = sqlx::query("SELECT MAX(id) AS m FROM events WHERE tenant_id = $1").bind(tenant_id).fetch_one(&self.db.pool).await?;
        Ok(row.try_get::<Option<i64>, _>("m")?.unwrap_or(0) as u64)
    }

    /// Events pruned so far: every id up to this one may be gone (0 = none pruned).
    pub async fn pruned_through(&self) -> Result<u64, sqlx::Error> {
        let row = sqlx::query("SELECT pruned_through FROM event_horizon WHERE id = 1").fetch_optional(&self.db.pool).await?;
        Ok(match row {
            Some(r) => r.try_get::<i64, _>("pruned_through")?.max(0) as u64,
            None => 0,
        })
    }

    /// Deletes events created before `before_ms`, oldest first, in chunks of `chunk`
    /// (each its own short transaction, so live writes interleave), and records the
    /// highest id deleted. Looks only at the oldest chunk each time, so it never scans
    /// the table. Returns how many were deleted.
    pub async fn prune(&self, before_ms: i64, chunk: i64) -> Result<u64, sqlx::Error> {
        let chunk = chunk.max(1);
        let mut total = 0u64;
        loop {
            let _writer = self.db.write_lock().await;
            let mut tx = self.db.pool.begin().await?;
            let rows = sqlx::query(
                "DELETE FROM events WHERE id IN (SELECT id FROM \
                 (SELECT id, created_at FROM events ORDER BY id LIMIT $1) AS oldest WHERE created_at < $2) RETURNING id",
            )
            .bind(chunk)
            .bind(before_ms)
            .fetch_all(&mut *tx)
            .await?;
            let mut max = 0i64;
            for r in &rows {
                max = max.max(r.try_get::<i64, _>("id")?);
            }
            if max > 0 {
                sqlx::query(
                    "UPDATE event_horizon SET pruned_through = CASE WHEN pruned_through < $1 THEN $1 ELSE pruned_through END WHERE id = 1",
                )
                .bind(max)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            total += rows.len() as u64;
            if (rows.len() as i64) < chunk {
                return Ok(total);
            }
        }
    }

    /// Prunes events older than `hours` now and then every [`PRUNE_EVERY`], until the
    /// process ends (`hours == 0`: never).
    pub fn spawn_pruner(&self, hours: u64) {
        if hours == 0 {
            return;
        }
        let hub = self.clone();
        tokio::spawn(async move {
            let keep = i64::try_from(hours.saturating_mul(3_600_000)).unwrap_or(i64::MAX);
            let mut every = tokio::time::interval(PRUNE_EVERY);
            loop {
                every.tick().await;
                match hub.prune(now_ms().saturating_sub(keep), PRUNE_CHUNK).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(events = n, "pruned old events"),
                    Err(e) => tracing::warn!(error = %e, "pruning old events failed"),
                }
            }
        });
    }

    /// With PostgreSQL: listens for other processes' (and our own) events and fans them
    /// out here. Runs until the process ends; reconnects after errors.
    ///
    /// A notification reaches only sessions listening when it is sent, so whatever was
    /// committed while this process was not listening (a lost connection, a failed
    /// query below, the start) never arrives: each time the listener is listening again,
    /// every socket of the process is told to catch up from the database.
    pub fn spawn_pg_listener(&self) {
        if self.db.backend != Backend::Postgres {
            return;
        }
        let hub = self.clone();
        tokio::spawn(async move {
            loop {
                match hub.listen_once().await {
                    Ok(()) => tracing::warn!("event listener lost its connection; reconnecting"),
                    Err(e) => {
                        tracing::warn!(error = %e, "event listener failed; reconnecting");
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    }
                }
            }
        });
    }

    /// Listens until the connection is lost (`Ok`) or something fails (`Err`).
    async fn listen_once(&self) -> Result<(), sqlx::Error> {
        let mut listener = sqlx::postgres::PgListener::connect(&self.db.url).await?;
        // Reconnecting here would hide the gap: the caller reconnects and catches up.
        listener.eager_reconnect(false);
        listener.listen(CHANNEL).await?;
        self.routes.lock().unwrap_or_else(PoisonError::into_inner).catch_up();
        loop {
            let Some(n) = listener.try_recv().await? else { return Ok(()) };
            if let Some(ev) = parse_notification(n.payload()) {
                self.fan_out(ev);
                continue;
            }
            // Too large for a notification: only the id was sent.
            let Ok(id) = n.payload().parse::<i64>() else { continue };
            let row = sqlx::query("SELECT tenant_id, agent_id, payload, created_at FROM events WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?;
            if let Some(r) = row {
                self.fan_out(StoredEvent {
                    id: id as u64,
                    tenant_id: r.try_get("tenant_id")?,
                    agent_id: r.try_get("agent_id")?,
                    frame: frame(id, r.try_get("created_at")?, &r.try_get::<String, _>("payload")?),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: i64, tenant: &str, agent: Option<&str>) -> StoredEvent {
        StoredEvent::new(id, tenant, agent, 0, r#"{"type":"heartbeat","at":1}"#)
    }

    /// Event ids received (0 for a catch-up).
    fn ids(rx: &mut broadcast::Receiver<Live>) -> Vec<u64> {
        std::iter::from_fn(|| {
            rx.try_recv().ok().map(|l| match l {
                Live::Event(e) => e.id,
                Live::CatchUp => 0,
            })
        })
        .collect()
    }

    #[test]
    fn routes_send_each_event_only_to_its_agents_in_id_order() {
        let mut routes = Routes::default();
        let mut a1 = routes.subscribe("t1", "a1");
        let mut a1_second_socket = routes.subscribe("t1", "a1");
        let mut a2 = routes.subscribe("t1", "a2");
        let mut other_tenant = routes.subscribe("t2", "a1");
        routes.deliver(ev(1, "t1", Some("a1")));
        routes.deliver(ev(2, "t1", None));
        routes.deliver(ev(3, "t1", Some("a2")));
        routes.deliver(ev(4, "t2", None));
        routes.deliver(ev(5, "t1", Some("nobody-connected")));
        assert_eq!(ids(&mut a1), [1, 2]);
        assert_eq!(ids(&mut a1_second_socket), [1, 2]);
        assert_eq!(ids(&mut a2), [2, 3]);
        assert_eq!(ids(&mut other_tenant), [4]);
    }

    #[test]
    fn routes_forget_agents_whose_sockets_are_gone() {
        let mut routes = Routes::default();
        let gone = routes.subscribe("t1", "a1");
        let mut stays = routes.subscribe("t1", "a2");
        drop(gone);
        routes.deliver(ev(1, "t1", None));
        assert_eq!(routes.by_tenant["t1"].len(), 1, "a1's channel is dropped on the next tenant-wide event");
        assert_eq!(ids(&mut stays), [1]);
        drop(stays);
        routes.deliver(ev(2, "t1", Some("a2")));
        assert!(routes.by_tenant.is_empty(), "a tenant with no sockets left is forgotten");
    }

    #[test]
    fn catch_up_reaches_every_channel_in_order_and_forgets_closed_ones() {
        let mut routes = Routes::default();
        let mut a1 = routes.subscribe("t1", "a1");
        let mut a2 = routes.subscribe("t2", "a2");
        let gone = routes.subscribe("t2", "a3");
        drop(gone);
        routes.deliver(ev(1, "t1", Some("a1")));
        routes.catch_up();
        routes.deliver(ev(2, "t1", None));
        assert_eq!(ids(&mut a1), [1, 0, 2]);
        assert_eq!(ids(&mut a2), [0]);
        assert_eq!(routes.by_tenant["t2"].len(), 1, "a3's channel is dropped");
        drop((a1, a2));
        routes.catch_up();
        assert!(routes.by_tenant.is_empty());
    }

    #[test]
    fn notifications_carry_small_events_whole() {
        let n = notification(7, 100, "tn_a", Some("ag_b"), r#"{"type":"heartbeat","at":1}"#);
        let ev = parse_notification(&n).expect("parsed");
        assert_eq!((ev.id, ev.tenant_id.as_str(), ev.agent_id.as_deref()), (7, "tn_a", Some("ag_b")));
        assert_eq!(&*ev.frame, r#"{"id":7,"at":100,"event":{"type":"heartbeat","at":1}}"#);
        let all = parse_notification(&notification(8, 1, "t", None, "{}")).expect("parsed");
        assert_eq!(all.agent_id, None);
        let big = "x".repeat(9000);
        assert_eq!(notification(9, 1, "t", None, &big), "9");
        assert!(parse_notification("9").is_none());
    }
}
