//! The app's own REST client: the agent's session for the pages (history, voicemail,
//! admin), kept in memory only — never in storage, so a page reload signs in again — and
//! refreshed once on a 401 (single use refresh tokens: one refresh at a time).
//!
//! The phone has its session of its own inside the engine (`mpt-web`'s executor): the one
//! sign-in form sends the same credentials to both (`phone.rs`), and signing out ends both.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use mpt_core::api::{AgentInfo, AuthResponse, LoginRequest, RefreshRequest};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

use crate::error::AppError;

#[derive(Clone)]
struct Tokens {
    access: String,
    refresh: String,
}

thread_local! {
    static TOKENS: RefCell<Option<Tokens>> = const { RefCell::new(None) };
    /// The refresh in progress (single flight): its outcome, once known, for every caller
    /// that hit a 401 meanwhile.
    static REFRESHING: RefCell<Option<Outcome>> = const { RefCell::new(None) };
}

type Outcome = Rc<RefCell<Option<bool>>>;

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

async fn raw(method: &str, path: &str, body: Option<String>, bearer: Option<&str>) -> Result<Response, AppError> {
    let init = RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new()?;
    headers.set("Accept", "application/json")?;
    if let Some(b) = &body {
        headers.set("Content-Type", "application/json")?;
        init.set_body(&JsValue::from_str(b));
    }
    if let Some(t) = bearer {
        headers.set("Authorization", &format!("Bearer {t}"))?;
    }
    init.set_headers(&headers);
    init.set_credentials(web_sys::RequestCredentials::Omit);
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

/// Signs the app in; `Ok` with the agent.
pub async fn login(email: String, password: String, tenant: Option<String>) -> Result<AgentInfo, AppError> {
    let body = serde_json::to_string(&LoginRequest { email, password, tenant })?;
    let resp = raw("POST", "/api/auth/login", Some(body), None).await?;
    if !resp.ok() {
        return Err(error_of(&resp).await);
    }
    let auth: AuthResponse = serde_json::from_str(&text(&resp).await?)?;
    TOKENS.with(|t| *t.borrow_mut() = Some(Tokens { access: auth.access_token, refresh: auth.refresh_token }));
    Ok(auth.agent)
}

/// Ends the app's session on the server (best effort) and forgets it.
pub async fn logout() {
    let tokens = TOKENS.with(|t| t.borrow_mut().take());
    if let Some(t) = tokens {
        let body = serde_json::to_string(&RefreshRequest { refresh_token: t.refresh }).unwrap_or_default();
        let _ = raw("POST", "/api/auth/logout", Some(body), Some(&t.access)).await;
    }
}

/// Forgets the session locally (it ended on the server).
pub fn forget() {
    TOKENS.with(|t| *t.borrow_mut() = None);
}

/// One refresh at a time: a second caller waits for the first's outcome.
async fn refresh() -> bool {
    if let Some(shared) = REFRESHING.with(|r| r.borrow().clone()) {
        // Another refresh is out: wait for it.
        loop {
            if let Some(ok) = *shared.borrow() {
                return ok;
            }
            sleep_ms(50).await;
        }
    }
    let shared = Outcome::default();
    REFRESHING.with(|r| *r.borrow_mut() = Some(shared.clone()));
    let ok = do_refresh().await;
    *shared.borrow_mut() = Some(ok);
    REFRESHING.with(|r| *r.borrow_mut() = None);
    ok
}

async fn do_refresh() -> bool {
    let Some(t) = TOKENS.with(|t| t.borrow().clone()) else { return false };
    let Ok(body) = serde_json::to_string(&RefreshRequest { refresh_token: t.refresh }) else { return false };
    let Ok(resp) = raw("POST", "/api/auth/refresh", Some(body), None).await else { return false };
    if !resp.ok() {
        return false;
    }
    let Ok(Ok(auth)) = text(&resp).await.map(|b| serde_json::from_str::<AuthResponse>(&b)) else { return false };
    TOKENS.with(|t| *t.borrow_mut() = Some(Tokens { access: auth.access_token, refresh: auth.refresh_token }));
    true
}

async fn sleep_ms(ms: i32) {
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
        let Some(access) = TOKENS.with(|t| t.borrow().as_ref().map(|t| t.access.clone())) else {
            return Err(AppError::SignedOut);
        };
        let resp = raw(method, path, body.clone(), Some(&access)).await?;
        if resp.status() != 401 {
            return if resp.ok() { Ok(resp) } else { Err(error_of(&resp).await) };
        }
        if attempt == 0 && refresh().await {
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
