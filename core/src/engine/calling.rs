//! Commands on calls and the glue to the Voice `Device` (`VoiceCommand`s out,
//! `VoiceEvent`s in): the Twilio Voice SDK's, or in sandbox mode the stand-in with the same
//! API that talks to the server's Twilio stand-in, so one path runs every call. The state
//! machine itself is [`super::calls`]; this file decides which steps the inputs mean,
//! enforces one active call, keeps the Device registered while the agent is available,
//! arms the watchdogs and queues the log when the wrap-up is done.

use crate::api::{CallLog, CallLogPage, CallLogUpsert, Contact, DialParams, Presence, TwilioTokenResponse};
use crate::error_code::PhoneErrorCode;
use crate::msg::valid_dtmf;
use crate::phone::normalize;

use super::calls::{push_recent, Call, Change, Direction, EndReason, Phase, RecentCall, Step};
use super::command::{DialContact, PhoneEvent};
use super::outbox::LogWrite;
use super::socket::backoff_ms;
use super::{encode, Effect, Engine, Method, Purpose, Reply, TimerId, VoiceCommand, VoiceEvent};

/// A call still placing (no ringing heard) after this long has failed.
pub const PLACING_TIMEOUT_MS: u64 = 30_000;
/// An outbound call ringing this long is given up as unanswered.
pub const RINGING_TIMEOUT_MS: u64 = 90_000;
/// An incoming call ringing this long is treated as missed.
pub const INCOMING_TIMEOUT_MS: u64 = 60_000;
/// `register()` or `connect()` with no word from the Device for this long has hung: the
/// watchdog turns it into an error and a retry.
pub const VOICE_WATCHDOG_MS: u64 = 10_000;
/// Where the sandbox Device signals (relative to the server; the host makes it `ws(s)://`).
pub const SANDBOX_SIGNAL_PATH: &str = "/api/sandbox/signal";
/// Voice tokens are asked for at most this often on `tokenWillExpire`.
const VOICE_TOKEN_MIN_INTERVAL_MS: u64 = 10_000;
/// Fetch a new Voice token this long before the current one expires.
const VOICE_TOKEN_MARGIN_MS: u64 = 60_000;
/// Notes longer than this are cut (the server refuses longer ones).
pub const MAX_NOTES_BYTES: usize = 10_000;
/// Screen pops remembered to name an incoming call.
const POPS_MAX: usize = 8;

/// The Voice SDK device as the engine knows it.
#[derive(Debug, Default)]
pub struct VoiceState {
    /// `Init` was sent.
    pub initialized: bool,
    /// The device registered (rings for inbound).
    pub registered: bool,
    token_expires_at_ms: u64,
    pub(crate) token_in_flight: bool,
    /// When the last Voice token was asked for: `tokenWillExpire` of a token that cannot
    /// outlive its session (an embed token's) would otherwise ask again at once, in a loop.
    token_asked_at_ms: u64,
    connect_after_token: Option<DialParams>,
    /// `Register` (true) or `Unregister` (false) was sent and not yet confirmed.
    register_sent: Option<bool>,
    /// What the watchdog waits for.
    watching: Option<Watch>,
    /// Failed registrations in a row (backoff).
    register_failures: u32,
}

/// What [`TimerId::VoiceWatchdog`] is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watch {
    Register,
    Connect,
}

/// A screen pop (`incoming_call` event) kept to name the call it announces.
#[derive(Debug, Clone)]
struct ScreenPop {
    call_id: String,
    call_sid: String,
    from: String,
    to: String,
    contact: Option<Contact>,
}

/// Calls bookkeeping.
#[derive(Debug, Default)]
pub struct CallState {
    /// The one active call (live, or in wrap-up).
    pub active: Option<Call>,
    /// Recent calls, newest first.
    pub recent: Vec<RecentCall>,
    /// The Voice SDK device.
    pub voice: VoiceState,
    pops: Vec<ScreenPop>,
}

impl Engine {
    fn live_call(&self) -> Option<&Call> {
        self.calls.active.as_ref().filter(|c| c.phase.is_live())
    }

