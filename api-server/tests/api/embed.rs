//! The embeddable widget's server side (`docs/embed.md`): publishable widget keys, embed
//! tokens, the framable widget page, the widget's files. The security findings each have
//! a test here that failed before the fix: a not-allowed origin cannot frame the widget or
//! use a key, and a revoked key or token stops at once (requests, tickets, sockets, calls).

use crate::both_backends;
use crate::helpers::{eventually, parse, spawn_app_with, TestApp};
use mpt_core::api::{AuthResponse, SandboxCallResponse, TwilioTokenResponse};
use reqwest::header::{HeaderMap, CONTENT_SECURITY_POLICY, X_FRAME_OPTIONS};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const DEMO_ORIGIN: &str = "http://127.0.0.1:5173";

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_millis() as i64
}

/// Creates a widget key as the demo admin: (id, key).
async fn widget_key(app: &TestApp, admin: &AuthResponse, name: &str) -> (String, String) {
    let (status, body) = app.post("/api/admin/widget-keys", Some(&admin.access_token), &json!({"name": name})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (body["id"].as_str().expect("id").into(), body["key"].as_str().expect("key").into())
}

/// A tenant API key for a CRM backend (supervisor role).
async fn crm_api_key(app: &TestApp, admin: &AuthResponse) -> String {
    let (status, body) = app.post("/api/admin/api-keys", Some(&admin.access_token), &json!({"name": "crm backend"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["key"].as_str().expect("key").into()
}

/// A request with an embed token and a widget key (as the widget sends it).
async fn embed_req(app: &TestApp, method: Method, path: &str, token: &str, key: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = app.http.request(method, format!("{}{}", app.url, path)).bearer_auth(token);
    if let Some(k) = key {
        req = req.header("mpt-widget-key", k);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn page(app: &TestApp, query: &str) -> (StatusCode, HeaderMap, String) {
    let resp = app.http.get(format!("{}/widget?{query}", app.url)).send().await.expect("widget page");
    let headers = resp.headers().clone();
    (resp.status(), headers, resp.text().await.expect("text"))
}

fn header(h: &HeaderMap, name: impl reqwest::header::AsHeaderName) -> &str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn widget_keys_are_admin_only_hashed_audited_and_revocable(app: &TestApp) {
    let admin = app.demo_admin().await;
    let agent = app.demo_agent().await;
    let (status, _) = app.post("/api/admin/widget-keys", Some(&agent.access_token), &json!({"name": "x"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "agents make no keys");
    let (status, _) = app.post("/api/admin/widget-keys", Some(&admin.access_token), &json!({"name": " "})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (id, key) = widget_key(app, &admin, "demo crm").await;
    assert!(key.starts_with("pk_") && key.len() > 30, "{key}");
    // Stored hashed: the key itself is nowhere in the table.
    use sqlx::Row;
    let rows = sqlx::query("SELECT key_hash, prefix FROM widget_keys").fetch_all(&app.state().db.pool).await.expect("rows");
    assert_eq!(rows.len(), 1);
    let hash: String = rows[0].try_get("key_hash").expect("hash");
    assert_eq!(hash, mpt_api_server::crypto::sha256_hex(key.as_bytes()));
    assert!(key.starts_with(&rows[0].try_get::<String, _>("prefix").expect("prefix")));
    let (_, list) = app.get("/api/admin/widget-keys", &admin.access_token).await;
    assert_eq!(list[0]["id"], id.as_str());
    assert!(list[0]["last_used_at"].is_null());
    assert!(list[0].get("key").is_none() && list[0].get("key_hash").is_none(), "{list}");
    // Using the key records it.
    assert_eq!(page(app, &format!("key={key}")).await.0, StatusCode::OK);
    let (_, list) = app.get("/api/admin/widget-keys", &admin.access_token).await;
    assert!(list[0]["last_used_at"].as_i64().is_some(), "{list}");
    // Another tenant cannot see or revoke it.
    let (_, _, b_admin) = crate::security::tenant_b(app).await;
    let (_, b_list) = app.get("/api/admin/widget-keys", &b_admin.access_token).await;
    assert_eq!(b_list.as_array().expect("list").len(), 0);
    let (status, _) = app.request::<()>(Method::DELETE, &format!("/api/admin/widget-keys/{id}"), Some(&b_admin.access_token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.request::<()>(Method::DELETE, &format!("/api/admin/widget-keys/{id}"), Some(&admin.access_token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.request::<()>(Method::DELETE, &format!("/api/admin/widget-keys/{id}"), Some(&admin.access_token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "revoked once");
    let (_, list) = app.get("/api/admin/widget-keys", &admin.access_token).await;
    assert!(list[0]["revoked_at"].as_i64().is_some());
    let (_, audit) = app.get("/api/admin/audit", &admin.access_token).await;
    let actions: Vec<&str> =
        audit.as_array().or(audit["items"].as_array()).expect("audit").iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"widget_key.create") && actions.contains(&"widget_key.revoke"), "{actions:?}");
}

async fn only_allowed_origins_may_frame_the_widget(app: &TestApp) {
    let admin = app.demo_admin().await;
    let (id, key) = widget_key(app, &admin, "frame").await;
    let (status, h, html) = page(app, &format!("key={key}&contact=c-42")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let csp = header(&h, CONTENT_SECURITY_POLICY);
    let ancestors = csp.split(';').map(str::trim).find(|d| d.starts_with("frame-ancestors")).expect("frame-ancestors");
    // The demo tenant's allowed origins, exactly.
    assert_eq!(ancestors, "frame-ancestors http://127.0.0.1:* http://localhost:* chrome-extension://*");
    assert!(h.get(X_FRAME_OPTIONS).is_none(), "X-Frame-Options would forbid every parent");
    assert!(header(&h, "content-type").starts_with("text/html"));
    assert!(html.contains("\"contactId\":\"c-42\""), "{html}");
    assert!(!html.contains("access_token") && !html.contains("Bearer"));
    // Contact ids cannot break out of the config block.
    let (_, _, html) = page(app, &format!("key={key}&contact=%3C/script%3E%3Cscript%3Ealert(1)%3C/script%3E")).await;
    assert!(!html.contains("</script><script>alert(1)"), "{html}");
    // Every other response, and the page with a bad key, forbids framing.
    for path in ["/healthz".to_string(), "/api/config".into(), "/nope".into(), "/widget?key=pk_unknown".into(), "/widget".into()] {
        let resp = app.http.get(format!("{}{path}", app.url)).send().await.expect("get");
        let h = resp.headers();
        assert_eq!(header(h, X_FRAME_OPTIONS), "DENY", "{path}");
        assert!(header(h, CONTENT_SECURITY_POLICY).contains("frame-ancestors 'none'"), "{path}");
    }
    // A tenant whose origins are all unusable as CSP sources is framed by nobody.
    let (b_id, _, b_admin) = crate::security::tenant_b(app).await;
    sqlx::query("UPDATE tenants SET allowed_origins = $1 WHERE id = $2")
        .bind(r#"["https://x.example; script-src *"]"#)
        .bind(&b_id)
        .execute(&app.state().db.pool)
        .await
        .expect("update");
    app.state().tenants.invalidate();
    let (_, b_key) = widget_key(app, &b_admin, "b").await;
    let (_, h, _) = page(app, &format!("key={b_key}")).await;
    assert!(header(&h, CONTENT_SECURITY_POLICY).ends_with("frame-ancestors 'none'"), "{:?}", h);
    // A revoked key's page is gone at once.
    app.request::<()>(Method::DELETE, &format!("/api/admin/widget-keys/{id}"), Some(&admin.access_token), None).await;
    let (status, h, _) = page(app, &format!("key={key}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(header(&h, X_FRAME_OPTIONS), "DENY");
}

async fn not_allowed_origins_cannot_use_a_key(app: &TestApp) {
    let admin = app.demo_admin().await;
    let (_, key) = widget_key(app, &admin, "origins").await;
    let info = |origin: &'static str| {
        let url = format!("{}/api/embed/widget?key={key}", app.url);
        async move {
            let resp = app.http.get(url).header("origin", origin).send().await.expect("get");
            // Readable by the refused page too.
            let acao = header(resp.headers(), "access-control-allow-origin");
            assert!(acao == "*" || acao == origin, "{acao}");
            let status = resp.status();
            (status, resp.json::<Value>().await.expect("json"))
        }
    };
    let (status, body) = info(DEMO_ORIGIN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sandbox"], true);
    let (status, body) = info("https://evil.example").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "not_allowed");
    // An embed token used from a page on another origin is refused too.
    let crm = crm_api_key(app, &admin).await;
    let (_, t) = app.post("/api/embed/tokens", Some(&crm), &json!({"agent_email": "agent@demo.mpt-phone.test"})).await;
    let token = t["token"].as_str().expect("token");
    let resp = app
        .http
        .get(format!("{}/api/me", app.url))
        .bearer_auth(token)
        .header("mpt-widget-key", &key)
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("me");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = app
        .http
        .get(format!("{}/api/me", app.url))
        .bearer_auth(token)
        .header("mpt-widget-key", &key)
        .header("origin", DEMO_ORIGIN)
        .send()
        .await
        .expect("me");
    assert_eq!(resp.status(), StatusCode::OK);
    // The server's own origin (the iframe widget's document) is always allowed.
    let resp = app
        .http
        .get(format!("{}/api/me", app.url))
        .bearer_auth(token)
        .header("mpt-widget-key", &key)
        .header("origin", app.url.as_str())
        .send()
        .await
        .expect("me");
    assert_eq!(resp.status(), StatusCode::OK);
    // Unknown key.
    let resp = app.http.get(format!("{}/api/embed/widget?key=pk_nope", app.url)).send().await.expect("get");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

async fn embed_tokens_are_short_scoped_and_never_refreshed(app: &TestApp) {
    let admin = app.demo_admin().await;
    let agent = app.demo_agent().await;
    let (_, key) = widget_key(app, &admin, "tokens").await;
    let crm = crm_api_key(app, &admin).await;
    // Server to server, for a named agent.
    let (status, body) = app
        .post("/api/embed/tokens", Some(&crm), &json!({"agent_email": "Agent@demo.mpt-phone.test", "contact_id": "c-1", "ttl_s": 120}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let expires_at = body["expires_at"].as_i64().expect("expires_at");
    assert!((expires_at - now_ms() - 120_000).abs() < 5_000, "{expires_at}");
    let token = body["token"].as_str().expect("token").to_string();
    // Useless without the widget key, or with a key of another tenant.
    assert_eq!(embed_req(app, Method::GET, "/api/me", &token, None, None).await.0, StatusCode::UNAUTHORIZED);
    let (_, _, b_admin) = crate::security::tenant_b(app).await;
    let (_, b_key) = widget_key(app, &b_admin, "b").await;
    assert_eq!(embed_req(app, Method::GET, "/api/me", &token, Some(&b_key), None).await.0, StatusCode::UNAUTHORIZED);
    let (status, me) = embed_req(app, Method::GET, "/api/me", &token, Some(&key), None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["email"], "agent@demo.mpt-phone.test");
    // An embed session cannot renew itself.
    let (status, _) = embed_req(app, Method::POST, "/api/embed/tokens", &token, Some(&key), Some(json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Limits.
    for bad in [
        json!({"agent_email": "agent@demo.mpt-phone.test", "ttl_s": 901}),
        json!({"agent_email": "agent@demo.mpt-phone.test", "ttl_s": 0}),
        json!({}),
        json!({"agent_email": "nobody@demo.mpt-phone.test"}),
        json!({"agent_email": "agent@demo.mpt-phone.test", "refresh": true}),
    ] {
        let (status, body) = app.post("/api/embed/tokens", Some(&crm), &bad).await;
        assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND, "{bad}: {status} {body}");
    }
    // Default lifetime: 900 s.
    let (_, body) = app.post("/api/embed/tokens", Some(&crm), &json!({"agent_id": agent.agent.id})).await;
    assert!((body["expires_at"].as_i64().expect("exp") - now_ms() - 900_000).abs() < 5_000);
    // A signed-in agent for itself; not for another agent.
    let (status, body) = app.post("/api/embed/tokens", Some(&agent.access_token), &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = app.post("/api/embed/tokens", Some(&agent.access_token), &json!({"agent_id": admin.agent.id})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // An admin's embed token acts as an agent: no administration from a host page.
    let (_, body) = app.post("/api/embed/tokens", Some(&admin.access_token), &json!({})).await;
    let admin_embed = body["token"].as_str().expect("token").to_string();
    let (status, _) = embed_req(app, Method::GET, "/api/admin/widget-keys", &admin_embed, Some(&key), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Tickets and the socket work with it.
    let (status, t) = embed_req(app, Method::POST, "/api/events/ticket", &token, Some(&key), Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    // Disabling the agent ends it.
    let (status, _) = app.post(&format!("/api/admin/agents/{}/disable", agent.agent.id), Some(&admin.access_token), &json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(embed_req(app, Method::GET, "/api/me", &token, Some(&key), None).await.0, StatusCode::UNAUTHORIZED);
    let (status, _) = app.post("/api/embed/tokens", Some(&crm), &json!({"agent_id": agent.agent.id})).await;
    assert_eq!(status, StatusCode::CONFLICT, "no tokens for a disabled agent");
}

/// Revocation of a token or of its widget key stops requests, tickets, the open socket and
/// calls at once.
async fn revoked_token_or_key_stops_at_once(app: &TestApp) {
    let admin = app.demo_admin().await;
    let (key_id, key) = widget_key(app, &admin, "revocation").await;
    let crm = crm_api_key(app, &admin).await;
    let mint = || async {
        let (status, body) = app.post("/api/embed/tokens", Some(&crm), &json!({"agent_email": "agent@demo.mpt-phone.test"})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (body["id"].as_str().expect("id").to_string(), body["token"].as_str().expect("token").to_string())
    };
    let open_ws = |token: String| {
        let key = key.clone();
        async move {
            let (status, t) = embed_req(app, Method::POST, "/api/events/ticket", &token, Some(&key), Some(json!({}))).await;
            assert_eq!(status, StatusCode::OK, "{t}");
            let mut ws = app.ws_with_ticket(t["ticket"].as_str().expect("ticket"), None).await.expect("ws");
            ws.next(5).await.expect("hello");
            ws
        }
    };
    // 1. The token.
    let (id, token) = mint().await;
    let mut ws = open_ws(token.clone()).await;
    let (status, twilio) = embed_req(app, Method::POST, "/api/twilio/token", &token, Some(&key), Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{twilio}");
    let twilio: TwilioTokenResponse = parse(twilio);
    assert!(twilio.ttl_seconds <= 900, "the Voice token does not outlive the embed token: {}", twilio.ttl_seconds);
    let tenant = app.demo_tenant().await;
    let now = (now_ms() / 1000) as u64;
    let claims = mpt_twilio::token::decode_verify(&twilio.token, &tenant.api_key_secret, now).expect("token");
    let session_param = claims
        .grants
        .voice
        .and_then(|v| v.outgoing)
        .and_then(|o| o.params)
        .and_then(|p| p.get("MptSession").cloned())
        .expect("MptSession grant param");
    // A sandbox call works before…
    let (status, body) = embed_req(app, Method::POST, "/api/sandbox/calls", &token, Some(&key), Some(json!({"to": "+14155550142"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let _: SandboxCallResponse = parse(body);
    let (status, _) = app.request::<()>(Method::DELETE, &format!("/api/embed/tokens/{id}"), Some(&crm), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // …and nothing works after.
    assert_eq!(embed_req(app, Method::GET, "/api/me", &token, Some(&key), None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(embed_req(app, Method::POST, "/api/events/ticket", &token, Some(&key), Some(json!({}))).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(embed_req(app, Method::POST, "/api/twilio/token", &token, Some(&key), Some(json!({}))).await.0, StatusCode::UNAUTHORIZED);
    let (status, _) = embed_req(app, Method::POST, "/api/sandbox/calls", &token, Some(&key), Some(json!({"to": "+14155550142"}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(ws.closed(2).await, Some(mpt_core::api::CLOSE_SESSION_ENDED), "socket closed with 4401");
    // The Voice token minted before the revocation places no call either.
    let tenant = &tenant;
    let voice = |param: String| async move {
        let pairs = [
            ("AccountSid", tenant.account_sid.as_str()),
            ("ApiVersion", "2010-04-01"),
            ("CallSid", "CA0000000000000000000000000000e001"),
            ("CallStatus", "ringing"),
            ("Caller", "client:demo-agent"),
            ("Direction", "inbound"),
            ("From", "client:demo-agent"),
            ("To", "+14155550142"),
            ("MptSession", param.as_str()),
        ];
        app.twilio("/twilio/voice", &tenant.auth_token, &pairs).await
    };
    let (status, xml) = voice(session_param.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(xml.contains("<Hangup") && !xml.contains("<Dial"), "{xml}");
    // A forged session parameter (another session's name without its MAC) is refused.
    let (status, xml) = voice("fam123.00".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!xml.contains("<Dial"), "{xml}");
    // 2. The widget key: every embed session through it ends.
    let (_, token) = mint().await;
    let mut ws = open_ws(token.clone()).await;
    assert_eq!(embed_req(app, Method::GET, "/api/me", &token, Some(&key), None).await.0, StatusCode::OK);
    let (status, _) = app.request::<()>(Method::DELETE, &format!("/api/admin/widget-keys/{key_id}"), Some(&admin.access_token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(embed_req(app, Method::GET, "/api/me", &token, Some(&key), None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(ws.closed(2).await, Some(mpt_core::api::CLOSE_SESSION_ENDED), "socket closed with 4401");
    let (_, audit) = app.get("/api/admin/audit", &admin.access_token).await;
    let text = audit.to_string();
    assert!(text.contains("embed_token.create") && text.contains("embed_token.revoke"), "{text}");
}

/// A live session's sandbox call still goes through the voice webhook's session check.
async fn live_embed_sessions_call(app: &TestApp) {
    let admin = app.demo_admin().await;
    let (_, key) = widget_key(app, &admin, "calls").await;
    let crm = crm_api_key(app, &admin).await;
    let (_, body) = app.post("/api/embed/tokens", Some(&crm), &json!({"agent_email": "agent@demo.mpt-phone.test"})).await;
    let token = body["token"].as_str().expect("token").to_string();
    let (status, body) = embed_req(
        app,
        Method::POST,
        "/api/sandbox/calls",
        &token,
        Some(&key),
        Some(json!({"to": "+14155550142", "client_call_id": "embed-call-0001", "params": {"ContactId": "c-7"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let call = eventually(20, || {
        let token = token.clone();
        let key = key.clone();
        async move {
            let (status, c) = embed_req(app, Method::GET, "/api/calls/embed-call-0001", &token, Some(&key), None).await;
            (status == StatusCode::OK && c["status"] == "completed").then_some(c)
        }
    })
    .await;
    assert_eq!(call["contact_id"], "c-7", "{call}");
}

async fn a_crm_sso_jwt_stands_in_for_an_embed_token(app: &TestApp) {
    use jsonwebtoken::{encode, EncodingKey, Header};
    let admin = app.demo_admin().await;
    let (_, key) = widget_key(app, &admin, "sso").await;
    let secret = "crm-shared-secret-0123456789";
    let cfg = json!({"sso": {"issuer": "https://crm.example", "audience": "mpt-phone", "hs256_secret": secret}, "provision": false});
    let (status, body) = app.request(Method::PUT, "/api/admin/sso", Some(&admin.access_token), Some(&cfg)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let exp = (now_ms() / 1000 + 300) as u64;
    let claims = json!({"iss": "https://crm.example", "aud": "mpt-phone", "sub": "u1", "email": "agent@demo.mpt-phone.test", "exp": exp});
    let jwt = encode(&Header::default(), &claims, &EncodingKey::from_secret(secret.as_bytes())).expect("sign");
    let (status, body) = app.post("/api/embed/sso", None, &json!({"key": key, "assertion": jwt})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.get("refresh_token").is_none());
    let token = body["token"].as_str().expect("token");
    let (status, me) = embed_req(app, Method::GET, "/api/me", token, Some(&key), None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["identity"], "demo-agent");
    let forged = encode(&Header::default(), &claims, &EncodingKey::from_secret(b"wrong-secret-wrong-secret")).expect("sign");
    let (status, _) = app.post("/api/embed/sso", None, &json!({"key": key, "assertion": forged})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.post("/api/embed/sso", None, &json!({"key": "pk_nope", "assertion": jwt})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

both_backends!(
    widget_keys_are_admin_only_hashed_audited_and_revocable,
    only_allowed_origins_may_frame_the_widget,
    not_allowed_origins_cannot_use_a_key,
    embed_tokens_are_short_scoped_and_never_refreshed,
    revoked_token_or_key_stops_at_once,
    live_embed_sessions_call,
    a_crm_sso_jwt_stands_in_for_an_embed_token,
);

/// `widget.js` is served as JavaScript with a long immutable cache, loadable from any
/// origin, and its SRI hash in `/api/config` is the hash of the bytes served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_script_is_immutable_and_its_integrity_published() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("widget.js"), "customElements.define('mpt-phone', class extends HTMLElement {});\n").expect("write");
    std::fs::write(dir.path().join("mpt_web_bg.wasm"), b"\0asm\x01\0\0\0").expect("write");
    std::fs::write(dir.path().join("notes.txt"), "not served").expect("write");
    let widget_dir = dir.path().to_path_buf();
    let app = spawn_app_with(false, move |cfg| cfg.widget_dir = Some(widget_dir)).await.expect("app");
    let resp = app.http.get(format!("{}/phone/v1/widget.js", app.url)).header("origin", "https://any.example").send().await.expect("get");
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert_eq!(header(&h, "content-type"), "text/javascript; charset=utf-8");
    assert_eq!(header(&h, "cache-control"), "public, max-age=31536000, immutable");
    assert_eq!(header(&h, "access-control-allow-origin"), "*");
    assert_eq!(header(&h, "cross-origin-resource-policy"), "cross-origin");
    let body = resp.bytes().await.expect("bytes");
    let agent = app.demo_agent().await;
    let (_, config) = app.get("/api/config", &agent.access_token).await;
    let integrity = config["widget"]["integrity"].as_str().expect("integrity").to_string();
    assert_eq!(integrity, mpt_api_server::widget_assets::integrity(&body));
    assert!(config["widget"]["script_url"].as_str().expect("url").ends_with("/phone/v1/widget.js"));
    assert!(config["tenant_name"].is_string() && config["sandbox"] == true, "{config}");
    let resp = app.http.get(format!("{}/phone/v1/mpt_web_bg.wasm", app.url)).send().await.expect("get");
    assert_eq!(header(resp.headers(), "content-type"), "application/wasm");
    for missing in ["notes.txt", "..%2Fwidget.js", "nope.js"] {
        let resp = app.http.get(format!("{}/phone/v1/{missing}", app.url)).send().await.expect("get");
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{missing}");
    }
    crate::helpers::announce("backend sqlite: ran widget_script_is_immutable_and_its_integrity_published");
    app.stop().await;
}
