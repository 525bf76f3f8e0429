//! Sign-in sessions and their end.
//!
//! A *session* is what one sign-in started: a refresh family (`fam…`), or an API key
//! (`key…`) for a CRM backend. Every access token names its family (`fam` claim), every
//! event-socket ticket and socket its session, so that ending a session ends everything
//! it opened:
//! - sign-out revokes the family; a disabled agent loses every family; a revoked API key
//!   is gone; a family also ends [`Config::session_max_days`] after its sign-in, however
//!   often it was refreshed (refresh tokens alone slid forever);
//! - every authenticated request asks [`Sessions::is_live`] (answers cached for one
//!   second, and dropped at once when this process ends a session), so a revoked session
//!   gets 401 at once here and within a second on other processes;
//! - live sockets hear [`Ended`] and close with 4401; each also re-checks at its
//!   heartbeat, which covers sessions ended by another process or by time.
//!
//! Refresh rotation is single use with reuse detection (a replayed, already-rotated token
//! revokes its family), except for a race: a refresh that loses to another refresh of the
//! same token within [`RACE_GRACE_MS`] gets the same successor instead (an agent with two
//! windows refreshing at once used to be signed out).
//!
//! [`Config::session_max_days`]: crate::config::Config::session_max_days

use crate::auth::{load_agent, mint_access};
use crate::crypto::{new_id, random_token, sha256_hex};
use crate::db::now_ms;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use mpt_core::api::{AgentInfo, AuthResponse};
use sqlx::Row;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::time::Duration;
use std::time::Instant;
use tokio::sync::broadcast;

/// A refresh token unused for this long expires (its family with it).
pub const REFRESH_IDLE_MS: i64 = 14 * 24 * 3600 * 1000;
/// A refresh that loses a race to another refresh of the same token this recently gets
/// the same successor.
pub const RACE_GRACE_MS: i64 = 10_000;
/// How long a live/ended answer is cached (other processes' revocations take at most this).
const CHECK_TTL: Duration = Duration::from_secs(1);

/// What one sign-in opened.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SessionRef {
    /// A refresh family (agent sign-in).
    Family(String),
    /// An API key (CRM backend).
    ApiKey(String),
    /// An embed token used through a publishable widget key (`docs/embed.md`): live while
    /// both are.
    Embed {
        /// The embed token's id (`emb…`).
        token: String,
        /// The widget key's id (`wk…`) the host page presented with it.
        widget_key: String,
    },
}

impl SessionRef {
    /// Stored form (`fam…`, `key:key…` or `emb:<token>:<widget key>`).
    pub fn stored(&self) -> String {
        match self {
            SessionRef::Family(f) => f.clone(),
            SessionRef::ApiKey(k) => format!("key:{k}"),
            SessionRef::Embed { token, widget_key } => format!("emb:{token}:{widget_key}"),
        }
    }

    /// Parses the stored form.
    pub fn from_stored(s: &str) -> SessionRef {
        if let Some(k) = s.strip_prefix("key:") {
            return SessionRef::ApiKey(k.to_string());
        }
        if let Some((token, widget_key)) = s.strip_prefix("emb:").and_then(|r| r.split_once(':')) {
            return SessionRef::Embed { token: token.to_string(), widget_key: widget_key.to_string() };
        }
        SessionRef::Family(s.to_string())
    }

    /// Whether this session is ended by `e`.
    pub fn ended_by(&self, e: &Ended) -> bool {
        match (e, self) {
            (Ended::Session(s), _) => s == self,
            (Ended::EmbedToken(t), SessionRef::Embed { token, .. }) => t == token,
            (Ended::WidgetKey(k), SessionRef::Embed { widget_key, .. }) => k == widget_key,
            _ => false,
        }
    }
}

