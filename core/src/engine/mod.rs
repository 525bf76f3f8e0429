//! The phone engine: every decision of MPT Phone, with no I/O (sans-IO, like quinn-proto
//! and str0m).
//!
//! A host feeds [`Input`]s (commands, HTTP answers, socket frames, Voice SDK events, timer
//! fires, the stored state at start) into [`Engine::handle`] with the current time, and
//! executes the [`Effect`]s it returns (HTTP requests, socket open/send/close, storage
//! writes, Voice SDK commands, timers, a [`PhoneView`] to render, events for integrators).
//! The extension's service worker, the embeddable widget and the tests are such hosts; the
//! phone therefore behaves the same in all of them, and every transition is a plain
//! `cargo test`.
//!
//! One concern per file: [`session`] (sign-in, single-flight refresh, revocation),
//! [`calling`] (commands on calls, Voice SDK and sandbox glue) over the pure state machine
//! of [`calls`], [`socket`] (the live event socket), [`outbox`] (call-log writes),
//! [`presence`], [`contacts`], [`view`] (the snapshot and its labels).

pub mod calling;
pub mod calls;
pub mod command;
pub mod contacts;
pub mod dialer;
pub mod io;
pub mod outbox;
pub mod presence;
pub mod proposal;
pub mod rng;
pub mod session;
pub mod socket;
pub mod stored;
pub mod view;

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use crate::api::{ClientConfig, ErrorBody};
use crate::error_code::PhoneErrorCode;
use crate::phone::Region;

pub use calls::{Call, Direction, EndReason, Phase, RecentCall};
pub use command::{CallRef, DialContact, PhoneCommand, PhoneEvent};
pub use io::{ConnId, Effect, HttpRequest, HttpResponse, Input, Method, RequestId, TimerId, VoiceCommand, VoiceEvent};
pub use proposal::Proposal;
pub use stored::{StoredSession, StoredState};
pub use view::PhoneView;

/// Whether the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// Nothing tried yet.
    Unknown,
    /// The last request or the socket worked.
    Online,
    /// The server did not answer; retrying.
    Unreachable,
}

/// What an HTTP request was for, so its answer goes to the right place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Purpose {
    Login,
    EmbedSignIn { token: String, expires_at_ms: u64 },
    Refresh,
    Logout,
    Config,
    VoiceToken,
    Ticket,
    LogWrite { call_id: String },
    Presence { available: bool },
    Lookup { call_id: String },
    Search { query: String },
    RecentList,
    CallGet { call_id: String },
}

/// A request the engine sent and still waits for.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub purpose: Purpose,
    pub method: Method,
    pub path: String,
    pub body: Option<String>,
    pub authed: bool,
    /// Already retried once after a refresh.
    pub retried: bool,
}

/// An HTTP answer handed to a purpose's handler.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json<T: DeserializeOwned>(&self) -> Option<T> {
        let text = if self.body.trim().is_empty() { "null" } else { self.body.as_str() };
        serde_json::from_str(text).ok()
    }

    /// True when retrying later may succeed (network, server trouble, rate limit).
    pub fn transient(&self) -> bool {
        matches!(self.status, 0 | 408 | 429) || self.status >= 500
    }

    /// The phone error this failed answer means.
    pub fn code(&self) -> PhoneErrorCode {
        if let Some(code) = self.json::<ErrorBody>().and_then(|e| PhoneErrorCode::parse(&e.error.code)) {
            return code;
        }
        match self.status {
            0 | 502..=504 => PhoneErrorCode::Unavailable,
            401 => PhoneErrorCode::Unauthorized,
            402 => PhoneErrorCode::SubscriptionInactive,
            403 => PhoneErrorCode::NotAllowed,
            429 => PhoneErrorCode::RateLimited,
            _ => PhoneErrorCode::Internal,
        }
    }

    /// The server's own message, when it sent one.
    pub fn message(&self) -> Option<String> {
        self.json::<ErrorBody>().map(|e| e.error.message)
    }
}

/// An error the view shows until dismissed or replaced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notice {
    /// The code.
    pub code: PhoneErrorCode,
    /// The text (the code's, or the server's for a failed sign-in).
    pub message: String,
}

