//! The embeddable widget's API (`docs/embed.md`): publishable widget keys (admin),
//! embed tokens (minted by a CRM backend with an API key for a named agent, or by a
//! signed-in agent for itself; revoked one by one), the SSO exchange that lets a CRM's
//! JWT stand in for an embed token, and the widget's start-up check of its key and host
//! origin.

use crate::auth::Auth;
use crate::embed::{self, EmbedToken};
use crate::error::{AppError, AppJson, AppQuery, AppResult};
use crate::metrics::inc;
use crate::routes::audit;
use crate::sessions::SessionRef;
use crate::state::AppState;
use crate::widget_keys::{self, WidgetKeyInfo};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use mpt_core::api::Role;
use mpt_core::PhoneErrorCode;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/widget-keys", get(list_widget_keys).post(new_widget_key))
        .route("/api/admin/widget-keys/{id}", delete(revoke_widget_key))
        .route("/api/embed/tokens", post(new_embed_token))
        .route("/api/embed/tokens/{id}", delete(revoke_embed_token))
        .route("/api/embed/sso", post(sso))
        .route("/api/embed/widget", get(widget_info))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewWidgetKey {
    name: String,
}

#[derive(Serialize)]
struct WidgetKeyCreated {
    id: String,
    /// Shown once; only its hash is stored.
    key: String,
}

async fn new_widget_key(
    State(state): State<AppState>,
    auth: Auth,
    AppJson(k): AppJson<NewWidgetKey>,
) -> AppResult<(StatusCode, AppJson<WidgetKeyCreated>)> {
    auth.require_admin()?;
    let (id, key) = widget_keys::create(&state, &auth.tenant_id, &k.name, &auth.actor).await?;
    audit(&state, &auth, "widget_key.create", Some(&id), Some(k.name.trim())).await?;
    Ok((StatusCode::CREATED, AppJson(WidgetKeyCreated { id, key })))
}

async fn list_widget_keys(State(state): State<AppState>, auth: Auth) -> AppResult<AppJson<Vec<WidgetKeyInfo>>> {
    auth.require_admin()?;
    Ok(AppJson(widget_keys::list(&state, &auth.tenant_id).await?))
}

