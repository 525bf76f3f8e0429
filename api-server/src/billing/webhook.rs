//! Stripe events: parsed from the verified body, stored once by id, and applied to the
//! tenant's `billing` row only when not older than the state they would replace.
//!
//! Three independent parts of the row each remember the `created` time of the newest
//! event applied to them — the link (Checkout), the subscription (status, seats, period
//! end) and the invoice state (grace period) — because Stripe sends events out of order
//! and several times, and e.g. `customer.subscription.created` usually arrives *before*
//! `checkout.session.completed`. Equal times apply (Stripe stamps related events with
//! the same second). The tenant is found from the stored customer or subscription id,
//! else from `client_reference_id` (Checkout) or `metadata.mpt_tenant` (set by our
//! Checkout on the subscription), both the tenant's slug.

use crate::db::now_ms;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use serde_json::Value;
use sqlx::Row;

/// Subscription statuses that end it for good.
const ENDED: [&str; 2] = ["canceled", "incomplete_expired"];

/// What became of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Changed the tenant's billing state.
    Applied,
    /// Older than the state it would replace: stored, changed nothing.
    Stale,
    /// A type we do not handle, or no tenant found: stored, changed nothing.
    Ignored,
    /// Already received (same id): changed nothing.
    Duplicate,
}

impl Outcome {
    /// Stored / reported name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Stale => "stale",
            Outcome::Ignored => "ignored",
            Outcome::Duplicate => "duplicate",
        }
    }
}

/// The fields of an event we use.
#[derive(Debug, Clone)]
pub struct Event {
    /// `evt_…`.
    pub id: String,
    /// e.g. `customer.subscription.updated`.
    pub kind: String,
    /// Unix seconds.
    pub created: i64,
    /// `data.object`.
    pub object: Value,
}

impl Event {
    /// Parses a verified body.
    pub fn parse(body: &[u8]) -> AppResult<Event> {
        let v: Value = serde_json::from_slice(body).map_err(|e| AppError::BadRequest(format!("event is not JSON: {e}")))?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let id = s("id").filter(|i| !i.is_empty()).ok_or_else(|| AppError::BadRequest("event has no id".into()))?;
        let kind = s("type").ok_or_else(|| AppError::BadRequest("event has no type".into()))?;
        let created = v.get("created").and_then(Value::as_i64).ok_or_else(|| AppError::BadRequest("event has no created".into()))?;
        let object = v.pointer("/data/object").cloned().ok_or_else(|| AppError::BadRequest("event has no data.object".into()))?;
        Ok(Event { id, kind, created, object })
    }

    fn str_at(&self, pointer: &str) -> Option<String> {
        // Expanded objects carry their id inside.
        match self.object.pointer(pointer)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_string),
            _ => None,
        }
    }
}

/// The subscription fields of a `customer.subscription.*` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionFields {
    /// `sub_…`.
    pub id: String,
    /// Stripe status.
    pub status: String,
    /// Quantity of the seat price's item (or of the only item).
    pub seats: Option<i64>,
    /// Period end (Unix seconds): the subscription's, or (newer API versions) the item's.
    pub period_end: Option<i64>,
}

/// Reads the subscription fields; `seat_price` picks the item whose quantity is the seat count.
pub fn subscription_fields(obj: &Value, seat_price: Option<&str>) -> Option<SubscriptionFields> {
    let id = obj.get("id")?.as_str()?.to_string();
    let status = obj.get("status")?.as_str()?.to_string();
    let items: Vec<&Value> = obj.pointer("/items/data").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
    let price_of = |it: &Value| {
        it.pointer("/price/id").and_then(Value::as_str).or_else(|| it.pointer("/plan/id").and_then(Value::as_str)).map(str::to_string)
    };
    let seat_item = match seat_price {
        Some(p) => items.iter().find(|it| price_of(it).as_deref() == Some(p)).copied(),
        None => None,
    }
    .or(if items.len() == 1 { items.first().copied() } else { None });
    let seats = seat_item.and_then(|it| it.get("quantity")).and_then(Value::as_i64);
    let period_end = obj
        .get("current_period_end")
        .and_then(Value::as_i64)
        .or_else(|| seat_item.and_then(|it| it.get("current_period_end")).and_then(Value::as_i64));
    Some(SubscriptionFields { id, status, seats, period_end })
}

async fn tenant_by(tx: &mut sqlx::Transaction<'_, sqlx::Any>, col: &str, value: &str) -> AppResult<Option<String>> {
    let sql = format!("SELECT tenant_id FROM billing WHERE {col} = $1");
    let row = sqlx::query(&sql).bind(value).fetch_optional(&mut **tx).await?;
    Ok(match row {
        Some(r) => Some(r.try_get("tenant_id")?),
        None => None,
    })
}

