//! JSON shapes exchanged with api-server (HTTP bodies and WebSocket frames).
//!
//! Both sides (the server and the extension) serialize these exact types, so the
//! wire format is defined once. Times are Unix milliseconds (`i64`), phone
//! numbers are E.164 strings, ids are opaque strings unless noted.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Body of every error response: `{"error":{"code":"…","message":"…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// A machine-readable code plus a human-readable message (never internal details).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable code, e.g. `bad_request`, `unauthorized`, `not_found`, `rate_limited`.
    pub code: String,
    /// Message safe to show to a person.
    pub message: String,
}

/// An agent's role within a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Places and takes calls; sees its own calls and inbound calls no agent answered.
    Agent,
    /// An agent who also sees and exports every call of the tenant.
    Supervisor,
    /// Also manages the tenant (agents, keys, settings); admin actions are audited.
    Admin,
}

impl Role {
    /// Sees (and may export) every call of the tenant, not only its own.
    pub fn sees_all_calls(self) -> bool {
        matches!(self, Role::Supervisor | Role::Admin)
    }
}

/// The signed-in agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentInfo {
    /// Agent id.
    pub id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Sign-in email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Twilio client identity (what `<Client>` rings).
    pub identity: String,
}

/// `POST /api/auth/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// Sign-in email.
    pub email: String,
    /// Password.
    pub password: String,
    /// Tenant slug; needed only when the email exists in several tenants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

/// `POST /api/auth/refresh` and `POST /api/auth/logout`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRequest {
    /// The refresh token last received.
    pub refresh_token: String,
}

/// `POST /api/auth/sso`: a JWT signed by the CRM, exchanged for a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoRequest {
    /// Tenant slug.
    pub tenant: String,
    /// The CRM-signed JWT (`iss`, `aud`, `exp`, `sub`, `email`, optional `name`).
    pub assertion: String,
}

/// A session: returned by login, refresh and SSO.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthResponse {
    /// Short-lived JWT for `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until `access_token` expires.
    pub expires_in: u64,
    /// Rotating refresh token (single use).
    pub refresh_token: String,
    /// The agent.
    pub agent: AgentInfo,
}

/// `GET /api/config`: what the client needs to know about its tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientConfig {
    /// Tenant id.
    pub tenant_id: String,
    /// Tenant display name.
    pub tenant_name: String,
    /// True when calls go through the sandbox stand-in instead of Twilio.
    pub sandbox: bool,
    /// Caller-ID numbers the tenant may present (E.164).
    pub caller_ids: Vec<String>,
    /// ISO 3166 alpha-2 countries the tenant may dial.
    pub allowed_countries: Vec<String>,
    /// The agent's Twilio client identity.
    pub identity: String,
    /// The dispositions agents choose from after a call (empty: the phone's defaults).
    #[serde(default)]
    pub dispositions: Vec<String>,
    /// Origins the tenant trusts as its CRMs (patterns of [`crate::origin`]): their pages
    /// may start calls through the page API or their own `tel:` links without the agent
    /// confirming in the panel.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

/// `POST /api/twilio/token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwilioTokenResponse {
    /// The Voice access token (JWT) for `new Device(token)`.
    pub token: String,
    /// The identity granted.
    pub identity: String,
    /// Lifetime in seconds.
    pub ttl_seconds: u64,
    /// Expiry, Unix milliseconds.
    pub expires_at: i64,
    /// True when the tenant is in sandbox mode (the token is then not usable with Twilio).
    pub sandbox: bool,
}

/// Direction of a call, from the agent's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallDirection {
    /// Someone called a tenant number.
    Inbound,
    /// An agent dialled out.
    Outbound,
}

/// One entry of a call's status history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    /// Twilio call status (`initiated`, `ringing`, `in-progress`, `completed`, `busy`, …).
    pub status: String,
    /// When it happened, Unix milliseconds.
    pub at: i64,
    /// Twilio's `SequenceNumber`, when the change came from a status callback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
}

