//! Authentication: passwords (argon2id), the server's access tokens (JWT HS256), API
//! keys, and the [`Auth`] extractor (sessions, refresh and revocation: [`crate::sessions`]).

use crate::crypto::{new_id, random_token, sha256_hex};
use crate::db::now_ms;
use crate::error::{AppError, AppResult};
use crate::sessions::SessionRef;
use crate::state::AppState;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{decode, encode, Algorithm as JwtAlg, DecodingKey, EncodingKey, Header, Validation};
use mpt_core::api::{AgentInfo, Role};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// Access-token lifetime by default (`Config::access_ttl_secs`).
pub const ACCESS_TTL_SECS: u64 = 15 * 60;
/// Longest email accepted anywhere (RFC 5321's path limit); longer is a 400 before any
/// work is done.
pub const MAX_EMAIL: usize = 254;
/// Longest password accepted (argon2 would hash anything; nobody types more).
pub const MAX_PASSWORD: usize = 1024;
/// Prefix of API keys.
pub const API_KEY_PREFIX: &str = "mpt_";

/// Argon2id parameters (memory KiB, iterations). Production: OWASP's 19 MiB, t=2.
#[derive(Debug, Clone, Copy)]
pub struct PasswordParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
}

impl Default for PasswordParams {
    fn default() -> Self {
        PasswordParams { m_kib: 19 * 1024, t: 2 }
    }
}

/// Runs a password hash or verification on the password pool: one thread per core.
///
/// Each argon2id run takes 19 MiB, and glibc's allocator keeps what a thread used (its
/// mmap threshold rises to the size of the last freed block). On tokio's blocking pool
/// (up to 512 threads, idle ones kept) every sign-in could land on another thread and
/// leave its 19 MiB behind: 2,000 abusive sign-ins grew the server by 115 MiB through the
/// ten that passed the rate limit. A fixed pool holds at most one run per core, for good.
pub async fn with_password_slot<T: Send + 'static>(state: &AppState, work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    state.password_pool.spawn(move || {
        let _ = tx.send(work());
    });
    rx.await.map_err(AppError::internal)
}

thread_local! {
    /// argon2's working memory, kept per password-pool thread and reused: allocating it per
    /// run (19 MiB) is what the allocator failed to give back.
    static ARGON2_MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs argon2 with this thread's reused working memory.
fn argon2_into(argon: &Argon2<'_>, blocks: usize, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), argon2::Error> {
    ARGON2_MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, argon2::Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
    })
}

/// Hashes a password with argon2id (PHC string).
pub fn hash_password(password: &str, p: PasswordParams) -> AppResult<String> {
    let params = Params::new(p.m_kib, p.t, 1, None).map_err(AppError::internal)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(AppError::internal)?;
    let mut out = [0u8; 32];
    argon2_into(&argon, params.block_count(), password.as_bytes(), salt_bytes, &mut out).map_err(AppError::internal)?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: argon2::password_hash::ParamsString::try_from(&params).map_err(AppError::internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(argon2::password_hash::Output::new(&out).map_err(AppError::internal)?),
    };
    Ok(phc.to_string())
}

/// Verifies a password against a PHC hash (parameters come from the hash), in constant
/// time.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let check = || -> Option<bool> {
        let h = PasswordHash::new(hash).ok()?;
        let algorithm = Algorithm::try_from(h.algorithm).ok()?;
        let version = Version::try_from(h.version.unwrap_or(0x13)).ok()?;
        let params = Params::try_from(&h).ok()?;
        let expected = h.hash?;
        let mut salt_buf = [0u8; 64];
        let salt = h.salt?.decode_b64(&mut salt_buf).ok()?;
        let blocks = params.block_count();
        let argon = Argon2::new(algorithm, version, params);
        let mut out = vec![0u8; expected.len()];
        argon2_into(&argon, blocks, password.as_bytes(), salt, &mut out).ok()?;
        // `Output` compares in constant time.
        Some(argon2::password_hash::Output::new(&out).ok()? == expected)
    };
    check().unwrap_or(false)
}

/// Claims of the server's access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Agent id.
    pub sub: String,
    /// Tenant id.
    pub tid: String,
    /// Role.
    pub role: Role,
    /// Twilio client identity.
    pub idn: String,
    /// Issued at (seconds).
    pub iat: u64,
    /// Expiry (seconds).
    pub exp: u64,
    /// Always `"access"`.
    pub typ: String,
    /// The refresh family (sign-in session) the token belongs to; a token whose family
    /// ended is refused.
    #[serde(default)]
    pub fam: String,
}

