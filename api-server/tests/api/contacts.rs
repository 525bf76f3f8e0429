use crate::both_backends;
use crate::helpers::TestApp;
use axum::routing::get;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// A tiny CRM API in the demo MPT-CRM's layout: `GET /api/contacts?phone=…|q=…` with
/// `Authorization: Bearer demo-crm-token`.
pub(crate) async fn fake_crm(slow: bool) -> String {
    let app = axum::Router::new().route(
        "/api/contacts",
        get(move |headers: axum::http::HeaderMap, q: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
            if slow {
                tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            }
            if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer demo-crm-token") {
                return (axum::http::StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "unauthorized"})));
            }
            let hit = q.get("phone").map(|p| p == "+14155550166").unwrap_or(false)
                || q.get("q").map(|s| s.to_lowercase().contains("hedy")).unwrap_or(false);
            let data = if hit {
                json!([{"id": "crm-42", "type": "contact", "attributes": {
                    "first_name": "Hedy", "last_name": "Lamarr", "company": "Spread Spectrum",
                    "phone_numbers": [{"label": "work", "number": "(415) 555-0166"}]},
                    "links": {"self": "http://crm.test/contacts/crm-42"}}])
            } else {
                json!([])
            };
            (axum::http::StatusCode::OK, axum::Json(json!({"data": data, "meta": {"total": 1}})))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

async fn local_and_crm_contacts(app: &TestApp) {
    let s = app.demo_agent().await;
    let admin = app.demo_admin().await;
    let (status, body) = app.get("/api/contacts/lookup?number=(415)%20555-0123", &s.access_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"][0]["name"], "Ada Lovelace");
    assert_eq!(body["items"][0]["source"], "local");
    let (_, body) = app.get("/api/contacts/search?q=grace", &s.access_token).await;
    assert_eq!(body["items"][0]["phone"], "+14155550187");
    let (status, _) = app.get("/api/contacts/lookup?number=abc", &s.access_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let crm = fake_crm(false).await;
    let connector = mpt_api_server::seed::mpt_crm_connector(&crm);
    // The fake CRM is on loopback: refused until the tenant allowlists its host.
    let resp = app.request(Method::PUT, "/api/admin/connectors", Some(&admin.access_token), Some(&vec![connector.clone()])).await;
    assert_eq!(resp.0, StatusCode::BAD_REQUEST, "{}", resp.1);
    let slow = fake_crm(true).await;
    let hosts = mpt_api_server::connector_http::hosts_of(&[connector.clone(), mpt_api_server::seed::mpt_crm_connector(&slow)]);
    let resp = app.request(Method::PUT, "/api/admin/connector-hosts", Some(&admin.access_token), Some(&hosts)).await;
    assert_eq!(resp.0, StatusCode::NO_CONTENT, "{}", resp.1);
    let resp = app.request(Method::PUT, "/api/admin/connectors", Some(&admin.access_token), Some(&vec![connector])).await;
    assert_eq!(resp.0, StatusCode::NO_CONTENT, "{}", resp.1);
    let (_, body) = app.get("/api/contacts/lookup?number=%2B14155550166", &s.access_token).await;
    assert_eq!(body["items"][0]["name"], "Hedy Lamarr", "{body}");
    assert_eq!(body["items"][0]["phone"], "+14155550166", "normalized");
    assert_eq!(body["items"][0]["source"], "MPT-CRM");
    assert_eq!(body["items"][0]["url"], "http://crm.test/contacts/crm-42");
    let (_, body) = app.get("/api/contacts/search?q=hedy", &s.access_token).await;
    assert_eq!(body["items"][0]["id"], "crm-42");

    // A slow CRM times out; local results still come back quickly.
    let mut connector = mpt_api_server::seed::mpt_crm_connector(&slow);
    connector.timeout_ms = 300;
    app.request(Method::PUT, "/api/admin/connectors", Some(&admin.access_token), Some(&vec![connector])).await;
    let started = std::time::Instant::now();
    let (status, body) = app.get("/api/contacts/lookup?number=%2B14155550123", &s.access_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"].as_array().expect("items").len(), 1);
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
}

both_backends!(local_and_crm_contacts);