/// A call log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallLog {
    /// Id (client-generated for calls placed by the extension).
    pub id: String,
    /// Direction.
    pub direction: CallDirection,
    /// Agent who placed or took the call.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// Caller (E.164, or `client:<identity>` is never stored: the agent's caller ID instead).
    pub from: String,
    /// Callee (E.164).
    pub to: String,
    /// Matched contact.
    #[serde(default)]
    pub contact_id: Option<String>,
    /// Matched contact's name.
    #[serde(default)]
    pub contact_name: Option<String>,
    /// CRM the call was placed from or matched in.
    #[serde(default)]
    pub crm: Option<String>,
    /// Twilio SID of the agent's (parent) leg.
    #[serde(default)]
    pub call_sid: Option<String>,
    /// Twilio SID of the dialled (child) leg.
    #[serde(default)]
    pub child_call_sid: Option<String>,
    /// Current status.
    pub status: String,
    /// Every status seen, in order.
    #[serde(default)]
    pub status_history: Vec<StatusChange>,
    /// Start, Unix milliseconds.
    pub started_at: i64,
    /// Answer time.
    #[serde(default)]
    pub answered_at: Option<i64>,
    /// End time.
    #[serde(default)]
    pub ended_at: Option<i64>,
    /// Talk time in seconds.
    #[serde(default)]
    pub duration_seconds: Option<u64>,
    /// Recording SID (voicemail or recorded call).
    #[serde(default)]
    pub recording_sid: Option<String>,
    /// Recording URL.
    #[serde(default)]
    pub recording_url: Option<String>,
    /// Recording length in seconds.
    #[serde(default)]
    pub recording_duration_seconds: Option<u64>,
    /// Agent's notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// Disposition (e.g. `connected`, `left-voicemail`, `wrong-number`).
    #[serde(default)]
    pub disposition: Option<String>,
    /// True when the call ran through the sandbox.
    #[serde(default)]
    pub sandbox: bool,
    /// Last change, Unix milliseconds.
    pub updated_at: i64,
}

/// `GET /api/calls`: one page of call logs, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallLogPage {
    /// The logs.
    pub items: Vec<CallLog>,
    /// Pass as `cursor=` to get the next page; absent on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// `PUT /api/calls/{id}`: a log written by the extension (possibly while offline).
/// Idempotent: the same id twice yields one log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallLogUpsert {
    /// Direction.
    pub direction: CallDirection,
    /// Caller.
    pub from: String,
    /// Callee.
    pub to: String,
    /// Matched contact.
    #[serde(default)]
    pub contact_id: Option<String>,
    /// Matched contact's name.
    #[serde(default)]
    pub contact_name: Option<String>,
    /// CRM.
    #[serde(default)]
    pub crm: Option<String>,
    /// Twilio SID of the agent's leg, when known.
    #[serde(default)]
    pub call_sid: Option<String>,
    /// Status as the extension saw it.
    #[serde(default)]
    pub status: Option<String>,
    /// Start, Unix milliseconds.
    pub started_at: i64,
    /// Answer time.
    #[serde(default)]
    pub answered_at: Option<i64>,
    /// End time.
    #[serde(default)]
    pub ended_at: Option<i64>,
    /// Talk time in seconds.
    #[serde(default)]
    pub duration_seconds: Option<u64>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// Disposition.
    #[serde(default)]
    pub disposition: Option<String>,
}

/// `PATCH /api/calls/{id}`: set notes and/or disposition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallLogPatch {
    /// New notes (absent: unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// New disposition (absent: unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
}

/// A contact, from the local table or the tenant's CRM connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Id in its source.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Company.
    #[serde(default)]
    pub company: Option<String>,
    /// Phone number (E.164 when it could be normalized).
    pub phone: String,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Source: `local` or the CRM connector's name.
    pub source: String,
    /// Link to the record in the CRM.
    #[serde(default)]
    pub url: Option<String>,
}

/// `GET /api/contacts/lookup` and `/api/contacts/search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactList {
    /// Matches, best first.
    pub items: Vec<Contact>,
}

/// `POST /api/sandbox/calls`: the browser's "connect" in sandbox mode.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxCallRequest {
    /// Number to dial (any format the phone core accepts; normalized server-side).
    pub to: String,
    /// Client-generated call-log id (so an offline-written log merges with this call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_call_id: Option<String>,
    /// Extra custom parameters, passed like `device.connect({params})`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
}

