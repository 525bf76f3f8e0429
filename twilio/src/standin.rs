//! The sandbox stand-in: plays Twilio's side of a call over real HTTP, so the
//! server, the extension and the end-to-end tests run without a Twilio account.
//!
//! It POSTs our Voice URL exactly as Twilio does (form-encoded, signed with
//! `X-Twilio-Signature`), obeys the TwiML answered, creates the dialled (child)
//! leg and sends its signed status callbacks (`statusCallbackEvent` honoured;
//! the terminal callback is always sent), `<Dial action>` and `<Record>`
//! callbacks, and publishes [`StandInEvent`]s so the embedding server can play
//! the browser Device's side (ring the agent, report answer/hang-up).
//!
//! # Outcome of a dialled `<Number>` (by its last four digits)
//!
//! | Number ends in | Child leg callbacks                                  | Ends as      |
//! |----------------|------------------------------------------------------|--------------|
//! | `0002`         | initiated → busy                                     | `busy`       |
//! | `0003`         | initiated → ringing → (Dial `timeout`, default 30 s) | `no-answer`  |
//! | `0004`         | initiated → failed                                   | `failed`     |
//! | `0005`         | initiated → ringing → in-progress, never hangs up    | `completed` when a side hangs up |
//! | anything else  | initiated → ringing → in-progress → callee hangs up after [`StandInConfig::talk_secs`] | `completed` |
//!
//! Ringing lasts [`StandInConfig::ring_secs`] (4 s) before the callee answers;
//! if that exceeds the Dial `timeout` the leg ends `no-answer`. If the parent
//! (caller) hangs up while the child rings, the child ends `canceled`; once
//! bridged, it ends `completed` with its talk time as `CallDuration`.
//!
//! `<Dial><Client>`: publishes [`StandInEventKind::ClientRinging`]; then
//! [`StandIn::answer_client`] bridges, [`StandIn::reject`] ends the child leg
//! `busy`, and the Dial `timeout` ends it `no-answer`. After any `<Dial>` ends
//! (other than by the parent hanging up), its `action` URL is requested with
//! `DialCallStatus`, `DialCallSid`, `DialCallDuration`, and the TwiML it returns
//! replaces the rest of the document; without `action` the next verb runs.
//!
//! `<Record>`: the caller "speaks" for [`StandInConfig::record_secs`] (capped by
//! `maxLength`) or until [`StandIn::hangup`] of the parent; then
//! `recordingStatusCallback` (RecordingStatus=completed) and the `action` URL
//! are requested. `<Say>` takes 60 ms per character, `<Pause>` its length,
//! `<Reject>` ends the parent `busy` (`reason="busy"`) or `no-answer` (default),
//! `<Hangup>` and the end of the document end it `completed`.
//!
//! # Delivery
//! Requests are sent one at a time, in order, and always as signed POSTs (a
//! `statusCallbackMethod` of `GET` is not honoured). A failed request is
//! published as [`StandInEventKind::WebhookFailed`] and the call carries on, as
//! Twilio does. [`StandInConfig::duplicate_callbacks`] and
//! [`StandInConfig::reorder_callbacks`] imitate Twilio's duplicate and
//! out-of-order delivery; [`StandInConfig::status_callback`] receives the parent
//! call's final callback.
//!
//! # Time
//! Every delay is multiplied by [`StandInConfig::time_scale`] (1.0 realistic,
//! 0.01 in tests). Timestamps and durations sent to the server are in simulated
//! time, anchored at the real time each call started, so they stay realistic and
//! mutually consistent at any scale, and never drift away from the wall clock
//! across calls.
//!
//! Several `<Client>` targets ring at once (one child leg each): the first
//! to answer wins and the others end `canceled`; a declined leg ends `busy`;
//! the `<Dial>` ends `busy` when all decline, `no-answer` at its timeout.
//! With `<Number>` targets only the first number is dialled.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{broadcast, mpsc};

use crate::call_state::CallStatus;
use crate::sid::new_sid;
use crate::signature;
use crate::twiml::{CallEvent, Dial, DialTarget, Record, Response, Verb};
use crate::webhook::{encode_form_body, RecordingCallback, StatusCallback, DIRECTION_INBOUND, DIRECTION_OUTBOUND_DIAL};
use crate::TwilioError;

/// Configuration of a [`StandIn`].
#[derive(Debug, Clone)]
pub struct StandInConfig {
    /// `AccountSid` sent in every request.
    pub account_sid: String,
    /// The auth token requests are signed with.
    pub auth_token: String,
    /// The Voice URL (the TwiML App's, or the number's) the stand-in POSTs first.
    pub voice_url: String,
    /// Multiplies every delay: 1.0 realistic, 0.01 in tests.
    pub time_scale: f64,
    /// Timeout of each HTTP request.
    pub request_timeout: Duration,
    /// `ApplicationSid` sent with outbound (browser) calls, if any.
    pub application_sid: Option<String>,
    /// Simulated seconds a dialled number rings before answering.
    pub ring_secs: f64,
    /// Simulated seconds before the callee hangs up an answered call.
    pub talk_secs: f64,
    /// Simulated seconds a caller speaks into `<Record>`.
    pub record_secs: f64,
    /// The TwiML App's / number's `StatusCallback` URL: receives the parent
    /// call's `completed` callback (Direction=inbound, no ParentCallSid).
    pub status_callback: Option<String>,
    /// Deliver every status callback twice (exercises the server's duplicate handling).
    pub duplicate_callbacks: bool,
    /// Deliver a leg's status callbacks pairwise swapped (SequenceNumber 1, 0, 3, 2…),
    /// so `in-progress` can arrive after `completed` (exercises out-of-order handling).
    pub reorder_callbacks: bool,
}

