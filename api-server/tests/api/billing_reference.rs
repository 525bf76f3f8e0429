//! What we send to Stripe and Twilio against what their official libraries send.
//!
//! - `Stripe-Signature`: our header equals `stripe.webhooks.generateTestHeaderString`
//!   and the library's `constructEvent` accepts ours (and refuses what we refuse).
//! - Checkout and portal sessions: the server's requests (through the admin endpoints)
//!   and the official `stripe` library's requests for the same call land in one local
//!   Stripe stand-in; they must agree in method, path, form fields (nested keys
//!   byte for byte), auth, `Stripe-Version` and the presence of `Idempotency-Key`.
//! - Twilio provisioning through the admin endpoint and `tenant provision` against the
//!   REST stand-in: subaccount, key, app and number made with the request shapes of
//!   `mpt_twilio::rest` (which `twilio/tests/rest_reference.rs` checks against the
//!   official `twilio` library), the subaccount's own token stored, its webhooks
//!   verified with it, and a cancelled subscription suspending it.

use crate::billing::{
    billing_config, checkout_completed, deliver, now, post_event, stripe_reference, subscription_event, SEAT_PRICE, WEBHOOK_SECRET,
};
use crate::helpers::{announce, spawn_app_with, TestApp};
use axum::extract::{Request, State};
use axum::response::IntoResponse;
use mpt_api_server::billing::stripe_signature;
use mpt_twilio::rest::{NewApplication, RestRequest};
use mpt_twilio::rest_standin::RestStandIn;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_signatures_match_the_official_library() {
    let mut cases = Vec::new();
    for i in 0..40i64 {
        let payload = json!({"id": format!("evt_{i}"), "object": "event", "type": "invoice.paid", "created": 1_700_000_000 + i,
            "data": {"object": {"note": "é 中 😀 \" \\ \n ".repeat((i % 4) as usize), "n": i}}})
        .to_string();
        let secret = format!("whsec_{}", "k".repeat((i % 7 + 1) as usize));
        cases.push((payload, secret, 1_600_000_000 + i * 7919));
    }
    let mut reqs: Vec<Value> = cases.iter().map(|(p, s, t)| json!({"op": "sign", "payload": p, "secret": s, "timestamp": t})).collect();
    // The library's verdicts on our headers: good, tampered, wrong secret.
    let now = now();
    for (p, s, _) in &cases {
        let ours = stripe_signature::header(s, now, p.as_bytes());
        reqs.push(json!({"op": "verify", "payload": p, "header": ours, "secret": s}));
        reqs.push(json!({"op": "verify", "payload": format!("{p} "), "header": ours, "secret": s}));
        reqs.push(json!({"op": "verify", "payload": p, "header": ours, "secret": "whsec_other"}));
    }
    let answers = stripe_reference(reqs).await;
    for (i, (p, s, t)) in cases.iter().enumerate() {
        let theirs = answers[i]["header"].as_str().expect("header");
        assert_eq!(theirs, stripe_signature::header(s, *t, p.as_bytes()), "case {i}");
        assert_eq!(stripe_signature::verify(s, theirs, p.as_bytes(), *t + 299), Ok(*t), "case {i}");
        assert!(stripe_signature::verify(s, theirs, p.as_bytes(), *t + 301).is_err(), "case {i}: stale");
        let v = &answers[cases.len() + 3 * i..cases.len() + 3 * i + 3];
        assert_eq!(
            (v[0]["ok"].as_bool(), v[1]["ok"].as_bool(), v[2]["ok"].as_bool()),
            (Some(true), Some(false), Some(false)),
            "case {i}: {v:?}"
        );
        assert!(stripe_signature::verify(s, &stripe_signature::header(s, now, p.as_bytes()), format!("{p} ").as_bytes(), now).is_err());
    }
}

/// A request as the Stripe stand-in received it.
#[derive(Debug, Clone)]
struct Captured {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: String,
}

/// A local Stripe stand-in: answers Checkout and portal session creation like Stripe
/// (401 without a Bearer secret key) and keeps every request.
#[derive(Clone)]
struct StripeStandIn {
    url: String,
    seen: Arc<Mutex<Vec<Captured>>>,
}

