//! Billing: Stripe subscriptions and seats decide who may call (`docs/billing.md`).
//!
//! - [`stripe_signature`]: verifies `Stripe-Signature` on `POST /stripe/webhook`.
//! - [`webhook`]: stores each event once by id and applies it unless it is older than
//!   the state it would replace.
//! - [`entitlements`]: [`entitlements::require_active`], the one check behind every
//!   token mint, event ticket and call (402 `subscription_inactive` / `seats_exceeded`).
//! - [`stripe_client`]: Checkout and customer-portal sessions (card data stays at Stripe).
//!
//! Twilio subaccount provisioning, which a cancelled subscription suspends, is in
//! [`crate::provision`].

pub mod entitlements;
pub mod stripe_client;
pub mod stripe_signature;
pub mod webhook;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use mpt_core::PhoneErrorCode;
use stripe_client::{CheckoutRequest, Session, StripeClient, StripeError};

/// Turns a Stripe failure into a response: unreachable → 503 `unavailable`; our own
/// misconfiguration or Stripe refusing our request → logged, 500.
pub fn stripe_error(e: StripeError) -> AppError {
    match e {
        StripeError::Transport(m) => {
            tracing::warn!(error = %m, "Stripe unreachable");
            AppError::phone(PhoneErrorCode::Unavailable)
        }
        StripeError::NotConfigured(what) => AppError::Conflict(format!("billing is not configured on this server ({what})")),
        e @ StripeError::Api { .. } => AppError::internal(e),
    }
}

fn client(state: &AppState) -> AppResult<StripeClient> {
    StripeClient::new(&state.cfg.billing.stripe_api_base, state.cfg.billing.stripe_secret_key.as_deref()).map_err(stripe_error)
}

/// The tenant's Stripe customer, if linked.
pub async fn customer_of(state: &AppState, tenant_id: &str) -> AppResult<Option<String>> {
    let row =
        sqlx::query("SELECT stripe_customer_id FROM billing WHERE tenant_id = $1").bind(tenant_id).fetch_optional(&state.db.pool).await?;
    Ok(match row {
        Some(r) => sqlx::Row::try_get::<Option<String>, _>(&r, "stripe_customer_id")?,
        None => None,
    })
}

/// Creates a Checkout Session selling `seats` seats to the tenant.
pub async fn checkout(state: &AppState, tenant_id: &str, seats: u32, success_url: &str, cancel_url: &str) -> AppResult<Session> {
    if seats == 0 || seats > 10_000 {
        return Err(AppError::BadRequest("seats must be between 1 and 10000".into()));
    }
    let price =
        state.cfg.billing.stripe_seat_price.clone().ok_or_else(|| stripe_error(StripeError::NotConfigured("MPT_STRIPE_SEAT_PRICE")))?;
    let tenant = crate::tenant::by_id(state, tenant_id).await?;
    let req = CheckoutRequest {
        tenant_slug: tenant.slug.clone(),
        seat_price: price,
        seats,
        customer: customer_of(state, tenant_id).await?,
        success_url: success_url.to_string(),
        cancel_url: cancel_url.to_string(),
    };
    client(state)?.create_checkout_session(&req).await.map_err(stripe_error)
}

/// Creates a customer-portal session (409 when the tenant has no Stripe customer yet).
pub async fn portal(state: &AppState, tenant_id: &str, return_url: &str) -> AppResult<Session> {
    let customer = customer_of(state, tenant_id)
        .await?
        .ok_or_else(|| AppError::Conflict("this tenant has no Stripe customer yet: start with a Checkout".into()))?;
    client(state)?.create_portal_session(&customer, return_url).await.map_err(stripe_error)
}