/// A session or an agent ended (sockets close with 4401).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Every session of this agent (disabled).
    Agent(String),
    /// One session (sign-out, revoked key, reuse detected).
    Session(SessionRef),
    /// An embed token was revoked.
    EmbedToken(String),
    /// A publishable widget key was revoked: every embed session through it ends.
    WidgetKey(String),
}

/// Answers cached for [`CHECK_TTL`]: a read lock and no write on a hit, because every
/// authenticated request asks (the token mint is ~25 µs of server CPU in all). Keys come
/// only from verified credentials; past [`MAX_ANSWERS`] the stale ones go, and if none is
/// stale, all (the next requests ask the database again).
struct Answers<K> {
    map: RwLock<HashMap<K, (bool, Instant)>>,
}

const MAX_ANSWERS: usize = 100_000;

impl<K: Hash + Eq + Clone> Answers<K> {
    fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<bool>
    where
        K: std::borrow::Borrow<Q>,
    {
        let map = self.map.read().ok()?;
        map.get(key).filter(|(_, at)| at.elapsed() < CHECK_TTL).map(|(v, _)| *v)
    }

    fn insert(&self, key: K, value: bool) {
        if let Ok(mut map) = self.map.write() {
            if map.len() >= MAX_ANSWERS {
                map.retain(|_, (_, at)| at.elapsed() < CHECK_TTL);
                if map.len() >= MAX_ANSWERS {
                    map.clear();
                }
            }
            map.insert(key, (value, Instant::now()));
        }
    }

    fn invalidate<Q: Hash + Eq + ?Sized>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
    {
        if let Ok(mut map) = self.map.write() {
            map.remove(key);
        }
    }
}

impl<K> Default for Answers<K> {
    fn default() -> Self {
        Answers { map: RwLock::new(HashMap::new()) }
    }
}

/// Live-session checks and the end-of-session signal.
pub struct Sessions {
    agents: Answers<String>,
    sessions: Answers<SessionRef>,
    embed_tokens: Answers<String>,
    widget_keys: Answers<String>,
    ended: broadcast::Sender<Ended>,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            agents: Answers::default(),
            sessions: Answers::default(),
            embed_tokens: Answers::default(),
            widget_keys: Answers::default(),
            ended: broadcast::channel(1024).0,
        }
    }
}

impl Sessions {
    /// Whether the agent (if any) is enabled and the session not ended.
    pub async fn is_live(&self, state: &AppState, agent_id: Option<&str>, session: &SessionRef) -> AppResult<bool> {
        if let Some(agent) = agent_id {
            if !self.agent_active(state, agent).await? {
                return Ok(false);
            }
        }
        if let SessionRef::Embed { token, widget_key } = session {
            return Ok(self.embed_token_live(state, token).await? && self.widget_key_live(state, widget_key).await?);
        }
        if let Some(live) = self.sessions.get(session) {
            return Ok(live);
        }
        let now = now_ms();
        let row = match session {
            SessionRef::Family(f) => {
                sqlx::query(
                    "SELECT 1 AS live FROM refresh_tokens WHERE family_id = $1 AND revoked_at IS NULL \
                     AND expires_at > $2 AND family_started_at > $3 LIMIT 1",
                )
                .bind(f)
                .bind(now)
                .bind(now - max_age_ms(state))
                .fetch_optional(&state.db.pool)
                .await?
            }
            SessionRef::ApiKey(k) => {
                sqlx::query("SELECT 1 AS live FROM api_keys WHERE id = $1 AND revoked_at IS NULL")
                    .bind(k)
                    .fetch_optional(&state.db.pool)
                    .await?
            }
            SessionRef::Embed { .. } => None,
        };
        let live = row.is_some();
        self.sessions.insert(session.clone(), live);
        Ok(live)
    }

