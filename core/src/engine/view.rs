//! [`PhoneView`]: everything a phone UI shows, in one snapshot, with every label and
//! number already written. Any surface (popup, panel, widget, the page overlay) renders
//! it as is, so a call reads the same everywhere: the labels, the timer text and the
//! national-or-international display of numbers exist only here.

use serde::{Deserialize, Serialize};

use crate::api::{Contact, Presence, Role};
use crate::phone::{format, Region, Style, E164};

use super::calls::{Direction, EndReason, Phase};
use super::contacts::Search;
use super::{Engine, Link, Notice};

/// Dispositions offered when the tenant has not configured its own.
pub const DEFAULT_DISPOSITIONS: [&str; 6] =
    ["connected", "left-voicemail", "no-answer", "wrong-number", "callback-requested", "not-interested"];

/// The signed-in agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentView {
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Tenant name, once the config is loaded.
    #[serde(default)]
    pub tenant: Option<String>,
}

/// The active call, ready to render.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallPanel {
    /// Call id.
    pub call_id: String,
    /// Direction.
    pub direction: Direction,
    /// Phase.
    pub phase: Phase,
    /// The other party, E.164 (for redial and `tel:` links).
    pub number: String,
    /// The other party for reading ("(415) 555-0134", "+44 20 7946 0958").
    pub number_display: String,
    /// Contact name.
    #[serde(default)]
    pub contact_name: Option<String>,
    /// Contact company.
    #[serde(default)]
    pub contact_company: Option<String>,
    /// CRM contact id.
    #[serde(default)]
    pub contact_id: Option<String>,
    /// What is happening ("Dialing…", "Ringing…", "In call", "Busy"…).
    pub label: String,
    /// Talk time ("0:42"), while connected and after.
    #[serde(default)]
    pub timer: Option<String>,
    /// When the call connected, Unix ms (for a host that animates its own clock).
    #[serde(default)]
    pub answered_at_ms: Option<u64>,
    /// Microphone muted.
    pub muted: bool,
    /// Call-quality warning to show ("Poor connection"), if any.
    #[serde(default)]
    pub warning: Option<String>,
    /// The SDK is reconnecting the media.
    pub reconnecting: bool,
    /// Why it ended.
    #[serde(default)]
    pub end_reason: Option<EndReason>,
    /// DTMF digits sent.
    pub digits: String,
    /// Runs through the sandbox (no audio).
    pub sandbox: bool,
    /// Answer and Decline apply.
    pub can_answer: bool,
    /// Hang up applies.
    pub can_hang_up: bool,
    /// Mute applies.
    pub can_mute: bool,
    /// The keypad sends DTMF.
    pub can_send_digits: bool,
}

/// One recent call, ready to render.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentRow {
    /// Call id.
    pub call_id: String,
    /// Direction.
    pub direction: Direction,
    /// E.164 (redial).
    pub number: String,
    /// For reading.
    pub number_display: String,
    /// Contact name.
    #[serde(default)]
    pub contact_name: Option<String>,
    /// Started, Unix ms.
    pub started_at_ms: u64,
    /// How it ended.
    #[serde(default)]
    pub end_reason: Option<EndReason>,
    /// "3:05" for answered calls, else the end label ("Busy").
    pub outcome: String,
}

/// Everything a phone UI shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneView {
    /// The host has started the engine (stored state is loaded).
    pub started: bool,
    /// The agent, when signed in.
    #[serde(default)]
    pub agent: Option<AgentView>,
    /// A sign-in is in progress.
    pub signing_in: bool,
    /// Signed in and the tenant config is loaded: calls can be placed.
    pub ready: bool,
    /// Calls go through the sandbox.
    pub sandbox: bool,
    /// Whether the server answers.
    pub link: Link,
    /// The live event socket is open.
    pub live: bool,
    /// The presence others see.
    pub presence: Presence,
    /// The presence the agent chose.
    pub chosen_presence: Presence,
    /// ISO region for numbers typed without a country code.
    pub default_region: String,
    /// The active call.
    #[serde(default)]
    pub call: Option<CallPanel>,
    /// Dispositions for the wrap-up.
    pub dispositions: Vec<String>,
    /// Recent calls, newest first.
    pub recent: Vec<RecentRow>,
    /// Contact search.
    pub search: Search,
    /// Error to show.
    #[serde(default)]
    pub notice: Option<Notice>,
    /// Call logs waiting to be written.
    pub pending_logs: usize,
}

impl Default for PhoneView {
    /// What a host shows before the engine's first view: not started, signed out.
    fn default() -> PhoneView {
        PhoneView {
            started: false,
            agent: None,
            signing_in: false,
            ready: false,
            sandbox: false,
            link: Link::Unknown,
            live: false,
            presence: Presence::Offline,
            chosen_presence: Presence::Available,
            default_region: Region::US.as_str().to_owned(),
            call: None,
            dispositions: Vec::new(),
            recent: Vec::new(),
            search: Search::default(),
            notice: None,
            pending_logs: 0,
        }
    }
}

impl PhoneView {
    /// Search results (shortcut).
    pub fn contacts(&self) -> &[Contact] {
        &self.search.results
    }
}