    pub(crate) fn dial(&mut self, number: &str, contact: DialContact) -> Result<(), PhoneErrorCode> {
        if !self.session.signed_in() {
            return Err(PhoneErrorCode::NotSignedIn);
        }
        let Some(cfg) = self.config().cloned() else {
            return Err(PhoneErrorCode::NotReady);
        };
        if self.live_call().is_some() {
            return Err(PhoneErrorCode::InCall);
        }
        let e164 = normalize(number, self.default_region()).map_err(|_| PhoneErrorCode::InvalidNumber)?.e164;
        if !cfg.allowed_countries.is_empty() && !cfg.allowed_countries.iter().any(|c| c.eq_ignore_ascii_case(e164.main_region())) {
            return Err(PhoneErrorCode::CountryNotAllowed);
        }
        if self.calls.active.is_some() {
            // A new call ends the previous wrap-up as skipped; its log is still written.
            self.finish_wrap_up(None, None)?;
        }
        let id = self.rng().uuid();
        let to = e164.as_str().to_owned();
        let mut call = Call::outbound(id.clone(), to.clone(), contact, self.now());
        call.our_number = cfg.caller_ids.first().cloned();
        let needs_lookup = call.contact.name.is_none();
        // The names the voice webhook reads (real Twilio or the stand-in alike).
        let dial = DialParams {
            to: to.clone(),
            client_call_id: id.clone(),
            contact_id: call.contact.id.clone(),
            contact_name: call.contact.name.clone(),
            crm: call.contact.crm.clone(),
        };
        self.calls.active = Some(call);
        self.set_timer(TimerId::CallWatchdog, PLACING_TIMEOUT_MS);
        self.dirty_store();
        if self.calls.voice.initialized && self.calls.voice.token_expires_at_ms > self.now() + VOICE_TOKEN_MARGIN_MS {
            self.connect(dial);
        } else {
            self.calls.voice.connect_after_token = Some(dial);
            self.fetch_voice_token();
        }
        if needs_lookup {
            self.lookup_caller(id, &to);
        }
        self.sync_presence();
        Ok(())
    }

    fn started_event(&mut self) {
        if let Some(c) = self.calls.active.as_ref() {
            let r = c.as_ref();
            self.emit(PhoneEvent::CallStarted(r));
        }
    }

    /// `device.connect()`, watched: no word from the Device within
    /// [`VOICE_WATCHDOG_MS`] fails the call instead of leaving it placing.
    fn connect(&mut self, params: DialParams) {
        self.effect(Effect::Voice(VoiceCommand::Connect { params }));
        self.watch(Watch::Connect);
        self.started_event();
    }

    fn watch(&mut self, w: Watch) {
        self.calls.voice.watching = Some(w);
        self.set_timer(TimerId::VoiceWatchdog, VOICE_WATCHDOG_MS);
    }

    fn unwatch(&mut self, w: Watch) {
        if self.calls.voice.watching == Some(w) {
            self.calls.voice.watching = None;
            self.cancel_timer(TimerId::VoiceWatchdog);
        }
    }

    /// The Device said nothing in time: a hung `connect()` fails the call, a hung
    /// `register()` is an error and a retry.
    pub(crate) fn voice_watchdog(&mut self) {
        match self.calls.voice.watching.take() {
            Some(Watch::Connect) if self.live_call().is_some_and(|c| c.phase == Phase::Placing) => {
                self.stop_transport();
                self.step(Step::Ended(EndReason::Failed));
                self.fail(PhoneErrorCode::Unavailable, Some("The call did not connect. Try again.".into()));
            }
            Some(Watch::Register) => {
                self.calls.voice.register_sent = None;
                self.fail(PhoneErrorCode::Unavailable, None);
                self.register_failed();
            }
            Some(Watch::Connect) | None => {}
        }
    }

    fn register_failed(&mut self) {
        self.calls.voice.register_failures = self.calls.voice.register_failures.saturating_add(1);
        let random = self.rng().next_u64();
        let delay = backoff_ms(self.calls.voice.register_failures, random);
        self.set_timer(TimerId::VoiceRegister, delay);
        self.dirty_view();
    }

    /// Whether the Device should ring for incoming calls: signed in, configured, and
    /// the agent chose to be available.
    fn wants_registered(&self) -> bool {
        self.session.signed_in() && self.config().is_some() && self.presence.chosen == Presence::Available
    }

