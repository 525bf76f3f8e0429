//! The call state machine: one call, from placing or incoming to wrap-up.
//!
//! Server statuses, sandbox events and Voice SDK events all arrive as [`Step`]s. They can
//! come late, twice or out of order (a status callback overtaken by the SDK, a replayed
//! socket event): a call never goes back to an earlier phase, an ended call stays ended,
//! and the first reason given for the end wins.

use serde::{Deserialize, Serialize};

use super::command::{CallRef, DialContact};
pub use crate::api::CallDirection as Direction;

/// Where a call is, as the agent sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Someone is calling; answer or decline.
    Incoming,
    /// We asked for the call; nothing heard back yet.
    Placing,
    /// The far end rings.
    Ringing,
    /// Connected: the timer runs.
    InCall,
    /// Over; the agent writes notes and a disposition (or skips).
    WrapUp,
    /// Over and logged (or never needed a log: missed, declined).
    Ended,
}

impl Phase {
    fn rank(self) -> u8 {
        match self {
            Phase::Placing => 0,
            Phase::Incoming | Phase::Ringing => 1,
            Phase::InCall => 2,
            Phase::WrapUp | Phase::Ended => 3,
        }
    }

    /// True while the call holds the line (audio or ringing).
    pub fn is_live(self) -> bool {
        self.rank() < 3
    }
}

/// Why a call ended (`endReason` of `../shared/CONTRACTS.md` §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndReason {
    /// Answered, then hung up by either side.
    Completed,
    /// The callee was busy.
    Busy,
    /// Nobody answered.
    NoAnswer,
    /// The network, the server or Twilio could not place or keep the call.
    Failed,
    /// The agent hung up before it was answered.
    Canceled,
    /// An incoming call nobody answered here.
    Missed,
    /// The agent declined an incoming call.
    Declined,
}

impl EndReason {
    /// The reason a final Twilio status means, for a call in `direction` that was or was
    /// not answered. `None` for statuses that are not final.
    pub fn from_status(status: &str, direction: Direction, answered: bool) -> Option<EndReason> {
        let inbound = direction == Direction::Inbound;
        Some(match status {
            "completed" if answered => EndReason::Completed,
            "completed" | "canceled" | "no-answer" if inbound => EndReason::Missed,
            "completed" | "canceled" => EndReason::Canceled,
            "busy" => EndReason::Busy,
            "no-answer" => EndReason::NoAnswer,
            "failed" => EndReason::Failed,
            _ => return None,
        })
    }

    /// The Twilio-style status written to the call log for this reason.
    pub fn log_status(self) -> &'static str {
        match self {
            EndReason::Completed => "completed",
            EndReason::Busy => "busy",
            EndReason::NoAnswer | EndReason::Missed => "no-answer",
            EndReason::Failed => "failed",
            EndReason::Canceled | EndReason::Declined => "canceled",
        }
    }
}

/// Something that moves a call forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The far end rings.
    Ringing,
    /// Connected.
    Answered,
    /// Over, for this reason.
    Ended(EndReason),
}

impl Step {
    /// The step a Twilio call status means (`None`: not a step, e.g. `queued`).
    pub fn from_status(status: &str, direction: Direction, answered: bool) -> Option<Step> {
        match status {
            "ringing" => Some(Step::Ringing),
            "in-progress" | "answered" => Some(Step::Answered),
            s => EndReason::from_status(s, direction, answered).map(Step::Ended),
        }
    }
}

/// One call and everything the phone knows about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// Client call id (the log's id on the server).
    pub id: String,
    /// Inbound or outbound.
    pub direction: Direction,
    /// The other party, E.164.
    pub number: String,
    /// The tenant number used (outbound caller ID, or the number called for inbound).
    #[serde(default)]
    pub our_number: Option<String>,
    /// The CRM contact.
    #[serde(default)]
    pub contact: DialContact,
    /// Twilio SID of the agent's leg, once known.
    #[serde(default)]
    pub call_sid: Option<String>,
    /// Phase.
    pub phase: Phase,
    /// When the call started, Unix ms.
    pub started_at_ms: u64,
    /// When it connected.
    #[serde(default)]
    pub answered_at_ms: Option<u64>,
    /// When it ended.
    #[serde(default)]
    pub ended_at_ms: Option<u64>,
    /// Why it ended.
    #[serde(default)]
    pub end_reason: Option<EndReason>,
    /// Microphone muted.
    #[serde(default)]
    pub muted: bool,
    /// Voice SDK quality warnings currently raised.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The SDK lost media and is reconnecting.
    #[serde(default)]
    pub reconnecting: bool,
    /// DTMF digits sent so far (shown on the keypad).
    #[serde(default)]
    pub digits: String,
    /// The agent pressed Answer here (an incoming call the server then reports answered
    /// was answered here, not on another of the agent's endpoints).
    #[serde(default)]
    pub accepting: bool,
    /// The server reported this ringing call answered while the agent had not pressed
    /// Answer here: another of the agent's endpoints took it (its `cancel` follows).
    #[serde(default)]
    pub answered_elsewhere: bool,
}

