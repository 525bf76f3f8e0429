//! Tenant isolation, CORS, secrets at rest, key rotation.

use crate::both_backends;
use crate::helpers::{parse, TestApp};
use mpt_api_server::agents::{create, NewAgent};
use mpt_api_server::tenant::NewTenant;
use mpt_core::api::{AuthResponse, CallLogPage, Role};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Creates tenant "beta" with an agent and an admin; returns (tenant id, agent session, admin session).
pub async fn tenant_b(app: &TestApp) -> (String, AuthResponse, AuthResponse) {
    let st = app.state();
    let id = mpt_api_server::tenant::create(
        st,
        &NewTenant {
            slug: "beta".into(),
            name: "Beta Corp".into(),
            sandbox: true,
            account_sid: "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".into(),
            auth_token: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".into(),
            api_key_sid: "SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".into(),
            api_key_secret: "beta-secret".into(),
            twiml_app_sid: "APbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".into(),
            caller_ids: vec!["+14155550200".into()],
            allowed_origins: vec!["https://crm.beta.example".into()],
            allowed_countries: vec!["US".into()],
            connectors: vec![],
        },
    )
    .await
    .expect("tenant b");
    for (email, role) in [("agent@beta.test", Role::Agent), ("admin@beta.test", Role::Admin)] {
        create(
            st,
            &id,
            &NewAgent { email: email.into(), name: email.into(), password: Some("beta-password".into()), role, identity: None },
        )
        .await
        .expect("agent b");
    }
    let a = app.login("agent@beta.test", "beta-password").await;
    let b = app.login("admin@beta.test", "beta-password").await;
    (id, a, b)
}

