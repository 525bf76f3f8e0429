//! The agent's session: sign-in, one refresh at a time, expiry timer, sign-out and
//! revocation.
//!
//! Refresh tokens rotate and are single use, so two refreshes racing would make the
//! server see a reused token and revoke the session. Hence *single flight*: while one
//! refresh is out, every request that needs a token (or got a 401) is parked and sent
//! again, once, with the new token. A refresh the server rejects, a second 401 after a
//! refresh, or the socket's close code 4401 all mean the session is gone: sign out and
//! tell the agent.
//!
//! An *embed session* (the embeddable widget, `docs/embed.md`) starts from a token the
//! host page hands over ([`PhoneCommand::SetAuthToken`]) and has no refresh token: where a
//! sign-in session would refresh, it emits `token-expiring` and waits for the host's next
//! token; a 401 or the token's expiry signs it out. It is never persisted.
//!
//! [`PhoneCommand::SetAuthToken`]: super::PhoneCommand::SetAuthToken

use crate::api::{AgentInfo, AuthResponse, LoginRequest, RefreshRequest};
use crate::error_code::PhoneErrorCode;

use super::stored::StoredSession;
use super::{to_json, Engine, Method, Pending, PhoneEvent, Purpose, Reply, TimerId};

/// Refresh at most this long before the access token expires.
const REFRESH_MARGIN_MS: u64 = 60_000;
/// A token this close to expiry is refreshed before use rather than sent.
const EXPIRY_SLACK_MS: u64 = 10_000;
/// Retry a refresh that could not reach the server after about this long.
const REFRESH_RETRY_MS: u64 = 10_000;

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    access_token: String,
    expires_at_ms: u64,
    refresh_token: String,
    /// The agent.
    pub agent: AgentInfo,
}

impl Session {
    /// An embed session: no refresh token, renewed by the host.
    fn is_embed(&self) -> bool {
        self.refresh_token.is_empty()
    }
}

/// The expiry (Unix ms) of one of the server's JWTs, read from its payload's `exp`
/// without verifying it (the server verifies; the phone only needs to know when to ask
/// for the next one).
pub fn jwt_expiry_ms(token: &str) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Exp {
        exp: u64,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = base64url_decode(payload)?;
    serde_json::from_slice::<Exp>(&bytes).ok().map(|e| e.exp.saturating_mul(1000))
}

/// Base64url without padding (JWT segments); `None` on any other character.
fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Session bookkeeping.
#[derive(Debug, Default)]
pub struct SessionState {
    session: Option<Session>,
    refreshing: bool,
    parked: Vec<Pending>,
    signing_in: bool,
}

impl SessionState {
    /// True when an agent is signed in.
    pub fn signed_in(&self) -> bool {
        self.session.is_some()
    }

    /// The signed-in agent.
    pub fn agent(&self) -> Option<&AgentInfo> {
        self.session.as_ref().map(|s| &s.agent)
    }

    /// A sign-in request is out.
    pub fn signing_in(&self) -> bool {
        self.signing_in
    }

    pub(crate) fn stored(&self) -> Option<StoredSession> {
        // An embed session lives in the host page's memory only.
        self.session.as_ref().filter(|s| !s.is_embed()).map(|s| StoredSession {
            access_token: s.access_token.clone(),
            access_expires_at_ms: s.expires_at_ms,
            refresh_token: s.refresh_token.clone(),
            agent: s.agent.clone(),
        })
    }
}

impl Engine {
    pub(crate) fn sign_in(&mut self, email: String, password: String, tenant: Option<String>) -> Result<(), PhoneErrorCode> {
        let email = email.trim().to_owned();
        if email.is_empty() || password.is_empty() {
            return Err(PhoneErrorCode::NotSignedIn);
        }
        if self.session.signing_in {
            return Ok(());
        }
        if self.session.signed_in() {
            self.sign_out_local(None);
        }
        self.session.signing_in = true;
        let body = to_json(&LoginRequest { email, password, tenant: tenant.filter(|t| !t.trim().is_empty()) });
        self.request(Purpose::Login, Method::Post, "/api/auth/login".into(), Some(body), false);
        self.dirty_view();
        Ok(())
    }

    pub(crate) fn on_login(&mut self, reply: Reply) {
        self.session.signing_in = false;
        self.dirty_view();
        match reply.json::<AuthResponse>().filter(|_| reply.ok()) {
            Some(auth) => {
                self.install(auth);
                self.start_session();
            }
            None => {
                let code = reply.code();
                // A wrong password is a 401 too; the server's message says which it was.
                let message = (reply.status != 0 && code != PhoneErrorCode::Internal).then(|| reply.message()).flatten();
                self.fail(code, message);
            }
        }
    }

