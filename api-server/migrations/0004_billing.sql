-- Billing (issue 16): a tenant's Stripe link and subscription state, the Stripe events
-- received (each stored once by id), and the Twilio subaccount a tenant was provisioned with.
-- A tenant without a `billing` row (or without a Stripe link in it) is unrestricted.

CREATE TABLE billing (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    stripe_customer_id TEXT,
    stripe_subscription_id TEXT,
    -- Stripe's subscription status (active, trialing, past_due, canceled, unpaid, ...);
    -- NULL until the first subscription event (a completed Checkout counts as paid).
    status TEXT,
    -- Paid seats (quantity of the seat price's item); NULL = no seat limit.
    seats BIGINT,
    -- Current period end (Unix seconds).
    period_end BIGINT,
    -- Grace period start (Unix seconds) set by invoice.payment_failed, cleared by invoice.paid.
    past_due_since BIGINT,
    -- `created` (Unix seconds) of the newest event applied to the link (Checkout), to the
    -- subscription fields and to the invoice (grace) fields: older events change nothing.
    link_event_at BIGINT NOT NULL DEFAULT 0,
    subscription_event_at BIGINT NOT NULL DEFAULT 0,
    invoice_event_at BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX billing_customer ON billing (stripe_customer_id);
CREATE INDEX billing_subscription ON billing (stripe_subscription_id);

CREATE TABLE stripe_events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    created BIGINT NOT NULL,
    tenant_id TEXT,
    -- applied | stale (older than the stored state) | ignored (type or tenant unknown)
    outcome TEXT NOT NULL,
    received_at BIGINT NOT NULL
);

CREATE TABLE twilio_subaccounts (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    account_sid TEXT NOT NULL UNIQUE,
    -- active | suspended (Twilio's account status as we last set it)
    status TEXT NOT NULL,
    -- Why it is suspended: admin (tenant suspend) or billing (cancelled subscription).
    suspended_by TEXT,
    phone_number_sid TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
