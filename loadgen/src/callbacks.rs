//! Status callbacks, sent the way Twilio sends them: for each call a signed
//! `POST /twilio/voice` (the browser's `connect`), then the dialled leg's
//! `initiated`, `ringing`, `in-progress` and `completed` callbacks, signed with the
//! tenant's auth token (in order, except for every [`OUT_OF_ORDER_EVERY`]-th call;
//! every [`DUPLICATE_EVERY`]-th call gets `completed` twice). Afterwards the call logs are read back through
//! `GET /api/calls` to check that every call reached `completed` with its duration.

use crate::error::{LoadError, Result};
use crate::setup::{Creds, Session, CALLER_ID};
use crate::stats::Summary;
use mpt_core::api::CallLogPage;
use mpt_twilio::call_state::CallStatus;
use mpt_twilio::sid::new_sid;
use mpt_twilio::signature;
use mpt_twilio::webhook::{encode_form_body, StatusCallback, VoiceRequest};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A signed webhook, ready to send.
struct Signed {
    body: String,
    sig: String,
}

/// One simulated call.
pub struct Call {
    /// Parent (browser leg) SID.
    pub parent: String,
    /// Dialled leg SID.
    pub child: String,
    /// Agent who placed it.
    pub agent_id: String,
    /// Index of that agent in the sessions (= its socket in the fan-out).
    pub agent_idx: usize,
    /// Talk time reported on `completed`.
    pub duration: u64,
    voice: Signed,
    callbacks: Vec<Signed>,
}

fn sign(creds: &Creds, url: &str, pairs: &[(String, String)]) -> Signed {
    Signed { body: encode_form_body(pairs), sig: signature::compute(&creds.auth_token, url, pairs) }
}

/// Every n-th call gets its callbacks in the order ringing, initiated, completed, in-progress.
pub const OUT_OF_ORDER_EVERY: usize = 10;
/// Every n-th call gets its `completed` callback twice.
pub const DUPLICATE_EVERY: usize = 7;

/// Builds (and signs, outside the measured window) `n` calls spread over `agents`.
pub fn plan(base: &str, creds: &Creds, agents: &[Session], n: usize) -> Result<Vec<Call>> {
    let voice_url = format!("{base}/twilio/voice");
    let status_url = format!("{base}/twilio/status");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let mut calls = Vec::with_capacity(n);
    for i in 0..n {
        let agent = &agents[i % agents.len()];
        let parent = new_sid("CA")?;
        let child = new_sid("CA")?;
        let to = format!("+1415555{:04}", 200 + (i % 700));
        let duration = 1 + (i as u64 * 7919) % 900;
        let voice = VoiceRequest {
            call_sid: parent.clone(),
            account_sid: creds.account_sid.clone(),
            from: format!("client:{}", agent.identity),
            to: to.clone(),
            caller: Some(format!("client:{}", agent.identity)),
            direction: "inbound".into(),
            api_version: "2010-04-01".into(),
            call_status: CallStatus::Ringing,
            other: vec![("ApplicationSid".into(), creds.twiml_app_sid.clone())],
        };
        let voice = sign(creds, &voice_url, &voice.to_form());
        let t0 = now - 1000 + (i as i64 % 600);
        let steps = [
            (CallStatus::Initiated, t0, None),
            (CallStatus::Ringing, t0 + 1, None),
            (CallStatus::InProgress, t0 + 3, None),
            (CallStatus::Completed, t0 + 3 + duration as i64, Some(duration)),
        ];
        let mut callbacks = Vec::with_capacity(steps.len());
        for (seq, (status, ts, dur)) in steps.into_iter().enumerate() {
            let cb = StatusCallback {
                call_sid: child.clone(),
                parent_call_sid: Some(parent.clone()),
                account_sid: creds.account_sid.clone(),
                call_status: status,
                call_duration: dur,
                timestamp_raw: None,
                timestamp: Some(ts),
                sequence_number: Some(seq as u64),
                direction: Some("outbound-dial".into()),
                from: Some(CALLER_ID.into()),
                to: Some(to.clone()),
                callback_source: Some("call-progress-events".into()),
                other: Vec::new(),
            };
            callbacks.push(sign(creds, &status_url, &cb.to_form()?));
        }
        // Twilio's callbacks "can arrive late, twice, or out of order": some calls get
        // theirs shuffled, some a repeated `completed`.
        if i % OUT_OF_ORDER_EVERY == 3 {
            callbacks.swap(0, 1);
            callbacks.swap(2, 3);
        }
        if i % DUPLICATE_EVERY == 5 {
            let last = &callbacks[callbacks.len() - 1];
            let dup = Signed { body: last.body.clone(), sig: last.sig.clone() };
            callbacks.push(dup);
        }
        calls.push(Call { parent, child, agent_id: agent.agent_id.clone(), agent_idx: i % agents.len(), duration, voice, callbacks });
    }
    Ok(calls)
}

#[derive(Default)]
struct Tally {
    lat: Vec<Duration>,
    bad: usize,
    errors: usize,
    first_problem: Option<String>,
    /// Calls whose webhooks were all sent and answered 2xx.
    done: Vec<usize>,
    /// When each call's first `completed` callback was sent.
    completed_sent: Vec<(usize, Instant)>,
}

async fn post(http: &reqwest::Client, url: &str, s: &Signed) -> std::result::Result<(u16, String), reqwest::Error> {
    let resp = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(signature::HEADER, &s.sig)
        .body(s.body.clone())
        .send()
        .await?;
    let status = resp.status().as_u16();
    Ok((status, resp.text().await?))
}

