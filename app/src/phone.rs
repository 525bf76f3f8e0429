//! The phone in the app: `mpt-ui`'s `Phone` on `mpt-web`'s executor (the same engine and
//! host as the embeddable widget; nothing here decides anything about a call).
//!
//! The app has one session (`api.rs`, its refresh token in an `HttpOnly` cookie). The
//! phone gets that session's access tokens the way an embedding page hands the widget its
//! tokens (`SetAuthToken`): when the app signs in or restores its session after a reload,
//! and again whenever the engine says `token-expiring`. So the password goes to the server
//! once, and the engine never holds a refresh token.
//!
//! [`AppHost`] forwards every command to the engine except the sign-in form's `SignIn`,
//! which the app performs itself; `SignOut` ends the session for both. A `Dial` of a
//! number without a country code is read in the agent's own default region (Settings),
//! when they chose one, before the engine sees it.

use std::cell::Cell;

use leptos::prelude::*;
use mpt_core::api::AgentInfo;
use mpt_core::engine::{DialContact, PhoneCommand, PhoneView};
use mpt_core::phone::{normalize, Region};
use mpt_ui::PhoneHost;
use wasm_bindgen::prelude::*;

use crate::api;
use crate::error::AppError;
use crate::prefs;

/// The phone's view and the app's sign-in state.
#[derive(Clone, Copy)]
pub struct PhoneCtx {
    /// The engine's latest view.
    pub view: RwSignal<PhoneView>,
    /// The app's signed-in agent.
    pub session: RwSignal<Option<AgentInfo>>,
    /// The last sign-in failure of the app's session.
    pub sign_in_error: RwSignal<Option<String>>,
    /// A sign-in (or the restore after a reload) is under way.
    pub signing_in: RwSignal<bool>,
    /// The agent's own default region (Settings), if chosen.
    pub region: RwSignal<Option<String>>,
}

/// The phone context.
pub fn ctx() -> PhoneCtx {
    expect_context::<PhoneCtx>()
}

thread_local! {
    /// When the phone was last handed the session again after losing it (ms): a second
    /// loss soon after means the session is really over.
    static REATTACHED_AT: Cell<f64> = const { Cell::new(0.0) };
}

/// Where `mpt-ui`'s commands go.
pub struct AppHost {
    /// The shared state.
    pub ctx: PhoneCtx,
}

impl PhoneHost for AppHost {
    fn send(&self, cmd: PhoneCommand) {
        let cmd = match cmd {
            PhoneCommand::SignIn { email, password, tenant } => {
                let ctx = self.ctx;
                signed_in_with(ctx, async move { api::login(email, password, tenant).await });
                return;
            }
            PhoneCommand::SignOut => {
                sign_out_app(self.ctx);
                PhoneCommand::SignOut
            }
            PhoneCommand::Dial { number, contact } => PhoneCommand::Dial { number: in_agent_region(&number), contact },
            other => other,
        };
        // The UI shows the engine's refusals in its view.
        let _ = mpt_web::host::command(cmd);
    }
}

/// `number` in E.164 when the agent chose a default region and the number reads as one
/// there; otherwise as typed (the engine reads it in the tenant's region).
fn in_agent_region(number: &str) -> String {
    let Some(region) = prefs::region().and_then(|r| Region::parse(&r).ok()) else { return number.to_string() };
    if number.trim_start().starts_with('+') {
        return number.to_string();
    }
    match normalize(number, region) {
        // An extension stays as typed: the engine dials it after the number.
        Ok(n) if n.ext.is_none() => n.e164.as_str().to_owned(),
        _ => number.to_string(),
    }
}

/// Runs a sign-in (`fut`: password, SSO or the cookie's restore) and, when it worked,
/// hands the phone the session.
pub fn signed_in_with<F>(ctx: PhoneCtx, fut: F)
where
    F: std::future::Future<Output = Result<AgentInfo, AppError>> + 'static,
{
    ctx.sign_in_error.set(None);
    ctx.signing_in.set(true);
    wasm_bindgen_futures::spawn_local(async move {
        match fut.await {
            Ok(agent) => {
                ctx.session.set(Some(agent));
                hand_to_phone();
            }
            Err(AppError::Server { message, .. }) => ctx.sign_in_error.set(Some(message)),
            Err(AppError::SignedOut) => {}
            Err(e) => ctx.sign_in_error.set(Some(e.to_string())),
        }
        ctx.signing_in.set(false);
    });
}