    /// Whether an embed token is unrevoked and unexpired (its JWT expiry is checked too;
    /// the row's expiry keeps tickets and sockets from outliving it).
    async fn embed_token_live(&self, state: &AppState, id: &str) -> AppResult<bool> {
        if let Some(live) = self.embed_tokens.get(id) {
            return Ok(live);
        }
        let row = sqlx::query("SELECT 1 AS live FROM embed_tokens WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2")
            .bind(id)
            .bind(now_ms())
            .fetch_optional(&state.db.pool)
            .await?;
        self.embed_tokens.insert(id.to_string(), row.is_some());
        Ok(row.is_some())
    }

    /// Whether a publishable widget key is unrevoked.
    pub async fn widget_key_live(&self, state: &AppState, id: &str) -> AppResult<bool> {
        if let Some(live) = self.widget_keys.get(id) {
            return Ok(live);
        }
        let row = sqlx::query("SELECT 1 AS live FROM widget_keys WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .fetch_optional(&state.db.pool)
            .await?;
        self.widget_keys.insert(id.to_string(), row.is_some());
        Ok(row.is_some())
    }

    /// Whether the agent exists and is enabled (cached like [`Sessions::is_live`]).
    pub async fn agent_enabled(&self, state: &AppState, agent_id: &str) -> AppResult<bool> {
        self.agent_active(state, agent_id).await
    }

    async fn agent_active(&self, state: &AppState, agent_id: &str) -> AppResult<bool> {
        if let Some(active) = self.agents.get(agent_id) {
            return Ok(active);
        }
        let row = sqlx::query("SELECT disabled_at FROM agents WHERE id = $1").bind(agent_id).fetch_optional(&state.db.pool).await?;
        let active = match row {
            Some(r) => r.try_get::<Option<i64>, _>("disabled_at")?.is_none(),
            None => false,
        };
        self.agents.insert(agent_id.to_string(), active);
        Ok(active)
    }

    /// Hears every session end of this process.
    pub fn subscribe(&self) -> broadcast::Receiver<Ended> {
        self.ended.subscribe()
    }

    /// Forgets cached answers about this agent (enabled again).
    pub fn forget_agent(&self, agent_id: &str) {
        self.agents.invalidate(agent_id);
    }

    /// Ends a session (or every session through a token or key) in this process at once.
    pub fn end(&self, e: Ended) {
        match &e {
            Ended::Agent(a) => self.agents.insert(a.clone(), false),
            Ended::Session(s) => self.sessions.insert(s.clone(), false),
            Ended::EmbedToken(t) => self.embed_tokens.insert(t.clone(), false),
            Ended::WidgetKey(k) => self.widget_keys.insert(k.clone(), false),
        }
        let _ = self.ended.send(e);
    }
}

fn max_age_ms(state: &AppState) -> i64 {
    state.cfg.session_max_days as i64 * 24 * 3600 * 1000
}

/// Starts a session for an agent: a new refresh family.
pub async fn sign_in(state: &AppState, agent: AgentInfo) -> AppResult<AuthResponse> {
    let family = new_id("fam");
    let refresh = format!("rt_{}", random_token(32));
    insert_refresh(state, &agent, &family, now_ms(), &refresh).await?;
    respond(state, agent, &family, refresh)
}

async fn insert_refresh(state: &AppState, agent: &AgentInfo, family: &str, family_started_at: i64, refresh: &str) -> AppResult<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO refresh_tokens (id, tenant_id, agent_id, family_id, family_started_at, token_hash, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id("rt"))
    .bind(&agent.tenant_id)
    .bind(&agent.id)
    .bind(family)
    .bind(family_started_at)
    .bind(sha256_hex(refresh.as_bytes()))
    .bind(now + REFRESH_IDLE_MS)
    .bind(now)
    .execute(&state.db.pool)
    .await?;
    Ok(())
}

fn respond(state: &AppState, agent: AgentInfo, family: &str, refresh_token: String) -> AppResult<AuthResponse> {
    Ok(AuthResponse {
        access_token: mint_access(state, &agent, family)?,
        token_type: "Bearer".into(),
        expires_in: state.cfg.access_ttl_secs,
        refresh_token,
        agent,
    })
}

