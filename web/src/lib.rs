//! mpt-web (wasm32): the phone in any web page, for the embeddable widget — the iframe
//! page (`/widget`) and the `<mpt-phone>` web component (`widget.js`, `docs/embed.md`).
//!
//! The same sans-IO engine as the extension (`mpt_core::engine`) executed with the page's
//! APIs ([`host`]), and the same `mpt-ui` on top. The page-side scripts (`static/`) only
//! move messages: the commands of `../shared/CONTRACTS.md` §2 come in through [`command`],
//! events go out through the listener given to [`on_event`]; neither decides anything
//! about a call. One phone per page.
#![deny(clippy::unwrap_used)]

pub mod error;
pub mod host;
pub mod net;
pub mod voice;

use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::*;
use mpt_core::engine::{DialContact, PhoneCommand, PhoneView};
use mpt_ui::{Layout, Phone, PhoneHost, Theme};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::error::WebError;

/// Options of [`mount`].
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MountOptions {
    /// The api-server's base URL.
    api: String,
    /// The publishable widget key.
    widget_key: String,
    #[serde(default)]
    theme: Option<String>,
    #[serde(default)]
    layout: Option<String>,
    /// What the host shows of the phone (the design's `config.features`).
    #[serde(default)]
    features: Features,
}

/// The design's `config.features`: parts of the phone an embedding host turns off. Calls
/// placed through the API work whatever is shown. A feature left out keeps its default (`Default`: all on but the voicemail link).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct Features {
    /// The dialer (number field and keypad).
    dial_pad: bool,
    /// The contact search.
    contact_search: bool,
    /// The wrap-up after a call (notes, disposition) and the recent-calls list. The server
    /// logs every call either way.
    call_logging: bool,
    /// A link to the agent's voicemail inbox in the web app.
    voicemail: bool,
}

impl Default for Features {
    fn default() -> Features {
        Features { dial_pad: true, contact_search: true, call_logging: true, voicemail: false }
    }
}

impl Features {
    /// Marks `parent` for `mpt-ui.css`, which hides what is off (`data-no-…`).
    fn mark(&self, parent: &web_sys::HtmlElement) {
        for (on, attr) in [
            (self.dial_pad, "data-no-dial-pad"),
            (self.contact_search, "data-no-contact-search"),
            (self.call_logging, "data-no-call-logging"),
        ] {
            let _ = if on { parent.remove_attribute(attr) } else { parent.set_attribute(attr, "") };
        }
    }
}

thread_local! {
    static LOOKS: Cell<Option<(RwSignal<Theme>, RwSignal<Layout>)>> = const { Cell::new(None) };
}

struct WebHost;

impl PhoneHost for WebHost {
    fn send(&self, cmd: PhoneCommand) {
        // The UI shows the engine's refusals in the view; nothing to return.
        let _ = host::command(cmd);
    }
}

/// Starts the phone and renders `mpt-ui` into `parent` (an element of the iframe page or
/// of the web component's shadow root).
#[wasm_bindgen]
pub fn mount(parent: web_sys::HtmlElement, options: JsValue) -> Result<(), JsValue> {
    if host::started() {
        return Err(WebError::BadInput("one phone per page: it is already mounted".into()).into());
    }
    let opts: MountOptions = serde_wasm_bindgen::from_value(options).map_err(WebError::from)?;
    net::configure(net::Server { api: opts.api, widget_key: opts.widget_key });
    let theme = RwSignal::new(opts.theme.and_then(|t| t.parse().ok()).unwrap_or_default());
    let layout = RwSignal::new(opts.layout.and_then(|l| l.parse().ok()).unwrap_or_default());
    LOOKS.with(|l| l.set(Some((theme, layout))));
    opts.features.mark(&parent);
    let view = RwSignal::new(PhoneView::default());
    host::start(view, opts.features.call_logging);
    let server_url = net::api();
    let voicemail = opts.features.voicemail.then(|| format!("{}/voicemail", server_url.trim_end_matches('/')));
    let handle = leptos::mount::mount_to(parent, move || {
        let host: Rc<dyn PhoneHost> = Rc::new(WebHost);
        let signed_in = move || view.with(|v| v.agent.is_some());
        view! {
            <Phone view=view host=host theme=theme layout=layout server_url=server_url/>
            {voicemail.map(|href| view! {
                <Show when=signed_in>
                    <a class="mpt-voicemail-link" data-testid="voicemail-link" href=href.clone() target="_blank" rel="noopener">
                        "Voicemail inbox"
                    </a>
                </Show>
            })}
        }
    });
    // The phone lives as long as the page.
    handle.forget();
    Ok(())
}

