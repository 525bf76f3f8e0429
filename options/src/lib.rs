//! mpt-options (wasm32): the extension's options page (`options_ui`).
//!
//! Server URL (asks for its host permission in the agent's click), default region (the
//! tenant's from `/api/me` unless the agent overrides it), the enabled sites, what `tel:`
//! links do, audio devices with a microphone level test, sign out. The administrator's
//! managed storage presets fields and locks those listed in `locked` (shown disabled).
//!
//! Settings the worker owns (server, sites, session) go through it as
//! `OptionsToBackground`; the agent's preferences that content scripts read too are in
//! `chrome.storage.sync` ([`bridge`]). *Why a crate of its own, not `mpt-ui`:* the popup's
//! wasm has a hard size budget and nothing here belongs in a phone UI that the widget hosts too.
#![deny(clippy::unwrap_used)]

pub mod audio;
pub mod bridge;
pub mod error;

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use mpt_core::msg::{OptionsToBackground, Settings};
use mpt_core::phone::Region;
use mpt_core::site::{pattern_of, server_origin, site_of_url};
use wasm_bindgen::prelude::*;
use web_sys::MediaDeviceKind;

use bridge::{MIC_KEY, REGION_KEY, RINGTONE_KEY, SPEAKER_KEY, TEL_KEY};

/// Mounts the page.
#[wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(App);
}

#[derive(Clone, Copy)]
struct Page {
    settings: RwSignal<Option<Settings>>,
    error: RwSignal<Option<String>>,
    saved: RwSignal<Option<&'static str>>,
}

impl Page {
    fn send(self, msg: OptionsToBackground, done: Option<&'static str>) {
        spawn_local(async move {
            match bridge::request(&msg).await {
                Ok(s) => {
                    self.settings.set(Some(s));
                    self.error.set(None);
                    self.saved.set(done);
                }
                Err(e) => self.error.set(Some(e.to_string())),
            }
        });
    }
    fn locked(self, option: &str) -> bool {
        self.settings.with(|s| s.as_ref().is_some_and(|s| s.locked.iter().any(|l| l == option)))
    }
    fn fail(self, e: impl ToString) {
        self.error.set(Some(e.to_string()));
    }
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let page = Page { settings: RwSignal::new(None), error: RwSignal::new(None), saved: RwSignal::new(None) };
    page.send(OptionsToBackground::GetSettings, None);
    view! {
        <main data-testid="options">
            <h1>"MPT Phone options"</h1>
            {move || page.error.get().map(|e| view! { <p class="error" role="alert" data-testid="options-error">{e}</p> })}
            {move || page.saved.get().map(|s| view! { <p class="ok" role="status" data-testid="options-saved">{s}</p> })}
            <Show when=move || page.settings.with(Option::is_some) fallback=|| view! { <p class="hint">"Loading…"</p> }>
                <ServerSection page=page/>
                <RegionSection page=page/>
                <TelSection page=page/>
                <SitesSection page=page/>
                <AudioSection/>
                <AccountSection page=page/>
            </Show>
        </main>
    }
}

fn locked_note(page: Page, option: &'static str) -> impl IntoView {
    move || {
        page.locked(option)
            .then(|| view! { <span class="locked" data-testid=format!("locked-{option}")>" Set by your administrator."</span> })
    }
}

#[component]
fn ServerSection(page: Page) -> impl IntoView {
    let current = move || page.settings.with(|s| s.as_ref().map(|s| s.server_url.clone()).unwrap_or_default());
    let draft = RwSignal::new(current());
    Effect::new(move |_| draft.set(current()));
    let save = move |_| {
        let url = draft.get_untracked();
        if url.trim().is_empty() {
            return page.send(OptionsToBackground::SetServerUrl { url }, Some("Server reset to the built-in one."));
        }
        let origin = match server_origin(&url) {
            Ok(o) => o,
            Err(e) => return page.fail(e.message()),
        };
        // Host permission for the server, asked in this click (a gesture is required).
        let asked = bridge::ask(&[format!("{origin}/*")]);
        spawn_local(async move {
            let granted = match asked {
                Ok(f) => f.await.map(|v| v.as_bool() == Some(true)).unwrap_or(false),
                Err(_) => false,
            };
            if granted {
                page.send(OptionsToBackground::SetServerUrl { url: origin }, Some("Server saved. Sign in again."));
            } else {
                page.fail(format!("MPT Phone needs access to {origin} to use it as its server."));
            }
        });
    };
    view! {
        <section data-testid="server-section">
            <h2>"Server"</h2>
            <label>"Server URL "
                <input type="url" data-testid="server-url" prop:value=move || draft.get()
                    prop:disabled=move || page.locked("server_url")
                    on:input=move |ev| draft.set(event_target_value(&ev))/>
                {locked_note(page, "server_url")}
            </label>
            <p class="hint">"Built in: " {move || page.settings.with(|s| s.as_ref().map(|s| s.built_in_server_url.clone()))}</p>
            <button type="button" class="primary" data-testid="server-save" prop:disabled=move || page.locked("server_url") on:click=save>"Save server"</button>
        </section>
    }
}

