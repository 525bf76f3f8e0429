//! Live events over a WebSocket per agent: `GET /api/events?ticket=…&last_event_id=N` (a
//! single-use ticket from `POST /api/events/ticket`; `?token=` still works until issue 8).
//! Replays stored events after `last_event_id` (so a reconnecting client misses
//! nothing; `hello` says `resync` when the client's id is older than the events kept),
//! then streams live ones; JSON heartbeats every 20 s; presence updates
//! from the client; a close frame on server shutdown.

use crate::error::{AppError, AppQuery, AppResult};
use crate::hub::StoredEvent;
use crate::metrics::Metrics;
use crate::state::AppState;
use axum::extract::ws::{Message, Utf8Bytes, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use mpt_core::api::{ClientMessage, EventEnvelope, ServerEvent};
use serde::Deserialize;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/events", get(upgrade))
        .route("/api/events/ticket", axum::routing::post(ticket))
}

/// Single-use socket tickets (`../shared/CONTRACTS.md` §5): ticket → (tenant, agent, expiry).
/// Minimal version so the extension's engine can use the contract on this branch; issue 8
/// brings the full one (revocation checks, entitlements) and replaces this.
type Tickets = std::sync::Mutex<std::collections::HashMap<String, (String, String, std::time::Instant)>>;

fn tickets() -> &'static Tickets {
    static T: std::sync::OnceLock<Tickets> = std::sync::OnceLock::new();
    T.get_or_init(Default::default)
}

/// Ticket lifetime.
const TICKET_TTL: Duration = Duration::from_secs(30);

async fn ticket(auth: crate::auth::Auth) -> AppResult<axum::Json<mpt_core::api::EventTicket>> {
    let agent = auth.agent_id()?.to_string();
    let t = crate::crypto::random_token(32);
    let now = std::time::Instant::now();
    let mut map = tickets().lock().map_err(|_| AppError::Internal("ticket store poisoned".into()))?;
    map.retain(|_, (_, _, exp)| *exp > now);
    map.insert(t.clone(), (auth.tenant_id.clone(), agent, now + TICKET_TTL));
    Ok(axum::Json(mpt_core::api::EventTicket { ticket: t, expires_in: TICKET_TTL.as_secs() as u32 }))
}

fn redeem(ticket: &str) -> AppResult<(String, String)> {
    let mut map = tickets().lock().map_err(|_| AppError::Internal("ticket store poisoned".into()))?;
    match map.remove(ticket) {
        Some((tid, sub, exp)) if exp > std::time::Instant::now() => Ok((tid, sub)),
        _ => Err(AppError::Unauthorized),
    }
}

/// Heartbeat period.
pub const HEARTBEAT: Duration = Duration::from_secs(20);
/// A client silent for this long is dropped.
const IDLE_TIMEOUT: Duration = Duration::from_secs(75);
const REPLAY_BATCH: i64 = 500;

#[derive(Debug, Deserialize)]
struct EventsQuery {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    ticket: Option<String>,
    #[serde(default)]
    last_event_id: Option<u64>,
}

async fn upgrade(
    State(state): State<AppState>,
    AppQuery(q): AppQuery<EventsQuery>,
    headers: axum::http::HeaderMap,
    ws: WebSocketUpgrade,
) -> AppResult<Response> {
    let (tid, sub) = match (&q.ticket, &q.token) {
        (Some(t), _) => redeem(t)?,
        (None, Some(tok)) => {
            let c = crate::auth::verify_access(&state, tok)?;
            (c.tid, c.sub)
        }
        (None, None) => return Err(AppError::Unauthorized),
    };
    if let Some(origin) = headers.get(axum::http::header::ORIGIN).and_then(|o| o.to_str().ok()) {
        let tenant = crate::tenant::by_id(&state, &tid).await?;
        if !tenant.allowed_origins.iter().any(|p| crate::tenant::origin_matches(p, origin)) {
            return Err(AppError::Forbidden);
        }
    }
    // Small read buffer: tungstenite zeroes up to `read_buffer_size` on every read
    // attempt, and each socket task wakes for every event; at the 128 KiB default,
    // 1,000 sockets spent most server CPU in memset (loadgen, fan-out phase).
    // Clients only send heartbeats and presence, so 4 KiB is plenty.
    Ok(ws.read_buffer_size(4096).on_upgrade(move |socket| async move {
        let (sink, stream) = socket.split();
        let session = Session { state: state.clone(), tenant_id: tid, agent_id: sub };
        state.metrics.ws_connections.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = session.run(sink, stream, q.last_event_id).await {
            tracing::debug!(error = %e, "event socket ended");
        }
        dec(&state.metrics);
    }))
}