/// What a [`Call::apply`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Now ringing.
    Ringing,
    /// Now connected.
    Answered,
    /// Now over.
    Ended(EndReason),
}

impl Call {
    /// A call we are placing.
    pub fn outbound(id: String, number: String, contact: DialContact, now_ms: u64) -> Call {
        Call::new(id, Direction::Outbound, number, contact, Phase::Placing, now_ms)
    }

    /// A call ringing for us.
    pub fn inbound(id: String, number: String, call_sid: String, now_ms: u64) -> Call {
        let mut c = Call::new(id, Direction::Inbound, number, DialContact::default(), Phase::Incoming, now_ms);
        c.call_sid = Some(call_sid);
        c
    }

    fn new(id: String, direction: Direction, number: String, contact: DialContact, phase: Phase, now_ms: u64) -> Call {
        Call {
            id,
            direction,
            number,
            our_number: None,
            contact,
            call_sid: None,
            phase,
            started_at_ms: now_ms,
            answered_at_ms: None,
            ended_at_ms: None,
            end_reason: None,
            muted: false,
            warnings: Vec::new(),
            reconnecting: false,
            digits: String::new(),
            accepting: false,
            answered_elsewhere: false,
        }
    }

    /// Applies `step` unless it would move the call backwards; returns what changed.
    pub fn apply(&mut self, step: Step, now_ms: u64) -> Option<Change> {
        if !self.phase.is_live() {
            return None;
        }
        match step {
            Step::Ringing => {
                if self.phase.rank() >= Phase::Ringing.rank() {
                    return None;
                }
                self.phase = Phase::Ringing;
                Some(Change::Ringing)
            }
            Step::Answered => {
                if self.phase == Phase::InCall {
                    return None;
                }
                self.phase = Phase::InCall;
                self.answered_at_ms = Some(now_ms);
                Some(Change::Answered)
            }
            Step::Ended(reason) => {
                // A final status written before we knew the call was answered (e.g.
                // "completed" for a leg that never connected) is read as the contract says.
                let reason = match (reason, self.answered_at_ms) {
                    (EndReason::Completed, None) if self.direction == Direction::Inbound => EndReason::Missed,
                    (EndReason::Completed, None) => EndReason::Canceled,
                    (r, _) => r,
                };
                self.end_reason = Some(reason);
                self.ended_at_ms = Some(now_ms);
                self.muted = false;
                self.reconnecting = false;
                self.warnings.clear();
                self.phase = if self.needs_wrap_up() { Phase::WrapUp } else { Phase::Ended };
                Some(Change::Ended(reason))
            }
        }
    }

    /// Calls the agent placed or talked on get a wrap-up; missed and declined ones do not.
    fn needs_wrap_up(&self) -> bool {
        self.direction == Direction::Outbound || self.answered_at_ms.is_some()
    }

    /// Talk time in whole seconds (0 if never answered).
    pub fn duration_s(&self, now_ms: u64) -> u64 {
        match self.answered_at_ms {
            Some(a) => (self.ended_at_ms.unwrap_or(now_ms).saturating_sub(a) + 500) / 1000,
            None => 0,
        }
    }

    /// True when `call_id` or `call_sid` names this call (or its child leg's parent).
    pub fn is(&self, call_id: Option<&str>, call_sid: Option<&str>) -> bool {
        call_id.is_some_and(|id| id == self.id) || (call_sid.is_some() && self.call_sid.as_deref() == call_sid)
    }

    /// The call as integrators see it.
    pub fn as_ref(&self) -> CallRef {
        CallRef { call_id: self.id.clone(), contact_id: self.contact.id.clone(), number: self.number.clone(), direction: self.direction }
    }
}

/// Most recent calls kept.
pub const RECENT_MAX: usize = 20;

/// A finished call in the recent list (redial from here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentCall {
    /// Call id.
    pub id: String,
    /// Direction.
    pub direction: Direction,
    /// The other party, E.164.
    pub number: String,
    /// Contact name, if known.
    #[serde(default)]
    pub contact_name: Option<String>,
    /// Started, Unix ms.
    pub started_at_ms: u64,
    /// How it ended, if known.
    #[serde(default)]
    pub end_reason: Option<EndReason>,
    /// Talk time in seconds.
    #[serde(default)]
    pub duration_s: u64,
}

impl RecentCall {
    /// The recent entry of a finished call.
    pub fn of(call: &Call, now_ms: u64) -> RecentCall {
        RecentCall {
            id: call.id.clone(),
            direction: call.direction,
            number: call.number.clone(),
            contact_name: call.contact.name.clone(),
            started_at_ms: call.started_at_ms,
            end_reason: call.end_reason,
            duration_s: call.duration_s(now_ms),
        }
    }

