//! Billing (issue 16): Stripe events signed the way Stripe's official library signs them
//! (`tests/reference/stripe_ref.mjs` drives npm `stripe`), entitlements on token mints
//! and calls, seats, grace, and Twilio provisioning against the REST stand-in. Each test
//! runs on SQLite and, when `MPT_TEST_DATABASE_URL` is set, PostgreSQL.
//!
//! Never skips: without `node_modules/stripe` the tests fail and say how to install it.

use crate::helpers::{announce, parse, spawn_app_with, TestApp};
use mpt_api_server::Config;
use mpt_core::api::TwilioTokenResponse;
use mpt_core::PhoneErrorCode;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

pub const WEBHOOK_SECRET: &str = "whsec_test_mpt16_0123456789abcdef";
pub const SEAT_PRICE: &str = "price_seat_test";

/// Billing settings every test here uses (Stripe and Twilio bases are set per test).
pub fn billing_config(cfg: &mut Config) {
    cfg.billing.stripe_webhook_secret = Some(WEBHOOK_SECRET.into());
    cfg.billing.stripe_seat_price = Some(SEAT_PRICE.into());
    cfg.billing.grace_days = 7;
}

/// Runs a test body on both backends with an adjusted configuration.
#[macro_export]
macro_rules! both_backends_with {
    ($configure:path; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    $crate::billing::run(false, stringify!($name), $configure, |app| Box::pin(super::$name(app))).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    $crate::billing::run(true, stringify!($name), $configure, |app| Box::pin(super::$name(app))).await;
                }
            }
        )*
    };
}