/// Revokes a key: its widget page stops loading and its embed sessions end at once.
async fn revoke_widget_key(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> AppResult<StatusCode> {
    auth.require_admin()?;
    if !widget_keys::revoke(&state, &auth.tenant_id, &id).await? {
        return Err(AppError::NotFound);
    }
    audit(&state, &auth, "widget_key.revoke", Some(&id), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewEmbedToken {
    #[serde(default)]
    agent_id: Option<String>,
    #[serde(default)]
    agent_email: Option<String>,
    #[serde(default)]
    contact_id: Option<String>,
    #[serde(default)]
    ttl_s: Option<u64>,
}

/// `POST /api/embed/tokens`: a CRM backend (API key) for a named agent, or a signed-in
/// agent for itself. An embed session cannot mint another (it would make itself endless).
async fn new_embed_token(
    State(state): State<AppState>,
    auth: Auth,
    AppJson(req): AppJson<NewEmbedToken>,
) -> AppResult<(StatusCode, AppJson<EmbedToken>)> {
    let ttl = embed::ttl(req.ttl_s)?;
    let named = req.agent_id.is_some() || req.agent_email.is_some();
    let agent = match (&auth.session, auth.agent_id.as_deref()) {
        (SessionRef::Embed { .. }, _) => return Err(AppError::Forbidden),
        // A signed-in agent, or an API key bound to an agent: for that agent only.
        (_, Some(own)) => {
            let agent = if named {
                embed::find_agent(&state, &auth.tenant_id, req.agent_id.as_deref(), req.agent_email.as_deref()).await?
            } else {
                embed::find_agent(&state, &auth.tenant_id, Some(own), None).await?
            };
            if agent.id != own {
                return Err(AppError::Forbidden);
            }
            agent
        }
        // A CRM backend's tenant key (supervisor or admin role): any agent of the tenant.
        (SessionRef::ApiKey(_), None) => {
            embed::find_agent(&state, &auth.tenant_id, req.agent_id.as_deref(), req.agent_email.as_deref()).await?
        }
        _ => return Err(AppError::Forbidden),
    };
    if !state.token_limit.check(&format!("embed|{}", agent.id)) {
        inc(&state.metrics.rate_limited);
        return Err(AppError::RateLimited);
    }
    let minted = embed::mint(&state, &agent, &auth.actor, req.contact_id.as_deref(), ttl).await?;
    audit(&state, &auth, "embed_token.create", Some(&minted.id), Some(&agent.id)).await?;
    Ok((StatusCode::CREATED, AppJson(minted)))
}

/// Revokes an embed token: an admin or a tenant API key may revoke any; an agent its own
/// (signing out of a widget).
async fn revoke_embed_token(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> AppResult<StatusCode> {
    let only_agent = match (&auth.session, auth.role) {
        (SessionRef::ApiKey(_), _) if auth.agent_id.is_none() => None,
        (SessionRef::Family(_), Role::Admin) => None,
        _ => Some(auth.agent_id()?),
    };
    if !embed::revoke(&state, &auth.tenant_id, &id, only_agent).await? {
        return Err(AppError::NotFound);
    }
    audit(&state, &auth, "embed_token.revoke", Some(&id), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The host page's origin must be one the key's tenant allows (or our own: the iframe
/// widget). A request without an `Origin` header is not a browser's cross-origin call.
fn require_origin(state: &AppState, headers: &HeaderMap, tenant: &crate::tenant::Tenant) -> AppResult<()> {
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    match origin {
        Some(o) if crate::tenant::is_own_origin(state, o) || tenant.allowed_origins.iter().any(|p| crate::tenant::origin_matches(p, o)) => {
            Ok(())
        }
        Some(_) => Err(AppError::phone_msg(PhoneErrorCode::NotAllowed, "this site is not allowed to host the phone")),
        None => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SsoExchange {
    /// The publishable widget key (names the tenant whose SSO settings verify the JWT).
    key: String,
    /// The CRM's SSO JWT.
    assertion: String,
    #[serde(default)]
    ttl_s: Option<u64>,
}

/// A CRM's SSO JWT in place of an embed token: verified with the key's tenant's SSO
/// settings and exchanged for an embed token (never a refresh token).
async fn sso(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    AppJson(req): AppJson<SsoExchange>,
) -> AppResult<(StatusCode, AppJson<EmbedToken>)> {
    let ip = crate::client_ip::client_ip(peer.ip(), &headers, &state.cfg.trusted_proxies);
    if !state.login_limit.check(&format!("embed-sso|{ip}")) {
        inc(&state.metrics.rate_limited);
        return Err(AppError::RateLimited);
    }
    let ttl = embed::ttl(req.ttl_s)?;
    let key = widget_keys::resolve(&state, &req.key).await?.ok_or(AppError::Unauthorized)?;
    let tenant = crate::tenant::by_id(&state, &key.tenant_id).await?;
    require_origin(&state, &headers, &tenant)?;
    let agent = crate::sso::exchange_for_tenant(&state, &tenant, &req.assertion).await?;
    let minted = embed::mint(&state, &agent, &format!("sso:{}", key.id), None, ttl).await?;
    Ok((StatusCode::CREATED, AppJson(minted)))
}

#[derive(Deserialize)]
struct WidgetQuery {
    key: String,
}

/// What the web component learns at start from its key.
#[derive(Serialize)]
struct WidgetInfo {
    tenant_name: String,
    sandbox: bool,
    /// Origins that may host the phone with this key.
    allowed_origins: Vec<String>,
}

/// The web component's start-up check: the key is live and the host page's origin is
/// allowed (else 403 `not_allowed`, and the element refuses to run). Readable from any
/// origin (`Access-Control-Allow-Origin: *`, no credentials): a refused page must be able to
/// read why it was refused.
async fn widget_info(State(state): State<AppState>, headers: HeaderMap, AppQuery(q): AppQuery<WidgetQuery>) -> Response {
    let answer = async {
        let key = widget_keys::resolve(&state, &q.key).await?.ok_or(AppError::Unauthorized)?;
        let tenant = crate::tenant::by_id(&state, &key.tenant_id).await?;
        require_origin(&state, &headers, &tenant)?;
        Ok::<_, AppError>(AppJson(WidgetInfo {
            tenant_name: tenant.name.clone(),
            sandbox: tenant.sandbox,
            allowed_origins: tenant.allowed_origins.clone(),
        }))
    };
    let mut resp = answer.await.into_response();
    resp.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    resp
}