    /// Registers or unregisters the Device to match [`Self::wants_registered`].
    pub(crate) fn sync_registration(&mut self) {
        let want = self.wants_registered();
        let v = &self.calls.voice;
        if v.register_sent.is_some() {
            return; // its answer calls us again
        }
        if want && !v.registered {
            // A token that is short but still valid registers as it is (one capped by its
            // session's end cannot get longer: asking again would loop).
            if !v.initialized || v.token_expires_at_ms <= self.now() {
                if self.now().saturating_sub(v.token_asked_at_ms) >= VOICE_TOKEN_MIN_INTERVAL_MS || !v.initialized {
                    self.fetch_voice_token(); // registers once initialised
                }
                return;
            }
            self.calls.voice.register_sent = Some(true);
            self.effect(Effect::Voice(VoiceCommand::Register));
            self.watch(Watch::Register);
        } else if !want && v.registered && v.initialized {
            self.calls.voice.register_sent = Some(false);
            self.effect(Effect::Voice(VoiceCommand::Unregister));
        }
    }

    /// Stops the call's media (the agent hung up or declined, or a watchdog fired).
    fn stop_transport(&mut self) {
        let Some(c) = self.calls.active.as_ref() else {
            return;
        };
        let cmd = if c.phase == Phase::Incoming { VoiceCommand::Reject } else { VoiceCommand::Disconnect };
        self.effect(Effect::Voice(cmd));
    }

    pub(crate) fn hang_up(&mut self) -> Result<(), PhoneErrorCode> {
        let c = self.live_call().ok_or(PhoneErrorCode::NoCall)?;
        if c.phase == Phase::Incoming {
            return self.decline();
        }
        let reason = if c.answered_at_ms.is_some() { EndReason::Completed } else { EndReason::Canceled };
        self.stop_transport();
        self.step(Step::Ended(reason));
        Ok(())
    }

    pub(crate) fn answer(&mut self) -> Result<(), PhoneErrorCode> {
        self.live_call().filter(|c| c.phase == Phase::Incoming).ok_or(PhoneErrorCode::NoCall)?;
        if let Some(c) = self.calls.active.as_mut() {
            c.accepting = true;
        }
        self.effect(Effect::Voice(VoiceCommand::Accept));
        Ok(())
    }

    pub(crate) fn decline(&mut self) -> Result<(), PhoneErrorCode> {
        if !self.live_call().is_some_and(|c| c.phase == Phase::Incoming) {
            return Err(PhoneErrorCode::NoCall);
        }
        self.stop_transport();
        self.step(Step::Ended(EndReason::Declined));
        Ok(())
    }

    pub(crate) fn mute(&mut self, muted: bool) -> Result<(), PhoneErrorCode> {
        let c = self
            .calls
            .active
            .as_mut()
            .filter(|c| matches!(c.phase, Phase::Ringing | Phase::InCall | Phase::Placing))
            .ok_or(PhoneErrorCode::NoCall)?;
        c.muted = muted;
        self.effect(Effect::Voice(VoiceCommand::Mute { muted }));
        self.dirty_view();
        Ok(())
    }

    pub(crate) fn send_digits(&mut self, digits: &str) -> Result<(), PhoneErrorCode> {
        let c = self.calls.active.as_mut().filter(|c| c.phase == Phase::InCall).ok_or(PhoneErrorCode::NoCall)?;
        if !valid_dtmf(digits) {
            return Err(PhoneErrorCode::InvalidNumber);
        }
        c.digits.push_str(digits);
        if c.digits.len() > 24 {
            let cut = c.digits.len() - 24;
            c.digits.drain(..cut);
        }
        self.effect(Effect::Voice(VoiceCommand::SendDigits { digits: digits.to_owned() }));
        self.dirty_view();
        Ok(())
    }