async fn tenant_by_slug(tx: &mut sqlx::Transaction<'_, sqlx::Any>, slug: &str) -> AppResult<Option<String>> {
    let row = sqlx::query("SELECT id FROM tenants WHERE slug = $1").bind(slug).fetch_optional(&mut **tx).await?;
    Ok(match row {
        Some(r) => Some(r.try_get("id")?),
        None => None,
    })
}

async fn ensure_row(tx: &mut sqlx::Transaction<'_, sqlx::Any>, tenant_id: &str) -> AppResult<()> {
    sqlx::query("INSERT INTO billing (tenant_id, updated_at) VALUES ($1, $2) ON CONFLICT (tenant_id) DO NOTHING")
        .bind(tenant_id)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The result of [`receive`]: what happened, to which tenant (also for a duplicate),
/// and the subscription status it set.
#[derive(Debug, Clone)]
pub struct Received {
    /// Outcome.
    pub outcome: Outcome,
    /// The tenant, when found.
    pub tenant_id: Option<String>,
    /// The status a subscription event applied.
    pub status: Option<String>,
}

/// Stores the event once and applies it, in one transaction.
pub async fn receive(state: &AppState, ev: &Event) -> AppResult<Received> {
    let mut tx = state.db.pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO stripe_events (id, type, created, outcome, received_at) VALUES ($1, $2, $3, 'received', $4) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&ev.id)
    .bind(&ev.kind)
    .bind(ev.created)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        tx.rollback().await?;
        // Which tenant it was for, so the caller can retry what follows an event (the
        // Twilio suspension) when Stripe redelivers after a failure.
        let row = sqlx::query("SELECT tenant_id FROM stripe_events WHERE id = $1").bind(&ev.id).fetch_optional(&state.db.pool).await?;
        let tenant_id = match row {
            Some(r) => r.try_get::<Option<String>, _>("tenant_id")?,
            None => None,
        };
        return Ok(Received { outcome: Outcome::Duplicate, tenant_id, status: None });
    }
    let (outcome, tenant_id, status) = apply(state, &mut tx, ev).await?;
    sqlx::query("UPDATE stripe_events SET outcome = $1, tenant_id = $2 WHERE id = $3")
        .bind(outcome.as_str())
        .bind(&tenant_id)
        .bind(&ev.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if outcome == Outcome::Applied {
        state.entitlements.invalidate();
    }
    Ok(Received { outcome, tenant_id, status })
}

