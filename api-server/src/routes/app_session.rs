//! The web app's session (`app/`): the same sign-in, SSO and refresh as `/api/auth/*`, but
//! the refresh token travels only in a cookie page script cannot read, so the app survives
//! a reload (agents reload tabs all day) without keeping a credential in storage
//! (`docs/server-api.md`, "The web app's session").
//!
//! The cookie is `HttpOnly`, `SameSite=Strict`, `Secure` when the server's public URL is
//! `https://`, and scoped to [`COOKIE_PATH`], so it is sent to these endpoints only — never
//! to the rest of the API, which keeps taking bearer tokens. Every endpoint here answers
//! only requests whose `Origin` is the server's own: `SameSite` does not separate two
//! ports of one host (a CRM on `localhost:3001` is "same-site" with us on `localhost:8080`),
//! the `Origin` check does. Bodies carry the access token as usual; `refresh_token` is
//! empty (it is in the cookie).

use super::auth::{password_agent, sso_agent, AUTH_BODY_LIMIT};
use crate::error::{AppError, AppJson, AppQuery, AppResult};
use crate::metrics::inc;
use crate::state::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use cookie::{Cookie, SameSite};
use mpt_core::api::{AuthResponse, LoginRequest, SsoRequest};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// The refresh cookie's name.
pub const COOKIE: &str = "mpt_app_session";
/// The only path the refresh cookie is sent to.
pub const COOKIE_PATH: &str = "/api/app/session";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/app/session/login", post(login))
        .route("/api/app/session/sso", post(sso))
        .route("/api/app/session/refresh", post(refresh))
        .route("/api/app/session/logout", post(logout))
        .route("/api/app/sso", get(sso_start))
        .layer(axum::extract::DefaultBodyLimit::max(AUTH_BODY_LIMIT))
}

/// Only the app's own pages may use the cookie session: a request from any other origin
/// (or without one: browsers send `Origin` with every POST) is refused before anything is
/// read or written.
fn require_own_origin(state: &AppState, headers: &HeaderMap) -> AppResult<()> {
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        Some(o) if crate::tenant::is_own_origin(state, o) => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// `Set-Cookie` for `value`, or one that deletes the cookie.
fn set_cookie(state: &AppState, value: Option<&str>) -> AppResult<HeaderValue> {
    let max_age = if value.is_some() { crate::sessions::REFRESH_IDLE_MS / 1000 } else { 0 };
    let cookie = Cookie::build((COOKIE, value.unwrap_or_default()))
        .path(COOKIE_PATH)
        .max_age(cookie::time::Duration::seconds(max_age))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.public_url.starts_with("https://"))
        .build();
    HeaderValue::from_str(&cookie.to_string()).map_err(AppError::internal)
}

/// The refresh token in the request's cookie, if any.
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The session's answer: the access token in the body, the refresh token in the cookie.
fn with_cookie(state: &AppState, mut auth: AuthResponse) -> AppResult<Response> {
    let cookie = set_cookie(state, Some(&std::mem::take(&mut auth.refresh_token)))?;
    let mut resp = AppJson(auth).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    AppJson(req): AppJson<LoginRequest>,
) -> AppResult<Response> {
    require_own_origin(&state, &headers)?;
    let agent = password_agent(&state, peer, &headers, req).await?;
    with_cookie(&state, crate::sessions::sign_in(&state, agent).await?)
}

async fn sso(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    AppJson(req): AppJson<SsoRequest>,
) -> AppResult<Response> {
    require_own_origin(&state, &headers)?;
    let agent = sso_agent(&state, peer, &headers, &req).await?;
    with_cookie(&state, crate::sessions::sign_in(&state, agent).await?)
}

/// Rotates the cookie's refresh token. Without a cookie there is no session to restore:
/// `204` (the app's every first load asks, and a signed-out browser is not an error). A
/// refused one (expired, reused, revoked, the agent disabled) is `401` and deletes the
/// cookie, so the next load shows the sign-in form at once.
async fn refresh(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    require_own_origin(&state, &headers)?;
    let Some(token) = cookie_token(&headers) else { return Ok(StatusCode::NO_CONTENT.into_response()) };
    match crate::sessions::refresh(&state, &token).await {
        Ok(auth) => with_cookie(&state, auth),
        Err(e @ AppError::Unauthorized) => {
            let mut resp = e.into_response();
            resp.headers_mut().insert(header::SET_COOKIE, set_cookie(&state, None)?);
            Ok(resp)
        }
        Err(e) => Err(e),
    }
}

/// Ends the cookie's session (its whole refresh family) and deletes the cookie.
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    require_own_origin(&state, &headers)?;
    if let Some(token) = cookie_token(&headers) {
        crate::sessions::sign_out(&state, &token).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(header::SET_COOKIE, set_cookie(&state, None)?);
    Ok(resp)
}

#[derive(Deserialize)]
struct SsoStartQuery {
    tenant: String,
}

#[derive(Serialize)]
struct SsoStart {
    /// The CRM's sign-in page (the app adds `return_to` and `state`).
    login_url: String,
}

/// `GET /api/app/sso?tenant=<slug>`: where the app sends an agent who chose "Sign in
/// with SSO". An unknown organisation and one without an SSO sign-in page get the same
/// answer (403 `not_allowed`), so this says nothing about which organisations exist.
async fn sso_start(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    AppQuery(q): AppQuery<SsoStartQuery>,
) -> AppResult<AppJson<SsoStart>> {
    let ip = crate::client_ip::client_ip(peer.ip(), &headers, &state.cfg.trusted_proxies);
    if !state.login_limit.check(&format!("sso-start|{ip}")) {
        inc(&state.metrics.rate_limited);
        return Err(AppError::RateLimited);
    }
    let slug = q.tenant.trim().to_lowercase();
    let tenant = if slug.is_empty() || slug.len() > 64 { None } else { crate::tenant::by_slug(&state, &slug).await? };
    let login_url = tenant.and_then(|t| t.sso.as_ref().and_then(|s| s.login_url.clone()));
    match login_url {
        Some(login_url) => Ok(AppJson(SsoStart { login_url })),
        None => Err(AppError::phone_msg(mpt_core::PhoneErrorCode::NotAllowed, "single sign-on is not set up for this organisation")),
    }
}
