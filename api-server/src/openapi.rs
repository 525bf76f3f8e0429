//! The OpenAPI 3.1 document served at `/api/openapi.json`.

use serde_json::{json, Value};

fn op(summary: &str, auth: bool) -> Value {
    let mut v = json!({ "summary": summary, "responses": { "200": { "description": "OK" }, "default": { "$ref": "#/components/responses/Error" } } });
    if auth {
        v["security"] = json!([{ "bearer": [] }]);
    }
    v
}

fn twilio(summary: &str) -> Value {
    json!({
        "summary": summary,
        "description": "Twilio webhook (form-encoded). Requires a valid X-Twilio-Signature; otherwise 403 and nothing is written.",
        "parameters": [{ "name": "X-Twilio-Signature", "in": "header", "required": true, "schema": { "type": "string" } }],
        "responses": { "200": { "description": "TwiML or empty" }, "403": { "description": "Bad or missing signature" } }
    })
}

/// An admin billing operation: its refusals are documented codes.
fn billing_op(summary: &str) -> Value {
    let mut v = op(summary, true);
    v["responses"]["402"] = json!({ "description": "subscription_inactive or seats_exceeded (docs/errors.md)" });
    v["responses"]["409"] = json!({ "description": "conflict (not configured, no customer yet, already provisioned)" });
    v["responses"]["503"] = json!({ "description": "unavailable: Stripe or Twilio unreachable" });
    v
}

/// The document.
pub fn document() -> Value {
    let mut doc = base_document();
    if let (Some(paths), Value::Object(more)) = (doc["paths"].as_object_mut(), billing_paths()) {
        paths.extend(more);
    }
    if let (Some(paths), Value::Object(more)) = (doc["paths"].as_object_mut(), embed_paths()) {
        paths.extend(more);
    }
    doc
}

/// The embeddable widget (`docs/embed.md`).
fn embed_paths() -> Value {
    json!({
        "/api/admin/widget-keys": {
            "get": op("List publishable widget keys (admin): {id, name, prefix, created_at, last_used_at, revoked_at}; never the key", true),
            "post": op("Create a publishable widget key (admin, audited); body {name}; 201 {id, key} (shown once, stored hashed)", true)
        },
        "/api/admin/widget-keys/{id}": { "delete": op("Revoke a widget key (admin, audited): its page stops loading and every embed session through it ends at once", true) },
        "/api/embed/tokens": { "post": op("Mint an embed token: a tenant API key for {agent_email | agent_id, contact_id?, ttl_s ≤ 900}, or a signed-in agent for itself ({}); 201 {token, expires_at, id}; no refresh token. Use with the MPT-Widget-Key header.", true) },
        "/api/embed/tokens/{id}": { "delete": op("Revoke an embed token (admin, tenant API key, or its agent; audited): 401 and socket close 4401 at once", true) },
        "/api/embed/sso": { "post": op("Exchange a CRM SSO JWT for an embed token; body {key, assertion, ttl_s?}; the key names the tenant whose SSO settings verify the JWT", false) },
        "/api/embed/widget": { "get": op("The web component's start-up check: ?key=pk_… → {tenant_name, sandbox, allowed_origins}; 403 not_allowed from an origin the tenant does not allow", false) },
        "/widget": { "get": {
            "summary": "The iframe widget page (?key=pk_…&contact=…): Content-Security-Policy frame-ancestors = the tenant's allowed origins; no agent credential in the URL",
            "responses": { "200": { "description": "HTML" }, "404": { "description": "Unknown or revoked key (not framable)" } }
        } },
        "/phone/v1/{file}": { "get": {
            "summary": "The widget's built files (widget.js, wasm, frame.js): immutable cache, CORS *, SRI hash of widget.js in /api/config",
            "responses": { "200": { "description": "JavaScript, wasm or CSS" }, "404": { "description": "Not built on this server" } }
        } }
    })
}

