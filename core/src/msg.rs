//! Typed messages between extension parts (one serde enum per direction).
//!
//! Every message is a JSON object with a `"type"` tag (`#[serde(tag = "type")]`),
//! the fields in `snake_case`. The JS shims (content script, offscreen driver,
//! service-worker glue) send plain objects of exactly these shapes; the Rust side
//! deserializes them into the enum of the direction the sender is allowed to use
//! and rejects anything else.
//!
//! Transport, for reference:
//! - content → background: `chrome.runtime.sendMessage` (response = one
//!   [`BackgroundToContent`]); background → content: pushes over the content script's
//!   `chrome.runtime.connect({name: "content"})` port.
//! - panel ↔ background: only over a `chrome.runtime.connect({name: "panel:<nonce>"})`
//!   port, [`PopupToBackground`] in and [`BackgroundToPopup`] out.
//! - popup ↔ background: requests with `chrome.runtime.sendMessage` (response = one
//!   [`BackgroundToPopup`]), pushes over a `chrome.runtime.connect({name: "popup"})` port.
//! - offscreen ↔ background: a `chrome.runtime.connect({name: "offscreen"})` port.

use serde::{Deserialize, Serialize};

use crate::engine::{DialContact, PhoneCommand, PhoneEvent, PhoneView};
use crate::error_code::PhoneErrorCode;
use crate::phone::{Region, E164};

/// Name of the port the popup opens to receive pushed state.
pub const POPUP_PORT: &str = "popup";
/// Name of the port the offscreen document opens to the service worker.
pub const OFFSCREEN_PORT: &str = "offscreen";

/// One phone number found in a batch of texts (content-script fallback path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextMatch {
    /// Index of the text in the request's `texts`.
    pub text: u32,
    /// Start offset in UTF-16 code units (DOM `Range` offsets).
    pub start: u32,
    /// End offset (exclusive) in UTF-16 code units.
    pub end: u32,
    /// The number in E.164.
    pub e164: E164,
}

/// How a content script's dial request began: decides whether it dials at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DialVia {
    /// A trusted click (or Enter) on our own call button, in our closed shadow root:
    /// the agent chose this number in our UI, so it dials at once anywhere.
    CallButton,
    /// A trusted click on the page's own `tel:`/`callto:` link: the page chose the
    /// number, so it dials at once only on the tenant's allowed origins.
    TelLink,
    /// The page API (`<mpt-phone>.dial()`): likewise, at once only on allowed origins.
    PageApi,
}

/// Page-API commands other than `dial` (`../shared/CONTRACTS.md` §2), forwarded by the
/// content script; accepted only from an allowed origin and, for call controls, only
/// from the document that owns the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum PageCommand {
    /// `hangup()`
    HangUp,
    /// `mute(bool)`
    Mute {
        /// New mute state.
        muted: bool,
    },
    /// `sendDigits(string)`
    SendDigits {
        /// `0-9`, `*`, `#`, `w`.
        digits: String,
    },
    /// `answer()`
    Answer,
    /// `decline()`
    Decline,
    /// `setContact({contactId, contactName, crm})`
    SetContact {
        /// The contact.
        contact: DialContact,
    },
}

/// Name of the port every content script keeps open to the service worker: pushes
/// ([`BackgroundToContent`]) come over it, and its loss tells the script that the worker
/// restarted (it then reconnects and rebuilds the panel).
pub const CONTENT_PORT: &str = "content";
/// Prefix of the panel's port name; the rest is the one-time nonce its content script
/// registered ([`ContentToBackground::OpenPanel`]).
pub const PANEL_PORT_PREFIX: &str = "panel:";

