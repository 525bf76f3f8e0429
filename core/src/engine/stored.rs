//! What the engine keeps across restarts (an MV3 service worker is stopped whenever it
//! idles): the session, the resume point of the event socket, the call-log queue, the
//! recent calls, the agent's chosen presence and the active call (live or in wrap-up).

use serde::{Deserialize, Serialize};

use crate::api::{AgentInfo, Presence};

use super::calls::{Call, RecentCall};
use super::outbox::LogWrite;

/// The persisted state, written whole by [`super::Effect::Persist`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredState {
    /// Format version (bump when a field changes meaning).
    pub version: u32,
    /// The signed-in session.
    #[serde(default)]
    pub session: Option<StoredSession>,
    /// Highest event id received, or the newest the server had at `hello` (resume point);
    /// None: none yet, so the socket starts at the server's newest event.
    #[serde(default)]
    pub last_event_id: Option<u64>,
    /// Call-log writes not yet confirmed by the server.
    #[serde(default)]
    pub outbox: Vec<LogWrite>,
    /// Recent calls, newest first.
    #[serde(default)]
    pub recent: Vec<RecentCall>,
    /// Presence the agent chose.
    #[serde(default = "available")]
    pub presence: Presence,
    /// The active call: live (its events resume from `last_event_id`, and it is re-read
    /// from the server) or in wrap-up.
    #[serde(default)]
    pub call: Option<Call>,
}

fn available() -> Presence {
    Presence::Available
}

/// Current format version.
pub const STORED_VERSION: u32 = 1;

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSession {
    /// Bearer token.
    pub access_token: String,
    /// When it expires, Unix ms.
    pub access_expires_at_ms: u64,
    /// Rotating refresh token.
    pub refresh_token: String,
    /// The agent.
    pub agent: AgentInfo,
}
