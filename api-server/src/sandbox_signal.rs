//! The sandbox's Voice signalling edge: `GET /api/sandbox/signal`, the WebSocket the
//! sandbox `Device` stand-in (`voice/sandbox-device.js`) talks to in place of Twilio's
//! signalling servers (protocol: [`mpt_core::signal`], `docs/sandbox-signal.md`).
//!
//! It plays Twilio's side for the browser: authenticates with the Voice access token the
//! agent got from `/api/twilio/token` (signature, expiry, identity, the tenant's API
//! key), rings every registered device of an identity when the tenant's stand-in runs a
//! `<Dial><Client>`, stops the others when one answers (first answer wins), lets one
//! device decline only itself, and places a device's outgoing call through the TwiML app
//! with the token's `outgoing.params`, exactly as the real edge does. A device whose
//! socket goes away loses its calls, as media would.

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use mpt_core::signal::{SignalIn, SignalOut, MAX_SIGNAL_FRAME};
use mpt_twilio::standin::{StandInEvent, StandInEventKind};
use mpt_twilio::token::Claims;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::mpsc;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/sandbox/signal", get(upgrade))
}

/// The first frame must come within this long.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);
/// Close code for a refused or expired token (the SDK's 20101/20104 follow as an error frame).
const CLOSE_UNAUTHORIZED: u16 = 4401;

/// Registered devices, ringing legs and the calls each device holds.
#[derive(Default)]
pub struct Signal {
    next: AtomicU64,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    devices: HashMap<u64, Device>,
    /// Ringing `<Client>` legs, by child SID.
    ringing: HashMap<String, Ring>,
    /// Calls a device holds, by the SID the stand-in reports them under (the parent of
    /// an outgoing call, the child leg of an answered incoming one).
    held: HashMap<String, u64>,
}

struct Device {
    tenant_id: String,
    identity: String,
    registered: bool,
    tx: mpsc::UnboundedSender<SignalOut>,
}

struct Ring {
    tenant_id: String,
    /// Devices still ringing.
    devices: Vec<u64>,
    /// The first device that accepted.
    accepted_by: Option<u64>,
}

impl Signal {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain maps behind: keep serving them.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(inner: &Inner, conn: u64, out: SignalOut) {
        if let Some(d) = inner.devices.get(&conn) {
            let _ = d.tx.send(out);
        }
    }

    /// Registered devices of an identity (tests and metrics).
    pub fn registered(&self, tenant_id: &str, identity: &str) -> usize {
        self.lock().devices.values().filter(|d| d.registered && d.tenant_id == tenant_id && d.identity == identity).count()
    }

    /// A stand-in event of `tenant_id`: ring, cancel, answer or end the devices' calls.
    pub fn on_event(&self, tenant_id: &str, ev: &StandInEvent) {
        let mut inner = self.lock();
        let sid = ev.call_sid.as_str();
        let parent = ev.parent_call_sid.as_deref();
        match &ev.kind {
            StandInEventKind::ClientRinging { identity, parameters, from } => {
                let targets: Vec<u64> = inner
                    .devices
                    .iter()
                    .filter(|(_, d)| d.registered && d.tenant_id == tenant_id && d.identity == *identity)
                    .map(|(c, _)| *c)
                    .collect();
                if targets.is_empty() {
                    return; // nobody rings: the leg times out as no-answer, as Twilio's would
                }
                let params: BTreeMap<String, String> = parameters.iter().cloned().collect();
                for c in &targets {
                    Self::send(
                        &inner,
                        *c,
                        SignalOut::Incoming {
                            call_sid: sid.to_string(),
                            parent_call_sid: parent.unwrap_or(sid).to_string(),
                            from: from.clone(),
                            to: format!("client:{identity}"),
                            params: params.clone(),
                        },
                    );
                }
                inner.ringing.insert(sid.to_string(), Ring { tenant_id: tenant_id.to_string(), devices: targets, accepted_by: None });
            }
            StandInEventKind::Ringing => {
                if let Some(c) = parent.and_then(|p| inner.held.get(p)).copied() {
                    let call_sid = parent.unwrap_or(sid).to_string();
                    Self::send(&inner, c, SignalOut::Ringing { call_sid });
                }
            }
            StandInEventKind::Answered => {
                if let Some(ring) = inner.ringing.remove(sid) {
                    for c in &ring.devices {
                        if Some(*c) != ring.accepted_by {
                            Self::send(&inner, *c, SignalOut::Cancel { call_sid: sid.to_string() });
                        }
                    }
                    if let Some(c) = ring.accepted_by {
                        inner.held.insert(sid.to_string(), c);
                        Self::send(&inner, c, SignalOut::Accepted { call_sid: sid.to_string() });
                    }
                } else if let Some(c) = parent.and_then(|p| inner.held.get(p)).copied() {
                    Self::send(&inner, c, SignalOut::Accepted { call_sid: parent.unwrap_or(sid).to_string() });
                }
            }
            StandInEventKind::Completed { .. } => {
                if let Some(ring) = inner.ringing.remove(sid) {
                    for c in &ring.devices {
                        Self::send(&inner, *c, SignalOut::Cancel { call_sid: sid.to_string() });
                    }
                }
                if let Some(c) = inner.held.remove(sid) {
                    Self::send(&inner, c, SignalOut::Hangup { call_sid: sid.to_string() });
                }
            }
            _ => {}
        }
    }
}

