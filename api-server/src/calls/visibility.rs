//! Who sees which call (least privilege inside a tenant): an agent sees and edits its own
//! calls and inbound calls no agent answered (anyone may pick those up); supervisors and
//! admins see every call of the tenant. A call outside the caller's scope is answered
//! like a missing one (404), never with its contents.

use crate::auth::Auth;
use mpt_core::api::{CallDirection, CallLog};

/// The calls a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every call of the tenant.
    All,
    /// This agent's calls and unanswered inbound ones (an agent key without an agent:
    /// only the latter).
    Agent(Option<String>),
}

impl Scope {
    /// The scope of an authenticated caller.
    pub fn of(auth: &Auth) -> Scope {
        if auth.sees_all_calls() {
            Scope::All
        } else {
            Scope::Agent(auth.agent_id.clone())
        }
    }

    /// Whether the caller may see (and edit) this call.
    pub fn allows(&self, call: &CallLog) -> bool {
        match self {
            Scope::All => true,
            Scope::Agent(me) => match &call.agent_id {
                Some(owner) => me.as_deref() == Some(owner.as_str()),
                None => call.direction == CallDirection::Inbound,
            },
        }
    }

    /// The SQL condition (appended with ` AND `) and its bound agent id, if any. `?` is the
    /// placeholder for the agent id.
    pub(super) fn condition(&self) -> Option<(&'static str, String)> {
        match self {
            Scope::All => None,
            Scope::Agent(me) => Some(("(agent_id = ? OR (agent_id IS NULL AND direction = 'inbound'))", me.clone().unwrap_or_default())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(agent: Option<&str>, direction: CallDirection) -> CallLog {
        let mut c: CallLog = serde_json::from_value(serde_json::json!({
            "id": "call_1", "direction": "outbound", "from": "+14155550100", "to": "+14155550142",
            "status": "completed", "status_history": [], "started_at": 1, "sandbox": false, "updated_at": 1
        }))
        .expect("call");
        c.agent_id = agent.map(str::to_string);
        c.direction = direction;
        c
    }

    #[test]
    fn agents_see_their_own_and_unanswered_inbound() {
        let a = Scope::Agent(Some("ag_a".into()));
        assert!(a.allows(&call(Some("ag_a"), CallDirection::Outbound)));
        assert!(!a.allows(&call(Some("ag_b"), CallDirection::Outbound)));
        assert!(!a.allows(&call(Some("ag_b"), CallDirection::Inbound)));
        assert!(a.allows(&call(None, CallDirection::Inbound)));
        assert!(!a.allows(&call(None, CallDirection::Outbound)));
        assert!(!Scope::Agent(None).allows(&call(Some("ag_a"), CallDirection::Outbound)));
        assert!(Scope::All.allows(&call(Some("ag_b"), CallDirection::Outbound)));
    }
}
