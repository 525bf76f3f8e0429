//! Who may call: the one check behind every token mint, event ticket and call.
//!
//! A tenant with no Stripe link (self-hosted, the demo) is unrestricted. A linked tenant
//! is *active* while its subscription is `active` or `trialing` (or linked by a
//! completed Checkout whose subscription event has not arrived yet); a failed payment
//! (`invoice.payment_failed`, or status `past_due`) starts a grace period of
//! `MPT_BILLING_GRACE_DAYS` during which it stays active; every other status
//! (`canceled`, `unpaid`, `incomplete`, `incomplete_expired`, `paused`) and an expired
//! grace period make it *inactive*: 402 `subscription_inactive`. When it has more agents
//! than paid seats (e.g. after a downgrade), the agents beyond the seat count — the
//! newest ones — get 402 `seats_exceeded`; adding one past the count is 409.
//!
//! Token mints are hot (tens of thousands a second), so the state is cached per tenant
//! for a few seconds and dropped here whenever a Stripe event or a new agent changes it
//! (another process sees the change within [`CACHE_TTL`]).

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::http::StatusCode;
use mpt_core::PhoneErrorCode;
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a tenant's loaded state is trusted.
pub const CACHE_TTL: Duration = Duration::from_secs(5);

/// A tenant's billing row, as far as entitlements go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Billing {
    /// Has a Stripe customer (Checkout completed or subscription seen).
    pub linked: bool,
    /// Stripe subscription status (`None`: Checkout completed, no subscription event yet).
    pub status: Option<String>,
    /// Paid seats (`None`: no limit).
    pub seats: Option<i64>,
    /// Grace start from a failed invoice (Unix seconds).
    pub past_due_since: Option<i64>,
    /// When the stored subscription status was set (Unix seconds; grace start for a
    /// `past_due` status without a failed-invoice event).
    pub subscription_event_at: i64,
    /// Period end (Unix seconds).
    pub period_end: Option<i64>,
}

/// Where a tenant stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// No Stripe link: no limits.
    Unrestricted,
    /// Paid up.
    Active,
    /// Payment failed; calling allowed until `until` (Unix seconds).
    Grace {
        /// End of the grace period.
        until: i64,
    },
    /// Refused.
    Inactive,
}

impl Standing {
    /// Wire name (admin billing status).
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Unrestricted => "unrestricted",
            Standing::Active => "active",
            Standing::Grace { .. } => "grace",
            Standing::Inactive => "inactive",
        }
    }
}

/// Where `b` stands at `now` (Unix seconds) with `grace_days` of grace.
pub fn standing(b: Option<&Billing>, now: i64, grace_days: u64) -> Standing {
    let Some(b) = b.filter(|b| b.linked) else { return Standing::Unrestricted };
    let status = b.status.as_deref().unwrap_or("active");
    let grace_start = match status {
        "active" | "trialing" => b.past_due_since,
        "past_due" => Some(b.past_due_since.unwrap_or(b.subscription_event_at)),
        _ => return Standing::Inactive,
    };
    match grace_start {
        None => Standing::Active,
        Some(start) => {
            let until = start.saturating_add(grace_days.saturating_mul(86_400) as i64);
            if now < until {
                Standing::Grace { until }
            } else {
                Standing::Inactive
            }
        }
    }
}

/// A tenant's cached state: billing row and the agents within the seat count.
#[derive(Debug)]
struct Loaded {
    at: Instant,
    billing: Option<Billing>,
    /// The first `seats` agents (oldest first); `None` when seats are not limited.
    seated: Option<HashSet<String>>,
}

/// Per-tenant cache of entitlement state.
#[derive(Default)]
pub struct EntitlementCache {
    map: RwLock<HashMap<String, Arc<Loaded>>>,
}

impl EntitlementCache {
    /// Drops everything (a Stripe event or a new agent changed some tenant).
    pub fn invalidate(&self) {
        if let Ok(mut m) = self.map.write() {
            m.clear();
        }
    }
}

/// The SQL condition for agents that hold a seat: every enabled agent (a disabled agent
/// frees its seat). The one place that decides it.
pub const SEATED_AGENTS: &str = "tenant_id = $1 AND disabled_at IS NULL";

