//! The app's own REST client and its one session.
//!
//! The session is the web app's cookie session (`api-server/src/routes/app_session.rs`):
//! the refresh token lives only in an `HttpOnly`, `SameSite=Strict` cookie scoped to
//! `/api/app/session`, which page script can neither read nor send elsewhere; the access
//! token lives in memory only. A reload therefore restores the session with one refresh
//! ([`restore`]) and nothing readable is ever stored. Refreshes are single flight (single
//! use refresh tokens: one refresh at a time).
//!
//! The phone's engine (`mpt-web`'s executor) gets this session's access tokens as a host
//! page hands its embed tokens over (`phone.rs`): one sign-in, one session, one sign-out.

use std::cell::RefCell;

use futures::future::{FutureExt, LocalBoxFuture, Shared};

use leptos::prelude::*;
use mpt_core::api::{AgentInfo, AuthResponse, LoginRequest, SsoRequest};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

use crate::error::AppError;

thread_local! {
    /// The access token (memory only).
    static ACCESS: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The refresh in progress (single flight): every caller that hits a 401 meanwhile
    /// awaits the same one.
    static REFRESHING: RefCell<Option<Flight>> = const { RefCell::new(None) };
}

/// A refresh's outcome: the agent (the session goes on), `Ok(None)` (there is no session:
/// no cookie, or the server refused it), or a failure to reach the server (try again).
type Refreshed = Result<Option<AgentInfo>, AppError>;
type Flight = Shared<LocalBoxFuture<'static, Refreshed>>;

/// The signed-in agent (the app's session), or `None`.
#[derive(Clone, Copy)]
pub struct SessionSignal(pub RwSignal<Option<AgentInfo>>);

/// The session signal in context.
pub fn session() -> RwSignal<Option<AgentInfo>> {
    expect_context::<SessionSignal>().0
}

fn window() -> Result<web_sys::Window, AppError> {
    web_sys::window().ok_or_else(|| AppError::Network("no window".into()))
}

/// Which credential a request carries: the bearer token, the session cookie (only the
/// `/api/app/session/*` endpoints, where the browser sends it), or none.
enum Cred<'a> {
    None,
    Bearer(&'a str),
    Cookie,
}

async fn raw(method: &str, path: &str, body: Option<String>, cred: Cred<'_>) -> Result<Response, AppError> {
    let init = RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new()?;
    headers.set("Accept", "application/json")?;
    if let Some(b) = &body {
        headers.set("Content-Type", "application/json")?;
        init.set_body(&JsValue::from_str(b));
    }
    if let Cred::Bearer(t) = cred {
        headers.set("Authorization", &format!("Bearer {t}"))?;
    }
    init.set_headers(&headers);
    init.set_credentials(if matches!(cred, Cred::Cookie) {
        web_sys::RequestCredentials::SameOrigin
    } else {
        web_sys::RequestCredentials::Omit
    });
    let req = Request::new_with_str_and_init(path, &init)?;
    let resp: Response = JsFuture::from(window()?.fetch_with_request(&req)).await?.dyn_into()?;
    Ok(resp)
}

async fn text(resp: &Response) -> Result<String, AppError> {
    Ok(JsFuture::from(resp.text()?).await?.as_string().unwrap_or_default())
}

async fn error_of(resp: &Response) -> AppError {
    let status = resp.status();
    let body = text(resp).await.unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let code = v["error"]["code"].as_str().unwrap_or("internal").to_string();
    let message = v["error"]["message"].as_str().map(str::to_string).unwrap_or_else(|| format!("HTTP {status}"));
    AppError::Server { status, code, message }
}

/// A session answer of `/api/app/session/*`: keeps the access token.
async fn session_answer(resp: Response) -> Result<AgentInfo, AppError> {
    if !resp.ok() {
        return Err(error_of(&resp).await);
    }
    let auth: AuthResponse = serde_json::from_str(&text(&resp).await?)?;
    ACCESS.with(|t| *t.borrow_mut() = Some(auth.access_token));
    Ok(auth.agent)
}

/// Signs in with a password.
pub async fn login(email: String, password: String, tenant: Option<String>) -> Result<AgentInfo, AppError> {
    let body = serde_json::to_string(&LoginRequest { email, password, tenant })?;
    session_answer(raw("POST", "/api/app/session/login", Some(body), Cred::Cookie).await?).await
}

/// Signs in with the JWT the organisation's sign-in page sent back.
pub async fn sso(tenant: String, assertion: String) -> Result<AgentInfo, AppError> {
    let body = serde_json::to_string(&SsoRequest { tenant, assertion })?;
    session_answer(raw("POST", "/api/app/session/sso", Some(body), Cred::Cookie).await?).await
}