#[component]
fn RegionSection(page: Page) -> impl IntoView {
    let chosen = RwSignal::new(String::new());
    let preset = RwSignal::new(None::<String>);
    spawn_local(async move {
        chosen.set(bridge::pref(REGION_KEY).await.unwrap_or_default());
        preset.set(bridge::managed("default_region").await);
    });
    let tenant = move || page.settings.with(|s| s.as_ref().and_then(|s| s.tenant_region.clone()));
    let shown = move || if page.locked("default_region") { preset.get().unwrap_or_default() } else { chosen.get() };
    let save = move |ev| {
        let v = event_target_value(&ev).trim().to_ascii_uppercase();
        if !v.is_empty() && Region::parse(&v).is_err() {
            return page.fail(format!("“{v}” is not a region MPT Phone knows (use a two-letter code like US, GB, DE)."));
        }
        chosen.set(v.clone());
        spawn_local(async move {
            match bridge::set_pref(REGION_KEY, &v).await {
                Ok(()) => {
                    page.error.set(None);
                    page.saved.set(Some("Default region saved: pages opened from now on use it."));
                }
                Err(e) => page.fail(e),
            }
        });
    };
    view! {
        <section data-testid="region-section">
            <h2>"Default region"</h2>
            <label>"Numbers without a country code are read as "
                <input type="text" maxlength="2" size="3" data-testid="default-region" prop:value=shown
                    placeholder=move || preset.get().or_else(tenant).unwrap_or_else(|| "US".into())
                    prop:disabled=move || page.locked("default_region") on:change=save/>
                {locked_note(page, "default_region")}
            </label>
            <p class="hint" data-testid="tenant-region">{move || match tenant() {
                Some(r) => format!("Your company's default: {r}. Leave empty to use it."),
                None => "Sign in to see your company's default; leave empty to use it (or your browser's language).".to_owned(),
            }}</p>
        </section>
    }
}

#[component]
fn TelSection(page: Page) -> impl IntoView {
    let mode = RwSignal::new("mpt".to_owned());
    spawn_local(async move {
        let locked = bridge::managed("tel_links").await;
        let own = bridge::pref(TEL_KEY).await;
        if let Some(v) = own.or(locked).filter(|v| v == "browser" || v == "mpt") {
            mode.set(v);
        }
    });
    let save = move |ev| {
        let v = event_target_value(&ev);
        mode.set(v.clone());
        spawn_local(async move {
            match bridge::set_pref(TEL_KEY, &v).await {
                Ok(()) => page.saved.set(Some("tel: link behaviour saved.")),
                Err(e) => page.fail(e),
            }
        });
    };
    view! {
        <section data-testid="tel-section">
            <h2>"Phone links (tel:)"</h2>
            <label>"Clicking a tel: link "
                <select data-testid="tel-links" prop:value=move || mode.get() prop:disabled=move || page.locked("tel_links") on:change=save>
                    <option value="mpt">"calls with MPT Phone"</option>
                    <option value="browser">"is left to the browser"</option>
                </select>
                {locked_note(page, "tel_links")}
            </label>
        </section>
    }
}

#[component]
fn SitesSection(page: Page) -> impl IntoView {
    let sites = move || page.settings.with(|s| s.as_ref().map(|s| s.sites.clone()).unwrap_or_default());
    let managed = move || {
        page.settings.with(|s| {
            let Some(s) = s.as_ref() else { return Vec::new() };
            s.managed_sites.iter().filter_map(|o| site_of_url(o)).filter(|m| !s.sites.iter().any(|x| &x.site == m)).collect::<Vec<_>>()
        })
    };
    view! {
        <section data-testid="sites-section">
            <h2>"Sites"</h2>
            <p class="hint">"MPT Phone runs on your company's CRMs and on the sites you enabled from its toolbar popup (“Enable on this site”)."</p>
            <ul class="sites" data-testid="sites">
                <For each=sites key=|s| s.site.clone() let:s>
                    {
                        let site = s.site.clone();
                        view! {
                            <li data-testid="site" data-site=s.site.clone()><span>{s.site.clone()}</span>
                                <button type="button" data-testid="site-remove" prop:disabled=move || page.locked("sites")
                                    on:click=move |_| page.send(OptionsToBackground::DisableSite { site: site.clone() }, Some("Site disabled."))>"Disable"</button>
                            </li>
                        }
                    }
                </For>
            </ul>
            {move || sites().is_empty().then(|| view! { <p class="hint" data-testid="no-sites">"No sites enabled yet."</p> })}
            <ul class="sites" data-testid="managed-sites">
                <For each=managed key=|s| s.clone() let:site>
                    {
                        let pattern = pattern_of(&site);
                        view! {
                            <li data-testid="managed-site"><span>{site.clone()} " (from your administrator)"</span>
                                <button type="button" on:click=move |_| {
                                    let asked = bridge::ask(std::slice::from_ref(&pattern));
                                    spawn_local(async move {
                                        if let Ok(f) = asked { let _ = f.await; }
                                        page.send(OptionsToBackground::GetSettings, None);
                                    });
                                }>"Allow"</button>
                            </li>
                        }
                    }
                </For>
            </ul>
        </section>
    }
}

