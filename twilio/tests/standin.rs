//! End-to-end tests of the stand-in against a real HTTP server on loopback that
//! plays our API server: it verifies every `X-Twilio-Signature` with the
//! `signature` module, parses every request with the `webhook` types, and
//! answers TwiML built with the `twiml` module.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use axum::Router;
use mpt_twilio::call_state::{Applied, CallProgress, CallStatus};
use mpt_twilio::signature;
use mpt_twilio::standin::{StandIn, StandInConfig, StandInEvent, StandInEventKind};
use mpt_twilio::twiml::{CallEvent, Dial, DialTarget, Record, Response, Verb};
use mpt_twilio::webhook::{parse_form_body, DialAction, RecordingCallback, StatusCallback, VoiceRequest};
use tokio::sync::broadcast;

const TOKEN: &str = "test-auth-token";
const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";

#[derive(Debug, Clone)]
struct Received {
    path: String,
    form: Vec<(String, String)>,
}

#[derive(Clone)]
struct App {
    base: String,
    log: Arc<Mutex<Vec<Received>>>,
}

impl App {
    fn requests(&self, path: &str) -> Vec<Received> {
        self.log.lock().expect("log").iter().filter(|r| r.path == path).cloned().collect()
    }

    fn statuses(&self) -> Vec<StatusCallback> {
        self.requests("/status").iter().map(|r| StatusCallback::from_form(&r.form).expect("status callback parses")).collect()
    }
}

fn get<'a>(form: &'a [(String, String)], k: &str) -> Option<&'a str> {
    form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// The fake API server: signature check, then TwiML by path.
async fn handle(State(app): State<App>, uri: Uri, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let url = format!("{}{}", app.base, uri);
    let form = parse_form_body(&body);
    let sig = headers.get(signature::HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !signature::validate_form(TOKEN, &url, &form, sig) {
        return (StatusCode::FORBIDDEN, "bad signature".into());
    }
    let path = uri.path().to_string();
    app.log.lock().expect("log").push(Received { path: path.clone(), form: form.clone() });
    let twiml = match path.as_str() {
        "/voice" => {
            let req = VoiceRequest::from_form(&form).expect("voice request parses");
            assert_eq!(req.account_sid, ACCOUNT);
            match req.to.as_str() {
                "+15550003333" => return (StatusCode::OK, Response::new().reject().to_xml()),
                "+15550004444" => {
                    let busy = Response::new().verb(Verb::Reject { reason: Some("busy".into()) });
                    return (StatusCode::OK, busy.to_xml());
                }
                "+15550005555" => {
                    let r = Response::new().pause(Some(1)).verb(Verb::Redirect { url: format!("{}/redirected", app.base) });
                    return (StatusCode::OK, r.to_xml());
                }
                "+15550006666" => return (StatusCode::OK, "<Response><Dial>".to_string()),
                "+15550007777" => {
                    let r = Response::new().verb(Verb::Redirect { url: format!("{}/broken", app.base) });
                    return (StatusCode::OK, r.to_xml());
                }
                _ => {}
            }
            if req.client_identity().is_some() {
                let events: Vec<CallEvent> =
                    req.param("events").unwrap_or("").split(' ').filter(|s| !s.is_empty()).map(|s| s.parse().expect("event")).collect();
                Response::new().dial(Dial {
                    caller_id: Some("+15550009999".into()),
                    answer_on_bridge: true,
                    timeout: Some(30),
                    action: None,
                    record: None,
                    targets: vec![DialTarget::Number {
                        number: req.to.clone(),
                        status_callback: Some(format!("{}/status?leg=child", app.base)),
                        status_callback_event: events,
                        status_callback_method: Some("POST".into()),
                    }],
                })
            } else {
                // Our number +15550002222 rings two agents, any other one agent.
                let agents: &[&str] = if req.to == "+15550002222" { &["alice", "bob"] } else { &["alice"] };
                Response::new().dial(Dial {
                    timeout: Some(20),
                    action: Some(format!("{}/dial-done", app.base)),
                    targets: agents
                        .iter()
                        .map(|a| DialTarget::Client {
                            identity: a.to_string(),
                            parameters: vec![("crmContact".into(), "42".into())],
                            status_callback: Some(format!("{}/status", app.base)),
                            status_callback_event: CallEvent::ALL.to_vec(),
                        })
                        .collect(),
                    ..Dial::default()
                })
            }
        }
        "/dial-done" => {
            if get(&form, "DialCallStatus") == Some("completed") {
                Response::new().hangup()
            } else {
                Response::new().say("Please leave a message.", None).record(Record {
                    action: Some(format!("{}/recorded", app.base)),
                    max_length: Some(120),
                    play_beep: Some(true),
                    recording_status_callback: Some(format!("{}/recording", app.base)),
                    transcribe: None,
                })
            }
        }
        "/recorded" => Response::new().hangup(),
        "/redirected" => Response::new().say("Goodbye.", None).hangup().say("never said", None),
        "/broken" => return (StatusCode::INTERNAL_SERVER_ERROR, "boom".into()),
        _ => Response::new(),
    };
    (StatusCode::OK, twiml.to_xml())
}

async fn start_server() -> App {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = App { base: format!("http://{addr}"), log: Arc::default() };
    let router = Router::new().fallback(post(handle)).with_state(app.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    app
}

fn config(app: &App, token: &str) -> StandInConfig {
    let mut c = StandInConfig::new(ACCOUNT, token, format!("{}/voice", app.base));
    c.time_scale = 0.01;
    c
}

async fn setup() -> (App, StandIn, broadcast::Receiver<StandInEvent>) {
    let app = start_server().await;
    let standin = StandIn::new(config(&app, TOKEN)).expect("standin");
    let rx = standin.subscribe();
    (app, standin, rx)
}

/// Events until `pred` matches (inclusive), within 10 s.
async fn events_until(rx: &mut broadcast::Receiver<StandInEvent>, pred: impl Fn(&StandInEvent) -> bool) -> Vec<StandInEvent> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv()).await.expect("event in time").expect("channel open");
        let done = pred(&ev);
        out.push(ev);
        if done {
            return out;
        }
    }
}