    /// Ends the wrap-up: queues the call's log (with notes and disposition when saved)
    /// and moves the call to the recent list. A second save finds no call: saved once.
    pub(crate) fn finish_wrap_up(&mut self, notes: Option<String>, disposition: Option<String>) -> Result<(), PhoneErrorCode> {
        if !self.calls.active.as_ref().is_some_and(|c| c.phase == Phase::WrapUp) {
            return Err(PhoneErrorCode::NoCall);
        }
        let Some(agent_id) = self.agent_id() else {
            return Err(PhoneErrorCode::NotSignedIn);
        };
        let Some(mut call) = self.calls.active.take() else {
            return Err(PhoneErrorCode::NoCall);
        };
        call.phase = Phase::Ended;
        let notes = notes.map(|n| cut(n.trim(), MAX_NOTES_BYTES)).filter(|n| !n.is_empty());
        let disposition = disposition.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
        let (from, to) = match call.direction {
            Direction::Outbound => (call.our_number.clone().unwrap_or_else(|| call.number.clone()), call.number.clone()),
            Direction::Inbound => (call.number.clone(), call.our_number.clone().unwrap_or_else(|| call.number.clone())),
        };
        let now = self.now();
        let body = CallLogUpsert {
            direction: call.direction,
            from,
            to,
            contact_id: call.contact.id.clone(),
            contact_name: call.contact.name.clone(),
            crm: call.contact.crm.clone(),
            call_sid: call.call_sid.clone(),
            status: call.end_reason.map(|r| r.log_status().to_owned()),
            started_at: i64::try_from(call.started_at_ms).unwrap_or(i64::MAX),
            answered_at: call.answered_at_ms.and_then(|a| i64::try_from(a).ok()),
            ended_at: call.ended_at_ms.and_then(|a| i64::try_from(a).ok()),
            duration_seconds: call.answered_at_ms.map(|_| call.duration_s(now)),
            notes,
            disposition,
        };
        push_recent(&mut self.calls.recent, RecentCall::of(&call, now));
        self.enqueue_log(LogWrite { agent_id, call_id: call.id.clone(), body });
        self.sync_presence();
        self.dirty_store();
        Ok(())
    }

    /// Applies `step` to the active call and does what the change requires.
    pub(crate) fn step(&mut self, step: Step) {
        let now = self.now();
        let Some(call) = self.calls.active.as_mut() else {
            return;
        };
        let Some(change) = call.apply(step, now) else {
            return;
        };
        let r = call.as_ref();
        match change {
            Change::Ringing => {
                if call.direction == Direction::Outbound {
                    self.set_timer(TimerId::CallWatchdog, RINGING_TIMEOUT_MS);
                }
                self.emit(PhoneEvent::CallRinging(r));
            }
            Change::Answered => {
                self.cancel_timer(TimerId::CallWatchdog);
                self.set_timer(TimerId::CallTick, 1_000);
                self.emit(PhoneEvent::CallAnswered(r));
            }
            Change::Ended(reason) => {
                let duration_sec = call.duration_s(now);
                let done = call.phase == Phase::Ended;
                let entry = RecentCall::of(call, now);
                self.cancel_timer(TimerId::CallWatchdog);
                self.cancel_timer(TimerId::CallTick);
                self.emit(PhoneEvent::CallEnded { call: r, duration_sec, end_reason: reason });
                // The recent list shows the call at once; the wrap-up may follow.
                push_recent(&mut self.calls.recent, entry);
                if done {
                    // Missed or declined: nothing to wrap up; the server logged it.
                    self.calls.active = None;
                }
                self.sync_presence();
                if !done && !self.wrap_up {
                    // The host asked for no wrap-up: skipped at once, as the agent would.
                    let _ = self.finish_wrap_up(None, None);
                }
            }
        }
        self.dirty_store();
    }

    pub(crate) fn call_watchdog(&mut self) {
        let Some(c) = self.live_call() else { return };
        let (step, code) = match (c.phase, c.direction) {
            (Phase::Placing, _) => (Step::Ended(EndReason::Failed), Some(PhoneErrorCode::Unavailable)),
            (Phase::Ringing, Direction::Outbound) => (Step::Ended(EndReason::NoAnswer), None),
            (Phase::Incoming, _) => (Step::Ended(EndReason::Missed), None),
            _ => return,
        };
        self.stop_transport();
        self.step(step);
        if let Some(code) = code {
            self.fail(code, None);
        }
    }