    /// Signs in with an embed token, or renews the current embed session's token.
    pub(crate) fn set_auth_token(&mut self, token: String) -> Result<(), PhoneErrorCode> {
        let token = token.trim().to_owned();
        let expires_at_ms = jwt_expiry_ms(&token).filter(|exp| *exp > self.now()).ok_or(PhoneErrorCode::Unauthorized)?;
        if let Some(s) = self.session.session.as_mut() {
            if !s.is_embed() {
                // A signed-in phone is not handed over to a host page's token.
                return Err(PhoneErrorCode::NotAllowed);
            }
            // Renewal: the server checks the new token is the same agent's on its first use.
            s.access_token = token;
            s.expires_at_ms = expires_at_ms;
            self.arm_refresh(expires_at_ms - self.now());
            // The event socket belongs to the old token's session, which the server ends
            // when that token expires: move it to the new one now (it resumes from the
            // last event id, so nothing is missed).
            self.disconnect_socket();
            self.connect_socket();
            // The Device's Voice token names the old session (the voice webhook refuses
            // calls of an ended one): it gets one of the new session.
            if self.calls.voice.initialized {
                self.calls.voice.token_in_flight = false;
                self.fetch_voice_token();
            }
            self.dirty_view();
            return Ok(());
        }
        if self.session.signing_in {
            return Err(PhoneErrorCode::NotReady);
        }
        self.session.signing_in = true;
        let p = Pending {
            purpose: Purpose::EmbedSignIn { token: token.clone(), expires_at_ms },
            method: Method::Get,
            path: "/api/me".into(),
            body: None,
            authed: false,
            retried: false,
        };
        self.transmit(p, Some(token));
        self.dirty_view();
        Ok(())
    }

    pub(crate) fn on_embed_sign_in(&mut self, token: String, expires_at_ms: u64, reply: Reply) {
        self.session.signing_in = false;
        self.dirty_view();
        let Some(agent) = reply.json::<AgentInfo>().filter(|_| reply.ok()) else {
            self.fail(reply.code(), None);
            return;
        };
        self.session.session = Some(Session { access_token: token, expires_at_ms, refresh_token: String::new(), agent });
        self.arm_refresh(expires_at_ms.saturating_sub(self.now()));
        self.dirty_store();
        self.start_session();
    }

    fn install(&mut self, auth: AuthResponse) {
        let ttl_ms = auth.expires_in.saturating_mul(1000);
        self.session.session = Some(Session {
            access_token: auth.access_token,
            expires_at_ms: self.now() + ttl_ms,
            refresh_token: auth.refresh_token,
            agent: auth.agent,
        });
        self.arm_refresh(ttl_ms);
        self.dirty_store();
    }

    fn arm_refresh(&mut self, ttl_ms: u64) {
        let margin = REFRESH_MARGIN_MS.min(ttl_ms / 4);
        self.set_timer(TimerId::SessionRefresh, ttl_ms.saturating_sub(margin));
    }

    pub(crate) fn restore_session(&mut self, s: StoredSession) {
        let ttl_ms = s.access_expires_at_ms.saturating_sub(self.now());
        self.session.session = Some(Session {
            access_token: s.access_token,
            expires_at_ms: s.access_expires_at_ms,
            refresh_token: s.refresh_token,
            agent: s.agent,
        });
        self.arm_refresh(ttl_ms);
        self.start_session();
    }

    /// Everything a fresh session needs: config, live events, queued writes, presence.
    fn start_session(&mut self) {
        self.load_config();
        self.connect_socket();
        self.flush_outbox();
        self.sync_presence();
        self.load_recent();
    }

    pub(crate) fn sign_out(&mut self) -> Result<(), PhoneErrorCode> {
        let Some(s) = self.session.session.as_ref() else {
            return Err(PhoneErrorCode::NotSignedIn);
        };
        let embed = s.is_embed();
        let body = to_json(&RefreshRequest { refresh_token: s.refresh_token.clone() });
        self.sign_out_local(None);
        if !embed {
            // Best effort: revoke the refresh token server-side.
            self.request(Purpose::Logout, Method::Post, "/api/auth/logout".into(), Some(body), false);
        }
        Ok(())
    }

