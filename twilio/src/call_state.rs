//! Call statuses and [`CallProgress`], the state machine that applies status
//! callbacks safely although Twilio may deliver them late, twice, or out of order.
//!
//! Rules, in order, for an incoming update:
//! 1. A terminal status is final: once reached, the same terminal status is a
//!    [`Applied::Duplicate`], anything else [`Applied::Stale`] (an `in-progress`
//!    arriving after `completed` never reopens the call).
//! 2. The same status as the current one is a duplicate.
//! 3. When both the update and the last applied update carry a `SequenceNumber`,
//!    a smaller or equal number is stale (equal: duplicate). Otherwise, when both
//!    carry a `Timestamp`, an earlier timestamp is stale.
//! 4. Otherwise the call lifecycle order decides: queued < initiated < ringing <
//!    in-progress < terminal; going backwards is stale.
//!
//! The answered time is the earliest `in-progress` timestamp seen, even if that
//! callback arrives after the call already ended.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::TwilioError;

/// A Twilio call status (`CallStatus` / `DialCallStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallStatus {
    /// `queued`.
    Queued,
    /// `initiated`.
    Initiated,
    /// `ringing`.
    Ringing,
    /// `in-progress` (answered).
    InProgress,
    /// `completed` (answered, then hung up).
    Completed,
    /// `busy`.
    Busy,
    /// `failed` (e.g. invalid number).
    Failed,
    /// `no-answer`.
    NoAnswer,
    /// `canceled` (hung up before being answered).
    Canceled,
}

impl CallStatus {
    /// All statuses, in lifecycle order.
    pub const ALL: [CallStatus; 9] = [
        CallStatus::Queued,
        CallStatus::Initiated,
        CallStatus::Ringing,
        CallStatus::InProgress,
        CallStatus::Completed,
        CallStatus::Busy,
        CallStatus::Failed,
        CallStatus::NoAnswer,
        CallStatus::Canceled,
    ];

    /// Twilio's spelling (`in-progress`, `no-answer`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Queued => "queued",
            CallStatus::Initiated => "initiated",
            CallStatus::Ringing => "ringing",
            CallStatus::InProgress => "in-progress",
            CallStatus::Completed => "completed",
            CallStatus::Busy => "busy",
            CallStatus::Failed => "failed",
            CallStatus::NoAnswer => "no-answer",
            CallStatus::Canceled => "canceled",
        }
    }

    /// Whether the call is over (completed, busy, failed, no-answer, canceled).
    pub fn is_terminal(self) -> bool {
        self.rank() == 4
    }

    /// Position in the lifecycle: queued 0, initiated 1, ringing 2, in-progress 3, terminal 4.
    pub fn rank(self) -> u8 {
        match self {
            CallStatus::Queued => 0,
            CallStatus::Initiated => 1,
            CallStatus::Ringing => 2,
            CallStatus::InProgress => 3,
            _ => 4,
        }
    }
}

impl fmt::Display for CallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CallStatus {
    type Err = TwilioError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CallStatus::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| TwilioError::UnknownCallStatus(s.to_string()))
    }
}

/// One status callback, reduced to what ordering needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// The reported status.
    pub status: CallStatus,
    /// `SequenceNumber`, if sent.
    pub sequence_number: Option<u64>,
    /// `Timestamp` as Unix seconds, if sent.
    pub timestamp: Option<i64>,
    /// `CallDuration` in seconds (on `completed`).
    pub duration_secs: Option<u64>,
}

/// What applying an update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The call moved forward.
    Advanced {
        /// Status before.
        from: CallStatus,
        /// Status now.
        to: CallStatus,
    },
    /// The same update (or the same status) was already applied.
    Duplicate,
    /// The update is older than the current state and was ignored.
    Stale,
}

/// The progress of one call leg, fed with status callbacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallProgress {
    status: CallStatus,
    last_sequence: Option<u64>,
    last_timestamp: Option<i64>,
    answered_at: Option<i64>,
    ended_at: Option<i64>,
    duration_secs: Option<u64>,
}

impl Default for CallProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl CallProgress {
    /// A call that has not reported anything yet (status `queued`).
    pub fn new() -> Self {
        Self {
            status: CallStatus::Queued,
            last_sequence: None,
            last_timestamp: None,
            answered_at: None,
            ended_at: None,
            duration_secs: None,
        }
    }

    /// The current status.
    pub fn status(&self) -> CallStatus {
        self.status
    }

    /// When the call was answered (earliest `in-progress` timestamp seen).
    pub fn answered_at(&self) -> Option<i64> {
        self.answered_at
    }

    /// When the call ended (timestamp of the terminal callback).
    pub fn ended_at(&self) -> Option<i64> {
        self.ended_at
    }

    /// `CallDuration` reported with the terminal callback.
    pub fn duration_secs(&self) -> Option<u64> {
        self.duration_secs
    }

    /// Applies one callback; see the module docs for the rules.
    pub fn apply(&mut self, u: &StatusUpdate) -> Applied {
        if u.status == CallStatus::InProgress {
            if let Some(ts) = u.timestamp {
                self.answered_at = Some(self.answered_at.map_or(ts, |a| a.min(ts)));
            }
        }
        let result = self.classify(u);
        if let Applied::Advanced { to, .. } = result {
            self.status = to;
            if u.sequence_number.is_some() {
                self.last_sequence = u.sequence_number;
            }
            if u.timestamp.is_some() {
                self.last_timestamp = u.timestamp;
            }
            if to.is_terminal() {
                self.ended_at = u.timestamp;
                self.duration_secs = u.duration_secs;
            }
        } else if result == Applied::Duplicate && self.status.is_terminal() && self.duration_secs.is_none() {
            // A repeated terminal callback may carry the duration the first one lacked.
            self.duration_secs = u.duration_secs;
        }
        result
    }