impl StandInConfig {
    /// Realistic defaults: time scale 1.0, 10 s request timeout, ring 4 s, talk 20 s, record 5 s.
    pub fn new(account_sid: impl Into<String>, auth_token: impl Into<String>, voice_url: impl Into<String>) -> Self {
        Self {
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
            voice_url: voice_url.into(),
            time_scale: 1.0,
            request_timeout: Duration::from_secs(10),
            application_sid: None,
            ring_secs: 4.0,
            talk_secs: 20.0,
            record_secs: 5.0,
            status_callback: None,
            duplicate_callbacks: false,
            reorder_callbacks: false,
        }
    }
}

/// What the stand-in reports to the embedding server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandInEvent {
    /// The leg the event is about (the child leg for ringing/answer of a `<Dial>`).
    pub call_sid: String,
    /// The parent call, when `call_sid` is a child leg.
    pub parent_call_sid: Option<String>,
    /// What happened.
    pub kind: StandInEventKind,
}

/// The kinds of [`StandInEvent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StandInEventKind {
    /// A dialled number is ringing.
    Ringing,
    /// `<Dial><Client>` is ringing a browser identity: play the incoming call.
    ClientRinging {
        /// The identity dialled.
        identity: String,
        /// `<Parameter>`s of the `<Client>`.
        parameters: Vec<(String, String)>,
        /// The caller (`From` of the parent call).
        from: String,
    },
    /// The leg was answered (bridged).
    Answered,
    /// The leg ended.
    Completed {
        /// Its final status.
        status: CallStatus,
        /// Talk time in simulated seconds (0 when never answered).
        duration_secs: u64,
    },
    /// A recording finished and its callbacks were sent.
    Recording {
        /// `RE…`.
        recording_sid: String,
        /// Simulated seconds recorded.
        duration_secs: u64,
    },
    /// Digits were sent on the call (`send_digits`).
    Digits {
        /// The digits.
        digits: String,
    },
    /// A request to our server failed (the stand-in carried on as Twilio would).
    WebhookFailed {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

/// Returned when a call starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallHandle {
    /// The parent call's SID.
    pub call_sid: String,
    /// The TwiML the Voice URL answered.
    pub twiml: Response,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Running,
    NumberRinging,
    /// `(child SID, identity)` of each ringing `<Client>` leg.
    ClientRinging(Vec<(String, String)>),
    Bridged,
    Ended,
}

#[derive(Debug)]
struct CallEntry {
    /// Live child legs.
    children: Vec<String>,
    phase: Phase,
    ctl: mpsc::UnboundedSender<Ctl>,
}

#[derive(Debug)]
enum Ctl {
    HangupParent,
    /// Hang up (or, while ringing, decline) one child leg.
    HangupChild(String),
    /// The leg ringing `identity` answers.
    AnswerClient(String),
    /// Decline one ringing client leg, or all of them (`None`).
    RejectClient(Option<String>),
}

/// A `<Client>` of a `<Dial>`.
#[derive(Debug, Clone)]
struct ClientTarget {
    identity: String,
    parameters: Vec<(String, String)>,
    status_callback: Option<String>,
    events: Vec<CallEvent>,
}

#[derive(Default)]
struct Calls {
    /// Parent SID → entry.
    by_parent: HashMap<String, CallEntry>,
    /// Child SID → parent SID.
    child_to_parent: HashMap<String, String>,
}

struct Inner {
    config: StandInConfig,
    client: reqwest::Client,
    calls: Mutex<Calls>,
    events: broadcast::Sender<StandInEvent>,
    started: Instant,
    started_unix: f64,
}

/// The stand-in. Cheap to clone (shared state); calls run on the Tokio runtime.
#[derive(Clone)]
pub struct StandIn {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for StandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandIn").field("voice_url", &self.inner.config.voice_url).finish_non_exhaustive()
    }
}

/// Parameters Twilio includes in every request about a parent call.
#[derive(Debug, Clone)]
struct Parent {
    sid: String,
    from: String,
    to: String,
    base: Vec<(String, String)>,
}