    pub(crate) fn call_tick(&mut self) {
        if self.live_call().is_some_and(|c| c.phase == Phase::InCall) {
            self.dirty_view();
            self.set_timer(TimerId::CallTick, 1_000);
        }
    }

    /// A server `call_status`, `log_updated` or re-read log about the active call.
    pub(crate) fn on_call_status(&mut self, call_id: Option<&str>, call_sid: Option<&str>, status: &str) {
        let answered = Step::from_status(status, Direction::Inbound, false) == Some(Step::Answered);
        let Some(c) = self.calls.active.as_mut().filter(|c| c.is(call_id, call_sid)) else {
            // A call that stopped ringing here as missed was answered on another of the
            // agent's endpoints (its Device's `cancel` came first).
            if let Some(r) =
                self.calls.recent.iter_mut().find(|r| answered && call_id == Some(r.id.as_str()) && r.end_reason == Some(EndReason::Missed))
            {
                r.end_reason = Some(EndReason::Canceled);
                self.dirty_store();
            }
            return;
        };
        if c.call_sid.is_none() {
            c.call_sid = call_sid.map(str::to_owned);
        }
        if answered && c.phase == Phase::Incoming && !c.accepting {
            // Not answered here: another endpoint took it (or voicemail did: its log then
            // carries a recording). This Device's own `cancel` ends the ringing.
            c.answered_elsewhere = true;
            return;
        }
        if let Some(step) = Step::from_status(status, c.direction, c.answered_at_ms.is_some()) {
            self.step(step);
        }
    }

    pub(crate) fn on_log_updated(&mut self, log: CallLog) {
        let ours = self.calls.active.as_ref().is_some_and(|c| c.is(Some(&log.id), log.call_sid.as_deref()));
        if ours {
            self.on_call_status(Some(&log.id), log.call_sid.as_deref(), &log.status);
            return;
        }
        if let Some(r) = self.calls.recent.iter_mut().find(|r| r.id == log.id) {
            let mut fresh = RecentCall::of_log(&log);
            let stopped_ringing_here =
                r.direction == Direction::Inbound && matches!(r.end_reason, Some(EndReason::Missed | EndReason::Canceled));
            if stopped_ringing_here {
                if log.recording_sid.is_some() {
                    // The caller left a voicemail: for the agent it is a missed call (the
                    // recording waits in the inbox), whatever the log's talk time.
                    fresh.end_reason = Some(EndReason::Missed);
                    fresh.duration_s = 0;
                } else if fresh.end_reason.is_none() && (log.answered_at.is_some() || log.status == "in-progress") {
                    // The log says answered: another endpoint of the agent has it (until its
                    // final status says how it ended).
                    fresh.end_reason = Some(EndReason::Canceled);
                }
            }
            let name = r.contact_name.take();
            *r = RecentCall { contact_name: fresh.contact_name.clone().or(name), ..fresh };
            self.dirty_store();
        }
    }

    pub(crate) fn on_screen_pop(&mut self, call_id: String, call_sid: String, from: String, to: String, contact: Option<Contact>) {
        // Name a call that is already ringing here (the SDK may have been first).
        if let Some(c) = self.calls.active.as_mut().filter(|c| {
            c.direction == Direction::Inbound && c.phase.is_live() && (c.call_sid.as_deref() == Some(&call_sid) || c.number == from)
        }) {
            c.id = call_id.clone();
            c.our_number = Some(to.clone());
            if let (None, Some(k)) = (&c.contact.name, &contact) {
                c.contact = DialContact::from(k);
            }
            self.dirty_store();
        }
        self.calls.pops.retain(|p| p.call_sid != call_sid);
        self.calls.pops.push(ScreenPop { call_id, call_sid, from, to, contact });
        if self.calls.pops.len() > POPS_MAX {
            self.calls.pops.remove(0);
        }
    }