    /// The recent entry of a server log (after a resync).
    pub fn of_log(log: &crate::api::CallLog) -> RecentCall {
        let number = match log.direction {
            Direction::Outbound => log.to.clone(),
            Direction::Inbound => log.from.clone(),
        };
        let answered = log.answered_at.is_some();
        RecentCall {
            id: log.id.clone(),
            direction: log.direction,
            number,
            contact_name: log.contact_name.clone(),
            started_at_ms: u64::try_from(log.started_at).unwrap_or(0),
            end_reason: EndReason::from_status(&log.status, log.direction, answered),
            duration_s: log.duration_seconds.unwrap_or(0),
        }
    }
}

/// Puts `entry` first (replacing an entry of the same id), keeping [`RECENT_MAX`].
pub fn push_recent(recent: &mut Vec<RecentCall>, entry: RecentCall) {
    recent.retain(|r| r.id != entry.id);
    recent.insert(0, entry);
    recent.truncate(RECENT_MAX);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out() -> Call {
        Call::outbound("c1".into(), "+14155550100".into(), DialContact::default(), 0)
    }

    #[test]
    fn outbound_happy_path_then_wrap_up() {
        let mut c = out();
        assert_eq!(c.apply(Step::Ringing, 1), Some(Change::Ringing));
        assert_eq!(c.apply(Step::Answered, 2_000), Some(Change::Answered));
        assert_eq!(c.apply(Step::Ended(EndReason::Completed), 12_400), Some(Change::Ended(EndReason::Completed)));
        assert_eq!(c.phase, Phase::WrapUp);
        assert_eq!(c.duration_s(99_999), 10);
    }

    #[test]
    fn never_goes_back_and_first_end_wins() {
        let mut c = out();
        c.apply(Step::Answered, 5);
        assert_eq!(c.apply(Step::Ringing, 6), None);
        assert_eq!(c.apply(Step::Answered, 7), None);
        assert_eq!(c.answered_at_ms, Some(5));
        c.apply(Step::Ended(EndReason::Busy), 8);
        assert_eq!(c.apply(Step::Ended(EndReason::Completed), 9), None);
        assert_eq!(c.apply(Step::Answered, 9), None);
        assert_eq!(c.end_reason, Some(EndReason::Busy));
    }

    #[test]
    fn unanswered_completed_reads_as_canceled_or_missed() {
        let mut c = out();
        c.apply(Step::Ended(EndReason::Completed), 3);
        assert_eq!(c.end_reason, Some(EndReason::Canceled));
        assert_eq!(c.phase, Phase::WrapUp, "an outbound attempt still gets a wrap-up");
        let mut i = Call::inbound("c2".into(), "+14155550100".into(), "CA1".into(), 0);
        assert_eq!(i.apply(Step::Ringing, 1), None, "incoming already rings");
        i.apply(Step::Ended(EndReason::Completed), 3);
        assert_eq!(i.end_reason, Some(EndReason::Missed));
        assert_eq!(i.phase, Phase::Ended, "a missed call needs no wrap-up");
    }

    #[test]
    fn statuses_map_to_contract_reasons() {
        use Direction::*;
        assert_eq!(Step::from_status("queued", Outbound, false), None);
        assert_eq!(Step::from_status("ringing", Outbound, false), Some(Step::Ringing));
        assert_eq!(Step::from_status("in-progress", Inbound, false), Some(Step::Answered));
        assert_eq!(EndReason::from_status("no-answer", Outbound, false), Some(EndReason::NoAnswer));
        assert_eq!(EndReason::from_status("no-answer", Inbound, false), Some(EndReason::Missed));
        assert_eq!(EndReason::from_status("busy", Outbound, false), Some(EndReason::Busy));
        assert_eq!(EndReason::from_status("failed", Inbound, true), Some(EndReason::Failed));
        assert_eq!(EndReason::from_status("completed", Inbound, true), Some(EndReason::Completed));
        assert_eq!(serde_json::to_string(&EndReason::NoAnswer).unwrap_or_default(), "\"no-answer\"");
    }

    #[test]
    fn recent_is_bounded_deduplicated_newest_first() {
        let mut r = Vec::new();
        for i in 0..(RECENT_MAX + 5) {
            let mut c = out();
            c.id = format!("call-{i}");
            c.started_at_ms = i as u64;
            push_recent(&mut r, RecentCall::of(&c, 0));
        }
        let mut again = out();
        again.id = format!("call-{}", RECENT_MAX + 4);
        push_recent(&mut r, RecentCall::of(&again, 0));
        assert_eq!(r.len(), RECENT_MAX);
        assert_eq!(r.iter().filter(|x| x.id == again.id).count(), 1);
    }
}