/// Gives the engine the session's current access token (its sign-in, or its renewal).
fn hand_to_phone() {
    if let Some(token) = api::access_token() {
        let _ = mpt_web::host::command(PhoneCommand::SetAuthToken { token });
    }
}

/// Listens to the engine's events: `token-expiring` gets the phone a new token of the
/// session. A session that is over signs the app out; a server out of reach is asked again
/// (2, 4, 8, 16 s) while the old token lasts — a network blip never signs anyone out.
pub fn listen(ctx: PhoneCtx) {
    let f = Closure::<dyn Fn(JsValue, JsValue)>::new(move |name: JsValue, _detail: JsValue| {
        if name.as_string().as_deref() == Some("token-expiring") && ctx.session.get_untracked().is_some() {
            wasm_bindgen_futures::spawn_local(async move {
                for wait_ms in [2_000, 4_000, 8_000, 16_000, 0] {
                    match api::fresh_access_token().await {
                        Ok(Some(token)) => {
                            let _ = mpt_web::host::command(PhoneCommand::SetAuthToken { token });
                            return;
                        }
                        Ok(None) => {
                            ctx.session.set(None);
                            api::forget();
                            let _ = mpt_web::host::command(PhoneCommand::SignOut);
                            ctx.sign_in_error.set(Some("Your session ended. Sign in again.".into()));
                            return;
                        }
                        Err(_) if wait_ms > 0 && ctx.session.get_untracked().is_some() => api::sleep_ms(wait_ms).await,
                        // Still out of reach: the phone's token runs out and `phone_lost_session` decides.
                        Err(_) => return,
                    }
                }
            });
        }
    });
    mpt_web::host::listen(f.into_js_value().unchecked_into());
}

/// The phone lost its session while the app still has one (its token ran out while the
/// tab slept, or the server ended the session: signed out elsewhere, agent disabled).
/// One new token decides: the session goes on, or the app signs out too.
pub fn phone_lost_session(ctx: PhoneCtx) {
    let now = js_sys::Date::now();
    let recent = now - REATTACHED_AT.with(Cell::get) < 30_000.0;
    REATTACHED_AT.with(|c| c.set(now));
    if recent {
        sign_out_app(ctx);
        return;
    }
    wasm_bindgen_futures::spawn_local(async move {
        match api::fresh_access_token().await {
            Ok(Some(token)) => {
                let _ = mpt_web::host::command(PhoneCommand::DismissError);
                let _ = mpt_web::host::command(PhoneCommand::SetAuthToken { token });
            }
            Ok(None) => {
                ctx.session.set(None);
                api::forget();
            }
            // The server is out of reach: the app stays signed in (its pages say so on their
            // requests) and the next sign-in or reload hands the phone a token again.
            Err(e) => ctx.sign_in_error.set(Some(format!("The phone lost its connection to the server: {e}. Reload to reconnect."))),
        }
    });
}

/// Ends the app's session (the engine's is ended by its own `SignOut`).
pub fn sign_out_app(ctx: PhoneCtx) {
    ctx.session.set(None);
    wasm_bindgen_futures::spawn_local(api::logout());
}

/// Signs out everywhere (the app's header button).
pub fn sign_out(ctx: PhoneCtx) {
    sign_out_app(ctx);
    let _ = mpt_web::host::command(PhoneCommand::SignOut);
}

/// Calls `number` from the phone (history's and voicemail's "Call back").
pub fn dial(number: &str, contact_id: Option<String>, contact_name: Option<String>) {
    let contact = (contact_id.is_some() || contact_name.is_some()).then_some(DialContact {
        id: contact_id,
        name: contact_name,
        company: None,
        crm: None,
    });
    let _ = mpt_web::host::command(PhoneCommand::Dial { number: in_agent_region(number), contact });
}