async fn apply(
    state: &AppState,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ev: &Event,
) -> AppResult<(Outcome, Option<String>, Option<String>)> {
    let now = now_ms();
    let done = |n: u64| if n == 1 { Outcome::Applied } else { Outcome::Stale };
    match ev.kind.as_str() {
        "checkout.session.completed" => {
            let Some(slug) = ev.str_at("/client_reference_id") else { return Ok((Outcome::Ignored, None, None)) };
            let Some(tenant) = tenant_by_slug(tx, &slug).await? else { return Ok((Outcome::Ignored, None, None)) };
            let customer = ev.str_at("/customer");
            let subscription = ev.str_at("/subscription");
            if customer.is_none() {
                return Ok((Outcome::Ignored, Some(tenant), None));
            }
            ensure_row(tx, &tenant).await?;
            let n = sqlx::query(
                "UPDATE billing SET stripe_customer_id = $1, stripe_subscription_id = COALESCE($2, stripe_subscription_id), \
                 link_event_at = $3, updated_at = $4 WHERE tenant_id = $5 AND link_event_at <= $3",
            )
            .bind(&customer)
            .bind(&subscription)
            .bind(ev.created)
            .bind(now)
            .bind(&tenant)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            Ok((done(n), Some(tenant), None))
        }
        "customer.subscription.created" | "customer.subscription.updated" | "customer.subscription.deleted" => {
            let Some(sub) = subscription_fields(&ev.object, state.cfg.billing.stripe_seat_price.as_deref()) else {
                return Err(AppError::BadRequest("subscription event without id or status".into()));
            };
            let customer = ev.str_at("/customer");
            let mut tenant = tenant_by(tx, "stripe_subscription_id", &sub.id).await?;
            if tenant.is_none() {
                if let Some(c) = &customer {
                    tenant = tenant_by(tx, "stripe_customer_id", c).await?;
                }
            }
            if tenant.is_none() {
                if let Some(slug) = ev.str_at("/metadata/mpt_tenant") {
                    tenant = tenant_by_slug(tx, &slug).await?;
                }
            }
            let Some(tenant) = tenant else { return Ok((Outcome::Ignored, None, None)) };
            // The end of an older subscription does not end the one the tenant has now
            // (a customer who bought again before the old one was closed).
            let current = sqlx::query("SELECT stripe_subscription_id FROM billing WHERE tenant_id = $1")
                .bind(&tenant)
                .fetch_optional(&mut **tx)
                .await?;
            let current: Option<String> = match current {
                Some(r) => r.try_get("stripe_subscription_id")?,
                None => None,
            };
            if current.as_deref().is_some_and(|c| c != sub.id) && ENDED.contains(&sub.status.as_str()) {
                return Ok((Outcome::Ignored, Some(tenant), None));
            }
            ensure_row(tx, &tenant).await?;
            let n = sqlx::query(
                "UPDATE billing SET stripe_subscription_id = $1, stripe_customer_id = COALESCE(stripe_customer_id, $2), status = $3, \
                 seats = $4, period_end = $5, subscription_event_at = $6, updated_at = $7 \
                 WHERE tenant_id = $8 AND subscription_event_at <= $6",
            )
            .bind(&sub.id)
            .bind(&customer)
            .bind(&sub.status)
            .bind(sub.seats)
            .bind(sub.period_end)
            .bind(ev.created)
            .bind(now)
            .bind(&tenant)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            let outcome = done(n);
            Ok((outcome, Some(tenant), (outcome == Outcome::Applied).then_some(sub.status)))
        }
        "invoice.payment_failed" | "invoice.paid" => {
            let mut tenant = match ev.str_at("/customer") {
                Some(c) => tenant_by(tx, "stripe_customer_id", &c).await?,
                None => None,
            };
            if tenant.is_none() {
                let slug = ev
                    .str_at("/parent/subscription_details/metadata/mpt_tenant")
                    .or_else(|| ev.str_at("/subscription_details/metadata/mpt_tenant"));
                if let Some(slug) = slug {
                    tenant = tenant_by_slug(tx, &slug).await?;
                }
            }
            let Some(tenant) = tenant else { return Ok((Outcome::Ignored, None, None)) };
            ensure_row(tx, &tenant).await?;
            // A failure starts the grace period (a later failure keeps the first start);
            // a payment ends it.
            let sql = if ev.kind == "invoice.payment_failed" {
                "UPDATE billing SET past_due_since = COALESCE(past_due_since, $1), invoice_event_at = $1, updated_at = $2 \
                 WHERE tenant_id = $3 AND invoice_event_at <= $1"
            } else {
                "UPDATE billing SET past_due_since = NULL, invoice_event_at = $1, updated_at = $2 \
                 WHERE tenant_id = $3 AND invoice_event_at <= $1"
            };
            let n = sqlx::query(sql).bind(ev.created).bind(now).bind(&tenant).execute(&mut **tx).await?.rows_affected();
            Ok((done(n), Some(tenant), None))
        }
        _ => Ok((Outcome::Ignored, None, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seats_come_from_the_seat_price_item_or_the_only_item() {
        let two = json!({"id": "sub_1", "status": "active", "items": {"data": [
            {"price": {"id": "price_addon"}, "quantity": 1, "current_period_end": 10},
            {"price": {"id": "price_seat"}, "quantity": 7, "current_period_end": 20}
        ]}});
        let f = subscription_fields(&two, Some("price_seat")).expect("fields");
        assert_eq!((f.seats, f.period_end), (Some(7), Some(20)));
        assert_eq!(subscription_fields(&two, None).expect("fields").seats, None, "two items, no seat price: no limit");
        let one = json!({"id": "sub_1", "status": "past_due", "current_period_end": 99, "items": {"data": [{"plan": {"id": "p"}, "quantity": 3}]}});
        let f = subscription_fields(&one, Some("price_seat")).expect("fields");
        assert_eq!((f.status.as_str(), f.seats, f.period_end), ("past_due", Some(3), Some(99)));
        assert!(subscription_fields(&json!({"id": "sub_1"}), None).is_none());
    }

    #[test]
    fn parses_events_and_refuses_incomplete_ones() {
        let e = Event::parse(br#"{"id":"evt_1","type":"invoice.paid","created":5,"data":{"object":{"customer":{"id":"cus_1"}}}}"#)
            .expect("event");
        assert_eq!(e.str_at("/customer").as_deref(), Some("cus_1"));
        assert!(Event::parse(br#"{"type":"invoice.paid","created":5,"data":{"object":{}}}"#).is_err());
        assert!(Event::parse(b"not json").is_err());
    }
}
