use crate::both_backends;
use crate::helpers::TestApp;
use mpt_core::api::ServerEvent;
use reqwest::{Method, StatusCode};
use serde_json::json;

fn body(n: u32) -> serde_json::Value {
    json!({"direction": "outbound", "from": "+14155550100", "to": "+14155550142", "started_at": n, "notes": format!("n{n}")})
}

async fn live_events_resume_without_loss(app: &TestApp) {
    let s = app.demo_agent().await;
    let t = Some(s.access_token.as_str());
    let mut ws = app.ws(&s.access_token, None).await;
    let hello = ws.next(5).await.expect("hello");
    assert!(matches!(hello.event, ServerEvent::Hello { .. }), "{hello:?}");
    assert_eq!(app.request(Method::PUT, "/api/calls/evt-call-0001", t, Some(&body(1))).await.0, StatusCode::CREATED);
    let ev = ws.until(5, |e| matches!(&e.event, ServerEvent::LogUpdated { call } if call.id == "evt-call-0001")).await;
    let last = ev.id.expect("stored events have ids");
    ws.close().await;

    // While disconnected: three more changes.
    for i in 2..5 {
        app.request(Method::PUT, &format!("/api/calls/evt-call-{i:04}"), t, Some(&body(i))).await;
    }
    let mut ws = app.ws(&s.access_token, Some(last)).await;
    let mut got = Vec::new();
    loop {
        let ev = ws.next(5).await.expect("event");
        match ev.event {
            ServerEvent::LogUpdated { call } => {
                assert!(ev.id.expect("id") > last);
                got.push(call.id);
            }
            ServerEvent::Hello { last_event_id, .. } => {
                assert!(last_event_id > last);
                break;
            }
            _ => {}
        }
    }
    assert_eq!(got, ["evt-call-0002", "evt-call-0003", "evt-call-0004"]);

    // Presence from the socket reaches other agents of the tenant.
    let admin = app.demo_admin().await;
    let mut ws_admin = app.ws(&admin.access_token, None).await;
    ws_admin.next(5).await.expect("hello");
    ws.send_text(r#"{"type":"presence","available":false}"#).await;
    let ev = ws_admin.until(5, |e| matches!(e.event, ServerEvent::Presence { .. })).await;
    assert_eq!(ev.event, ServerEvent::Presence { agent_id: s.agent.id.clone(), available: false });
    ws.close().await;
    ws_admin.close().await;
}

async fn socket_requires_a_valid_token(app: &TestApp) {
    let url = format!("{}/api/events?token=nope", app.url.replace("http://", "ws://"));
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
}

both_backends!(live_events_resume_without_loss, socket_requires_a_valid_token);

/// With PostgreSQL, an event published by one server reaches a socket on another
/// (LISTEN/NOTIFY), in order and without loss.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_events_cross_processes() {
    let Some(app) = crate::helpers::spawn_app_pg().await else {
        crate::helpers::announce("backend postgres: NOT RUN for postgres_events_cross_processes (MPT_TEST_DATABASE_URL unset)");
        return;
    };
    let other = app.sibling().await;
    let s = app.demo_agent().await;
    let mut ws = app.ws(&s.access_token, None).await;
    ws.next(5).await.expect("hello");
    // Webhook-driven changes arrive at the other server.
    let t = app.demo_tenant().await;
    let http = reqwest::Client::new();
    for i in 0..5u32 {
        let b = body(i);
        let r = http
            .put(format!("{}/api/calls/xproc-call-{i:04}", other.url))
            .bearer_auth(&s.access_token)
            .json(&b)
            .send()
            .await
            .expect("put");
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let _ = t;
    let mut got = Vec::new();
    while got.len() < 5 {
        let ev = ws.until(10, |e| matches!(e.event, ServerEvent::LogUpdated { .. })).await;
        if let ServerEvent::LogUpdated { call } = ev.event {
            got.push(call.id);
        }
    }
    let want: Vec<String> = (0..5).map(|i| format!("xproc-call-{i:04}")).collect();
    assert_eq!(got, want);
    ws.close().await;
    other.shutdown().await;
    crate::helpers::announce("backend postgres: ran postgres_events_cross_processes");
    app.stop().await;
}
