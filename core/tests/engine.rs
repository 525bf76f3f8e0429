//! The phone engine, driven as a host would: every input in, every effect checked.
//!
//! `Rig` plays the host: it records the requests the engine makes, keeps its timers and
//! fires them when the test moves time forward, keeps what it persisted, and answers with
//! the exact JSON shapes of `mpt_core::api` that the api-server sends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use mpt_core::api::{
    AgentInfo, AuthResponse, CallDirection, CallLog, CallLogPage, ClientConfig, Contact, ContactList, EventEnvelope, Presence, Role,
    ServerEvent,
};
use mpt_core::engine::*;
use mpt_core::PhoneErrorCode;
use serde_json::{json, Value};

const T0: u64 = 1_800_000_000_000;

struct Rig {
    e: Engine,
    now: u64,
    http: Vec<HttpRequest>,
    sent: Vec<HttpRequest>,
    timers: BTreeMap<TimerId, u64>,
    persisted: Option<StoredState>,
    view: Option<PhoneView>,
    events: Vec<PhoneEvent>,
    socket: Option<(ConnId, String)>,
    closed: Vec<ConnId>,
    frames: Vec<String>,
    voice: Vec<VoiceCommand>,
    next_event: u64,
}

fn agent() -> AgentInfo {
    AgentInfo {
        id: "ag_1".into(),
        tenant_id: "t_1".into(),
        email: "ana@example.com".into(),
        name: "Ana".into(),
        role: Role::Agent,
        identity: "agent_ana".into(),
    }
}

fn auth(n: u32, expires_in: u64) -> Value {
    serde_json::to_value(AuthResponse {
        access_token: format!("tok{n}"),
        token_type: "Bearer".into(),
        expires_in,
        refresh_token: format!("ref{n}"),
        agent: agent(),
    })
    .unwrap()
}

fn config(sandbox: bool, countries: &[&str]) -> Value {
    serde_json::to_value(ClientConfig {
        tenant_id: "t_1".into(),
        tenant_name: "Acme".into(),
        sandbox,
        caller_ids: vec!["+14155550199".into()],
        allowed_countries: countries.iter().map(|c| (*c).to_owned()).collect(),
        identity: "agent_ana".into(),
        dispositions: Vec::new(),
        allowed_origins: vec!["https://crm.example.com".into()],
    })
    .unwrap()
}

fn contact(name: &str, phone: &str) -> Contact {
    Contact {
        id: "c-42".into(),
        name: name.into(),
        company: Some("Globex".into()),
        phone: phone.into(),
        email: None,
        source: "mpt-crm".into(),
        url: None,
    }
}

impl Rig {
    fn new() -> Rig {
        Rig::with_engine(Engine::new(42))
    }

    fn with_engine(e: Engine) -> Rig {
        Rig {
            e,
            now: T0,
            http: Vec::new(),
            sent: Vec::new(),
            timers: BTreeMap::new(),
            persisted: None,
            view: None,
            events: Vec::new(),
            socket: None,
            closed: Vec::new(),
            frames: Vec::new(),
            voice: Vec::new(),
            next_event: 0,
        }
    }

    fn feed(&mut self, input: Input) {
        for eff in self.e.handle(self.now, input) {
            match eff {
                Effect::Http(r) => {
                    self.sent.push(r.clone());
                    self.http.push(r);
                }
                Effect::SocketOpen { conn, path } => self.socket = Some((conn, path)),
                Effect::SocketSend { text, .. } => self.frames.push(text),
                Effect::SocketClose { conn } => {
                    self.closed.push(conn);
                    if self.socket.as_ref().is_some_and(|(c, _)| *c == conn) {
                        self.socket = None;
                    }
                }
                Effect::Persist(s) => self.persisted = Some(*s),
                Effect::Voice(v) => self.voice.push(v),
                Effect::SetTimer { timer, at_ms } => {
                    assert!(at_ms >= self.now, "{timer:?} set in the past");
                    self.timers.insert(timer, at_ms);
                }
                Effect::CancelTimer(t) => {
                    self.timers.remove(&t);
                }
                Effect::View(v) => self.view = Some(*v),
                Effect::Event(ev) => self.events.push(ev),
            }
        }
    }

    fn cmd(&mut self, c: PhoneCommand) {
        self.feed(Input::Command(c));
    }

    fn view(&self) -> &PhoneView {
        self.view.as_ref().expect("a view was rendered")
    }

    fn call(&self) -> CallPanelRef<'_> {
        CallPanelRef(self.view().call.as_ref().expect("a call is shown"))
    }

    /// Takes the oldest outstanding request `method path…`.
    fn take(&mut self, method: Method, path_prefix: &str) -> HttpRequest {
        let pos = self
            .http
            .iter()
            .position(|r| r.method == method && r.path.starts_with(path_prefix))
            .unwrap_or_else(|| panic!("no {method:?} {path_prefix} among {:#?}", self.http));
        self.http.remove(pos)
    }

    fn has(&self, method: Method, path_prefix: &str) -> usize {
        self.http.iter().filter(|r| r.method == method && r.path.starts_with(path_prefix)).count()
    }

    fn reply(&mut self, req: &HttpRequest, status: u16, body: Value) {
        let body = if body.is_null() { String::new() } else { body.to_string() };
        self.feed(Input::Http(HttpResponse { id: req.id, status, body }));
    }

    fn answer(&mut self, method: Method, path: &str, status: u16, body: Value) -> HttpRequest {
        let r = self.take(method, path);
        self.reply(&r, status, body);
        r
    }

    /// Moves time forward by `ms`, firing due timers in deadline order.
    fn advance(&mut self, ms: u64) {
        let until = self.now + ms;
        loop {
            let due = self.timers.iter().filter(|(_, at)| **at <= until).min_by_key(|(_, at)| **at).map(|(t, at)| (*t, *at));
            let Some((t, at)) = due else { break };
            self.timers.remove(&t);
            self.now = self.now.max(at);
            self.feed(Input::Timer(t));
        }
        self.now = until;
    }

    fn conn(&self) -> ConnId {
        self.socket.as_ref().expect("socket open").0
    }

    fn event(&mut self, ev: ServerEvent) {
        self.next_event += 1;
        let id = self.next_event;
        self.event_with_id(Some(id), ev);
    }

    fn event_with_id(&mut self, id: Option<u64>, ev: ServerEvent) {
        let text = serde_json::to_string(&EventEnvelope { id, at: 0, event: ev }).unwrap();
        let conn = self.conn();
        self.feed(Input::SocketFrame { conn, text });
    }

    /// Signs in and answers everything a fresh session asks for.
    fn signed_in(sandbox: bool) -> Rig {
        let mut r = Rig::new();
        r.feed(Input::Start { stored: None });
        r.sign_in(sandbox, &["US", "CA", "GB"]);
        r
    }

    fn sign_in(&mut self, sandbox: bool, countries: &[&str]) {
        self.cmd(PhoneCommand::SignIn { email: " ana@example.com ".into(), password: "pw".into(), tenant: None });
        self.answer(Method::Post, "/api/auth/login", 200, auth(1, 900));
        self.answer(Method::Get, "/api/config", 200, config(sandbox, countries));
        self.answer(Method::Post, "/api/events/ticket", 200, json!({"ticket": "tk1", "expires_in": 30}));
        let conn = self.conn();
        self.feed(Input::SocketOpened { conn });
        self.event_with_id(None, ServerEvent::Hello { agent_id: "ag_1".into(), last_event_id: 0, resync: false });
        self.answer(Method::Put, "/api/me/presence", 204, Value::Null);
        self.answer(Method::Get, "/api/calls?", 200, json!({"items": []}));
        // The Device starts with the session (the sandbox stand-in or the SDK) and
        // registers while the agent is available.
        self.answer(
            Method::Post,
            "/api/twilio/token",
            200,
            json!({
            "token": "vt1", "identity": "agent_ana", "ttl_seconds": 3600,
            "expires_at": self.now + 3_600_000, "sandbox": sandbox}),
        );
        let signal = sandbox.then(|| "/api/sandbox/signal".to_owned());
        assert_eq!(self.voice, vec![VoiceCommand::Init { token: "vt1".into(), signal }, VoiceCommand::Register]);
        self.feed(Input::Voice(VoiceEvent::Registered));
        self.voice.clear();
    }

    /// The parameters of the last `device.connect()`.
    fn connect_params(&self) -> mpt_core::api::DialParams {
        self.voice
            .iter()
            .rev()
            .find_map(|v| match v {
                VoiceCommand::Connect { params } => Some(params.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no Connect among {:?}", self.voice))
    }

    fn connects(&self) -> usize {
        self.voice.iter().filter(|v| matches!(v, VoiceCommand::Connect { .. })).count()
    }

    /// Places a call to `number` through the Device; its client call id and the SID
    /// the Device will report.
    fn dial_sandbox(&mut self, number: &str) -> (String, String) {
        self.cmd(PhoneCommand::Dial { number: number.into(), contact: None });
        let call_id = self.connect_params().client_call_id;
        let sid = format!("CA{}", &call_id[..8]);
        if self.has(Method::Get, "/api/contacts/lookup") > 0 {
            self.answer(Method::Get, "/api/contacts/lookup", 200, json!({"items": []}));
        }
        (call_id, sid)
    }

    fn errors(&self) -> Vec<PhoneErrorCode> {
        self.events
            .iter()
            .filter_map(|e| match e {
                PhoneEvent::Error { code, .. } => Some(*code),
                _ => None,
            })
            .collect()
    }

    /// What the Device (or, for statuses it does not report, the server) says of the call.
    fn sandbox(&mut self, sid: &str, kind: &str, status: Option<&str>) {
        let call_sid = Some(sid.to_owned());
        match (kind, status) {
            ("ringing", _) => self.feed(Input::Voice(VoiceEvent::Ringing { call_sid })),
            ("answered", _) => self.feed(Input::Voice(VoiceEvent::Accept { call_sid })),
            ("completed", None | Some("completed")) => self.feed(Input::Voice(VoiceEvent::Disconnect)),
            (_, Some(status)) => {
                let call_id = self.call().call_id.clone();
                self.event(ServerEvent::CallStatus { call_id, call_sid, status: status.into(), direction: CallDirection::Outbound });
            }
            other => panic!("unknown step {other:?}"),
        }
    }
}

struct CallPanelRef<'a>(&'a mpt_core::engine::view::CallPanel);

impl std::ops::Deref for CallPanelRef<'_> {
    type Target = mpt_core::engine::view::CallPanel;
    fn deref(&self) -> &Self::Target {
        self.0
    }
}

