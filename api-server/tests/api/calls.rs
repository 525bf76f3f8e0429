use crate::both_backends;
use crate::helpers::{parse, TestApp};
use mpt_core::api::{CallLog, CallLogPage};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn upsert_body(i: i64) -> serde_json::Value {
    json!({
        "direction": if i % 2 == 0 { "outbound" } else { "inbound" },
        "from": "+14155550100",
        "to": format!("+1415555{:04}", 1000 + i),
        "started_at": 1_700_000_000_000i64 + i * 1000,
        "status": "completed",
        "duration_seconds": 30,
        "notes": format!("note {i}, with a comma"),
        "crm": "mpt-crm"
    })
}

async fn offline_logs_are_idempotent(app: &TestApp) {
    let s = app.demo_agent().await;
    let t = Some(s.access_token.as_str());
    let (status, body) = app.request(Method::PUT, "/api/calls/offline-0000001", t, Some(&upsert_body(1))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app.request(Method::PUT, "/api/calls/offline-0000001", t, Some(&upsert_body(1))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.count("calls").await, 1);
    let call: CallLog = parse(body);
    assert_eq!(call.notes.as_deref(), Some("note 1, with a comma"));
    let (status, _) = app.request(Method::PUT, "/api/calls/bad id", t, Some(&upsert_body(1))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut bad = upsert_body(2);
    bad["to"] = json!("not a number");
    let (status, body) = app.request(Method::PUT, "/api/calls/offline-0000002", t, Some(&bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"].as_str().expect("msg").contains("phone"), "{body}");
}

async fn list_filters_paginate_patch_and_export(app: &TestApp) {
    let s = app.demo_agent().await;
    let t = Some(s.access_token.as_str());
    for i in 0..7 {
        let (status, _) = app.request(Method::PUT, &format!("/api/calls/list-call-{i:04}"), t, Some(&upsert_body(i))).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    // Pages of 3, newest first, no overlap, all seen.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/calls?limit=3&cursor={c}"),
            None => "/api/calls?limit=3".to_string(),
        };
        let (status, body) = app.get(&path, &s.access_token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page: CallLogPage = parse(body);
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|c| c.id.clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let expected: Vec<String> = (0..7).rev().map(|i| format!("list-call-{i:04}")).collect();
    assert_eq!(seen, expected);
    let (_, body) = app.get("/api/calls?direction=inbound", &s.access_token).await;
    assert_eq!(parse::<CallLogPage>(body).items.len(), 3);
    let (_, body) = app.get("/api/calls?number=%2B14155551003", &s.access_token).await;
    let page: CallLogPage = parse(body);
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id, "list-call-0003");
    let (_, body) = app.get("/api/calls?since=1700000005000", &s.access_token).await;
    assert_eq!(parse::<CallLogPage>(body).items.len(), 2);
    let (status, _) = app.get("/api/calls?direction=sideways", &s.access_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.get("/api/calls?cursor=%%%", &s.access_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, body) = app
        .request(Method::PATCH, "/api/calls/list-call-0002", t, Some(&json!({"notes": "=HYPERLINK(\"x\")", "disposition": "connected"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let call: CallLog = parse(body);
    assert_eq!(call.disposition.as_deref(), Some("connected"));
    let (status, _) = app.request(Method::PATCH, "/api/calls/nope-0000", t, Some(&json!({"notes": "x"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Exports are for supervisors and admins.
    let resp = app.http.get(format!("{}/api/calls/export.csv", app.url)).bearer_auth(&s.access_token).send().await.expect("csv");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let admin = app.demo_admin().await;
    let resp = app.http.get(format!("{}/api/calls/export.csv", app.url)).bearer_auth(&admin.access_token).send().await.expect("csv");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().expect("ct").starts_with("text/csv"));
    let csv = resp.text().await.expect("text");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 8, "{csv}");
    assert!(lines[0].starts_with("id,direction,agent_id,from,to"));
    assert!(csv.contains("\"note 1, with a comma\""), "{csv}");
    assert!(csv.contains("\"'=HYPERLINK(\"\"x\"\")\""), "formula neutralized: {csv}");

    // Numbers and notes are encrypted at rest.
    use sqlx::Row;
    let rows = sqlx::query("SELECT from_enc, to_enc, notes_enc FROM calls").fetch_all(&app.state().db.pool).await.expect("rows");
    for r in rows {
        let to: String = r.try_get("to_enc").expect("to");
        assert!(to.starts_with("v1.") && !to.contains("+1415"), "{to}");
        let notes: Option<String> = r.try_get("notes_enc").expect("notes");
        assert!(!notes.unwrap_or_default().contains("note"));
    }
}

both_backends!(offline_logs_are_idempotent, list_filters_paginate_patch_and_export);
