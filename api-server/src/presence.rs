//! Presence updates, merged and throttled per agent: at most one write (and one
//! `presence` event to the tenant) per agent per [`WINDOW`]. The first update after a
//! quiet window applies at once; updates arriving within the window are merged (the last
//! wins) and applied when it ends. Nothing is dropped: the agent's last choice always
//! lands. Before, every socket message was a database write and a tenant-wide event, so
//! one client toggling in a loop flooded every agent of the tenant.

use crate::error::AppResult;
use crate::state::AppState;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// At most one presence write per agent per window.
pub const WINDOW: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Slot {
    last_applied: Option<Instant>,
    pending: Option<bool>,
    scheduled: bool,
}

/// Per-agent presence slots (one per agent that ever set presence: bounded by agents).
#[derive(Default)]
pub struct PresenceThrottle {
    slots: Mutex<HashMap<(String, String), Slot>>,
}

enum Next {
    ApplyNow,
    Merged,
    ApplyAfter(Duration),
}

impl PresenceThrottle {
    /// Sets an agent's availability, now or at the end of the agent's window.
    pub async fn set(&self, state: &AppState, tenant_id: &str, agent_id: &str, available: bool) -> AppResult<()> {
        let key = (tenant_id.to_string(), agent_id.to_string());
        let next = {
            let Ok(mut slots) = self.slots.lock() else { return crate::routes::set_presence(state, tenant_id, agent_id, available).await };
            let slot = slots.entry(key.clone()).or_default();
            let now = Instant::now();
            if slot.scheduled {
                slot.pending = Some(available);
                Next::Merged
            } else {
                match slot.last_applied.map(|t| now.duration_since(t)) {
                    Some(elapsed) if elapsed < WINDOW => {
                        slot.pending = Some(available);
                        slot.scheduled = true;
                        Next::ApplyAfter(WINDOW - elapsed)
                    }
                    _ => {
                        slot.last_applied = Some(now);
                        Next::ApplyNow
                    }
                }
            }
        };
        match next {
            Next::ApplyNow => crate::routes::set_presence(state, tenant_id, agent_id, available).await,
            Next::Merged => Ok(()),
            Next::ApplyAfter(wait) => {
                let weak = state.downgrade();
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    let Some(state) = weak.upgrade() else { return };
                    let value = state.presence.take_pending(&key);
                    if let Some(available) = value {
                        if let Err(e) = crate::routes::set_presence(&state, &key.0, &key.1, available).await {
                            tracing::warn!(error = %e, "deferred presence update failed");
                        }
                    }
                });
                Ok(())
            }
        }
    }

    fn take_pending(&self, key: &(String, String)) -> Option<bool> {
        let mut slots = self.slots.lock().ok()?;
        let slot = slots.get_mut(key)?;
        slot.scheduled = false;
        slot.last_applied = Some(Instant::now());
        slot.pending.take()
    }
}