async fn stripe_handler(State(seen): State<Arc<Mutex<Vec<Captured>>>>, req: Request) -> axum::response::Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let headers: BTreeMap<String, String> =
        req.headers().iter().map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("").to_string())).collect();
    let body = String::from_utf8_lossy(&axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap_or_default()).into_owned();
    let authorized = headers.get("authorization").is_some_and(|a| a.starts_with("Bearer sk_"));
    seen.lock().expect("lock").push(Captured { method: method.clone(), path: path.clone(), headers, body });
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": {"type": "invalid_request_error", "message": "You did not provide an API key."}})),
        )
            .into_response();
    }
    let n = seen.lock().expect("lock").len();
    match (method.as_str(), path.as_str()) {
        ("POST", "/v1/checkout/sessions") => axum::Json(json!({"id": format!("cs_test_{n}"), "object": "checkout.session", "url": format!("https://checkout.stripe.com/c/pay/cs_test_{n}")})).into_response(),
        ("POST", "/v1/billing_portal/sessions") => axum::Json(json!({"id": format!("bps_{n}"), "object": "billing_portal.session", "url": format!("https://billing.stripe.com/p/session/test_{n}")})).into_response(),
        _ => (StatusCode::NOT_FOUND, axum::Json(json!({"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}))).into_response(),
    }
}

impl StripeStandIn {
    async fn start() -> StripeStandIn {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let app = axum::Router::new().fallback(stripe_handler).with_state(seen.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        StripeStandIn { url, seen }
    }

    fn take(&self) -> Vec<Captured> {
        std::mem::take(&mut *self.seen.lock().expect("lock"))
    }
}

/// Ours and the library's request for the same call agree.
fn assert_same_shape(ours: &Captured, theirs: &Captured) {
    assert_eq!(ours.method, theirs.method);
    assert_eq!(ours.path, theirs.path);
    let fields = |c: &Captured| {
        let mut v: Vec<&str> = c.body.split('&').collect();
        v.sort();
        v.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(fields(ours), fields(theirs), "form fields (raw, nested keys)\nours:   {}\ntheirs: {}", ours.body, theirs.body);
    for h in ["authorization", "stripe-version"] {
        assert_eq!(ours.headers.get(h), theirs.headers.get(h), "header {h}");
    }
    let ct = |c: &Captured| c.headers.get("content-type").map(|v| v.split(';').next().unwrap_or("").trim().to_string());
    assert_eq!(ct(ours), ct(theirs));
    for c in [ours, theirs] {
        assert!(c.headers.get("idempotency-key").is_some_and(|k| !k.is_empty()), "Idempotency-Key missing: {c:?}");
    }
}

const SECRET_KEY: &str = "sk_test_mpt16_secret";

async fn checkout_and_portal(postgres: bool) {
    let stripe = StripeStandIn::start().await;
    let base = stripe.url.clone();
    let Some(app) = spawn_app_with(postgres, move |c| {
        billing_config(c);
        c.billing.stripe_api_base = base;
        c.billing.stripe_secret_key = Some(SECRET_KEY.into());
    })
    .await
    else {
        return announce(
            "backend postgres: NOT RUN for checkout_and_portal_requests_match_the_official_library (MPT_TEST_DATABASE_URL unset)",
        );
    };
    let admin = app.demo_admin().await;
    let (success, cancel) = ("https://crm.example.com/billing/done?ok=1", "https://crm.example.com/billing");
    let ask = json!({"seats": 3, "success_url": success, "cancel_url": cancel});
    // Not for agents.
    let agent = app.demo_agent().await;
    assert_eq!(app.post("/api/admin/billing/checkout", Some(&agent.access_token), &ask).await.0, StatusCode::FORBIDDEN);
    let (status, v) = app.post("/api/admin/billing/checkout", Some(&admin.access_token), &ask).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(v["url"].as_str().expect("url").starts_with("https://checkout.stripe.com/"), "{v}");
    let mut params = json!({"mode": "subscription", "line_items": [{"price": SEAT_PRICE, "quantity": 3}], "client_reference_id": "demo",
        "success_url": success, "cancel_url": cancel, "metadata": {"mpt_tenant": "demo"}, "subscription_data": {"metadata": {"mpt_tenant": "demo"}}});
    stripe_reference(vec![json!({"op": "checkout", "base": stripe.url, "key": SECRET_KEY, "params": params})]).await;
    let got = stripe.take();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_same_shape(&got[0], &got[1]);

    // The portal needs a Stripe customer.
    let (status, v) = app.post("/api/admin/billing/portal", Some(&admin.access_token), &json!({"return_url": cancel})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(stripe.take().is_empty(), "nothing sent to Stripe");
    let t = now() - 10;
    deliver(
        &app,
        &[
            checkout_completed("evt_l", t, "demo", "cus_ref", "sub_ref"),
            subscription_event("evt_s", "created", t, "sub_ref", "cus_ref", "active", 3),
        ],
    )
    .await;
    let (status, v) = app.post("/api/admin/billing/portal", Some(&admin.access_token), &json!({"return_url": cancel})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(v["url"].as_str().expect("url").starts_with("https://billing.stripe.com/"), "{v}");
    stripe_reference(vec![
        json!({"op": "portal", "base": stripe.url, "key": SECRET_KEY, "params": {"customer": "cus_ref", "return_url": cancel}}),
    ])
    .await;
    let got = stripe.take();
    assert_eq!(got.len(), 2);
    assert_same_shape(&got[0], &got[1]);

    // A linked tenant buying again: the customer is passed along.
    let (status, v) = app.post("/api/admin/billing/checkout", Some(&admin.access_token), &ask).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    params["customer"] = json!("cus_ref");
    stripe_reference(vec![json!({"op": "checkout", "base": stripe.url, "key": SECRET_KEY, "params": params})]).await;
    let got = stripe.take();
    assert_same_shape(&got[0], &got[1]);
    assert!(got[0].body.contains("customer=cus_ref"));

    // Bad input is refused before Stripe hears of it.
    let (status, _) = app
        .post("/api/admin/billing/checkout", Some(&admin.access_token), &json!({"seats": 0, "success_url": success, "cancel_url": cancel}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .post(
            "/api/admin/billing/checkout",
            Some(&admin.access_token),
            &json!({"seats": 2, "success_url": "javascript:alert(1)", "cancel_url": cancel}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(stripe.take().is_empty());
    announce(&format!("backend {}: ran checkout_and_portal_requests_match_the_official_library", app.backend));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_and_portal_requests_match_the_official_library_sqlite() {
    checkout_and_portal(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_and_portal_requests_match_the_official_library_postgres() {
    checkout_and_portal(true).await;
}

const MAIN_SID: &str = "AC0000000000000000000000000000a001";
const MAIN_TOKEN: &str = "main-account-auth-token";

async fn provisioning(postgres: bool) {
    let twilio = RestStandIn::start(MAIN_SID, MAIN_TOKEN).await.expect("stand-in");
    let base = twilio.base_url.clone();
    let Some(app) = spawn_app_with(postgres, move |c| {
        billing_config(c);
        c.billing.twilio_api_base = base;
        c.billing.twilio_main_account_sid = Some(MAIN_SID.into());
        c.billing.twilio_main_auth_token = Some(MAIN_TOKEN.into());
    })
    .await
    else {
        return announce(
            "backend postgres: NOT RUN for provisioning_creates_a_subaccount_whose_webhooks_verify (MPT_TEST_DATABASE_URL unset)",
        );
    };
    run_provisioning(&app, &twilio).await;
    announce(&format!("backend {}: ran provisioning_creates_a_subaccount_whose_webhooks_verify", app.backend));
    app.stop().await;
}

async fn run_provisioning(app: &TestApp, twilio: &RestStandIn) {
    let admin = app.demo_admin().await;
    let agent = app.demo_agent().await;
    assert_eq!(app.post("/api/admin/twilio/provision", Some(&agent.access_token), &json!({})).await.0, StatusCode::FORBIDDEN);
    // A step fails half-way (no such number to move): the new subaccount is closed, the
    // tenant keeps what it had, and a retry starts clean.
    let (status, v) = app
        .post("/api/admin/twilio/provision", Some(&admin.access_token), &json!({"number_sid": "PN00000000000000000000000000000bad"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let failed = twilio.subaccounts();
    assert_eq!(failed.len(), 1);
    assert_eq!(twilio.account(&failed[0]).expect("sub").status, "closed");
    assert!(v["error"]["message"].as_str().expect("message").contains(&format!("{} was closed", failed[0])), "{v}");
    assert!(app.demo_tenant().await.sandbox, "the tenant is unchanged");
    twilio.clear_requests();
    let (status, p) = app.post("/api/admin/twilio/provision", Some(&admin.access_token), &json!({"area_code": "415"})).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let sub = p["account_sid"].as_str().expect("account_sid").to_string();
    let (key_sid, app_sid, number, number_sid) = (
        p["api_key_sid"].as_str().expect("key"),
        p["twiml_app_sid"].as_str().expect("app"),
        p["phone_number"].as_str().expect("n"),
        p["phone_number_sid"].as_str().expect("pn"),
    );
    assert!(p.get("auth_token").is_none() && p.get("api_key_secret").is_none(), "no secrets in the answer: {p}");

    // What the stand-in now holds.
    let mut subs = vec![failed[0].clone(), sub.clone()];
    subs.sort();
    assert_eq!(twilio.subaccounts(), subs);
    let acct = twilio.account(&sub).expect("subaccount");
    assert_eq!((acct.status.as_str(), acct.friendly_name.as_str()), ("active", "MPT Phone: MPT Demo (sandbox)"), "{acct:?}");
    let keys = twilio.keys(&sub);
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].0, key_sid);
    let apps = twilio.applications(&sub);
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0].1["voice_url"], format!("{}/twilio/voice", app.url));
    assert_eq!(apps[0].1["status_callback"], format!("{}/twilio/status", app.url));
    let nums = twilio.numbers(&sub);
    assert_eq!(nums.len(), 1);
    assert_eq!(
        (nums[0].sid.as_str(), nums[0].phone_number.as_str(), nums[0].voice_application_sid.as_deref()),
        (number_sid, number, Some(app_sid))
    );

    // The requests, in order, are exactly the shapes mpt_twilio::rest builds (checked
    // against the official library in twilio/tests/rest_reference.rs), as the main account.
    let expected = [
        RestRequest::create_subaccount("MPT Phone: MPT Demo (sandbox)"),
        RestRequest::create_api_key(&sub, "MPT Phone"),
        RestRequest::create_application(
            &sub,
            &NewApplication {
                friendly_name: "MPT Phone".into(),
                voice_url: format!("{}/twilio/voice", app.url),
                status_callback: format!("{}/twilio/status", app.url),
            },
        ),
        RestRequest::available_local_numbers(&sub, "US", Some("415"), 1),
        RestRequest::buy_number(&sub, number, app_sid),
    ];
    let seen = twilio.requests();
    assert_eq!(seen.len(), expected.len(), "{seen:#?}");
    use base64::Engine;
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{MAIN_SID}:{MAIN_TOKEN}")));
    for (s, e) in seen.iter().zip(&expected) {
        assert_eq!((s.method.as_str(), s.path.as_str(), &s.query, &s.form), (e.method, e.path.as_str(), &e.query, &e.form));
        assert_eq!(s.authorization.as_deref(), Some(basic.as_str()));
    }

    // The tenant now uses the subaccount: its own token, the key, the app, the number.
    let t = mpt_api_server::tenant::by_id(app.state(), &admin.agent.tenant_id).await.expect("tenant");
    assert_eq!(
        (t.account_sid.as_str(), t.auth_token.as_str(), t.api_key_sid.as_str(), t.api_key_secret.as_str(), t.twiml_app_sid.as_str()),
        (sub.as_str(), acct.auth_token.as_str(), key_sid, keys[0].1.as_str(), app_sid)
    );
    assert_eq!(t.caller_ids, vec![number.to_string()]);
    assert!(!t.sandbox);
    // Stored encrypted, never in clear.
    use sqlx::Row;
    let row = sqlx::query("SELECT auth_token_enc, api_key_secret_enc FROM tenants WHERE id = $1")
        .bind(&t.id)
        .fetch_one(&app.state().db.pool)
        .await
        .expect("row");
    for col in ["auth_token_enc", "api_key_secret_enc"] {
        let v: String = row.try_get(col).expect(col);
        assert!(v.starts_with("v1.") && !v.contains(&acct.auth_token) && !v.contains(&keys[0].1), "{col}: {v}");
    }

    // Twilio signs the subaccount's webhooks with the subaccount's token: they verify;
    // signed with the main account's token they do not.
    let inbound = [
        ("AccountSid", sub.as_str()),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", "CA0000000000000000000000000000c001"),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("From", "+14155550177"),
        ("To", number),
        ("Caller", "+14155550177"),
    ];
    let (status, xml) = app.twilio("/twilio/voice", &acct.auth_token, &inbound).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert!(xml.contains("<Dial") && xml.contains("<Identity>demo-agent</Identity>"), "{xml}");
    // The agents ring for the configured time (`MPT_RING_SECS`; 200 in tests).
    assert!(xml.contains(r#"timeout="200""#), "{xml}");
    let mut other = inbound;
    other[2].1 = "CA0000000000000000000000000000c002";
    assert_eq!(app.twilio("/twilio/voice", MAIN_TOKEN, &other).await.0, StatusCode::FORBIDDEN);
    // A token minted now is for the subaccount.
    let (status, v) = app.post("/api/twilio/token", Some(&agent.access_token), &()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let claims =
        mpt_twilio::token::decode_verify(v["token"].as_str().expect("token"), &keys[0].1, now() as u64).expect("signed with the new key");
    assert_eq!(claims.sub, sub);

    // Once is enough.
    let (status, _) = app.post("/api/admin/twilio/provision", Some(&admin.access_token), &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // A cancelled subscription suspends the subaccount; reactivated, it resumes.
    let t0 = now() - 100;
    deliver(
        app,
        &[
            checkout_completed("evt_l", t0, "demo", "cus_p", "sub_p"),
            subscription_event("evt_a", "created", t0, "sub_p", "cus_p", "active", 5),
        ],
    )
    .await;
    assert_eq!(twilio.account(&sub).expect("sub").status, "active");
    // Twilio down when the cancellation arrives: the event is stored (the tenant is
    // refused at once) but the webhook fails, so Stripe redelivers; the redelivery
    // suspends the subaccount.
    twilio.set_down(true);
    let cancel = subscription_event("evt_c", "deleted", t0 + 10, "sub_p", "cus_p", "canceled", 5).to_string();
    let header = mpt_api_server::billing::stripe_signature::header(WEBHOOK_SECRET, now(), cancel.as_bytes());
    let (status, v) = post_event(app, &cancel, Some(&header)).await;
    assert_eq!((status, v["error"]["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")), "{v}");
    assert_eq!(app.post("/api/twilio/token", Some(&agent.access_token), &()).await.0, StatusCode::PAYMENT_REQUIRED);
    twilio.set_down(false);
    assert_eq!(twilio.account(&sub).expect("sub").status, "active");
    let (status, v) = post_event(app, &cancel, Some(&header)).await;
    assert_eq!((status, v["outcome"].as_str()), (StatusCode::OK, Some("duplicate")), "{v}");
    assert_eq!(twilio.account(&sub).expect("sub").status, "suspended");
    // Redelivered again: already suspended, nothing sent.
    let before = twilio.requests().len();
    assert_eq!(post_event(app, &cancel, Some(&header)).await.0, StatusCode::OK);
    assert_eq!(twilio.requests().len(), before);
    deliver(app, &[subscription_event("evt_r", "updated", t0 + 20, "sub_p", "cus_p", "active", 5)]).await;
    assert_eq!(twilio.account(&sub).expect("sub").status, "active");
    // An operator's suspension is not lifted by billing.
    mpt_api_server::provision::set_status(app.state(), &t.id, mpt_twilio::rest::AccountStatus::Suspended, "admin").await.expect("suspend");
    deliver(app, &[subscription_event("evt_r2", "updated", t0 + 30, "sub_p", "cus_p", "active", 5)]).await;
    assert_eq!(twilio.account(&sub).expect("sub").status, "suspended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_creates_a_subaccount_whose_webhooks_verify_sqlite() {
    provisioning(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_creates_a_subaccount_whose_webhooks_verify_postgres() {
    provisioning(true).await;
}

/// Runs the real binary with `env`; returns (success, stdout, stderr).
fn cli(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mpt-api-server"));
    cmd.args(args).env("MPT_DATA_DIR", dir).env_remove("DATABASE_URL").env_remove("MPT_MASTER_KEY_FILE").env_remove("MPT_PUBLIC_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the binary");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_provision_suspend_and_resume_from_the_command_line() {
    let twilio = RestStandIn::start(MAIN_SID, MAIN_TOKEN).await.expect("stand-in");
    let dir = tempfile::tempdir().expect("tempdir");
    let key = mpt_api_server::crypto::generate_master_key();
    let base = twilio.base_url.clone();
    let path = dir.path().to_path_buf();
    let main_number = twilio.add_number(MAIN_SID, "+13125550123");
    let pn = main_number.clone();
    let (out, no_url, suspended, resumed, attached) = tokio::task::spawn_blocking(move || {
        let env = [
            ("MPT_MASTER_KEY", key.as_str()),
            ("MPT_TWILIO_API_BASE", base.as_str()),
            ("MPT_TWILIO_MAIN_ACCOUNT_SID", MAIN_SID),
            ("MPT_TWILIO_MAIN_AUTH_TOKEN", MAIN_TOKEN),
        ];
        let no_url = cli(&path, &env, &["tenant", "provision", "--slug", "acme", "--name", "Acme"]);
        let mut with_url = env.to_vec();
        with_url.push(("MPT_PUBLIC_URL", "https://phone.example.com"));
        let out = cli(
            &path,
            &with_url,
            &["tenant", "provision", "--slug", "acme", "--name", "Acme", "--area-code", "212", "--origin", "https://crm.acme.example"],
        );
        let suspended = cli(&path, &with_url, &["tenant", "suspend", "--slug", "acme"]);
        let resumed = (
            cli(&path, &with_url, &["tenant", "resume", "--slug", "acme"]),
            cli(&path, &with_url, &["tenant", "suspend", "--slug", "nobody"]),
        );
        let attached = cli(&path, &with_url, &["tenant", "provision", "--slug", "beta", "--name", "Beta", "--number-sid", &pn]);
        (out, no_url, suspended, resumed, attached)
    })
    .await
    .expect("cli");
    // Without a public URL the TwiML App would point nowhere: refused before Twilio is asked.
    assert!(!no_url.0 && no_url.2.contains("MPT_PUBLIC_URL"), "{no_url:?}");
    assert!(out.0, "{out:?}");
    let line: Value = serde_json::from_str(out.1.trim()).expect("JSON line");
    assert_eq!(line["event"], "tenant_provisioned", "{line}");
    let sub = line["twilio"]["account_sid"].as_str().expect("sid").to_string();
    assert!(line["twilio"]["phone_number"].as_str().expect("number").starts_with("+1212"), "{line}");
    assert_eq!(twilio.applications(&sub)[0].1["voice_url"], "https://phone.example.com/twilio/voice");
    assert!(suspended.0, "{suspended:?}");
    let (resumed, nobody) = resumed;
    assert!(resumed.0, "{resumed:?}");
    assert!(!nobody.0 && nobody.2.contains("nobody"), "{nobody:?}");
    let statuses: Vec<String> =
        twilio.requests().iter().filter(|r| r.path == format!("/2010-04-01/Accounts/{sub}.json")).map(|r| r.form[0].1.clone()).collect();
    assert_eq!(statuses, ["suspended", "active"]);
    assert_eq!(twilio.account(&sub).expect("sub").status, "active");
    // The second tenant got the main account's number, moved into its subaccount and
    // pointed at its app (no number bought).
    assert!(attached.0, "{attached:?}");
    let line: Value = serde_json::from_str(attached.1.trim()).expect("JSON line");
    let beta = line["twilio"]["account_sid"].as_str().expect("sid").to_string();
    assert_eq!(
        (line["twilio"]["phone_number"].as_str(), line["twilio"]["phone_number_sid"].as_str()),
        (Some("+13125550123"), Some(main_number.as_str())),
        "{line}"
    );
    let nums = twilio.numbers(&beta);
    assert_eq!(nums.len(), 1);
    assert_eq!(nums[0].voice_application_sid.as_deref(), twilio.applications(&beta).first().map(|(sid, _)| sid.as_str()));
    assert!(twilio.numbers(MAIN_SID).is_empty());
    assert_eq!(twilio.requests().iter().filter(|r| r.path == "/2010-04-01/Accounts.json").count(), 2, "one subaccount per tenant");
    assert_eq!(twilio.requests().iter().filter(|r| r.path.ends_with("/IncomingPhoneNumbers.json")).count(), 1, "only acme bought a number");
}
