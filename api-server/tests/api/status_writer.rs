//! Status callbacks under concurrency: every callback lands, events stay ordered, and
//! (SQLite) the group-commit writer batches, isolates a failing callback and re-reads a
//! call whose row changed underneath it.

use crate::both_backends;
use crate::helpers::{eventually, parse, spawn_app, TestApp};
use mpt_core::api::{CallLog, ServerEvent};
use mpt_twilio::call_state::CallStatus;
use mpt_twilio::webhook::StatusCallback;
use reqwest::StatusCode;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

fn sid(kind: u32, n: usize) -> String {
    format!("CA{kind:08}{n:024}")
}

/// Places call `n` through the voice webhook (as the demo agent); its log id is
/// `sw-call-{n:04}`.
async fn place(app: &TestApp, n: usize) {
    let t = app.demo_tenant().await;
    let parent = sid(1, n);
    let log_id = format!("sw-call-{n:04}");
    let pairs = [
        ("AccountSid", t.account_sid.as_str()),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", parent.as_str()),
        ("CallStatus", "ringing"),
        ("Caller", "client:demo-agent"),
        ("Direction", "inbound"),
        ("From", "client:demo-agent"),
        ("To", "+14155550142"),
        ("ClientCallId", log_id.as_str()),
    ];
    let (status, body) = app.twilio("/twilio/voice", &t.auth_token, &pairs).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The dialled leg's callbacks of call `n`: initiated, ringing, in-progress, completed
/// (talk time `10 + n` seconds), as Twilio words them.
fn callbacks(account: &str, n: usize) -> Vec<Vec<(String, String)>> {
    let t0 = 1_795_428_000 + n as i64 * 100;
    let steps = [
        (CallStatus::Initiated, 0, 0),
        (CallStatus::Ringing, 1, 1),
        (CallStatus::InProgress, 2, 3),
        (CallStatus::Completed, 3, 13 + n as i64),
    ];
    steps
        .iter()
        .map(|&(status, seq, dt)| {
            let cb = StatusCallback {
                call_sid: sid(2, n),
                parent_call_sid: Some(sid(1, n)),
                account_sid: account.to_string(),
                call_status: status,
                call_duration: (status == CallStatus::Completed).then_some(10 + n as u64),
                timestamp_raw: None,
                timestamp: Some(t0 + dt),
                sequence_number: Some(seq),
                direction: Some("outbound-dial".into()),
                from: Some("+14155550100".into()),
                to: Some("+14155550142".into()),
                callback_source: Some("call-progress-events".into()),
                other: Vec::new(),
            };
            cb.to_form().expect("form")
        })
        .collect()
}

/// Sends one signed status callback from a spawned task.
fn spawn_callback(app: &TestApp, auth_token: &str, pairs: Vec<(String, String)>) -> tokio::task::JoinHandle<(StatusCode, String)> {
    let url = format!("{}/twilio/status", app.url);
    let sig = mpt_twilio::signature::compute(auth_token, &url, &pairs);
    let http = app.http.clone();
    tokio::spawn(async move {
        let resp = http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("X-Twilio-Signature", sig)
            .body(mpt_twilio::webhook::encode_form_body(&pairs))
            .send()
            .await
            .expect("request");
        (resp.status(), resp.text().await.expect("body"))
    })
}

async fn get_call(app: &TestApp, token: &str, n: usize) -> CallLog {
    let (status, body) = app.get(&format!("/api/calls/sw-call-{n:04}"), token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    parse(body)
}

/// Every callback of 40 calls at once, in an arbitrary order, some twice: each call
/// ends completed with its own duration, and the agent's socket sees every call's
/// statuses move only forward, ending at completed, with event ids increasing.
async fn concurrent_callbacks_all_land(app: &TestApp) {
    const CALLS: usize = 40;
    let t = app.demo_tenant().await;
    let agent = app.demo_agent().await;
    for n in 0..CALLS {
        place(app, n).await;
    }
    let mut ws = app.ws(&agent.access_token, None).await;
    let mut sends = Vec::new();
    for n in 0..CALLS {
        let mut cbs = callbacks(&t.account_sid, n);
        if n % 3 == 0 {
            cbs.reverse();
        }
        if n % 4 == 1 {
            cbs.push(cbs[3].clone());
        }
        for pairs in cbs {
            sends.push(spawn_callback(app, &t.auth_token, pairs));
        }
    }
    for s in sends {
        let (status, body) = s.await.expect("task");
        assert!(status.is_success(), "{status} {body}");
    }
    for n in 0..CALLS {
        let call = get_call(app, &agent.access_token, n).await;
        assert_eq!(call.status, "completed", "call {n}");
        assert_eq!(call.duration_seconds, Some(10 + n as u64), "call {n}");
        assert_eq!(call.answered_at, Some((1_795_428_000 + n as i64 * 100 + 3) * 1000), "call {n}");
        assert_eq!(call.child_call_sid.as_deref(), Some(sid(2, n).as_str()));
    }
    // Live events: per call, statuses only move forward and end at completed.
    let mut seen: HashMap<String, Vec<CallStatus>> = HashMap::new();
    let mut last_id = 0;
    while seen.values().filter(|v| v.last() == Some(&CallStatus::Completed)).count() < CALLS {
        let env = ws.next(30).await.expect("every call's completed event arrives");
        if let Some(id) = env.id {
            assert!(id > last_id, "event ids increase: {id} after {last_id}");
            last_id = id;
        }
        if let ServerEvent::CallStatus { call_id, status, .. } = env.event {
            let status: CallStatus = status.parse().expect("known status");
            let list = seen.entry(call_id.clone()).or_default();
            if let Some(prev) = list.last() {
                assert!(
                    status.rank() > prev.rank() || (status.is_terminal() && !prev.is_terminal()),
                    "{call_id}: {prev:?} then {status:?}"
                );
            }
            list.push(status);
        }
    }
    ws.close().await;
}

both_backends!(concurrent_callbacks_all_land);

/// Holds the SQLite writer lock while `n` callbacks are sent, until all of them have
/// reached the writer (in the batch it took before blocking on the lock, or queued), so
/// they commit in at most two batches when it is released. (Waiting for "one taken, the
/// rest queued" never ended when the writer's first batch took two or more: two
/// callbacks arriving before the writer task ran, as on a loaded machine.)
async fn send_while_held(app: &TestApp, auth_token: &str, all: Vec<Vec<(String, String)>>) -> Vec<(StatusCode, String)> {
    let state = app.state().clone();
    let lock = state.db.write_lock().await;
    let n = all.len();
    let sends: Vec<_> = all.into_iter().map(|pairs| spawn_callback(app, auth_token, pairs)).collect();
    let w = Arc::new(state.clone());
    eventually(30, || {
        let w = w.clone();
        async move { (w.status_writer.waiting() >= n).then_some(()) }
    })
    .await;
    drop(lock);
    let mut out = Vec::new();
    for s in sends {
        out.push(s.await.expect("task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_callbacks_that_arrive_together_commit_together() {
    let app = spawn_app().await;
    let t = app.demo_tenant().await;
    let agent = app.demo_agent().await;
    for n in 0..10 {
        place(&app, n).await;
    }
    // Warm the writer (it starts on first use) with call 0's first callback.
    let first = callbacks(&t.account_sid, 0).remove(0);
    assert!(spawn_callback(&app, &t.auth_token, first).await.expect("task").0.is_success());
    let m = &app.state().metrics;
    let (b0, c0) = (m.status_batches.load(Ordering::Relaxed), m.status_callbacks_stored.load(Ordering::Relaxed));
    // 36 callbacks (calls 1–9, four each) sent together.
    let all: Vec<_> = (1..10).flat_map(|n| callbacks(&t.account_sid, n)).collect();
    for (status, body) in send_while_held(&app, &t.auth_token, all).await {
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let batches = m.status_batches.load(Ordering::Relaxed) - b0;
    let stored = m.status_callbacks_stored.load(Ordering::Relaxed) - c0;
    assert_eq!(stored, 36);
    assert!(batches <= 2, "36 queued callbacks took {batches} transactions");
    for n in 1..10 {
        let call = get_call(&app, &agent.access_token, n).await;
        assert_eq!((call.status.as_str(), call.duration_seconds), ("completed", Some(10 + n as u64)));
        // Sent together, they arrive in any order: a late in-progress still sets the
        // answer time, but the logged status never goes back.
        assert_eq!(call.answered_at, Some((1_795_428_000 + n as i64 * 100 + 3) * 1000), "call {n}");
        assert_eq!(call.status_history.last().map(|h| h.status.as_str()), Some("completed"), "call {n}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_failing_callback_fails_alone_and_its_retry_lands() {
    let app = spawn_app().await;
    let t = app.demo_tenant().await;
    let agent = app.demo_agent().await;
    for n in 0..6 {
        place(&app, n).await;
    }
    // Call 3's row refuses every update (as a full disk or a corrupt page would).
    sqlx::query(
        "CREATE TRIGGER refuse_call_3 BEFORE UPDATE ON calls WHEN OLD.id = 'sw-call-0003' \
         BEGIN SELECT RAISE(ABORT, 'refused for the test'); END",
    )
    .execute(&app.state().db.pool)
    .await
    .expect("trigger");
    let ringing = |n: usize| callbacks(&t.account_sid, n).remove(1);
    let results = send_while_held(&app, &t.auth_token, (0..6).map(ringing).collect()).await;
    for (n, (status, body)) in results.iter().enumerate() {
        if n == 3 {
            assert_eq!(*status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
            assert!(!body.contains("refused"), "no internals in the answer: {body}");
        } else {
            assert_eq!(*status, StatusCode::NO_CONTENT, "call {n}: {body}");
            assert_eq!(get_call(&app, &agent.access_token, n).await.status, "ringing", "call {n}");
        }
    }
    assert_eq!(get_call(&app, &agent.access_token, 3).await.status, "initiated", "nothing of the failed callback written");
    // Twilio retries the failed callback; once the fault is gone it lands.
    sqlx::query("DROP TRIGGER refuse_call_3").execute(&app.state().db.pool).await.expect("drop trigger");
    let (status, body) = spawn_callback(&app, &t.auth_token, ringing(3)).await.expect("task");
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(get_call(&app, &agent.access_token, 3).await.status, "ringing");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_row_changed_underneath_the_writer_is_read_again() {
    let app = spawn_app().await;
    let t = app.demo_tenant().await;
    let agent = app.demo_agent().await;
    place(&app, 0).await;
    let cbs = callbacks(&t.account_sid, 0);
    assert!(spawn_callback(&app, &t.auth_token, cbs[1].clone()).await.expect("task").0.is_success());
    // Another writer (not through the server's paths, so the writer's cached state of
    // the call is now stale) sets the disposition.
    sqlx::query("UPDATE calls SET disposition = 'callback-later', updated_at = updated_at + 1000 WHERE id = 'sw-call-0000'")
        .execute(&app.state().db.pool)
        .await
        .expect("update");
    let (status, body) = spawn_callback(&app, &t.auth_token, cbs[2].clone()).await.expect("task");
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let call = get_call(&app, &agent.access_token, 0).await;
    assert_eq!(call.status, "in-progress", "the callback applied after a re-read");
    assert_eq!(call.disposition.as_deref(), Some("callback-later"), "the other writer's change kept");
    app.stop().await;
}