/// Billing and provisioning (`docs/billing.md`).
fn billing_paths() -> Value {
    json!({
            "/api/admin/billing": { "get": op("Billing status (admin): standing unrestricted|active|grace|inactive, Stripe status, seats, agents, period end, grace end", true) },
            "/api/admin/billing/checkout": { "post": billing_op("Create a Stripe Checkout Session for a per-seat subscription (admin, audited); body {seats, success_url, cancel_url}; answers {id, url}. Card data is entered at Stripe only.") },
            "/api/admin/billing/portal": { "post": billing_op("Create a Stripe customer-portal session (admin, audited); body {return_url}; answers {id, url}; 409 before the tenant has a Stripe customer") },
            "/api/admin/twilio/provision": { "post": billing_op("Provision the tenant's own Twilio subaccount, API key, TwiML App and number with the main account's credentials (admin, audited); body {number_sid?, country?, area_code?}; 201 {account_sid, api_key_sid, twiml_app_sid, phone_number, phone_number_sid}; 409 when already provisioned") },
            "/stripe/webhook": { "post": {
                "summary": "Stripe events (checkout.session.completed, customer.subscription.created|updated|deleted, invoice.payment_failed, invoice.paid)",
                "description": "Requires a valid Stripe-Signature (HMAC-SHA256 with MPT_STRIPE_WEBHOOK_SECRET, 300 s tolerance); otherwise 400 and nothing is written. Each event is stored once by id and applied only if not older than the state it would replace. Answers {received: true, outcome: applied|stale|ignored|duplicate}.",
                "parameters": [{ "name": "Stripe-Signature", "in": "header", "required": true, "schema": { "type": "string" } }],
                "responses": { "200": { "description": "Received" }, "400": { "$ref": "#/components/responses/Error" } }
            } }
    })
}

