use crate::both_backends;
use crate::helpers::{parse, spawn_app_with, TestApp};
use mpt_core::api::{CallLog, CallLogPage, ServerEvent, TwilioTokenResponse};
use reqwest::StatusCode;

async fn token_is_a_twilio_voice_token(app: &TestApp) {
    let s = app.demo_agent().await;
    let (status, body) = app.post("/api/twilio/token", Some(&s.access_token), &()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let t: TwilioTokenResponse = parse(body);
    let tenant = app.demo_tenant().await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs();
    let claims = mpt_twilio::token::decode_verify(&t.token, &tenant.api_key_secret, now).expect("valid Twilio token");
    assert_eq!(claims.iss, tenant.api_key_sid);
    assert_eq!(claims.sub, tenant.account_sid);
    assert_eq!(claims.grants.identity.as_deref(), Some("demo-agent"));
    let voice = claims.grants.voice.expect("voice grant");
    assert_eq!(voice.outgoing.expect("outgoing").application_sid, tenant.twiml_app_sid);
    assert!(voice.incoming.expect("incoming").allow);
    assert!(claims.jti.starts_with(&format!("{}-", tenant.api_key_sid)));
    assert_eq!(claims.exp - claims.iat.expect("iat"), 3600);
    let (status, _) = app.post("/api/twilio/token", None, &()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

fn voice_pairs<'a>(account: &'a str, call_sid: &'a str, to: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("AccountSid", account),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", call_sid),
        ("CallStatus", "ringing"),
        ("Caller", "client:demo-agent"),
        ("Direction", "inbound"),
        ("From", "client:demo-agent"),
        ("To", to),
        // The client's custom parameters, as `device.connect({params})` and the
        // sandbox path both send them (mpt-core's DialParams).
        ("ClientCallId", "client-call-0001"),
        ("ContactId", "c-0001"),
        ("ContactName", "Ada Lovelace"),
        ("Crm", "mpt-crm"),
    ]
}

async fn voice_webhook_dials_and_logs(app: &TestApp) {
    let t = app.demo_tenant().await;
    let sid = "CA00000000000000000000000000000001";
    let (status, xml) = app.twilio("/twilio/voice", &t.auth_token, &voice_pairs(&t.account_sid, sid, "(415) 555-0142")).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    let expected = mpt_twilio::twiml::Response::new()
        .dial(mpt_twilio::twiml::Dial {
            caller_id: Some("+14155550100".into()),
            answer_on_bridge: true,
            targets: vec![mpt_twilio::twiml::DialTarget::Number {
                number: "+14155550142".into(),
                status_callback: Some(format!("{}/twilio/status", app.url)),
                status_callback_event: mpt_twilio::twiml::CallEvent::ALL.to_vec(),
                status_callback_method: None,
            }],
            ..Default::default()
        })
        .to_xml();
    assert_eq!(xml, expected);
    assert!(xml.contains(r#"statusCallbackEvent="initiated ringing answered completed""#), "{xml}");
    let s = app.demo_agent().await;
    let (status, body) = app.get("/api/calls/client-call-0001", &s.access_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let call: CallLog = parse(body);
    assert_eq!(call.to, "+14155550142");
    assert_eq!(call.from, "+14155550100");
    assert_eq!(call.call_sid.as_deref(), Some(sid));
    assert_eq!(call.agent_id.as_deref(), Some(s.agent.id.as_str()));
    // The contact the agent called from is in the log.
    assert_eq!(call.contact_id.as_deref(), Some("c-0001"));
    assert_eq!(call.contact_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(call.crm.as_deref(), Some("mpt-crm"));
    // A retry of the same webhook does not duplicate the log.
    let (status, _) = app.twilio("/twilio/voice", &t.auth_token, &voice_pairs(&t.account_sid, sid, "(415) 555-0142")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.count("calls").await, 1);
    // An invalid destination is refused in TwiML, and not logged.
    let (status, xml) =
        app.twilio("/twilio/voice", &t.auth_token, &voice_pairs(&t.account_sid, "CA00000000000000000000000000000002", "12")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(xml.contains("<Say>") && xml.contains("<Hangup/>") && !xml.contains("<Dial"), "{xml}");
    assert_eq!(app.count("calls").await, 1);
}

/// The new log and its first status reach the agent together: both events are stored
/// in the call's insert transaction, one after the other.
async fn outbound_call_is_announced_with_its_log(app: &TestApp) {
    let t = app.demo_tenant().await;
    let s = app.demo_agent().await;
    let mut ws = app.ws(&s.access_token, None).await;
    ws.until(5, |e| matches!(e.event, ServerEvent::Hello { .. })).await;
    let sid = "CA00000000000000000000000000000031";
    let (status, xml) = app.twilio("/twilio/voice", &t.auth_token, &voice_pairs(&t.account_sid, sid, "+14155550142")).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    let first = ws.until(5, |e| matches!(e.event, ServerEvent::CallStatus { .. })).await;
    let ServerEvent::CallStatus { call_id, call_sid, status, .. } = &first.event else { unreachable!() };
    assert_eq!((call_id.as_str(), call_sid.as_deref(), status.as_str()), ("client-call-0001", Some(sid), "initiated"));
    let second = ws.next(5).await.expect("log_updated");
    let ServerEvent::LogUpdated { call } = &second.event else { panic!("expected log_updated, got {:?}", second.event) };
    assert_eq!((call.id.as_str(), call.to.as_str()), ("client-call-0001", "+14155550142"));
    assert_eq!(second.id, first.id.map(|i| i + 1), "stored together");
    ws.close().await;
}

async fn tampered_webhooks_get_403_and_write_nothing(app: &TestApp) {
    let t = app.demo_tenant().await;
    let pairs: Vec<(String, String)> = voice_pairs(&t.account_sid, "CA00000000000000000000000000000009", "+14155550142")
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let good = mpt_twilio::signature::compute(&t.auth_token, &format!("{}/twilio/voice", app.url), &pairs);
    let events_before = app.count("events").await;
    // Missing signature.
    assert_eq!(app.twilio_raw("/twilio/voice", None, &pairs).await.0, StatusCode::FORBIDDEN);
    // Signature for another URL.
    let other_url = mpt_twilio::signature::compute(&t.auth_token, &format!("{}/twilio/voice?x=1", app.url), &pairs);
    assert_eq!(app.twilio_raw("/twilio/voice", Some(&other_url), &pairs).await.0, StatusCode::FORBIDDEN);
    // Tampered parameter.
    let mut tampered = pairs.clone();
    tampered[7].1 = "+19005550199".into();
    assert_eq!(app.twilio_raw("/twilio/voice", Some(&good), &tampered).await.0, StatusCode::FORBIDDEN);
    // Wrong auth token (another tenant's).
    let wrong = mpt_twilio::signature::compute("0123456789abcdef0123456789abcdef", &format!("{}/twilio/voice", app.url), &pairs);
    assert_eq!(app.twilio_raw("/twilio/voice", Some(&wrong), &pairs).await.0, StatusCode::FORBIDDEN);
    // Unknown account.
    let mut unknown = pairs.clone();
    unknown[0].1 = "AC99999999999999999999999999999999".into();
    assert_eq!(app.twilio_raw("/twilio/voice", Some(&good), &unknown).await.0, StatusCode::FORBIDDEN);
    // Status and recording callbacks too.
    let status_pairs: Vec<(String, String)> = [("AccountSid", t.account_sid.as_str()), ("CallSid", "CA1"), ("CallStatus", "completed")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(app.twilio_raw("/twilio/status", Some(&good), &status_pairs).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.twilio_raw("/twilio/recording", Some("bogus"), &status_pairs).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.count("calls").await, 0, "nothing written");
    assert_eq!(app.count("events").await, events_before, "no events");
    // The untampered request passes.
    assert_eq!(app.twilio_raw("/twilio/voice", Some(&good), &pairs).await.0, StatusCode::OK);
    assert_eq!(app.count("calls").await, 1);
}

fn status_pairs(account: &str, parent: &str, child: &str, status: &str, seq: &str, ts: &str, dur: Option<&str>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = [
        ("AccountSid", account),
        ("CallSid", child),
        ("ParentCallSid", parent),
        ("CallStatus", status),
        ("SequenceNumber", seq),
        ("Timestamp", ts),
        ("Direction", "outbound-dial"),
        ("From", "+14155550100"),
        ("To", "+14155550142"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if let Some(d) = dur {
        v.push(("CallDuration".into(), d.into()));
    }
    v
}

async fn status_callbacks_tolerate_duplicates_and_disorder(app: &TestApp) {
    let t = app.demo_tenant().await;
    let parent = "CA00000000000000000000000000000011";
    let child = "CA00000000000000000000000000000012";
    let (status, _) = app.twilio("/twilio/voice", &t.auth_token, &voice_pairs(&t.account_sid, parent, "+14155550142")).await;
    assert_eq!(status, StatusCode::OK);
    let t = &t;
    let send = |st: &'static str, seq: &'static str, ts: &'static str, dur: Option<&'static str>| {
        let pairs = status_pairs(&t.account_sid, parent, child, st, seq, ts, dur);
        async move {
            let sig = mpt_twilio::signature::compute(&t.auth_token, &format!("{}/twilio/status", app.url), &pairs);
            let (status, body) = app.twilio_raw("/twilio/status", Some(&sig), &pairs).await;
            assert!(status.is_success(), "{status} {body}");
        }
    };
    // Arrival order: initiated, ringing, completed, in-progress (late), completed (dup), ringing (dup).
    send("initiated", "0", "Mon, 23 Nov 2026 10:00:00 +0000", None).await;
    send("ringing", "1", "Mon, 23 Nov 2026 10:00:01 +0000", None).await;
    send("completed", "3", "Mon, 23 Nov 2026 10:01:05 +0000", Some("60")).await;
    send("in-progress", "2", "Mon, 23 Nov 2026 10:00:05 +0000", None).await;
    send("completed", "3", "Mon, 23 Nov 2026 10:01:05 +0000", Some("60")).await;
    send("ringing", "1", "Mon, 23 Nov 2026 10:00:01 +0000", None).await;
    let s = app.demo_agent().await;
    let (_, body) = app.get("/api/calls/client-call-0001", &s.access_token).await;
    let call: CallLog = parse(body);
    assert_eq!(call.status, "completed");
    assert_eq!(call.duration_seconds, Some(60));
    assert_eq!(call.child_call_sid.as_deref(), Some(child));
    let base = 1_795_428_000_000i64; // 2026-11-23T10:00:00Z
    assert_eq!(call.answered_at, Some(base + 5_000), "late in-progress still sets the answer time");
    assert_eq!(call.ended_at, Some(base + 65_000));
    let statuses: Vec<&str> = call.status_history.iter().map(|h| h.status.as_str()).collect();
    assert_eq!(statuses, ["initiated", "ringing", "completed"], "no regression, no duplicates");
    // Listing by number (blind index) finds it.
    let (_, body) = app.get("/api/calls?number=%2B1%20415-555-0142", &s.access_token).await;
    let page: CallLogPage = parse(body);
    assert_eq!(page.items.len(), 1);
}

async fn recording_callback_attaches_voicemail(app: &TestApp) {
    let t = app.demo_tenant().await;
    let parent = "CA00000000000000000000000000000021";
    app.twilio("/twilio/voice", &t.auth_token, &voice_pairs(&t.account_sid, parent, "+14155550142")).await;
    let (status, _) = app
        .twilio(
            "/twilio/recording",
            &t.auth_token,
            &[
                ("AccountSid", &t.account_sid),
                ("CallSid", parent),
                ("RecordingSid", "RE00000000000000000000000000000001"),
                ("RecordingUrl", "https://api.twilio.com/recordings/RE1"),
                ("RecordingDuration", "12"),
                ("RecordingStatus", "completed"),
            ],
        )
        .await;
    assert!(status.is_success());
    let s = app.demo_agent().await;
    let (_, body) = app.get("/api/calls/client-call-0001", &s.access_token).await;
    let call: CallLog = parse(body);
    assert_eq!(call.recording_sid.as_deref(), Some("RE00000000000000000000000000000001"));
    assert_eq!(call.recording_duration_seconds, Some(12));
}

/// An agent places at most `dial_rate_per_min` (the default, 20) calls a minute,
/// whichever path (SDK or sandbox) reaches the voice webhook: the next one is refused in
/// TwiML and not logged.
#[tokio::test]
async fn outbound_calls_are_rate_limited_per_agent() {
    let app = spawn_app_with(false, |c| c.dial_rate_per_min = 20).await.expect("sqlite app");
    let t = app.demo_tenant().await;
    for i in 0..20 {
        let sid = format!("CA{:032}", 100 + i);
        let (status, xml) = app.twilio("/twilio/voice", &t.auth_token, &voice_pairs(&t.account_sid, &sid, "(415) 555-0142")).await;
        assert_eq!(status, StatusCode::OK, "{xml}");
        assert!(xml.contains("<Dial"), "call {i}: {xml}");
    }
    let calls = app.count("calls").await;
    let (status, xml) =
        app.twilio("/twilio/voice", &t.auth_token, &voice_pairs(&t.account_sid, &format!("CA{:032}", 999), "(415) 555-0142")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(xml.contains("<Say>") && xml.contains("<Hangup/>") && !xml.contains("<Dial"), "{xml}");
    assert_eq!(app.count("calls").await, calls, "a refused call is not logged");
    app.stop().await;
}

both_backends!(
    token_is_a_twilio_voice_token,
    voice_webhook_dials_and_logs,
    outbound_call_is_announced_with_its_log,
    tampered_webhooks_get_403_and_write_nothing,
    status_callbacks_tolerate_duplicates_and_disorder,
    recording_callback_attaches_voicemail,
);