/// True for a panel nonce as content scripts make them: 32 lowercase hex digits.
pub fn valid_nonce(nonce: &str) -> bool {
    nonce.len() == 32 && nonce.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Messages a content script sends to the service worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ContentToBackground {
    /// Fallback when the page's CSP blocks WebAssembly in the content script:
    /// detect numbers in these texts in the service worker.
    FindNumbers {
        /// Text-node contents of one batch.
        texts: Vec<String>,
        /// Default region for numbers written without a country code (typed: an unknown
        /// region is a decode error, not a silent default).
        region: Region,
    },
    /// Call a number (our call button, the page's `tel:` link, or the page API).
    Dial {
        /// Number in E.164 (typed: anything else is refused when the message is decoded).
        number: E164,
        /// The CRM adapter's contact id of the record the number is in, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact_id: Option<String>,
        /// The adapter's contact name for that record.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact_name: Option<String>,
        /// Which CRM the adapter recognised (`mpt-crm`, `ams-app-crm`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        crm: Option<String>,
        /// `location.origin` of the page (must match the sender's origin).
        origin: String,
        /// How the request began.
        via: DialVia,
    },
    /// Registers a one-time nonce for the panel frame this document is about to make.
    OpenPanel {
        /// 32 lowercase hex digits ([`valid_nonce`]).
        nonce: String,
    },
    /// A page-API command.
    Page {
        /// The command.
        command: PageCommand,
    },
}

/// Messages the service worker sends to a content script (pushes over its port, and
/// answers to its requests).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum BackgroundToContent {
    /// The phone as this document may know it: no call details, only whether the agent
    /// is signed in and whether this document should show the panel (it owns the call,
    /// or the agent is asked to confirm a call it offered).
    PhoneState {
        /// Whether the agent is signed in.
        signed_in: bool,
        /// Show the panel in this document.
        panel: bool,
    },
    /// A page-API event, sent only to the document that owns the call, on an allowed origin.
    PageEvent {
        /// The event (`name` + `detail`).
        event: PhoneEvent,
    },
    /// The panel's port closed while the worker runs: rebuild the frame.
    PanelGone,
    /// The agent pressed the keyboard shortcut: focus our call button on the first
    /// visible number.
    FocusNumbers,
    /// Answer to [`ContentToBackground::FindNumbers`].
    Numbers {
        /// Matches, in text order.
        matches: Vec<TextMatch>,
    },
    /// The call was placed: its client call id (the page API resolves `dial()` once the
    /// server accepted it, on `call-started` with this id).
    Dialing {
        /// Client call id.
        call_id: String,
    },
    /// The call waits for the agent to confirm it in the panel.
    Proposed,
    /// Pushed to the page that offered a call: the agent placed it (the page API resolves
    /// that `dial()` with this id; on origins the tenant does not list, no call events follow).
    OfferTaken {
        /// Client call id.
        call_id: String,
    },
    /// The request was accepted.
    Ok,
    /// The request failed.
    Error {
        /// The code.
        code: PhoneErrorCode,
        /// Its text, shown to the agent.
        message: String,
    },
    /// The agent disabled MPT Phone on `site`: a content script whose page is on it drops
    /// every mark and stops watching the page (sent to every frame of the site's tabs, so
    /// each frame checks its own `location` against `site`).
    Unmark {
        /// `scheme://host` of the disabled site (ports are not part of a match pattern).
        site: String,
    },
}

/// Whether the content script runs on a site, as the popup's "Enable on this site" shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteAccess {
    /// A build-time CRM origin (manifest `content_scripts`): always on, cannot be disabled.
    BuiltIn,
    /// The agent (or an administrator) granted it: the content script is registered.
    Enabled,
    /// Not granted: "Enable on this site" asks the browser for it.
    Disabled,
    /// Not a web page (extension pages, `chrome://`, files) or the tab's URL is unknown.
    Unsupported,
}

/// One site and its access, for the popup and the options page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteView {
    /// `scheme://host` (no port: match patterns ignore ports).
    pub site: String,
    /// The match pattern to request (`scheme://host/*`).
    pub pattern: String,
    /// Its access.
    pub access: SiteAccess,
}

impl BackgroundToContent {
    /// The refusal for `code`, with its one text.
    pub fn error(code: PhoneErrorCode) -> BackgroundToContent {
        BackgroundToContent::Error { code, message: code.message().to_owned() }
    }
}

/// Messages the popup (or any extension page hosting `mpt-ui`) sends to the service worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum PopupToBackground {
    /// Ask for a [`BackgroundToPopup::View`].
    GetView,
    /// Run a phone command in the engine.
    Command {
        /// The command.
        command: PhoneCommand,
    },
    /// Ask for a [`BackgroundToPopup::Site`] about the active tab.
    GetSite,
    /// "Disable" on the active tab's site: remove its permission, unregister the content
    /// script, unmark its pages. (Enabling is `chrome.permissions.request` in the popup's
    /// click; the worker registers on `permissions.onAdded`.)
    DisableSite {
        /// `scheme://host` of the site.
        site: String,
    },
}

/// Messages the call panel sends to the service worker, over its nonce port only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum PanelToBackground {
    /// Run a phone command (never sign-in or sign-out: those are refused from the panel).
    Command {
        /// The command.
        command: PhoneCommand,
    },
    /// The agent dismissed the call a page offered.
    DismissOffer,
}

