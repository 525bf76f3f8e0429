//! "Sign in with SSO": the agent names their organisation, the app sends them to its
//! sign-in page (the CRM, `login_url` in the tenant's SSO settings) with `return_to` =
//! `<origin>/sso` and a random `state`; the CRM signs them in and sends them back to
//! `/sso#assertion=<JWT>&state=<state>`. The JWT is in the fragment, so it never reaches a
//! server log or a `Referer`; the app takes it out of the address bar at once and exchanges
//! it for the cookie session (`POST /api/app/session/sso`).
//!
//! `state` is kept in this tab's `sessionStorage` and must come back unchanged: a JWT
//! pushed at the app by another site (signing the agent in as someone else) is refused.
//! `/sso?tenant=<slug>` starts SSO at once (a link an admin can give their agents).

use gloo_storage::{SessionStorage, Storage};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api;
use crate::error::AppError;
use crate::phone::PhoneCtx;
use crate::prefs;

/// `sessionStorage` key of the SSO sign-in under way in this tab.
const STATE_KEY: &str = "mpt.app.ssoState";
/// Where the organisation's sign-in page sends the agent back.
pub const RETURN_PATH: &str = "/sso";

#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    tenant: String,
}

/// What the address said when the app started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Return {
    /// Not an SSO return: restore the session from its cookie, if any.
    None,
    /// `/sso?tenant=…`: start SSO for that organisation.
    Start(String),
    /// The organisation's sign-in page sent a JWT for the sign-in this tab started.
    Finish {
        /// The organisation.
        tenant: String,
        /// The JWT.
        assertion: String,
    },
    /// Something to tell the agent instead.
    Failed(String),
}

/// Reads an SSO return from the address (at `/sso`) and clears it from the address bar
/// and history before anything else runs.
pub fn take_return() -> Return {
    let Some(w) = web_sys::window() else { return Return::None };
    let loc = w.location();
    if loc.pathname().ok().as_deref() != Some(RETURN_PATH) {
        return Return::None;
    }
    let hash = loc.hash().unwrap_or_default();
    let search = loc.search().unwrap_or_default();
    if let Ok(h) = w.history() {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/"));
    }
    let param = |s: &str, name: &str| web_sys::UrlSearchParams::new_with_str(s).ok().and_then(|p| p.get(name)).filter(|v| !v.is_empty());
    let fragment = hash.trim_start_matches('#');
    if let Some(assertion) = param(fragment, "assertion") {
        // Used once: read and forgotten.
        let pending: Option<Pending> = SessionStorage::get(STATE_KEY).ok();
        SessionStorage::delete(STATE_KEY);
        return match (pending, param(fragment, "state")) {
            (Some(p), Some(state)) if p.state == state => Return::Finish { tenant: p.tenant, assertion },
            _ => Return::Failed("This single sign-on was not started from this tab. Choose “Continue with SSO” again.".into()),
        };
    }
    if let Some(e) = param(fragment, "error") {
        return Return::Failed(format!("Your organisation's sign-in page answered: {e}"));
    }
    match param(&search, "tenant") {
        Some(t) => Return::Start(t),
        None => Return::None,
    }
}

fn random_state() -> Result<String, AppError> {
    let w = web_sys::window().ok_or_else(|| AppError::Network("no window".into()))?;
    let mut bytes = [0u8; 16];
    w.crypto()?.get_random_values_with_u8_array(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Sends the agent to `tenant`'s sign-in page.
pub async fn start(tenant: String) -> Result<(), AppError> {
    let tenant = tenant.trim().to_lowercase();
    if tenant.is_empty() {
        return Err(AppError::Server { status: 400, code: "bad_request".into(), message: "Enter your organisation's ID.".into() });
    }
    let login_url = api::sso_login_url(&tenant).await?;
    let w = web_sys::window().ok_or_else(|| AppError::Network("no window".into()))?;
    let state = random_state()?;
    SessionStorage::set(STATE_KEY, Pending { state: state.clone(), tenant: tenant.clone() })
        .map_err(|e| AppError::Network(format!("session storage: {e}")))?;
    prefs::set_sso_tenant(&tenant);
    let url = web_sys::Url::new(&login_url)?;
    let origin = w.location().origin()?;
    url.search_params().set("return_to", &format!("{origin}{RETURN_PATH}"));
    url.search_params().set("state", &state);
    w.location().assign(&url.href())?;
    Ok(())
}

/// Starts SSO for `tenant`; a failure is shown as the sign-in error.
pub fn begin(ctx: PhoneCtx, tenant: String) {
    ctx.sign_in_error.set(None);
    ctx.signing_in.set(true);
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = start(tenant).await {
            ctx.sign_in_error.set(Some(e.to_string()));
            ctx.signing_in.set(false);
        }
        // Otherwise the page is leaving for the organisation's sign-in page.
    });
}

/// The sign-in page's second way in: the organisation's single sign-on.
#[component]
pub fn SsoForm(ctx: PhoneCtx) -> impl IntoView {
    let tenant = RwSignal::new(prefs::sso_tenant().unwrap_or_default());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        begin(ctx, tenant.get_untracked());
    };
    view! {
        <section class="sso" aria-labelledby="sso-heading">
            <h2 id="sso-heading">"Single sign-on"</h2>
            <form class="stack" data-testid="sso-form" on:submit=submit>
                <label>"Organisation ID"
                    <input type="text" autocomplete="organization" required spellcheck="false" data-testid="sso-tenant"
                        prop:value=move || tenant.get() on:input=move |ev| tenant.set(event_target_value(&ev))/>
                </label>
                <button type="submit" data-testid="sso-submit">"Continue with SSO"</button>
            </form>
        </section>
    }
}