fn dec(m: &Metrics) {
    m.ws_connections.fetch_sub(1, Ordering::Relaxed);
}

struct Session {
    state: AppState,
    tenant_id: String,
    agent_id: String,
}

fn text(s: &str) -> Message {
    Message::Text(Utf8Bytes::from(s))
}

fn envelope(event: ServerEvent) -> Result<Message, AppError> {
    let env = EventEnvelope { id: None, at: crate::db::now_ms(), event };
    Ok(text(&serde_json::to_string(&env)?))
}

impl Session {
    /// Runs the socket: generic over sink and stream so it can be driven by channels.
    async fn run<S, R>(self, mut sink: S, mut stream: R, last_event_id: Option<u64>) -> Result<(), AppError>
    where
        S: Sink<Message> + Unpin,
        S::Error: std::fmt::Display,
        R: Stream<Item = Result<Message, axum::Error>> + Unpin,
    {
        let send_err = |e: S::Error| AppError::Internal(format!("socket send: {e}"));
        // Subscribe first, then replay: nothing published in between is lost.
        let mut live = self.state.hub.subscribe(&self.tenant_id, &self.agent_id);
        let mut last = match last_event_id {
            Some(id) => id,
            None => self.state.hub.last_id(&self.tenant_id).await?,
        };
        // Resuming from before the pruned horizon: the replay cannot be complete.
        let resync = match last_event_id {
            Some(id) => id < self.state.hub.pruned_through().await?,
            None => false,
        };
        last = self.replay(&mut sink, last).await?;
        let hello = ServerEvent::Hello { agent_id: self.agent_id.clone(), last_event_id: last, resync };
        sink.send(envelope(hello)?).await.map_err(send_err)?;
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.tick().await;
        let shutdown = crate::state::until_shutdown(self.state.shutdown.subscribe());
        tokio::pin!(shutdown);
        let mut last_seen = tokio::time::Instant::now();
        loop {
            tokio::select! {
                ev = live.recv() => match ev {
                    Ok(ev) => {
                        // Events of a tenant are published in id order (see `Hub::publish`).
                        if ev.id > last && ev.is_for(&self.tenant_id, &self.agent_id) {
                            sink.send(text(&ev.frame)).await.map_err(send_err)?;
                            last = ev.id;
                        }
                    }
                    Err(RecvError::Lagged(_)) => last = self.replay(&mut sink, last).await?,
                    Err(RecvError::Closed) => return Ok(()),
                },
                msg = stream.next() => {
                    last_seen = tokio::time::Instant::now();
                    match msg {
                        Some(Ok(Message::Text(t))) => self.on_client_message(t.as_str()).await?,
                        Some(Ok(Message::Close(_))) | None => return Ok(()),
                        Some(Ok(_)) => {}
                        Some(Err(e)) => return Err(AppError::Internal(format!("socket read: {e}"))),
                    }
                }
                _ = heartbeat.tick() => {
                    if last_seen.elapsed() > IDLE_TIMEOUT {
                        let _ = sink.send(Message::Close(None)).await;
                        return Ok(());
                    }
                    sink.send(envelope(ServerEvent::Heartbeat { at: crate::db::now_ms() })?).await.map_err(send_err)?;
                }
                _ = &mut shutdown => {
                    let _ = sink.send(Message::Close(None)).await;
                    return Ok(());
                }
            }
        }
    }

    /// Sends stored events after `after`; returns the last id sent.
    async fn replay<S>(&self, sink: &mut S, mut after: u64) -> Result<u64, AppError>
    where
        S: Sink<Message> + Unpin,
        S::Error: std::fmt::Display,
    {
        loop {
            let batch: Vec<StoredEvent> = self.state.hub.since(&self.tenant_id, &self.agent_id, after, REPLAY_BATCH).await?;
            let n = batch.len();
            for ev in batch {
                sink.send(text(&ev.frame)).await.map_err(|e| AppError::Internal(format!("socket send: {e}")))?;
                after = ev.id;
            }
            if (n as i64) < REPLAY_BATCH {
                return Ok(after);
            }
        }
    }

    async fn on_client_message(&self, t: &str) -> Result<(), AppError> {
        match serde_json::from_str::<ClientMessage>(t) {
            Ok(ClientMessage::Heartbeat) => Ok(()),
            Ok(ClientMessage::Presence { available }) => {
                crate::routes::set_presence(&self.state, &self.tenant_id, &self.agent_id, available).await
            }
            Err(_) => Ok(()), // Unknown frames are ignored (newer clients).
        }
    }
}