/// Messages the service worker sends to the popup and the panel (answers and port pushes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum BackgroundToPopup {
    /// The engine's latest snapshot.
    View {
        /// What to render.
        view: Box<PhoneView>,
        /// The server the extension talks to.
        server_url: String,
        /// A call a page offered, for the agent to confirm (sent to panels only: the
        /// popup never reads it, so its wasm carries no code for it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offer: Option<crate::engine::Proposal>,
    },
    /// The command was refused.
    Error {
        /// The code.
        code: PhoneErrorCode,
        /// Its text.
        message: String,
    },
    /// Answer to [`PopupToBackground::GetSite`] and [`PopupToBackground::DisableSite`].
    Site {
        /// The active tab's site, or `None` when it is no web page.
        #[serde(default)]
        site: Option<SiteView>,
    },
}

/// What the options page shows (answer to every [`OptionsToBackground`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Settings {
    /// The api-server base URL in use.
    pub server_url: String,
    /// The build's server URL (what "Reset" returns to).
    pub built_in_server_url: String,
    /// The tenant's default region (its first allowed country), when signed in.
    #[serde(default)]
    pub tenant_region: Option<String>,
    /// The signed-in agent's email.
    #[serde(default)]
    pub agent: Option<String>,
    /// Sites the agent or the administrator enabled (granted optional host permissions).
    pub sites: Vec<SiteView>,
    /// CRM origins the administrator listed in managed storage.
    #[serde(default)]
    pub managed_sites: Vec<String>,
    /// The tenant slug the administrator set (the sign-in form's tenant).
    #[serde(default)]
    pub tenant: Option<String>,
    /// Options the administrator locked (`server_url`, `default_region`, `tel_links`, `sites`).
    #[serde(default)]
    pub locked: Vec<String>,
}

/// Messages the options page sends to the service worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum OptionsToBackground {
    /// Ask for the [`Settings`].
    GetSettings,
    /// Use this api-server (the page has asked the browser for its host permission in
    /// the agent's click). Signs out of the previous one.
    SetServerUrl {
        /// `https://host[:port]` (or `http://` on loopback); empty resets to the build's.
        url: String,
    },
    /// Disable an enabled site (as the popup's "Disable").
    DisableSite {
        /// `scheme://host`.
        site: String,
    },
    /// Sign out of the server.
    SignOut,
}

/// Messages the service worker sends to the options page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum BackgroundToOptions {
    /// The current settings.
    Settings {
        /// What to show.
        settings: Settings,
    },
    /// The request was refused.
    Error {
        /// Why, for the agent.
        message: String,
    },
}

/// Where the offscreen driver's `Device` stands, sent with every `Ready`: a service
/// worker that was stopped mid-call learns the call is still up (or is not).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverState {
    /// The Device rings for incoming calls.
    #[serde(default)]
    pub registered: bool,
    /// The call in progress, if any.
    #[serde(default)]
    pub call_sid: Option<String>,
    /// The incoming call ringing, if any.
    #[serde(default)]
    pub incoming_sid: Option<String>,
}

/// Messages the offscreen document (the Voice driver, `voice/voice.js`) sends to the
/// service worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum OffscreenToBackground {
    /// The driver listens on its (re)connected port.
    Ready {
        /// Where its Device stands.
        #[serde(default)]
        state: DriverState,
    },
    /// A `Device` or `Call` event, in the engine's own shape.
    Voice {
        /// The event.
        event: crate::engine::VoiceEvent,
    },
}

/// Messages the service worker sends to the offscreen document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum BackgroundToOffscreen {
    /// An engine command for the Device (`Init`'s `signal` is an absolute `ws(s)://` URL
    /// here: the worker resolved the engine's path against the server).
    Voice {
        /// The command.
        command: crate::engine::VoiceCommand,
    },
    /// The agent's microphone, speaker and ringtone device (options page):
    /// `device.audio.setInputDevice`, `speakerDevices.set`, `ringtoneDevices.set`. `None`
    /// is the system default.
    SetAudioDevices {
        /// `MediaDeviceInfo.deviceId` of the microphone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input: Option<String>,
        /// `MediaDeviceInfo.deviceId` of the speaker.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<String>,
        /// `MediaDeviceInfo.deviceId` of the ringtone's speaker.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ringtone: Option<String>,
    },
}