fn body(r: &HttpRequest) -> Value {
    serde_json::from_str(r.body.as_deref().unwrap_or("null")).unwrap()
}

// ---------------------------------------------------------------- session

#[test]
fn sign_in_loads_config_opens_the_socket_with_a_ticket_and_persists_the_session() {
    let mut r = Rig::new();
    r.feed(Input::Start { stored: None });
    assert!(r.view().started);
    assert!(r.view().agent.is_none());
    r.cmd(PhoneCommand::SignIn { email: " ana@example.com ".into(), password: "pw".into(), tenant: None });
    assert!(r.view().signing_in);
    let login = r.take(Method::Post, "/api/auth/login");
    assert_eq!(login.bearer, None);
    assert_eq!(body(&login), json!({"email": "ana@example.com", "password": "pw"}));
    r.reply(&login, 200, auth(1, 900));
    assert_eq!(r.timers[&TimerId::SessionRefresh], T0 + 840_000, "refresh a minute before expiry");
    let stored = r.persisted.clone().unwrap();
    assert_eq!(stored.session.as_ref().unwrap().refresh_token, "ref1");
    assert!(!stored.session.as_ref().unwrap().access_token.is_empty());
    assert!(r.http.iter().all(|h| h.bearer.as_deref() == Some("tok1")), "{:?}", r.http);
    let cfg = r.answer(Method::Get, "/api/config", 200, config(true, &["US"]));
    assert_eq!(cfg.bearer.as_deref(), Some("tok1"));
    assert!(r.events.contains(&PhoneEvent::Ready {}));
    assert!(r.view().ready && r.view().sandbox);
    assert_eq!(r.view().dispositions[0], "connected", "the defaults while the tenant has no list");
    assert_eq!(r.view().agent.as_ref().unwrap().tenant.as_deref(), Some("Acme"));
    r.answer(Method::Post, "/api/events/ticket", 200, json!({"ticket": "tk/1+", "expires_in": 30}));
    let (conn, path) = r.socket.clone().unwrap();
    assert_eq!(path, "/api/events?ticket=tk%2F1%2B", "no credential but the single-use ticket");
    assert_eq!(r.view().presence, Presence::Offline);
    r.feed(Input::SocketOpened { conn });
    assert!(r.view().live);
    assert_eq!(r.view().presence, Presence::Available);
    let p = r.answer(Method::Put, "/api/me/presence", 204, Value::Null);
    assert_eq!(body(&p), json!({"available": true}));
    let recent = r.answer(Method::Get, "/api/calls?", 200, json!({"items": []}));
    assert_eq!(recent.path, "/api/calls?limit=20&agent_id=ag_1");
    // The Device starts with the configuration: a Voice token, then Init and Register.
    r.answer(
        Method::Post,
        "/api/twilio/token",
        200,
        json!({"token": "vt1", "identity": "agent_ana", "ttl_seconds": 3600, "expires_at": r.now + 3_600_000, "sandbox": true}),
    );
    assert_eq!(
        r.voice,
        vec![VoiceCommand::Init { token: "vt1".into(), signal: Some("/api/sandbox/signal".into()) }, VoiceCommand::Register]
    );
    assert!(r.http.is_empty(), "{:?}", r.http);
    // Heartbeats every 20 s.
    r.advance(20_000);
    assert_eq!(r.frames, vec![r#"{"type":"heartbeat"}"#.to_owned()]);
}

#[test]
fn a_wrong_password_shows_the_servers_words_and_keeps_no_session() {
    let mut r = Rig::new();
    r.feed(Input::Start { stored: None });
    r.cmd(PhoneCommand::SignIn { email: "ana@example.com".into(), password: "nope".into(), tenant: None });
    r.answer(Method::Post, "/api/auth/login", 401, json!({"error": {"code": "unauthorized", "message": "Wrong email or password"}}));
    let n = r.view().notice.clone().unwrap();
    assert_eq!(n.code, PhoneErrorCode::Unauthorized);
    assert_eq!(n.message, "Wrong email or password");
    assert!(r.view().agent.is_none() && !r.view().signing_in);
    assert!(r.http.is_empty());
    // Unreachable: the code's own text.
    r.cmd(PhoneCommand::SignIn { email: "ana@example.com".into(), password: "pw".into(), tenant: None });
    r.answer(Method::Post, "/api/auth/login", 0, Value::Null);
    assert_eq!(r.view().notice.as_ref().unwrap().message, PhoneErrorCode::Unavailable.message());
    assert_eq!(r.view().link, Link::Unreachable);
    r.cmd(PhoneCommand::DismissError);
    assert!(r.view().notice.is_none());
}

#[test]
fn two_401s_share_one_refresh_and_both_requests_are_sent_again_once() {
    let mut r = Rig::signed_in(true);
    r.cmd(PhoneCommand::SearchContacts { query: "ann".into() });
    r.cmd(PhoneCommand::SetPresence { presence: Presence::Away });
    let search = r.take(Method::Get, "/api/contacts/search");
    let presence = r.take(Method::Put, "/api/me/presence");
    r.reply(&search, 401, json!({"error": {"code": "unauthorized", "message": "expired"}}));
    r.reply(&presence, 401, json!({"error": {"code": "unauthorized", "message": "expired"}}));
    assert_eq!(r.has(Method::Post, "/api/auth/refresh"), 1, "one refresh in flight");
    // The expiry timer firing meanwhile does not start a second one.
    r.feed(Input::Timer(TimerId::SessionRefresh));
    assert_eq!(r.has(Method::Post, "/api/auth/refresh"), 1);
    assert!(r.http.iter().all(|h| h.path == "/api/auth/refresh"), "the others wait: {:?}", r.http);
    let refresh = r.take(Method::Post, "/api/auth/refresh");
    assert_eq!(body(&refresh), json!({"refresh_token": "ref1"}));
    r.reply(&refresh, 200, auth(2, 900));
    let again: Vec<_> = r.http.iter().map(|h| (h.path.clone(), h.bearer.clone())).collect();
    assert_eq!(
        again,
        vec![("/api/contacts/search?q=ann".to_owned(), Some("tok2".to_owned())), ("/api/me/presence".to_owned(), Some("tok2".to_owned()))]
    );
    assert_eq!(r.persisted.as_ref().unwrap().session.as_ref().unwrap().refresh_token, "ref2");
    r.answer(
        Method::Get,
        "/api/contacts/search",
        200,
        serde_json::to_value(ContactList { items: vec![contact("Ann Lee", "+14155550100")] }).unwrap(),
    );
    r.answer(Method::Put, "/api/me/presence", 204, Value::Null);
    assert_eq!(r.view().search.results.len(), 1);
    assert_eq!(r.view().chosen_presence, Presence::Away);
    assert!(r.http.is_empty());
}

#[test]
fn the_expiry_timer_refreshes_and_a_token_about_to_expire_is_never_sent() {
    let mut r = Rig::signed_in(true);
    r.advance(840_000);
    let refresh = r.take(Method::Post, "/api/auth/refresh");
    // While it is out, a new request waits instead of using the old token.
    r.cmd(PhoneCommand::SearchContacts { query: "bob".into() });
    assert_eq!(r.has(Method::Get, "/api/contacts/search"), 0);
    r.reply(&refresh, 200, auth(2, 900));
    assert_eq!(r.take(Method::Get, "/api/contacts/search").bearer.as_deref(), Some("tok2"));
    assert_eq!(r.timers[&TimerId::SessionRefresh], r.now + 840_000);
}

#[test]
fn a_rejected_refresh_signs_out_and_says_why() {
    let mut r = Rig::signed_in(true);
    r.advance(840_000);
    r.answer(Method::Post, "/api/auth/refresh", 401, json!({"error": {"code": "unauthorized", "message": "revoked"}}));
    assert!(r.view().agent.is_none());
    assert_eq!(r.view().notice.as_ref().unwrap().code, PhoneErrorCode::Unauthorized);
    assert!(r.persisted.as_ref().unwrap().session.is_none());
    assert!(r.socket.is_none(), "the socket is closed");
    assert!(!r.timers.contains_key(&TimerId::SocketReconnect));
    assert!(!r.timers.contains_key(&TimerId::SessionRefresh));
}

#[test]
fn a_refresh_that_cannot_reach_the_server_is_retried_with_jitter() {
    let mut r = Rig::signed_in(true);
    r.advance(840_000);
    r.answer(Method::Post, "/api/auth/refresh", 0, Value::Null);
    assert!(r.view().agent.is_some(), "an outage is not a sign-out");
    assert_eq!(r.view().link, Link::Unreachable);
    let at = r.timers[&TimerId::SessionRefresh] - r.now;
    assert!((5_000..=15_000).contains(&at), "{at}");
    r.advance(at);
    r.answer(Method::Post, "/api/auth/refresh", 200, auth(2, 900));
    assert_eq!(r.view().link, Link::Online);
}

#[test]
fn a_401_after_a_fresh_token_means_the_session_was_revoked() {
    let mut r = Rig::signed_in(true);
    r.cmd(PhoneCommand::SearchContacts { query: "x".into() });
    r.answer(Method::Get, "/api/contacts/search", 401, Value::Null);
    r.answer(Method::Post, "/api/auth/refresh", 200, auth(2, 900));
    r.answer(Method::Get, "/api/contacts/search", 401, Value::Null);
    assert!(r.view().agent.is_none());
    assert_eq!(r.errors(), vec![PhoneErrorCode::Unauthorized]);
}

/// An unsigned JWT-shaped token expiring at `exp_ms` (the engine reads only `exp`).
fn embed_token(n: u32, exp_ms: u64) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let payload = format!(r#"{{"sub":"ag_1","typ":"embed","fam":"emb{n}","exp":{}}}"#, exp_ms / 1000);
    let mut out = String::new();
    for chunk in payload.as_bytes().chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(B64[((v >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    format!("eyJhbGciOiJIUzI1NiJ9.{out}.sig")
}

#[test]
fn an_embed_token_signs_in_without_refresh_warns_before_expiry_and_is_never_stored() {
    let mut r = Rig::new();
    r.feed(Input::Start { stored: None });
    // Garbage and expired tokens are refused before any request.
    r.cmd(PhoneCommand::SetAuthToken { token: "not-a-jwt".into() });
    r.cmd(PhoneCommand::SetAuthToken { token: embed_token(0, T0 - 1_000) });
    assert_eq!(r.errors(), vec![PhoneErrorCode::Unauthorized, PhoneErrorCode::Unauthorized]);
    assert!(r.http.is_empty());
    let t1 = embed_token(1, T0 + 300_000);
    r.cmd(PhoneCommand::SetAuthToken { token: t1.clone() });
    let me = r.take(Method::Get, "/api/me");
    assert_eq!(me.bearer.as_deref(), Some(t1.as_str()));
    r.reply(&me, 200, serde_json::to_value(agent()).unwrap());
    assert_eq!(r.view().agent.as_ref().unwrap().name, "Ana");
    // Then the session starts like any other, with the embed token as the bearer.
    let cfg = r.answer(Method::Get, "/api/config", 200, config(true, &["US"]));
    assert_eq!(cfg.bearer.as_deref(), Some(t1.as_str()));
    assert!(r.events.contains(&PhoneEvent::Ready {}));
    r.answer(Method::Post, "/api/events/ticket", 200, json!({"ticket": "tk1", "expires_in": 30}));
    let first_conn = r.conn();
    r.feed(Input::SocketOpened { conn: first_conn });
    // Never persisted (an embed token lives in the host page's memory only).
    assert!(r.persisted.as_ref().is_none_or(|s| s.session.is_none()), "{:?}", r.persisted);
    // A minute before expiry: token-expiring, not a refresh.
    r.advance(240_000);
    assert!(r.events.contains(&PhoneEvent::TokenExpiring { expires_in_sec: 60 }), "{:?}", r.events);
    assert_eq!(r.has(Method::Post, "/api/auth/refresh"), 0);
    // The host renews: requests carry the new token, the session goes on.
    let t2 = embed_token(2, T0 + 1_200_000);
    // (Reconnects of the silent test socket asked for tickets meanwhile: not this test's concern.)
    r.http.retain(|h| !h.path.starts_with("/api/events/ticket"));
    r.cmd(PhoneCommand::SetAuthToken { token: t2.clone() });
    // The socket moves to the new token's session (the old one ends with its token).
    let ticket = r.take(Method::Post, "/api/events/ticket");
    assert_eq!(ticket.bearer.as_deref(), Some(t2.as_str()));
    r.cmd(PhoneCommand::SearchContacts { query: "bob".into() });
    assert_eq!(r.take(Method::Get, "/api/contacts/search").bearer.as_deref(), Some(t2.as_str()));
    assert_eq!(r.timers[&TimerId::SessionRefresh], T0 + 1_140_000);
    // Not renewed again: at expiry the phone signs out.
    r.advance(1_000_000);
    assert!(r.view().agent.is_none());
    assert_eq!(r.view().notice.as_ref().unwrap().code, PhoneErrorCode::Unauthorized);
}

#[test]
fn a_revoked_embed_token_signs_out_at_the_first_401_and_a_signed_in_phone_takes_no_token() {
    let mut r = Rig::new();
    r.feed(Input::Start { stored: None });
    r.cmd(PhoneCommand::SetAuthToken { token: embed_token(1, T0 + 900_000) });
    r.answer(Method::Get, "/api/me", 200, serde_json::to_value(agent()).unwrap());
    r.cmd(PhoneCommand::SearchContacts { query: "x".into() });
    r.answer(Method::Get, "/api/contacts/search", 401, Value::Null);
    assert!(r.view().agent.is_none());
    assert_eq!(r.has(Method::Post, "/api/auth/refresh"), 0, "nothing to refresh with");
    // A revoked token at sign-in is a typed error.
    r.cmd(PhoneCommand::SetAuthToken { token: embed_token(2, T0 + 900_000) });
    r.answer(Method::Get, "/api/me", 401, json!({"error": {"code": "unauthorized", "message": "x"}}));
    assert!(r.view().agent.is_none());
    // An agent signed in with a password is not handed over to a host's token.
    let mut r = Rig::signed_in(true);
    r.cmd(PhoneCommand::SetAuthToken { token: embed_token(3, T0 + 900_000) });
    assert_eq!(r.errors(), vec![PhoneErrorCode::NotAllowed]);
    assert_eq!(r.view().agent.as_ref().unwrap().name, "Ana");
}

#[test]
fn sign_out_revokes_the_refresh_token_and_forgets_everything_of_the_agent() {
    let mut r = Rig::signed_in(true);
    r.dial_sandbox("415 555 0100");
    r.cmd(PhoneCommand::SignOut);
    let logout = r.take(Method::Post, "/api/auth/logout");
    assert_eq!(logout.bearer, None);
    assert_eq!(body(&logout), json!({"refresh_token": "ref1"}));
    let v = r.view();
    assert!(v.agent.is_none() && v.call.is_none() && v.recent.is_empty() && !v.live);
    let s = r.persisted.clone().unwrap();
    assert!(s.session.is_none());
    assert_eq!(s.last_event_id, None);
    r.cmd(PhoneCommand::SignOut);
    assert_eq!(r.errors(), vec![PhoneErrorCode::NotSignedIn]);
}

// ---------------------------------------------------------------- socket

#[test]
fn socket_close_4401_signs_out_and_does_not_reconnect() {
    let mut r = Rig::signed_in(true);
    let conn = r.conn();
    r.feed(Input::SocketClosed { conn, code: mpt_core::api::CLOSE_SESSION_ENDED });
    assert!(r.view().agent.is_none());
    assert_eq!(r.view().notice.as_ref().unwrap().code, PhoneErrorCode::Unauthorized);
    assert!(!r.timers.contains_key(&TimerId::SocketReconnect));
    r.advance(120_000);
    assert_eq!(r.has(Method::Post, "/api/events/ticket"), 0);
    assert!(r.persisted.unwrap().session.is_none());
}

#[test]
fn a_server_restart_reconnects_with_backoff_jitter_and_resumes_from_the_last_event() {
    let mut r = Rig::signed_in(true);
    r.event(ServerEvent::Heartbeat { at: 1 });
    r.event(ServerEvent::Presence { agent_id: "someone".into(), available: true });
    assert_eq!(r.persisted.as_ref().unwrap().last_event_id, Some(2));
    let conn = r.conn();
    r.feed(Input::SocketClosed { conn, code: mpt_core::api::CLOSE_SERVER_RESTART });
    let mut delays = Vec::new();
    for attempt in 1..=6u32 {
        let wait = r.timers[&TimerId::SocketReconnect] - r.now;
        let cap = (1_000u64 << (attempt - 1)).min(30_000);
        assert!((cap / 2..=cap).contains(&wait), "attempt {attempt}: {wait}");
        delays.push(wait);
        r.advance(wait);
        // The server is still down: the ticket cannot be had.
        r.answer(Method::Post, "/api/events/ticket", 0, Value::Null);
    }
    assert_eq!(r.view().link, Link::Unreachable);
    let wait = r.timers[&TimerId::SocketReconnect] - r.now;
    r.advance(wait);
    r.answer(Method::Post, "/api/events/ticket", 200, json!({"ticket": "tk2", "expires_in": 30}));
    let (conn, path) = r.socket.clone().unwrap();
    assert_eq!(path, "/api/events?ticket=tk2&last_event_id=2");
    r.feed(Input::SocketOpened { conn });
    assert_eq!(r.view().link, Link::Online);
    // Back to the first delay after a successful open.
    r.feed(Input::SocketClosed { conn, code: 1006 });
    assert!(r.timers[&TimerId::SocketReconnect] - r.now <= 1_000);
    // A second engine with another seed picks other delays (jitter is real).
    let mut other = Rig::with_engine(Engine::new(7));
    other.feed(Input::Start { stored: None });
    other.sign_in(true, &["US"]);
    let conn = other.conn();
    other.feed(Input::SocketClosed { conn, code: 1012 });
    let mut theirs = Vec::new();
    for _ in 1..=6 {
        let wait = other.timers[&TimerId::SocketReconnect] - other.now;
        theirs.push(wait);
        other.advance(wait);
        other.answer(Method::Post, "/api/events/ticket", 0, Value::Null);
    }
    assert_ne!(delays, theirs);
}

/// A new session's socket starts at the newest event, and resumes after its hello. Asking
/// for every event since 0 replayed the tenant's history into a new phone: an old
/// `presence: false` of this agent (another endpoint's call, long over) made the new phone
/// away and unregistered its Device, and its answer put the server's copy to false too, so
/// inbound calls went to voicemail.
#[test]
fn a_new_session_starts_at_the_newest_event_and_resumes_after_its_hello() {
    let mut r = Rig::new();
    r.feed(Input::Start { stored: None });
    r.cmd(PhoneCommand::SignIn { email: "ana@example.com".into(), password: "pw".into(), tenant: None });
    r.answer(Method::Post, "/api/auth/login", 200, auth(1, 900));
    r.answer(Method::Get, "/api/config", 200, config(true, &["US"]));
    r.answer(Method::Post, "/api/events/ticket", 200, json!({"ticket": "tk1", "expires_in": 30}));
    let (conn, path) = r.socket.clone().unwrap();
    assert_eq!(path, "/api/events?ticket=tk1", "no resume point: the server starts at its newest event");
    r.feed(Input::SocketOpened { conn });
    r.event_with_id(None, ServerEvent::Hello { agent_id: "ag_1".into(), last_event_id: 0, resync: false });
    // The hello names where the server started (here: a tenant with no event yet), so a
    // reconnect misses nothing published in between.
    r.feed(Input::SocketClosed { conn, code: 1006 });
    let wait = r.timers[&TimerId::SocketReconnect] - r.now;
    r.advance(wait);
    r.answer(Method::Post, "/api/events/ticket", 200, json!({"ticket": "tk2", "expires_in": 30}));
    let (conn, path) = r.socket.clone().unwrap();
    assert_eq!(path, "/api/events?ticket=tk2&last_event_id=0");
    r.feed(Input::SocketOpened { conn });
    r.event_with_id(None, ServerEvent::Hello { agent_id: "ag_1".into(), last_event_id: 41, resync: false });
    r.event_with_id(Some(42), ServerEvent::Heartbeat { at: 1 });
    r.feed(Input::SocketClosed { conn, code: 1006 });
    let wait = r.timers[&TimerId::SocketReconnect] - r.now;
    r.advance(wait);
    r.answer(Method::Post, "/api/events/ticket", 200, json!({"ticket": "tk3", "expires_in": 30}));
    assert_eq!(r.socket.clone().unwrap().1, "/api/events?ticket=tk3&last_event_id=42");
    // Signed out and in again: a new session, from the newest event again.
    r.cmd(PhoneCommand::SignOut);
    r.http.clear();
    r.cmd(PhoneCommand::SignIn { email: "ana@example.com".into(), password: "pw".into(), tenant: None });
    r.answer(Method::Post, "/api/auth/login", 200, auth(2, 900));
    r.answer(Method::Get, "/api/config", 200, config(true, &["US"]));
    r.answer(Method::Post, "/api/events/ticket", 200, json!({"ticket": "tk4", "expires_in": 30}));
    assert_eq!(r.socket.clone().unwrap().1, "/api/events?ticket=tk4");
}

#[test]
fn frames_of_an_old_connection_are_ignored_and_a_silent_socket_is_replaced() {
    let mut r = Rig::signed_in(true);
    let old = r.conn();
    r.advance(45_000);
    assert_eq!(r.closed, vec![old], "the watchdog closed the silent socket");
    let wait = r.timers[&TimerId::SocketReconnect] - r.now;
    r.advance(wait);
    r.answer(Method::Post, "/api/events/ticket", 200, json!({"ticket": "tk2", "expires_in": 30}));
    let new = r.conn();
    assert_ne!(new, old);
    r.feed(Input::SocketFrame { conn: old, text: r#"{"id":9,"at":0,"event":{"type":"heartbeat","at":0}}"#.into() });
    r.feed(Input::SocketClosed { conn: old, code: 1006 });
    assert_eq!(r.e.stored().last_event_id, Some(0));
    assert!(!r.timers.contains_key(&TimerId::SocketReconnect));
    // An unknown event type is skipped without dropping the connection.
    r.feed(Input::SocketOpened { conn: new });
    r.feed(Input::SocketFrame { conn: new, text: r#"{"id":1,"at":0,"event":{"type":"from_the_future"}}"#.into() });
    assert!(r.view().live);
}

#[test]
fn hello_resync_reads_the_calls_again() {
    let mut r = Rig::signed_in(true);
    let (id, _) = r.dial_sandbox("+14155550100");
    r.event_with_id(None, ServerEvent::Hello { agent_id: "ag_1".into(), last_event_id: 40, resync: true });
    assert_eq!(r.e.stored().last_event_id, Some(40));
    let one = r.take(Method::Get, &format!("/api/calls/{id}"));
    let list = r.take(Method::Get, "/api/calls?limit=20");
    let mut log = log_of(&id, "in-progress");
    log.answered_at = Some(1);
    r.reply(&one, 200, serde_json::to_value(&log).unwrap());
    assert_eq!(r.call().phase, Phase::InCall, "a missed answer is caught up");
    let old = CallLog { status: "busy".into(), ..log_of("older-call-1", "busy") };
    r.reply(&list, 200, serde_json::to_value(CallLogPage { items: vec![old, log], next_cursor: None }).unwrap());
    let recent = &r.view().recent;
    assert_eq!(recent.len(), 1, "the live call is not in the recent list");
    assert_eq!(recent[0].outcome, "Busy");
}

fn log_of(id: &str, status: &str) -> CallLog {
    CallLog {
        id: id.into(),
        direction: CallDirection::Outbound,
        agent_id: Some("ag_1".into()),
        from: "+14155550199".into(),
        to: "+14155550100".into(),
        contact_id: None,
        contact_name: None,
        crm: None,
        call_sid: None,
        child_call_sid: None,
        status: status.into(),
        status_history: Vec::new(),
        started_at: 1,
        answered_at: None,
        ended_at: None,
        duration_seconds: None,
        recording_sid: None,
        recording_url: None,
        recording_duration_seconds: None,
        notes: None,
        disposition: None,
        sandbox: true,
        updated_at: 1,
    }
}

// ---------------------------------------------------------------- calls

#[test]
fn a_sandbox_call_goes_placing_ringing_in_call_wrap_up_and_is_logged_once() {
    let mut r = Rig::signed_in(true);
    r.cmd(PhoneCommand::Dial {
        number: "(415) 555-0100".into(),
        contact: Some(DialContact { id: Some("c-42".into()), ..Default::default() }),
    });
    assert_eq!(r.call().label, "Dialing…");
    assert_eq!(r.call().number_display, "(415) 555-0100");
    assert_eq!(r.view().presence, Presence::Busy);
    let p = r.connect_params();
    let call_id = p.client_call_id.clone();
    assert_eq!(p.to, "+14155550100", "always E.164 to the server");
    // The parameter names the voice webhook reads.
    let params = p.to_params();
    assert_eq!(params["ContactId"], "c-42");
    assert_eq!(params["ClientCallId"], call_id.as_str());
    assert_eq!(params["To"], "+14155550100");
    assert!(!params.contains_key("contact_id"));
    assert_eq!(r.call().call_id, call_id);
    assert!(matches!(r.events.last(), Some(PhoneEvent::CallStarted(c)) if c.call_id == call_id));
    // Busy during the call, for the server too.
    assert_eq!(body(&r.answer(Method::Put, "/api/me/presence", 204, Value::Null)), json!({"available": false}));
    // Caller ID.
    let lookup = r.take(Method::Get, "/api/contacts/lookup");
    assert_eq!(lookup.path, "/api/contacts/lookup?number=%2B14155550100");
    r.reply(&lookup, 200, serde_json::to_value(ContactList { items: vec![contact("Ann Lee", "+14155550100")] }).unwrap());
    assert_eq!(r.call().contact_name.as_deref(), Some("Ann Lee"));
    assert_eq!(r.call().contact_company.as_deref(), Some("Globex"));
    assert_eq!(r.call().contact_id.as_deref(), Some("c-42"), "the page's contact id is kept");
    // The Device names the call (its parent leg) when it rings.
    r.sandbox("CA1", "ringing", None);
    assert_eq!(r.call().label, "Ringing…");
    r.now += 2_000;
    r.event(ServerEvent::CallStatus {
        call_id: call_id.clone(),
        call_sid: Some("CA1".into()),
        status: "in-progress".into(),
        direction: CallDirection::Outbound,
    });
    assert_eq!(r.call().label, "In call");
    assert_eq!(r.call().timer.as_deref(), Some("0:00"));
    r.advance(5_000);
    assert_eq!(r.call().timer.as_deref(), Some("0:05"), "the tick re-renders the timer");
    r.cmd(PhoneCommand::Mute { muted: true });
    assert!(r.call().muted);
    r.cmd(PhoneCommand::SendDigits { digits: "12#".into() });
    assert_eq!(r.call().digits, "12#");
    r.cmd(PhoneCommand::HangUp);
    assert_eq!(r.voice.last(), Some(&VoiceCommand::Disconnect));
    assert_eq!(r.call().phase, Phase::WrapUp);
    assert_eq!(r.call().label, "Call ended");
    assert!(!r.call().muted && !r.call().can_hang_up);
    assert!(r.events.iter().any(|e| matches!(e, PhoneEvent::CallEnded { duration_sec: 5, end_reason: EndReason::Completed, .. })));
    assert_eq!(r.persisted.as_ref().unwrap().call.as_ref().unwrap().id, call_id, "wrap-up survives a restart");
    // Presence comes back.
    assert_eq!(body(&r.answer(Method::Put, "/api/me/presence", 204, Value::Null)), json!({"available": true}));
    // The server's final status arrives late: nothing changes.
    r.event(ServerEvent::CallStatus {
        call_id: call_id.clone(),
        call_sid: Some("CA1".into()),
        status: "completed".into(),
        direction: CallDirection::Outbound,
    });
    assert_eq!(r.call().phase, Phase::WrapUp);
    r.cmd(PhoneCommand::SaveWrapUp { notes: "  Wants a demo  ".into(), disposition: Some("connected".into()) });
    r.cmd(PhoneCommand::SaveWrapUp { notes: "again".into(), disposition: None });
    assert_eq!(r.errors(), vec![PhoneErrorCode::NoCall], "saved once");
    assert!(r.view().call.is_none());
    assert_eq!(r.view().recent[0].call_id, call_id);
    assert_eq!(r.view().recent[0].outcome, "0:05");
    assert_eq!(r.view().pending_logs, 1);
    let put = r.take(Method::Put, &format!("/api/calls/{call_id}"));
    assert_eq!(r.has(Method::Put, "/api/calls/"), 0, "one write");
    let b = body(&put);
    assert_eq!(b["notes"], "Wants a demo");
    assert_eq!(b["disposition"], "connected");
    assert_eq!(b["status"], "completed");
    assert_eq!(b["direction"], "outbound");
    assert_eq!(b["from"], "+14155550199");
    assert_eq!(b["to"], "+14155550100");
    assert_eq!(b["contact_name"], "Ann Lee");
    assert_eq!(b["call_sid"], "CA1");
    assert_eq!(b["duration_seconds"], 5);
    r.reply(&put, 200, serde_json::to_value(log_of(&call_id, "completed")).unwrap());
    assert_eq!(r.view().pending_logs, 0);
    assert!(r.events.iter().any(|e| matches!(e, PhoneEvent::CallLogged { disposition: Some(d), .. } if d == "connected")));
    assert!(r.persisted.as_ref().unwrap().outbox.is_empty());
    r.advance(600_000);
    assert_eq!(r.sent.iter().filter(|h| h.method == Method::Put && h.path.starts_with("/api/calls/")).count(), 1);
}

#[test]
fn duplicated_and_reordered_events_never_move_a_call_backwards() {
    let mut r = Rig::signed_in(true);
    let (id, sid) = r.dial_sandbox("+14155550100");
    let status = |s: &str| ServerEvent::CallStatus {
        call_id: id.clone(),
        call_sid: Some(sid.clone()),
        status: s.into(),
        direction: CallDirection::Outbound,
    };
    r.event_with_id(Some(10), status("in-progress"));
    assert_eq!(r.call().phase, Phase::InCall);
    // A replay of an id already seen.
    r.event_with_id(Some(10), status("in-progress"));
    r.event_with_id(Some(9), status("ringing"));
    // A late "ringing" with a new id (reordered upstream).
    r.event_with_id(Some(11), status("ringing"));
    r.event_with_id(Some(12), status("initiated"));
    assert_eq!(r.call().phase, Phase::InCall);
    let answered = r.events.iter().filter(|e| matches!(e, PhoneEvent::CallAnswered(_))).count();
    assert_eq!(answered, 1);
    assert!(!r.events.iter().any(|e| matches!(e, PhoneEvent::CallRinging(_))));
    r.event_with_id(Some(13), status("busy"));
    r.event_with_id(Some(14), status("completed"));
    r.event_with_id(Some(15), ServerEvent::LogUpdated { call: log_of(&id, "in-progress") });
    assert_eq!(r.call().phase, Phase::WrapUp);
    assert_eq!(r.call().end_reason, Some(EndReason::Busy), "the first end wins");
    assert_eq!(r.events.iter().filter(|e| matches!(e, PhoneEvent::CallEnded { .. })).count(), 1);
    assert_eq!(r.e.stored().last_event_id, Some(15));
}

#[test]
fn one_active_call_and_a_new_call_closes_the_previous_wrap_up() {
    let mut r = Rig::signed_in(true);
    let (first, sid) = r.dial_sandbox("+14155550100");
    r.cmd(PhoneCommand::Dial { number: "+14155550111".into(), contact: None });
    assert_eq!(r.errors(), vec![PhoneErrorCode::InCall]);
    assert_eq!(r.connects(), 1);
    r.sandbox(&sid, "completed", Some("busy"));
    assert_eq!(r.call().label, "Busy");
    r.cmd(PhoneCommand::Dial { number: "+14155550111".into(), contact: None });
    let put = r.take(Method::Put, &format!("/api/calls/{first}"));
    assert_eq!(body(&put)["status"], "busy");
    assert!(body(&put).get("notes").is_none_or(Value::is_null));
    assert_eq!(r.call().label, "Dialing…");
    assert_eq!(r.view().recent[0].call_id, first);
}

#[test]
fn bad_numbers_and_countries_get_their_codes_and_the_default_region_comes_from_the_tenant() {
    let mut r = Rig::new();
    r.feed(Input::Start { stored: None });
    r.cmd(PhoneCommand::Dial { number: "+14155550100".into(), contact: None });
    assert_eq!(r.errors(), vec![PhoneErrorCode::NotSignedIn]);
    r.cmd(PhoneCommand::SignIn { email: "ana@example.com".into(), password: "pw".into(), tenant: None });
    r.answer(Method::Post, "/api/auth/login", 200, auth(1, 900));
    r.cmd(PhoneCommand::Dial { number: "+14155550100".into(), contact: None });
    assert_eq!(r.errors().last(), Some(&PhoneErrorCode::NotReady));
    r.answer(Method::Get, "/api/config", 200, config(true, &["GB", "US"]));
    assert_eq!(r.view().default_region, "GB");
    let token = json!({"token": "vt1", "identity": "agent_ana", "ttl_seconds": 3600, "expires_at": r.now + 3_600_000, "sandbox": true});
    r.answer(Method::Post, "/api/twilio/token", 200, token);
    r.cmd(PhoneCommand::Dial { number: "12".into(), contact: None });
    assert_eq!(r.errors().last(), Some(&PhoneErrorCode::InvalidNumber));
    r.cmd(PhoneCommand::Dial { number: "+33 1 42 68 53 00".into(), contact: None });
    assert_eq!(r.errors().last(), Some(&PhoneErrorCode::CountryNotAllowed));
    assert_eq!(r.view().notice.as_ref().unwrap().message, PhoneErrorCode::CountryNotAllowed.message());
    r.cmd(PhoneCommand::Dial { number: "020 7946 0958".into(), contact: None });
    assert_eq!(r.connect_params().to, "+442079460958");
    assert_eq!(r.call().number_display, "020 7946 0958");
}

#[test]
fn a_failed_dial_ends_the_call_as_failed_with_the_servers_code() {
    // The Voice token is refused (the tenant's subscription lapsed): the call fails with
    // the server's code.
    let mut r = Rig::signed_in(true);
    r.feed(Input::Voice(VoiceEvent::Error { code: Some(20104), message: "expired".into() }));
    r.cmd(PhoneCommand::Dial { number: "+14155550100".into(), contact: None });
    assert_eq!(r.connects(), 0, "no Device call on an expired token");
    r.answer(Method::Post, "/api/twilio/token", 402, json!({"error": {"code": "subscription_inactive", "message": "x"}}));
    assert_eq!(r.call().end_reason, Some(EndReason::Failed));
    assert_eq!(r.call().label, "Call failed");
    assert_eq!(r.view().notice.as_ref().unwrap().code, PhoneErrorCode::SubscriptionInactive);
    // The Device fails the call: the Twilio code becomes the agent's text.
    let mut r = Rig::signed_in(true);
    r.cmd(PhoneCommand::Dial { number: "+14155550100".into(), contact: None });
    r.feed(Input::Voice(VoiceEvent::Error { code: Some(31486), message: "busy here".into() }));
    assert_eq!(r.call().end_reason, Some(EndReason::Failed));
    assert_eq!(r.view().notice.as_ref().unwrap().message, PhoneErrorCode::Unavailable.message());
    // A denied microphone says what to do.
    r.cmd(PhoneCommand::SkipWrapUp);
    r.cmd(PhoneCommand::Dial { number: "+14155550100".into(), contact: None });
    r.feed(Input::Voice(VoiceEvent::Error { code: Some(31208), message: "Permission denied".into() }));
    let notice = r.view().notice.clone().unwrap();
    assert_eq!(notice.code, PhoneErrorCode::NotAllowed);
    assert!(notice.message.contains("microphone"), "{notice:?}");
}

#[test]
fn watchdogs_give_up_on_calls_that_hang() {
    let mut r = Rig::signed_in(true);
    r.cmd(PhoneCommand::Dial { number: "+14155550100".into(), contact: None });
    // `device.connect()` hangs: no word from the Device for 10 s.
    r.advance(9_999);
    assert_eq!(r.call().phase, Phase::Placing);
    r.advance(1);
    assert_eq!(r.call().end_reason, Some(EndReason::Failed));
    assert_eq!(r.errors().last(), Some(&PhoneErrorCode::Unavailable));
    assert_eq!(r.voice.last(), Some(&VoiceCommand::Disconnect), "the hung call is dropped");
    r.cmd(PhoneCommand::SkipWrapUp);
    // A call that rings forever ends as unanswered and is hung up.
    let (_, sid) = r.dial_sandbox("+14155550101");
    r.sandbox(&sid, "ringing", None);
    r.advance(89_000);
    assert_eq!(r.call().phase, Phase::Ringing, "{:?}", r.call().end_reason);
    r.advance(1_000);
    assert_eq!(r.call().end_reason, Some(EndReason::NoAnswer));
    assert_eq!(r.voice.last(), Some(&VoiceCommand::Disconnect));
    // Hanging up before the Device named the call.
    r.cmd(PhoneCommand::SkipWrapUp);
    r.cmd(PhoneCommand::Dial { number: "+14155550102".into(), contact: None });
    r.cmd(PhoneCommand::HangUp);
    assert_eq!(r.call().end_reason, Some(EndReason::Canceled));
    assert_eq!(r.voice.last(), Some(&VoiceCommand::Disconnect));
}

#[test]
fn a_hung_register_is_an_error_and_a_retry_and_away_unregisters() {
    let mut r = Rig::signed_in(true);
    // Away: the Device stops ringing; available again: it registers again.
    r.cmd(PhoneCommand::SetPresence { presence: Presence::Away });
    assert_eq!(r.voice, vec![VoiceCommand::Unregister]);
    r.feed(Input::Voice(VoiceEvent::Unregistered));
    r.cmd(PhoneCommand::SetPresence { presence: Presence::Available });
    assert_eq!(r.voice.last(), Some(&VoiceCommand::Register));
    // `register()` never answers.
    r.advance(10_000);
    assert_eq!(r.errors().last(), Some(&PhoneErrorCode::Unavailable));
    let registers = |r: &Rig| r.voice.iter().filter(|v| **v == VoiceCommand::Register).count();
    assert_eq!(registers(&r), 1);
    r.advance(60_000);
    let tried = registers(&r);
    assert!((2..=6).contains(&tried), "retried with a growing backoff: {tried}");
    r.feed(Input::Voice(VoiceEvent::Registered));
    r.advance(120_000);
    assert_eq!(registers(&r), tried, "registered: no more retries");
    // A refused token while registered: a new token goes to the Device.
    r.feed(Input::Voice(VoiceEvent::Error { code: Some(20104), message: "expired".into() }));
    r.answer(
        Method::Post,
        "/api/twilio/token",
        200,
        json!({"token": "vt2", "identity": "agent_ana", "ttl_seconds": 3600, "expires_at": r.now + 3_600_000, "sandbox": true}),
    );
    assert!(r.voice.contains(&VoiceCommand::UpdateToken { token: "vt2".into() }));
}

#[test]
fn an_incoming_sandbox_call_is_named_answered_and_declined_calls_need_no_wrap_up() {
    let mut r = Rig::signed_in(true);
    r.event(ServerEvent::IncomingCall {
        call_id: "log-in-1".into(),
        call_sid: "CAin1".into(),
        from: "+14155550123".into(),
        to: "+14155550199".into(),
        contact: Some(contact("Bo Chen", "+14155550123")),
    });
    assert!(r.view().call.is_none(), "a screen pop alone does not ring");
    r.feed(Input::Voice(VoiceEvent::Incoming { call_sid: "CAclient1".into(), from: "+14155550123".into(), call_id: None }));
    assert_eq!(r.call().label, "Incoming call");
    assert_eq!(r.call().call_id, "log-in-1");
    assert_eq!(r.call().contact_name.as_deref(), Some("Bo Chen"));
    assert!(r.call().can_answer);
    assert!(r.events.iter().any(|e| matches!(e, PhoneEvent::CallIncoming { contact_name: Some(n), .. } if n == "Bo Chen")));
    r.cmd(PhoneCommand::Answer);
    assert_eq!(r.voice.last(), Some(&VoiceCommand::Accept));
    r.feed(Input::Voice(VoiceEvent::Accept { call_sid: Some("CAclient1".into()) }));
    assert_eq!(r.call().phase, Phase::InCall);
    r.feed(Input::Voice(VoiceEvent::Disconnect));
    assert_eq!(r.call().phase, Phase::WrapUp, "answered inbound calls get a wrap-up");
    r.cmd(PhoneCommand::SkipWrapUp);
    let put = r.take(Method::Put, "/api/calls/log-in-1");
    assert_eq!(body(&put)["direction"], "inbound");
    assert_eq!(body(&put)["from"], "+14155550123");
    assert_eq!(body(&put)["to"], "+14155550199");
    // The stand-in's own leg events are not the phone's business: its Device is.
    r.event(ServerEvent::SandboxCall {
        call_sid: "CAc2".into(),
        parent_call_sid: Some("CAin2".into()),
        kind: "client_ringing".into(),
        status: None,
        identity: Some("agent_ana".into()),
        detail: Some("+14155550124".into()),
    });
    assert!(r.view().call.is_none());
    // Declined: no wrap-up, straight to recent; only this Device's leg ends.
    r.feed(Input::Voice(VoiceEvent::Incoming { call_sid: "CAc3".into(), from: "+14155550125".into(), call_id: None }));
    r.answer(Method::Get, "/api/contacts/lookup", 200, json!({"items": []}));
    r.cmd(PhoneCommand::Decline);
    assert_eq!(r.voice.last(), Some(&VoiceCommand::Reject));
    assert!(r.view().call.is_none());
    assert_eq!(r.view().recent[0].outcome, "Declined");
    // Unanswered: missed after the watchdog.
    r.feed(Input::Voice(VoiceEvent::Incoming { call_sid: "CAc4".into(), from: "+14155550125".into(), call_id: None }));
    r.advance(60_000);
    assert!(r.view().call.is_none());
    assert_eq!(r.view().recent[0].outcome, "Missed");
}

/// The Device may ring before the socket's screen pop arrives. The call is then named by the
/// `CallId` `<Parameter>` the server put on the `<Client>`, so every event of it carries the
/// id of its log from the first (`call-incoming`) to the last; the later pop changes no id.
#[test]
fn a_call_ringing_before_its_screen_pop_keeps_the_servers_id_in_every_event() {
    let mut r = Rig::signed_in(true);
    r.feed(Input::Voice(VoiceEvent::Incoming {
        call_sid: "CAearly".into(),
        from: "+14155550123".into(),
        call_id: Some("log-early".into()),
    }));
    assert_eq!(r.call().call_id, "log-early");
    r.event(ServerEvent::IncomingCall {
        call_id: "log-early".into(),
        call_sid: "CAparent".into(),
        from: "+14155550123".into(),
        to: "+14155550199".into(),
        contact: Some(contact("Bo Chen", "+14155550123")),
    });
    r.cmd(PhoneCommand::Answer);
    r.feed(Input::Voice(VoiceEvent::Accept { call_sid: Some("CAearly".into()) }));
    assert_eq!(r.call().phase, Phase::InCall);
    let ids: Vec<&str> = r
        .events
        .iter()
        .filter_map(|e| match e {
            PhoneEvent::CallIncoming { call_id, .. } => Some(call_id.as_str()),
            PhoneEvent::CallAnswered(c) => Some(c.call_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(ids, ["log-early", "log-early"]);
    // Without the parameter (an older server), the pop still names the call.
    r.feed(Input::Voice(VoiceEvent::Disconnect));
    r.cmd(PhoneCommand::SkipWrapUp);
    r.feed(Input::Voice(VoiceEvent::Incoming { call_sid: "CAold".into(), from: "+14155550124".into(), call_id: None }));
    assert_ne!(r.call().call_id, "");
}

#[test]
fn voice_sdk_calls_run_through_the_device() {
    let mut r = Rig::signed_in(false);
    r.cmd(PhoneCommand::Dial { number: "+14155550100".into(), contact: None });
    let id = r.call().call_id.clone();
    assert_eq!(
        r.voice.last(),
        Some(&VoiceCommand::Connect {
            params: mpt_core::api::DialParams { to: "+14155550100".into(), client_call_id: id.clone(), ..Default::default() }
        })
    );
    r.feed(Input::Voice(VoiceEvent::Ringing { call_sid: Some("CAv1".into()) }));
    r.feed(Input::Voice(VoiceEvent::Accept { call_sid: Some("CAv1".into()) }));
    assert_eq!(r.call().phase, Phase::InCall);
    r.feed(Input::Voice(VoiceEvent::Warning { name: "high-rtt".into() }));
    r.feed(Input::Voice(VoiceEvent::Reconnecting));
    assert_eq!(r.call().warning.as_deref(), Some("Poor connection"));
    assert!(r.call().reconnecting);
    r.feed(Input::Voice(VoiceEvent::WarningCleared { name: "high-rtt".into() }));
    r.feed(Input::Voice(VoiceEvent::Reconnected));
    assert_eq!(r.call().warning, None);
    assert!(!r.call().reconnecting);
    r.cmd(PhoneCommand::Mute { muted: true });
    r.cmd(PhoneCommand::SendDigits { digits: "9".into() });
    r.cmd(PhoneCommand::SendDigits { digits: "abc".into() });
    assert_eq!(r.errors().last(), Some(&PhoneErrorCode::InvalidNumber));
    let tail: Vec<_> = r.voice.iter().rev().take(2).rev().cloned().collect();
    assert_eq!(tail, vec![VoiceCommand::Mute { muted: true }, VoiceCommand::SendDigits { digits: "9".into() }]);
    r.now += 61_000;
    r.feed(Input::Voice(VoiceEvent::Disconnect));
    assert_eq!(r.call().end_reason, Some(EndReason::Completed));
    assert_eq!(r.call().timer.as_deref(), Some("1:01"));
    r.cmd(PhoneCommand::SaveWrapUp { notes: String::new(), disposition: Some("left-voicemail".into()) });
    let put = r.take(Method::Put, &format!("/api/calls/{id}"));
    assert_eq!(body(&put)["call_sid"], "CAv1");
    assert!(body(&put)["notes"].is_null());
    // tokenWillExpire: a fresh token goes to the device.
    r.feed(Input::Voice(VoiceEvent::TokenWillExpire));
    r.answer(
        Method::Post,
        "/api/twilio/token",
        200,
        json!({"token": "vt2", "identity": "agent_ana", "ttl_seconds": 3600, "expires_at": r.now + 3_600_000, "sandbox": false}),
    );
    assert_eq!(r.voice.last(), Some(&VoiceCommand::UpdateToken { token: "vt2".into() }));
    // An SDK error while connecting fails the call.
    r.cmd(PhoneCommand::Dial { number: "+14155550100".into(), contact: None });
    r.feed(Input::Voice(VoiceEvent::Error { code: Some(31005), message: "gone".into() }));
    assert_eq!(r.call().end_reason, Some(EndReason::Failed));
    // An incoming SDK call, canceled by the caller, is missed.
    r.cmd(PhoneCommand::SkipWrapUp);
    r.feed(Input::Voice(VoiceEvent::Incoming { call_sid: "CAi".into(), from: "+14155550177".into(), call_id: None }));
    assert_eq!(r.call().phase, Phase::Incoming);
    r.cmd(PhoneCommand::Answer);
    assert_eq!(r.voice.last(), Some(&VoiceCommand::Accept));
    r.feed(Input::Voice(VoiceEvent::Cancel));
    assert!(r.view().call.is_none());
    assert_eq!(r.view().recent[0].end_reason, Some(EndReason::Missed));
    // Signing out releases the device.
    r.cmd(PhoneCommand::SignOut);
    assert_eq!(r.voice.last(), Some(&VoiceCommand::Destroy));
}

// ---------------------------------------------------------------- queue and restart

#[test]
fn an_offline_log_write_survives_a_restart_and_is_flushed_exactly_once() {
    let mut r = Rig::signed_in(true);
    let (id, sid) = r.dial_sandbox("+14155550100");
    r.sandbox(&sid, "answered", None);
    r.now += 3_000;
    r.sandbox(&sid, "completed", Some("completed"));
    r.cmd(PhoneCommand::SaveWrapUp { notes: "call back Tuesday".into(), disposition: Some("callback-requested".into()) });
    // The server is gone.
    r.answer(Method::Put, &format!("/api/calls/{id}"), 0, Value::Null);
    assert!(r.timers.contains_key(&TimerId::OutboxRetry));
    r.advance(r.timers[&TimerId::OutboxRetry] - r.now);
    r.answer(Method::Put, &format!("/api/calls/{id}"), 503, Value::Null);
    let stored = r.persisted.clone().unwrap();
    assert_eq!(stored.outbox.len(), 1);
    // The service worker is stopped; a new one starts from what was stored.
    let json = serde_json::to_string(&stored).unwrap();
    let mut r2 = Rig::with_engine(Engine::new(99));
    r2.now = r.now + 60_000;
    r2.feed(Input::Start { stored: Some(Box::new(serde_json::from_str(&json).unwrap())) });
    assert_eq!(r2.view().pending_logs, 1);
    assert_eq!(r2.view().recent[0].call_id, id);
    let puts: Vec<_> = r2.http.iter().filter(|h| h.method == Method::Put && h.path.starts_with("/api/calls/")).cloned().collect();
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].bearer.as_deref(), Some("tok1"));
    let b = body(&puts[0]);
    assert_eq!(b["notes"], "call back Tuesday");
    assert_eq!(b["duration_seconds"], 3);
    r2.reply(&puts[0].clone(), 201, serde_json::to_value(log_of(&id, "completed")).unwrap());
    r2.http.retain(|h| h.id != puts[0].id);
    assert_eq!(r2.view().pending_logs, 0);
    assert!(r2.persisted.as_ref().unwrap().outbox.is_empty());
    // Whatever happens next, that write is never sent again.
    r2.answer(Method::Get, "/api/config", 200, config(true, &["US"]));
    r2.answer(Method::Post, "/api/events/ticket", 200, json!({"ticket": "t", "expires_in": 30}));
    let conn = r2.conn();
    r2.feed(Input::SocketOpened { conn });
    r2.advance(3_600_000);
    let total = r2.sent.iter().filter(|h| h.method == Method::Put && h.path.starts_with("/api/calls/")).count();
    assert_eq!(total, 1);
}

#[test]
fn a_restart_with_an_expired_token_refreshes_before_anything_else() {
    let mut r = Rig::signed_in(true);
    let stored = r.e.stored();
    let mut r2 = Rig::with_engine(Engine::new(1));
    r2.now = r.now + 2 * 3_600_000;
    r2.feed(Input::Start { stored: Some(Box::new(stored)) });
    assert_eq!(r2.http.len(), 1, "{:?}", r2.http);
    let refresh = r2.take(Method::Post, "/api/auth/refresh");
    r2.reply(&refresh, 200, auth(2, 900));
    assert!(r2.http.iter().all(|h| h.bearer.as_deref() == Some("tok2")));
    assert!(r2.has(Method::Get, "/api/config") == 1 && r2.has(Method::Post, "/api/events/ticket") == 1);
    r.now += 1;
}

#[test]
fn a_restart_during_wrap_up_keeps_the_wrap_up_and_saves_it_once() {
    let mut r = Rig::signed_in(true);
    let (id, sid) = r.dial_sandbox("+14155550100");
    r.sandbox(&sid, "completed", Some("no-answer"));
    let stored = r.persisted.clone().unwrap();
    let mut r2 = Rig::with_engine(Engine::new(5));
    r2.feed(Input::Start { stored: Some(Box::new(stored)) });
    assert_eq!(r2.call().phase, Phase::WrapUp);
    assert_eq!(r2.call().label, "No answer");
    r2.cmd(PhoneCommand::SaveWrapUp { notes: "n".into(), disposition: None });
    r2.cmd(PhoneCommand::SkipWrapUp);
    assert_eq!(r2.has(Method::Put, &format!("/api/calls/{id}")), 1);
}

#[test]
fn a_restart_during_a_live_call_resumes_it_and_catches_up_with_the_server() {
    let mut r = Rig::signed_in(true);
    let (id, sid) = r.dial_sandbox("+14155550100");
    r.sandbox(&sid, "answered", None);
    let stored = r.persisted.clone().unwrap();
    assert_eq!(stored.call.as_ref().unwrap().phase, Phase::InCall);
    // The worker stops; the call ends on the server meanwhile.
    let mut r2 = Rig::with_engine(Engine::new(3));
    r2.now = r.now + 20_000;
    r2.feed(Input::Start { stored: Some(Box::new(stored)) });
    assert_eq!(r2.call().phase, Phase::InCall);
    assert_eq!(r2.call().timer.as_deref(), Some("0:20"));
    assert!(r2.timers.contains_key(&TimerId::CallTick));
    let mut log = log_of(&id, "completed");
    log.answered_at = Some(1);
    r2.answer(Method::Get, &format!("/api/calls/{id}"), 200, serde_json::to_value(&log).unwrap());
    assert_eq!(r2.call().phase, Phase::WrapUp);
    assert_eq!(r2.call().end_reason, Some(EndReason::Completed));
    // The socket resumes after the last event seen.
    r2.answer(Method::Post, "/api/events/ticket", 200, json!({"ticket": "t2", "expires_in": 30}));
    assert!(r2.socket.as_ref().unwrap().1.ends_with(&format!("last_event_id={}", r.e.stored().last_event_id.expect("heard the hello"))));
}

#[test]
fn a_stored_call_without_a_session_is_dropped() {
    let mut r = Rig::signed_in(true);
    r.dial_sandbox("+14155550100");
    let mut stored = r.persisted.clone().unwrap();
    stored.session = None;
    let mut r2 = Rig::new();
    r2.feed(Input::Start { stored: Some(Box::new(stored)) });
    assert!(r2.view().call.is_none());
    assert!(r2.http.is_empty());
}

// ---------------------------------------------------------------- presence and contacts

#[test]
fn presence_updates_merge_and_the_last_one_wins() {
    let mut r = Rig::signed_in(true);
    r.cmd(PhoneCommand::SetPresence { presence: Presence::Away });
    let first = r.take(Method::Put, "/api/me/presence");
    r.cmd(PhoneCommand::SetPresence { presence: Presence::Available });
    r.cmd(PhoneCommand::SetPresence { presence: Presence::Away });
    r.cmd(PhoneCommand::SetPresence { presence: Presence::Available });
    assert_eq!(r.has(Method::Put, "/api/me/presence"), 0, "one update at a time");
    r.reply(&first, 204, Value::Null);
    let second = r.take(Method::Put, "/api/me/presence");
    assert_eq!(body(&second), json!({"available": true}));
    r.reply(&second, 0, Value::Null);
    r.advance(r.timers[&TimerId::PresenceRetry] - r.now);
    r.answer(Method::Put, "/api/me/presence", 204, Value::Null);
    assert!(r.http.is_empty());
    assert_eq!(r.view().presence, Presence::Available);
    // Our own echo is ignored; another endpoint's change is adopted.
    r.event(ServerEvent::Presence { agent_id: "ag_1".into(), available: true });
    r.event(ServerEvent::Presence { agent_id: "ag_1".into(), available: false });
    assert_eq!(r.view().chosen_presence, Presence::Away);
    assert!(r.http.is_empty(), "adopting is not echoed back");
    assert_eq!(r.persisted.as_ref().unwrap().presence, Presence::Away);
}

#[test]
fn contact_search_ignores_answers_to_older_queries() {
    let mut r = Rig::signed_in(true);
    r.cmd(PhoneCommand::SearchContacts { query: "an".into() });
    r.cmd(PhoneCommand::SearchContacts { query: "ann".into() });
    let old = r.take(Method::Get, "/api/contacts/search?q=an");
    let new = r.take(Method::Get, "/api/contacts/search?q=ann");
    r.reply(&new, 200, serde_json::to_value(ContactList { items: vec![contact("Ann Lee", "+14155550100")] }).unwrap());
    r.reply(&old, 200, serde_json::to_value(ContactList { items: vec![] }).unwrap());
    assert_eq!(r.view().search.query, "ann");
    assert_eq!(r.view().contacts().len(), 1);
    assert!(!r.view().search.loading);
    r.cmd(PhoneCommand::SearchContacts { query: "  ".into() });
    assert!(r.view().contacts().is_empty());
    assert!(r.http.is_empty());
}

#[test]
fn the_tenant_s_dispositions_replace_the_defaults() {
    let mut r = Rig::new();
    r.feed(Input::Start { stored: None });
    r.cmd(PhoneCommand::SignIn { email: "ana@example.com".into(), password: "pw".into(), tenant: None });
    let login = r.take(Method::Post, "/api/auth/login");
    r.reply(&login, 200, auth(1, 900));
    let mut cfg = config(true, &["US"]);
    cfg["dispositions"] = json!(["Sale", "Follow up"]);
    r.answer(Method::Get, "/api/config", 200, cfg);
    assert_eq!(r.view().dispositions, vec!["Sale".to_owned(), "Follow up".to_owned()]);
}

/// Both dial paths carry the same parameters (contact included): what the Voice SDK's
/// `device.connect({params})` gets is what the sandbox request's `params` holds.
#[test]
fn real_and_sandbox_tenants_run_one_device_path_with_the_contact() {
    let contact =
        DialContact { id: Some("c-0001".into()), name: Some("Ada Lovelace".into()), crm: Some("MPT-CRM".into()), ..Default::default() };
    let mut sent = Vec::new();
    for sandbox in [false, true] {
        let mut r = Rig::signed_in(sandbox);
        r.cmd(PhoneCommand::Dial { number: "+14155550100".into(), contact: Some(contact.clone()) });
        let params = r.connect_params();
        assert_eq!(params.client_call_id, r.call().call_id);
        assert_eq!(r.call().contact_name.as_deref(), Some("Ada Lovelace"));
        let mut p = params.to_params();
        p.remove("ClientCallId"); // each rig makes its own id
        sent.push(p);
    }
    assert_eq!(sent[0], sent[1]);
    assert_eq!(sent[0]["ContactName"], "Ada Lovelace");
    assert_eq!(sent[0]["Crm"], "MPT-CRM");
    assert_eq!(sent[0]["ContactId"], "c-0001");
}

#[test]
fn a_page_offered_call_waits_for_the_agent_and_only_the_tenants_crms_are_trusted() {
    let mut r = Rig::new();
    r.feed(Input::Start { stored: None });
    assert!(!r.e.origin_allowed("https://crm.example.com"), "nothing is trusted before the config is loaded");
    let offer = |number: &str| Input::Propose {
        number: number.into(),
        contact: DialContact { id: Some("c-7".into()), name: Some("Ada Lovelace".into()), ..DialContact::default() },
        origin: "https://other.example".into(),
    };
    r.feed(offer("+14155550100"));
    assert_eq!(r.errors(), vec![PhoneErrorCode::NotSignedIn]);
    let mut r = Rig::signed_in(true);
    assert!(r.e.origin_allowed("https://crm.example.com"));
    assert!(!r.e.origin_allowed("https://crm.example.com.evil.test"));
    assert!(!r.e.origin_allowed("https://other.example"));
    r.feed(offer("not a number"));
    assert_eq!(r.errors().last(), Some(&PhoneErrorCode::InvalidNumber));
    assert!(r.e.proposal().is_none());
    r.feed(offer("(415) 555-0100"));
    let p = r.e.proposal().cloned().expect("offered");
    assert_eq!(p.number, "+14155550100");
    assert_eq!(p.number_display, "(415) 555-0100");
    assert_eq!(p.contact.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(p.origin, "https://other.example");
    // Offering places nothing.
    assert_eq!(r.connects(), 0);
    assert!(r.view().call.is_none());
    // Dismissed: gone.
    r.feed(Input::DismissProposal);
    assert!(r.e.proposal().is_none());
    // Offered again and confirmed by the agent (the UI sends Dial with the offer's contact).
    r.feed(offer("+14155550100"));
    let p = r.e.proposal().cloned().expect("offered");
    r.cmd(PhoneCommand::Dial { number: p.number.clone(), contact: Some(p.contact.clone()) });
    assert_eq!(r.connect_params().contact_name.as_deref(), Some("Ada Lovelace"));
    assert!(r.e.proposal().is_none(), "dialling the offer consumes it");
    // Sign-out forgets an offer.
    r.feed(offer("+14155550111"));
    assert!(r.e.proposal().is_some());
    r.cmd(PhoneCommand::SignOut);
    assert!(r.e.proposal().is_none());
}

#[test]
fn a_voice_token_capped_by_its_session_registers_as_it_is_and_never_loops() {
    // An embed session's Voice token ends with the session: a few seconds, not an hour.
    let mut r = Rig::signed_in(true);
    r.now += 10_000;
    r.feed(Input::Voice(VoiceEvent::Error { code: Some(20104), message: "expired".into() }));
    let short = json!({"token": "vt-short", "identity": "agent_ana", "ttl_seconds": 5, "expires_at": r.now + 5_000, "sandbox": true});
    r.answer(Method::Post, "/api/twilio/token", 200, short);
    assert!(r.voice.contains(&VoiceCommand::UpdateToken { token: "vt-short".into() }));
    r.feed(Input::Voice(VoiceEvent::Unregistered));
    assert_eq!(r.voice.last(), Some(&VoiceCommand::Register), "registers with the short token");
    r.feed(Input::Voice(VoiceEvent::Registered));
    // tokenWillExpire right away, and again: at most one ask per interval, no timer loop.
    r.feed(Input::Voice(VoiceEvent::TokenWillExpire));
    r.feed(Input::Voice(VoiceEvent::TokenWillExpire));
    assert_eq!(r.has(Method::Post, "/api/twilio/token"), 0, "asked moments ago");
    r.advance(10_000);
    r.feed(Input::Voice(VoiceEvent::TokenWillExpire));
    assert_eq!(r.has(Method::Post, "/api/twilio/token"), 1);
    assert!(r.sent.iter().filter(|h| h.path == "/api/twilio/token").count() <= 3, "{:?}", r.sent);
}

#[test]
fn an_incoming_call_answered_on_another_endpoint_stops_ringing_here_and_is_not_missed() {
    let pop = |r: &mut Rig, n: u32| {
        r.event(ServerEvent::IncomingCall {
            call_id: format!("log-in-{n}"),
            call_sid: format!("CAin{n}"),
            from: "+14155550123".into(),
            to: "+14155550199".into(),
            contact: Some(contact("Bo Chen", "+14155550123")),
        });
        r.feed(Input::Voice(VoiceEvent::Incoming { call_sid: format!("CAcl{n}"), from: "+14155550123".into(), call_id: None }));
    };
    let status = |r: &mut Rig, n: u32, s: &str| {
        r.event(ServerEvent::CallStatus {
            call_id: format!("log-in-{n}"),
            call_sid: Some(format!("CAin{n}")),
            status: s.into(),
            direction: CallDirection::Inbound,
        })
    };
    let mut r = Rig::signed_in(true);
    // The server's word comes first (another endpoint, or voicemail, answered): it rings on
    // here until this Device's own cancel, never "in call" here.
    pop(&mut r, 1);
    status(&mut r, 1, "in-progress");
    assert_eq!(r.call().phase, Phase::Incoming);
    r.feed(Input::Voice(VoiceEvent::Cancel));
    assert!(r.view().call.is_none(), "no wrap-up here");
    assert_eq!(r.view().recent[0].outcome, "Answered elsewhere", "the server said so before the cancel");
    assert!(!r.events.iter().any(|e| matches!(e, PhoneEvent::CallEnded { end_reason: EndReason::Missed, .. })), "never missed");
    // The Device's cancel comes first: missed for a moment (the log corrects it: see the
    // next test).
    pop(&mut r, 2);
    r.feed(Input::Voice(VoiceEvent::Cancel));
    assert_eq!(r.view().recent[0].outcome, "Missed");
    // Voicemail answers the caller, no agent does: not "answered elsewhere".
    let mut voicemail = log_of("log-in-2", "in-progress");
    voicemail.direction = CallDirection::Inbound;
    voicemail.agent_id = None;
    voicemail.answered_at = Some(1);
    voicemail.recording_sid = Some("RE1".into());
    r.event(ServerEvent::LogUpdated { call: voicemail.clone() });
    assert_ne!(r.view().recent[0].outcome, "Answered elsewhere");
    voicemail.status = "completed".into();
    voicemail.duration_seconds = Some(9);
    r.event(ServerEvent::LogUpdated { call: voicemail });
    assert_eq!(r.view().recent[0].outcome, "Missed", "a caller who left a voicemail was missed");
    // Answered here: the server's answer may beat the Device's accept.
    pop(&mut r, 3);
    r.cmd(PhoneCommand::Answer);
    status(&mut r, 3, "in-progress");
    assert_eq!(r.call().phase, Phase::InCall);
    assert_eq!(
        r.has(Method::Put, "/api/calls/log-in-1") + r.has(Method::Put, "/api/calls/log-in-2"),
        0,
        "no log written for calls taken elsewhere"
    );
}

#[test]
fn a_log_update_of_a_call_answered_elsewhere_keeps_saying_so_until_it_ends() {
    let mut r = Rig::signed_in(true);
    r.event(ServerEvent::IncomingCall {
        call_id: "log-x".into(),
        call_sid: "CAx".into(),
        from: "+14155550123".into(),
        to: "+14155550199".into(),
        contact: None,
    });
    r.feed(Input::Voice(VoiceEvent::Incoming { call_sid: "CAxc".into(), from: "+14155550123".into(), call_id: None }));
    r.feed(Input::Voice(VoiceEvent::Cancel));
    let mut log = log_of("log-x", "in-progress");
    log.direction = CallDirection::Inbound;
    log.answered_at = Some(1);
    r.event(ServerEvent::LogUpdated { call: log.clone() });
    assert_eq!(r.view().recent[0].outcome, "Answered elsewhere");
    log.status = "completed".into();
    log.duration_seconds = Some(12);
    r.event(ServerEvent::LogUpdated { call: log });
    assert_eq!(r.view().recent[0].outcome, "0:12", "how it ended, once it did");
}

#[test]
fn a_host_without_call_logging_skips_the_wrap_up_and_still_logs_the_call() {
    let mut r = Rig::with_engine(Engine::new(42).without_wrap_up());
    r.feed(Input::Start { stored: None });
    r.sign_in(true, &["US"]);
    r.cmd(PhoneCommand::Dial {
        number: "+14155550100".into(),
        contact: Some(DialContact { id: Some("c-42".into()), ..Default::default() }),
    });
    let call_id = r.connect_params().client_call_id;
    r.sandbox("CA9", "ringing", None);
    r.event(ServerEvent::CallStatus {
        call_id: call_id.clone(),
        call_sid: Some("CA9".into()),
        status: "in-progress".into(),
        direction: CallDirection::Outbound,
    });
    assert_eq!(r.call().label, "In call");
    r.advance(3_000);
    r.cmd(PhoneCommand::HangUp);
    assert!(r.view().call.is_none(), "no wrap-up: the phone is free at once");
    assert!(r.events.iter().any(|e| matches!(e, PhoneEvent::CallEnded { end_reason: EndReason::Completed, .. })));
    assert_eq!(r.view().recent[0].call_id, call_id);
    // The log still gets the call with its contact, with no notes or disposition.
    let put = r.take(Method::Put, &format!("/api/calls/{call_id}"));
    let sent = body(&put);
    assert_eq!(sent["contact_id"], "c-42");
    assert!(sent.get("notes").is_none_or(Value::is_null), "{sent}");
    assert!(r.errors().is_empty(), "{:?}", r.errors());
}