/// The organisation's SSO sign-in page (`GET /api/app/sso`).
pub async fn sso_login_url(tenant: &str) -> Result<String, AppError> {
    let resp = raw("GET", &format!("/api/app/sso{}", query(&[("tenant", tenant.to_string())])), None, Cred::None).await?;
    if !resp.ok() {
        return Err(error_of(&resp).await);
    }
    let v: serde_json::Value = serde_json::from_str(&text(&resp).await?)?;
    v["login_url"].as_str().map(str::to_string).ok_or_else(|| AppError::Decode("no login_url".into()))
}

/// The session the cookie holds (after a reload); [`AppError::SignedOut`] when there is none.
pub async fn restore() -> Result<AgentInfo, AppError> {
    refresh().await?.ok_or(AppError::SignedOut)
}

/// Ends the session on the server (best effort) and forgets it.
pub async fn logout() {
    forget();
    let _ = raw("POST", "/api/app/session/logout", None, Cred::Cookie).await;
}

/// Forgets the access token (the session ended on the server).
pub fn forget() {
    ACCESS.with(|t| *t.borrow_mut() = None);
}

/// The current access token.
pub fn access_token() -> Option<String> {
    ACCESS.with(|t| t.borrow().clone())
}

/// A new access token of the session (for the phone, whose token is about to expire):
/// `Ok(None)` when the session is over, `Err` when the server could not be reached.
pub async fn fresh_access_token() -> Result<Option<String>, AppError> {
    Ok(refresh().await?.and_then(|_| access_token()))
}

/// One refresh at a time: a caller that comes while one is out awaits its outcome.
async fn refresh() -> Refreshed {
    let flight = REFRESHING.with(|r| r.borrow_mut().get_or_insert_with(|| refresh_once().boxed_local().shared()).clone());
    flight.await
}

/// The refresh itself; the next 401 after it starts a new one.
async fn refresh_once() -> Refreshed {
    let outcome = match raw("POST", "/api/app/session/refresh", None, Cred::Cookie).await {
        // 204: no cookie, no session.
        Ok(resp) if resp.status() == 204 => Ok(None),
        Ok(resp) => match session_answer(resp).await {
            Ok(agent) => Ok(Some(agent)),
            // Refused (expired, reused, revoked, disabled): the session is over.
            Err(AppError::Server { status, .. }) if (400..500).contains(&status) => Ok(None),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    REFRESHING.with(|r| *r.borrow_mut() = None);
    outcome
}

/// Waits `ms` milliseconds.
pub async fn sleep_ms(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(p).await;
}

/// An authenticated request; a 401 refreshes once and retries. The session ending is
/// [`AppError::SignedOut`].
pub async fn send(method: &str, path: &str, body: Option<String>) -> Result<Response, AppError> {
    for attempt in 0..2 {
        let Some(access) = access_token() else {
            return Err(AppError::SignedOut);
        };
        let resp = raw(method, path, body.clone(), Cred::Bearer(&access)).await?;
        if resp.status() != 401 {
            return if resp.ok() { Ok(resp) } else { Err(error_of(&resp).await) };
        }
        if attempt == 0 && matches!(refresh().await, Ok(Some(_))) {
            continue;
        }
        forget();
        return Err(AppError::SignedOut);
    }
    Err(AppError::SignedOut)
}

/// GET JSON.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, AppError> {
    let resp = send("GET", path, None).await?;
    Ok(serde_json::from_str(&text(&resp).await?)?)
}

/// A method with a JSON body; the answer as JSON (`null` for 204).
pub async fn json<B: Serialize>(method: &str, path: &str, body: &B) -> Result<serde_json::Value, AppError> {
    let resp = send(method, path, Some(serde_json::to_string(body)?)).await?;
    let t = text(&resp).await?;
    Ok(if t.is_empty() { serde_json::Value::Null } else { serde_json::from_str(&t)? })
}

/// A method without a body.
pub async fn call(method: &str, path: &str) -> Result<(), AppError> {
    send(method, path, None).await.map(|_| ())
}

/// A download (CSV, recording) as an object URL of its bytes, for a link or an
/// `<audio>`: fetched with the bearer token, so no credential is ever in a URL. The
/// caller revokes it when done.
pub async fn object_url(path: &str) -> Result<String, AppError> {
    let resp = send("GET", path, None).await?;
    let blob: web_sys::Blob = JsFuture::from(resp.blob()?).await?.dyn_into()?;
    Ok(web_sys::Url::create_object_url_with_blob(&blob)?)
}

/// `?a=b&c=d` from pairs with values (URL-encoded).
pub fn query(pairs: &[(&str, String)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", String::from(js_sys::encode_uri_component(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}
