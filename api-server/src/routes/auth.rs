//! Sign-in, refresh, logout, SSO, `me` and presence.

use crate::auth::{agent_from_row, load_agent, verify_password, Auth, MAX_EMAIL, MAX_PASSWORD};
use crate::error::{AppError, AppJson, AppResult};
use crate::metrics::inc;
use crate::state::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::Router;
use mpt_core::api::{AgentInfo, AuthResponse, LoginRequest, PresenceRequest, RefreshRequest, ServerEvent, SsoRequest};
use sqlx::Row;
use std::net::SocketAddr;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/auth/logout", post(do_logout))
        .route("/api/auth/sso", post(sso))
        .route("/api/me", get(me))
        .route("/api/me/presence", put(presence))
        // Sign-in bodies are a few hundred bytes; nothing an anonymous client sends is
        // read beyond this.
        .layer(axum::extract::DefaultBodyLimit::max(AUTH_BODY_LIMIT))
}

/// Largest body the sign-in routes read.
pub const AUTH_BODY_LIMIT: usize = 8 * 1024;

/// A hash to verify against when the email is unknown, so timing does not reveal it.
fn dummy_hash(state: &AppState) -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| crate::auth::hash_password("not a password", state.password_params).unwrap_or_default()).clone()
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    AppJson(req): AppJson<LoginRequest>,
) -> AppResult<AppJson<AuthResponse>> {
    let agent = password_agent(&state, peer, &headers, req).await?;
    Ok(AppJson(crate::sessions::sign_in(&state, agent).await?))
}

/// The agent a password sign-in names, after every check (bounds, rate limits, account
/// back-off, password, disabled): shared by the JSON sign-in and the web app's cookie
/// sign-in (`app_session.rs`).
pub(crate) async fn password_agent(state: &AppState, peer: SocketAddr, headers: &HeaderMap, req: LoginRequest) -> AppResult<AgentInfo> {
    // Bounds first: nothing an unauthenticated client sends is kept or hashed unbounded.
    if req.email.len() > MAX_EMAIL || req.password.len() > MAX_PASSWORD || req.tenant.as_ref().is_some_and(|t| t.len() > 64) {
        return Err(AppError::BadRequest(format!("email is at most {MAX_EMAIL} bytes and password at most {MAX_PASSWORD} bytes")));
    }
    let email = req.email.trim().to_lowercase();
    let ip = crate::client_ip::client_ip(peer.ip(), headers, &state.cfg.trusted_proxies);
    if !state.login_limit.check(&format!("{ip}|{email}")) || !state.login_limit.check(&format!("ip|{ip}")) {
        inc(&state.metrics.rate_limited);
        return Err(AppError::RateLimited);
    }
    if let Err(wait) = state.account_throttle.check(&email) {
        inc(&state.metrics.rate_limited);
        return Err(AppError::RetryAfter(wait));
    }
    let mut rows = sqlx::query(
        "SELECT a.id, a.tenant_id, a.email, a.name, a.role, a.identity, a.password_hash, a.disabled_at, t.slug \
         FROM agents a JOIN tenants t ON t.id = a.tenant_id WHERE a.email = $1",
    )
    .bind(&email)
    .fetch_all(&state.db.pool)
    .await?;
    if let Some(slug) = &req.tenant {
        rows.retain(|r| r.try_get::<String, _>("slug").ok().as_deref() == Some(slug.as_str()));
    }
    if rows.len() > 1 {
        return Err(AppError::BadRequest("this email belongs to several tenants: give \"tenant\"".into()));
    }
    let password = req.password;
    let hash = rows.first().and_then(|r| r.try_get::<Option<String>, _>("password_hash").ok().flatten());
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| dummy_hash(state));
    let ok = crate::auth::with_password_slot(state, move || verify_password(&password, &hash)).await?;
    let Some(row) = rows.first().filter(|_| ok && known) else {
        state.account_throttle.failed(&email);
        return Err(AppError::Unauthorized);
    };
    state.account_throttle.succeeded(&email);
    // A disabled agent's right password still opens nothing.
    if row.try_get::<Option<i64>, _>("disabled_at")?.is_some() {
        return Err(AppError::Unauthorized);
    }
    agent_from_row(row)
}

async fn refresh(State(state): State<AppState>, AppJson(req): AppJson<RefreshRequest>) -> AppResult<AppJson<AuthResponse>> {
    if req.refresh_token.len() > 128 {
        return Err(AppError::Unauthorized);
    }
    Ok(AppJson(crate::sessions::refresh(&state, &req.refresh_token).await?))
}

async fn do_logout(State(state): State<AppState>, AppJson(req): AppJson<RefreshRequest>) -> AppResult<StatusCode> {
    if req.refresh_token.len() <= 128 {
        crate::sessions::sign_out(&state, &req.refresh_token).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(state): State<AppState>, auth: Auth) -> AppResult<AppJson<AgentInfo>> {
    Ok(AppJson(load_agent(&state, &auth.tenant_id, auth.agent_id()?).await?))
}

async fn presence(State(state): State<AppState>, auth: Auth, AppJson(req): AppJson<PresenceRequest>) -> AppResult<StatusCode> {
    state.presence.set(&state, &auth.tenant_id, auth.agent_id()?, req.available).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stores an agent's availability and tells the tenant.
pub async fn set_presence(state: &AppState, tenant_id: &str, agent_id: &str, available: bool) -> AppResult<()> {
    sqlx::query("UPDATE agents SET available = $1 WHERE id = $2 AND tenant_id = $3")
        .bind(available as i64)
        .bind(agent_id)
        .bind(tenant_id)
        .execute(&state.db.pool)
        .await?;
    state.hub.publish(tenant_id, None, &ServerEvent::Presence { agent_id: agent_id.to_string(), available }).await?;
    Ok(())
}

async fn sso(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    AppJson(req): AppJson<SsoRequest>,
) -> AppResult<AppJson<AuthResponse>> {
    let agent = sso_agent(&state, peer, &headers, &req).await?;
    Ok(AppJson(crate::sessions::sign_in(&state, agent).await?))
}

/// The agent a CRM's SSO JWT names (rate-limited per client address): shared with the web
/// app's cookie sign-in.
pub(crate) async fn sso_agent(state: &AppState, peer: SocketAddr, headers: &HeaderMap, req: &SsoRequest) -> AppResult<AgentInfo> {
    let ip = crate::client_ip::client_ip(peer.ip(), headers, &state.cfg.trusted_proxies);
    if !state.login_limit.check(&format!("sso|{ip}")) {
        inc(&state.metrics.rate_limited);
        return Err(AppError::RateLimited);
    }
    crate::sso::exchange(state, &req.tenant, &req.assertion).await
}