/// Sets the page's event listener: `listener(name, detail)` for every event of
/// CONTRACTS §2 (`ready`, `call-started`, …, `token-expiring`, `error`).
#[wasm_bindgen(js_name = onEvent)]
pub fn on_event(listener: js_sys::Function) {
    host::listen(listener);
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Contact {
    #[serde(default)]
    contact_id: Option<String>,
    #[serde(default)]
    contact_name: Option<String>,
    #[serde(default)]
    crm: Option<String>,
}

impl Contact {
    fn dial_contact(self) -> Option<DialContact> {
        (self.contact_id.is_some() || self.contact_name.is_some()).then_some(DialContact {
            id: self.contact_id,
            name: self.contact_name,
            company: None,
            crm: self.crm,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DialArgs {
    number: String,
    #[serde(flatten)]
    contact: Contact,
}

fn field<T: for<'de> Deserialize<'de>>(payload: &JsValue, name: &str) -> Result<T, WebError> {
    // `mute(true)` and `mute({muted: true})` alike.
    let v = if payload.is_object() { js_sys::Reflect::get(payload, &name.into())? } else { payload.clone() };
    Ok(serde_wasm_bindgen::from_value(v)?)
}

/// Runs a command of CONTRACTS §2 by its name (`dial`, `hangup`, `mute`, `sendDigits`,
/// `answer`, `decline`, `setContact`, `setTheme`, `setAuthToken`). Resolves with the
/// command's answer (`dial`: `{callId}` once the server accepted the call), or rejects with
/// `{code, message}` (`PhoneErrorCode`).
#[wasm_bindgen]
pub fn command(name: &str, payload: JsValue) -> js_sys::Promise {
    let cmd = parse(name, &payload);
    js_sys::Promise::new(&mut |resolve, reject| match &cmd {
        Err(e) => {
            // A malformed command: `internal` with what was wrong (the contract's codes
            // name phone failures, not caller bugs).
            let o = host::error_value(mpt_core::PhoneErrorCode::Internal);
            let _ = js_sys::Reflect::set(&o, &"message".into(), &e.to_string().into());
            let _ = reject.call1(&JsValue::NULL, &o);
        }
        Ok(None) => {
            let _ = resolve.call0(&JsValue::NULL);
        }
        Ok(Some(c @ PhoneCommand::Dial { .. })) => host::dial(c.clone(), resolve, reject),
        Ok(Some(c @ PhoneCommand::SetAuthToken { .. })) => host::authenticate(c.clone(), resolve, reject),
        Ok(Some(c)) => {
            let _ = match host::command(c.clone()) {
                Ok(()) => resolve.call0(&JsValue::NULL),
                Err(code) => reject.call1(&JsValue::NULL, &host::error_value(code)),
            };
        }
    })
}

/// A named command with its payload; `None` for commands the page side completes alone.
fn parse(name: &str, payload: &JsValue) -> Result<Option<PhoneCommand>, WebError> {
    Ok(Some(match name {
        "dial" => {
            let a: DialArgs = serde_wasm_bindgen::from_value(payload.clone())?;
            PhoneCommand::Dial { number: a.number, contact: a.contact.dial_contact() }
        }
        "hangup" => PhoneCommand::HangUp,
        "answer" => PhoneCommand::Answer,
        "decline" => PhoneCommand::Decline,
        "mute" => PhoneCommand::Mute { muted: field(payload, "muted")? },
        "sendDigits" => PhoneCommand::SendDigits { digits: field(payload, "digits")? },
        "setAuthToken" => PhoneCommand::SetAuthToken { token: field(payload, "token")? },
        "setContact" => {
            let c: Contact = serde_wasm_bindgen::from_value(payload.clone())?;
            let contact = c.dial_contact().ok_or_else(|| WebError::BadInput("setContact needs contactId or contactName".into()))?;
            PhoneCommand::SetContact { contact }
        }
        "setTheme" => {
            set_theme(payload)?;
            return Ok(None);
        }
        other => return Err(WebError::BadInput(format!("unknown command {other:?}"))),
    }))
}

/// `setTheme(name)` or `setTheme({layout, …})` (colours are CSS custom properties the
/// page side sets on the host element).
fn set_theme(payload: &JsValue) -> Result<(), WebError> {
    let Some((theme, layout)) = LOOKS.with(Cell::get) else { return Ok(()) };
    if let Some(name) = payload.as_string() {
        theme.set(name.parse().map_err(WebError::BadInput)?);
        return Ok(());
    }
    if let Some(l) = js_sys::Reflect::get(payload, &"layout".into())?.as_string() {
        layout.set(l.parse().map_err(WebError::BadInput)?);
    }
    if let Some(t) = js_sys::Reflect::get(payload, &"name".into())?.as_string() {
        theme.set(t.parse().map_err(WebError::BadInput)?);
    }
    Ok(())
}
