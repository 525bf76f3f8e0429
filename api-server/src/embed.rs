//! Embed tokens (`../shared/CONTRACTS.md` §4, `docs/embed.md`): the credential a host page
//! hands the widget for one agent.
//!
//! Why a token of its own rather than a sign-in: the host page is not the agent's browser
//! session but the integrator's page, so what it holds must be short-lived (at most
//! [`MAX_TTL_S`]), never refreshable (no refresh token exists; the host asks its backend
//! for a new one when `token-expiring` fires), revocable one by one, and useless away from
//! the tenant's widget (it works only beside a live publishable key of the same tenant,
//! [`crate::auth::authenticate_with`]). The token is a JWT of the server (`typ: "embed"`)
//! naming a row here, so revocation and agent disablement are checked on every request
//! like any session ([`crate::sessions::Sessions::is_live`]).

use crate::auth::AccessClaims;
use crate::crypto::new_id;
use crate::db::now_ms;
use crate::error::{AppError, AppResult};
use crate::sessions::Ended;
use crate::state::AppState;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use mpt_core::api::{AgentInfo, Role};
use serde::Serialize;
use sqlx::Row;

/// Longest embed-token lifetime (seconds), and the default.
pub const MAX_TTL_S: u64 = 900;
/// Shortest lifetime a caller may ask for.
pub const MIN_TTL_S: u64 = 10;
/// Longest `contact_id` kept with a token.
pub const MAX_CONTACT_ID: usize = 128;

/// `POST /api/embed/tokens` answer.
#[derive(Debug, Clone, Serialize)]
pub struct EmbedToken {
    /// The token (a JWT; opaque to hosts).
    pub token: String,
    /// Expiry (Unix ms).
    pub expires_at: i64,
    /// Its id, to revoke it (`DELETE /api/embed/tokens/{id}`).
    pub id: String,
}

/// Checks a requested lifetime: default [`MAX_TTL_S`].
pub fn ttl(requested: Option<u64>) -> AppResult<u64> {
    match requested {
        None => Ok(MAX_TTL_S),
        Some(t) if (MIN_TTL_S..=MAX_TTL_S).contains(&t) => Ok(t),
        Some(_) => Err(AppError::BadRequest(format!("ttl_s must be {MIN_TTL_S}-{MAX_TTL_S} seconds"))),
    }
}

/// Mints an embed token for an enabled agent whose tenant may call (billing).
pub async fn mint(state: &AppState, agent: &AgentInfo, issued_by: &str, contact_id: Option<&str>, ttl_s: u64) -> AppResult<EmbedToken> {
    if contact_id.is_some_and(|c| c.len() > MAX_CONTACT_ID) {
        return Err(AppError::BadRequest(format!("contact_id is at most {MAX_CONTACT_ID} bytes")));
    }
    crate::billing::entitlements::require_active(state, &agent.tenant_id, Some(&agent.id)).await?;
    let id = new_id("emb");
    let now = now_ms();
    let expires_at = now + ttl_s as i64 * 1000;
    // Expired rows go as new ones are made (indexed by expiry).
    sqlx::query("DELETE FROM embed_tokens WHERE expires_at < $1").bind(now - 24 * 3600 * 1000).execute(&state.db.pool).await?;
    sqlx::query(
        "INSERT INTO embed_tokens (id, tenant_id, agent_id, issued_by, contact_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&agent.tenant_id)
    .bind(&agent.id)
    .bind(issued_by)
    .bind(contact_id)
    .bind(now)
    .bind(expires_at)
    .execute(&state.db.pool)
    .await?;
    let claims = AccessClaims {
        sub: agent.id.clone(),
        tid: agent.tenant_id.clone(),
        // An embed session acts as an agent whatever the agent's role.
        role: Role::Agent,
        idn: agent.identity.clone(),
        iat: (now / 1000) as u64,
        exp: (expires_at / 1000) as u64,
        typ: "embed".into(),
        fam: id.clone(),
    };
    let token =
        encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(state.crypto.jwt_key())).map_err(AppError::internal)?;
    Ok(EmbedToken { token, expires_at, id })
}

/// Revokes an embed token of a tenant (of one agent, when `agent_id` is given): its
/// requests get 401 and its sockets close at once. False when there is no such live token.
pub async fn revoke(state: &AppState, tenant_id: &str, id: &str, agent_id: Option<&str>) -> AppResult<bool> {
    let n = sqlx::query(
        "UPDATE embed_tokens SET revoked_at = $1 WHERE id = $2 AND tenant_id = $3 AND revoked_at IS NULL \
         AND ($4 = '' OR agent_id = $4)",
    )
    .bind(now_ms())
    .bind(id)
    .bind(tenant_id)
    .bind(agent_id.unwrap_or(""))
    .execute(&state.db.pool)
    .await?
    .rows_affected();
    if n == 1 {
        state.sessions.end(Ended::EmbedToken(id.to_string()));
    }
    Ok(n == 1)
}

/// Finds an enabled agent of a tenant by id or email.
pub async fn find_agent(state: &AppState, tenant_id: &str, agent_id: Option<&str>, email: Option<&str>) -> AppResult<AgentInfo> {
    let (col, value) = match (agent_id, email) {
        (Some(id), None) => ("id", id.to_string()),
        (None, Some(e)) if e.len() <= crate::auth::MAX_EMAIL => ("email", e.trim().to_lowercase()),
        _ => return Err(AppError::BadRequest("give exactly one of \"agent_id\" and \"agent_email\"".into())),
    };
    let row = sqlx::query(&format!(
        "SELECT id, tenant_id, email, name, role, identity, disabled_at FROM agents WHERE tenant_id = $1 AND {col} = $2"
    ))
    .bind(tenant_id)
    .bind(&value)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    if row.try_get::<Option<i64>, _>("disabled_at")?.is_some() {
        return Err(AppError::Conflict("the agent is disabled".into()));
    }
    crate::auth::agent_from_row(&row)
}