    /// A new incoming call (Voice SDK `incoming`, or the sandbox ringing our identity).
    /// `call_id`: the log id the server put on the `<Client>` (None from an older server:
    /// the screen pop names the call when it comes).
    fn incoming(&mut self, call_sid: String, from: String, call_id: Option<String>) {
        if self.calls.active.as_ref().is_some_and(|c| c.phase.is_live()) {
            return; // one call at a time: the other endpoints or voicemail take it
        }
        if self.calls.active.is_some() && self.finish_wrap_up(None, None).is_err() {
            return;
        }
        let pop = self.calls.pops.iter().rev().find(|p| p.call_sid == call_sid || p.from == from).cloned();
        let number = normalize(&from, self.default_region()).map(|n| n.e164.as_str().to_owned()).unwrap_or(from);
        let id = match (&pop, call_id) {
            (Some(p), _) => p.call_id.clone(),
            (None, Some(id)) if !id.is_empty() => id,
            (None, _) => self.rng().uuid(),
        };
        let mut call = Call::inbound(id.clone(), number.clone(), call_sid, self.now());
        if let Some(p) = &pop {
            call.our_number = Some(p.to.clone());
            if let Some(k) = &p.contact {
                call.contact = DialContact::from(k);
            }
        }
        let named = call.contact.name.is_some();
        self.emit(PhoneEvent::CallIncoming {
            call_id: id.clone(),
            number: number.clone(),
            contact_id: call.contact.id.clone(),
            contact_name: call.contact.name.clone(),
        });
        self.calls.active = Some(call);
        self.set_timer(TimerId::CallWatchdog, INCOMING_TIMEOUT_MS);
        if !named {
            self.lookup_caller(id, &number);
        }
        self.sync_presence();
        self.dirty_store();
    }

    pub(crate) fn on_voice(&mut self, ev: VoiceEvent) {
        let voice_call = self.live_call().is_some();
        if voice_call
            && !matches!(
                ev,
                VoiceEvent::Registered
                    | VoiceEvent::Unregistered
                    | VoiceEvent::TokenWillExpire
                    | VoiceEvent::Incoming { .. }
                    | VoiceEvent::State { .. }
            )
        {
            self.unwatch(Watch::Connect);
        }
        match ev {
            VoiceEvent::Registered => {
                self.calls.voice.registered = true;
                self.calls.voice.register_failures = 0;
                if self.calls.voice.register_sent == Some(true) {
                    self.calls.voice.register_sent = None;
                }
                self.unwatch(Watch::Register);
                self.sync_registration();
                self.dirty_view();
            }
            VoiceEvent::Unregistered => {
                self.calls.voice.registered = false;
                if self.calls.voice.register_sent == Some(false) {
                    self.calls.voice.register_sent = None;
                }
                self.sync_registration();
                self.dirty_view();
            }
            VoiceEvent::Incoming { call_sid, from, call_id } => self.incoming(call_sid, from, call_id),
            VoiceEvent::Ringing { .. } | VoiceEvent::Accept { .. } if !voice_call => {}
            VoiceEvent::Ringing { call_sid } => {
                self.adopt_sid(call_sid);
                self.step(Step::Ringing);
            }
            VoiceEvent::Accept { call_sid } => {
                self.adopt_sid(call_sid);
                self.step(Step::Answered);
            }
            VoiceEvent::Disconnect if voice_call => self.step(Step::Ended(EndReason::Completed)),
            VoiceEvent::Cancel if voice_call => {
                // An incoming call stops ringing: missed, unless the server already said
                // another endpoint answered it ("Answered elsewhere").
                let missed = self.calls.active.as_ref().is_some_and(|c| c.direction == Direction::Inbound && !c.answered_elsewhere);
                self.step(Step::Ended(if missed { EndReason::Missed } else { EndReason::Canceled }));
            }
            VoiceEvent::Reject if voice_call => self.step(Step::Ended(EndReason::Declined)),
            VoiceEvent::Disconnect | VoiceEvent::Cancel | VoiceEvent::Reject => {}
            VoiceEvent::Error { code: twilio, .. } => {
                let code = twilio.map_or(PhoneErrorCode::Unavailable, PhoneErrorCode::of_twilio);
                if twilio.is_some_and(PhoneErrorCode::twilio_token_error) {
                    // The Voice token was refused or ran out: the Device gets a new one
                    // (not more often than every few seconds: a token capped by its
                    // session's end would be refused again at once).
                    self.calls.voice.token_expires_at_ms = 0;
                    if self.now().saturating_sub(self.calls.voice.token_asked_at_ms) >= VOICE_TOKEN_MIN_INTERVAL_MS {
                        self.fetch_voice_token();
                    }
                }
                let hint = twilio
                    .filter(|c| PhoneErrorCode::twilio_microphone_error(*c))
                    .map(|_| "MPT Phone cannot use the microphone. Allow it in MPT Phone's options.".to_owned());
                let connecting = self.live_call().is_some_and(|c| matches!(c.phase, Phase::Placing | Phase::Ringing));
                if connecting {
                    self.step(Step::Ended(EndReason::Failed));
                    self.fail(code, hint);
                } else if self.calls.voice.register_sent == Some(true) {
                    // `register()` failed: said once, retried with backoff.
                    self.calls.voice.register_sent = None;
                    self.unwatch(Watch::Register);
                    self.fail(code, hint);
                    self.register_failed();
                } else if hint.is_some() {
                    self.fail(code, hint);
                }
            }
            VoiceEvent::Warning { name } => self.with_voice_call(|c| {
                if !c.warnings.contains(&name) {
                    c.warnings.push(name);
                }
            }),
            VoiceEvent::WarningCleared { name } => self.with_voice_call(|c| c.warnings.retain(|w| *w != name)),
            VoiceEvent::Reconnecting => self.with_voice_call(|c| c.reconnecting = true),
            VoiceEvent::Reconnected => self.with_voice_call(|c| c.reconnecting = false),
            VoiceEvent::Muted { muted } => self.with_voice_call(|c| c.muted = muted),
            VoiceEvent::TokenWillExpire => {
                if self.now().saturating_sub(self.calls.voice.token_asked_at_ms) >= VOICE_TOKEN_MIN_INTERVAL_MS {
                    self.fetch_voice_token();
                }
            }
            VoiceEvent::State { registered, call } => {
                // A call the engine restored but the Device no longer has ended while
                // nobody listened (one still being placed may not have reached it yet).
                let lost = self.live_call().is_some_and(|c| matches!(c.phase, Phase::InCall | Phase::Ringing | Phase::Incoming));
                if lost && !call {
                    let c = self.calls.active.as_ref();
                    let reason = match c.map(|c| (c.phase, c.direction)) {
                        Some((Phase::InCall, _)) => EndReason::Completed,
                        Some((Phase::Incoming, _)) => EndReason::Missed,
                        _ => EndReason::Canceled,
                    };
                    self.step(Step::Ended(reason));
                }
                if registered {
                    self.on_voice(VoiceEvent::Registered);
                }
            }
        }
    }

