//! The call state machine: how server statuses and SDK events move a [`CallView`].
//!
//! Pure logic (no browser APIs) so it is unit-tested natively. Status callbacks can
//! arrive late, twice or out of order: a call never goes back to an earlier phase,
//! and an ended call stays ended.

use mpt_core::msg::{CallPhase, CallView, EndReason, RecentCall, SdkCallEvent};

/// Maximum number of entries kept in the recent-calls list.
pub const RECENT_MAX: usize = 20;

/// Maps a Twilio call status (`initiated`, `ringing`, `in-progress`, …) to our phase.
/// Returns `None` for statuses we do not know.
pub fn phase_for_status(status: &str) -> Option<(CallPhase, Option<EndReason>)> {
    Some(match status {
        "queued" | "initiated" | "dialing" => (CallPhase::Dialing, None),
        "ringing" => (CallPhase::Ringing, None),
        "in-progress" | "answered" => (CallPhase::InCall, None),
        "completed" => (CallPhase::Ended, Some(EndReason::Completed)),
        "busy" => (CallPhase::Ended, Some(EndReason::Busy)),
        "no-answer" => (CallPhase::Ended, Some(EndReason::NoAnswer)),
        "failed" => (CallPhase::Ended, Some(EndReason::Failed)),
        "canceled" => (CallPhase::Ended, Some(EndReason::Canceled)),
        _ => return None,
    })
}

fn rank(p: CallPhase) -> u8 {
    match p {
        CallPhase::Dialing => 0,
        CallPhase::Ringing => 1,
        CallPhase::InCall => 2,
        CallPhase::Ended => 3,
    }
}

/// A fresh outgoing call in the dialing phase.
pub fn new_call(call_id: String, number: String, contact_id: Option<String>) -> CallView {
    CallView {
        call_id,
        number,
        contact_id,
        phase: CallPhase::Dialing,
        muted: false,
        answered_at_ms: None,
        end_reason: None,
    }
}

/// Moves `call` to `phase` unless that would go backwards. Returns true if it changed.
pub fn advance(call: &mut CallView, phase: CallPhase, reason: Option<EndReason>, now_ms: f64) -> bool {
    if rank(phase) <= rank(call.phase) {
        return false;
    }
    if phase == CallPhase::InCall && call.answered_at_ms.is_none() {
        call.answered_at_ms = Some(now_ms);
    }
    if phase == CallPhase::Ended {
        // A call that never connected and ended "completed" was in fact not answered.
        let reason = reason.unwrap_or(EndReason::Completed);
        call.end_reason = Some(if call.answered_at_ms.is_none() && reason == EndReason::Completed {
            EndReason::Canceled
        } else {
            reason
        });
        call.muted = false;
    }
    call.phase = phase;
    true
}

/// Applies a server `call_status` event. Returns true if the call changed.
pub fn apply_status(call: &mut CallView, status: &str, now_ms: f64) -> bool {
    match phase_for_status(status) {
        Some((phase, reason)) => advance(call, phase, reason, now_ms),
        None => false,
    }
}

/// Applies a Twilio Voice SDK call event. Returns true if the call changed.
pub fn apply_sdk_event(call: &mut CallView, event: SdkCallEvent, now_ms: f64) -> bool {
    match event {
        SdkCallEvent::Ringing => advance(call, CallPhase::Ringing, None, now_ms),
        SdkCallEvent::Accept => advance(call, CallPhase::InCall, None, now_ms),
        SdkCallEvent::Disconnect => advance(call, CallPhase::Ended, Some(EndReason::Completed), now_ms),
        SdkCallEvent::Cancel | SdkCallEvent::Reject => {
            advance(call, CallPhase::Ended, Some(EndReason::Canceled), now_ms)
        }
        SdkCallEvent::Reconnecting | SdkCallEvent::Reconnected => false,
    }
}

/// The recent-calls entry for a finished call.
pub fn recent_entry(call: &CallView, started_at_ms: f64, now_ms: f64) -> RecentCall {
    let duration_s = call
        .answered_at_ms
        .map(|a| (((now_ms - a) / 1000.0).max(0.0)).round() as u32);
    RecentCall {
        number: call.number.clone(),
        started_at_ms,
        end_reason: call.end_reason,
        duration_s,
    }
}

/// Puts `entry` at the front of `recent`, keeping at most [`RECENT_MAX`] entries.
pub fn push_recent(recent: &mut Vec<RecentCall>, entry: RecentCall) {
    recent.insert(0, entry);
    recent.truncate(RECENT_MAX);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> CallView {
        new_call("c1".into(), "+14155550100".into(), None)
    }

    #[test]
    fn happy_path_sets_answer_time_and_reason() {
        let mut c = call();
        assert!(!apply_status(&mut c, "initiated", 1.0));
        assert!(apply_status(&mut c, "ringing", 2.0));
        assert_eq!(c.phase, CallPhase::Ringing);
        assert!(apply_status(&mut c, "in-progress", 3.0));
        assert_eq!(c.answered_at_ms, Some(3.0));
        assert!(apply_status(&mut c, "completed", 10_000.0));
        assert_eq!(c.phase, CallPhase::Ended);
        assert_eq!(c.end_reason, Some(EndReason::Completed));
        let r = recent_entry(&c, 0.0, 10_000.0);
        assert_eq!(r.duration_s, Some(10));
    }

    #[test]
    fn late_and_duplicate_statuses_do_not_go_back() {
        let mut c = call();
        apply_status(&mut c, "in-progress", 5.0);
        assert!(!apply_status(&mut c, "ringing", 6.0));
        assert!(!apply_status(&mut c, "in-progress", 7.0));
        assert_eq!(c.answered_at_ms, Some(5.0));
        apply_status(&mut c, "busy", 8.0);
        assert!(!apply_status(&mut c, "completed", 9.0));
        assert_eq!(c.end_reason, Some(EndReason::Busy));
    }

    #[test]
    fn unanswered_completed_is_canceled_and_unknown_ignored() {
        let mut c = call();
        assert!(!apply_status(&mut c, "weird", 1.0));
        apply_status(&mut c, "completed", 2.0);
        assert_eq!(c.end_reason, Some(EndReason::Canceled));
        assert_eq!(recent_entry(&c, 0.0, 2.0).duration_s, None);
    }

    #[test]
    fn sdk_events() {
        let mut c = call();
        assert!(apply_sdk_event(&mut c, SdkCallEvent::Ringing, 1.0));
        assert!(apply_sdk_event(&mut c, SdkCallEvent::Accept, 2.0));
        assert!(!apply_sdk_event(&mut c, SdkCallEvent::Reconnecting, 3.0));
        assert!(apply_sdk_event(&mut c, SdkCallEvent::Disconnect, 4.0));
        assert_eq!(c.end_reason, Some(EndReason::Completed));
    }

    #[test]
    fn recent_is_bounded_newest_first() {
        let mut r = Vec::new();
        for i in 0..(RECENT_MAX + 5) {
            let mut c = call();
            c.number = format!("+1415555{i:04}");
            push_recent(&mut r, recent_entry(&c, i as f64, i as f64));
        }
        assert_eq!(r.len(), RECENT_MAX);
        assert_eq!(r[0].started_at_ms, (RECENT_MAX + 4) as f64);
    }
}
