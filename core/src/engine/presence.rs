//! The agent's presence (`../shared/CONTRACTS.md` §6).
//!
//! The agent chooses `available` or `away` (persisted); `busy` is worn automatically while
//! a call holds the line and the chosen presence comes back after; `offline` is what the
//! others see when the socket is down. The server only knows "rings for inbound or not"
//! (`PUT /api/me/presence {available}`); changes are merged, last one wins: while one
//! update is out, later ones are folded into the next, never dropped.

use crate::api::{Presence, PresenceRequest};
use crate::error_code::PhoneErrorCode;

use super::socket::backoff_ms;
use super::{to_json, Engine, Method, Purpose, Reply, TimerId};

/// Presence bookkeeping.
#[derive(Debug)]
pub struct PresenceState {
    /// What the agent chose.
    pub chosen: Presence,
    sent: Option<bool>,
    in_flight: Option<bool>,
    attempts: u32,
}

impl Default for PresenceState {
    fn default() -> Self {
        PresenceState { chosen: Presence::Available, sent: None, in_flight: None, attempts: 0 }
    }
}

impl PresenceState {
    pub(crate) fn reset(&mut self) {
        self.sent = None;
        self.in_flight = None;
        self.attempts = 0;
    }
}

impl Engine {
    /// The presence others see.
    pub fn effective_presence(&self) -> Presence {
        if !self.socket.is_open() {
            Presence::Offline
        } else if self.calls.active.as_ref().is_some_and(|c| c.phase.is_live()) {
            Presence::Busy
        } else {
            self.presence.chosen
        }
    }

    fn wants_available(&self) -> bool {
        self.presence.chosen == Presence::Available && !self.calls.active.as_ref().is_some_and(|c| c.phase.is_live())
    }

    pub(crate) fn set_presence(&mut self, p: Presence) -> Result<(), PhoneErrorCode> {
        if !self.session.signed_in() {
            return Err(PhoneErrorCode::NotSignedIn);
        }
        // `busy` and `offline` are states the phone wears, not choices; read them as away.
        self.presence.chosen = if p == Presence::Available { Presence::Available } else { Presence::Away };
        self.dirty_store();
        self.sync_presence();
        self.sync_registration();
        Ok(())
    }

    /// Tells the server what we want now, unless it already knows or an update is out.
    pub(crate) fn sync_presence(&mut self) {
        if !self.session.signed_in() || self.presence.in_flight.is_some() {
            return;
        }
        let want = self.wants_available();
        if self.presence.sent == Some(want) {
            return;
        }
        self.presence.in_flight = Some(want);
        self.cancel_timer(TimerId::PresenceRetry);
        let body = to_json(&PresenceRequest { available: want });
        self.request(Purpose::Presence { available: want }, Method::Put, "/api/me/presence".into(), Some(body), true);
        self.dirty_view();
    }

    pub(crate) fn on_presence(&mut self, available: bool, reply: Reply) {
        if self.presence.in_flight != Some(available) {
            return;
        }
        self.presence.in_flight = None;
        if reply.ok() {
            self.presence.sent = Some(available);
            self.presence.attempts = 0;
            self.sync_presence();
        } else if reply.transient() {
            self.presence.attempts = self.presence.attempts.saturating_add(1);
            let random = self.rng().next_u64();
            let delay = backoff_ms(self.presence.attempts, random);
            self.set_timer(TimerId::PresenceRetry, delay);
        } else {
            self.fail(reply.code(), None);
        }
    }

    /// Another endpoint of this agent changed the presence: adopt it (last one wins).
    pub(crate) fn on_presence_event(&mut self, agent_id: &str, available: bool) {
        if self.agent_id().as_deref() != Some(agent_id) {
            return;
        }
        if self.presence.in_flight == Some(available) || self.presence.sent == Some(available) {
            return; // our own update coming back
        }
        self.presence.sent = Some(available);
        let live = self.calls.active.as_ref().is_some_and(|c| c.phase.is_live());
        if !live {
            self.presence.chosen = if available { Presence::Available } else { Presence::Away };
            self.dirty_store();
            self.sync_registration();
        }
    }
}
