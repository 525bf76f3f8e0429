//! Authentication: passwords (argon2id), the server's access tokens (JWT HS256),
//! rotating refresh tokens, API keys, and the [`Auth`] extractor.

use crate::crypto::{new_id, random_token, sha256_hex};
use crate::db::now_ms;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{decode, encode, Algorithm as JwtAlg, DecodingKey, EncodingKey, Header, Validation};
use mpt_core::api::{AgentInfo, AuthResponse, Role};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// Access-token lifetime.
pub const ACCESS_TTL_SECS: u64 = 15 * 60;
/// Refresh-token lifetime.
pub const REFRESH_TTL_MS: i64 = 30 * 24 * 3600 * 1000;
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

/// Hashes a password with argon2id (PHC string).
pub fn hash_password(password: &str, p: PasswordParams) -> AppResult<String> {
    let params = Params::new(p.m_kib, p.t, 1, None).map_err(AppError::internal)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon.hash_password(password.as_bytes(), &salt).map_err(AppError::internal)?.to_string())
}

/// Verifies a password against a PHC hash (parameters come from the hash).
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(h) => Argon2::default().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
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
}

fn now_secs() -> u64 {
    (now_ms() / 1000) as u64
}

/// Signs an access token.
pub fn mint_access(state: &AppState, agent: &AgentInfo) -> AppResult<String> {
    let now = now_secs();
    let claims = AccessClaims {
        sub: agent.id.clone(),
        tid: agent.tenant_id.clone(),
        role: agent.role,
        idn: agent.identity.clone(),
        iat: now,
        exp: now + ACCESS_TTL_SECS,
        typ: "access".into(),
    };
    encode(&Header::new(JwtAlg::HS256), &claims, &EncodingKey::from_secret(state.crypto.jwt_key()))
        .map_err(AppError::internal)
}

/// Verifies an access token.
pub fn verify_access(state: &AppState, token: &str) -> AppResult<AccessClaims> {
    let mut v = Validation::new(JwtAlg::HS256);
    v.leeway = 5;
    let data = decode::<AccessClaims>(token, &DecodingKey::from_secret(state.crypto.jwt_key()), &v)
        .map_err(|_| AppError::Unauthorized)?;
    if data.claims.typ != "access" {
        return Err(AppError::Unauthorized);
    }
    Ok(data.claims)
}

/// Resolves a bearer credential (access JWT or `mpt_…` API key) to an [`Auth`].
pub async fn authenticate(state: &AppState, bearer: &str) -> AppResult<Auth> {
    if let Some(rest) = bearer.strip_prefix(API_KEY_PREFIX) {
        if rest.is_empty() {
            return Err(AppError::Unauthorized);
        }
        let row = sqlx::query(
            "SELECT id, tenant_id, role, name FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(sha256_hex(bearer.as_bytes()))
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::Unauthorized)?;
        let role = parse_role(&row.try_get::<String, _>("role")?)?;
        return Ok(Auth {
            tenant_id: row.try_get("tenant_id")?,
            agent_id: None,
            role,
            actor: format!("api_key:{}", row.try_get::<String, _>("id")?),
            identity: None,
        });
    }
    let c = verify_access(state, bearer)?;
    Ok(Auth { actor: format!("agent:{}", c.sub), tenant_id: c.tid, agent_id: Some(c.sub), role: c.role, identity: Some(c.idn) })
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

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(AppError::Unauthorized)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(AppError::Unauthorized)?
            .trim();
        let auth = authenticate(state, token).await?;
        // A browser request from an origin this tenant does not allow is refused.
        if let Some(origin) = parts.headers.get(axum::http::header::ORIGIN).and_then(|o| o.to_str().ok()) {
            let tenant = crate::tenant::by_id(state, &auth.tenant_id).await?;
            if !tenant.allowed_origins.iter().any(|p| crate::tenant::origin_matches(p, origin)) {
                return Err(AppError::Forbidden);
            }
        }
        Ok(auth)
    }
}