/// The label of a phase.
pub fn phase_label(phase: Phase, reason: Option<EndReason>) -> &'static str {
    match phase {
        Phase::Incoming => "Incoming call",
        Phase::Placing => "Dialing…",
        Phase::Ringing => "Ringing…",
        Phase::InCall => "In call",
        Phase::WrapUp | Phase::Ended => end_label(reason),
    }
}

/// The label of an end reason.
pub fn end_label(reason: Option<EndReason>) -> &'static str {
    match reason {
        Some(EndReason::Completed) | None => "Call ended",
        Some(EndReason::Busy) => "Busy",
        Some(EndReason::NoAnswer) => "No answer",
        Some(EndReason::Failed) => "Call failed",
        Some(EndReason::Canceled) => "Canceled",
        Some(EndReason::Missed) => "Missed",
        Some(EndReason::Declined) => "Declined",
    }
}

/// A Voice SDK warning for reading.
pub fn warning_label(name: &str) -> &'static str {
    match name {
        "high-rtt" | "high-jitter" | "high-packet-loss" | "low-mos" => "Poor connection",
        "constant-audio-input-level" | "constant-audio-output-level" => "No audio",
        "ice-connectivity-lost" => "Connection lost",
        _ => "Call quality warning",
    }
}

/// "m:ss", or "h:mm:ss" from an hour on.
pub fn clock(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, (seconds / 60) % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A number for reading: national when it is in `region`'s country, else international;
/// anything that is not E.164 unchanged.
pub fn display_number(number: &str, region: Region) -> String {
    match E164::parse(number) {
        Ok(e) if e.country_code() == region.country_code() => format(&e, Style::National),
        Ok(e) => format(&e, Style::International),
        Err(_) => number.to_owned(),
    }
}

pub(crate) fn build(e: &Engine) -> PhoneView {
    let now = e.now();
    let region = e.default_region();
    let cfg = e.config();
    let call = e.calls.active.as_ref().map(|c| {
        let live = c.phase.is_live();
        let talking = c.phase == Phase::InCall;
        CallPanel {
            call_id: c.id.clone(),
            direction: c.direction,
            phase: c.phase,
            number: c.number.clone(),
            number_display: display_number(&c.number, region),
            contact_name: c.contact.name.clone(),
            contact_company: c.contact.company.clone(),
            contact_id: c.contact.id.clone(),
            label: phase_label(c.phase, c.end_reason).to_owned(),
            timer: c.answered_at_ms.map(|_| clock(c.duration_s(now))),
            answered_at_ms: c.answered_at_ms,
            muted: c.muted,
            warning: c.warnings.first().map(|w| warning_label(w).to_owned()),
            reconnecting: c.reconnecting,
            end_reason: c.end_reason,
            digits: c.digits.clone(),
            sandbox: cfg.is_some_and(|c| c.sandbox),
            can_answer: c.phase == Phase::Incoming,
            can_hang_up: live,
            can_mute: live && c.phase != Phase::Incoming,
            can_send_digits: talking,
        }
    });
    let recent = e
        .calls
        .recent
        .iter()
        .map(|r| RecentRow {
            call_id: r.id.clone(),
            direction: r.direction,
            number: r.number.clone(),
            number_display: display_number(&r.number, region),
            contact_name: r.contact_name.clone(),
            started_at_ms: r.started_at_ms,
            end_reason: r.end_reason,
            outcome: match r.end_reason {
                Some(EndReason::Completed) if r.duration_s > 0 => clock(r.duration_s),
                // An incoming call is canceled here only when another endpoint took it.
                Some(EndReason::Canceled) if r.direction == Direction::Inbound => "Answered elsewhere".to_owned(),
                reason => end_label(reason).to_owned(),
            },
        })
        .collect();
    PhoneView {
        started: e.started(),
        agent: e.session.agent().map(|a| AgentView {
            email: a.email.clone(),
            name: a.name.clone(),
            role: a.role,
            tenant: cfg.map(|c| c.tenant_name.clone()),
        }),
        signing_in: e.session.signing_in(),
        ready: e.session.signed_in() && cfg.is_some(),
        sandbox: cfg.is_some_and(|c| c.sandbox),
        link: e.link(),
        live: e.socket.is_open(),
        presence: e.effective_presence(),
        chosen_presence: e.presence.chosen,
        default_region: region.as_str().to_owned(),
        call,
        dispositions: match cfg.map(|c| &c.dispositions) {
            Some(list) if !list.is_empty() => list.clone(),
            _ => DEFAULT_DISPOSITIONS.iter().map(|d| (*d).to_owned()).collect(),
        },
        recent,
        search: e.contacts.search.clone(),
        notice: e.notice().cloned(),
        pending_logs: e.pending_log_writes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_and_numbers() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(65), "1:05");
        assert_eq!(clock(3_725), "1:02:05");
        assert_eq!(display_number("+14155550134", Region::US), "(415) 555-0134");
        assert_eq!(display_number("+442079460958", Region::US), "+44 20 7946 0958");
        assert_eq!(display_number("not a number", Region::US), "not a number");
    }

    #[test]
    fn every_phase_and_reason_has_a_label() {
        assert_eq!(phase_label(Phase::Placing, None), "Dialing…");
        assert_eq!(phase_label(Phase::WrapUp, Some(EndReason::Busy)), "Busy");
        assert_eq!(end_label(Some(EndReason::NoAnswer)), "No answer");
        assert_eq!(warning_label("high-rtt"), "Poor connection");
    }
}