enum DialEnd {
    /// The parent hung up: the call is over.
    ParentGone,
    /// The child leg ended; the parent continues.
    Done { status: CallStatus, child_sid: String, duration: u64 },
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

tokio::task_local! {
    /// The running call's clock: (real instant, Unix seconds) at its start.
    static CALL_CLOCK: (Instant, f64);
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

fn last4(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    digits[digits.len().saturating_sub(4)..].iter().collect()
}

impl StandIn {
    /// A stand-in with its own HTTP client.
    pub fn new(config: StandInConfig) -> Result<Self, TwilioError> {
        if !(config.time_scale.is_finite() && config.time_scale > 0.0) {
            return Err(TwilioError::InvalidInput { field: "time_scale", reason: "must be a positive number".into() });
        }
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .user_agent("TwilioProxy/1.1")
            .build()
            .map_err(|e| TwilioError::Http { url: config.voice_url.clone(), reason: e.to_string() })?;
        let (events, _) = broadcast::channel(1024);
        let started_unix = unix_now();
        Ok(Self {
            inner: Arc::new(Inner { config, client, calls: Mutex::new(Calls::default()), events, started: Instant::now(), started_unix }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &StandInConfig {
        &self.inner.config
    }

    /// Subscribes to events (only events after this call are received).
    pub fn subscribe(&self) -> broadcast::Receiver<StandInEvent> {
        self.inner.events.subscribe()
    }

    /// Simulated Unix time (seconds) on the stand-in's own clock. Each call's
    /// `Timestamp`s use a clock anchored at the real time that call started, so
    /// with `time_scale < 1` they run fast within a call but never drift across calls.
    pub fn sim_now(&self) -> f64 {
        self.inner.sim_now()
    }

    /// A browser `device.connect({params})` by `identity`: POSTs the Voice URL
    /// (From=`client:<identity>`, To=`params["To"]`, the other params as custom
    /// parameters), parses the TwiML and runs it in the background.
    pub async fn place_outbound(&self, identity: &str, params: BTreeMap<String, String>) -> Result<CallHandle, TwilioError> {
        if identity.is_empty() {
            return Err(TwilioError::InvalidInput { field: "identity", reason: "must not be empty".into() });
        }
        let from = format!("client:{identity}");
        let to = params.get("To").cloned().unwrap_or_default();
        let mut extra: Vec<(String, String)> = Vec::new();
        if let Some(app) = &self.inner.config.application_sid {
            extra.push(("ApplicationSid".into(), app.clone()));
        }
        extra.extend(params.into_iter().filter(|(k, _)| k != "To"));
        self.start_call(from, to, extra).await
    }

    /// A PSTN call from `from` to our number `to`: POSTs the Voice URL
    /// (Direction=inbound) and runs the TwiML in the background.
    pub async fn inbound(&self, from: &str, to: &str) -> Result<CallHandle, TwilioError> {
        let extra = pairs(&[("Called", to)]);
        self.start_call(from.to_string(), to.to_string(), extra).await
    }

    async fn start_call(&self, from: String, to: String, extra: Vec<(String, String)>) -> Result<CallHandle, TwilioError> {
        let inner = &self.inner;
        let sid = new_sid("CA")?;
        let mut base = pairs(&[
            ("CallSid", &sid),
            ("AccountSid", &inner.config.account_sid),
            ("From", &from),
            ("To", &to),
            ("Caller", &from),
            ("Direction", DIRECTION_INBOUND),
            ("ApiVersion", crate::API_VERSION),
        ]);
        base.push(("CallStatus".into(), CallStatus::Ringing.as_str().into()));
        let mut form = base.clone();
        form.extend(extra);
        let url = inner.config.voice_url.clone();
        let body = inner.post(&url, &form).await?;
        let twiml = Response::parse(&body)?;
        let (tx, rx) = mpsc::unbounded_channel();
        {
            let mut calls = inner.lock();
            calls.prune();
            calls.by_parent.insert(sid.clone(), CallEntry { children: Vec::new(), phase: Phase::Running, ctl: tx });
        }
        let parent = Parent { sid: sid.clone(), from, to, base };
        let task_inner = Arc::clone(inner);
        let verbs = twiml.verbs.clone();
        let clock = (Instant::now(), unix_now());
        tokio::spawn(CALL_CLOCK.scope(clock, async move { task_inner.run(parent, verbs, rx).await }));
        Ok(CallHandle { call_sid: sid, twiml })
    }

    /// Hangs up a leg: the parent SID ends the whole call (an answered child ends
    /// `completed`, a ringing one `canceled`); a child SID ends that leg and the
    /// parent continues with its TwiML.
    pub fn hangup(&self, call_sid: &str) -> Result<(), TwilioError> {
        let calls = self.inner.lock();
        let (parent, is_child) = calls.resolve(call_sid)?;
        let entry = calls.by_parent.get(&parent).ok_or_else(|| TwilioError::UnknownCall(call_sid.into()))?;
        if entry.phase == Phase::Ended {
            return Err(TwilioError::InvalidCallAction { call_sid: call_sid.into(), reason: "the call has ended".into() });
        }
        if is_child && !entry.children.iter().any(|c| c == call_sid) {
            return Err(TwilioError::InvalidCallAction { call_sid: call_sid.into(), reason: "this leg has ended".into() });
        }
        let ctl = if is_child { Ctl::HangupChild(call_sid.to_string()) } else { Ctl::HangupParent };
        entry.ctl.send(ctl).map_err(|_| TwilioError::InvalidCallAction { call_sid: call_sid.into(), reason: "the call has ended".into() })
    }

    /// The browser `identity` accepts its ringing `<Client>` leg (`call_sid`: the
    /// parent or that child leg). The other ringing legs end `canceled`.
    pub fn answer_client(&self, call_sid: &str, identity: &str) -> Result<(), TwilioError> {
        let calls = self.inner.lock();
        let (parent, is_child) = calls.resolve(call_sid)?;
        let entry = calls.by_parent.get(&parent).ok_or_else(|| TwilioError::UnknownCall(call_sid.into()))?;
        let Phase::ClientRinging(ringing) = &entry.phase else {
            return Err(TwilioError::InvalidCallAction { call_sid: call_sid.into(), reason: "no client is ringing".into() });
        };
        if !ringing.iter().any(|(sid, id)| id == identity && (!is_child || sid == call_sid)) {
            let ids: Vec<&str> = ringing.iter().map(|(_, id)| id.as_str()).collect();
            return Err(TwilioError::InvalidCallAction {
                call_sid: call_sid.into(),
                reason: format!("{identity:?} is not ringing on this leg (ringing: {ids:?})"),
            });
        }
        entry
            .ctl
            .send(Ctl::AnswerClient(identity.to_string()))
            .map_err(|_| TwilioError::InvalidCallAction { call_sid: call_sid.into(), reason: "the call has ended".into() })
    }

    /// The browser declines a ringing `<Client>` leg: it ends `busy`. Given the
    /// parent SID, every ringing client leg is declined. When no leg is left
    /// ringing, the `<Dial>` ends with `DialCallStatus=busy`.
    pub fn reject(&self, call_sid: &str) -> Result<(), TwilioError> {
        let calls = self.inner.lock();
        let (parent, is_child) = calls.resolve(call_sid)?;
        let entry = calls.by_parent.get(&parent).ok_or_else(|| TwilioError::UnknownCall(call_sid.into()))?;
        let ringing_here = match &entry.phase {
            Phase::ClientRinging(r) => r.iter().any(|(sid, _)| !is_child || sid == call_sid),
            _ => false,
        };
        if !ringing_here {
            return Err(TwilioError::InvalidCallAction { call_sid: call_sid.into(), reason: "no client is ringing".into() });
        }
        let target = is_child.then(|| call_sid.to_string());
        entry
            .ctl
            .send(Ctl::RejectClient(target))
            .map_err(|_| TwilioError::InvalidCallAction { call_sid: call_sid.into(), reason: "the call has ended".into() })
    }

    /// Sends DTMF digits on a live call (`0-9`, `*`, `#`, `w` for a pause);
    /// published as [`StandInEventKind::Digits`].
    pub fn send_digits(&self, call_sid: &str, digits: &str) -> Result<(), TwilioError> {
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'w')) {
            return Err(TwilioError::InvalidInput { field: "digits", reason: format!("{digits:?} is not 0-9, *, #, w") });
        }
        let parent = {
            let calls = self.inner.lock();
            let (parent, _) = calls.resolve(call_sid)?;
            match calls.by_parent.get(&parent).map(|e| &e.phase) {
                Some(Phase::Ended) | None => {
                    return Err(TwilioError::InvalidCallAction { call_sid: call_sid.into(), reason: "the call has ended".into() })
                }
                Some(_) => parent,
            }
        };
        let parent_call_sid = (parent != call_sid).then_some(parent);
        self.inner.emit(call_sid, parent_call_sid.as_deref(), StandInEventKind::Digits { digits: digits.into() });
        Ok(())
    }

    /// Whether the call (parent or child SID) is still live.
    pub fn is_live(&self, call_sid: &str) -> bool {
        let calls = self.inner.lock();
        match calls.resolve(call_sid) {
            Ok((parent, _)) => calls.by_parent.get(&parent).is_some_and(|e| e.phase != Phase::Ended),
            Err(_) => false,
        }
    }
}

/// Ended calls kept for [`StandIn::is_live`] and clear errors, before pruning.
const KEEP_ENDED_CALLS: usize = 1000;

impl Calls {
    /// Forgets ended calls once more than [`KEEP_ENDED_CALLS`] calls are known.
    fn prune(&mut self) {
        if self.by_parent.len() <= KEEP_ENDED_CALLS {
            return;
        }
        self.by_parent.retain(|_, e| e.phase != Phase::Ended);
        let parents = &self.by_parent;
        self.child_to_parent.retain(|_, p| parents.contains_key(p));
    }

    /// (parent SID, whether `sid` is a child leg).
    fn resolve(&self, sid: &str) -> Result<(String, bool), TwilioError> {
        if self.by_parent.contains_key(sid) {
            Ok((sid.to_string(), false))
        } else if let Some(p) = self.child_to_parent.get(sid) {
            Ok((p.clone(), true))
        } else {
            Err(TwilioError::UnknownCall(sid.to_string()))
        }
    }
}

/// A dialled leg and its status-callback bookkeeping.
struct Leg {
    sid: String,
    parent_sid: String,
    from: String,
    to: String,
    status_callback: Option<String>,
    events: Vec<CallEvent>,
    seq: u64,
    answered_at: Option<f64>,
    /// A callback held back by `reorder_callbacks`, sent after the next one.
    held: Option<StatusCallback>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Calls> {
        self.calls.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Simulated Unix time: inside a call's task, on that call's clock (anchored at
    /// the real time the call started, so scaled time never drifts across calls);
    /// elsewhere on the stand-in's clock.
    fn sim_now(&self) -> f64 {
        let (instant, unix) = CALL_CLOCK.try_with(|c| *c).unwrap_or((self.started, self.started_unix));
        unix + instant.elapsed().as_secs_f64() / self.config.time_scale
    }

    fn emit(&self, call_sid: &str, parent: Option<&str>, kind: StandInEventKind) {
        // No subscriber is not an error.
        let _ = self.events.send(StandInEvent { call_sid: call_sid.to_string(), parent_call_sid: parent.map(str::to_string), kind });
    }

    fn set_phase(&self, parent: &str, phase: Phase) {
        if let Some(e) = self.lock().by_parent.get_mut(parent) {
            e.phase = phase;
        }
    }

    fn add_child(&self, parent: &str, child: &str) {
        let mut calls = self.lock();
        calls.child_to_parent.insert(child.to_string(), parent.to_string());
        if let Some(e) = calls.by_parent.get_mut(parent) {
            e.children.push(child.to_string());
        }
    }

    /// Removes an ended child leg; back to `Running` when none is left.
    fn end_child(&self, parent: &str, child: &str) {
        if let Some(e) = self.lock().by_parent.get_mut(parent) {
            e.children.retain(|c| c != child);
            if let Phase::ClientRinging(r) = &mut e.phase {
                r.retain(|(sid, _)| sid != child);
            }
            if e.children.is_empty() {
                e.phase = Phase::Running;
            }
        }
    }

    /// POSTs a signed form; returns the body of a 2xx answer.
    async fn post(&self, url: &str, form: &[(String, String)]) -> Result<String, TwilioError> {
        let sig = signature::compute(&self.config.auth_token, url, form);
        let http = |reason: String| TwilioError::Http { url: url.to_string(), reason };
        let resp = self
            .client
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header(signature::HEADER, sig)
            .body(encode_form_body(form))
            .send()
            .await
            .map_err(|e| http(e.to_string()))?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| http(e.to_string()))?;
        if !status.is_success() {
            return Err(http(format!("status {status}: {}", body.chars().take(200).collect::<String>())));
        }
        Ok(body)
    }

    /// POSTs and reports a failure as an event instead of an error (Twilio carries on).
    async fn post_or_report(&self, url: &str, form: &[(String, String)], call_sid: &str) -> Option<String> {
        match self.post(url, form).await {
            Ok(body) => Some(body),
            Err(e) => {
                tracing::warn!(%url, error = %e, "stand-in webhook failed");
                self.emit(call_sid, None, StandInEventKind::WebhookFailed { url: url.to_string(), reason: e.to_string() });
                None
            }
        }
    }

    /// Sleeps `sim_secs` simulated seconds unless a control message arrives first.
    async fn wait(&self, rx: &mut mpsc::UnboundedReceiver<Ctl>, sim_secs: Option<f64>) -> Option<Ctl> {
        match sim_secs {
            Some(s) => {
                let d = Duration::from_secs_f64((s * self.config.time_scale).max(0.0));
                tokio::select! {
                    c = rx.recv() => c,
                    _ = tokio::time::sleep(d) => None,
                }
            }
            None => rx.recv().await,
        }
    }

    async fn run(self: Arc<Self>, parent: Parent, verbs: Vec<Verb>, mut rx: mpsc::UnboundedReceiver<Ctl>) {
        let started = self.sim_now();
        let mut queue: VecDeque<Verb> = verbs.into();
        let mut final_status = CallStatus::Completed;
        while let Some(verb) = queue.pop_front() {
            match verb {
                Verb::Dial(dial) => match self.dial(&parent, &dial, &mut rx).await {
                    DialEnd::ParentGone => break,
                    DialEnd::Done { status, child_sid, duration } => {
                        if let Some(action) = &dial.action {
                            let mut form = parent.base.clone();
                            form.push(("DialCallStatus".into(), status.as_str().into()));
                            form.push(("DialCallSid".into(), child_sid));
                            form.push(("DialCallDuration".into(), duration.to_string()));
                            match self.follow(action, &form, &parent.sid).await {
                                Some(next) => queue = next.into(),
                                None => break,
                            }
                        }
                    }
                },
                Verb::Say(say) => {
                    let secs = 0.06 * say.text.chars().count() as f64;
                    if let Some(Ctl::HangupParent) = self.wait(&mut rx, Some(secs)).await {
                        break;
                    }
                }
                Verb::Pause { length } => {
                    if let Some(Ctl::HangupParent) = self.wait(&mut rx, Some(f64::from(length.unwrap_or(1)))).await {
                        break;
                    }
                }
                Verb::Record(rec) => {
                    let (hung_up, next) = self.record(&parent, &rec, &mut rx).await;
                    match next {
                        Some(next) if !hung_up => queue = next.into(),
                        _ if hung_up => break,
                        _ => {}
                    }
                }
                Verb::Redirect { url } => match self.follow(&url, &parent.base, &parent.sid).await {
                    Some(next) => queue = next.into(),
                    None => break,
                },
                Verb::Hangup => break,
                Verb::Reject { reason } => {
                    // Twilio: `busy` for reason="busy", `no-answer` for the default "rejected".
                    final_status = if reason.as_deref() == Some("busy") { CallStatus::Busy } else { CallStatus::NoAnswer };
                    break;
                }
                Verb::Other(el) => tracing::debug!(verb = %el.name, "stand-in skips unsupported verb"),
            }
        }
        let ended = self.sim_now();
        let duration_secs = (ended - started).round().max(0.0) as u64;
        if let Some(url) = &self.config.status_callback {
            let cb = StatusCallback {
                call_sid: parent.sid.clone(),
                parent_call_sid: None,
                account_sid: self.config.account_sid.clone(),
                call_status: final_status,
                call_duration: Some(duration_secs),
                timestamp_raw: None,
                timestamp: Some(ended.floor() as i64),
                sequence_number: Some(0),
                direction: Some(DIRECTION_INBOUND.into()),
                from: Some(parent.from.clone()),
                to: Some(parent.to.clone()),
                callback_source: Some("call-progress-events".into()),
                other: Vec::new(),
            };
            self.send_status(url, &cb, &parent.sid).await;
        }
        self.set_phase(&parent.sid, Phase::Ended);
        self.emit(&parent.sid, None, StandInEventKind::Completed { status: final_status, duration_secs });
    }

    /// Requests `url` and parses the TwiML it returns.
    async fn follow(&self, url: &str, form: &[(String, String)], call_sid: &str) -> Option<Vec<Verb>> {
        let body = self.post_or_report(url, form, call_sid).await?;
        match Response::parse(&body) {
            Ok(r) => Some(r.verbs),
            Err(e) => {
                self.emit(call_sid, None, StandInEventKind::WebhookFailed { url: url.into(), reason: e.to_string() });
                None
            }
        }
    }

    async fn record(&self, parent: &Parent, rec: &Record, rx: &mut mpsc::UnboundedReceiver<Ctl>) -> (bool, Option<Vec<Verb>>) {
        let start = self.sim_now();
        let max = rec.max_length.map_or(3600.0, f64::from);
        let secs = self.config.record_secs.min(max);
        let mut hung_up = false;
        loop {
            let left = secs - (self.sim_now() - start);
            match self.wait(rx, Some(left.max(0.0))).await {
                Some(Ctl::HangupParent) => {
                    hung_up = true;
                    break;
                }
                Some(_) => continue,
                None => break,
            }
        }
        let duration = (self.sim_now() - start).round().max(0.0) as u64;
        let Ok(rsid) = new_sid("RE") else {
            return (hung_up, None);
        };
        let recording_url = format!("https://api.twilio.com/2010-04-01/Accounts/{}/Recordings/{rsid}", self.config.account_sid);
        if let Some(cb) = &rec.recording_status_callback {
            let r = RecordingCallback {
                recording_sid: rsid.clone(),
                recording_url: recording_url.clone(),
                recording_duration: Some(duration),
                recording_status: Some("completed".into()),
                call_sid: parent.sid.clone(),
                account_sid: self.config.account_sid.clone(),
                other: pairs(&[("RecordingChannels", "1"), ("RecordingSource", "RecordVerb"), ("ApiVersion", crate::API_VERSION)]),
            };
            self.post_or_report(cb, &r.to_form(), &parent.sid).await;
        }
        self.emit(&parent.sid, None, StandInEventKind::Recording { recording_sid: rsid.clone(), duration_secs: duration });
        let mut next = None;
        if let Some(action) = &rec.action {
            let mut form = parent.base.clone();
            form.push(("RecordingSid".into(), rsid));
            form.push(("RecordingUrl".into(), recording_url));
            form.push(("RecordingDuration".into(), duration.to_string()));
            form.push(("Digits".into(), if hung_up { "hangup".into() } else { String::new() }));
            next = self.follow(action, &form, &parent.sid).await;
        }
        (hung_up, next)
    }

    /// Sends one status callback (twice with `duplicate_callbacks`).
    async fn send_status(&self, url: &str, cb: &StatusCallback, call_sid: &str) {
        match cb.to_form() {
            Ok(form) => {
                let times = if self.config.duplicate_callbacks { 2 } else { 1 };
                for _ in 0..times {
                    self.post_or_report(url, &form, call_sid).await;
                }
            }
            Err(e) => self.emit(call_sid, None, StandInEventKind::WebhookFailed { url: url.to_string(), reason: e.to_string() }),
        }
    }

    async fn callback(&self, leg: &mut Leg, status: CallStatus, event: CallEvent) {
        let now = self.sim_now();
        self.callback_at(leg, status, event, now).await;
    }

    /// A status callback for `leg`, stamped with simulated time `now`.
    async fn callback_at(&self, leg: &mut Leg, status: CallStatus, event: CallEvent, now: f64) {
        let terminal = status.is_terminal();
        if !(terminal || leg.events.contains(&event)) {
            return;
        }
        let Some(url) = leg.status_callback.clone() else {
            return;
        };
        let duration = terminal.then(|| leg.answered_at.map_or(0, |a| (now - a).round().max(0.0) as u64));
        let cb = StatusCallback {
            call_sid: leg.sid.clone(),
            parent_call_sid: Some(leg.parent_sid.clone()),
            account_sid: self.config.account_sid.clone(),
            call_status: status,
            call_duration: duration,
            timestamp_raw: None,
            timestamp: Some(now.floor() as i64),
            sequence_number: Some(leg.seq),
            direction: Some(DIRECTION_OUTBOUND_DIAL.into()),
            from: Some(leg.from.clone()),
            to: Some(leg.to.clone()),
            callback_source: Some("call-progress-events".into()),
            other: Vec::new(),
        };
        leg.seq += 1;
        if !self.config.reorder_callbacks {
            self.send_status(&url, &cb, &leg.sid).await;
        } else if let Some(held) = leg.held.take() {
            self.send_status(&url, &cb, &leg.sid).await;
            self.send_status(&url, &held, &leg.sid).await;
        } else if terminal {
            self.send_status(&url, &cb, &leg.sid).await;
        } else {
            leg.held = Some(cb);
        }
    }

    /// Ends the child leg: terminal callback, event, bookkeeping.
    async fn finish_leg(&self, leg: &mut Leg, status: CallStatus) -> (CallStatus, u64) {
        let end = self.sim_now();
        let duration = leg.answered_at.map_or(0, |a| (end - a).round().max(0.0) as u64);
        self.callback_at(leg, status, CallEvent::Completed, end).await;
        self.end_child(&leg.parent_sid, &leg.sid);
        self.emit(&leg.sid, Some(&leg.parent_sid), StandInEventKind::Completed { status, duration_secs: duration });
        (status, duration)
    }

    fn new_leg(&self, parent: &Parent, dial: &Dial, to: String, status_callback: Option<String>, events: Vec<CallEvent>) -> Option<Leg> {
        let sid = new_sid("CA").ok()?;
        self.add_child(&parent.sid, &sid);
        Some(Leg {
            sid,
            parent_sid: parent.sid.clone(),
            from: dial.caller_id.clone().unwrap_or_else(|| parent.from.clone()),
            to,
            status_callback,
            events,
            seq: 0,
            answered_at: None,
            held: None,
        })
    }

    async fn dial(&self, parent: &Parent, dial: &Dial, rx: &mut mpsc::UnboundedReceiver<Ctl>) -> DialEnd {
        // Answers or rejects aimed at an earlier <Dial> must not touch this one.
        while let Ok(stale) = rx.try_recv() {
            if matches!(stale, Ctl::HangupParent) {
                return DialEnd::ParentGone;
            }
        }
        let failed = DialEnd::Done { status: CallStatus::Failed, child_sid: String::new(), duration: 0 };
        let clients: Vec<ClientTarget> = dial
            .targets
            .iter()
            .filter_map(|t| match t {
                DialTarget::Client { identity, parameters, status_callback, status_callback_event } => Some(ClientTarget {
                    identity: identity.clone(),
                    parameters: parameters.clone(),
                    status_callback: status_callback.clone(),
                    events: status_callback_event.clone(),
                }),
                DialTarget::Number { .. } => None,
            })
            .collect();
        if !clients.is_empty() {
            return self.dial_clients(parent, dial, clients, rx).await;
        }
        let Some(DialTarget::Number { number, status_callback, status_callback_event, .. }) = dial.targets.first() else {
            return failed;
        };
        let Some(leg) = self.new_leg(parent, dial, number.clone(), status_callback.clone(), status_callback_event.clone()) else {
            return failed;
        };
        self.dial_number(parent, dial, leg, rx).await
    }

    async fn dial_number(&self, parent: &Parent, dial: &Dial, mut leg: Leg, rx: &mut mpsc::UnboundedReceiver<Ctl>) -> DialEnd {
        let timeout = f64::from(dial.timeout.unwrap_or(30));
        let child_sid = leg.sid.clone();
        self.set_phase(&parent.sid, Phase::NumberRinging);
        self.callback(&mut leg, CallStatus::Initiated, CallEvent::Initiated).await;

        macro_rules! done {
            ($status:expr) => {{
                let (status, duration) = self.finish_leg(&mut leg, $status).await;
                return DialEnd::Done { status, child_sid: child_sid.clone(), duration };
            }};
        }
        macro_rules! parent_gone {
            () => {{
                let status = if leg.answered_at.is_some() { CallStatus::Completed } else { CallStatus::Canceled };
                self.finish_leg(&mut leg, status).await;
                return DialEnd::ParentGone;
            }};
        }

        let outcome = last4(&leg.to);
        // Network set-up before the far end rings.
        match self.wait(rx, Some(1.0)).await {
            Some(Ctl::HangupParent) => parent_gone!(),
            Some(Ctl::HangupChild(_)) => done!(CallStatus::Canceled),
            _ => {}
        }
        match outcome.as_str() {
            "0002" => done!(CallStatus::Busy),
            "0004" => done!(CallStatus::Failed),
            _ => {}
        }
        self.callback(&mut leg, CallStatus::Ringing, CallEvent::Ringing).await;
        self.emit(&child_sid, Some(&parent.sid), StandInEventKind::Ringing);
        let ring_start = self.sim_now();
        // When the far end answers on its own (never for …0003).
        let auto_answer = (outcome != "0003").then_some(self.config.ring_secs).filter(|a| *a <= timeout);
        loop {
            let elapsed = self.sim_now() - ring_start;
            let until = auto_answer.unwrap_or(timeout);
            match self.wait(rx, Some((until - elapsed).max(0.0))).await {
                Some(Ctl::HangupParent) => parent_gone!(),
                Some(Ctl::HangupChild(_)) => done!(CallStatus::Canceled),
                Some(_) => {}
                None => {
                    if self.sim_now() - ring_start + 1e-9 >= until {
                        if auto_answer.is_some() {
                            break;
                        }
                        done!(CallStatus::NoAnswer);
                    }
                }
            }
        }
        let answered_at = self.sim_now();
        leg.answered_at = Some(answered_at);
        self.set_phase(&parent.sid, Phase::Bridged);
        self.callback_at(&mut leg, CallStatus::InProgress, CallEvent::Answered, answered_at).await;
        self.emit(&child_sid, Some(&parent.sid), StandInEventKind::Answered);
        let talk = (outcome != "0005").then_some(self.config.talk_secs);
        let answered = answered_at;
        loop {
            let left = talk.map(|t| (t - (self.sim_now() - answered)).max(0.0));
            match self.wait(rx, left).await {
                Some(Ctl::HangupParent) => parent_gone!(),
                Some(Ctl::HangupChild(_)) | None => done!(CallStatus::Completed),
                Some(_) => {}
            }
        }
    }

    /// Rings every `<Client>` at once; the first to answer wins, the others are canceled.
    async fn dial_clients(
        &self,
        parent: &Parent,
        dial: &Dial,
        clients: Vec<ClientTarget>,
        rx: &mut mpsc::UnboundedReceiver<Ctl>,
    ) -> DialEnd {
        let timeout = f64::from(dial.timeout.unwrap_or(30));
        let mut legs: Vec<(Leg, ClientTarget)> = Vec::new();
        for c in clients {
            match self.new_leg(parent, dial, format!("client:{}", c.identity), c.status_callback.clone(), c.events.clone()) {
                Some(leg) => legs.push((leg, c)),
                None => return DialEnd::Done { status: CallStatus::Failed, child_sid: String::new(), duration: 0 },
            }
        }
        let ringing: Vec<(String, String)> = legs.iter().map(|(l, c)| (l.sid.clone(), c.identity.clone())).collect();
        self.set_phase(&parent.sid, Phase::ClientRinging(ringing));
        for (leg, _) in &mut legs {
            self.callback(leg, CallStatus::Initiated, CallEvent::Initiated).await;
        }
        for (leg, c) in &mut legs {
            self.callback(leg, CallStatus::Ringing, CallEvent::Ringing).await;
            self.emit(
                &leg.sid,
                Some(&parent.sid),
                StandInEventKind::ClientRinging {
                    identity: c.identity.clone(),
                    parameters: c.parameters.clone(),
                    from: parent.from.clone(),
                },
            );
        }
        let ring_start = self.sim_now();
        let mut last_end = (CallStatus::NoAnswer, legs.first().map(|(l, _)| l.sid.clone()).unwrap_or_default());
        let mut winner = loop {
            if legs.is_empty() {
                return DialEnd::Done { status: last_end.0, child_sid: last_end.1, duration: 0 };
            }
            let left = (timeout - (self.sim_now() - ring_start)).max(0.0);
            match self.wait(rx, Some(left)).await {
                Some(Ctl::HangupParent) => {
                    for (leg, _) in &mut legs {
                        self.finish_leg(leg, CallStatus::Canceled).await;
                    }
                    return DialEnd::ParentGone;
                }
                Some(Ctl::AnswerClient(identity)) => {
                    if let Some(i) = legs.iter().position(|(_, c)| c.identity == identity) {
                        break legs.remove(i).0;
                    }
                }
                Some(Ctl::RejectClient(target)) => {
                    let (declined, kept): (Vec<_>, Vec<_>) =
                        legs.into_iter().partition(|(l, _)| target.as_ref().is_none_or(|t| *t == l.sid));
                    legs = kept;
                    for (mut leg, _) in declined {
                        self.finish_leg(&mut leg, CallStatus::Busy).await;
                        last_end = (CallStatus::Busy, leg.sid.clone());
                    }
                }
                Some(Ctl::HangupChild(sid)) => {
                    if let Some(i) = legs.iter().position(|(l, _)| l.sid == sid) {
                        let (mut leg, _) = legs.remove(i);
                        self.finish_leg(&mut leg, CallStatus::Busy).await;
                        last_end = (CallStatus::Busy, leg.sid.clone());
                    }
                }
                None => {
                    if self.sim_now() - ring_start + 1e-9 >= timeout {
                        for (leg, _) in &mut legs {
                            self.finish_leg(leg, CallStatus::NoAnswer).await;
                        }
                        let sid = legs.first().map(|(l, _)| l.sid.clone()).unwrap_or(last_end.1);
                        return DialEnd::Done { status: CallStatus::NoAnswer, child_sid: sid, duration: 0 };
                    }
                }
            }
        };
        for (leg, _) in &mut legs {
            self.finish_leg(leg, CallStatus::Canceled).await;
        }
        let answered_at = self.sim_now();
        winner.answered_at = Some(answered_at);
        self.set_phase(&parent.sid, Phase::Bridged);
        self.callback_at(&mut winner, CallStatus::InProgress, CallEvent::Answered, answered_at).await;
        self.emit(&winner.sid, Some(&parent.sid), StandInEventKind::Answered);
        loop {
            match self.wait(rx, None).await {
                Some(Ctl::HangupParent) => {
                    self.finish_leg(&mut winner, CallStatus::Completed).await;
                    return DialEnd::ParentGone;
                }
                Some(Ctl::HangupChild(_)) | None => {
                    let (status, duration) = self.finish_leg(&mut winner, CallStatus::Completed).await;
                    return DialEnd::Done { status, child_sid: winner.sid.clone(), duration };
                }
                Some(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_four_digits() {
        assert_eq!(last4("+1 (555) 123-0002"), "0002");
        assert_eq!(last4("12"), "12");
    }

    #[test]
    fn prune_forgets_only_ended_calls() {
        let (tx, _rx) = mpsc::unbounded_channel();
        let mut calls = Calls::default();
        for i in 0..=KEEP_ENDED_CALLS {
            let phase = if i == 7 { Phase::Bridged } else { Phase::Ended };
            calls.by_parent.insert(format!("P{i}"), CallEntry { children: vec![format!("C{i}")], phase, ctl: tx.clone() });
            calls.child_to_parent.insert(format!("C{i}"), format!("P{i}"));
        }
        calls.prune();
        assert_eq!(calls.by_parent.len(), 1);
        assert!(calls.resolve("C7").is_ok());
        assert!(matches!(calls.resolve("C8"), Err(TwilioError::UnknownCall(_))));
    }

    #[test]
    fn rejects_bad_time_scale() {
        assert!(StandIn::new(StandInConfig { time_scale: 0.0, ..StandInConfig::new("AC1", "t", "http://127.0.0.1:1/") }).is_err());
    }
}