async fn upgrade(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(MAX_SIGNAL_FRAME).max_frame_size(MAX_SIGNAL_FRAME).on_upgrade(move |socket| run(state, socket))
}

/// What a verified token says.
struct Listener {
    tenant_id: String,
    identity: String,
    expires_at: u64,
    incoming: bool,
    outgoing_params: BTreeMap<String, String>,
}

fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Verifies a Voice access token as Twilio's edge would, against the sandbox tenant whose
/// account and API key it names. `Err((code, message))` in the SDK's error codes.
async fn verify(state: &AppState, token: &str) -> Result<Listener, (u32, String)> {
    let invalid = |why: &str| (20101, format!("invalid access token: {why}"));
    let payload = token.split('.').nth(1).ok_or_else(|| invalid("not a JWT"))?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid("payload is not base64url"))?;
    let unverified: Claims = serde_json::from_slice(&bytes).map_err(|_| invalid("payload is not Twilio claims"))?;
    let tenant = crate::tenant::by_account_sid(state, &unverified.sub)
        .await
        .map_err(|_| (31005, "the signalling edge is unavailable".to_string()))?
        .filter(|t| t.sandbox && t.api_key_sid == unverified.iss)
        .ok_or_else(|| invalid("unknown account or API key"))?;
    let claims = mpt_twilio::token::decode_verify(token, &tenant.api_key_secret, now_unix()).map_err(|e| match e {
        mpt_twilio::TwilioError::TokenExpired { .. } => (20104, "access token expired".to_string()),
        _ => invalid("bad signature or claims"),
    })?;
    let identity = claims.grants.identity.clone().filter(|i| !i.is_empty()).ok_or_else(|| invalid("no identity"))?;
    let voice = claims.grants.voice.clone().unwrap_or_default();
    Ok(Listener {
        tenant_id: tenant.id.clone(),
        identity,
        expires_at: claims.exp,
        incoming: voice.incoming.is_some_and(|i| i.allow),
        outgoing_params: voice.outgoing.and_then(|o| o.params).unwrap_or_default(),
    })
}

fn frame(out: &SignalOut) -> Message {
    Message::Text(Utf8Bytes::from(serde_json::to_string(out).unwrap_or_default()))
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) }))
}

