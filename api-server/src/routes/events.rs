//! Live events over a WebSocket per agent (`../shared/CONTRACTS.md` §5):
//! `POST /api/events/ticket` (bearer) mints a single-use ticket, then
//! `GET /api/events?ticket=…&last_event_id=N` opens the socket. Replays stored events
//! after `last_event_id` (so a reconnecting client misses nothing; `hello` says `resync`
//! when the client's id is older than the events kept), then streams live ones; JSON
//! heartbeats every 20 s; presence updates from the client (merged and throttled).
//! Closes with 4401 when the session that minted the ticket ends (sign-out, disabled
//! agent, revoked key, expiry: heard at once in this process, re-checked at every
//! heartbeat), and with 1012 on server shutdown.

use crate::auth::Auth;
use crate::error::AppJson;
use crate::error::{AppError, AppQuery, AppResult};
use crate::hub::{Live, StoredEvent};
use crate::metrics::Metrics;
use crate::sessions::{Ended, SessionRef};
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use mpt_core::api::{ClientMessage, EventEnvelope, EventTicket, ServerEvent, CLOSE_SERVER_RESTART, CLOSE_SESSION_ENDED};
use serde::Deserialize;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/events", get(upgrade)).route("/api/events/ticket", post(ticket))
}

/// Heartbeat period.
pub const HEARTBEAT: Duration = Duration::from_secs(20);
/// A client silent for this long is dropped.
const IDLE_TIMEOUT: Duration = Duration::from_secs(75);
const REPLAY_BATCH: i64 = 500;
/// Clients send heartbeats and presence only: a frame or message larger than this is a
/// protocol violation and ends the socket.
pub const MAX_CLIENT_MESSAGE: usize = 4096;

#[derive(Debug, Deserialize)]
struct EventsQuery {
    ticket: String,
    #[serde(default)]
    last_event_id: Option<u64>,
}

async fn ticket(State(state): State<AppState>, auth: Auth) -> AppResult<AppJson<EventTicket>> {
    if !state.token_limit.check(&format!("ticket|{}", auth.agent_id()?)) {
        crate::metrics::inc(&state.metrics.rate_limited);
        return Err(AppError::RateLimited);
    }
    Ok(AppJson(crate::tickets::mint(&state, &auth).await?))
}

async fn upgrade(
    State(state): State<AppState>,
    AppQuery(q): AppQuery<EventsQuery>,
    headers: axum::http::HeaderMap,
    ws: WebSocketUpgrade,
) -> AppResult<Response> {
    let owner = crate::tickets::redeem(&state, &q.ticket).await?;
    if let Some(origin) =
        headers.get(axum::http::header::ORIGIN).and_then(|o| o.to_str().ok()).filter(|o| !crate::tenant::is_own_origin(&state, o))
    {
        let tenant = crate::tenant::by_id(&state, &owner.tenant_id).await?;
        if !tenant.allowed_origins.iter().any(|p| crate::tenant::origin_matches(p, origin)) {
            return Err(AppError::Forbidden);
        }
    }
    // Small read buffer: tungstenite zeroes up to `read_buffer_size` on every read
    // attempt, and each socket task wakes for every event; at the 128 KiB default,
    // 1,000 sockets spent most server CPU in memset (loadgen, fan-out phase).
    // Clients only send heartbeats and presence, so 4 KiB is plenty.
    let ws = ws.read_buffer_size(4096).max_message_size(MAX_CLIENT_MESSAGE).max_frame_size(MAX_CLIENT_MESSAGE);
    let session = Session { state: state.clone(), tenant_id: owner.tenant_id, agent_id: owner.agent_id, session: owner.session };
    let start = session.start(q.last_event_id).await?;
    Ok(ws.on_upgrade(move |socket| async move {
        let (sink, stream) = socket.split();
        state.metrics.ws_connections.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = session.run(sink, stream, start).await {
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
    session: SessionRef,
}

/// Where a socket starts, fixed before the handshake is answered: a client that has
/// seen its socket open gets every event committed from then on. (Fixed after the
/// answer, as before, an event committed in between had an id at or below the
/// starting point read afterwards, so it was neither replayed nor sent live.)
struct Start {
    live: broadcast::Receiver<Live>,
    ended: broadcast::Receiver<Ended>,
    /// Replay after this id; `None` from the client means the newest id at the start.
    after: u64,
    /// Resuming from before the pruned horizon: the replay cannot be complete.
    resync: bool,
}

/// Closes with a code the client acts on (4401: sign out; 1012: reconnect later), then
/// waits briefly for the client's close frame: a close handshake, so the code is not lost
/// to a connection reset.
async fn closing<S, R>(mut sink: S, mut stream: R, code: u16, reason: &'static str) -> Result<(), AppError>
where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let frame = Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) }));
    if sink.send(frame).await.is_err() {
        return Ok(());
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(msg)) = stream.next().await {
            if matches!(msg, Message::Close(_)) {
                return;
            }
        }
    })
    .await;
    Ok(())
}