/// Who is calling: an agent (JWT) or a CRM backend (API key).
#[derive(Debug, Clone)]
pub struct Auth {
    /// Tenant every query is scoped to.
    pub tenant_id: String,
    /// The agent, for agent sessions.
    pub agent_id: Option<String>,
    /// Role.
    pub role: Role,
    /// Actor name for the audit log.
    pub actor: String,
    /// The agent's Twilio client identity (agent sessions).
    pub identity: Option<String>,
    /// The sign-in session or API key behind the credential.
    pub session: SessionRef,
    /// When the session ends for good (Unix seconds; embed tokens, which are never
    /// refreshed: what a Twilio token minted for it may not outlive).
    pub expires_at: Option<u64>,
}

impl Auth {
    /// Requires an agent session (not an API key).
    pub fn agent_id(&self) -> AppResult<&str> {
        self.agent_id.as_deref().ok_or(AppError::Forbidden)
    }
    /// Requires the admin role.
    pub fn require_admin(&self) -> AppResult<()> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
    /// Whether this caller sees every call of the tenant (supervisors and admins), or only
    /// its own and unanswered inbound ones (agents).
    pub fn sees_all_calls(&self) -> bool {
        self.role.sees_all_calls()
    }
}

fn now_secs() -> u64 {
    (now_ms() / 1000) as u64
}

/// Signs an access token for an agent's sign-in session (`family`).
pub fn mint_access(state: &AppState, agent: &AgentInfo, family: &str) -> AppResult<String> {
    let now = now_secs();
    let claims = AccessClaims {
        sub: agent.id.clone(),
        tid: agent.tenant_id.clone(),
        role: agent.role,
        idn: agent.identity.clone(),
        iat: now,
        exp: now + state.cfg.access_ttl_secs,
        typ: "access".into(),
        fam: family.to_string(),
    };
    encode(&Header::new(JwtAlg::HS256), &claims, &EncodingKey::from_secret(state.crypto.jwt_key())).map_err(AppError::internal)
}

/// Verifies an access token.
pub fn verify_access(state: &AppState, token: &str) -> AppResult<AccessClaims> {
    let claims = verify_jwt(state, token)?;
    if claims.typ != "access" {
        return Err(AppError::Unauthorized);
    }
    Ok(claims)
}

/// Verifies one of the server's own JWTs (access or embed token) by signature and expiry.
pub fn verify_jwt(state: &AppState, token: &str) -> AppResult<AccessClaims> {
    let mut v = Validation::new(JwtAlg::HS256);
    v.leeway = 5;
    let data = decode::<AccessClaims>(token, &DecodingKey::from_secret(state.crypto.jwt_key()), &v).map_err(|_| AppError::Unauthorized)?;
    Ok(data.claims)
}

/// The request header carrying the publishable widget key with an embed token.
pub const WIDGET_KEY_HEADER: &str = "mpt-widget-key";

/// Resolves a bearer credential (access JWT or `mpt_…` API key) to an [`Auth`]. A token
/// whose session ended (sign-out, disabled agent, revoked key) is refused at once.
pub async fn authenticate(state: &AppState, bearer: &str) -> AppResult<Auth> {
    authenticate_with(state, bearer, None).await
}

/// [`authenticate`], also accepting an embed token (`docs/embed.md`) when it comes with
/// a live publishable widget key of its tenant: the session is then the pair, and ends
/// when either is revoked.
pub async fn authenticate_with(state: &AppState, bearer: &str, widget_key: Option<&str>) -> AppResult<Auth> {
    if let Some(rest) = bearer.strip_prefix(API_KEY_PREFIX) {
        if rest.is_empty() || bearer.len() > 128 {
            return Err(AppError::Unauthorized);
        }
        let row = sqlx::query(
            "SELECT k.id, k.tenant_id, k.role, k.agent_id, a.identity, a.disabled_at FROM api_keys k \
             LEFT JOIN agents a ON a.id = k.agent_id AND a.tenant_id = k.tenant_id \
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
        )
        .bind(sha256_hex(bearer.as_bytes()))
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::Unauthorized)?;
        let role = parse_role(&row.try_get::<String, _>("role")?)?;
        let agent_id: Option<String> = row.try_get("agent_id")?;
        if agent_id.is_some() && row.try_get::<Option<i64>, _>("disabled_at")?.is_some() {
            return Err(AppError::Unauthorized);
        }
        let id: String = row.try_get("id")?;
        return Ok(Auth {
            tenant_id: row.try_get("tenant_id")?,
            identity: row.try_get("identity")?,
            agent_id,
            role,
            actor: format!("api_key:{id}"),
            session: SessionRef::ApiKey(id),
            expires_at: None,
        });
    }
    let c = verify_jwt(state, bearer)?;
    let (session, role) = match c.typ.as_str() {
        "access" => (SessionRef::Family(c.fam), c.role),
        "embed" => {
            // An embed token works only beside a live widget key of its own tenant.
            let key = crate::widget_keys::resolve(state, widget_key.ok_or(AppError::Unauthorized)?).await?.ok_or(AppError::Unauthorized)?;
            if key.tenant_id != c.tid {
                return Err(AppError::Unauthorized);
            }
            // Embedded, an admin is an agent: a host page never administers the tenant.
            (SessionRef::Embed { token: c.fam, widget_key: key.id }, Role::Agent)
        }
        _ => return Err(AppError::Unauthorized),
    };
    if !state.sessions.is_live(state, Some(&c.sub), &session).await? {
        return Err(AppError::Unauthorized);
    }
    Ok(Auth {
        actor: format!("agent:{}", c.sub),
        tenant_id: c.tid,
        agent_id: Some(c.sub),
        role,
        identity: Some(c.idn),
        // An access token is refreshed; an embed token is not, so its end is the session's.
        expires_at: matches!(session, SessionRef::Embed { .. }).then_some(c.exp),
        session,
    })
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or(AppError::Unauthorized)?;
        let token = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")).ok_or(AppError::Unauthorized)?.trim();
        let widget_key = parts.headers.get(WIDGET_KEY_HEADER).and_then(|v| v.to_str().ok());
        let auth = authenticate_with(state, token, widget_key).await?;
        // A browser request from an origin this tenant does not allow is refused (our own
        // origin, where the iframe widget runs, is always ours).
        if let Some(origin) = parts.headers.get(axum::http::header::ORIGIN).and_then(|o| o.to_str().ok()) {
            if !crate::tenant::is_own_origin(state, origin) {
                let tenant = crate::tenant::by_id(state, &auth.tenant_id).await?;
                if !tenant.allowed_origins.iter().any(|p| crate::tenant::origin_matches(p, origin)) {
                    return Err(AppError::Forbidden);
                }
            }
        }
        Ok(auth)
    }
}