async fn tenant_a_gets_404_for_everything_of_tenant_b(app: &TestApp) {
    let (_, b_agent, b_admin) = tenant_b(app).await;
    let a = app.demo_agent().await;
    let a_admin = app.demo_admin().await;
    let body = json!({"direction": "outbound", "from": "+14155550200", "to": "+14155550142", "started_at": 1, "notes": "beta secret note"});
    let (status, _) = app.request(Method::PUT, "/api/calls/beta-call-0001", Some(&b_agent.access_token), Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body_b) = app
        .request(Method::POST, "/api/contacts", Some(&b_admin.access_token), Some(&json!({"name": "Beta Person", "phone": "+14155550177"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body_b}");

    let t = Some(a.access_token.as_str());
    assert_eq!(app.get("/api/calls/beta-call-0001", &a.access_token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.request(Method::PATCH, "/api/calls/beta-call-0001", t, Some(&json!({"notes": "x"}))).await.0, StatusCode::NOT_FOUND);
    let (_, page) = app.get("/api/calls", &a.access_token).await;
    assert!(parse::<CallLogPage>(page).items.is_empty());
    let (_, page) = app.get("/api/calls?number=%2B14155550142", &a.access_token).await;
    assert!(parse::<CallLogPage>(page).items.is_empty());
    let csv = app
        .http
        .get(format!("{}/api/calls/export.csv", app.url))
        .bearer_auth(&a.access_token)
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("t");
    assert!(!csv.contains("beta-call"));
    let (_, found) = app.get("/api/contacts/lookup?number=%2B14155550177", &a.access_token).await;
    assert_eq!(found["items"].as_array().expect("items").len(), 0);
    let (_, found) = app.get("/api/contacts/search?q=beta", &a.access_token).await;
    assert_eq!(found["items"].as_array().expect("items").len(), 0);
    assert_eq!(app.post("/api/sandbox/calls/CAbeta/hangup", t, &()).await.0, StatusCode::NOT_FOUND);
    let (_, agents) = app.get("/api/admin/agents", &a_admin.access_token).await;
    assert!(!agents.to_string().contains("beta.test"));
    // A PUT with the same id in tenant A creates A's own log, leaving B's alone.
    let body_a = json!({"direction": "outbound", "from": "+14155550100", "to": "+14155550143", "started_at": 2});
    assert_eq!(app.request(Method::PUT, "/api/calls/beta-call-0001", t, Some(&body_a)).await.0, StatusCode::CREATED);
    let (_, b_call) = app.get("/api/calls/beta-call-0001", &b_agent.access_token).await;
    assert_eq!(b_call["to"], "+14155550142");
    assert_eq!(b_call["notes"], "beta secret note");
    // Tenant B may dial only the US.
    let (status, body) = app.post("/api/sandbox/calls", Some(&b_agent.access_token), &json!({"to": "+442079460018"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "country_not_allowed");
    assert!(body["error"]["message"].as_str().expect("msg").contains("not allowed"), "{body}");
    // Tenant B's webhook signed with tenant A's token is refused.
    let demo = app.demo_tenant().await;
    let (status, _) = app
        .twilio(
            "/twilio/status",
            &demo.auth_token,
            &[("AccountSid", "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"), ("CallSid", "CAx"), ("CallStatus", "completed")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn cors_follows_tenant_origins(app: &TestApp) {
    let (_, b_agent, _) = tenant_b(app).await;
    let preflight = |origin: &'static str| {
        app.http
            .request(Method::OPTIONS, format!("{}/api/calls", app.url))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "authorization")
            .send()
    };
    let ok = preflight("http://127.0.0.1:5173").await.expect("preflight");
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(ok.headers()["access-control-allow-origin"], "http://127.0.0.1:5173");
    let ext = preflight("chrome-extension://abcdefghijklmnopabcdefghijklmnop").await.expect("preflight");
    assert_eq!(ext.status(), StatusCode::NO_CONTENT);
    let evil = preflight("https://evil.example").await.expect("preflight");
    assert_eq!(evil.status(), StatusCode::FORBIDDEN);
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    // Beta's agent from the demo tenant's origin: refused (per-tenant check).
    let resp = app
        .http
        .get(format!("{}/api/calls", app.url))
        .bearer_auth(&b_agent.access_token)
        .header("Origin", "http://127.0.0.1:5173")
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = app
        .http
        .get(format!("{}/api/calls", app.url))
        .bearer_auth(&b_agent.access_token)
        .header("Origin", "https://crm.beta.example")
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["access-control-allow-origin"], "https://crm.beta.example");
}

async fn secrets_are_encrypted_and_keys_rotate(app: &TestApp) {
    use sqlx::Row;
    let demo = app.demo_tenant().await;
    let row = sqlx::query("SELECT auth_token_enc, api_key_secret_enc FROM tenants WHERE slug = 'demo'")
        .fetch_one(&app.state().db.pool)
        .await
        .expect("row");
    let enc: String = row.try_get("auth_token_enc").expect("col");
    assert!(enc.starts_with(&format!("v1.{}.", app.state().crypto.key_id())));
    assert!(!enc.contains(&demo.auth_token));
    let s = app.demo_agent().await;
    let body = json!({"direction": "outbound", "from": "+14155550100", "to": "+14155550142", "started_at": 1, "notes": "rotate me"});
    app.request(Method::PUT, "/api/calls/rotate-call-01", Some(&s.access_token), Some(&body)).await;

    let new = mpt_api_server::crypto::Crypto::new(&[9u8; 32], &[]);
    let n = mpt_api_server::cli::rotate(&app.state().db, &app.state().crypto, &new).await.expect("rotate");
    assert!(n >= 3, "{n}");
    let row = sqlx::query("SELECT auth_token_enc FROM tenants WHERE slug = 'demo'").fetch_one(&app.state().db.pool).await.expect("row");
    let enc: String = row.try_get("auth_token_enc").expect("col");
    assert_eq!(mpt_api_server::crypto::Crypto::key_id_of(&enc), Some(new.key_id()));
    assert_eq!(new.open(&format!("tenant:{}:auth_token", demo.id), &enc).expect("opens with new key"), demo.auth_token);
    let row =
        sqlx::query("SELECT notes_enc, to_bidx FROM calls WHERE id = 'rotate-call-01'").fetch_one(&app.state().db.pool).await.expect("row");
    let notes: String = row.try_get("notes_enc").expect("notes");
    assert_eq!(new.open(&format!("call:{}:rotate-call-01:notes", demo.id), &notes).expect("notes open"), "rotate me");
    assert_eq!(row.try_get::<String, _>("to_bidx").expect("bidx"), new.blind_index(&demo.id, "+14155550142"));
}

both_backends!(tenant_a_gets_404_for_everything_of_tenant_b, cors_follows_tenant_origins, secrets_are_encrypted_and_keys_rotate);