    fn with_voice_call(&mut self, f: impl FnOnce(&mut Call)) {
        if let Some(c) = self.calls.active.as_mut().filter(|c| c.phase.is_live()) {
            f(c);
            self.dirty_view();
        }
    }

    fn adopt_sid(&mut self, sid: Option<String>) {
        if let Some(c) = self.calls.active.as_mut().filter(|c| c.call_sid.is_none()) {
            c.call_sid = sid;
        }
    }

    /// Asks for a Voice access token (for `Init`, `UpdateToken` or a waiting `Connect`).
    pub(crate) fn fetch_voice_token(&mut self) {
        if self.calls.voice.token_in_flight || !self.session.signed_in() {
            return;
        }
        self.calls.voice.token_in_flight = true;
        self.calls.voice.token_asked_at_ms = self.now();
        self.request(Purpose::VoiceToken, Method::Post, "/api/twilio/token".into(), None, true);
    }

    pub(crate) fn on_voice_token(&mut self, reply: Reply) {
        self.calls.voice.token_in_flight = false;
        let Some(t) = reply.json::<TwilioTokenResponse>().filter(|_| reply.ok()) else {
            if let Some(dial) = self.calls.voice.connect_after_token.take() {
                if self.calls.active.as_ref().is_some_and(|c| c.id == dial.client_call_id) {
                    self.step(Step::Ended(EndReason::Failed));
                    self.fail(reply.code(), None);
                }
            } else if reply.transient() {
                self.set_timer(TimerId::VoiceToken, 30_000);
            }
            return;
        };
        let token = t.token;
        if self.calls.voice.initialized {
            self.effect(Effect::Voice(VoiceCommand::UpdateToken { token }));
        } else {
            self.calls.voice.initialized = true;
            let signal = t.sandbox.then(|| SANDBOX_SIGNAL_PATH.to_owned());
            self.effect(Effect::Voice(VoiceCommand::Init { token, signal }));
        }
        let expires = u64::try_from(t.expires_at).unwrap_or(0);
        self.calls.voice.token_expires_at_ms = expires;
        // A token that ends with its session (an embed token's, capped by the server) is
        // not renewed on a timer: the host's next auth token brings a longer one.
        if expires > self.now() + VOICE_TOKEN_MIN_INTERVAL_MS * 3 {
            let margin = VOICE_TOKEN_MARGIN_MS.min((expires - self.now()) / 4);
            self.set_timer(TimerId::VoiceToken, expires - self.now() - margin);
        }
        if let Some(dial) = self.calls.voice.connect_after_token.take() {
            if self.calls.active.as_ref().is_some_and(|c| c.id == dial.client_call_id && c.phase.is_live()) {
                self.connect(dial);
            }
        }
        self.sync_registration();
    }