/// The phone.
#[derive(Debug)]
pub struct Engine {
    now: u64,
    rng: rng::Rng,
    next_id: u64,
    pending: BTreeMap<RequestId, Pending>,
    out: Vec<Effect>,
    view_dirty: bool,
    persist_dirty: bool,
    started: bool,
    link: Link,
    notice: Option<Notice>,
    config: Option<ClientConfig>,
    pub(crate) session: session::SessionState,
    pub(crate) socket: socket::SocketState,
    pub(crate) calls: calling::CallState,
    pub(crate) outbox: outbox::Outbox,
    pub(crate) presence: presence::PresenceState,
    pub(crate) contacts: contacts::Contacts,
    pub(crate) proposal: Option<proposal::Proposal>,
    /// Whether an answered call ends in a wrap-up (notes and disposition for the log).
    pub(crate) wrap_up: bool,
}

impl Engine {
    /// A phone that has not started yet; `seed` must come from a real random source.
    pub fn new(seed: u64) -> Engine {
        Engine {
            now: 0,
            rng: rng::Rng::new(seed),
            next_id: 1,
            pending: BTreeMap::new(),
            out: Vec::new(),
            view_dirty: true,
            persist_dirty: false,
            started: false,
            link: Link::Unknown,
            notice: None,
            config: None,
            session: session::SessionState::default(),
            socket: socket::SocketState::default(),
            calls: calling::CallState::default(),
            outbox: outbox::Outbox::default(),
            presence: presence::PresenceState::default(),
            contacts: contacts::Contacts::default(),
            proposal: None,
            wrap_up: true,
        }
    }

    /// A phone whose answered calls end without a wrap-up (an embedding host that turned
    /// off `features.callLogging`): no notes or disposition are asked for; the server still
    /// logs every call.
    pub fn without_wrap_up(mut self) -> Engine {
        self.wrap_up = false;
        self
    }

    /// Applies one input at `now_ms` (Unix milliseconds) and returns what to do, in order.
    /// A [`Effect::Persist`] and a [`Effect::View`] come last when anything they show changed.
    pub fn handle(&mut self, now_ms: u64, input: Input) -> Vec<Effect> {
        self.now = self.now.max(now_ms);
        match input {
            Input::Start { stored } => self.start(stored),
            Input::Command(cmd) => self.command(cmd),
            Input::Http(resp) => self.on_http(resp),
            Input::SocketOpened { conn } => self.on_socket_opened(conn),
            Input::SocketFrame { conn, text } => self.on_socket_frame(conn, &text),
            Input::SocketClosed { conn, code } => self.on_socket_closed(conn, code),
            Input::Voice(ev) => self.on_voice(ev),
            Input::Timer(t) => self.on_timer(t),
            Input::Propose { number, contact, origin } => {
                if let Err(code) = self.propose(&number, contact, origin) {
                    self.fail(code, None);
                }
            }
            Input::DismissProposal => self.drop_proposal(),
        }
        if self.persist_dirty && self.started {
            self.persist_dirty = false;
            let s = self.stored();
            self.out.push(Effect::Persist(Box::new(s)));
        }
        if self.view_dirty {
            self.view_dirty = false;
            let v = self.view();
            self.out.push(Effect::View(Box::new(v)));
        }
        std::mem::take(&mut self.out)
    }

    /// The current snapshot (what the last [`Effect::View`] carried, or newer).
    pub fn view(&self) -> PhoneView {
        view::build(self)
    }

    /// The state to persist now.
    pub fn stored(&self) -> StoredState {
        StoredState {
            version: stored::STORED_VERSION,
            session: self.session.stored(),
            last_event_id: self.socket.last_event_id,
            outbox: self.outbox.items.clone(),
            recent: self.calls.recent.clone(),
            presence: self.presence.chosen,
            call: self.calls.active.clone().filter(|c| c.phase != Phase::Ended),
        }
    }

