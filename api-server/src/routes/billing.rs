//! Billing and provisioning: the Stripe webhook, the admin's billing status, Checkout
//! and portal sessions, and Twilio provisioning of the admin's own tenant.

use crate::auth::Auth;
use crate::billing::entitlements::{load_billing, seated_count, standing, Standing};
use crate::billing::{stripe_signature, webhook};
use crate::error::{AppError, AppJson, AppResult};
use crate::provision::{NumberChoice, Provisioned};
use crate::routes::audit;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/stripe/webhook", post(stripe_webhook))
        .route("/api/admin/billing", get(status))
        .route("/api/admin/billing/checkout", post(checkout))
        .route("/api/admin/billing/portal", post(portal))
        .route("/api/admin/twilio/provision", post(provision))
}

#[derive(Serialize)]
struct WebhookAnswer {
    received: bool,
    outcome: &'static str,
}

/// Stripe's events. The signature is checked before anything is read or written: a
/// bad, stale or missing one is a 400 that changes nothing.
async fn stripe_webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> AppResult<AppJson<WebhookAnswer>> {
    let Some(secret) = state.cfg.billing.stripe_webhook_secret.as_deref() else {
        return Err(AppError::BadRequest("Stripe webhooks are not configured on this server".into()));
    };
    let header = headers.get("stripe-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    if let Err(e) = stripe_signature::verify(secret, header, &body, crate::db::now_ms() / 1000) {
        tracing::warn!(error = %e, "Stripe webhook refused");
        return Err(AppError::BadRequest(format!("invalid Stripe-Signature: {e}")));
    }
    let ev = webhook::Event::parse(&body)?;
    let r = webhook::receive(&state, &ev).await?;
    tracing::info!(event = %ev.id, kind = %ev.kind, outcome = r.outcome.as_str(), "Stripe event");
    if let Some(tenant) = &r.tenant_id {
        // Stored either way; a failure here (Twilio unreachable) asks Stripe to redeliver.
        if crate::provision::follow_subscription(&state, tenant).await.is_err() {
            return Err(AppError::phone(mpt_core::PhoneErrorCode::Unavailable));
        }
    }
    Ok(AppJson(WebhookAnswer { received: true, outcome: r.outcome.as_str() }))
}

#[derive(Serialize)]
struct BillingStatus {
    /// `unrestricted` (no Stripe link), `active`, `grace`, `inactive`.
    standing: &'static str,
    linked: bool,
    status: Option<String>,
    seats: Option<i64>,
    agents: i64,
    period_end: Option<i64>,
    grace_until: Option<i64>,
}

async fn status(State(state): State<AppState>, auth: Auth) -> AppResult<AppJson<BillingStatus>> {
    auth.require_admin()?;
    let b = load_billing(&state, &auth.tenant_id).await?;
    let s = standing(b.as_ref(), crate::db::now_ms() / 1000, state.cfg.billing.grace_days);
    Ok(AppJson(BillingStatus {
        standing: s.as_str(),
        linked: b.as_ref().is_some_and(|b| b.linked),
        status: b.as_ref().and_then(|b| b.status.clone()),
        seats: b.as_ref().and_then(|b| b.seats),
        agents: seated_count(&state, &auth.tenant_id).await?,
        period_end: b.as_ref().and_then(|b| b.period_end),
        grace_until: match s {
            Standing::Grace { until } => Some(until),
            _ => None,
        },
    }))
}

fn http_url(what: &str, u: &str) -> AppResult<()> {
    if (u.starts_with("https://") || u.starts_with("http://")) && u.len() <= 2000 {
        Ok(())
    } else {
        Err(AppError::BadRequest(format!("{what} must be an http(s) URL")))
    }
}

#[derive(Deserialize)]
struct CheckoutBody {
    seats: u32,
    success_url: String,
    cancel_url: String,
}

#[derive(Serialize)]
struct SessionUrl {
    id: String,
    url: String,
}

async fn checkout(State(state): State<AppState>, auth: Auth, AppJson(b): AppJson<CheckoutBody>) -> AppResult<AppJson<SessionUrl>> {
    auth.require_admin()?;
    http_url("success_url", &b.success_url)?;
    http_url("cancel_url", &b.cancel_url)?;
    let s = crate::billing::checkout(&state, &auth.tenant_id, b.seats, &b.success_url, &b.cancel_url).await?;
    audit(&state, &auth, "billing.checkout", Some(&s.id), Some(&b.seats.to_string())).await?;
    Ok(AppJson(SessionUrl { id: s.id, url: s.url }))
}

#[derive(Deserialize)]
struct PortalBody {
    return_url: String,
}

async fn portal(State(state): State<AppState>, auth: Auth, AppJson(b): AppJson<PortalBody>) -> AppResult<AppJson<SessionUrl>> {
    auth.require_admin()?;
    http_url("return_url", &b.return_url)?;
    let s = crate::billing::portal(&state, &auth.tenant_id, &b.return_url).await?;
    audit(&state, &auth, "billing.portal", Some(&s.id), None).await?;
    Ok(AppJson(SessionUrl { id: s.id, url: s.url }))
}

async fn provision(
    State(state): State<AppState>,
    auth: Auth,
    AppJson(n): AppJson<NumberChoice>,
) -> AppResult<(StatusCode, AppJson<Provisioned>)> {
    auth.require_admin()?;
    let p = crate::provision::provision_tenant(&state, &auth.tenant_id, &n).await?;
    audit(&state, &auth, "twilio.provision", Some(&p.account_sid), Some(&p.phone_number)).await?;
    Ok((StatusCode::CREATED, AppJson(p)))
}
