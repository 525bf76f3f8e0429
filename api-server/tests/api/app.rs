//! The standalone web app's server side: its page and files (CSP, no inline script, never
//! framed), the voicemail inbox with its authorised recording proxy and "heard" flag, and
//! the admin reads the app needs (agents with their disabled flag, allowed origins).

use crate::both_backends;
use crate::helpers::{eventually, parse, spawn_app_with, TestApp};
use mpt_core::api::SandboxCallResponse;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_page_is_served_at_its_routes_with_a_strict_csp() {
    let built = tempfile::tempdir().expect("tempdir");
    std::fs::write(built.path().join("app.js"), "import('./mpt_app.js');").expect("write");
    std::fs::write(built.path().join("app.css"), "body{}").expect("write");
    let dir = built.path().to_path_buf();
    let app = spawn_app_with(false, move |c| c.app_dir = Some(dir)).await.expect("sqlite app");
    for path in ["/", "/calls", "/calls/call_123", "/voicemail", "/admin/agents"] {
        let resp = app.http.get(format!("{}{path}", app.url)).send().await.expect("get");
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let h = resp.headers().clone();
        let csp = h["content-security-policy"].to_str().expect("csp").to_string();
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval';") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("'unsafe-eval'") && !csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
        assert_eq!(h["x-frame-options"], "DENY");
        let html = resp.text().await.expect("body");
        // One script, external and pinned by its hash: no inline script at all.
        assert_eq!(html.matches("<script").count(), 1, "{html}");
        assert!(html.contains("<script type=\"module\" src=\"/app/v1/app.js\" integrity=\"sha384-"), "{html}");
    }
    let resp = app.http.get(format!("{}/app/v1/app.js", app.url)).send().await.expect("get");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/javascript; charset=utf-8");
    // Only built files; the API keeps its JSON 404s.
    assert_eq!(app.http.get(format!("{}/app/v1/../Cargo.toml", app.url)).send().await.expect("get").status(), StatusCode::NOT_FOUND);
    let (status, body) = app.request::<()>(Method::GET, "/api/nothing-here", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_page_without_a_build_says_so() {
    let app = spawn_app_with(false, |_| {}).await.expect("sqlite app");
    let resp = app.http.get(format!("{}/", app.url)).send().await.expect("get");
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.expect("body");
    assert!(html.contains("not built") && !html.contains("<script"), "{html}");
    app.stop().await;
}

async fn voicemail_inbox_plays_through_the_proxy_and_is_marked_heard(app: &TestApp) {
    let s = app.demo_agent().await;
    let t = s.access_token.as_str();
    let mut ws = app.ws(t, None).await;
    ws.next(5).await.expect("hello");
    let (status, body) = app.post("/api/sandbox/inbound", Some(t), &json!({"from": "+14155550177"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let sid = parse::<SandboxCallResponse>(body).call_sid;
    ws.until_client_rings(10, &sid).await;
    let (status, body) = app.post(&format!("/api/sandbox/calls/{sid}/reject"), Some(t), &()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    ws.close().await;
    let vm = eventually(30, || async {
        let (_, body) = app.get("/api/voicemails", t).await;
        body["items"].as_array().and_then(|a| a.iter().find(|v| v["from"] == "+14155550177").cloned())
    })
    .await;
    assert!(vm["heard_at"].is_null(), "{vm}");
    assert!(vm["duration_seconds"].as_u64().is_some(), "{vm}");
    assert!(vm.get("recording_url").is_none(), "the inbox never hands out a Twilio URL: {vm}");
    let id = vm["id"].as_str().expect("id").to_string();

    // The recording, through the server only, with the caller's credential.
    let resp = app.http.get(format!("{}/api/calls/{id}/recording", app.url)).bearer_auth(t).send().await.expect("get");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "audio/wav");
    assert_eq!(resp.headers()["cache-control"], "private, no-store");
    assert_eq!(resp.headers()["mpt-sandbox-recording"], "1");
    let audio = resp.bytes().await.expect("bytes");
    assert_eq!(&audio[..4], b"RIFF");
    // No credential, no recording.
    let resp = app.http.get(format!("{}/api/calls/{id}/recording", app.url)).send().await.expect("get");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let (status, body) = app.request(Method::PUT, &format!("/api/voicemails/{id}/heard"), Some(t), Some(&json!({"heard": true}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["heard_at"].as_i64().is_some());
    let (_, body) = app.get("/api/voicemails", t).await;
    let listed = body["items"].as_array().expect("items").iter().find(|v| v["id"] == id.as_str()).cloned().expect("listed");
    assert!(listed["heard_at"].as_i64().is_some(), "{listed}");
    let (status, _) = app.request(Method::PUT, &format!("/api/voicemails/{id}/heard"), Some(t), Some(&json!({"heard": false}))).await;
    assert_eq!(status, StatusCode::OK);

    // A call without a recording, or one that does not exist, has no voicemail.
    let (status, body) = app.post("/api/sandbox/calls", Some(t), &json!({"to": "+14155550142", "client_call_id": "app-vm-none-01"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    eventually(20, || async { (app.get("/api/calls/app-vm-none-01", t).await.0 == StatusCode::OK).then_some(()) }).await;
    let (status, _) = app.request(Method::PUT, "/api/voicemails/app-vm-none-01/heard", Some(t), Some(&json!({"heard": true}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/calls/app-vm-none-01/recording", t).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/calls/call_missing_1/recording", t).await.0, StatusCode::NOT_FOUND);
}

async fn invited_agent_signs_in_until_disabled(app: &TestApp) {
    let admin = app.demo_admin().await;
    let a = admin.access_token.as_str();
    let (status, body) = app
        .post(
            "/api/admin/agents",
            Some(a),
            &json!({"email": "new.agent@demo.mpt-phone.test", "name": "New Agent", "password": "a-long-first-password"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().expect("id").to_string();
    let s = app.login("new.agent@demo.mpt-phone.test", "a-long-first-password").await;
    assert_eq!(app.get("/api/me", &s.access_token).await.0, StatusCode::OK);
    let (_, list) = app.get("/api/admin/agents", a).await;
    let row = list.as_array().expect("agents").iter().find(|r| r["id"] == id.as_str()).cloned().expect("listed");
    assert_eq!(row["disabled"], false);
    let (status, _) = app.post(&format!("/api/admin/agents/{id}/disable"), Some(a), &()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/me", &s.access_token).await.0, StatusCode::UNAUTHORIZED, "the session ended");
    let (status, _) =
        app.post("/api/auth/login", None, &json!({"email": "new.agent@demo.mpt-phone.test", "password": "a-long-first-password"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a disabled agent cannot sign in");
    let (_, list) = app.get("/api/admin/agents", a).await;
    let row = list.as_array().expect("agents").iter().find(|r| r["id"] == id.as_str()).cloned().expect("listed");
    assert_eq!(row["disabled"], true);

    // A role change applies at once: the agent's sessions end, the next sign-in has it.
    let agent = app.demo_agent().await;
    let (status, body) = app
        .request(Method::PUT, &format!("/api/admin/agents/{}/role", agent.agent.id), Some(a), Some(&json!({"role": "supervisor"})))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(app.get("/api/me", &agent.access_token).await.0, StatusCode::UNAUTHORIZED);
    let again = app.demo_agent().await;
    assert_eq!(again.agent.role, mpt_core::api::Role::Supervisor);
    // A supervisor filters the history by agent: names only, the disabled ones marked.
    let (status, names) = app.get("/api/agents", &again.access_token).await;
    assert_eq!(status, StatusCode::OK, "{names}");
    let names = names.as_array().expect("list").clone();
    assert!(names.iter().any(|n| n["name"] == "New Agent" && n["disabled"] == true && n["id"] == id.as_str()), "{names:?}");
    assert!(names.iter().all(|n| n.get("email").is_none() && n.get("role").is_none()), "{names:?}");
    assert_eq!(app.get("/api/admin/agents", &again.access_token).await.0, StatusCode::FORBIDDEN, "managing agents stays with admins");
    let (status, _) =
        app.request(Method::PUT, &format!("/api/admin/agents/{}/role", again.agent.id), Some(a), Some(&json!({"role": "agent"}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) =
        app.request(Method::PUT, &format!("/api/admin/agents/{}/role", admin.agent.id), Some(a), Some(&json!({"role": "agent"}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "an admin cannot demote themself");
    let (status, _) = app.request(Method::PUT, "/api/admin/agents/agent_nobody/role", Some(a), Some(&json!({"role": "agent"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Allowed origins read back as set; agents may not read them.
    let origins = json!(["https://crm.example.com", "http://localhost:*"]);
    let (status, body) = app.request(Method::PUT, "/api/admin/allowed-origins", Some(a), Some(&origins)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = app.get("/api/admin/allowed-origins", a).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, origins);
    let agent = app.demo_agent().await;
    assert_eq!(app.get("/api/admin/allowed-origins", &agent.access_token).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/agents", &agent.access_token).await.0, StatusCode::FORBIDDEN, "agents see their own calls only");
}

both_backends!(voicemail_inbox_plays_through_the_proxy_and_is_marked_heard, invited_agent_signs_in_until_disabled);

const MAIN_SID: &str = "AC0123456789abcdef0123456789abcdef";
const MAIN_TOKEN: &str = "tenant-auth-token";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_credentials_are_set_and_verified_against_twilio() {
    let twilio = mpt_twilio::rest_standin::RestStandIn::start(MAIN_SID, MAIN_TOKEN).await.expect("stand-in");
    twilio.add_number(MAIN_SID, "+14155550100");
    let base = twilio.base_url.clone();
    let app = spawn_app_with(false, move |c| c.billing.twilio_api_base = base).await.expect("sqlite app");
    let admin = app.demo_admin().await;
    let a = admin.access_token.as_str();
    let (status, body) = app.get("/api/admin/twilio", a).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["sandbox"], true);
    // A sandbox tenant has nothing to verify.
    assert_eq!(app.post("/api/admin/twilio/verify", Some(a), &()).await.0, StatusCode::CONFLICT);

    let creds = |token: &str| {
        json!({"account_sid": MAIN_SID, "auth_token": token, "api_key_sid": "SK0123456789abcdef0123456789abcdef",
               "api_key_secret": "key-secret", "twiml_app_sid": "AP0123456789abcdef0123456789abcdef"})
    };
    let (status, body) = app.request(Method::PUT, "/api/admin/twilio", Some(a), Some(&json!({"account_sid": "nope"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app.request(Method::PUT, "/api/admin/twilio", Some(a), Some(&creds(MAIN_TOKEN))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let ids = json!(["+1 415 555 0100", "+14155550111"]);
    let (status, body) = app.request(Method::PUT, "/api/admin/caller-ids", Some(a), Some(&ids)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = app.request(Method::PUT, "/api/admin/allowed-countries", Some(a), Some(&json!(["us", "GB"]))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = app.request(Method::PUT, "/api/admin/allowed-countries", Some(a), Some(&json!([]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an empty list would allow every country");

    let (_, body) = app.get("/api/admin/twilio", a).await;
    assert_eq!(body["sandbox"], false);
    assert_eq!(body["account_sid"], MAIN_SID);
    assert_eq!(body["auth_token_set"], true);
    assert!(body.get("auth_token").is_none() && !body.to_string().contains(MAIN_TOKEN), "never a secret: {body}");
    assert_eq!(body["caller_ids"], json!(["+14155550100", "+14155550111"]));
    assert_eq!(body["allowed_countries"], json!(["US", "GB"]));

    // Verify: the stand-in answers as Twilio does, with these credentials.
    let (status, body) = app.post("/api/admin/twilio/verify", Some(a), &()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ok"], true);
    assert_eq!(body["account_status"], "active");
    assert_eq!(body["numbers"], json!(["+14155550100"]));
    assert_eq!(body["caller_ids_not_owned"], json!(["+14155550111"]));
    let asked: Vec<(String, String)> = twilio.requests().iter().map(|r| (r.method.clone(), r.path.clone())).collect();
    assert!(asked.contains(&("GET".into(), format!("/2010-04-01/Accounts/{MAIN_SID}.json"))), "{asked:?}");

    // Wrong credentials: Twilio refuses, and the admin is told so.
    let (status, _) = app.request(Method::PUT, "/api/admin/twilio", Some(a), Some(&creds("wrong-token"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.post("/api/admin/twilio/verify", Some(a), &()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().starts_with("Twilio refused"), "{body}");

    // Agents manage none of it.
    let agent = app.demo_agent().await;
    assert_eq!(app.get("/api/admin/twilio", &agent.access_token).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.post("/api/admin/twilio/verify", Some(&agent.access_token), &()).await.0, StatusCode::FORBIDDEN);
    app.stop().await;
}

async fn connectors_are_listed_without_secrets_and_tested(app: &TestApp) {
    let admin = app.demo_admin().await;
    let a = admin.access_token.as_str();
    let (crm, slow) = (crate::contacts::fake_crm(false).await, crate::contacts::fake_crm(true).await);
    let good = mpt_api_server::seed::mpt_crm_connector(&crm);
    let mut late = mpt_api_server::seed::mpt_crm_connector(&slow);
    late.name = "Slow CRM".into();
    late.timeout_ms = 300;
    let hosts = mpt_api_server::connector_http::hosts_of(&[good.clone(), late.clone()]);
    assert_eq!(app.request(Method::PUT, "/api/admin/connector-hosts", Some(a), Some(&hosts)).await.0, StatusCode::NO_CONTENT);
    let (status, body) = app.request(Method::PUT, "/api/admin/connectors", Some(a), Some(&vec![good, late])).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let (status, body) = app.get("/api/admin/connectors", a).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["name"], "MPT-CRM");
    assert_eq!(body[0]["auth_header_name"], "Authorization");
    assert!(!body.to_string().contains("demo-crm-token"), "never the header's value: {body}");

    let (status, body) = app.post("/api/admin/connectors/test", Some(a), &json!({"number": "(415) 555-0166"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body[0]["ok"], true, "{body}");
    assert_eq!(body[0]["contacts"][0]["name"], "Hedy Lamarr");
    assert_eq!(body[1]["name"], "Slow CRM");
    assert_eq!(body[1]["ok"], false, "{body}");
    assert!(body[1]["error"].as_str().is_some_and(|e| !e.contains("555")), "no number or URL in the error: {body}");
    let (status, _) = app.post("/api/admin/connectors/test", Some(a), &json!({"number": "abc"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let agent = app.demo_agent().await;
    assert_eq!(
        app.post("/api/admin/connectors/test", Some(&agent.access_token), &json!({"number": "+14155550166"})).await.0,
        StatusCode::FORBIDDEN
    );
}

both_backends!(connectors_are_listed_without_secrets_and_tested);