/// What to send for each call in a phase.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The voice webhook (call set-up; answers TwiML with `<Dial>`).
    Voice,
    /// The four status callbacks, in order.
    Status,
}

/// Result of a phase.
pub struct Outcome {
    /// The numbers (one latency per webhook).
    pub summary: Summary,
    /// Calls fully sent with 2xx answers.
    pub done: Vec<usize>,
    /// First failure seen.
    pub first_problem: Option<String>,
    /// When each call's first `completed` callback was sent (call index, instant).
    pub completed_sent: Vec<(usize, Instant)>,
}

/// Sends a phase's webhooks for `only` (indexes into `calls`), `conc` calls at a
/// time, for at most `max_time`.
pub async fn send(
    http: &reqwest::Client,
    base: &str,
    calls: Arc<Vec<Call>>,
    only: Arc<Vec<usize>>,
    phase: Phase,
    conc: usize,
    max_time: Duration,
) -> Outcome {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let url = match phase {
        Phase::Voice => format!("{base}/twilio/voice"),
        Phase::Status => format!("{base}/twilio/status"),
    };
    let mut tasks = Vec::new();
    for _ in 0..conc.max(1) {
        let (http, url, calls, only, next) = (http.clone(), url.clone(), calls.clone(), only.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut t = Tally::default();
            'calls: loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= only.len() || start.elapsed() > max_time {
                    return t;
                }
                let idx = only[k];
                let call = &calls[idx];
                let hooks: Vec<&Signed> = match phase {
                    Phase::Voice => vec![&call.voice],
                    Phase::Status => call.callbacks.iter().collect(),
                };
                let mut completed_seen = false;
                for h in hooks {
                    let t0 = Instant::now();
                    if phase == Phase::Status && !completed_seen && h.body.contains("CallStatus=completed") {
                        completed_seen = true;
                        t.completed_sent.push((idx, t0));
                    }
                    match post(&http, &url, h).await {
                        Ok((status, body)) => {
                            let good = match phase {
                                Phase::Voice => status == 200 && body.contains("<Dial"),
                                Phase::Status => (200..300).contains(&status),
                            };
                            if good {
                                t.lat.push(t0.elapsed());
                            } else {
                                t.bad += 1;
                                t.first_problem.get_or_insert_with(|| format!("HTTP {status}: {}", &body[..body.len().min(200)]));
                                continue 'calls;
                            }
                        }
                        Err(e) => {
                            t.errors += 1;
                            t.first_problem.get_or_insert_with(|| e.to_string());
                            continue 'calls;
                        }
                    }
                }
                t.done.push(idx);
            }
        }));
    }
    let mut all = Tally::default();
    for task in tasks {
        match task.await {
            Ok(t) => {
                all.lat.extend(t.lat);
                all.bad += t.bad;
                all.errors += t.errors;
                all.done.extend(t.done);
                all.completed_sent.extend(t.completed_sent);
                if all.first_problem.is_none() {
                    all.first_problem = t.first_problem;
                }
            }
            Err(e) => {
                all.errors += 1;
                all.first_problem.get_or_insert_with(|| format!("client task: {e}"));
            }
        }
    }
    all.done.sort_unstable();
    Outcome {
        summary: Summary::new(all.lat, all.bad, all.errors, start.elapsed()),
        done: all.done,
        first_problem: all.first_problem,
        completed_sent: all.completed_sent,
    }
}

/// What the read-back found.
#[derive(Debug, Default)]
pub struct Check {
    /// Call logs listed.
    pub listed: usize,
    /// Calls checked.
    pub checked: usize,
    /// Calls missing from the logs.
    pub missing: usize,
    /// Calls present but wrong (status, duration, child leg or agent).
    pub wrong: usize,
    /// A few examples of problems.
    pub examples: Vec<String>,
}

/// Reads every call log (cursor pagination) and checks the calls in `sent`.
pub async fn verify(http: &reqwest::Client, base: &str, bearer: &str, calls: &[Call], sent: &[usize], max_time: Duration) -> Result<Check> {
    let start = Instant::now();
    let mut logs = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        if start.elapsed() > max_time {
            return Err(LoadError::Setup(format!("reading call logs took longer than {max_time:?}")));
        }
        let mut req = http.get(format!("{base}/api/calls")).bearer_auth(bearer).query(&[("limit", "200")]);
        if let Some(c) = &cursor {
            req = req.query(&[("cursor", c.as_str())]);
        }
        let resp = req.send().await?;
        if !resp.status().is_success() {
            return Err(LoadError::Setup(format!("GET /api/calls: HTTP {}", resp.status())));
        }
        let page: CallLogPage = resp.json().await?;
        for c in page.items {
            if let Some(sid) = c.call_sid.clone() {
                logs.insert(sid, c);
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut check = Check { listed: logs.len(), ..Check::default() };
    for &i in sent {
        let call = &calls[i];
        check.checked += 1;
        let Some(log) = logs.get(&call.parent) else {
            check.missing += 1;
            if check.examples.len() < 5 {
                check.examples.push(format!("{}: no call log", call.parent));
            }
            continue;
        };
        let ok = log.status == "completed"
            && log.duration_seconds == Some(call.duration)
            && log.child_call_sid.as_deref() == Some(call.child.as_str())
            && log.agent_id.as_deref() == Some(call.agent_id.as_str());
        if !ok {
            check.wrong += 1;
            if check.examples.len() < 5 {
                check.examples.push(format!(
                    "{}: status {} duration {:?} (want {}) child {:?} agent {:?}",
                    call.parent, log.status, log.duration_seconds, call.duration, log.child_call_sid, log.agent_id
                ));
            }
        }
    }
    Ok(check)
}
