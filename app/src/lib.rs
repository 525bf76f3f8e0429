//! mpt-app (wasm32, Leptos CSR + `leptos_router`): MPT Phone's standalone web app, served
//! by the api-server at `/` (`api-server/src/routes/app.rs`).
//!
//! The phone is `mpt-ui` on `mpt-web`'s executor (one engine per page, the embeddable
//! widget's host): this crate adds no call logic. Around it: call history, voicemail,
//! contacts, settings and the tenant's admin, all through the REST API with the app's one
//! session (`api.rs`: access token in memory, refresh token in an `HttpOnly` cookie, so a
//! reload keeps the agent signed in), password or SSO sign-in (`sso.rs`). The phone stays
//! mounted while the pages change, so a call survives navigation.
#![deny(clippy::unwrap_used)]

pub mod api;
pub mod error;
pub mod fmt;
pub mod pages;
pub mod phone;
pub mod prefs;
pub mod sso;

use std::rc::Rc;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::path;
use mpt_core::api::Role;
use mpt_core::engine::PhoneView;
use mpt_ui::{Layout, Phone, PhoneHost, Theme};
use wasm_bindgen::prelude::*;

use crate::phone::{AppHost, PhoneCtx};

/// Starts the app in `root` (called once by `static/app.js`).
#[wasm_bindgen(js_name = startApp)]
pub fn start_app(root: web_sys::HtmlElement) -> Result<(), JsValue> {
    if mpt_web::host::started() {
        return Err(JsValue::from_str("MPT Phone is already started on this page"));
    }
    let origin = web_sys::window().map(|w| w.location().origin().unwrap_or_default()).unwrap_or_default();
    // The app is served by the api-server itself: same origin, no widget key.
    mpt_web::net::configure(mpt_web::net::Server { api: origin, widget_key: String::new() });
    let view = RwSignal::new(PhoneView::default());
    mpt_web::host::start(view, true);
    // An SSO return is taken out of the address bar before the router reads it.
    let sso_return = sso::take_return();
    root.set_inner_html("");
    let handle = leptos::mount::mount_to(root, move || view! { <App view=view sso_return=sso_return/> });
    // The app lives as long as the page.
    handle.forget();
    Ok(())
}