fn parent_completed(sid: &str) -> impl Fn(&StandInEvent) -> bool + '_ {
    move |e| e.call_sid == sid && matches!(e.kind, StandInEventKind::Completed { .. })
}

async fn outbound(standin: &StandIn, to: &str, events: &str) -> String {
    let mut params = BTreeMap::new();
    params.insert("To".to_string(), to.to_string());
    params.insert("events".to_string(), events.to_string());
    params.insert("crmContactId".to_string(), "c-7 é".to_string());
    standin.place_outbound("agent-7", params).await.expect("place_outbound").call_sid
}

const ALL: &str = "initiated ringing answered completed";

fn status_names(app: &App) -> Vec<(u64, String)> {
    app.statuses().iter().map(|s| (s.sequence_number.expect("seq"), s.call_status.as_str().to_string())).collect()
}

#[tokio::test]
async fn outbound_voice_request_is_what_twilio_sends() {
    let (app, standin, mut rx) = setup().await;
    let parent = outbound(&standin, "+15551230002", ALL).await;
    events_until(&mut rx, parent_completed(&parent)).await;
    let voice = app.requests("/voice");
    assert_eq!(voice.len(), 1);
    let req = VoiceRequest::from_form(&voice[0].form).expect("parse");
    assert_eq!(req.call_sid, parent);
    assert!(mpt_twilio::sid::is_sid(&parent, "CA"));
    assert_eq!(req.from, "client:agent-7");
    assert_eq!(req.caller.as_deref(), Some("client:agent-7"));
    assert_eq!(req.to, "+15551230002");
    assert_eq!(req.direction, "inbound");
    assert_eq!(req.api_version, "2010-04-01");
    assert_eq!(req.call_status, CallStatus::Ringing);
    assert_eq!(req.param("crmContactId"), Some("c-7 é"));
}