/// The custom parameters of an outbound call, under Twilio's parameter names: what
/// the Voice SDK's `device.connect({params})` sends (Twilio forwards them to
/// `/twilio/voice`) and what the sandbox's `POST /api/sandbox/calls` carries in
/// `params` (the stand-in forwards them the same way). One type for both paths, so the
/// voice webhook reads the contact and the client call id under the names both sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialParams {
    /// Number to dial (E.164).
    #[serde(rename = "To")]
    pub to: String,
    /// Client-generated call-log id (the server logs the call under it).
    #[serde(rename = "ClientCallId")]
    pub client_call_id: String,
    /// CRM contact id the call was started from.
    #[serde(rename = "ContactId", default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    /// The contact's display name.
    #[serde(rename = "ContactName", default, skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    /// Which CRM the contact is in (`mpt-crm`, `ams-app-crm`, …).
    #[serde(rename = "Crm", default, skip_serializing_if = "Option::is_none")]
    pub crm: Option<String>,
}

impl DialParams {
    /// Parameter name of [`DialParams::to`].
    pub const TO: &'static str = "To";
    /// Parameter name of [`DialParams::client_call_id`].
    pub const CLIENT_CALL_ID: &'static str = "ClientCallId";
    /// Parameter name of [`DialParams::contact_id`].
    pub const CONTACT_ID: &'static str = "ContactId";
    /// Parameter name of [`DialParams::contact_name`].
    pub const CONTACT_NAME: &'static str = "ContactName";
    /// Parameter name of [`DialParams::crm`].
    pub const CRM: &'static str = "Crm";

    /// As a flat string map (Twilio's custom parameters are strings).
    pub fn to_params(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert(Self::TO.to_owned(), self.to.clone());
        m.insert(Self::CLIENT_CALL_ID.to_owned(), self.client_call_id.clone());
        for (k, v) in [(Self::CONTACT_ID, &self.contact_id), (Self::CONTACT_NAME, &self.contact_name), (Self::CRM, &self.crm)] {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                m.insert(k.to_owned(), v.clone());
            }
        }
        m
    }

    /// Reads them back from a webhook's form parameters (`get(name)`); empty values
    /// count as absent.
    pub fn from_params<'a>(get: impl Fn(&str) -> Option<&'a str>) -> DialParams {
        let opt = |k: &str| get(k).filter(|v| !v.is_empty()).map(str::to_owned);
        DialParams {
            to: opt(Self::TO).unwrap_or_default(),
            client_call_id: opt(Self::CLIENT_CALL_ID).unwrap_or_default(),
            contact_id: opt(Self::CONTACT_ID),
            contact_name: opt(Self::CONTACT_NAME),
            crm: opt(Self::CRM),
        }
    }
}

/// Answer to `POST /api/sandbox/calls` and `/api/sandbox/inbound`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxCallResponse {
    /// SID of the (stand-in) call.
    pub call_sid: String,
}

/// `POST /api/sandbox/inbound`: place an inbound call to a tenant number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxInboundRequest {
    /// Caller number.
    pub from: String,
    /// Tenant number called (default: the tenant's first caller ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// An event pushed to an agent over `GET /api/events` (WebSocket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// First frame after connecting (after any replayed events).
    Hello {
        /// The agent.
        agent_id: String,
        /// Highest event id delivered so far.
        last_event_id: u64,
        /// The client resumed from an id older than the server keeps events for
        /// (`MPT_EVENTS_RETENTION_HOURS`): some events are gone, so re-read the state
        /// (calls, presence) instead of relying on the replay.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        resync: bool,
    },
    /// A call's status changed.
    CallStatus {
        /// Call-log id.
        call_id: String,
        /// Twilio SID of the agent's leg.
        #[serde(default)]
        call_sid: Option<String>,
        /// New status.
        status: String,
        /// Direction.
        direction: CallDirection,
    },
    /// Someone is calling: screen pop.
    IncomingCall {
        /// Call-log id.
        call_id: String,
        /// Twilio SID.
        call_sid: String,
        /// Caller.
        from: String,
        /// Tenant number called.
        to: String,
        /// Matched contact.
        #[serde(default)]
        contact: Option<Contact>,
    },
    /// A call log was created or changed.
    LogUpdated {
        /// The log as it is now.
        call: CallLog,
    },
    /// An agent became available or unavailable.
    Presence {
        /// The agent.
        agent_id: String,
        /// Whether inbound calls ring them.
        available: bool,
    },
    /// Sandbox mode: what the Twilio stand-in did (plays the Voice SDK's part for the
    /// browser: ringing, answered, ended…).
    SandboxCall {
        /// The leg the event is about.
        call_sid: String,
        /// Parent call SID when `call_sid` is a child leg.
        #[serde(default)]
        parent_call_sid: Option<String>,
        /// `ringing`, `client_ringing`, `answered`, `completed`, `recording`, `digits`, `webhook_failed`.
        kind: String,
        /// Final status for `completed`.
        #[serde(default)]
        status: Option<String>,
        /// Identity rung, for `client_ringing`.
        #[serde(default)]
        identity: Option<String>,
        /// Caller for `client_ringing`; digits for `digits`.
        #[serde(default)]
        detail: Option<String>,
    },
    /// Keeps the connection (and an MV3 service worker) alive; not stored.
    Heartbeat {
        /// Server time, Unix milliseconds.
        at: i64,
    },
}