fn text(s: &str) -> Message {
    Message::Text(Utf8Bytes::from(s))
}

fn envelope(event: ServerEvent) -> Result<Message, AppError> {
    let env = EventEnvelope { id: None, at: crate::db::now_ms(), event };
    Ok(text(&serde_json::to_string(&env)?))
}

impl Session {
    /// Subscribes, then reads where to start: nothing published in between is lost
    /// (it is either at or below the start, or in the subscription).
    async fn start(&self, last_event_id: Option<u64>) -> Result<Start, AppError> {
        let live = self.state.hub.subscribe(&self.tenant_id, &self.agent_id);
        let ended = self.state.sessions.subscribe();
        let (after, resync) = match last_event_id {
            Some(id) => (id, id < self.state.hub.pruned_through().await?),
            None => (self.state.hub.last_id(&self.tenant_id).await?, false),
        };
        Ok(Start { live, ended, after, resync })
    }

    /// Runs the socket: generic over sink and stream so it can be driven by channels.
    async fn run<S, R>(self, mut sink: S, mut stream: R, start: Start) -> Result<(), AppError>
    where
        S: Sink<Message> + Unpin,
        S::Error: std::fmt::Display,
        R: Stream<Item = Result<Message, axum::Error>> + Unpin,
    {
        let send_err = |e: S::Error| AppError::Internal(format!("socket send: {e}"));
        let Start { mut live, mut ended, after, resync } = start;
        // A session ended between the ticket's redemption and the subscription to
        // session ends was not heard: check once now, or the socket would live until
        // its next heartbeat.
        if !self.live().await {
            return closing(sink, stream, CLOSE_SESSION_ENDED, "session ended").await;
        }
        let mut last = self.replay(&mut sink, after).await?;
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
                    Ok(Live::Event(ev)) => {
                        // Events of a tenant are published in id order (see `Hub::publish`).
                        if ev.id > last && ev.is_for(&self.tenant_id, &self.agent_id) {
                            sink.send(text(&ev.frame)).await.map_err(send_err)?;
                            last = ev.id;
                        }
                    }
                    // Missed some: what was committed is in the database.
                    Ok(Live::CatchUp) | Err(RecvError::Lagged(_)) => last = self.replay(&mut sink, last).await?,
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
                end = ended.recv() => match end {
                    Ok(Ended::Agent(a)) if a == self.agent_id => return closing(sink, stream, CLOSE_SESSION_ENDED, "session ended").await,
                    Ok(e) if self.session.ended_by(&e) => return closing(sink, stream, CLOSE_SESSION_ENDED, "session ended").await,
                    // Missed some: check this session directly.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) if !self.live().await => {
                        return closing(sink, stream, CLOSE_SESSION_ENDED, "session ended").await
                    }
                    _ => {}
                },
                _ = heartbeat.tick() => {
                    if last_seen.elapsed() > IDLE_TIMEOUT {
                        let _ = sink.send(Message::Close(None)).await;
                        return Ok(());
                    }
                    // Sessions ended by another process, or by time.
                    if !self.live().await {
                        return closing(sink, stream, CLOSE_SESSION_ENDED, "session ended").await;
                    }
                    sink.send(envelope(ServerEvent::Heartbeat { at: crate::db::now_ms() })?).await.map_err(send_err)?;
                }
                _ = &mut shutdown => {
                    return closing(sink, stream, CLOSE_SERVER_RESTART, "server restart").await;
                }
            }
        }
    }

    async fn live(&self) -> bool {
        // A failed check (database down) keeps the socket: it is not a revocation.
        self.state.sessions.is_live(&self.state, Some(&self.agent_id), &self.session).await.unwrap_or(true)
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
                self.state.presence.set(&self.state, &self.tenant_id, &self.agent_id, available).await
            }
            Err(_) => Ok(()), // Unknown frames are ignored (newer clients).
        }
    }
}