/// Loads an agent by id within a tenant.
pub async fn load_agent(state: &AppState, tenant_id: &str, agent_id: &str) -> AppResult<AgentInfo> {
    let row = sqlx::query("SELECT id, tenant_id, email, name, role, identity FROM agents WHERE id = $1 AND tenant_id = $2")
        .bind(agent_id)
        .bind(tenant_id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    agent_from_row(&row)
}

/// Builds an [`AgentInfo`] from a row with the usual columns.
pub fn agent_from_row(row: &sqlx::any::AnyRow) -> AppResult<AgentInfo> {
    Ok(AgentInfo {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: parse_role(&row.try_get::<String, _>("role")?)?,
        identity: row.try_get("identity")?,
    })
}

/// Parses a stored role.
pub fn parse_role(s: &str) -> AppResult<Role> {
    match s {
        "agent" => Ok(Role::Agent),
        "supervisor" => Ok(Role::Supervisor),
        "admin" => Ok(Role::Admin),
        other => Err(AppError::Internal(format!("unknown role {other}"))),
    }
}

/// Stored form of a role.
pub fn role_str(r: Role) -> &'static str {
    match r {
        Role::Agent => "agent",
        Role::Supervisor => "supervisor",
        Role::Admin => "admin",
    }
}

/// Creates an API key; returns (id, the key in clear — shown once). A key with role
/// `agent` acts for `agent_id` (required) and sees what that agent sees.
pub async fn create_api_key(
    state: &AppState,
    tenant_id: &str,
    name: &str,
    role: Role,
    agent_id: Option<&str>,
) -> AppResult<(String, String)> {
    if name.trim().is_empty() || name.len() > 100 {
        return Err(AppError::BadRequest("name must be 1-100 characters".into()));
    }
    let agent_id = match (role, agent_id) {
        (Role::Agent, None) => return Err(AppError::BadRequest("an agent key needs \"agent_id\"".into())),
        (_, Some(a)) => {
            load_agent(state, tenant_id, a).await.map_err(|_| AppError::BadRequest("no such agent".into()))?;
            Some(a)
        }
        (_, None) => None,
    };
    let key = format!("{API_KEY_PREFIX}{}", random_token(32));
    let id = new_id("key");
    sqlx::query(
        "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, role, agent_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(tenant_id)
    .bind(name)
    .bind(&key[..API_KEY_PREFIX.len() + 6])
    .bind(sha256_hex(key.as_bytes()))
    .bind(role_str(role))
    .bind(agent_id)
    .bind(now_ms())
    .execute(&state.db.pool)
    .await?;
    Ok((id, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_roundtrip() {
        let p = PasswordParams { m_kib: 256, t: 1 };
        let h = hash_password("correct horse", p).expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
        // Hashes stored by the argon2 crate's own hasher (before this code) still verify.
        use argon2::password_hash::PasswordHasher;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(256, 1, 1, None).expect("params"));
        let old = argon.hash_password(b"old horse", &SaltString::generate(&mut OsRng)).expect("hash").to_string();
        assert!(verify_password("old horse", &old) && !verify_password("old horsf", &old));
        let ours = PasswordHash::new(&h).expect("phc");
        assert!(argon2::password_hash::PasswordVerifier::verify_password(&Argon2::default(), b"correct horse", &ours).is_ok());
    }
}