/// Loads the billing row (none when the tenant never touched Stripe).
pub async fn load_billing(state: &AppState, tenant_id: &str) -> AppResult<Option<Billing>> {
    let row = sqlx::query(
        "SELECT stripe_customer_id, stripe_subscription_id, status, seats, past_due_since, subscription_event_at, period_end \
         FROM billing WHERE tenant_id = $1",
    )
    .bind(tenant_id)
    .fetch_optional(&state.db.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let customer: Option<String> = r.try_get("stripe_customer_id")?;
    let subscription: Option<String> = r.try_get("stripe_subscription_id")?;
    Ok(Some(Billing {
        linked: customer.is_some() || subscription.is_some(),
        status: r.try_get("status")?,
        seats: r.try_get("seats")?,
        past_due_since: r.try_get("past_due_since")?,
        subscription_event_at: r.try_get("subscription_event_at")?,
        period_end: r.try_get("period_end")?,
    }))
}

/// How many agents hold a seat.
pub async fn seated_count(state: &AppState, tenant_id: &str) -> AppResult<i64> {
    let row =
        sqlx::query(&format!("SELECT COUNT(*) AS n FROM agents WHERE {SEATED_AGENTS}")).bind(tenant_id).fetch_one(&state.db.pool).await?;
    Ok(row.try_get::<i64, _>("n")?)
}

async fn load(state: &AppState, tenant_id: &str) -> AppResult<Arc<Loaded>> {
    if let Some(l) = state.entitlements.map.read().ok().and_then(|m| m.get(tenant_id).cloned()) {
        if l.at.elapsed() < CACHE_TTL {
            return Ok(l);
        }
    }
    let billing = load_billing(state, tenant_id).await?;
    let seated = match billing.as_ref().filter(|b| b.linked).and_then(|b| b.seats) {
        Some(seats) => {
            let rows = sqlx::query(&format!("SELECT id FROM agents WHERE {SEATED_AGENTS} ORDER BY created_at, id LIMIT $2"))
                .bind(tenant_id)
                .bind(seats.max(0))
                .fetch_all(&state.db.pool)
                .await?;
            Some(rows.iter().map(|r| r.try_get::<String, _>("id")).collect::<Result<HashSet<_>, _>>()?)
        }
        None => None,
    };
    let l = Arc::new(Loaded { at: Instant::now(), billing, seated });
    if let Ok(mut m) = state.entitlements.map.write() {
        if m.len() > 10_000 {
            m.clear();
        }
        m.insert(tenant_id.to_string(), l.clone());
    }
    Ok(l)
}

fn now_secs() -> i64 {
    crate::db::now_ms() / 1000
}

/// The one entitlement check: may this tenant (and this agent, when given) mint a
/// token, get an event ticket or place a call now? 402 `subscription_inactive` when the
/// subscription is not active after grace; 402 `seats_exceeded` when the agent is
/// beyond the paid seat count. API keys and inbound calls pass `agent_id = None`.
pub async fn require_active(state: &AppState, tenant_id: &str, agent_id: Option<&str>) -> AppResult<()> {
    let l = load(state, tenant_id).await?;
    match standing(l.billing.as_ref(), now_secs(), state.cfg.billing.grace_days) {
        Standing::Unrestricted => return Ok(()),
        Standing::Inactive => return Err(AppError::phone(PhoneErrorCode::SubscriptionInactive)),
        Standing::Active | Standing::Grace { .. } => {}
    }
    if let (Some(agent), Some(seated)) = (agent_id, &l.seated) {
        if !seated.contains(agent) {
            return Err(AppError::phone(PhoneErrorCode::SeatsExceeded));
        }
    }
    Ok(())
}

/// Before adding (inviting, creating, provisioning by SSO, enabling) an agent: 409
/// `seats_exceeded` when every paid seat is taken.
pub async fn require_free_seat(state: &AppState, tenant_id: &str) -> AppResult<()> {
    let billing = load_billing(state, tenant_id).await?;
    if let Some(seats) = billing.filter(|b| b.linked).and_then(|b| b.seats) {
        if seated_count(state, tenant_id).await? >= seats {
            return Err(AppError::phone_with_status(PhoneErrorCode::SeatsExceeded, StatusCode::CONFLICT));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(status: Option<&str>, past_due_since: Option<i64>) -> Billing {
        Billing {
            linked: true,
            status: status.map(str::to_string),
            seats: None,
            past_due_since,
            subscription_event_at: 1_000,
            period_end: None,
        }
    }

    #[test]
    fn standing_follows_status_and_grace() {
        let day = 86_400;
        assert_eq!(standing(None, 0, 7), Standing::Unrestricted);
        assert_eq!(standing(Some(&Billing { linked: false, ..b(Some("canceled"), None) }), 0, 7), Standing::Unrestricted);
        assert_eq!(standing(Some(&b(None, None)), 0, 7), Standing::Active, "Checkout completed, subscription not seen yet");
        assert_eq!(standing(Some(&b(Some("trialing"), None)), 0, 7), Standing::Active);
        for s in ["canceled", "unpaid", "incomplete", "incomplete_expired", "paused"] {
            assert_eq!(standing(Some(&b(Some(s), None)), 0, 7), Standing::Inactive, "{s}");
        }
        assert_eq!(standing(Some(&b(Some("active"), Some(2_000))), 2_000 + 7 * day - 1, 7), Standing::Grace { until: 2_000 + 7 * day });
        assert_eq!(standing(Some(&b(Some("active"), Some(2_000))), 2_000 + 7 * day, 7), Standing::Inactive);
        // past_due without a failed-invoice event: grace from the status change.
        assert_eq!(standing(Some(&b(Some("past_due"), None)), 1_000 + day, 7), Standing::Grace { until: 1_000 + 7 * day });
        assert_eq!(standing(Some(&b(Some("past_due"), None)), 1_000 + 8 * day, 7), Standing::Inactive);
        assert_eq!(standing(Some(&b(Some("past_due"), None)), 1_001, 0), Standing::Inactive, "no grace configured");
    }
}