#[component]
fn AudioSection() -> impl IntoView {
    let mics = RwSignal::new(Vec::<(String, String)>::new());
    let speakers = RwSignal::new(Vec::<(String, String)>::new());
    let mic = RwSignal::new(String::new());
    let speaker = RwSignal::new(String::new());
    let ringtone = RwSignal::new(String::new());
    let level = RwSignal::new(0u32);
    let problem = RwSignal::new(None::<String>);
    let test: Rc<RefCell<Option<audio::LevelTest>>> = Rc::new(RefCell::new(None));
    let testing = RwSignal::new(false);
    let refresh = move || {
        spawn_local(async move {
            mic.set(bridge::pref(MIC_KEY).await.unwrap_or_default());
            speaker.set(bridge::pref(SPEAKER_KEY).await.unwrap_or_default());
            ringtone.set(bridge::pref(RINGTONE_KEY).await.unwrap_or_default());
            match audio::devices(MediaDeviceKind::Audioinput).await {
                Ok(d) => mics.set(d),
                Err(e) => problem.set(Some(e.to_string())),
            }
            if let Ok(d) = audio::devices(MediaDeviceKind::Audiooutput).await {
                speakers.set(d);
            }
        });
    };
    refresh();
    // A headset plugged in or out: the lists follow (the Voice driver re-applies the choice).
    if let Some(md) = web_sys::window().and_then(|w| w.navigator().media_devices().ok()) {
        let on_change = Closure::<dyn FnMut()>::new(refresh);
        md.set_ondevicechange(Some(on_change.as_ref().unchecked_ref()));
        on_change.forget();
    }
    let store = |key: &'static str, sig: RwSignal<String>| {
        move |ev| {
            let v = event_target_value(&ev);
            sig.set(v.clone());
            spawn_local(async move {
                let _ = bridge::set_pref(key, &v).await;
            });
        }
    };
    let toggle = {
        let test = test.clone();
        move |_| {
            if let Some(t) = test.borrow_mut().take() {
                t.stop();
                testing.set(false);
                level.set(0);
                return;
            }
            let test = test.clone();
            spawn_local(async move {
                match audio::start_level_test(mic.get_untracked(), level).await {
                    Ok(t) => {
                        *test.borrow_mut() = Some(t);
                        testing.set(true);
                        problem.set(None);
                        refresh(); // labels are readable once the microphone is allowed
                    }
                    Err(e) => problem.set(Some(format!("The microphone could not be opened: {e}"))),
                }
            });
        }
    };
    let options = |list: RwSignal<Vec<(String, String)>>, chosen: RwSignal<String>| {
        move || {
            let mut all = vec![(String::new(), "System default".to_owned())];
            all.extend(list.get());
            all.into_iter()
                .map(|(id, label)| {
                    let selected = chosen.get() == id;
                    view! { <option value=id selected=selected>{label}</option> }
                })
                .collect_view()
        }
    };
    view! {
        <section data-testid="audio-section">
            <h2>"Audio"</h2>
            <label>"Microphone " <select data-testid="audio-input" on:change=store(MIC_KEY, mic)>{options(mics, mic)}</select></label>
            <label>"Speaker " <select data-testid="audio-output" on:change=store(SPEAKER_KEY, speaker)>{options(speakers, speaker)}</select></label>
            <label>"Ringtone " <select data-testid="audio-ringtone" on:change=store(RINGTONE_KEY, ringtone)>{options(speakers, ringtone)}</select></label>
            <p>
                <button type="button" data-testid="mic-test" on:click=toggle>{move || if testing.get() { "Stop test" } else { "Test microphone" }}</button>
                " " <meter min="0" max="100" low="5" high="90" data-testid="mic-level" prop:value=move || level.get() data-level=move || level.get().to_string()></meter>
            </p>
            {move || problem.get().map(|p| view! { <p class="error" data-testid="audio-error">{p}</p> })}
        </section>
    }
}

#[component]
fn AccountSection(page: Page) -> impl IntoView {
    let agent = move || page.settings.with(|s| s.as_ref().and_then(|s| s.agent.clone()));
    view! {
        <section data-testid="account-section">
            <h2>"Account"</h2>
            {move || match agent() {
                Some(email) => view! {
                    <p>"Signed in as " <b data-testid="options-agent">{email}</b> " "
                        <button type="button" data-testid="options-sign-out"
                            on:click=move |_| page.send(OptionsToBackground::SignOut, Some("Signed out."))>"Sign out"</button></p>
                }.into_any(),
                None => view! { <p class="hint" data-testid="options-signed-out">"Not signed in: sign in from the toolbar popup."</p> }.into_any(),
            }}
        </section>
    }
}
