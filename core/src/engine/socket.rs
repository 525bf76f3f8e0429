//! The live event socket (`../shared/CONTRACTS.md` §5).
//!
//! A single-use ticket (`POST /api/events/ticket`) opens `GET /api/events?ticket=…&
//! last_event_id=…`, so no credential sits in a URL. Events carry increasing ids: the
//! highest one seen (or the newest the server had at `hello`) is persisted and sent back on
//! reconnect, and an id already seen is a replay and ignored. A new session sends none:
//! it starts at the newest event and reads what it needs over REST. `hello {resync: true}`
//! means the server no longer has every event we missed, so the calls are read again.
//! Close code 4401 ends the session; anything else reconnects after an exponential backoff
//! with jitter, so a restarted server is not hit by every agent at the same moment. A
//! watchdog closes a socket that stays silent past two server heartbeats.

use crate::api::{ClientMessage, EventEnvelope, EventTicket, ServerEvent, CLOSE_SESSION_ENDED};
use crate::error_code::PhoneErrorCode;

use super::{encode, to_json, ConnId, Effect, Engine, Link, Method, Purpose, Reply, TimerId};

/// Client heartbeat period (keeps the socket and an MV3 service worker alive).
pub const HEARTBEAT_MS: u64 = 20_000;
/// No frame for this long: the connection is dead.
pub const SILENCE_MS: u64 = 45_000;
/// Time allowed for the socket to open.
pub const OPEN_TIMEOUT_MS: u64 = 15_000;
/// First reconnect delay.
pub const BACKOFF_BASE_MS: u64 = 1_000;
/// Longest reconnect delay.
pub const BACKOFF_MAX_MS: u64 = 30_000;

/// Where the socket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    /// Not wanted (signed out).
    #[default]
    Idle,
    /// Asking for a ticket.
    Ticketing,
    /// Opening.
    Connecting(ConnId),
    /// Open.
    Open(ConnId),
    /// Waiting for the reconnect timer.
    Backoff,
}

/// Socket bookkeeping.
#[derive(Debug, Default)]
pub struct SocketState {
    /// Where the socket is.
    pub phase: Phase,
    next_conn: ConnId,
    /// Failed attempts since the last open.
    pub attempts: u32,
    /// Highest event id received, or the newest one the server had when it said hello.
    /// None: this session has heard nothing yet, so its socket starts at the server's
    /// newest event (asking for every event since 0 would replay the tenant's history:
    /// another endpoint's old presence, long-gone calls).
    pub last_event_id: Option<u64>,
    /// The config could not be loaded; load it again on the next open.
    pub config_retry: bool,
}

impl SocketState {
    /// True when the socket is open.
    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open(_))
    }

    fn current(&self) -> Option<ConnId> {
        match self.phase {
            Phase::Connecting(c) | Phase::Open(c) => Some(c),
            _ => None,
        }
    }
}

/// Reconnect delay after `attempts` failures: exponential, capped, with "equal jitter"
/// (half fixed, half random) drawn from `random` in `0..1<<32`.
pub fn backoff_ms(attempts: u32, random: u64) -> u64 {
    let exp = BACKOFF_BASE_MS.saturating_mul(1u64 << attempts.saturating_sub(1).min(16));
    let cap = exp.min(BACKOFF_MAX_MS);
    cap / 2 + (cap / 2) * (random & 0xFFFF_FFFF) / 0xFFFF_FFFF
}

impl Engine {
    /// Opens the socket if it is wanted and not open or opening.
    pub(crate) fn connect_socket(&mut self) {
        if !self.session.signed_in() {
            return;
        }
        if matches!(self.socket.phase, Phase::Ticketing | Phase::Connecting(_) | Phase::Open(_)) {
            return;
        }
        self.socket.phase = Phase::Ticketing;
        self.request(Purpose::Ticket, Method::Post, "/api/events/ticket".into(), None, true);
    }

    pub(crate) fn on_ticket(&mut self, reply: Reply) {
        if self.socket.phase != Phase::Ticketing {
            return;
        }
        let Some(t) = reply.json::<EventTicket>().filter(|_| reply.ok()) else {
            self.schedule_reconnect();
            return;
        };
        self.socket.next_conn += 1;
        let conn = self.socket.next_conn;
        self.socket.phase = Phase::Connecting(conn);
        let resume = self.socket.last_event_id.map(|id| format!("&last_event_id={id}")).unwrap_or_default();
        let path = format!("/api/events?ticket={}{resume}", encode(&t.ticket));
        self.effect(Effect::SocketOpen { conn, path });
        self.set_timer(TimerId::SocketWatchdog, OPEN_TIMEOUT_MS);
    }