    fn start(&mut self, stored: Option<Box<StoredState>>) {
        if self.started {
            return;
        }
        self.started = true;
        if let Some(s) = stored.map(|s| *s).filter(|s| s.version == stored::STORED_VERSION) {
            self.socket.last_event_id = s.last_event_id;
            self.outbox.items = s.outbox;
            self.calls.recent = s.recent;
            self.presence.chosen = s.presence;
            self.calls.active = s.call;
            if let Some(sess) = s.session {
                self.restore_session(sess);
                self.resume_call();
            } else {
                self.calls.active = None;
            }
        }
        self.view_dirty = true;
    }

    fn command(&mut self, cmd: PhoneCommand) {
        let result = match cmd {
            PhoneCommand::SignIn { email, password, tenant } => self.sign_in(email, password, tenant),
            PhoneCommand::SignOut => self.sign_out(),
            PhoneCommand::Dial { number, contact } => {
                let r = self.dial(&number, contact.unwrap_or_default());
                if r.is_ok() {
                    self.drop_proposal();
                }
                r
            }
            PhoneCommand::HangUp => self.hang_up(),
            PhoneCommand::Answer => self.answer(),
            PhoneCommand::Decline => self.decline(),
            PhoneCommand::Mute { muted } => self.mute(muted),
            PhoneCommand::SendDigits { digits } => self.send_digits(&digits),
            PhoneCommand::SaveWrapUp { notes, disposition } => self.finish_wrap_up(Some(notes), disposition),
            PhoneCommand::SkipWrapUp => self.finish_wrap_up(None, None),
            PhoneCommand::SetPresence { presence } => self.set_presence(presence),
            PhoneCommand::SearchContacts { query } => self.search_contacts(query),
            PhoneCommand::SetContact { contact } => self.set_contact(contact),
            PhoneCommand::SetAuthToken { token } => self.set_auth_token(token),
            PhoneCommand::DismissError => {
                self.notice = None;
                self.view_dirty = true;
                Ok(())
            }
        };
        if let Err(code) = result {
            self.fail(code, None);
        }
    }

    /// Shows `code` (with the server's `message` for sign-in) and tells integrators.
    pub(crate) fn fail(&mut self, code: PhoneErrorCode, message: Option<String>) {
        self.notice = Some(Notice { code, message: message.unwrap_or_else(|| code.message().to_owned()) });
        self.emit(PhoneEvent::error(code));
        self.view_dirty = true;
    }

    pub(crate) fn emit(&mut self, ev: PhoneEvent) {
        self.out.push(Effect::Event(ev));
    }

    pub(crate) fn effect(&mut self, e: Effect) {
        self.out.push(e);
    }

    pub(crate) fn set_timer(&mut self, timer: TimerId, in_ms: u64) {
        self.out.push(Effect::SetTimer { timer, at_ms: self.now + in_ms });
    }

    pub(crate) fn cancel_timer(&mut self, timer: TimerId) {
        self.out.push(Effect::CancelTimer(timer));
    }

    pub(crate) fn started(&self) -> bool {
        self.started
    }

    pub(crate) fn now(&self) -> u64 {
        self.now
    }

    pub(crate) fn rng(&mut self) -> &mut rng::Rng {
        &mut self.rng
    }

    pub(crate) fn dirty_view(&mut self) {
        self.view_dirty = true;
    }

    pub(crate) fn dirty_store(&mut self) {
        self.persist_dirty = true;
        self.view_dirty = true;
    }