/// True if `digits` is a non-empty string of DTMF characters (`0-9*#`, and `w` for a pause).
pub fn valid_dtmf(digits: &str) -> bool {
    !digits.is_empty() && digits.len() <= 32 && digits.chars().all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'w'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::{from_value, json, to_value};

    #[test]
    fn content_dial_shape() {
        let m = ContentToBackground::Dial {
            number: E164::parse("+14155550100").unwrap(),
            contact_id: Some("c-42".into()),
            contact_name: None,
            crm: None,
            origin: "http://127.0.0.1:4000".into(),
            via: DialVia::CallButton,
        };
        assert_eq!(
            to_value(&m).unwrap(),
            json!({"type":"Dial","number":"+14155550100","contact_id":"c-42","origin":"http://127.0.0.1:4000","via":"call_button"})
        );
        let back: ContentToBackground =
            from_value(json!({"type":"Dial","number":"+14155550100","origin":"http://localhost:3000","via":"tel_link"})).unwrap();
        assert_eq!(
            back,
            ContentToBackground::Dial {
                number: E164::parse("+14155550100").unwrap(),
                contact_id: None,
                contact_name: None,
                crm: None,
                origin: "http://localhost:3000".into(),
                via: DialVia::TelLink,
            }
        );
    }

    #[test]
    fn content_other_shapes() {
        let m: ContentToBackground = from_value(json!({"type":"FindNumbers","texts":["call 415 555 0100"],"region":"US"})).unwrap();
        assert_eq!(m, ContentToBackground::FindNumbers { texts: vec!["call 415 555 0100".into()], region: Region::US });
        let m: ContentToBackground = from_value(json!({"type":"Page","command":{"type":"Mute","muted":true}})).unwrap();
        assert_eq!(m, ContentToBackground::Page { command: PageCommand::Mute { muted: true } });
        let n = "0123456789abcdef0123456789abcdef";
        assert!(valid_nonce(n));
        for bad in ["", "0123456789ABCDEF0123456789abcdef", "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdefg"] {
            assert!(!valid_nonce(bad), "{bad}");
        }
    }

    #[test]
    fn unknown_or_foreign_types_are_rejected() {
        // A popup message is not a content message.
        assert!(from_value::<ContentToBackground>(json!({"type":"SignOut"})).is_err());
        assert!(from_value::<ContentToBackground>(json!({"type":"Dial"})).is_err());
        // The page's controls are page-API commands now, never bare content messages.
        assert!(from_value::<ContentToBackground>(json!({"type":"HangUp"})).is_err());
        // Typed edges: a number that is not E.164, an unknown region, an unknown way in.
        for bad in ["4155550100", "+1", "+1415555010a", "tel:+14155550100"] {
            assert!(
                from_value::<ContentToBackground>(json!({"type":"Dial","number":bad,"origin":"http://a.b","via":"call_button"})).is_err(),
                "{bad}"
            );
        }
        assert!(
            from_value::<ContentToBackground>(json!({"type":"Dial","number":"+14155550100","origin":"http://a.b","via":"page"})).is_err()
        );
        assert!(from_value::<ContentToBackground>(json!({"type":"FindNumbers","texts":[],"region":"ZZ"})).is_err());
        assert!(from_value::<PopupToBackground>(json!({"number":"+1"})).is_err());
        assert!(from_value::<OffscreenToBackground>(json!({"type":"Connect","to":"+1","call_id":"x"})).is_err());
        assert!(from_value::<TextMatch>(json!({"text":0,"start":0,"end":3,"e164":"123"})).is_err());
    }

    #[test]
    fn background_to_content_shapes() {
        assert_eq!(
            to_value(BackgroundToContent::PhoneState { signed_in: true, panel: false }).unwrap(),
            json!({"type":"PhoneState","signed_in":true,"panel":false})
        );
        assert_eq!(
            to_value(BackgroundToContent::error(PhoneErrorCode::NotAllowed)).unwrap(),
            json!({"type":"Error","code":"not_allowed","message":PhoneErrorCode::NotAllowed.message()})
        );
        let ev = BackgroundToContent::PageEvent { event: PhoneEvent::Ready {} };
        assert_eq!(to_value(ev).unwrap(), json!({"type":"PageEvent","event":{"name":"ready","detail":{}}}));
        let m = BackgroundToContent::Numbers {
            matches: vec![TextMatch { text: 0, start: 5, end: 17, e164: E164::parse("+14155550100").unwrap() }],
        };
        assert_eq!(to_value(&m).unwrap(), json!({"type":"Numbers","matches":[{"text":0,"start":5,"end":17,"e164":"+14155550100"}]}));
    }

    #[test]
    fn popup_shapes() {
        let m: PopupToBackground =
            from_value(json!({"type":"Command","command":{"type":"sign_in","email":"a@b.c","password":"pw"}})).unwrap();
        assert_eq!(
            m,
            PopupToBackground::Command { command: PhoneCommand::SignIn { email: "a@b.c".into(), password: "pw".into(), tenant: None } }
        );
        assert_eq!(to_value(PopupToBackground::GetView).unwrap(), json!({"type":"GetView"}));
        assert_eq!(
            to_value(BackgroundToPopup::Error { code: PhoneErrorCode::InCall, message: "x".into() }).unwrap(),
            json!({"type":"Error","code":"in_call","message":"x"})
        );
    }

    #[test]
    fn offscreen_shapes() {
        use crate::engine::{VoiceCommand, VoiceEvent};
        let m: OffscreenToBackground = from_value(json!({"type":"Voice","event":{"type":"accept","call_sid":"CA1"}})).unwrap();
        assert_eq!(m, OffscreenToBackground::Voice { event: VoiceEvent::Accept { call_sid: Some("CA1".into()) } });
        let e: OffscreenToBackground = from_value(json!({"type":"Voice","event":{"type":"error","code":31005,"message":"gone"}})).unwrap();
        assert_eq!(e, OffscreenToBackground::Voice { event: VoiceEvent::Error { code: Some(31005), message: "gone".into() } });
        let r: OffscreenToBackground = from_value(json!({"type":"Ready","state":{"registered":true,"call_sid":"CA2"}})).unwrap();
        assert_eq!(
            r,
            OffscreenToBackground::Ready { state: DriverState { registered: true, call_sid: Some("CA2".into()), incoming_sid: None } }
        );
        assert_eq!(
            from_value::<OffscreenToBackground>(json!({"type":"Ready"})).unwrap(),
            OffscreenToBackground::Ready { state: DriverState::default() }
        );
        assert_eq!(
            to_value(BackgroundToOffscreen::Voice {
                command: VoiceCommand::Connect {
                    params: crate::api::DialParams {
                        to: "+14155550100".into(),
                        client_call_id: "call_1".into(),
                        contact_id: Some("c-1".into()),
                        contact_name: Some("Ada Lovelace".into()),
                        crm: None,
                    }
                }
            })
            .unwrap(),
            json!({"type":"Voice","command":{"type":"connect","params":{"To":"+14155550100","ClientCallId":"call_1","ContactId":"c-1","ContactName":"Ada Lovelace"}}})
        );
    }

    #[test]
    fn reach_shapes() {
        assert_eq!(
            to_value(BackgroundToContent::Unmark { site: "http://127.0.0.2".into() }).unwrap(),
            json!({"type":"Unmark","site":"http://127.0.0.2"})
        );
        assert_eq!(from_value::<PopupToBackground>(json!({"type":"GetSite"})).unwrap(), PopupToBackground::GetSite);
        assert_eq!(
            to_value(BackgroundToPopup::Site {
                site: Some(SiteView {
                    site: "https://crm.example.com".into(),
                    pattern: "https://crm.example.com/*".into(),
                    access: SiteAccess::Enabled
                })
            })
            .unwrap(),
            json!({"type":"Site","site":{"site":"https://crm.example.com","pattern":"https://crm.example.com/*","access":"enabled"}})
        );
        assert_eq!(
            from_value::<OptionsToBackground>(json!({"type":"SetServerUrl","url":"https://phone.example.com"})).unwrap(),
            OptionsToBackground::SetServerUrl { url: "https://phone.example.com".into() }
        );
        // A content script's message is no options message, and the other way round.
        assert!(from_value::<OptionsToBackground>(json!({"type":"Dial","number":"+14155550100","origin":"http://a.b"})).is_err());
        assert!(from_value::<ContentToBackground>(json!({"type":"SetServerUrl","url":"https://x.y"})).is_err());
        assert_eq!(
            to_value(BackgroundToOffscreen::SetAudioDevices { input: Some("mic-1".into()), output: None, ringtone: None }).unwrap(),
            json!({"type":"SetAudioDevices","input":"mic-1"})
        );
    }

    #[test]
    fn dtmf_validation() {
        assert!(valid_dtmf("123*#"));
        assert!(valid_dtmf("1w2"));
        assert!(!valid_dtmf(""));
        assert!(!valid_dtmf("12a"));
        assert!(!valid_dtmf(&"1".repeat(33)));
    }
}