    /// Forgets the session and everything tied to it; `reason` is shown when the server
    /// ended it (revocation, expiry).
    pub(crate) fn sign_out_local(&mut self, reason: Option<PhoneErrorCode>) {
        if !self.session.signed_in() {
            return;
        }
        self.end_calls_for_sign_out();
        self.disconnect_socket();
        for t in [TimerId::SessionRefresh, TimerId::OutboxRetry, TimerId::PresenceRetry] {
            self.cancel_timer(t);
        }
        self.session = SessionState::default();
        self.pending.clear();
        self.clear_config();
        self.outbox.reset();
        self.presence.reset();
        self.contacts = Default::default();
        self.proposal = None;
        self.socket.last_event_id = None;
        self.calls.recent.clear();
        self.dirty_store();
        if let Some(code) = reason {
            self.fail(code, None);
        }
    }

    /// Sends `p` with the access token, or parks it until a refresh (started if needed).
    pub(crate) fn send_authed(&mut self, p: Pending) {
        let Some(s) = self.session.session.as_ref() else {
            return;
        };
        if s.is_embed() {
            // Nothing to refresh with: use the token while it lasts.
            if self.now() >= s.expires_at_ms {
                self.sign_out_local(Some(PhoneErrorCode::Unauthorized));
                return;
            }
            let token = s.access_token.clone();
            self.transmit(p, Some(token));
            return;
        }
        if self.session.refreshing {
            self.session.parked.push(p);
            return;
        }
        if self.now() + EXPIRY_SLACK_MS >= s.expires_at_ms {
            self.session.parked.push(p);
            self.refresh_now();
            return;
        }
        let token = s.access_token.clone();
        self.transmit(p, Some(token));
    }

    /// A 401 on an authed request: refresh (once per request) and send it again; a 401
    /// with a fresh token means the session is gone.
    pub(crate) fn retry_after_refresh(&mut self, mut p: Pending) {
        if p.retried || self.session.session.as_ref().is_some_and(Session::is_embed) {
            self.sign_out_local(Some(PhoneErrorCode::Unauthorized));
            return;
        }
        p.retried = true;
        self.session.parked.push(p);
        self.refresh_now();
    }

    /// Starts a refresh unless one is already out.
    pub(crate) fn refresh_now(&mut self) {
        let Some(s) = self.session.session.as_ref() else {
            return;
        };
        if s.is_embed() {
            // Ask the host for the next token; at expiry, the session is over.
            let left_ms = s.expires_at_ms.saturating_sub(self.now());
            if left_ms == 0 {
                self.sign_out_local(Some(PhoneErrorCode::Unauthorized));
                return;
            }
            self.emit(PhoneEvent::TokenExpiring { expires_in_sec: left_ms.div_ceil(1000) });
            self.set_timer(TimerId::SessionRefresh, left_ms);
            return;
        }
        if self.session.refreshing {
            return;
        }
        self.session.refreshing = true;
        let body = to_json(&RefreshRequest { refresh_token: s.refresh_token.clone() });
        let p = Pending {
            purpose: Purpose::Refresh,
            method: Method::Post,
            path: "/api/auth/refresh".into(),
            body: Some(body),
            authed: false,
            retried: false,
        };
        self.transmit(p, None);
    }

    pub(crate) fn on_refresh(&mut self, reply: Reply) {
        self.session.refreshing = false;
        if let Some(auth) = reply.json::<AuthResponse>().filter(|_| reply.ok()) {
            self.install(auth);
            let token = self.session.session.as_ref().map(|s| s.access_token.clone());
            for p in std::mem::take(&mut self.session.parked) {
                self.transmit(p, token.clone());
            }
            return;
        }
        if !reply.transient() {
            // The refresh token was rejected (expired, reused, revoked).
            self.sign_out_local(Some(PhoneErrorCode::Unauthorized));
            return;
        }
        let jitter = self.rng().below(REFRESH_RETRY_MS);
        self.set_timer(TimerId::SessionRefresh, REFRESH_RETRY_MS / 2 + jitter);
        let parked = std::mem::take(&mut self.session.parked);
        let usable = self.session.session.as_ref().filter(|s| self.now() < s.expires_at_ms).map(|s| s.access_token.clone());
        for p in parked {
            match &usable {
                // The old token still works for a little while.
                Some(t) if !p.retried => self.transmit(p, Some(t.clone())),
                _ => self.dispatch(p.purpose, reply.clone()),
            }
        }
    }

    /// The signed-in agent's id.
    pub(crate) fn agent_id(&self) -> Option<String> {
        self.session.agent().map(|a| a.id.clone())
    }
}