    /// Signing out ends any call and releases the Voice device.
    pub(crate) fn end_calls_for_sign_out(&mut self) {
        if self.calls.active.as_ref().is_some_and(|c| c.phase.is_live()) {
            self.effect(Effect::Voice(VoiceCommand::Disconnect));
        }
        if self.calls.voice.initialized {
            self.effect(Effect::Voice(VoiceCommand::Destroy));
        }
        self.calls.active = None;
        self.calls.voice = VoiceState::default();
        self.calls.pops.clear();
        for t in [TimerId::CallWatchdog, TimerId::CallTick, TimerId::VoiceToken, TimerId::VoiceWatchdog, TimerId::VoiceRegister] {
            self.cancel_timer(t);
        }
    }

    /// After a restart with a live call: its timers again, and its state re-read from the
    /// server (events missed while stopped may be gone from the replay).
    pub(crate) fn resume_call(&mut self) {
        let Some(c) = self.live_call() else { return };
        let (id, phase, direction) = (c.id.clone(), c.phase, c.direction);
        match phase {
            Phase::InCall => self.set_timer(TimerId::CallTick, 1_000),
            Phase::Placing => self.set_timer(TimerId::CallWatchdog, PLACING_TIMEOUT_MS),
            Phase::Ringing if direction == Direction::Outbound => self.set_timer(TimerId::CallWatchdog, RINGING_TIMEOUT_MS),
            Phase::Incoming => self.set_timer(TimerId::CallWatchdog, INCOMING_TIMEOUT_MS),
            _ => {}
        }
        let path = format!("/api/calls/{}", encode(&id));
        self.request(Purpose::CallGet { call_id: id }, Method::Get, path, None, true);
    }

    /// Reads the agent's recent calls from the server.
    pub(crate) fn load_recent(&mut self) {
        let Some(agent) = self.agent_id() else { return };
        let path = format!("/api/calls?limit=20&agent_id={}", encode(&agent));
        self.request(Purpose::RecentList, Method::Get, path, None, true);
    }

    /// `hello {resync: true}`: events were lost, read the calls again.
    pub(crate) fn resync_calls(&mut self) {
        self.load_recent();
        if let Some(id) = self.live_call().map(|c| c.id.clone()) {
            let path = format!("/api/calls/{}", encode(&id));
            self.request(Purpose::CallGet { call_id: id }, Method::Get, path, None, true);
        }
    }

    pub(crate) fn on_recent_list(&mut self, reply: Reply) {
        let Some(page) = reply.json::<CallLogPage>().filter(|_| reply.ok()) else {
            return;
        };
        let active = self.calls.active.as_ref().map(|c| c.id.clone());
        self.calls.recent = page.items.iter().filter(|l| Some(&l.id) != active.as_ref()).map(RecentCall::of_log).collect();
        self.calls.recent.truncate(super::calls::RECENT_MAX);
        self.dirty_store();
    }

    pub(crate) fn on_call_get(&mut self, call_id: &str, reply: Reply) {
        if let Some(log) = reply.json::<CallLog>().filter(|l| reply.ok() && l.id == call_id) {
            self.on_log_updated(log);
        }
    }
}

/// `s` cut to at most `max` bytes on a character boundary.
fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}
