use crate::both_backends;
use crate::helpers::TestApp;
use reqwest::StatusCode;

async fn health_headers_and_docs(app: &TestApp) {
    let resp = app.http.get(format!("{}/healthz", app.url)).send().await.expect("healthz");
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(h["content-security-policy"].to_str().expect("csp").contains("default-src 'none'"));
    assert!(h.get("x-request-id").is_some(), "request id header");
    let resp = app.http.get(format!("{}/readyz", app.url)).send().await.expect("readyz");
    assert_eq!(resp.status(), StatusCode::OK);

    let resp = app.http.get(format!("{}/nope", app.url)).send().await.expect("404");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.headers()["x-frame-options"], "DENY", "security headers on errors too");
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "not_found");

    let metrics = app.http.get(format!("{}/metrics", app.url)).send().await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("# TYPE mpt_http_requests_total counter"), "{metrics}");

    let doc: serde_json::Value =
        app.http.get(format!("{}/api/openapi.json", app.url)).send().await.expect("doc").json().await.expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    for p in [
        "/api/auth/login",
        "/api/twilio/token",
        "/twilio/voice",
        "/api/calls",
        "/api/events",
        "/stripe/webhook",
        "/api/admin/billing/checkout",
        "/api/admin/twilio/provision",
    ] {
        assert!(doc["paths"].get(p).is_some(), "openapi lists {p}");
    }
}

async fn config_reports_sandbox(app: &TestApp) {
    let s = app.demo_agent().await;
    let (status, body) = app.get("/api/config", &s.access_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sandbox"], true);
    assert_eq!(body["identity"], "demo-agent");
    assert_eq!(body["caller_ids"][0], "+14155550100");
    assert_eq!(body["dispositions"], serde_json::json!([]), "no list of its own: the phone's defaults");
    // The tenant's own list reaches every agent's phone; bad lists are refused whole.
    let admin = app.demo_admin().await;
    let t = Some(admin.access_token.as_str());
    let list = serde_json::json!(["Sale", "Follow up", "Do not call"]);
    let (status, _) = app.request(reqwest::Method::PUT, "/api/admin/dispositions", t, Some(&list)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = app.get("/api/config", &s.access_token).await;
    assert_eq!(body["dispositions"], list);
    for bad in [serde_json::json!(["Sale", "sale"]), serde_json::json!([""]), serde_json::json!(["x".repeat(65)])] {
        let (status, _) = app.request(reqwest::Method::PUT, "/api/admin/dispositions", t, Some(&bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (_, body) = app.get("/api/config", &s.access_token).await;
    assert_eq!(body["dispositions"], list, "a refused list changes nothing");
    let (status, _) = app.request(reqwest::Method::PUT, "/api/admin/dispositions", Some(&s.access_token), Some(&list)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "agents cannot set it");
}

async fn allowed_origins_reach_the_phone(app: &TestApp) {
    let s = app.demo_agent().await;
    let (_, body) = app.get("/api/config", &s.access_token).await;
    assert!(
        body["allowed_origins"].as_array().is_some_and(|l| l.iter().any(|o| o == "http://127.0.0.1:*")),
        "the demo tenant's CRM origins reach the phone: {body}"
    );
    let admin = app.demo_admin().await;
    let t = Some(admin.access_token.as_str());
    let list = serde_json::json!(["https://crm.example.com", "http://localhost:*"]);
    let (status, _) = app.request(reqwest::Method::PUT, "/api/admin/allowed-origins", t, Some(&list)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = app.get("/api/config", &s.access_token).await;
    assert_eq!(body["allowed_origins"], list);
    for bad in [serde_json::json!(["*"]), serde_json::json!(["https://crm.example.com/path"]), serde_json::json!(["https://*"])] {
        let (status, body) = app.request(reqwest::Method::PUT, "/api/admin/allowed-origins", t, Some(&bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (_, body) = app.get("/api/config", &s.access_token).await;
    assert_eq!(body["allowed_origins"], list, "a refused list changes nothing");
    let (status, _) = app.request(reqwest::Method::PUT, "/api/admin/allowed-origins", Some(&s.access_token), Some(&list)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "agents cannot set it");
}

async fn bad_json_gets_error_shape(app: &TestApp) {
    let resp = app
        .http
        .post(format!("{}/api/auth/login", app.url))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "bad_request");
}

both_backends!(health_headers_and_docs, config_reports_sandbox, allowed_origins_reach_the_phone, bad_json_gets_error_shape);
