//! SSO: a JWT signed by the CRM (HS256 shared secret or RS256 public key, configured
//! per tenant) exchanged for an agent session; agents are provisioned on first use
//! when the tenant allows it.

use crate::agents::{create, NewAgent};
use crate::auth::agent_from_row;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use mpt_core::api::{AgentInfo, Role};
use serde::Deserialize;
use sqlx::Row;

#[derive(Debug, Deserialize)]
struct SsoClaims {
    #[allow(dead_code)]
    sub: String,
    email: String,
    #[serde(default)]
    name: Option<String>,
}

/// Verifies `assertion` for tenant `slug` and returns the agent (created if allowed).
pub async fn exchange(state: &AppState, slug: &str, assertion: &str) -> AppResult<AgentInfo> {
    let tenant = crate::tenant::by_slug(state, slug).await?.ok_or(AppError::Unauthorized)?;
    exchange_for_tenant(state, &tenant, assertion).await
}

/// Verifies `assertion` for a known tenant (the embeddable widget finds the tenant from
/// its publishable key) and returns the agent (created if allowed).
pub async fn exchange_for_tenant(state: &AppState, tenant: &crate::tenant::Tenant, assertion: &str) -> AppResult<AgentInfo> {
    if assertion.len() > 16 * 1024 {
        return Err(AppError::Unauthorized);
    }
    let cfg = tenant.sso.as_ref().ok_or(AppError::Unauthorized)?;
    let header = decode_header(assertion).map_err(|_| AppError::Unauthorized)?;
    // The algorithm comes from our configuration, never from the token alone.
    let key = match (header.alg, &cfg.hs256_secret, &cfg.rs256_public_pem) {
        (Algorithm::HS256, Some(secret), _) => DecodingKey::from_secret(secret.as_bytes()),
        (Algorithm::RS256, _, Some(pem)) => DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(AppError::internal)?,
        _ => return Err(AppError::Unauthorized),
    };
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[cfg.issuer.as_str()]);
    v.set_audience(&[cfg.audience.as_str()]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.leeway = 30;
    let claims = decode::<SsoClaims>(assertion, &key, &v).map_err(|_| AppError::Unauthorized)?.claims;
    let email = claims.email.trim().to_lowercase();
    let row = sqlx::query("SELECT id, tenant_id, email, name, role, identity, disabled_at FROM agents WHERE tenant_id = $1 AND email = $2")
        .bind(&tenant.id)
        .bind(&email)
        .fetch_optional(&state.db.pool)
        .await?;
    if let Some(row) = row {
        if row.try_get::<Option<i64>, _>("disabled_at")?.is_some() {
            return Err(AppError::Unauthorized);
        }
        return agent_from_row(&row);
    }
    if !tenant.sso_provision {
        return Err(AppError::Unauthorized);
    }
    let name = claims.name.unwrap_or_else(|| email.clone());
    create(state, &tenant.id, &NewAgent { email, name, password: None, role: Role::Agent, identity: None }).await
}
