//! Signing in and out, keeping the access token fresh, authenticated requests.

use mpt_core::api::{AuthResponse, ClientConfig, LoginRequest, RefreshRequest};
use mpt_core::msg::ServerLink;
use serde::{de::DeserializeOwned, Serialize};

use crate::app::{self, Session};
use crate::chrome;
use crate::error::BgError;
use crate::{events, server};

/// Alarm that refreshes the access token shortly before it expires.
pub const REFRESH_ALARM: &str = "mpt-refresh";
/// Refresh this long before expiry.
const REFRESH_MARGIN_MS: f64 = 60_000.0;

fn session_from(r: AuthResponse) -> Session {
    Session {
        access_expires_at_ms: chrome::now_ms() + (r.expires_in as f64) * 1000.0,
        access_token: r.access_token,
        refresh_token: r.refresh_token,
        email: r.agent.email,
        agent_id: r.agent.id,
    }
}

async fn install(session: Session) -> Result<(), BgError> {
    let when = (session.access_expires_at_ms - REFRESH_MARGIN_MS).max(chrome::now_ms() + 30_000.0);
    app::with(|a| a.session = Some(session));
    app::save_session().await?;
    chrome::alarm_at(REFRESH_ALARM, when).await
}

/// Signs in with email and password, then loads the tenant config and opens the event socket.
pub async fn sign_in(email: String, password: String) -> Result<(), BgError> {
    let email = email.trim().to_owned();
    if email.is_empty() || password.is_empty() {
        return Err(BgError::Rejected("Enter your email and password".into()));
    }
    let base = app::with(|a| a.server_url.clone());
    let body = LoginRequest { email, password, tenant: None };
    let res: Result<AuthResponse, BgError> =
        server::request(&base, "POST", "/api/auth/login", Some(&body), None).await;
    let auth = match res {
        Ok(a) => a,
        Err(e) => {
            if matches!(e, BgError::Unreachable(_)) {
                app::set_link(ServerLink::Unreachable);
            }
            return Err(e);
        }
    };
    app::set_link(ServerLink::Online);
    install(session_from(auth)).await?;
    after_sign_in().await;
    Ok(())
}

/// Loads the tenant config and opens the event socket (errors only change the link state).
pub async fn after_sign_in() {
    match authed::<(), ClientConfig>("GET", "/api/config", None).await {
        Ok(cfg) => {
            app::with(|a| a.sandbox = cfg.sandbox);
            app::set_link(ServerLink::Online);
        }
        Err(BgError::Unreachable(_)) => app::set_link(ServerLink::Unreachable),
        Err(_) => {}
    }
    events::connect();
    app::broadcast();
}

/// Forgets the session (and tells the server, best effort).
pub async fn sign_out() -> Result<(), BgError> {
    let (base, refresh) = app::with(|a| {
        (a.server_url.clone(), a.session.as_ref().map(|s| s.refresh_token.clone()))
    });
    events::disconnect();
    app::with(|a| {
        a.session = None;
        a.sandbox = false;
        a.link = ServerLink::Unknown;
    });
    app::save_session().await?;
    let _ = chrome::alarm_clear(REFRESH_ALARM).await;
    app::broadcast();
    if let Some(refresh_token) = refresh {
        let body = RefreshRequest { refresh_token };
        let _: Result<serde_json::Value, _> =
            server::request(&base, "POST", "/api/auth/logout", Some(&body), None).await;
    }
    Ok(())
}

/// Exchanges the refresh token for a new session. A rejected refresh token signs out.
pub async fn refresh() -> Result<(), BgError> {
    let (base, token) = app::with(|a| {
        (a.server_url.clone(), a.session.as_ref().map(|s| s.refresh_token.clone()))
    });
    let Some(refresh_token) = token else {
        return Err(BgError::SignedOut);
    };
    let body = RefreshRequest { refresh_token };
    match server::request::<_, AuthResponse>(&base, "POST", "/api/auth/refresh", Some(&body), None).await {
        Ok(auth) => {
            app::set_link(ServerLink::Online);
            install(session_from(auth)).await
        }
        Err(e @ BgError::Server { status: 400..=403, .. }) => {
            sign_out().await?;
            Err(e)
        }
        Err(e) => {
            if matches!(e, BgError::Unreachable(_)) {
                app::set_link(ServerLink::Unreachable);
            }
            Err(e)
        }
    }
}

/// A fresh access token (refreshing first when it is about to expire).
pub async fn access_token() -> Result<String, BgError> {
    let (tok, exp) = app::with(|a| {
        a.session
            .as_ref()
            .map(|s| (s.access_token.clone(), s.access_expires_at_ms))
            .unzip()
    });
    let (Some(tok), Some(exp)) = (tok, exp) else {
        return Err(BgError::SignedOut);
    };
    if exp - chrome::now_ms() > 15_000.0 {
        return Ok(tok);
    }
    refresh().await?;
    app::with(|a| a.session.as_ref().map(|s| s.access_token.clone())).ok_or(BgError::SignedOut)
}

/// An authenticated request; on 401 refreshes once and retries.
pub async fn authed<B: Serialize, T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<&B>,
) -> Result<T, BgError> {
    let base = app::with(|a| a.server_url.clone());
    let tok = access_token().await?;
    match server::request(&base, method, path, body, Some(&tok)).await {
        Err(e) if e.is_unauthorized() => {
            refresh().await?;
            let tok = access_token().await?;
            server::request(&base, method, path, body, Some(&tok)).await
        }
        Err(e @ BgError::Unreachable(_)) => {
            app::set_link(ServerLink::Unreachable);
            Err(e)
        }
        other => other,
    }
}
