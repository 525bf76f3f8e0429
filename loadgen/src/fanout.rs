//! WebSocket fan-out: N agents connected to `GET /api/events?ticket=…` (each with a
//! single-use ticket from `POST /api/events/ticket`); each round one agent changes its
//! presence (`PUT /api/me/presence`), which the server stores and publishes to every
//! agent of the tenant. Rounds take turns among the agents: the server merges one agent's
//! presence updates within a second, and this measures fan-out, not that throttle.
//! Latency per socket = time the frame was read by the socket's task − time just before
//! the trigger request was sent.

use crate::error::{LoadError, Result};
use crate::setup::Session;
use crate::stats::Summary;
use futures_util::{SinkExt, StreamExt};
use mpt_core::api::{EventEnvelope, ServerEvent};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// How often each socket sends a client heartbeat.
const CLIENT_HEARTBEAT: Duration = Duration::from_secs(20);

/// What a socket task reports.
enum Seen {
    /// The socket received `hello` (subscribed: live events will arrive).
    Hello(usize),
    /// A presence event, read at that instant.
    Presence { socket: usize, available: bool, at: Instant },
    /// A `call_status` event, read at that instant.
    CallStatus { socket: usize, call_sid: Option<String>, status: String, at: Instant },
    /// The socket ended (error text).
    Closed(usize, String),
}

/// Result of the presence fan-out benchmark.
pub struct Outcome {
    /// Per-delivery latencies across sockets and rounds.
    pub summary: Summary,
    /// Deliveries expected but not received within the round's time limit.
    pub missed: usize,
    /// Rounds run.
    pub rounds: usize,
    /// Trigger request latencies (p50 ms).
    pub trigger_p50_ms: f64,
}

/// Connected sockets, one per session (same order), and what they report.
pub struct Sockets {
    rx: mpsc::UnboundedReceiver<Seen>,
    stop: tokio::sync::watch::Sender<bool>,
    handles: Vec<tokio::task::JoinHandle<()>>,
    /// Sockets that ended early.
    pub closed: Vec<String>,
    /// Sockets connected (all said hello).
    pub connected: usize,
    /// Time to connect them all.
    pub connect_time: Duration,
}

/// Mints a single-use event-socket ticket for a session.
async fn ticket(http: &reqwest::Client, base: &str, s: &Session) -> Result<String> {
    let resp = http.post(format!("{base}/api/events/ticket")).bearer_auth(&s.access).send().await?;
    if !resp.status().is_success() {
        return Err(LoadError::Setup(format!("POST /api/events/ticket: HTTP {}", resp.status())));
    }
    let t: mpt_core::api::EventTicket = resp.json().await?;
    Ok(t.ticket)
}