    fn classify(&self, u: &StatusUpdate) -> Applied {
        if self.status.is_terminal() {
            return if u.status == self.status { Applied::Duplicate } else { Applied::Stale };
        }
        if u.status == self.status {
            return Applied::Duplicate;
        }
        if let (Some(new), Some(last)) = (u.sequence_number, self.last_sequence) {
            if new <= last {
                return Applied::Stale;
            }
        } else if let (Some(new), Some(last)) = (u.timestamp, self.last_timestamp) {
            if new < last {
                return Applied::Stale;
            }
        }
        if u.status.rank() > self.status.rank() {
            Applied::Advanced { from: self.status, to: u.status }
        } else {
            Applied::Stale
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn up(status: CallStatus, seq: Option<u64>, ts: Option<i64>, dur: Option<u64>) -> StatusUpdate {
        StatusUpdate { status, sequence_number: seq, timestamp: ts, duration_secs: dur }
    }

    #[test]
    fn spellings_round_trip() {
        for s in CallStatus::ALL {
            assert_eq!(s.as_str().parse::<CallStatus>().expect("parse"), s);
            assert_eq!(serde_json::to_string(&s).expect("json"), format!("\"{}\"", s.as_str()));
        }
        assert!("in_progress".parse::<CallStatus>().is_err());
        assert!(CallStatus::NoAnswer.is_terminal() && !CallStatus::InProgress.is_terminal());
    }

    #[test]
    fn in_progress_after_completed_does_not_reopen() {
        let mut p = CallProgress::new();
        let done = up(CallStatus::Completed, Some(3), Some(130), Some(30));
        assert_eq!(p.apply(&done), Applied::Advanced { from: CallStatus::Queued, to: CallStatus::Completed });
        assert_eq!(p.apply(&up(CallStatus::InProgress, Some(2), Some(100), None)), Applied::Stale);
        assert_eq!(p.status(), CallStatus::Completed);
        assert_eq!(p.answered_at(), Some(100));
        assert_eq!(p.apply(&done), Applied::Duplicate);
        assert_eq!(p.duration_secs(), Some(30));
    }

    #[test]
    fn sequence_then_timestamp_then_rank() {
        let mut p = CallProgress::new();
        assert!(matches!(p.apply(&up(CallStatus::Ringing, Some(1), Some(10), None)), Applied::Advanced { .. }));
        assert_eq!(p.apply(&up(CallStatus::Initiated, Some(0), Some(10), None)), Applied::Stale);
        assert_eq!(p.apply(&up(CallStatus::Ringing, Some(1), Some(10), None)), Applied::Duplicate);
        let mut q = CallProgress::new();
        q.apply(&up(CallStatus::Ringing, None, Some(10), None));
        assert_eq!(q.apply(&up(CallStatus::InProgress, None, Some(9), None)), Applied::Stale);
        assert!(matches!(q.apply(&up(CallStatus::InProgress, None, Some(10), None)), Applied::Advanced { .. }));
        let mut r = CallProgress::new();
        r.apply(&up(CallStatus::InProgress, None, None, None));
        assert_eq!(r.apply(&up(CallStatus::Ringing, None, None, None)), Applied::Stale);
    }

    fn valid_sequence(terminal: CallStatus, with_seq: bool, with_ts: bool) -> Vec<StatusUpdate> {
        let path: Vec<CallStatus> = match terminal {
            CallStatus::Completed => vec![CallStatus::Initiated, CallStatus::Ringing, CallStatus::InProgress, terminal],
            _ => vec![CallStatus::Initiated, CallStatus::Ringing, terminal],
        };
        path.iter()
            .enumerate()
            .map(|(i, s)| {
                let i = i as u64;
                up(
                    *s,
                    with_seq.then_some(i),
                    // Timestamps have one-second resolution: neighbours may share one.
                    with_ts.then_some(1000 + (i as i64 / 2) * 5),
                    s.is_terminal().then_some(if *s == CallStatus::Completed { 42 } else { 0 }),
                )
            })
            .collect()
    }

    proptest! {
        #[test]
        fn any_permutation_with_duplicates_ends_the_same(
            terminal_idx in 0usize..5,
            with_seq in any::<bool>(),
            with_ts in any::<bool>(),
            picks in proptest::collection::vec(0usize..100, 0..12),
            shuffle_keys in proptest::collection::vec(any::<u32>(), 16),
        ) {
            let terminal = [CallStatus::Completed, CallStatus::Busy, CallStatus::Failed, CallStatus::NoAnswer, CallStatus::Canceled][terminal_idx];
            let seq = valid_sequence(terminal, with_seq, with_ts);
            let mut in_order = CallProgress::new();
            for u in &seq { in_order.apply(u); }
            prop_assert_eq!(in_order.status(), terminal);

            // Every callback at least once, plus random duplicates, in a random order.
            let mut delivered: Vec<StatusUpdate> = seq.clone();
            for p in &picks { delivered.push(seq[p % seq.len()].clone()); }
            let mut keyed: Vec<(u32, StatusUpdate)> = delivered
                .into_iter()
                .enumerate()
                .map(|(i, u)| (shuffle_keys[i % shuffle_keys.len()].wrapping_mul(i as u32 + 1), u))
                .collect();
            keyed.sort_by_key(|(k, _)| *k);
            let mut shuffled = CallProgress::new();
            for (_, u) in &keyed { shuffled.apply(u); }
            prop_assert_eq!(shuffled.status(), in_order.status());
            prop_assert_eq!(shuffled.answered_at(), in_order.answered_at());
            prop_assert_eq!(shuffled.duration_secs(), in_order.duration_secs());
            prop_assert_eq!(shuffled.ended_at(), in_order.ended_at());
        }
    }
}
