//! The Stripe API calls we make: a Checkout Session (per-seat subscription) and a
//! customer-portal session, both answered with a URL to send the admin to. Card data
//! never reaches us: the customer types it into Stripe's pages.
//!
//! Requests are what Stripe's official library sends for the same call (checked in
//! `tests/api/billing_reference.rs` by capturing both): `POST` with a form body whose
//! nested keys are written `line_items[0][price]` (brackets unescaped, values escaped
//! like `qs`/RFC 3986), `Authorization: Bearer <secret key>`, a fresh `Idempotency-Key`
//! per call (reused by the one retry after a network error or a 5xx, so a retry can never
//! create a second session), and a pinned `Stripe-Version`.

use crate::crypto::new_id;
use std::time::Duration;

/// The API version our requests and our event parsing assume (the official library's
/// pin at the version we test against).
pub const STRIPE_API_VERSION: &str = "2026-10-28.endive";

/// A Stripe call failed.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// `MPT_STRIPE_SECRET_KEY` (or the seat price) is not configured.
    #[error("Stripe is not configured: {0}")]
    NotConfigured(&'static str),
    /// Stripe could not be reached.
    #[error("Stripe unreachable: {0}")]
    Transport(String),
    /// Stripe answered with an error.
    #[error("Stripe error {status}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Stripe's message.
        message: String,
    },
}

/// A form with Stripe's nested keys, in insertion order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form(pub Vec<(String, String)>);

/// Percent-encodes like `qs` (RFC 3986): only `A-Z a-z 0-9 - . _ ~` stay as they are.
fn encode_component(s: &str, keep_brackets: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            b'[' | b']' if keep_brackets => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Form {
    /// Adds a field (`key` may be nested: `line_items[0][price]`).
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.0.push((key.into(), value.into()));
        self
    }

    /// The `application/x-www-form-urlencoded` body.
    pub fn encode(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{}={}", encode_component(k, true), encode_component(v, false))).collect::<Vec<_>>().join("&")
    }
}

/// What a Checkout Session is created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// The tenant's slug: `client_reference_id` and `metadata.mpt_tenant` (subscription too).
    pub tenant_slug: String,
    /// The per-seat price.
    pub seat_price: String,
    /// Seats to buy.
    pub seats: u32,
    /// The existing customer, when the tenant has one.
    pub customer: Option<String>,
    /// Where Stripe sends the admin after paying.
    pub success_url: String,
    /// Where Stripe sends the admin when they go back.
    pub cancel_url: String,
}

impl CheckoutRequest {
    /// The form Stripe receives.
    pub fn form(&self) -> Form {
        let mut f = Form::default();
        f.push("mode", "subscription")
            .push("line_items[0][price]", &self.seat_price)
            .push("line_items[0][quantity]", self.seats.to_string())
            .push("client_reference_id", &self.tenant_slug);
        if let Some(c) = &self.customer {
            f.push("customer", c);
        }
        f.push("success_url", &self.success_url)
            .push("cancel_url", &self.cancel_url)
            .push("metadata[mpt_tenant]", &self.tenant_slug)
            .push("subscription_data[metadata][mpt_tenant]", &self.tenant_slug);
        f
    }
}

/// The form of a customer-portal session.
pub fn portal_form(customer: &str, return_url: &str) -> Form {
    let mut f = Form::default();
    f.push("customer", customer).push("return_url", return_url);
    f
}

/// A session Stripe created.
#[derive(Debug, Clone, serde::Deserialize, PartialEq, Eq)]
pub struct Session {
    /// `cs_…` / `bps_…`.
    pub id: String,
    /// Where to send the admin.
    pub url: String,
}

/// Sends our Stripe requests.
#[derive(Clone)]
pub struct StripeClient {
    base: String,
    secret_key: String,
    http: reqwest::Client,
}

impl StripeClient {
    /// A client for `base` (`https://api.stripe.com`, or a stand-in) with a secret key.
    pub fn new(base: &str, secret_key: Option<&str>) -> Result<Self, StripeError> {
        let secret_key = secret_key.filter(|k| !k.is_empty()).ok_or(StripeError::NotConfigured("MPT_STRIPE_SECRET_KEY"))?;
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(30)).build().map_err(|e| StripeError::Transport(e.to_string()))?;
        Ok(StripeClient { base: base.trim_end_matches('/').to_string(), secret_key: secret_key.to_string(), http })
    }

    /// `POST {path}` with `form`; one retry (same Idempotency-Key) after a network error or 5xx.
    pub async fn post(&self, path: &str, form: &Form) -> Result<serde_json::Value, StripeError> {
        let key = new_id("mpt-");
        let body = form.encode();
        let mut last = StripeError::Transport("not sent".into());
        for attempt in 0..2 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            let sent = self
                .http
                .post(format!("{}{path}", self.base))
                .bearer_auth(&self.secret_key)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json")
                .header("Idempotency-Key", &key)
                .header("Stripe-Version", STRIPE_API_VERSION)
                .body(body.clone())
                .send()
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    last = StripeError::Transport(e.to_string());
                    continue;
                }
            };
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await.map_err(|e| StripeError::Transport(e.to_string()))?;
            if status >= 500 {
                last = StripeError::Api { status, message: "server error".into() };
                continue;
            }
            let v: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|e| StripeError::Transport(format!("invalid JSON from Stripe: {e}")))?;
            if !(200..300).contains(&status) {
                let message = v.pointer("/error/message").and_then(|m| m.as_str()).unwrap_or("unknown error").to_string();
                return Err(StripeError::Api { status, message });
            }
            return Ok(v);
        }
        Err(last)
    }

    async fn session(&self, path: &str, form: &Form) -> Result<Session, StripeError> {
        let v = self.post(path, form).await?;
        serde_json::from_value(v).map_err(|e| StripeError::Transport(format!("unexpected answer from Stripe: {e}")))
    }

    /// `POST /v1/checkout/sessions`.
    pub async fn create_checkout_session(&self, req: &CheckoutRequest) -> Result<Session, StripeError> {
        self.session("/v1/checkout/sessions", &req.form()).await
    }

    /// `POST /v1/billing_portal/sessions`.
    pub async fn create_portal_session(&self, customer: &str, return_url: &str) -> Result<Session, StripeError> {
        self.session("/v1/billing_portal/sessions", &portal_form(customer, return_url)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_keys_keep_brackets_and_values_are_escaped_like_qs() {
        let req = CheckoutRequest {
            tenant_slug: "acme".into(),
            seat_price: "price_1".into(),
            seats: 3,
            customer: None,
            success_url: "https://a.example/ok?x=1 2".into(),
            cancel_url: "https://a.example/no".into(),
        };
        assert_eq!(
            req.form().encode(),
            "mode=subscription&line_items[0][price]=price_1&line_items[0][quantity]=3&client_reference_id=acme\
             &success_url=https%3A%2F%2Fa.example%2Fok%3Fx%3D1%202&cancel_url=https%3A%2F%2Fa.example%2Fno\
             &metadata[mpt_tenant]=acme&subscription_data[metadata][mpt_tenant]=acme"
        );
    }

    #[test]
    fn needs_a_secret_key() {
        assert!(matches!(StripeClient::new("https://api.stripe.com", None), Err(StripeError::NotConfigured(_))));
    }
}