/// Connects a socket per session and waits until every one said `hello`.
pub async fn connect(http: &reqwest::Client, base: &str, sessions: &[Session]) -> Result<Sockets> {
    let ws_base = base.replacen("http://", "ws://", 1);
    let (tx, mut rx) = mpsc::unbounded_channel::<Seen>();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let n = sessions.len();
    let connect_start = Instant::now();
    // Connect in waves so the accept queue never overflows.
    let mut handles = Vec::with_capacity(n);
    for wave in sessions.chunks(50).enumerate() {
        let (w, chunk) = wave;
        let mut connecting = Vec::new();
        for (j, s) in chunk.iter().enumerate() {
            let url = format!("{ws_base}/api/events?ticket={}", ticket(http, base, s).await?);
            connecting.push(tokio::spawn(async move { (w * 50 + j, tokio_tungstenite::connect_async(url).await) }));
        }
        for c in connecting {
            let (idx, res) = c.await.map_err(|e| LoadError::Setup(format!("connect task: {e}")))?;
            let (ws, _) = res.map_err(|e| LoadError::Setup(format!("socket {idx}: {e}")))?;
            let (tx, mut stop) = (tx.clone(), stop_rx.clone());
            handles.push(tokio::spawn(async move {
                let (mut sink, mut stream) = ws.split();
                let mut said_hello = false;
                // Like the extension: a client heartbeat every 20 s (the server drops
                // clients silent for 75 s).
                let mut heartbeat = tokio::time::interval(CLIENT_HEARTBEAT);
                heartbeat.tick().await;
                loop {
                    tokio::select! {
                        msg = stream.next() => match msg {
                            Some(Ok(Message::Text(t))) => {
                                let at = Instant::now();
                                match serde_json::from_str::<EventEnvelope>(t.as_str()) {
                                    Ok(env) => match env.event {
                                        ServerEvent::Hello { .. } if !said_hello => {
                                            said_hello = true;
                                            let _ = tx.send(Seen::Hello(idx));
                                        }
                                        ServerEvent::Presence { available, .. } => {
                                            let _ = tx.send(Seen::Presence { socket: idx, available, at });
                                        }
                                        ServerEvent::CallStatus { call_sid, status, .. } => {
                                            let _ = tx.send(Seen::CallStatus { socket: idx, call_sid, status, at });
                                        }
                                        _ => {}
                                    },
                                    Err(e) => {
                                        let _ = tx.send(Seen::Closed(idx, format!("unreadable frame: {e}")));
                                        return;
                                    }
                                }
                            }
                            Some(Ok(Message::Close(_))) | None => {
                                let _ = tx.send(Seen::Closed(idx, "closed by server".into()));
                                return;
                            }
                            Some(Ok(_)) => {}
                            Some(Err(e)) => {
                                let _ = tx.send(Seen::Closed(idx, e.to_string()));
                                return;
                            }
                        },
                        _ = heartbeat.tick() => {
                            let frame = r#"{"type":"heartbeat"}"#;
                            if let Err(e) = sink.send(Message::Text(frame.into())).await {
                                let _ = tx.send(Seen::Closed(idx, format!("heartbeat: {e}")));
                                return;
                            }
                        }
                        _ = stop.changed() => {
                            let _ = sink.send(Message::Close(None)).await;
                            return;
                        }
                    }
                }
            }));
        }
    }
    // Every socket must be subscribed before the first trigger.
    let mut hello = vec![false; n];
    let mut hellos = 0;
    let mut closed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while hellos < n {
        match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
            Ok(Some(Seen::Hello(i))) if !hello[i] => {
                hello[i] = true;
                hellos += 1;
            }
            Ok(Some(Seen::Closed(i, e))) => closed.push(format!("socket {i}: {e}")),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    let connect_time = connect_start.elapsed();
    if hellos < n {
        let _ = stop.send(true);
        return Err(LoadError::Setup(format!("only {hellos} of {n} sockets said hello within 60 s; {closed:?}")));
    }
    Ok(Sockets { rx, stop, handles, closed, connected: hellos, connect_time })
}

impl Sockets {
    /// Runs `rounds` presence changes, round `i` by `triggers[i % len]`, each bounded by
    /// `round_timeout`; every socket must receive each one.
    pub async fn presence(
        &mut self,
        http: &reqwest::Client,
        base: &str,
        triggers: &[Session],
        rounds: usize,
        round_timeout: Duration,
    ) -> Result<Outcome> {
        let n = self.connected;
        let rx = &mut self.rx;
        let closed = &mut self.closed;
        let mut lat = Vec::with_capacity(n * rounds);
        let mut trig = Vec::with_capacity(rounds);
        let mut missed = 0;
        let mut available = false;
        let start = Instant::now();
        for round in 0..rounds {
            let trigger = &triggers[round % triggers.len().max(1)];
            available = !available;
            let mut got = vec![false; n];
            let mut count = 0;
            let t0 = Instant::now();
            let resp = http
                .put(format!("{base}/api/me/presence"))
                .bearer_auth(&trigger.access)
                .json(&serde_json::json!({ "available": available }))
                .send()
                .await?;
            trig.push(t0.elapsed());
            if !resp.status().is_success() {
                return Err(LoadError::Setup(format!("PUT /api/me/presence: HTTP {}", resp.status())));
            }
            let round_end = t0 + round_timeout;
            while count < n {
                match tokio::time::timeout_at(round_end.into(), rx.recv()).await {
                    Ok(Some(Seen::Presence { socket, available: a, at })) if a == available && !got[socket] => {
                        got[socket] = true;
                        count += 1;
                        lat.push(at.saturating_duration_since(t0));
                    }
                    Ok(Some(Seen::Closed(i, e))) => closed.push(format!("socket {i}: {e}")),
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
            missed += n - count;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let elapsed = start.elapsed();
        trig.sort_unstable();
        Ok(Outcome { summary: Summary::new(lat, 0, 0, elapsed), missed, rounds, trigger_p50_ms: crate::stats::pct_ms(&trig, 0.5) })
    }

    /// Collects `call_status` events until every call in `want` (parent SID → (socket
    /// of its agent, when its `completed` callback was sent)) got its `completed` at
    /// its agent's socket, or `timeout`. Also counts events that reached another
    /// agent's socket.
    pub async fn completed(&mut self, want: &HashMap<String, (usize, Instant)>, timeout: Duration) -> Delivery {
        let mut d = Delivery::default();
        let mut got = std::collections::HashSet::new();
        let end = Instant::now() + timeout;
        while got.len() < want.len() {
            match tokio::time::timeout_at(end.into(), self.rx.recv()).await {
                Ok(Some(Seen::CallStatus { socket, call_sid: Some(sid), status, at })) => {
                    let Some(&(owner, sent)) = want.get(&sid) else {
                        continue;
                    };
                    if owner != socket {
                        d.leaked += 1;
                    } else if status == "completed" && got.insert(sid) {
                        d.lat.push(at.saturating_duration_since(sent));
                    }
                }
                Ok(Some(Seen::Closed(i, e))) => self.closed.push(format!("socket {i}: {e}")),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        d.missing = want.len() - got.len();
        d
    }

    /// Closes every socket.
    pub async fn close(self) -> Vec<String> {
        let _ = self.stop.send(true);
        for h in self.handles {
            let abort = h.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), h).await.is_err() {
                abort.abort();
            }
        }
        self.closed
    }
}

/// Delivery of agent-targeted `call_status` events.
#[derive(Debug, Default)]
pub struct Delivery {
    /// Callback sent → event read by the agent's socket.
    pub lat: Vec<Duration>,
    /// Calls whose `completed` never reached their agent.
    pub missing: usize,
    /// Events that reached another agent's socket (must be 0).
    pub leaked: usize,
}