#[component]
fn App(view: RwSignal<PhoneView>, sso_return: sso::Return) -> impl IntoView {
    let ctx = PhoneCtx {
        view,
        session: RwSignal::new(None),
        sign_in_error: RwSignal::new(None),
        signing_in: RwSignal::new(false),
        region: RwSignal::new(prefs::region()),
    };
    provide_context(ctx);
    provide_context(api::SessionSignal(ctx.session));
    phone::listen(ctx);
    prefs::apply_audio();
    match sso_return {
        sso::Return::Finish { tenant, assertion } => phone::signed_in_with(ctx, api::sso(tenant, assertion)),
        sso::Return::Start(tenant) => sso::begin(ctx, tenant),
        sso::Return::Failed(message) => ctx.sign_in_error.set(Some(message)),
        // A reload: the cookie's session, if there is one.
        sso::Return::None => phone::signed_in_with(ctx, api::restore()),
    }
    // The phone's session ended on its own (token expired while the tab slept, revoked,
    // agent disabled): one new token decides whether the app's session goes on.
    Effect::new(move |was_signed_in: Option<bool>| {
        let now = view.with(|v| v.agent.is_some());
        if was_signed_in == Some(true) && !now && ctx.session.get_untracked().is_some() {
            phone::phone_lost_session(ctx);
        }
        now
    });
    // What the phone shows: the engine's view, numbers read in the agent's own default
    // region when they chose one (Settings).
    let shown = RwSignal::new(view.get_untracked());
    Effect::new(move |_| {
        let mut v = view.get();
        if let Some(r) = ctx.region.get() {
            v.default_region = r;
        }
        shown.set(v);
    });
    // Kept in a local store: the router's children must be `Send`, the host is not.
    let host = StoredValue::new_local(Rc::new(AppHost { ctx }) as Rc<dyn PhoneHost>);
    let signed_in = move || ctx.session.with(Option::is_some);
    view! {
        <Router>
            <div class="app" data-signed-in=move || signed_in().to_string()>
                // The router would take the fragment link for a navigation: focus the content here.
                <a class="skip" href="#main" on:click=move |ev| {
                    ev.prevent_default();
                    focus_main();
                }>"Skip to content"</a>
                <Show when=signed_in>
                    <Nav/>
                </Show>
                <div class="layout">
                    <aside class="phone-pane" aria-label="Phone">
                        <Show when=move || !signed_in()>
                            <h1 class="brand">"MPT Phone"</h1>
                        </Show>
                        {move || ctx.sign_in_error.get().map(|m| view! {
                            <p class="error" role="alert" data-testid="app-sign-in-error">{m}</p>
                        })}
                        <Show when=move || ctx.signing_in.get() && !signed_in()>
                            <p class="muted" role="status" data-testid="app-signing-in">"Signing in…"</p>
                        </Show>
                        <div prop:hidden=move || ctx.signing_in.get() && !signed_in()>
                            <Phone view=shown host=host.get_value() theme=Theme::default() layout=Layout::default()/>
                        </div>
                        <Show when=move || !signed_in() && !ctx.signing_in.get()>
                            <sso::SsoForm ctx=ctx/>
                        </Show>
                    </aside>
                    <Show when=signed_in>
                        <main id="main" class="content" tabindex="-1">
                            <Routes fallback=|| view! { <p>"This page does not exist."</p> }>
                                <Route path=path!("/") view=pages::home::Home/>
                                <Route path=path!("/calls") view=pages::calls::History/>
                                <Route path=path!("/calls/:id") view=pages::call::CallDetail/>
                                <Route path=path!("/voicemail") view=pages::voicemail::Inbox/>
                                <Route path=path!("/contacts") view=pages::contacts::Contacts/>
                                <Route path=path!("/settings") view=pages::settings::Settings/>
                                <Route path=path!("/admin") view=pages::admin::Admin/>
                                <Route path=path!("/admin/agents") view=pages::admin::Agents/>
                                <Route path=path!("/admin/keys") view=pages::admin::Keys/>
                                <Route path=path!("/admin/origins") view=pages::admin::Origins/>
                                <Route path=path!("/admin/tenant") view=pages::admin::TenantSettings/>
                                <Route path=path!("/admin/telephony") view=pages::admin::Telephony/>
                                <Route path=path!("/admin/billing") view=pages::admin::Billing/>
                                <Route path=path!("/admin/sso") view=pages::admin::Sso/>
                                <Route path=path!("/admin/connectors") view=pages::admin::Connectors/>
                                <Route path=path!("/admin/audit") view=pages::admin::Audit/>
                            </Routes>
                        </main>
                    </Show>
                </div>
            </div>
        </Router>
    }
}

#[component]
fn Nav() -> impl IntoView {
    let ctx = phone::ctx();
    let is_admin = move || ctx.session.with(|s| s.as_ref().is_some_and(|a| a.role == Role::Admin));
    let name = move || ctx.session.with(|s| s.as_ref().map(|a| a.name.clone()).unwrap_or_default());
    // After a client-side navigation, focus moves to the new page's content (as a page
    // load would), so keyboard and screen-reader users land on what changed.
    let location = leptos_router::hooks::use_location();
    Effect::new(move |prev: Option<String>| {
        let path = location.pathname.get();
        if prev.is_some_and(|p| p != path) {
            focus_main();
        }
        path
    });
    view! {
        <header class="topbar">
            <span class="brand">"MPT Phone"</span>
            <nav aria-label="Main">
                <ul>
                    <li><A href="/">"Phone"</A></li>
                    <li><A href="/calls">"Calls"</A></li>
                    <li><A href="/voicemail">"Voicemail"</A></li>
                    <li><A href="/contacts">"Contacts"</A></li>
                    <li><A href="/settings">"Settings"</A></li>
                    <Show when=is_admin>
                        <li><A href="/admin">"Admin"</A></li>
                    </Show>
                </ul>
            </nav>
            <span class="who" data-testid="app-agent">{name}</span>
            <button type="button" class="link" data-testid="app-sign-out" on:click=move |_| phone::sign_out(ctx)>"Sign out"</button>
        </header>
    }
}

/// Moves keyboard focus to the page's content (`#main`, focusable by script only).
fn focus_main() {
    if let Some(main) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("main")) {
        if let Ok(main) = main.dyn_into::<web_sys::HtmlElement>() {
            let _ = main.focus();
        }
    }
}