    pub(crate) fn on_socket_opened(&mut self, conn: ConnId) {
        if self.socket.phase != Phase::Connecting(conn) {
            return;
        }
        self.socket.phase = Phase::Open(conn);
        self.socket.attempts = 0;
        self.set_link(Link::Online);
        self.set_timer(TimerId::SocketHeartbeat, HEARTBEAT_MS);
        self.set_timer(TimerId::SocketWatchdog, SILENCE_MS);
        if std::mem::take(&mut self.socket.config_retry) {
            self.load_config();
        }
        self.flush_outbox();
        self.dirty_view();
    }

    pub(crate) fn on_socket_frame(&mut self, conn: ConnId, text: &str) {
        if self.socket.phase != Phase::Open(conn) {
            return;
        }
        self.set_timer(TimerId::SocketWatchdog, SILENCE_MS);
        let Ok(env) = serde_json::from_str::<EventEnvelope>(text) else {
            // An event type this version does not know: skip it, keep the connection.
            return;
        };
        if let Some(id) = env.id {
            if self.socket.last_event_id.is_some_and(|last| id <= last) {
                return; // replayed
            }
            self.socket.last_event_id = Some(id);
            self.dirty_store();
        }
        self.on_server_event(env.event);
    }

    fn on_server_event(&mut self, ev: ServerEvent) {
        match ev {
            ServerEvent::Hello { last_event_id, resync, .. } => {
                if self.socket.last_event_id != Some(last_event_id) {
                    self.socket.last_event_id = Some(last_event_id);
                    self.dirty_store();
                }
                if resync {
                    self.resync_calls();
                }
            }
            ServerEvent::CallStatus { call_id, call_sid, status, .. } => {
                self.on_call_status(Some(&call_id), call_sid.as_deref(), &status);
            }
            ServerEvent::LogUpdated { call } => self.on_log_updated(call),
            ServerEvent::IncomingCall { call_id, call_sid, from, to, contact } => {
                self.on_screen_pop(call_id, call_sid, from, to, contact);
            }
            // The stand-in's own view of its legs (for dashboards and tests): the phone
            // hears its calls from its Device, as with Twilio.
            ServerEvent::SandboxCall { .. } => {}
            ServerEvent::Presence { agent_id, available } => self.on_presence_event(&agent_id, available),
            ServerEvent::Heartbeat { .. } => {}
        }
    }

    pub(crate) fn on_socket_closed(&mut self, conn: ConnId, code: u16) {
        if self.socket.current() != Some(conn) {
            return;
        }
        self.cancel_timer(TimerId::SocketHeartbeat);
        self.cancel_timer(TimerId::SocketWatchdog);
        self.socket.phase = Phase::Idle;
        if code == CLOSE_SESSION_ENDED {
            self.sign_out_local(Some(PhoneErrorCode::Unauthorized));
            return;
        }
        self.schedule_reconnect();
    }

    pub(crate) fn heartbeat(&mut self) {
        if let Phase::Open(conn) = self.socket.phase {
            self.effect(Effect::SocketSend { conn, text: to_json(&ClientMessage::Heartbeat) });
            self.set_timer(TimerId::SocketHeartbeat, HEARTBEAT_MS);
        }
    }

    pub(crate) fn socket_watchdog(&mut self) {
        if let Some(conn) = self.socket.current() {
            self.effect(Effect::SocketClose { conn });
            self.cancel_timer(TimerId::SocketHeartbeat);
            self.socket.phase = Phase::Idle;
            self.schedule_reconnect();
        }
    }

    fn schedule_reconnect(&mut self) {
        if !self.session.signed_in() {
            self.socket.phase = Phase::Idle;
            return;
        }
        self.socket.attempts = self.socket.attempts.saturating_add(1);
        let random = self.rng().next_u64();
        let delay = backoff_ms(self.socket.attempts, random);
        self.socket.phase = Phase::Backoff;
        self.set_timer(TimerId::SocketReconnect, delay);
        if self.socket.attempts > 1 {
            self.set_link(Link::Unreachable);
        }
        self.dirty_view();
    }

    /// Closes the socket for good (sign-out).
    pub(crate) fn disconnect_socket(&mut self) {
        if let Some(conn) = self.socket.current() {
            self.effect(Effect::SocketClose { conn });
        }
        for t in [TimerId::SocketHeartbeat, TimerId::SocketWatchdog, TimerId::SocketReconnect] {
            self.cancel_timer(t);
        }
        self.socket.phase = Phase::Idle;
        self.socket.attempts = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters_within_half() {
        assert_eq!(backoff_ms(1, 0), 500);
        assert_eq!(backoff_ms(1, 0xFFFF_FFFF), 1_000);
        assert_eq!(backoff_ms(3, 0), 2_000);
        for a in 6..40 {
            let d = backoff_ms(a, 0x8000_0000);
            assert!((BACKOFF_MAX_MS / 2..=BACKOFF_MAX_MS).contains(&d), "{a}: {d}");
        }
    }
}