#[tokio::test]
async fn answered_call_hung_up_by_callee() {
    let (app, standin, mut rx) = setup().await;
    let parent = outbound(&standin, "+15551230001", ALL).await;
    let events = events_until(&mut rx, parent_completed(&parent)).await;
    let kinds: Vec<&StandInEventKind> = events.iter().map(|e| &e.kind).collect();
    assert!(matches!(kinds[0], StandInEventKind::Ringing));
    assert!(matches!(kinds[1], StandInEventKind::Answered));
    assert!(matches!(kinds[2], StandInEventKind::Completed { status: CallStatus::Completed, .. }));
    assert_eq!(
        status_names(&app),
        vec![(0, "initiated".into()), (1, "ringing".into()), (2, "in-progress".into()), (3, "completed".into())]
    );
    let statuses = app.statuses();
    let child = &statuses[0].call_sid;
    assert_ne!(child, &parent);
    for s in &statuses {
        assert_eq!(&s.call_sid, child);
        assert_eq!(s.parent_call_sid.as_deref(), Some(parent.as_str()));
        assert_eq!(s.direction.as_deref(), Some("outbound-dial"));
        assert_eq!(s.from.as_deref(), Some("+15550009999"));
        assert_eq!(s.to.as_deref(), Some("+15551230001"));
        assert!(s.timestamp.is_some());
    }
    let done = &statuses[3];
    let duration = done.call_duration.expect("duration on completed");
    assert!((19..=23).contains(&duration), "talk time {duration}");
    assert!(statuses[2].call_duration.is_none());
    // Timestamps are consistent with the duration (simulated time)...
    let talk = done.timestamp.expect("ts") - statuses[2].timestamp.expect("ts");
    assert!((talk - duration as i64).abs() <= 1, "{talk} vs {duration}");
    // ...and anchored at the call's real start: within a minute of the wall clock.
    let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    let first = statuses[0].timestamp.expect("ts");
    assert!((first - wall).abs() <= 60, "first callback at {first}, wall clock {wall}");
}

#[tokio::test]
async fn busy_no_answer_and_failed_outcomes() {
    for (number, expected) in [
        ("+15551230002", vec!["initiated", "busy"]),
        ("+15551230003", vec!["initiated", "ringing", "no-answer"]),
        ("+15551230004", vec!["initiated", "failed"]),
    ] {
        let (app, standin, mut rx) = setup().await;
        let parent = outbound(&standin, number, ALL).await;
        let events = events_until(&mut rx, parent_completed(&parent)).await;
        let got: Vec<String> = status_names(&app).into_iter().map(|(_, s)| s).collect();
        assert_eq!(got, expected, "{number}");
        let last = app.statuses().pop().expect("terminal");
        assert_eq!(last.call_duration, Some(0), "{number}");
        assert!(!events.iter().any(|e| matches!(e.kind, StandInEventKind::Answered)), "{number}");
    }
}

#[tokio::test]
async fn only_requested_events_plus_completed_are_sent() {
    let (app, standin, mut rx) = setup().await;
    let parent = outbound(&standin, "+15551230001", "").await;
    events_until(&mut rx, parent_completed(&parent)).await;
    assert_eq!(status_names(&app), vec![(0, "completed".to_string())]);
    let (app, standin, mut rx) = setup().await;
    let parent = outbound(&standin, "+15551230001", "answered").await;
    events_until(&mut rx, parent_completed(&parent)).await;
    assert_eq!(status_names(&app), vec![(0, "in-progress".to_string()), (1, "completed".to_string())]);
}

#[tokio::test]
async fn agent_hangs_up_answered_and_ringing_calls() {
    let (app, standin, mut rx) = setup().await;
    let parent = outbound(&standin, "+15551230005", ALL).await;
    events_until(&mut rx, |e| matches!(e.kind, StandInEventKind::Answered)).await;
    tokio::time::sleep(Duration::from_millis(100)).await; // ~10 simulated seconds
    standin.hangup(&parent).expect("hangup");
    events_until(&mut rx, parent_completed(&parent)).await;
    let statuses = app.statuses();
    let last = statuses.last().expect("terminal");
    assert_eq!(last.call_status, CallStatus::Completed);
    let d = last.call_duration.expect("duration");
    assert!((9..=14).contains(&d), "duration {d}");
    assert!(!standin.is_live(&parent));
    assert!(standin.hangup(&parent).is_err(), "second hangup is refused");

    let (app, standin, mut rx) = setup().await;
    let parent = outbound(&standin, "+15551230003", ALL).await;
    events_until(&mut rx, |e| matches!(e.kind, StandInEventKind::Ringing)).await;
    standin.hangup(&parent).expect("hangup");
    events_until(&mut rx, parent_completed(&parent)).await;
    let got: Vec<String> = status_names(&app).into_iter().map(|(_, s)| s).collect();
    assert_eq!(got, vec!["initiated", "ringing", "canceled"]);
}