pub async fn run<F>(postgres: bool, name: &str, configure: fn(&mut Config), body: F)
where
    F: for<'a> FnOnce(&'a TestApp) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>,
{
    match spawn_app_with(postgres, configure).await {
        Some(app) => {
            body(&app).await;
            announce(&format!("backend {}: ran {name}", app.backend));
            app.stop().await;
        }
        None => announce(&format!("backend postgres: NOT RUN for {name} (MPT_TEST_DATABASE_URL unset)")),
    }
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Asks Stripe's official library (batch); answers in order.
pub async fn stripe_reference(requests: Vec<Value>) -> Vec<Value> {
    tokio::task::spawn_blocking(move || {
        let root = workspace_root();
        assert!(
            root.join("node_modules/stripe/package.json").exists(),
            "node_modules/stripe is missing: run `npm ci` at the workspace root (or `cargo xtask test`, which installs the npm packages)"
        );
        let mut child = Command::new("node")
            .arg(root.join("api-server/tests/reference/stripe_ref.mjs"))
            .current_dir(&root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn node (is Node.js installed?)");
        child.stdin.take().expect("stdin").write_all(Value::Array(requests.clone()).to_string().as_bytes()).expect("write");
        let out = child.wait_with_output().expect("node");
        assert!(out.status.success(), "stripe_ref.mjs failed: {}", String::from_utf8_lossy(&out.stderr));
        let answers: Vec<Value> = serde_json::from_slice(&out.stdout).expect("stripe_ref.mjs prints JSON");
        assert_eq!(answers.len(), requests.len());
        for (q, a) in requests.iter().zip(&answers) {
            assert!(a.get("error").is_none(), "reference error for {q}: {a}");
        }
        answers
    })
    .await
    .expect("reference")
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() as i64
}

/// `Stripe-Signature` headers from the official library for (payload, secret, timestamp).
pub async fn sign_all(items: &[(String, &str, i64)]) -> Vec<String> {
    let reqs = items.iter().map(|(p, s, t)| json!({"op": "sign", "payload": p, "secret": s, "timestamp": t})).collect();
    stripe_reference(reqs).await.into_iter().map(|a| a["header"].as_str().expect("header").to_string()).collect()
}

pub async fn post_event(app: &TestApp, body: &str, header: Option<&str>) -> (StatusCode, Value) {
    let mut req = app.http.post(format!("{}/stripe/webhook", app.url)).header("content-type", "application/json").body(body.to_string());
    if let Some(h) = header {
        req = req.header("Stripe-Signature", h);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Sends events signed now by the official library; returns each answer's outcome.
pub async fn deliver(app: &TestApp, events: &[Value]) -> Vec<String> {
    let bodies: Vec<String> = events.iter().map(|e| e.to_string()).collect();
    let t = now();
    let headers = sign_all(&bodies.iter().map(|b| (b.clone(), WEBHOOK_SECRET, t)).collect::<Vec<_>>()).await;
    let mut out = Vec::new();
    for (b, h) in bodies.iter().zip(&headers) {
        let (status, v) = post_event(app, b, Some(h)).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        out.push(v["outcome"].as_str().expect("outcome").to_string());
    }
    out
}

pub fn checkout_completed(id: &str, created: i64, slug: &str, customer: &str, subscription: &str) -> Value {
    json!({"id": id, "object": "event", "type": "checkout.session.completed", "created": created, "livemode": false,
        "data": {"object": {"id": format!("cs_{id}"), "object": "checkout.session", "mode": "subscription",
            "client_reference_id": slug, "customer": customer, "subscription": subscription, "status": "complete", "payment_status": "paid"}}})
}

pub fn subscription_event(id: &str, kind: &str, created: i64, sub: &str, customer: &str, status: &str, seats: i64) -> Value {
    json!({"id": id, "object": "event", "type": format!("customer.subscription.{kind}"), "created": created,
    "data": {"object": {"id": sub, "object": "subscription", "customer": customer, "status": status,
        "items": {"object": "list", "data": [
            {"id": "si_1", "price": {"id": SEAT_PRICE}, "quantity": seats, "current_period_end": created + 30 * 86_400}
        ]}}}})
}

pub fn invoice_event(id: &str, kind: &str, created: i64, customer: &str) -> Value {
    json!({"id": id, "object": "event", "type": format!("invoice.{kind}"), "created": created,
        "data": {"object": {"id": format!("in_{id}"), "object": "invoice", "customer": customer}}})
}

async fn billing_row(app: &TestApp, tenant_id: &str) -> Option<Value> {
    let row = sqlx::query(
        "SELECT stripe_customer_id, stripe_subscription_id, status, seats, period_end, past_due_since, link_event_at, subscription_event_at, invoice_event_at \
         FROM billing WHERE tenant_id = $1",
    )
    .bind(tenant_id)
    .fetch_optional(&app.state().db.pool)
    .await
    .expect("billing row")?;
    let s = |c: &str| row.try_get::<Option<String>, _>(c).expect(c);
    let i = |c: &str| row.try_get::<Option<i64>, _>(c).expect(c);
    Some(json!({
        "customer": s("stripe_customer_id"), "subscription": s("stripe_subscription_id"), "status": s("status"),
        "seats": i("seats"), "period_end": i("period_end"), "past_due_since": i("past_due_since"),
        "link_at": i("link_event_at"), "sub_at": i("subscription_event_at"), "inv_at": i("invoice_event_at"),
    }))
}

fn assert_refused(resp: &(StatusCode, Value), code: PhoneErrorCode, status: u16) {
    assert_eq!(resp.0.as_u16(), status, "{}", resp.1);
    assert_eq!(resp.1["error"]["code"], code.as_str(), "{}", resp.1);
    // The text the popup and the panel show is the code's own.
    assert_eq!(resp.1["error"]["message"], code.message(), "{}", resp.1);
}

async fn events_apply_once_and_in_order(app: &TestApp) {
    let tenant = app.demo_tenant().await;
    let t0 = now() - 100;
    let link = checkout_completed("evt_link", t0, "demo", "cus_demo", "sub_demo");
    let active = subscription_event("evt_active", "updated", t0 + 10, "sub_demo", "cus_demo", "active", 5);
    assert_eq!(deliver(app, &[link.clone(), active.clone()]).await, ["applied", "applied"]);
    let row = billing_row(app, &tenant.id).await.expect("row");
    assert_eq!(row["customer"], "cus_demo");
    assert_eq!(row["status"], "active");
    assert_eq!(row["seats"], 5);
    assert_eq!(row["period_end"], t0 + 10 + 30 * 86_400);

    // The same event again: stored once, no change.
    assert_eq!(deliver(app, &[active.clone(), link.clone()]).await, ["duplicate", "duplicate"]);
    // An older event after a newer one: no change.
    let older = subscription_event("evt_older", "updated", t0 + 5, "sub_demo", "cus_demo", "canceled", 1);
    assert_eq!(deliver(app, &[older]).await, ["stale"]);
    assert_eq!(billing_row(app, &tenant.id).await.expect("row"), row);
    // Same second as the newest: applies (Stripe stamps related events alike).
    let same = subscription_event("evt_same", "updated", t0 + 10, "sub_demo", "cus_demo", "active", 6);
    assert_eq!(deliver(app, &[same]).await, ["applied"]);
    let row = billing_row(app, &tenant.id).await.expect("row");
    assert_eq!(row["seats"], 6);
    let stored = app.count("stripe_events").await;
    assert_eq!(stored, 4);

    // Tampered body, wrong secret, stale timestamp, no header: 400 and nothing written.
    let fresh = subscription_event("evt_bad", "deleted", now(), "sub_demo", "cus_demo", "canceled", 1).to_string();
    let tampered = fresh.replace("canceled", "active");
    let t = now();
    let h =
        sign_all(&[(fresh.clone(), WEBHOOK_SECRET, t), (fresh.clone(), "whsec_wrong", t), (fresh.clone(), WEBHOOK_SECRET, t - 301)]).await;
    for (body, header) in [
        (tampered.as_str(), Some(h[0].as_str())),
        (fresh.as_str(), Some(h[1].as_str())),
        (fresh.as_str(), Some(h[2].as_str())),
        (fresh.as_str(), None),
    ] {
        let (status, v) = post_event(app, body, header).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["error"]["code"], "bad_request");
    }
    assert_eq!(app.count("stripe_events").await, stored);
    assert_eq!(billing_row(app, &tenant.id).await.expect("row"), row);
    // The untouched original still applies.
    let (status, v) = post_event(app, &fresh, Some(&h[0])).await;
    assert_eq!((status, v["outcome"].as_str()), (StatusCode::OK, Some("applied")), "{v}");
    assert_eq!(billing_row(app, &tenant.id).await.expect("row")["status"], "canceled");

    // A newer subscription replaces the old one; the old one's end does not end it.
    let t1 = now();
    let new_sub = subscription_event("evt_new", "created", t1, "sub_new", "cus_demo", "active", 2);
    let old_end = subscription_event("evt_old_end", "deleted", t1 + 1, "sub_demo", "cus_demo", "canceled", 6);
    assert_eq!(deliver(app, &[new_sub, old_end]).await, ["applied", "ignored"]);
    let row = billing_row(app, &tenant.id).await.expect("row");
    assert_eq!(
        (row["subscription"].as_str(), row["status"].as_str(), row["seats"].as_i64()),
        (Some("sub_new"), Some("active"), Some(2)),
        "{row}"
    );

    // The same event delivered many times at once is applied exactly once.
    let burst = subscription_event("evt_burst", "updated", now() + 5, "sub_new", "cus_demo", "active", 4).to_string();
    let h = sign_all(&[(burst.clone(), WEBHOOK_SECRET, now())]).await.remove(0);
    let sends = (0..8).map(|_| post_event(app, &burst, Some(&h)));
    let mut outcomes: Vec<String> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|(status, v)| {
            assert_eq!(status, StatusCode::OK, "{v}");
            v["outcome"].as_str().expect("outcome").to_string()
        })
        .collect();
    outcomes.sort();
    assert_eq!(outcomes, ["applied", "duplicate", "duplicate", "duplicate", "duplicate", "duplicate", "duplicate", "duplicate"]);
    assert_eq!(billing_row(app, &tenant.id).await.expect("row")["seats"], 4);

    // Events for nobody we know are stored and ignored.
    let stranger = subscription_event("evt_stranger", "created", now(), "sub_x", "cus_x", "active", 1);
    assert_eq!(deliver(app, &[stranger]).await, ["ignored"]);
}

async fn token(app: &TestApp, access: &str) -> (StatusCode, Value) {
    app.post("/api/twilio/token", Some(access), &()).await
}

fn voice_from_client<'a>(account: &'a str, call_sid: &'a str, identity_from: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("AccountSid", account),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", call_sid),
        ("CallStatus", "ringing"),
        ("Caller", identity_from),
        ("Direction", "inbound"),
        ("From", identity_from),
        ("To", "+14155550142"),
    ]
}