async fn run(state: AppState, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let first = tokio::time::timeout(LISTEN_TIMEOUT, stream.next()).await;
    let token = match first {
        Ok(Some(Ok(Message::Text(t)))) => match serde_json::from_str::<SignalIn>(t.as_str()) {
            Ok(SignalIn::Listen { token }) => token,
            _ => {
                let _ = sink.send(close(1008, "the first frame must be listen")).await;
                return;
            }
        },
        _ => return,
    };
    let mut me = match verify(&state, &token).await {
        Ok(l) => l,
        Err((code, message)) => {
            let _ = sink.send(frame(&SignalOut::Error { reference: None, code, message })).await;
            let _ = sink.send(close(CLOSE_UNAUTHORIZED, "access token refused")).await;
            return;
        }
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn = state.signal.next.fetch_add(1, Ordering::Relaxed);
    state
        .signal
        .lock()
        .devices
        .insert(conn, Device { tenant_id: me.tenant_id.clone(), identity: me.identity.clone(), registered: false, tx: tx.clone() });
    let _ = tx.send(SignalOut::Ready { identity: me.identity.clone(), expires_at: me.expires_at });
    let stop = crate::state::until_shutdown(state.shutdown.subscribe());
    tokio::pin!(stop);
    loop {
        let expiry = tokio::time::sleep(Duration::from_secs(me.expires_at.saturating_sub(now_unix())));
        tokio::select! {
            out = rx.recv() => {
                let Some(out) = out else { break };
                if sink.send(frame(&out)).await.is_err() {
                    break;
                }
            }
            msg = stream.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    _ => break,
                };
                match serde_json::from_str::<SignalIn>(text.as_str()) {
                    Ok(m) => handle(&state, conn, &mut me, m, &tx).await,
                    Err(e) => {
                        let _ = tx.send(SignalOut::Error { reference: None, code: 31000, message: format!("bad frame: {e}") });
                    }
                }
            }
            _ = expiry => {
                let out = SignalOut::Error { reference: None, code: 20104, message: "access token expired".into() };
                let _ = sink.send(frame(&out)).await;
                let _ = sink.send(close(CLOSE_UNAUTHORIZED, "access token expired")).await;
                break;
            }
            _ = &mut stop => {
                let _ = sink.send(close(1012, "server restarting")).await;
                break;
            }
        }
    }
    gone(&state, conn).await;
}

/// The device's socket is gone: it rings no more and its calls end (no media without it).
async fn gone(state: &AppState, conn: u64) {
    let (tenant_id, held) = {
        let mut inner = state.signal.lock();
        let tenant_id = inner.devices.remove(&conn).map(|d| d.tenant_id);
        for ring in inner.ringing.values_mut() {
            ring.devices.retain(|c| *c != conn);
        }
        let held: Vec<String> = inner.held.iter().filter(|(_, c)| **c == conn).map(|(s, _)| s.clone()).collect();
        for s in &held {
            inner.held.remove(s);
        }
        (tenant_id, held)
    };
    let Some(tenant_id) = tenant_id else { return };
    if held.is_empty() {
        return;
    }
    if let Ok(s) = standin_for(state, &tenant_id).await {
        for sid in held {
            if s.is_live(&sid) {
                let _ = s.hangup(&sid);
            }
        }
    }
}

async fn standin_for(state: &AppState, tenant_id: &str) -> AppResult<mpt_twilio::standin::StandIn> {
    let tenant = crate::tenant::by_id(state, tenant_id).await?;
    crate::sandbox::standin(state, &tenant)
}

fn err(reference: Option<String>, e: &AppError) -> SignalOut {
    let (code, message) = match e {
        AppError::NotFound => (31404, "no such call".to_string()),
        AppError::Conflict(m) | AppError::BadRequest(m) => (31000, m.clone()),
        _ => (31005, "the call could not be handled".to_string()),
    };
    SignalOut::Error { reference, code, message }
}