fn base_document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": { "title": "MPT Phone api-server", "version": env!("CARGO_PKG_VERSION") },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "Access JWT from /api/auth/login, or an API key mpt_…" } },
            "responses": { "Error": { "description": "Error", "content": { "application/json": { "schema": {
                "type": "object", "required": ["error"],
                "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": { "code": { "type": "string" }, "message": { "type": "string" } } } }
            } } } } }
        },
        "paths": {
            "/healthz": { "get": op("Liveness", false) },
            "/readyz": { "get": op("Readiness (database reachable)", false) },
            "/metrics": { "get": op("Prometheus metrics: the MPT_METRICS_TOKEN bearer token, or (without one) loopback clients only; anyone else gets 404", false) },
            "/api/openapi.json": { "get": op("This document", false) },
            "/api/auth/login": { "post": op("Sign in with email (≤ 254 bytes) and password (≤ 1 KiB); 10 a minute per client address and per address+email (behind MPT_TRUSTED_PROXIES, the client X-Forwarded-For names), and per account an exponential backoff after 5 failures (429 with Retry-After); disabled agents get 401", false) },
            "/api/auth/refresh": { "post": op("Rotate a refresh token. A second refresh of the same token within 10 s gets the same successor; later reuse revokes the family. A family ends MPT_SESSION_MAX_DAYS after its sign-in", false) },
            "/api/auth/logout": { "post": op("Revoke a refresh token's family: its access tokens get 401 and its sockets close with 4401", false) },
            "/api/auth/sso": { "post": op("Exchange a CRM-signed JWT (HS256/RS256) for a session", false) },
            "/api/app/session/login": { "post": op("The web app's sign-in (same checks as /api/auth/login), from the server's own origin only: the refresh token is set as an HttpOnly, SameSite=Strict cookie scoped to /api/app/session (Secure on https), never in the body (refresh_token is empty)", false) },
            "/api/app/session/sso": { "post": op("The web app's SSO sign-in: body {tenant, assertion} (the CRM's JWT), answered like /api/app/session/login", false) },
            "/api/app/session/refresh": { "post": op("Rotate the web app's cookie session (own origin only): a new access token and cookie; 204 without a cookie (nothing to restore); a refused cookie is deleted (401)", false) },
            "/api/app/session/logout": { "post": op("End the web app's cookie session (its refresh family) and delete the cookie (own origin only)", false) },
            "/api/app/sso": { "get": op("?tenant=<slug>: the organisation's SSO sign-in page {login_url} for the web app's \"Sign in with SSO\"; 403 not_allowed when there is none (or no such organisation)", false) },
            "/api/me": { "get": op("The signed-in agent", true) },
            "/api/me/presence": { "put": op("Set availability for inbound calls (merged and throttled per agent: at most one change a second is published, the last one always lands)", true) },
            "/api/config": { "get": op("Tenant configuration for the client (sandbox mode, caller IDs)", true) },
            "/api/twilio/token": { "post": op("Mint a Twilio Voice access token (rate limited; 402 subscription_inactive / seats_exceeded when billing refuses, docs/errors.md)", true) },
            "/api/calls": { "get": op("List call logs (filters: direction, agent_id, status, number, contact_id, since, until; cursor pagination). Agents see their own calls and inbound calls nobody answered; supervisors and admins see all", true) },
            "/api/agents": { "get": op("The tenant's agents [{id, name, disabled}] for the call history's agent filter (supervisors and admins)", true) },
            "/api/calls/export.csv": { "get": op("Export call logs as CSV, streamed (same filters; supervisors and admins only, 6 a minute, audited)", true) },
            "/api/calls/{id}": {
                "get": op("Get a call log", true),
                "patch": op("Set notes and/or disposition", true),
                "put": op("Idempotent upsert of a log written by the extension (client-generated id)", true)
            },
            "/api/contacts/lookup": { "get": op("Contacts with a number (local + CRM connector)", true) },
            "/api/contacts/search": { "get": op("Search contacts (local + CRM connector)", true) },
            "/api/contacts": { "post": op("Add a local contact (admin)", true) },
            "/api/events/ticket": { "post": op("Mint a single-use ticket for the event socket: {ticket, expires_in: 30} (agent sessions and agent API keys; 402 when billing refuses)", true) },
            "/api/events": { "get": op("WebSocket of live events (?ticket=…&last_event_id=N); hello.resync is true when N is older than the events kept (MPT_EVENTS_RETENTION_HOURS). Closes with 4401 when the session ends or is revoked (sign out, do not reconnect), 1012 on server restart (reconnect with backoff and jitter); client messages over 4 KiB end the socket", false) },
            "/api/sandbox/calls": { "post": op("Sandbox: place an outbound call through the stand-in", true) },
            "/api/sandbox/calls/{sid}/hangup": { "post": op("Sandbox: hang up a call", true) },
            "/api/sandbox/calls/{sid}/answer": { "post": op("Sandbox: answer a ringing inbound call", true) },
            "/api/sandbox/calls/{sid}/reject": { "post": op("Sandbox: reject a ringing inbound call", true) },
            "/api/sandbox/inbound": { "post": op("Sandbox: place an inbound call to a tenant number", true) },
            "/api/voicemails": { "get": op("The voicemail inbox (?limit=1-200): inbound calls with a recording in the caller's scope, newest first, {items: [{id, from, to, contact_id, contact_name, started_at, duration_seconds, heard_at}]}; never a Twilio URL", true) },
            "/api/voicemails/{id}/heard": { "put": op("Mark a voicemail heard or new again: body {heard}; answers {heard_at}", true) },
            "/api/calls/{id}/recording": { "get": op("A call's recording audio, fetched by the server with the tenant's Twilio credentials (sandbox: a rendered WAV, MPT-Sandbox-Recording: 1); private, no-store", true) },
            "/api/admin/agents": { "get": op("List agents with their disabled flag and whether inbound calls ring them now (available) (admin)", true), "post": op("Create an agent (admin, audited); role agent|supervisor|admin", true) },
            "/api/admin/agents/{id}/disable": { "post": op("Disable an agent (admin, audited): sessions, tickets and sockets end at once; its seat is freed", true) },
            "/api/admin/agents/{id}/role": { "put": op("Change an agent's role {role: agent|supervisor|admin} (admin, audited; not your own): their sessions end so it applies at once", true) },
            "/api/admin/agents/{id}/enable": { "post": op("Enable a disabled agent (admin, audited); 409 seats_exceeded when every paid seat is taken", true) },
            "/api/admin/api-keys": { "get": op("List API keys without their secrets (admin)", true), "post": op("Create an API key (admin, audited): body {name, role?, agent_id?}; an agent key acts for its agent, a key without an agent defaults to supervisor; answers {id, key} once", true) },
            "/api/admin/api-keys/{id}": { "delete": op("Revoke an API key (admin, audited): 401 at once, its sockets close with 4401", true) },
            "/api/admin/connectors/test": { "post": op("Look a number up in every connector now, without the cache: [{name, ok, contacts, error}] (admin, audited)", true) },
            "/api/admin/connectors": { "get": op("The CRM connectors: [{name, lookup_url, search_url, auth_header_name}], never the header's value (admin)", true), "put": op("Set the CRM connectors (admin, audited): http(s) only, no loopback/private/link-local hosts unless allowlisted, no routing or cookie headers; redirects are never followed, answers over 1 MiB are dropped", true) },
            "/api/admin/dispositions": { "put": op("Set the dispositions agents choose from after a call (admin, audited): at most 50 distinct, 1-64 bytes each; [] restores the defaults. Served in /api/config", true) },
            "/api/admin/connector-hosts": { "put": op("Hosts (host or host:port) the connectors may reach on private addresses (admin, audited)", true) },
            "/api/admin/allowed-origins": { "get": op("The tenant's allowed origins (admin)", true), "put": op("Origins the tenant trusts as its CRMs: page API and tel: links without confirmation (admin, audited)", true) },
            "/api/admin/twilio": { "get": op("The tenant's Twilio settings without secrets: {sandbox, account_sid, auth_token_set, api_key_sid, api_key_secret_set, twiml_app_sid, caller_ids, allowed_countries} (admin)", true), "put": op("Set Twilio credentials {account_sid, auth_token, api_key_sid, api_key_secret, twiml_app_sid} (admin, audited without secrets): stored encrypted; the tenant leaves sandbox mode", true) },
            "/api/admin/twilio/verify": { "post": op("Ask Twilio whether the stored credentials work: {ok, account_status, friendly_name, numbers, caller_ids_not_owned}; 400 when Twilio refuses them, 409 for a sandbox tenant (admin, audited)", true) },
            "/api/admin/caller-ids": { "put": op("Set the caller IDs (1-20 numbers, normalised to E.164; the first is the default) (admin, audited)", true) },
            "/api/admin/allowed-countries": { "put": op("Set the countries agents may call (1-250 ISO alpha-2 codes; the first is the default region) (admin, audited)", true) },
            "/api/admin/sso": { "get": op("SSO settings without their secret: {organisation (the slug agents give for SSO), configured, issuer, audience, algorithm, login_url, provision} (admin)", true), "put": op("Set SSO settings {sso: {issuer, audience, hs256_secret | rs256_public_pem, login_url?} | null, provision}; login_url must be https:// (http:// on loopback) (admin, audited)", true) },
            "/api/admin/audit": { "get": op("Read the audit log (admin)", true) },
            "/twilio/voice": { "post": twilio("Voice URL: outbound browser calls and inbound calls") },
            "/twilio/voice/after-dial": { "post": twilio("Dial action: voicemail when no agent answered") },
            "/twilio/status": { "post": twilio("Status callbacks") },
            "/twilio/recording": { "post": twilio("Recording status callbacks") }
        }
    })
}
