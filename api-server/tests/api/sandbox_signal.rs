//! The sandbox's Voice signalling edge (`/api/sandbox/signal`): what the sandbox Device
//! stand-in in the offscreen document and the widget talks to.

use crate::both_backends;
use crate::helpers::{eventually, parse, TestApp};
use futures_util::{SinkExt, StreamExt};
use mpt_core::api::{CallDirection, CallLog, CallLogPage, SandboxCallResponse, TwilioTokenResponse};
use mpt_core::signal::{SignalIn, SignalOut};
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Device {
    ws: Socket,
}

impl Device {
    async fn open(app: &TestApp) -> Device {
        let url = format!("{}/api/sandbox/signal", app.url.replace("http://", "ws://"));
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("signal socket");
        Device { ws }
    }

    async fn send(&mut self, m: &SignalIn) {
        self.ws.send(Message::Text(serde_json::to_string(m).expect("json").into())).await.expect("send");
    }

    /// The next frame within `secs`, or `None` (also when the socket closed).
    async fn next(&mut self, secs: u64) -> Option<SignalOut> {
        loop {
            let m = tokio::time::timeout(std::time::Duration::from_secs(secs), self.ws.next()).await.ok()??.ok()?;
            match m {
                Message::Text(t) => return Some(serde_json::from_str(t.as_str()).expect("signal frame")),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    async fn until(&mut self, secs: u64, mut pred: impl FnMut(&SignalOut) -> bool) -> SignalOut {
        loop {
            let f = self.next(secs).await.expect("expected a signal frame");
            if pred(&f) {
                return f;
            }
        }
    }

    /// Listens with the agent's Voice token and registers.
    async fn registered(app: &TestApp, token: &str) -> Device {
        let mut d = Device::open(app).await;
        d.send(&SignalIn::Listen { token: token.into() }).await;
        assert!(matches!(d.next(5).await, Some(SignalOut::Ready { ref identity, .. }) if identity == "demo-agent"));
        d.send(&SignalIn::Register).await;
        assert_eq!(d.next(5).await, Some(SignalOut::Registered));
        d
    }
}

async fn voice_token(app: &TestApp, bearer: &str) -> String {
    let (status, body) = app.post("/api/twilio/token", Some(bearer), &()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    parse::<TwilioTokenResponse>(body).token
}

async fn call_by_sid(app: &TestApp, token: &str, sid: &str) -> Option<CallLog> {
    let (_, body) = app.get("/api/calls?limit=50", token).await;
    parse::<CallLogPage>(body).items.into_iter().find(|c| c.call_sid.as_deref() == Some(sid) || c.child_call_sid.as_deref() == Some(sid))
}

async fn signal_refuses_bad_tokens(app: &TestApp) {
    let s = app.demo_agent().await;
    let good = voice_token(app, &s.access_token).await;
    // A tampered signature, a session bearer instead of a Voice token, and no listen first.
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    parts[2] = parts[2].chars().rev().collect();
    for token in [parts.join("."), s.access_token.clone(), "x.y.z".into()] {
        let mut d = Device::open(app).await;
        d.send(&SignalIn::Listen { token }).await;
        assert!(matches!(d.next(5).await, Some(SignalOut::Error { code: 20101, .. })));
        assert_eq!(d.next(5).await, None, "the socket closes");
    }
    let mut d = Device::open(app).await;
    d.send(&SignalIn::Register).await;
    assert_eq!(d.next(5).await, None, "register before listen closes the socket");
}

async fn inbound_rings_every_device_first_answer_wins(app: &TestApp) {
    let s = app.demo_agent().await;
    let token = voice_token(app, &s.access_token).await;
    let mut a = Device::registered(app, &token).await;
    let mut b = Device::registered(app, &token).await;
    assert_eq!(app.server.state.signal.registered(&s.agent.tenant_id, "demo-agent"), 2);
    let (status, body) = app.post("/api/sandbox/inbound", Some(&s.access_token), &json!({"from": "+14155550123"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let parent = parse::<SandboxCallResponse>(body).call_sid;
    let ring_a = a.until(10, |f| matches!(f, SignalOut::Incoming { .. })).await;
    let ring_b = b.until(10, |f| matches!(f, SignalOut::Incoming { .. })).await;
    let SignalOut::Incoming { call_sid, parent_call_sid, from, .. } = ring_a else { unreachable!() };
    assert_eq!((parent_call_sid.as_str(), from.as_str()), (parent.as_str(), "+14155550123"));
    assert!(matches!(ring_b, SignalOut::Incoming { call_sid: ref c, .. } if *c == call_sid), "both devices ring the same leg");
    a.send(&SignalIn::Accept { call_sid: call_sid.clone() }).await;
    assert_eq!(a.until(10, |f| matches!(f, SignalOut::Accepted { .. })).await, SignalOut::Accepted { call_sid: call_sid.clone() });
    assert_eq!(b.until(10, |f| matches!(f, SignalOut::Cancel { .. })).await, SignalOut::Cancel { call_sid: call_sid.clone() });
    // A late answer on the other device loses.
    b.send(&SignalIn::Accept { call_sid: call_sid.clone() }).await;
    assert_eq!(b.next(5).await, Some(SignalOut::Cancel { call_sid: call_sid.clone() }));
    let call = eventually(20, || async { call_by_sid(app, &s.access_token, &parent).await.filter(|c| c.status == "in-progress") }).await;
    assert_eq!(call.contact_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(call.direction, CallDirection::Inbound);
    // Only the device holding the call can hang it up.
    b.send(&SignalIn::Hangup { call_sid: call_sid.clone() }).await;
    assert!(matches!(b.next(5).await, Some(SignalOut::Error { code: 31404, .. })));
    a.send(&SignalIn::Hangup { call_sid: call_sid.clone() }).await;
    assert_eq!(a.until(10, |f| matches!(f, SignalOut::Hangup { .. })).await, SignalOut::Hangup { call_sid });
    eventually(20, || async { call_by_sid(app, &s.access_token, &parent).await.filter(|c| c.status == "completed") }).await;
}

async fn decline_stops_only_this_device(app: &TestApp) {
    let s = app.demo_agent().await;
    let token = voice_token(app, &s.access_token).await;
    let mut a = Device::registered(app, &token).await;
    let mut b = Device::registered(app, &token).await;
    let bearer = s.access_token.clone();
    let ring = |from: &'static str| {
        let bearer = bearer.clone();
        async move {
            let (_, body) = app.post("/api/sandbox/inbound", Some(&bearer), &json!({ "from": from })).await;
            parse::<SandboxCallResponse>(body).call_sid
        }
    };
    // A declines; B still rings and answers (within the ring: `MPT_RING_SECS` 200 in tests, 10 s at their sandbox speed).
    let parent = ring("+14155550123").await;
    let SignalOut::Incoming { call_sid, .. } = a.until(10, |f| matches!(f, SignalOut::Incoming { .. })).await else { unreachable!() };
    b.until(10, |f| matches!(f, SignalOut::Incoming { .. })).await;
    a.send(&SignalIn::Reject { call_sid: call_sid.clone() }).await;
    b.send(&SignalIn::Accept { call_sid: call_sid.clone() }).await;
    assert_eq!(
        b.until(10, |f| matches!(f, SignalOut::Accepted { .. } | SignalOut::Cancel { .. })).await,
        SignalOut::Accepted { call_sid: call_sid.clone() }
    );
    eventually(20, || async { call_by_sid(app, &s.access_token, &parent).await.filter(|c| c.status == "in-progress") }).await;
    b.send(&SignalIn::Hangup { call_sid }).await;
    eventually(20, || async { call_by_sid(app, &s.access_token, &parent).await.filter(|c| c.status == "completed") }).await;
    // Both decline: nobody is left, the leg is declined and the caller reaches voicemail.
    let parent = ring("+14155550199").await;
    let SignalOut::Incoming { call_sid, .. } = a.until(10, |f| matches!(f, SignalOut::Incoming { .. })).await else { unreachable!() };
    b.until(10, |f| matches!(f, SignalOut::Incoming { .. })).await;
    a.send(&SignalIn::Reject { call_sid: call_sid.clone() }).await;
    b.send(&SignalIn::Reject { call_sid }).await;
    let call = eventually(30, || async { call_by_sid(app, &s.access_token, &parent).await.filter(|c| c.recording_sid.is_some()) }).await;
    assert_eq!(call.status, "busy");
}

async fn outbound_invite_and_lost_device(app: &TestApp) {
    let s = app.demo_agent().await;
    let token = voice_token(app, &s.access_token).await;
    let mut d = Device::registered(app, &token).await;
    // 0005 answers and never hangs up by itself.
    let params = [("To".to_string(), "+14155550005".to_string()), ("ClientCallId".to_string(), "sig-outbound-01".to_string())].into();
    d.send(&SignalIn::Invite { reference: "r1".into(), params }).await;
    let SignalOut::Invited { reference, call_sid } = d.until(10, |f| matches!(f, SignalOut::Invited { .. })).await else { unreachable!() };
    assert_eq!(reference, "r1");
    d.until(10, |f| matches!(f, SignalOut::Ringing { .. })).await;
    assert_eq!(d.until(20, |f| matches!(f, SignalOut::Accepted { .. })).await, SignalOut::Accepted { call_sid: call_sid.clone() });
    let call = eventually(20, || async { call_by_sid(app, &s.access_token, &call_sid).await.filter(|c| c.status == "in-progress") }).await;
    assert_eq!(call.id, "sig-outbound-01");
    assert_eq!(call.direction, CallDirection::Outbound);
    // The device's socket goes away mid-call: the call ends (no media without it).
    drop(d);
    eventually(20, || async { call_by_sid(app, &s.access_token, &call_sid).await.filter(|c| c.status == "completed") }).await;
}

both_backends!(
    signal_refuses_bad_tokens,
    inbound_rings_every_device_first_answer_wins,
    decline_stops_only_this_device,
    outbound_invite_and_lost_device,
);
