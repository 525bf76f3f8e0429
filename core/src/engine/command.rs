//! What an agent can ask the phone to do ([`PhoneCommand`]) and what the phone tells the
//! page or widget that embeds it ([`PhoneEvent`], names and payloads of
//! `../shared/CONTRACTS.md` §2).

use serde::{Deserialize, Serialize};

use crate::api::{Contact, Presence};
use crate::error_code::PhoneErrorCode;

use super::calls::{Direction, EndReason};

/// A command from any UI or page API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PhoneCommand {
    /// Sign in with email and password.
    SignIn {
        /// Email.
        email: String,
        /// Password (sent once, never stored).
        password: String,
        /// Tenant slug, when the email exists in several tenants.
        #[serde(default)]
        tenant: Option<String>,
    },
    /// Sign out (and revoke the refresh token on the server).
    SignOut,
    /// Call a number (any format; normalized with the tenant's default region).
    Dial {
        /// The number as typed, pasted or detected.
        number: String,
        /// CRM contact the call is about, if known.
        #[serde(default)]
        contact: Option<DialContact>,
    },
    /// Hang up (or cancel a call still ringing, or decline an incoming one).
    HangUp,
    /// Answer the incoming call.
    Answer,
    /// Decline the incoming call.
    Decline,
    /// Mute or unmute.
    Mute {
        /// New mute state.
        muted: bool,
    },
    /// Send DTMF digits on the connected call.
    SendDigits {
        /// `0-9`, `*`, `#`, `w`.
        digits: String,
    },
    /// Finish wrap-up, saving notes and a disposition to the call's log.
    SaveWrapUp {
        /// Free-text notes.
        notes: String,
        /// One of the tenant's dispositions (or empty for none).
        #[serde(default)]
        disposition: Option<String>,
    },
    /// Finish wrap-up without notes.
    SkipWrapUp,
    /// Set the agent's presence (`busy` is set automatically during calls).
    SetPresence {
        /// The presence the agent chose.
        presence: Presence,
    },
    /// Search contacts by name, company or number (empty clears the results).
    SearchContacts {
        /// The query.
        query: String,
    },
    /// Attach a CRM contact to the current call.
    SetContact {
        /// The contact.
        contact: DialContact,
    },
    /// Dismiss the error shown.
    DismissError,
    /// Embedded phones only (`docs/embed.md`): sign in with, or renew, an embed token the
    /// host page obtained from its backend. An embed session has no refresh token: before
    /// it expires the phone emits [`PhoneEvent::TokenExpiring`] and the host sends a new
    /// one; when it expires or is revoked, the phone signs out.
    SetAuthToken {
        /// The embed token.
        token: String,
    },
}

/// The CRM contact a call is about, as the page or the agent named it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialContact {
    /// Id in the CRM.
    #[serde(default)]
    pub id: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Company.
    #[serde(default)]
    pub company: Option<String>,
    /// CRM name.
    #[serde(default)]
    pub crm: Option<String>,
}

impl From<&Contact> for DialContact {
    fn from(c: &Contact) -> DialContact {
        DialContact { id: Some(c.id.clone()), name: Some(c.name.clone()), company: c.company.clone(), crm: Some(c.source.clone()) }
    }
}

/// A call as integrators see it in events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRef {
    /// Client call id (the id of `/api/calls/{id}`).
    pub call_id: String,
    /// CRM contact id, if any.
    pub contact_id: Option<String>,
    /// E.164 number of the other party.
    pub number: String,
    /// `inbound` or `outbound`.
    pub direction: Direction,
}

/// Events for page APIs and widgets (`../shared/CONTRACTS.md` §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", content = "detail", rename_all = "kebab-case")]
pub enum PhoneEvent {
    /// The phone is signed in and can place calls.
    Ready {},
    /// Someone is calling the agent.
    #[serde(rename_all = "camelCase")]
    CallIncoming {
        /// Call id.
        call_id: String,
        /// Caller (E.164).
        number: String,
        /// Matched contact id.
        contact_id: Option<String>,
        /// Matched contact name.
        contact_name: Option<String>,
    },
    /// The call was accepted by the server (outbound) or answered (inbound).
    CallStarted(CallRef),
    /// The far end rings.
    CallRinging(CallRef),
    /// The call connected.
    CallAnswered(CallRef),
    /// The call ended.
    #[serde(rename_all = "camelCase")]
    CallEnded {
        /// The call.
        #[serde(flatten)]
        call: CallRef,
        /// Talk time in seconds (0 when never answered).
        duration_sec: u64,
        /// Why it ended.
        end_reason: EndReason,
    },
    /// The call's log was written with the wrap-up.
    #[serde(rename_all = "camelCase")]
    CallLogged {
        /// Call id.
        call_id: String,
        /// Notes, if any.
        notes: Option<String>,
        /// Disposition, if any.
        disposition: Option<String>,
    },
    /// The embed token runs out soon: the host should call `setAuthToken` with a new one.
    #[serde(rename_all = "camelCase")]
    TokenExpiring {
        /// Seconds left.
        expires_in_sec: u64,
    },
    /// A command failed or the phone hit a problem.
    Error {
        /// The code.
        code: PhoneErrorCode,
        /// The agent-facing text of the code.
        message: String,
    },
}

impl PhoneEvent {
    /// The error event for `code`, with the code's one text.
    pub fn error(code: PhoneErrorCode) -> PhoneEvent {
        PhoneEvent::Error { code, message: code.message().to_owned() }
    }
}