async fn handle(state: &AppState, conn: u64, me: &mut Listener, msg: SignalIn, tx: &mpsc::UnboundedSender<SignalOut>) {
    match msg {
        SignalIn::Listen { .. } => {
            let _ = tx.send(SignalOut::Error { reference: None, code: 31000, message: "already listening".into() });
        }
        SignalIn::UpdateToken { token } => match verify(state, &token).await {
            Ok(l) if l.tenant_id == me.tenant_id && l.identity == me.identity => *me = l,
            Ok(_) => {
                let _ = tx.send(SignalOut::Error { reference: None, code: 20101, message: "the token names another identity".into() });
            }
            Err((code, message)) => {
                let _ = tx.send(SignalOut::Error { reference: None, code, message });
            }
        },
        SignalIn::Register | SignalIn::Unregister => {
            let on = matches!(msg, SignalIn::Register);
            if on && !me.incoming {
                let _ =
                    tx.send(SignalOut::Error { reference: None, code: 31201, message: "the token does not allow incoming calls".into() });
                return;
            }
            if let Some(d) = state.signal.lock().devices.get_mut(&conn) {
                d.registered = on;
            }
            let _ = tx.send(if on { SignalOut::Registered } else { SignalOut::Unregistered });
        }
        SignalIn::Invite { reference, mut params } => {
            // The token's own parameters win over the device's (the voice webhook checks
            // the session it names), as Twilio passes grant parameters through.
            params.remove(crate::voice_session::PARAM);
            params.extend(me.outgoing_params.clone());
            let (state, tx, identity, tenant_id) = (state.clone(), tx.clone(), me.identity.clone(), me.tenant_id.clone());
            tokio::spawn(async move {
                let placed = async {
                    let s = standin_for(&state, &tenant_id).await?;
                    s.place_outbound(&identity, params).await.map_err(|e| AppError::BadRequest(e.to_string()))
                }
                .await;
                match placed {
                    Ok(handle) => {
                        // Under the lock: the call's first event cannot overtake its name.
                        let mut inner = state.signal.lock();
                        inner.held.insert(handle.call_sid.clone(), conn);
                        let _ = tx.send(SignalOut::Invited { reference, call_sid: handle.call_sid });
                    }
                    Err(e) => {
                        let _ = tx.send(err(Some(reference), &e));
                    }
                }
            });
        }
        SignalIn::Accept { call_sid } => {
            let first = {
                let mut inner = state.signal.lock();
                match inner.ringing.get_mut(&call_sid) {
                    Some(r) if r.tenant_id == me.tenant_id && r.devices.contains(&conn) && r.accepted_by.is_none() => {
                        r.accepted_by = Some(conn);
                        true
                    }
                    _ => false,
                }
            };
            if !first {
                // Answered elsewhere (or never rang here): this device stops ringing.
                let _ = tx.send(SignalOut::Cancel { call_sid });
                return;
            }
            let answered = match standin_for(state, &me.tenant_id).await {
                Ok(s) => s.answer_client(&call_sid, &me.identity).map_err(|e| AppError::Conflict(e.to_string())),
                Err(e) => Err(e),
            };
            if let Err(e) = answered {
                let _ = tx.send(err(Some(call_sid), &e));
            }
        }
        SignalIn::Reject { call_sid } => {
            let last = {
                let mut inner = state.signal.lock();
                match inner.ringing.get_mut(&call_sid) {
                    Some(r) if r.tenant_id == me.tenant_id && r.devices.contains(&conn) => {
                        r.devices.retain(|c| *c != conn);
                        r.devices.is_empty() && r.accepted_by.is_none()
                    }
                    _ => false,
                }
            };
            // Only this device stops ringing; when none is left the leg is declined.
            if last {
                if let Ok(s) = standin_for(state, &me.tenant_id).await {
                    let _ = s.reject(&call_sid);
                }
            }
        }
        SignalIn::Hangup { call_sid } => {
            let mine = state.signal.lock().held.get(&call_sid) == Some(&conn);
            if !mine {
                let _ = tx.send(err(Some(call_sid), &AppError::NotFound));
                return;
            }
            if let Ok(s) = standin_for(state, &me.tenant_id).await {
                if let Err(e) = s.hangup(&call_sid) {
                    let _ = tx.send(err(Some(call_sid), &AppError::Conflict(e.to_string())));
                }
            }
        }
        SignalIn::Digits { call_sid, digits } => {
            let mine = state.signal.lock().held.get(&call_sid) == Some(&conn);
            let sent = match standin_for(state, &me.tenant_id).await {
                Ok(s) if mine => s.send_digits(&call_sid, &digits).map_err(|e| AppError::BadRequest(e.to_string())),
                Ok(_) => Err(AppError::NotFound),
                Err(e) => Err(e),
            };
            if let Err(e) = sent {
                let _ = tx.send(err(Some(call_sid), &e));
            }
        }
    }
}
