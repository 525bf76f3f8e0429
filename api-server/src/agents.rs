//! Creating agents (CLI, admin API, SSO provisioning, demo seed) and changing their role.

use crate::auth::{hash_password, role_str};
use crate::crypto::new_id;
use crate::db::now_ms;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use mpt_core::api::{AgentInfo, Role};

/// Values for a new agent.
#[derive(Debug, Clone)]
pub struct NewAgent {
    /// Email (stored lower-case).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Password; `None` for SSO-only agents.
    pub password: Option<String>,
    /// Role.
    pub role: Role,
    /// Twilio client identity; generated when `None`.
    pub identity: Option<String>,
}

fn valid_identity(s: &str) -> bool {
    !s.is_empty() && s.len() <= 121 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Creates an agent in a tenant.
pub async fn create(state: &AppState, tenant_id: &str, a: &NewAgent) -> AppResult<AgentInfo> {
    let email = a.email.trim().to_lowercase();
    if !email.contains('@') || email.len() > 254 {
        return Err(AppError::BadRequest("invalid email".into()));
    }
    if let Some(p) = &a.password {
        if p.len() < 8 || p.len() > crate::auth::MAX_PASSWORD {
            return Err(AppError::BadRequest(format!("password must have 8 to {} characters", crate::auth::MAX_PASSWORD)));
        }
    }
    let identity = a.identity.clone().unwrap_or_else(|| new_id("agent_"));
    if !valid_identity(&identity) {
        return Err(AppError::BadRequest("identity may hold letters, digits, '_' and '-'".into()));
    }
    let hash = match a.password.clone() {
        Some(p) => {
            let params = state.password_params;
            Some(crate::auth::with_password_slot(state, move || hash_password(&p, params)).await??)
        }
        None => None,
    };
    crate::billing::entitlements::require_free_seat(state, tenant_id).await?;
    let id = new_id("ag_");
    sqlx::query(
        "INSERT INTO agents (id, tenant_id, email, name, password_hash, role, identity, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(tenant_id)
    .bind(&email)
    .bind(&a.name)
    .bind(hash)
    .bind(role_str(a.role))
    .bind(&identity)
    .bind(now_ms())
    .execute(&state.db.pool)
    .await
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => AppError::Conflict("an agent with this email or identity exists".into()),
        e => e,
    })?;
    state.entitlements.invalidate();
    Ok(AgentInfo { id, tenant_id: tenant_id.to_string(), email, name: a.name.clone(), role: a.role, identity })
}

/// Changes an agent's role. The role is in every access token, so the agent's sessions end
/// (as a sign-out of each would): the new role applies at their next sign-in, at once.
/// Returns false when there is no such agent.
pub async fn set_role(state: &AppState, tenant_id: &str, agent_id: &str, role: Role) -> AppResult<bool> {
    let n = sqlx::query("UPDATE agents SET role = $1 WHERE id = $2 AND tenant_id = $3")
        .bind(crate::auth::role_str(role))
        .bind(agent_id)
        .bind(tenant_id)
        .execute(&state.db.pool)
        .await?
        .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    let families = sqlx::query("SELECT DISTINCT family_id FROM refresh_tokens WHERE agent_id = $1 AND revoked_at IS NULL")
        .bind(agent_id)
        .fetch_all(&state.db.pool)
        .await?;
    for row in &families {
        crate::sessions::revoke_family(state, &sqlx::Row::try_get::<String, _>(row, "family_id")?).await?;
    }
    Ok(true)
}