/// One WebSocket frame from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventEnvelope {
    /// Event id, increasing; resume with `last_event_id=`. Absent for heartbeats and hello.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Server time, Unix milliseconds.
    pub at: i64,
    /// The event.
    pub event: ServerEvent,
}

/// A WebSocket frame from the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Client heartbeat (the server answers nothing; it only resets timeouts).
    Heartbeat,
    /// Set this agent's availability for inbound calls.
    Presence {
        /// Available or not.
        available: bool,
    },
}

/// `POST /api/events/ticket`: a single-use ticket that opens the event socket
/// (`GET /api/events?ticket=…&last_event_id=…`), so no long-lived credential is ever in a URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTicket {
    /// Opaque, single use.
    pub ticket: String,
    /// Seconds until the ticket expires unused (30).
    pub expires_in: u32,
}

/// The WebSocket close code that means the session ended or was revoked: sign out, do not
/// reconnect (`../shared/CONTRACTS.md` §5).
pub const CLOSE_SESSION_ENDED: u16 = 4401;
/// The WebSocket close code of a server restart: reconnect with backoff and jitter.
pub const CLOSE_SERVER_RESTART: u16 = 1012;

/// An agent's presence (`../shared/CONTRACTS.md` §6). Only `available` rings for inbound calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    /// Rings for inbound calls.
    Available,
    /// On a call (set automatically, restored after).
    Busy,
    /// Away from the desk.
    Away,
    /// No live connection.
    Offline,
}

/// `PUT /api/me/presence`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceRequest {
    /// Available for inbound calls.
    pub available: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_envelope_wire_format() {
        let env = EventEnvelope {
            id: Some(7),
            at: 1,
            event: ServerEvent::CallStatus {
                call_id: "c1".into(),
                call_sid: Some("CA1".into()),
                status: "ringing".into(),
                direction: CallDirection::Outbound,
            },
        };
        let json = serde_json::to_string(&env).expect("serialize");
        assert_eq!(
            json,
            r#"{"id":7,"at":1,"event":{"type":"call_status","call_id":"c1","call_sid":"CA1","status":"ringing","direction":"outbound"}}"#
        );
        let back: EventEnvelope = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, env);
        let hb = EventEnvelope { id: None, at: 2, event: ServerEvent::Heartbeat { at: 2 } };
        assert_eq!(serde_json::to_string(&hb).expect("serialize"), r#"{"at":2,"event":{"type":"heartbeat","at":2}}"#);
    }

    #[test]
    fn client_message_and_role_format() {
        let m: ClientMessage = serde_json::from_str(r#"{"type":"presence","available":false}"#).expect("parse");
        assert_eq!(m, ClientMessage::Presence { available: false });
        assert_eq!(serde_json::to_string(&Role::Admin).expect("ser"), r#""admin""#);
        let e: ErrorBody = serde_json::from_str(r#"{"error":{"code":"not_found","message":"not found"}}"#).expect("parse");
        assert_eq!(e.error.code, "not_found");
    }
}
