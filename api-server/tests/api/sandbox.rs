use crate::both_backends;
use crate::helpers::{eventually, parse, TestApp};
use mpt_core::api::{CallLog, CallLogPage, SandboxCallResponse, ServerEvent};
use reqwest::StatusCode;
use serde_json::json;

async fn call_by_sid(app: &TestApp, token: &str, sid: &str) -> Option<CallLog> {
    let (_, body) = app.get("/api/calls?limit=50", token).await;
    parse::<CallLogPage>(body).items.into_iter().find(|c| c.call_sid.as_deref() == Some(sid))
}

async fn sandbox_outbound_calls_end_by_number(app: &TestApp) {
    let s = app.demo_agent().await;
    let t = Some(s.access_token.as_str());
    let mut ws = app.ws(&s.access_token, None).await;
    ws.next(5).await.expect("hello");
    // Answered then hung up by the callee; busy; failed.
    let mut sids = Vec::new();
    for (to, client_id) in [("+1 415 555 0142", "sbx-answered-01"), ("+14155550002", "sbx-busy-00001"), ("+14155550004", "sbx-failed-0001")]
    {
        let (status, body) = app.post("/api/sandbox/calls", t, &json!({"to": to, "client_call_id": client_id})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        sids.push(parse::<SandboxCallResponse>(body).call_sid);
    }
    for (sid, want) in sids.iter().zip(["completed", "busy", "failed"]) {
        let call = eventually(20, || async { call_by_sid(app, &s.access_token, sid).await.filter(|c| c.status == want) }).await;
        assert_eq!(call.agent_id.as_deref(), Some(s.agent.id.as_str()));
        assert!(call.sandbox);
        if want == "completed" {
            assert_eq!(call.id, "sbx-answered-01");
            assert!(call.answered_at.is_some() && call.duration_seconds.is_some(), "{call:?}");
            let statuses: Vec<&str> = call.status_history.iter().map(|h| h.status.as_str()).collect();
            assert_eq!(statuses, ["initiated", "ringing", "in-progress", "completed"]);
        }
    }
    // The agent saw status events and stand-in events over the socket.
    ws.until(10, |e| matches!(&e.event, ServerEvent::CallStatus { status, .. } if status == "in-progress")).await;
    ws.until(10, |e| matches!(&e.event, ServerEvent::SandboxCall { kind, .. } if kind == "completed")).await;
    // An invalid destination is a 400, not a call.
    let (status, body) = app.post("/api/sandbox/calls", t, &json!({"to": "123"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_number", "{body}");
    ws.close().await;
}

async fn sandbox_caller_hangs_up(app: &TestApp) {
    let s = app.demo_agent().await;
    let t = Some(s.access_token.as_str());
    // 0005: answered and never hangs up by itself.
    let (status, body) = app.post("/api/sandbox/calls", t, &json!({"to": "+14155550005"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let sid = parse::<SandboxCallResponse>(body).call_sid;
    eventually(20, || async { call_by_sid(app, &s.access_token, &sid).await.filter(|c| c.status == "in-progress") }).await;
    let (status, body) = app.post(&format!("/api/sandbox/calls/{sid}/hangup"), t, &()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let call = eventually(20, || async { call_by_sid(app, &s.access_token, &sid).await.filter(|c| c.status == "completed") }).await;
    assert!(call.ended_at.is_some());
}

async fn sandbox_inbound_rings_agent_with_contact(app: &TestApp) {
    let s = app.demo_agent().await;
    let t = Some(s.access_token.as_str());
    let mut ws = app.ws(&s.access_token, None).await;
    ws.next(5).await.expect("hello");
    // Ada Lovelace is a seeded contact.
    let (status, body) = app.post("/api/sandbox/inbound", t, &json!({"from": "+14155550123"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let sid = parse::<SandboxCallResponse>(body).call_sid;
    let pop = ws.until(10, |e| matches!(e.event, ServerEvent::IncomingCall { .. })).await;
    let ServerEvent::IncomingCall { call_sid, from, contact, .. } = pop.event else { unreachable!() };
    assert_eq!(call_sid, sid);
    assert_eq!(from, "+14155550123");
    assert_eq!(contact.expect("matched contact").name, "Ada Lovelace");
    ws.until(10, |e| matches!(&e.event, ServerEvent::SandboxCall { kind, identity, .. } if kind == "client_ringing" && identity.as_deref() == Some("demo-agent"))).await;
    let (status, body) = app.post(&format!("/api/sandbox/calls/{sid}/answer"), t, &()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let call = eventually(20, || async { call_by_sid(app, &s.access_token, &sid).await.filter(|c| c.status == "in-progress") }).await;
    assert_eq!(call.agent_id.as_deref(), Some(s.agent.id.as_str()), "answering agent assigned");
    assert_eq!(call.contact_name.as_deref(), Some("Ada Lovelace"));
    app.post(&format!("/api/sandbox/calls/{sid}/hangup"), t, &()).await;
    eventually(20, || async { call_by_sid(app, &s.access_token, &sid).await.filter(|c| c.status == "completed") }).await;
    ws.close().await;
}

async fn sandbox_inbound_unanswered_goes_to_voicemail(app: &TestApp) {
    let s = app.demo_agent().await;
    let t = Some(s.access_token.as_str());
    let mut ws = app.ws(&s.access_token, None).await;
    ws.next(5).await.expect("hello");
    let (status, body) = app.post("/api/sandbox/inbound", t, &json!({"from": "+14155550199"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let sid = parse::<SandboxCallResponse>(body).call_sid;
    ws.until_client_rings(10, &sid).await;
    let (status, body) = app.post(&format!("/api/sandbox/calls/{sid}/reject"), t, &()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let call = eventually(30, || async { call_by_sid(app, &s.access_token, &sid).await.filter(|c| c.recording_sid.is_some()) }).await;
    assert_eq!(call.status, "busy");
    assert!(call.recording_url.is_some());
    ws.close().await;
}

both_backends!(
    sandbox_outbound_calls_end_by_number,
    sandbox_caller_hangs_up,
    sandbox_inbound_rings_agent_with_contact,
    sandbox_inbound_unanswered_goes_to_voicemail,
);