    /// Whether the tenant lists `origin` as one of its CRMs (`allowed_origins`): its pages
    /// may start calls without the agent confirming. False before the config is loaded.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.config.as_ref().is_some_and(|c| crate::origin::origin_allowed(&c.allowed_origins, origin))
    }

    pub(crate) fn touch_view(&mut self) {
        self.view_dirty = true;
    }

    pub(crate) fn config(&self) -> Option<&ClientConfig> {
        self.config.as_ref()
    }

    pub(crate) fn link(&self) -> Link {
        self.link
    }

    pub(crate) fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    pub(crate) fn set_link(&mut self, link: Link) {
        if self.link != link {
            self.link = link;
            self.view_dirty = true;
        }
    }

    /// The region numbers without a country code are read in: the tenant's first allowed
    /// country, else the US (the server's rule, `api-server/src/dest.rs`).
    pub fn default_region(&self) -> Region {
        self.config.as_ref().and_then(|c| c.allowed_countries.first()).and_then(|c| Region::parse(c).ok()).unwrap_or(Region::US)
    }

    /// Sends a request; `authed` ones wait for a refresh in flight (or start one).
    pub(crate) fn request(&mut self, purpose: Purpose, method: Method, path: String, body: Option<String>, authed: bool) {
        let p = Pending { purpose, method, path, body, authed, retried: false };
        if authed {
            self.send_authed(p);
        } else {
            self.transmit(p, None);
        }
    }

    pub(crate) fn transmit(&mut self, p: Pending, bearer: Option<String>) {
        let id = self.next_id;
        self.next_id += 1;
        self.out.push(Effect::Http(HttpRequest { id, method: p.method, path: p.path.clone(), body: p.body.clone(), bearer }));
        self.pending.insert(id, p);
    }

    fn on_http(&mut self, resp: HttpResponse) {
        let Some(p) = self.pending.remove(&resp.id) else {
            return;
        };
        let reply = Reply { status: resp.status, body: resp.body };
        if reply.status == 0 {
            self.set_link(Link::Unreachable);
        } else {
            self.set_link(Link::Online);
        }
        if p.authed && reply.status == 401 {
            self.retry_after_refresh(p);
            return;
        }
        self.dispatch(p.purpose, reply);
    }

    /// Routes an answer (real, or synthesized for a request that could not be sent).
    pub(crate) fn dispatch(&mut self, purpose: Purpose, reply: Reply) {
        match purpose {
            Purpose::Login => self.on_login(reply),
            Purpose::EmbedSignIn { token, expires_at_ms } => self.on_embed_sign_in(token, expires_at_ms, reply),
            Purpose::Refresh => self.on_refresh(reply),
            Purpose::Logout => {}
            Purpose::Config => self.on_config(reply),
            Purpose::VoiceToken => self.on_voice_token(reply),
            Purpose::Ticket => self.on_ticket(reply),
            Purpose::LogWrite { call_id } => self.on_log_write(&call_id, reply),
            Purpose::Presence { available } => self.on_presence(available, reply),
            Purpose::Lookup { call_id } => self.on_lookup(&call_id, reply),
            Purpose::Search { query } => self.on_search(&query, reply),
            Purpose::RecentList => self.on_recent_list(reply),
            Purpose::CallGet { call_id } => self.on_call_get(&call_id, reply),
        }
    }

    fn on_config(&mut self, reply: Reply) {
        if !reply.ok() {
            if reply.transient() && self.session.signed_in() {
                // Retried with the socket's next (re)connect.
                self.socket.config_retry = true;
            }
            return;
        }
        let Some(cfg) = reply.json::<ClientConfig>() else {
            return;
        };
        let was_ready = self.config.is_some();
        self.config = Some(cfg);
        self.view_dirty = true;
        // The Device (real or the sandbox stand-in) starts now and rings while available.
        self.sync_registration();
        if !was_ready {
            self.emit(PhoneEvent::Ready {});
        }
    }

    /// Loads the tenant config (once per session).
    pub(crate) fn load_config(&mut self) {
        self.request(Purpose::Config, Method::Get, "/api/config".into(), None, true);
    }

    pub(crate) fn clear_config(&mut self) {
        self.config = None;
    }

    fn on_timer(&mut self, t: TimerId) {
        match t {
            TimerId::SessionRefresh => self.refresh_now(),
            TimerId::SocketReconnect => self.connect_socket(),
            TimerId::SocketHeartbeat => self.heartbeat(),
            TimerId::SocketWatchdog => self.socket_watchdog(),
            TimerId::CallWatchdog => self.call_watchdog(),
            TimerId::CallTick => self.call_tick(),
            TimerId::OutboxRetry => self.flush_outbox(),
            TimerId::PresenceRetry => self.sync_presence(),
            TimerId::VoiceToken => self.fetch_voice_token(),
            TimerId::VoiceWatchdog => self.voice_watchdog(),
            TimerId::VoiceRegister => self.sync_registration(),
        }
    }
}

/// Percent-encodes a query value.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// JSON text of a request body (our own types always serialize).
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