/// Loads an agent by id within a tenant.
pub async fn load_agent(state: &AppState, tenant_id: &str, agent_id: &str) -> AppResult<AgentInfo> {
    let row = sqlx::query(
        "SELECT id, tenant_id, email, name, role, identity FROM agents WHERE id = $1 AND tenant_id = $2",
    )
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

/// Issues a session (access token + a refresh token in `family`, new if `None`).
pub async fn issue_session(state: &AppState, agent: AgentInfo, family: Option<String>) -> AppResult<AuthResponse> {
    let access = mint_access(state, &agent)?;
    let refresh = format!("rt_{}", random_token(32));
    let now = now_ms();
    sqlx::query(
        "INSERT INTO refresh_tokens (id, tenant_id, agent_id, family_id, token_hash, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id("rt"))
    .bind(&agent.tenant_id)
    .bind(&agent.id)
    .bind(family.unwrap_or_else(|| new_id("fam")))
    .bind(sha256_hex(refresh.as_bytes()))
    .bind(now + REFRESH_TTL_MS)
    .bind(now)
    .execute(&state.db.pool)
    .await?;
    Ok(AuthResponse {
        access_token: access,
        token_type: "Bearer".into(),
        expires_in: ACCESS_TTL_SECS,
        refresh_token: refresh,
        agent,
    })
}

/// Rotates a refresh token. Reusing an already-rotated token revokes its whole family.
pub async fn rotate_refresh(state: &AppState, token: &str) -> AppResult<AuthResponse> {
    let row = sqlx::query(
        "SELECT id, tenant_id, agent_id, family_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1",
    )
    .bind(sha256_hex(token.as_bytes()))
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(AppError::Unauthorized)?;
    let id: String = row.try_get("id")?;
    let family: String = row.try_get("family_id")?;
    let now = now_ms();
    if row.try_get::<Option<i64>, _>("revoked_at")?.is_some() || row.try_get::<i64, _>("expires_at")? < now {
        return Err(AppError::Unauthorized);
    }
    let claimed = sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(&id)
        .execute(&state.db.pool)
        .await?
        .rows_affected();
    if claimed != 1 {
        tracing::warn!(family = %family, "refresh token reuse: revoking family");
        revoke_family(state, &family).await?;
        return Err(AppError::Unauthorized);
    }
    let tenant_id: String = row.try_get("tenant_id")?;
    let agent_id: String = row.try_get("agent_id")?;
    let agent = load_agent(state, &tenant_id, &agent_id).await.map_err(|_| AppError::Unauthorized)?;
    issue_session(state, agent, Some(family)).await
}

/// Revokes every token of a family.
pub async fn revoke_family(state: &AppState, family: &str) -> AppResult<()> {
    sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(family)
        .execute(&state.db.pool)
        .await?;
    Ok(())
}

/// Revokes the family of a refresh token (logout). Unknown tokens are ignored.
pub async fn logout(state: &AppState, token: &str) -> AppResult<()> {
    let row = sqlx::query("SELECT family_id FROM refresh_tokens WHERE token_hash = $1")
        .bind(sha256_hex(token.as_bytes()))
        .fetch_optional(&state.db.pool)
        .await?;
    if let Some(row) = row {
        revoke_family(state, &row.try_get::<String, _>("family_id")?).await?;
    }
    Ok(())
}

/// Creates an API key; returns (id, the key in clear — shown once).
pub async fn create_api_key(state: &AppState, tenant_id: &str, name: &str, role: Role) -> AppResult<(String, String)> {
    let key = format!("{API_KEY_PREFIX}{}", random_token(32));
    let id = new_id("key");
    sqlx::query(
        "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, role, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(tenant_id)
    .bind(name)
    .bind(&key[..API_KEY_PREFIX.len() + 6])
    .bind(sha256_hex(key.as_bytes()))
    .bind(role_str(role))
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
    }
}
