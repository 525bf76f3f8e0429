//! The server tried as an attacker would (issue "api-server hardened"): one test per
//! finding, each written to fail on the code before its fix.

use crate::both_backends;
use crate::helpers::{eventually, parse, spawn_app_with, TestApp};
use mpt_api_server::agents::{create, NewAgent};
use mpt_core::api::{AuthResponse, CallLog, CallLogPage, Role, ServerEvent};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

async fn agent(app: &TestApp, email: &str, role: Role) -> AuthResponse {
    let tenant = app.demo_tenant().await;
    create(
        app.state(),
        &tenant.id,
        &NewAgent { email: email.into(), name: email.into(), password: Some("second-pass".into()), role, identity: None },
    )
    .await
    .expect("agent");
    app.login(email, "second-pass").await
}

fn log(from: &str, to: &str, direction: &str) -> serde_json::Value {
    json!({"direction": direction, "from": from, "to": to, "started_at": 1_795_000_000_000i64, "notes": "private note of A"})
}

/// How long a test waits for a socket the server must close at once: far sooner than its
/// next heartbeat (`HEARTBEAT`, 20 s), which is when a server that missed the change would act.
const SOONER_THAN_A_HEARTBEAT: u64 = 5;

/// Agent B of the same tenant reads, lists, patches and exports nothing of agent A's;
/// a supervisor sees it; both see an inbound call nobody answered.
async fn agents_see_only_their_own_calls(app: &TestApp) {
    let a = app.demo_agent().await;
    let b = agent(app, "b@demo.mpt-phone.test", Role::Agent).await;
    let sup = agent(app, "sup@demo.mpt-phone.test", Role::Supervisor).await;
    let (status, _) = app
        .request(Method::PUT, "/api/calls/call-of-agent-a", Some(&a.access_token), Some(&log("+14155550100", "+14155550142", "outbound")))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // An inbound call no agent answered (voicemail): everyone may pick it up.
    let tenant = app.demo_tenant().await;
    let nc = mpt_api_server::calls::NewCall {
        id: "inbound-unanswered".into(),
        agent_id: None,
        direction: mpt_core::api::CallDirection::Inbound,
        from: "+14155550177".into(),
        to: "+14155550100".into(),
        contact_id: None,
        contact_name: None,
        crm: None,
        call_sid: Some("CAinboundunanswered".into()),
        status: "no-answer".into(),
        sandbox: true,
        started_at: 1_795_000_000_001,
    };
    mpt_api_server::calls::insert(app.state(), &tenant.id, &nc, |_| Vec::new()).await.expect("insert");

    let tb = Some(b.access_token.as_str());
    assert_eq!(app.get("/api/calls/call-of-agent-a", &b.access_token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.request(Method::PATCH, "/api/calls/call-of-agent-a", tb, Some(&json!({"notes": "overwritten"}))).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _) =
        app.request(Method::PUT, "/api/calls/call-of-agent-a", tb, Some(&log("+14155550100", "+14155550143", "outbound"))).await;
    assert_eq!(status, StatusCode::CONFLICT, "B cannot merge into A's log");
    let (_, page) = app.get("/api/calls", &b.access_token).await;
    let ids: Vec<String> = parse::<CallLogPage>(page).items.into_iter().map(|c| c.id).collect();
    assert_eq!(ids, vec!["inbound-unanswered".to_string()], "B lists only the unanswered inbound call");
    let (_, page) = app.get(&format!("/api/calls?agent_id={}", a.agent.id), &b.access_token).await;
    assert!(parse::<CallLogPage>(page).items.is_empty(), "an agent filter does not widen the scope");
    let (status, body) = app.get("/api/calls/export.csv", &b.access_token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "not_allowed");
    assert_eq!(app.get("/api/calls/inbound-unanswered", &b.access_token).await.0, StatusCode::OK);

    // A's call is untouched; A and the supervisor see it.
    let (_, call) = app.get("/api/calls/call-of-agent-a", &a.access_token).await;
    let call: CallLog = parse(call);
    assert_eq!(call.notes.as_deref(), Some("private note of A"));
    assert_eq!(call.to, "+14155550142");
    assert_eq!(app.get("/api/calls/call-of-agent-a", &sup.access_token).await.0, StatusCode::OK);
    let (_, page) = app.get("/api/calls", &sup.access_token).await;
    assert_eq!(parse::<CallLogPage>(page).items.len(), 2);

    // The supervisor's export streams every call and is audited (without the number).
    let resp = app
        .http
        .get(format!("{}/api/calls/export.csv?number=%2B14155550142", app.url))
        .bearer_auth(&sup.access_token)
        .send()
        .await
        .expect("csv");
    assert_eq!(resp.status(), StatusCode::OK);
    let csv = resp.text().await.expect("csv");
    assert!(csv.contains("call-of-agent-a") && !csv.contains("inbound-unanswered"), "{csv}");
    let admin = app.demo_admin().await;
    let (_, audit) = app.get("/api/admin/audit", &admin.access_token).await;
    let export = audit.as_array().expect("entries").iter().find(|e| e["action"] == "calls.export").expect("export audited").clone();
    assert_eq!(export["actor"], format!("agent:{}", sup.agent.id));
    assert!(!export.to_string().contains("4155550142"), "{export}");
    // Exports are rate-limited per caller.
    let mut limited = false;
    for _ in 0..8 {
        limited |= app.get("/api/calls/export.csv", &sup.access_token).await.0 == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited, "a few exports a minute");
}

/// API keys carry a role, and agent keys an agent; a revoked key is refused at once.
async fn api_keys_are_scoped_and_revocable(app: &TestApp) {
    let admin = app.demo_admin().await;
    let a = app.demo_agent().await;
    let t = Some(admin.access_token.as_str());
    let (status, body) = app.post("/api/admin/api-keys", t, &json!({"name": "agent key", "role": "agent"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an agent key needs an agent: {body}");
    let (status, body) = app.post("/api/admin/api-keys", t, &json!({"name": "a's key", "agent_id": a.agent.id})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (key_id, key) = (body["id"].as_str().expect("id").to_string(), body["key"].as_str().expect("key").to_string());
    let b = agent(app, "b2@demo.mpt-phone.test", Role::Agent).await;
    app.request(Method::PUT, "/api/calls/call-of-agent-b", Some(&b.access_token), Some(&log("+14155550100", "+14155550144", "outbound")))
        .await;
    assert_eq!(app.get("/api/calls/call-of-agent-b", &key).await.0, StatusCode::NOT_FOUND, "A's key sees what A sees");
    let (status, _) = app.get("/api/calls", &key).await;
    assert_eq!(status, StatusCode::OK);
    // The key can open A's event socket, which ends when the key is revoked.
    let mut ws = app.ws(&key, None).await;
    ws.next(5).await.expect("hello");
    let (_, keys) = app.get("/api/admin/api-keys", &admin.access_token).await;
    assert!(keys.to_string().contains(&key_id) && !keys.to_string().contains(&key), "listed without the secret");
    let (status, _) = app.request::<()>(Method::DELETE, &format!("/api/admin/api-keys/{key_id}"), t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/calls", &key).await.0, StatusCode::UNAUTHORIZED, "revoked at once");
    assert_eq!(ws.closed(SOONER_THAN_A_HEARTBEAT).await, Some(mpt_core::api::CLOSE_SESSION_ENDED), "its socket closes at once");
    let (status, _) = app.request::<()>(Method::DELETE, &format!("/api/admin/api-keys/{key_id}"), t, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Agents cannot manage keys.
    assert_eq!(app.post("/api/admin/api-keys", Some(&a.access_token), &json!({"name": "x"})).await.0, StatusCode::FORBIDDEN);
}

/// A disabled agent gets 401 at once (access token, refresh, sign-in), its socket closes
/// within a second, and enabling it lets it sign in again.
async fn disabled_agents_are_out_at_once(app: &TestApp) {
    let admin = app.demo_admin().await;
    let victim = agent(app, "leaver@demo.mpt-phone.test", Role::Agent).await;
    let mut ws = app.ws(&victim.access_token, None).await;
    ws.next(5).await.expect("hello");
    let spare_ticket = app.ticket(&victim.access_token).await;
    let (status, _) = app.post(&format!("/api/admin/agents/{}/disable", victim.agent.id), Some(&admin.access_token), &json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // At once: well before the socket's next heartbeat, when a stale session would be seen.
    assert_eq!(ws.closed(SOONER_THAN_A_HEARTBEAT).await, Some(mpt_core::api::CLOSE_SESSION_ENDED), "socket closed with 4401");
    assert_eq!(app.get("/api/me", &victim.access_token).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.post("/api/twilio/token", Some(&victim.access_token), &json!({})).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.post("/api/auth/refresh", None, &json!({"refresh_token": victim.refresh_token})).await.0, StatusCode::UNAUTHORIZED);
    let (status, _) = app.post("/api/auth/login", None, &json!({"email": "leaver@demo.mpt-phone.test", "password": "second-pass"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.ws_with_ticket(&spare_ticket, None).await.err(), Some(401), "unused tickets die with the agent");
    let (status, _) = app.post(&format!("/api/admin/agents/{}/enable", victim.agent.id), Some(&admin.access_token), &json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let again = app.login("leaver@demo.mpt-phone.test", "second-pass").await;
    assert_eq!(app.get("/api/me", &again.access_token).await.0, StatusCode::OK);
    assert_eq!(app.get("/api/me", &victim.access_token).await.0, StatusCode::UNAUTHORIZED, "old sessions stay revoked");
    // Admins cannot disable themselves; other tenants' agents are not found.
    let (status, _) = app.post(&format!("/api/admin/agents/{}/disable", admin.agent.id), Some(&admin.access_token), &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(app.post("/api/admin/agents/ag_nope/disable", Some(&admin.access_token), &json!({})).await.0, StatusCode::NOT_FOUND);
}

/// The socket takes only a fresh single-use ticket: an access token in the URL (what a
/// stolen token would try) opens nothing, a ticket opens one socket once, and sign-out
/// closes the socket with 4401.
async fn stolen_tokens_cannot_open_the_socket(app: &TestApp) {
    let s = app.demo_agent().await;
    let base = app.url.replace("http://", "ws://");
    for query in [format!("token={}", s.access_token), format!("access_token={}", s.access_token), format!("ticket={}", s.access_token)] {
        let err = tokio_tungstenite::connect_async(format!("{base}/api/events?{query}")).await.expect_err("refused");
        let status = match err {
            tokio_tungstenite::tungstenite::Error::Http(resp) => resp.status().as_u16(),
            e => panic!("unexpected {e}"),
        };
        assert!(status == 400 || status == 401, "{query}: {status}");
    }
    let ticket = app.ticket(&s.access_token).await;
    let mut ws = app.ws_with_ticket(&ticket, None).await.expect("first use");
    ws.next(5).await.expect("hello");
    assert_eq!(app.ws_with_ticket(&ticket, None).await.err(), Some(401), "single use");
    // An expired ticket is refused.
    let old = app.ticket(&s.access_token).await;
    sqlx::query("UPDATE event_tickets SET expires_at = 0 WHERE used_at IS NULL").execute(&app.state().db.pool).await.expect("expire");
    assert_eq!(app.ws_with_ticket(&old, None).await.err(), Some(401));
    // API keys without an agent have no socket.
    let admin = app.demo_admin().await;
    let (_, key) = app.post("/api/admin/api-keys", Some(&admin.access_token), &json!({"name": "backend"})).await;
    let key = key["key"].as_str().expect("key");
    assert_eq!(app.post("/api/events/ticket", Some(key), &json!({})).await.0, StatusCode::FORBIDDEN);
    // Sign-out ends the session: the access token is refused and the socket closes.
    let (status, _) = app.post("/api/auth/logout", None, &json!({"refresh_token": s.refresh_token})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(ws.closed(SOONER_THAN_A_HEARTBEAT).await, Some(mpt_core::api::CLOSE_SESSION_ENDED));
    assert_eq!(app.get("/api/me", &s.access_token).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.post("/api/events/ticket", Some(&s.access_token), &json!({})).await.0, StatusCode::UNAUTHORIZED);
}

/// Two refreshes of one token at once both get the same successor (the agent stays
/// signed in); a family ends at its absolute lifetime however often it is refreshed.
async fn racing_refreshes_share_a_successor_and_families_end(app: &TestApp) {
    let s = app.demo_agent().await;
    let body = json!({"refresh_token": s.refresh_token});
    let (r1, r2) = tokio::join!(app.post("/api/auth/refresh", None, &body), app.post("/api/auth/refresh", None, &body));
    assert_eq!(r1.0, StatusCode::OK, "{}", r1.1);
    assert_eq!(r2.0, StatusCode::OK, "{}", r2.1);
    let (n1, n2): (AuthResponse, AuthResponse) = (parse(r1.1), parse(r2.1));
    assert_eq!(n1.refresh_token, n2.refresh_token, "one successor");
    assert_eq!(app.get("/api/me", &n1.access_token).await.0, StatusCode::OK);
    let (status, body) = app.post("/api/auth/refresh", None, &json!({"refresh_token": n1.refresh_token})).await;
    assert_eq!(status, StatusCode::OK, "the family lives on: {body}");
    let n3: AuthResponse = parse(body);
    // Thirty-one days (2,678,400,000 ms) after the sign-in the family is over, refreshed or not.
    sqlx::query("UPDATE refresh_tokens SET family_started_at = family_started_at - CAST(2678400000 AS BIGINT)")
        .execute(&app.state().db.pool)
        .await
        .expect("age");
    assert_eq!(app.post("/api/auth/refresh", None, &json!({"refresh_token": n3.refresh_token})).await.0, StatusCode::UNAUTHORIZED);
    eventually(3, || async { (app.get("/api/me", &n3.access_token).await.0 == StatusCode::UNAUTHORIZED).then_some(()) }).await;
}

/// Presence updates are merged and throttled per agent, and the last one always lands.
async fn presence_is_merged_never_dropped(app: &TestApp) {
    let s = app.demo_agent().await;
    let admin = app.demo_admin().await;
    let mut watch = app.ws(&admin.access_token, None).await;
    watch.next(5).await.expect("hello");
    let started = std::time::Instant::now();
    for i in 0..20 {
        let (status, _) =
            app.request(Method::PUT, "/api/me/presence", Some(&s.access_token), Some(&json!({"available": i % 2 == 0}))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    // One event at once and at most one per window after it (a slow machine takes longer
    // to send the 20, so more windows pass), plus the last one.
    let windows = started.elapsed().as_secs_f64() / mpt_api_server::presence::WINDOW.as_secs_f64();
    let most = 2 + windows.ceil() as usize;
    let mut seen = Vec::new();
    while let Some(env) = watch.next(3).await {
        if let ServerEvent::Presence { agent_id, available } = env.event {
            if agent_id == s.agent.id {
                seen.push(available);
            }
        }
    }
    assert!(!seen.is_empty() && seen.len() <= most.min(19), "20 updates became {} events (at most {most}): {seen:?}", seen.len());
    assert_eq!(seen.last(), Some(&false), "the last update (available: false) landed");
    // Admins see it: the agents list says whether inbound calls ring the agent now.
    let listed = || async {
        let (status, agents) = app.get("/api/admin/agents", &admin.access_token).await;
        assert_eq!(status, StatusCode::OK, "{agents}");
        agents.as_array().and_then(|a| a.iter().find(|a| a["id"] == s.agent.id.as_str())).cloned().expect("the agent is listed")
    };
    assert_eq!(listed().await["available"], false);
    // The loop above ended after 3 s without an event, longer than a window: the next
    // update lands at once, and the list says so.
    let (status, _) = app.request(Method::PUT, "/api/me/presence", Some(&s.access_token), Some(&json!({"available": true}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(listed().await["available"], true);
}

/// The socket refuses client messages beyond its limit.
async fn socket_messages_are_bounded(app: &TestApp) {
    let s = app.demo_agent().await;
    let mut ws = app.ws(&s.access_token, None).await;
    ws.next(5).await.expect("hello");
    ws.send_text(&format!(r#"{{"type":"heartbeat","pad":"{}"}}"#, "x".repeat(64 * 1024))).await;
    assert!(ws.closed(3).await.is_some(), "an oversized message ends the socket");
}

/// A connector may not reach loopback, private or link-local addresses (nor follow a
/// redirect to one, nor read an unbounded answer) unless the tenant allowlists the host.
async fn connectors_cannot_reach_private_addresses(app: &TestApp) {
    let admin = app.demo_admin().await;
    let t = Some(admin.access_token.as_str());
    let hits = Arc::new(AtomicUsize::new(0));
    let metadata = {
        let hits = hits.clone();
        serve(axum::Router::new().fallback(move || {
            let hits = hits.clone();
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                axum::Json(json!({"data": [{"id": "x", "name": "Secret", "phone": "+14155550166"}]}))
            }
        }))
        .await
    };
    let conn = |base: &str| {
        json!([{ "name": "evil", "lookup_url": format!("{base}/latest/meta-data?phone={{phone}}"), "search_url": format!("{base}/s?q={{q}}"),
            "items_path": "data", "fields": {"id": "id", "name": "name", "phone": "phone"} }])
    };
    for base in [
        metadata.clone(),
        metadata.replace("127.0.0.1", "localhost"),
        "http://169.254.169.254".into(),
        "http://[::1]:80".into(),
        "file:///etc/passwd".into(),
    ] {
        let (status, body) = app.request(Method::PUT, "/api/admin/connectors", t, Some(&conn(&base))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{base}: {body}");
    }
    let (status, _) = app
        .request(
            Method::PUT,
            "/api/admin/connectors",
            t,
            Some(&json!([{ "name": "hdr", "lookup_url": "https://crm.example/x?p={phone}", "search_url": "https://crm.example/s?q={q}",
            "auth_header": ["Host", "internal"], "fields": {"id": "id", "name": "name", "phone": "phone"} }])),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "routing headers are denied");
    // Stored behind validation's back (an older server wrote it): still never fetched.
    let tenant = app.demo_tenant().await;
    let stored: Vec<mpt_api_server::tenant::ConnectorConfig> = serde_json::from_value(conn(&metadata)).expect("conn");
    mpt_api_server::tenant::set_connectors(app.state(), &tenant.id, &stored).await.expect("store");
    mpt_api_server::tenant::set_connector_hosts(app.state(), &tenant.id, &[]).await.expect("no allowlist");
    let (status, body) = app.get("/api/contacts/lookup?number=%2B14155550166", &admin.access_token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.to_string().contains("Secret"), "{body}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the metadata endpoint was never fetched");

    // An allowlisted CRM that redirects to the metadata endpoint: the redirect is not followed.
    let redirector = serve(axum::Router::new().fallback({
        let target = format!("{metadata}/latest/meta-data");
        move || {
            let target = target.clone();
            async move { axum::response::Redirect::temporary(&target) }
        }
    }))
    .await;
    let big = serve(axum::Router::new().fallback(|| async { "x".repeat(2 << 20) })).await;
    let hosts: Vec<String> = [&redirector, &big].iter().map(|u| u.trim_start_matches("http://").to_string()).collect();
    let (status, _) = app.request(Method::PUT, "/api/admin/connector-hosts", t, Some(&hosts)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for base in [&redirector, &big] {
        let (status, body) = app.request(Method::PUT, "/api/admin/connectors", t, Some(&conn(base))).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (status, body) = app.get("/api/contacts/lookup?number=%2B14155550199", &admin.access_token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["items"].as_array().expect("items").is_empty(), "{body}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the redirect target was never fetched");
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    url
}

both_backends!(
    agents_see_only_their_own_calls,
    api_keys_are_scoped_and_revocable,
    disabled_agents_are_out_at_once,
    stolen_tokens_cannot_open_the_socket,
    racing_refreshes_share_a_successor_and_families_end,
    presence_is_merged_never_dropped,
    socket_messages_are_bounded,
    connectors_cannot_reach_private_addresses,
);

/// Sign-in abuse: oversized credentials are refused before any work, failures back off
/// per account, and behind a trusted proxy the limiter keys on the real client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_abuse_is_bounded_and_keyed_on_the_real_client() {
    let app = spawn_app_with(false, |cfg| {
        cfg.trusted_proxies = mpt_api_server::client_ip::parse_trusted("127.0.0.1").expect("trusted");
        cfg.login_rate_per_min = 10;
    })
    .await
    .expect("sqlite app");
    let login = |email: String, password: &'static str, xff: &'static str| {
        app.http
            .post(format!("{}/api/auth/login", app.url))
            .header("x-forwarded-for", xff)
            .json(&json!({"email": email, "password": password}))
            .send()
    };
    let resp = login("x".repeat(300) + "@a.test", "pw", "198.51.100.1").await.expect("login");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "emails beyond 254 bytes");
    let resp = login("a@a.test".into(), "pw", "198.51.100.1").await.expect("login");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = app
        .http
        .post(format!("{}/api/auth/login", app.url))
        .json(&json!({"email": "a@a.test", "password": "p".repeat(2000)}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "passwords beyond 1 KiB");
    // Its own client: the server answers without reading the body and closes that
    // connection, which a shared pool could hand to the next request before it sees the close.
    let resp = reqwest::Client::new()
        .post(format!("{}/api/auth/login", app.url))
        .json(&json!({"email": "e".repeat(100_000), "password": "x"}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE, "a 100 KB body is not even read");

    // Per account: the demo agent's password is guessed from many addresses; after five
    // failures the account backs off, whatever the address, even for the right password.
    let ips = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4", "203.0.113.5", "203.0.113.6"];
    for ip in ips {
        let _ = login("agent@demo.mpt-phone.test".into(), "wrong-guess", ip).await.expect("login");
    }
    let resp = login("agent@demo.mpt-phone.test".into(), "demo-agent-pass", "203.0.113.7").await.expect("login");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS, "the account backs off");
    assert!(resp.headers().contains_key("retry-after"));
    // Per client address: ten a minute from one client; another client is not affected
    // (before, everyone behind the proxy shared one limit).
    for i in 0..10 {
        let _ = login(format!("nobody{i}@a.test"), "pw", "192.0.2.10").await.expect("login");
    }
    assert_eq!(login("fresh@a.test".into(), "pw", "192.0.2.10").await.expect("login").status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(login("fresh@a.test".into(), "pw", "192.0.2.11").await.expect("login").status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

/// `/metrics` is for the configured bearer token (or, without one, loopback clients only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_a_token_or_loopback() {
    let app = spawn_app_with(false, |cfg| cfg.metrics_token = Some("scrape-secret".into())).await.expect("sqlite app");
    let get = |token: Option<&'static str>| {
        let mut req = app.http.get(format!("{}/metrics", app.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    assert_eq!(get(None).await.expect("get").status(), StatusCode::NOT_FOUND);
    assert_eq!(get(Some("wrong")).await.expect("get").status(), StatusCode::NOT_FOUND);
    let ok = get(Some("scrape-secret")).await.expect("get");
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.text().await.expect("text").contains("mpt_http_requests_total"));
    app.stop().await;

    // Without a token: loopback only; a client behind our proxy is not loopback.
    let app = spawn_app_with(false, |cfg| cfg.trusted_proxies = mpt_api_server::client_ip::parse_trusted("127.0.0.1").expect("trusted"))
        .await
        .expect("sqlite app");
    assert_eq!(app.http.get(format!("{}/metrics", app.url)).send().await.expect("get").status(), StatusCode::OK);
    let proxied = app.http.get(format!("{}/metrics", app.url)).header("x-forwarded-for", "203.0.113.9").send().await.expect("get");
    assert_eq!(proxied.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}