async fn cancelled_tenant_cannot_call_until_reactivated(app: &TestApp) {
    let tenant = app.demo_tenant().await;
    let agent = app.demo_agent().await;
    let t0 = now() - 100;
    deliver(
        app,
        &[
            checkout_completed("evt_l", t0, "demo", "cus_d", "sub_d"),
            subscription_event("evt_a", "created", t0, "sub_d", "cus_d", "active", 10),
        ],
    )
    .await;
    assert_eq!(token(app, &agent.access_token).await.0, StatusCode::OK);

    assert_eq!(deliver(app, &[subscription_event("evt_c", "deleted", t0 + 20, "sub_d", "cus_d", "canceled", 10)]).await, ["applied"]);
    assert_refused(&token(app, &agent.access_token).await, PhoneErrorCode::SubscriptionInactive, 402);
    assert_refused(
        &app.post("/api/sandbox/calls", Some(&agent.access_token), &json!({"to": "+14155550142"})).await,
        PhoneErrorCode::SubscriptionInactive,
        402,
    );
    assert_refused(&app.post("/api/events/ticket", Some(&agent.access_token), &json!({})).await, PhoneErrorCode::SubscriptionInactive, 402);
    // A call that reaches the voice URL anyway (a token minted earlier) is refused in TwiML.
    let calls_before = app.count("calls").await;
    let (status, xml) = app
        .twilio(
            "/twilio/voice",
            &tenant.auth_token,
            &voice_from_client(&tenant.account_sid, "CA00000000000000000000000000000161", "client:demo-agent"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(xml.contains(PhoneErrorCode::SubscriptionInactive.message()) && xml.contains("<Hangup/>") && !xml.contains("<Dial"), "{xml}");
    // An inbound caller hears "unavailable".
    let (status, xml) = app
        .twilio(
            "/twilio/voice",
            &tenant.auth_token,
            &voice_from_client(&tenant.account_sid, "CA00000000000000000000000000000162", "+14155550199"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(xml.contains(mpt_api_server_unavailable()) && !xml.contains("<Dial"), "{xml}");
    assert_eq!(app.count("calls").await, calls_before, "refused calls are not logged");

    // Reactivated (a newer event): it can again.
    assert_eq!(deliver(app, &[subscription_event("evt_r", "updated", t0 + 30, "sub_d", "cus_d", "active", 10)]).await, ["applied"]);
    let (status, body) = token(app, &agent.access_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let _: TwilioTokenResponse = parse(body);
    let (status, body) = app.post("/api/sandbox/calls", Some(&agent.access_token), &json!({"to": "+14155550142"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

fn mpt_api_server_unavailable() -> &'static str {
    "This number is not available right now."
}

async fn one_seat_refuses_the_newer_agent(app: &TestApp) {
    let tenant = app.demo_tenant().await;
    // The demo's admin is older than its agent (seeded first?): find out from the data.
    let rows = sqlx::query("SELECT email FROM agents WHERE tenant_id = $1 ORDER BY created_at, id")
        .bind(&tenant.id)
        .fetch_all(&app.state().db.pool)
        .await
        .expect("agents");
    let emails: Vec<String> = rows.iter().map(|r| r.try_get("email").expect("email")).collect();
    assert_eq!(emails.len(), 2, "{emails:?}");
    let admin = app.demo_admin().await;
    let agent = app.demo_agent().await;
    let (older, newer) = if emails[0] == admin.agent.email { (&admin, &agent) } else { (&agent, &admin) };
    let t0 = now() - 100;
    deliver(
        app,
        &[
            checkout_completed("evt_l", t0, "demo", "cus_s", "sub_s"),
            subscription_event("evt_1", "created", t0, "sub_s", "cus_s", "active", 1),
        ],
    )
    .await;
    assert_eq!(token(app, &older.access_token).await.0, StatusCode::OK);
    assert_refused(&token(app, &newer.access_token).await, PhoneErrorCode::SeatsExceeded, 402);
    assert_refused(
        &app.post("/api/sandbox/calls", Some(&newer.access_token), &json!({"to": "+14155550142"})).await,
        PhoneErrorCode::SeatsExceeded,
        402,
    );
    // An inbound call rings only the seated agent.
    let tenant_t = app.demo_tenant().await;
    let inbound = [
        ("AccountSid", tenant_t.account_sid.as_str()),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", "CA00000000000000000000000000000171"),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("From", "+14155550177"),
        ("To", "+14155550100"),
        ("Caller", "+14155550177"),
    ];
    let (status, xml) = app.twilio("/twilio/voice", &tenant_t.auth_token, &inbound).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert!(
        xml.contains(&format!("<Identity>{}</Identity>", older.agent.identity))
            && !xml.contains(&format!("<Identity>{}</Identity>", newer.agent.identity)),
        "{xml}"
    );
    // Adding an agent past the count: 409.
    let invite = json!({"email": "third@demo.mpt-phone.test", "name": "Third", "password": "third-pass-123"});
    assert_refused(&app.post("/api/admin/agents", Some(&admin.access_token), &invite).await, PhoneErrorCode::SeatsExceeded, 409);
    // Two seats: both call; the third still does not fit.
    deliver(app, &[subscription_event("evt_2", "updated", t0 + 10, "sub_s", "cus_s", "active", 2)]).await;
    assert_eq!(token(app, &newer.access_token).await.0, StatusCode::OK);
    assert_refused(&app.post("/api/admin/agents", Some(&admin.access_token), &invite).await, PhoneErrorCode::SeatsExceeded, 409);
    deliver(app, &[subscription_event("evt_3", "updated", t0 + 20, "sub_s", "cus_s", "active", 3)]).await;
    let (status, body) = app.post("/api/admin/agents", Some(&admin.access_token), &invite).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, status_body) = app.get("/api/admin/billing", &admin.access_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (status_body["standing"].as_str(), status_body["seats"].as_i64(), status_body["agents"].as_i64()),
        (Some("active"), Some(3), Some(3)),
        "{status_body}"
    );
    // A disabled agent frees its seat; enabling it again past the count is refused.
    let third = app.login("third@demo.mpt-phone.test", "third-pass-123").await;
    let (status, _) = app.post(&format!("/api/admin/agents/{}/disable", third.agent.id), Some(&admin.access_token), &json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let fourth = json!({"email": "fourth@demo.mpt-phone.test", "name": "Fourth", "password": "fourth-pass-123"});
    let (status, body) = app.post("/api/admin/agents", Some(&admin.access_token), &fourth).await;
    assert_eq!(status, StatusCode::CREATED, "the freed seat is taken: {body}");
    assert_refused(
        &app.post(&format!("/api/admin/agents/{}/enable", third.agent.id), Some(&admin.access_token), &json!({})).await,
        PhoneErrorCode::SeatsExceeded,
        409,
    );
}

async fn failed_payment_has_a_grace_period(app: &TestApp) {
    let agent = app.demo_agent().await;
    let admin = app.demo_admin().await;
    let day = 86_400;
    let t_old = now() - 9 * day;
    deliver(
        app,
        &[
            checkout_completed("evt_l", t_old, "demo", "cus_g", "sub_g"),
            subscription_event("evt_1", "created", t_old, "sub_g", "cus_g", "active", 5),
        ],
    )
    .await;
    // A payment failed 8 days ago: the 7-day grace is over.
    assert_eq!(deliver(app, &[invoice_event("evt_f1", "payment_failed", now() - 8 * day, "cus_g")]).await, ["applied"]);
    assert_refused(&token(app, &agent.access_token).await, PhoneErrorCode::SubscriptionInactive, 402);
    // Another failure now does not restart the grace period.
    assert_eq!(deliver(app, &[invoice_event("evt_f2", "payment_failed", now() - 60, "cus_g")]).await, ["applied"]);
    assert_refused(&token(app, &agent.access_token).await, PhoneErrorCode::SubscriptionInactive, 402);
    assert_eq!(app.get("/api/admin/billing", &admin.access_token).await.1["standing"], "inactive");
    // Paid: active again.
    assert_eq!(deliver(app, &[invoice_event("evt_p1", "paid", now() - 30, "cus_g")]).await, ["applied"]);
    assert_eq!(token(app, &agent.access_token).await.0, StatusCode::OK);
    // A new failure starts a fresh grace period: still calling.
    assert_eq!(deliver(app, &[invoice_event("evt_f3", "payment_failed", now(), "cus_g")]).await, ["applied"]);
    assert_eq!(token(app, &agent.access_token).await.0, StatusCode::OK);
    let v = app.get("/api/admin/billing", &admin.access_token).await.1;
    assert_eq!(v["standing"], "grace", "{v}");
    assert!(v["grace_until"].as_i64().expect("grace_until") >= now() + 7 * day - 5, "{v}");
    // An old failure delivered late changes nothing.
    assert_eq!(deliver(app, &[invoice_event("evt_f0", "payment_failed", now() - 20 * day, "cus_g")]).await, ["stale"]);
}

async fn tenants_without_stripe_are_unrestricted(app: &TestApp) {
    let agent = app.demo_agent().await;
    assert_eq!(token(app, &agent.access_token).await.0, StatusCode::OK);
    let admin = app.demo_admin().await;
    let (status, v) = app.get("/api/admin/billing", &admin.access_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["standing"], "unrestricted");
    // The agent endpoint is for admins.
    assert_eq!(app.get("/api/admin/billing", &agent.access_token).await.0, StatusCode::FORBIDDEN);
}

crate::both_backends_with!(crate::billing::billing_config;
    events_apply_once_and_in_order,
    cancelled_tenant_cannot_call_until_reactivated,
    one_seat_refuses_the_newer_agent,
    failed_payment_has_a_grace_period,
    tenants_without_stripe_are_unrestricted,
);
