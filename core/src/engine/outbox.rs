//! The queue of call-log writes.
//!
//! When a call's wrap-up is done, its log (times, status, contact, notes, disposition) is
//! queued under the client call id and persisted before anything is sent, so a write made
//! offline, or cut off by the service worker stopping, survives a restart. Writes go out
//! one at a time through the idempotent `PUT /api/calls/{id}`: a write whose answer was
//! lost is sent again and the server still keeps one log. An entry leaves the queue only
//! when the server confirmed it (or refused it for good, which the agent is told about).

use serde::{Deserialize, Serialize};

use crate::api::CallLogUpsert;

use super::command::PhoneEvent;
use super::socket::backoff_ms;
use super::{encode, to_json, Engine, Method, Purpose, Reply, TimerId};

/// One queued write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogWrite {
    /// The agent whose log it is (written only with that agent's session).
    pub agent_id: String,
    /// Client call id.
    pub call_id: String,
    /// The log.
    pub body: CallLogUpsert,
}

/// Queue bookkeeping.
#[derive(Debug, Default)]
pub struct Outbox {
    /// Writes not yet confirmed, oldest first.
    pub items: Vec<LogWrite>,
    in_flight: Option<String>,
    attempts: u32,
}

impl Outbox {
    /// Forgets what is in flight (its answer will be ignored); keeps the queue.
    pub(crate) fn reset(&mut self) {
        self.in_flight = None;
        self.attempts = 0;
    }
}

impl Engine {
    /// Queues `write` (merging with a queued, unsent write of the same call) and flushes.
    pub(crate) fn enqueue_log(&mut self, write: LogWrite) {
        let in_flight = self.outbox.in_flight.clone();
        match self.outbox.items.iter_mut().find(|w| w.call_id == write.call_id && in_flight.as_deref() != Some(w.call_id.as_str())) {
            Some(w) => *w = write,
            None => self.outbox.items.push(write),
        }
        self.dirty_store();
        self.flush_outbox();
    }

    /// Sends the oldest write of the signed-in agent, unless one is already out.
    pub(crate) fn flush_outbox(&mut self) {
        if self.outbox.in_flight.is_some() {
            return;
        }
        let Some(agent) = self.agent_id() else { return };
        let Some(w) = self.outbox.items.iter().find(|w| w.agent_id == agent) else {
            return;
        };
        let call_id = w.call_id.clone();
        let path = format!("/api/calls/{}", encode(&call_id));
        let body = to_json(&w.body);
        self.outbox.in_flight = Some(call_id.clone());
        self.cancel_timer(TimerId::OutboxRetry);
        self.request(Purpose::LogWrite { call_id }, Method::Put, path, Some(body), true);
    }

    pub(crate) fn on_log_write(&mut self, call_id: &str, reply: Reply) {
        if self.outbox.in_flight.as_deref() != Some(call_id) {
            return;
        }
        self.outbox.in_flight = None;
        if reply.transient() {
            self.outbox.attempts = self.outbox.attempts.saturating_add(1);
            let random = self.rng().next_u64();
            let delay = backoff_ms(self.outbox.attempts, random);
            self.set_timer(TimerId::OutboxRetry, delay);
            return;
        }
        self.outbox.attempts = 0;
        let Some(pos) = self.outbox.items.iter().position(|w| w.call_id == call_id) else {
            return;
        };
        let w = self.outbox.items.remove(pos);
        self.dirty_store();
        if reply.ok() {
            self.emit(PhoneEvent::CallLogged { call_id: w.call_id, notes: w.body.notes, disposition: w.body.disposition });
        } else {
            // Refused for good (bad data): retrying cannot help, and the agent must know.
            self.fail(reply.code(), None);
        }
        self.flush_outbox();
    }

    /// Writes still waiting for the server.
    pub fn pending_log_writes(&self) -> usize {
        self.outbox.items.len()
    }
}
