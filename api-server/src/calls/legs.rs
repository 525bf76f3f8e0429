//! The status state of a call, per leg: every received update is kept (replayed into
//! [`CallProgress`]), and the call's overall state is derived from its legs.

use crate::db::now_ms;
use mpt_core::api::{CallLog, StatusChange};
use mpt_twilio::call_state::{Applied, CallProgress, CallStatus, StatusUpdate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One received status update of a leg, as stored (replayed to rebuild [`CallProgress`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredUpdate {
    /// Status.
    pub s: CallStatus,
    /// SequenceNumber.
    #[serde(default)]
    pub q: Option<u64>,
    /// Timestamp (Unix seconds).
    #[serde(default)]
    pub t: Option<i64>,
    /// CallDuration.
    #[serde(default)]
    pub d: Option<u64>,
}

impl StoredUpdate {
    fn update(&self) -> StatusUpdate {
        StatusUpdate { status: self.s, sequence_number: self.q, timestamp: self.t, duration_secs: self.d }
    }
}

/// Updates received per leg (call SID → updates in arrival order).
pub type Legs = BTreeMap<String, Vec<StoredUpdate>>;

/// The most updates kept per leg (duplicates beyond this are dropped).
const MAX_UPDATES_PER_LEG: usize = 32;

fn progress_of(updates: &[StoredUpdate]) -> CallProgress {
    let mut p = CallProgress::new();
    for u in updates {
        p.apply(&u.update());
    }
    p
}

/// The call's overall state from its legs: the answered leg if any; else, when every
/// leg ended, the one that ended last; else the most advanced live leg.
pub fn derive(legs: &Legs) -> Option<(String, CallProgress)> {
    let all: Vec<(String, CallProgress)> = legs.iter().map(|(sid, u)| (sid.clone(), progress_of(u))).collect();
    if let Some(answered) = all
        .iter()
        .filter(|(_, p)| p.answered_at().is_some() || p.status() == CallStatus::InProgress)
        .min_by_key(|(_, p)| p.answered_at().unwrap_or(i64::MAX))
    {
        return Some(answered.clone());
    }
    if all.iter().all(|(_, p)| p.status().is_terminal()) {
        return all.into_iter().max_by_key(|(_, p)| p.ended_at().unwrap_or(0));
    }
    all.into_iter().filter(|(_, p)| !p.status().is_terminal()).max_by_key(|(_, p)| p.status().rank())
}

/// Applies one status update to a call's state in memory (the call log and its legs).
/// Returns whether the call's overall status changed (then `call_status` and
/// `log_updated` are due). Pure: the caller stores the result.
pub fn advance(
    call: &mut CallLog,
    legs: &mut Legs,
    parent_sid: &str,
    leg_sid: &str,
    update: &StatusUpdate,
    agent_for_leg: Option<&str>,
) -> bool {
    let version = call.updated_at;
    let before = derive(legs).map(|(_, p)| p.status());
    let leg = legs.entry(leg_sid.to_string()).or_default();
    let mut probe = progress_of(leg);
    let applied = probe.apply(update);
    if leg.len() < MAX_UPDATES_PER_LEG || matches!(applied, Applied::Advanced { .. }) {
        leg.push(StoredUpdate { s: update.status, q: update.sequence_number, t: update.timestamp, d: update.duration_secs });
    }
    let Some((winner_sid, p)) = derive(legs) else { return false };
    let new = p.status();
    // The stored status only moves forward (it may have been set at creation, before
    // any callback): a later rank, or a different final status.
    let forward = match call.status.parse::<CallStatus>() {
        Ok(cur) => new != cur && (new.rank() > cur.rank() || new.is_terminal()),
        Err(_) => true,
    };
    let changed = forward && before != Some(new);
    if forward {
        call.status = new.as_str().to_string();
        call.status_history.push(StatusChange {
            status: call.status.clone(),
            at: update.timestamp.map(|t| t * 1000).unwrap_or_else(now_ms),
            sequence: update.sequence_number,
        });
    }
    if winner_sid != parent_sid {
        call.child_call_sid = Some(winner_sid.clone());
    }
    if call.agent_id.is_none() && new == CallStatus::InProgress && winner_sid == leg_sid {
        call.agent_id = agent_for_leg.map(str::to_string);
    }
    call.answered_at = p.answered_at().map(|t| t * 1000);
    call.ended_at = p.ended_at().map(|t| t * 1000);
    call.duration_seconds = p.duration_secs();
    call.updated_at = now_ms().max(version + 1);
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(s: CallStatus, q: u64, t: i64) -> StoredUpdate {
        StoredUpdate { s, q: Some(q), t: Some(t), d: None }
    }

    #[test]
    fn derive_prefers_answered_leg() {
        let mut legs = Legs::new();
        legs.insert("CA_a".into(), vec![up(CallStatus::Ringing, 1, 10), up(CallStatus::Canceled, 3, 14)]);
        legs.insert("CA_b".into(), vec![up(CallStatus::Ringing, 1, 10), up(CallStatus::InProgress, 2, 12)]);
        let (sid, p) = derive(&legs).expect("some");
        assert_eq!(sid, "CA_b");
        assert_eq!(p.status(), CallStatus::InProgress);
    }
    #[test]
    fn derive_all_ended_takes_last() {
        let mut legs = Legs::new();
        legs.insert("CA_a".into(), vec![up(CallStatus::NoAnswer, 2, 40)]);
        legs.insert("CA_b".into(), vec![up(CallStatus::Canceled, 2, 30)]);
        assert_eq!(derive(&legs).expect("some").1.status(), CallStatus::NoAnswer);
    }
}