#[tokio::test]
async fn digits_are_published_and_validated() {
    let (_app, standin, mut rx) = setup().await;
    let parent = outbound(&standin, "+15551230005", ALL).await;
    events_until(&mut rx, |e| matches!(e.kind, StandInEventKind::Answered)).await;
    assert!(standin.send_digits(&parent, "12a").is_err());
    standin.send_digits(&parent, "1w#").expect("digits");
    let ev = events_until(&mut rx, |e| matches!(e.kind, StandInEventKind::Digits { .. })).await;
    assert_eq!(ev.last().map(|e| e.kind.clone()), Some(StandInEventKind::Digits { digits: "1w#".into() }));
    standin.hangup(&parent).expect("hangup");
    events_until(&mut rx, parent_completed(&parent)).await;
    assert!(standin.send_digits(&parent, "1").is_err());
}

#[tokio::test]
async fn inbound_call_answered_by_client() {
    let (app, standin, mut rx) = setup().await;
    let handle = standin.inbound("+15557654321", "+15550001111").await.expect("inbound");
    let parent = handle.call_sid.clone();
    let ev = events_until(&mut rx, |e| matches!(e.kind, StandInEventKind::ClientRinging { .. })).await;
    let ringing = ev.last().expect("ringing").clone();
    assert_eq!(ringing.parent_call_sid.as_deref(), Some(parent.as_str()));
    assert_eq!(
        ringing.kind,
        StandInEventKind::ClientRinging {
            identity: "alice".into(),
            parameters: vec![("crmContact".into(), "42".into())],
            from: "+15557654321".into(),
        }
    );
    assert!(standin.answer_client(&parent, "bob").is_err(), "only alice is ringing");
    standin.answer_client(&ringing.call_sid, "alice").expect("answer");
    events_until(&mut rx, |e| matches!(e.kind, StandInEventKind::Answered)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    standin.hangup(&ringing.call_sid).expect("agent hangs up");
    events_until(&mut rx, parent_completed(&parent)).await;

    let voice = VoiceRequest::from_form(&app.requests("/voice")[0].form).expect("voice");
    assert_eq!(voice.from, "+15557654321");
    assert_eq!(voice.to, "+15550001111");
    assert_eq!(voice.direction, "inbound");
    let got: Vec<String> = status_names(&app).into_iter().map(|(_, s)| s).collect();
    assert_eq!(got, vec!["initiated", "ringing", "in-progress", "completed"]);
    assert_eq!(app.statuses()[0].to.as_deref(), Some("client:alice"));
    let done = app.requests("/dial-done");
    assert_eq!(done.len(), 1);
    let action = DialAction::from_form(&done[0].form).expect("dial action parses");
    assert!(action.answered());
    assert_eq!(action.dial_call_sid.as_deref(), Some(ringing.call_sid.as_str()));
    assert_eq!(action.call_sid, parent);
    assert!(action.dial_call_duration.is_some_and(|d| (3..=8).contains(&d)), "{action:?}");
    assert!(app.requests("/recording").is_empty());
}

#[tokio::test]
async fn inbound_call_rejected_goes_to_voicemail() {
    let (app, standin, mut rx) = setup().await;
    let parent = standin.inbound("+15557654321", "+15550001111").await.expect("inbound").call_sid;
    events_until(&mut rx, |e| matches!(e.kind, StandInEventKind::ClientRinging { .. })).await;
    standin.reject(&parent).expect("reject");
    let events = events_until(&mut rx, parent_completed(&parent)).await;
    assert!(events.iter().any(|e| matches!(e.kind, StandInEventKind::Recording { .. })));
    let done = app.requests("/dial-done");
    assert_eq!(get(&done[0].form, "DialCallStatus"), Some("busy"));
    let rec = app.requests("/recording");
    assert_eq!(rec.len(), 1);
    let rc = RecordingCallback::from_form(&rec[0].form).expect("recording callback");
    assert_eq!(rc.call_sid, parent);
    assert_eq!(rc.recording_status.as_deref(), Some("completed"));
    assert!(mpt_twilio::sid::is_sid(&rc.recording_sid, "RE"));
    assert!((4..=7).contains(&rc.recording_duration.expect("duration")));
    let recorded = app.requests("/recorded");
    assert_eq!(recorded.len(), 1);
    assert_eq!(get(&recorded[0].form, "RecordingSid"), Some(rc.recording_sid.as_str()));
}

#[tokio::test]
async fn wrong_auth_token_is_refused_by_the_server() {
    let app = start_server().await;
    let standin = StandIn::new(config(&app, "not-the-token")).expect("standin");
    let err = standin.place_outbound("agent-7", BTreeMap::new()).await.expect_err("403");
    assert!(err.to_string().contains("403"), "{err}");
    assert!(app.requests("/voice").is_empty());
}

#[tokio::test]
async fn two_agents_ring_first_to_answer_wins() {
    let (app, standin, mut rx) = setup().await;
    let parent = standin.inbound("+15557654321", "+15550002222").await.expect("inbound").call_sid;
    let mut ringing = Vec::new();
    while ringing.len() < 2 {
        let ev = events_until(&mut rx, |e| matches!(e.kind, StandInEventKind::ClientRinging { .. })).await;
        ringing.push(ev.last().expect("event").clone());
    }
    let bob_leg = ringing
        .iter()
        .find(|e| matches!(&e.kind, StandInEventKind::ClientRinging { identity, .. } if identity == "bob"))
        .expect("bob rings")
        .call_sid
        .clone();
    let alice_leg = ringing.iter().find(|e| e.call_sid != bob_leg).expect("alice rings").call_sid.clone();
    assert!(standin.answer_client(&alice_leg, "bob").is_err(), "bob cannot answer alice's leg");
    standin.answer_client(&parent, "bob").expect("bob answers");
    events_until(&mut rx, |e| e.call_sid == bob_leg && matches!(e.kind, StandInEventKind::Answered)).await;
    standin.hangup(&parent).expect("caller hangs up");
    events_until(&mut rx, parent_completed(&parent)).await;

    let statuses = app.statuses();
    let final_of = |sid: &str| statuses.iter().rfind(|s| s.call_sid == sid).expect("callbacks").call_status;
    assert_eq!(final_of(&alice_leg), CallStatus::Canceled);
    assert_eq!(final_of(&bob_leg), CallStatus::Completed);
    assert!(statuses.iter().all(|s| s.parent_call_sid.as_deref() == Some(parent.as_str())));
    // The caller hung up: no <Dial action> request.
    assert!(app.requests("/dial-done").is_empty());
}

#[tokio::test]
async fn all_agents_decline_then_voicemail() {
    let (app, standin, mut rx) = setup().await;
    let parent = standin.inbound("+15557654321", "+15550002222").await.expect("inbound").call_sid;
    let mut legs = Vec::new();
    while legs.len() < 2 {
        let ev = events_until(&mut rx, |e| matches!(e.kind, StandInEventKind::ClientRinging { .. })).await;
        legs.push(ev.last().expect("event").call_sid.clone());
    }
    standin.reject(&legs[0]).expect("first declines");
    events_until(&mut rx, |e| e.call_sid == legs[0] && matches!(e.kind, StandInEventKind::Completed { .. })).await;
    assert!(app.requests("/dial-done").is_empty(), "the other agent still rings");
    standin.hangup(&legs[1]).expect("second declines");
    let events = events_until(&mut rx, parent_completed(&parent)).await;
    assert!(events.iter().any(|e| matches!(e.kind, StandInEventKind::Recording { .. })));
    let done = app.requests("/dial-done");
    assert_eq!(get(&done[0].form, "DialCallStatus"), Some("busy"));
    assert_eq!(app.requests("/recording").len(), 1);
}

#[tokio::test]
async fn unanswered_client_times_out() {
    let (app, standin, mut rx) = setup().await;
    let parent = standin.inbound("+15557654321", "+15550001111").await.expect("inbound").call_sid;
    events_until(&mut rx, parent_completed(&parent)).await;
    let done = app.requests("/dial-done");
    assert_eq!(get(&done[0].form, "DialCallStatus"), Some("no-answer"));
    let got: Vec<String> = status_names(&app).into_iter().map(|(_, s)| s).collect();
    assert_eq!(got, vec!["initiated", "ringing", "no-answer"]);
}

#[tokio::test]
async fn duplicated_callbacks_and_parent_status_callback() {
    let app = start_server().await;
    let mut cfg = config(&app, TOKEN);
    cfg.duplicate_callbacks = true;
    cfg.status_callback = Some(format!("{}/parent-status", app.base));
    let standin = StandIn::new(cfg).expect("standin");
    let mut rx = standin.subscribe();
    let parent = outbound(&standin, "+15551230001", ALL).await;
    events_until(&mut rx, parent_completed(&parent)).await;

    let statuses = app.statuses();
    assert_eq!(statuses.len(), 8, "each of the four callbacks twice");
    let mut progress = CallProgress::new();
    let applied: Vec<Applied> = statuses.iter().map(|s| progress.apply(&s.update())).collect();
    assert_eq!(applied.iter().filter(|a| **a == Applied::Duplicate).count(), 4);
    assert_eq!(progress.status(), CallStatus::Completed);
    let talk = progress.duration_secs().expect("duration");
    // Whole-second timestamps vs a rounded duration: at most one second apart.
    let span = progress.ended_at().expect("end") - progress.answered_at().expect("answer");
    assert!((span - talk as i64).abs() <= 1, "{span} vs {talk}");

    let parent_cbs = app.requests("/parent-status");
    assert_eq!(parent_cbs.len(), 2);
    let p = StatusCallback::from_form(&parent_cbs[0].form).expect("parent callback");
    assert_eq!(p.call_sid, parent);
    assert_eq!(p.parent_call_sid, None);
    assert_eq!(p.call_status, CallStatus::Completed);
    assert_eq!(p.direction.as_deref(), Some("inbound"));
    assert_eq!(p.from.as_deref(), Some("client:agent-7"));
    assert!(p.call_duration.expect("parent duration") >= talk);
}

async fn inbound_to(to: &str) -> (App, String, Vec<StandInEvent>) {
    let app = start_server().await;
    let mut cfg = config(&app, TOKEN);
    cfg.status_callback = Some(format!("{}/parent-status", app.base));
    let standin = StandIn::new(cfg).expect("standin");
    let mut rx = standin.subscribe();
    let parent = standin.inbound("+15557654321", to).await.expect("inbound").call_sid;
    let events = events_until(&mut rx, parent_completed(&parent)).await;
    (app, parent, events)
}

fn parent_final(app: &App) -> CallStatus {
    let cbs = app.requests("/parent-status");
    assert_eq!(cbs.len(), 1);
    StatusCallback::from_form(&cbs[0].form).expect("parent callback").call_status
}

#[tokio::test]
async fn reject_verb_ends_the_call_no_answer_or_busy() {
    let (app, _, events) = inbound_to("+15550003333").await;
    assert_eq!(parent_final(&app), CallStatus::NoAnswer);
    assert!(matches!(events.last().map(|e| &e.kind), Some(StandInEventKind::Completed { status: CallStatus::NoAnswer, .. })));
    let (app, _, _) = inbound_to("+15550004444").await;
    assert_eq!(parent_final(&app), CallStatus::Busy);
}

#[tokio::test]
async fn pause_and_redirect_are_followed_until_hangup() {
    let (app, parent, _) = inbound_to("+15550005555").await;
    let redirected = app.requests("/redirected");
    assert_eq!(redirected.len(), 1);
    assert_eq!(get(&redirected[0].form, "CallSid"), Some(parent.as_str()));
    assert_eq!(parent_final(&app), CallStatus::Completed);
}

#[tokio::test]
async fn broken_twiml_and_failing_webhooks() {
    let app = start_server().await;
    let standin = StandIn::new(config(&app, TOKEN)).expect("standin");
    let err = standin.inbound("+15557654321", "+15550006666").await.expect_err("malformed TwiML");
    assert!(matches!(err, mpt_twilio::TwilioError::InvalidTwiml { .. }), "{err}");

    let (_app, parent, events) = inbound_to("+15550007777").await;
    assert!(events.iter().any(|e| e.call_sid == parent
        && matches!(&e.kind, StandInEventKind::WebhookFailed { url, reason } if url.ends_with("/broken") && reason.contains("500"))));
}

#[tokio::test]
async fn reordered_callbacks_still_end_completed() {
    let app = start_server().await;
    let mut cfg = config(&app, TOKEN);
    cfg.reorder_callbacks = true;
    let standin = StandIn::new(cfg).expect("standin");
    let mut rx = standin.subscribe();
    let parent = outbound(&standin, "+15551230001", ALL).await;
    events_until(&mut rx, parent_completed(&parent)).await;
    assert_eq!(
        status_names(&app),
        vec![(1, "ringing".into()), (0, "initiated".into()), (3, "completed".into()), (2, "in-progress".into())]
    );
    let mut progress = CallProgress::new();
    let applied: Vec<Applied> = app.statuses().iter().map(|s| progress.apply(&s.update())).collect();
    assert_eq!(applied[1], Applied::Stale);
    assert_eq!(applied[3], Applied::Stale, "in-progress after completed does not reopen the call");
    assert_eq!(progress.status(), CallStatus::Completed);
    assert!(progress.answered_at().is_some(), "the late in-progress still gives the answer time");
}