fn successor_ctx(token_id: &str) -> String {
    format!("refresh:{token_id}:successor")
}

/// Rotates a refresh token (see the module doc for reuse and races).
pub async fn refresh(state: &AppState, token: &str) -> AppResult<AuthResponse> {
    let hash = sha256_hex(token.as_bytes());
    for _ in 0..2 {
        let row = sqlx::query(
            "SELECT id, tenant_id, agent_id, family_id, family_started_at, expires_at, used_at, revoked_at, successor_enc \
             FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::Unauthorized)?;
        let id: String = row.try_get("id")?;
        let family: String = row.try_get("family_id")?;
        let started: i64 = row.try_get::<Option<i64>, _>("family_started_at")?.unwrap_or(0);
        let now = now_ms();
        if row.try_get::<Option<i64>, _>("revoked_at")?.is_some()
            || row.try_get::<i64, _>("expires_at")? < now
            || started + max_age_ms(state) < now
        {
            return Err(AppError::Unauthorized);
        }
        let tenant_id: String = row.try_get("tenant_id")?;
        let agent_id: String = row.try_get("agent_id")?;
        let session = SessionRef::Family(family.clone());
        if let Some(used_at) = row.try_get::<Option<i64>, _>("used_at")? {
            let successor = row.try_get::<Option<String>, _>("successor_enc")?;
            return match successor {
                Some(sealed) if now - used_at <= RACE_GRACE_MS => {
                    let refresh = state.crypto.open(&successor_ctx(&id), &sealed).map_err(AppError::internal)?;
                    let agent = live_agent(state, &tenant_id, &agent_id, &session).await?;
                    respond(state, agent, &family, refresh)
                }
                _ => {
                    tracing::warn!(family = %family, "refresh token reuse: revoking family");
                    revoke_family(state, &family).await?;
                    Err(AppError::Unauthorized)
                }
            };
        }
        let agent = live_agent(state, &tenant_id, &agent_id, &session).await?;
        let next = format!("rt_{}", random_token(32));
        let sealed = state.crypto.seal(&successor_ctx(&id), &next);
        let mut tx = state.db.pool.begin().await?;
        let claimed = sqlx::query("UPDATE refresh_tokens SET used_at = $1, successor_enc = $2 WHERE id = $3 AND used_at IS NULL")
            .bind(now)
            .bind(&sealed)
            .bind(&id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if claimed != 1 {
            // Another refresh of this token won in between: read its successor.
            tx.rollback().await?;
            continue;
        }
        sqlx::query(
            "INSERT INTO refresh_tokens (id, tenant_id, agent_id, family_id, family_started_at, token_hash, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(new_id("rt"))
        .bind(&tenant_id)
        .bind(&agent_id)
        .bind(&family)
        .bind(started)
        .bind(sha256_hex(next.as_bytes()))
        .bind(now + REFRESH_IDLE_MS)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        return respond(state, agent, &family, next);
    }
    Err(AppError::Unauthorized)
}

/// The agent of a session, if the agent is enabled and the session live.
async fn live_agent(state: &AppState, tenant_id: &str, agent_id: &str, session: &SessionRef) -> AppResult<AgentInfo> {
    if !state.sessions.is_live(state, Some(agent_id), session).await? {
        return Err(AppError::Unauthorized);
    }
    load_agent(state, tenant_id, agent_id).await.map_err(|_| AppError::Unauthorized)
}

/// Revokes every token of a family and ends its sockets.
pub async fn revoke_family(state: &AppState, family: &str) -> AppResult<()> {
    sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(family)
        .execute(&state.db.pool)
        .await?;
    state.sessions.end(Ended::Session(SessionRef::Family(family.to_string())));
    Ok(())
}

/// Signs out: revokes the family of a refresh token. Unknown tokens are ignored.
pub async fn sign_out(state: &AppState, token: &str) -> AppResult<()> {
    let row = sqlx::query("SELECT family_id FROM refresh_tokens WHERE token_hash = $1")
        .bind(sha256_hex(token.as_bytes()))
        .fetch_optional(&state.db.pool)
        .await?;
    if let Some(row) = row {
        revoke_family(state, &row.try_get::<String, _>("family_id")?).await?;
    }
    Ok(())
}

/// Disables an agent of a tenant: no sign-in, every family revoked, unused tickets
/// dropped, sockets closed. Returns false when there is no such agent.
pub async fn disable_agent(state: &AppState, tenant_id: &str, agent_id: &str) -> AppResult<bool> {
    let now = now_ms();
    let mut tx = state.db.pool.begin().await?;
    let n = sqlx::query("UPDATE agents SET disabled_at = COALESCE(disabled_at, $1) WHERE id = $2 AND tenant_id = $3")
        .bind(now)
        .bind(agent_id)
        .bind(tenant_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    let families = sqlx::query("SELECT DISTINCT family_id FROM refresh_tokens WHERE agent_id = $1 AND revoked_at IS NULL")
        .bind(agent_id)
        .fetch_all(&mut *tx)
        .await?;
    sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE agent_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(agent_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM event_tickets WHERE agent_id = $1").bind(agent_id).execute(&mut *tx).await?;
    tx.commit().await?;
    // Each family is over for good (re-enabling the agent must not revive a cached answer).
    for row in &families {
        let family: String = row.try_get("family_id")?;
        state.sessions.sessions.insert(SessionRef::Family(family), false);
    }
    state.sessions.end(Ended::Agent(agent_id.to_string()));
    state.entitlements.invalidate();
    Ok(true)
}

/// Enables a disabled agent again (they sign in anew). Returns false when there is no
/// such agent.
pub async fn enable_agent(state: &AppState, tenant_id: &str, agent_id: &str) -> AppResult<bool> {
    let disabled = sqlx::query("SELECT disabled_at FROM agents WHERE id = $1 AND tenant_id = $2")
        .bind(agent_id)
        .bind(tenant_id)
        .fetch_optional(&state.db.pool)
        .await?;
    match disabled {
        None => return Ok(false),
        Some(row) if row.try_get::<Option<i64>, _>("disabled_at")?.is_none() => return Ok(true),
        // Enabling takes a seat back: 409 `seats_exceeded` when every paid seat is taken.
        Some(_) => crate::billing::entitlements::require_free_seat(state, tenant_id).await?,
    }
    let n = sqlx::query("UPDATE agents SET disabled_at = NULL WHERE id = $1 AND tenant_id = $2")
        .bind(agent_id)
        .bind(tenant_id)
        .execute(&state.db.pool)
        .await?
        .rows_affected();
    state.sessions.forget_agent(agent_id);
    state.entitlements.invalidate();
    Ok(n == 1)
}

/// Revokes an API key of a tenant. Returns false when there is no such live key.
pub async fn revoke_api_key(state: &AppState, tenant_id: &str, key_id: &str) -> AppResult<bool> {
    let n = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND tenant_id = $3 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(key_id)
        .bind(tenant_id)
        .execute(&state.db.pool)
        .await?
        .rows_affected();
    if n == 1 {
        state.sessions.end(Ended::Session(SessionRef::ApiKey(key_id.to_string())));
    }
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_expire_and_stay_bounded() {
        let a: Answers<String> = Answers::default();
        a.insert("fam1".into(), true);
        assert_eq!(a.get("fam1"), Some(true));
        a.invalidate("fam1");
        assert_eq!(a.get("fam1"), None);
        for i in 0..MAX_ANSWERS + 10 {
            a.insert(format!("fam{i}"), true);
        }
        assert!(a.map.read().expect("lock").len() <= MAX_ANSWERS);
        assert_eq!(a.get(&format!("fam{}", MAX_ANSWERS + 9)), Some(true), "the newest answer is kept");
    }
}
