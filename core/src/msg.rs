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
//!   [`BackgroundToContent`]); background → content: `chrome.tabs.sendMessage`.
//! - popup ↔ background: requests with `chrome.runtime.sendMessage` (response = one
//!   [`BackgroundToPopup`]), pushes over a `chrome.runtime.connect({name: "popup"})` port.
//! - offscreen ↔ background: a `chrome.runtime.connect({name: "offscreen"})` port.

use serde::{Deserialize, Serialize};

/// Name of the port the popup opens to receive pushed state.
pub const POPUP_PORT: &str = "popup";
/// Name of the port the offscreen document opens to the service worker.
pub const OFFSCREEN_PORT: &str = "offscreen";

/// Phase of a call as the agent sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallPhase {
    /// We asked for the call; nothing heard back from the network yet.
    Dialing,
    /// The far end is ringing.
    Ringing,
    /// Connected: the timer runs.
    InCall,
    /// Over (see [`EndReason`]).
    Ended,
}

impl CallPhase {
    /// True while the call still occupies the line.
    pub fn is_live(self) -> bool {
        !matches!(self, CallPhase::Ended)
    }
}

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Normal hang-up after the call was answered.
    Completed,
    /// The callee was busy.
    Busy,
    /// Nobody answered.
    NoAnswer,
    /// The network or the server could not place the call.
    Failed,
    /// The agent hung up before it was answered.
    Canceled,
}

/// Snapshot of the agent's current (or last) call, fanned out to every view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallView {
    /// Our id for the call (server call id, or a local id before the server answered).
    pub call_id: String,
    /// The dialled number in E.164.
    pub number: String,
    /// CRM contact id the call was started from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    /// Current phase.
    pub phase: CallPhase,
    /// Whether the agent's microphone is muted.
    #[serde(default)]
    pub muted: bool,
    /// When the call was answered (Unix epoch, milliseconds), for the timer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at_ms: Option<f64>,
    /// Why it ended, once [`CallPhase::Ended`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<EndReason>,
}

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
    pub e164: String,
}

/// Messages a content script sends to the service worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ContentToBackground {
    /// The content script started on a page; the answer is the current call state.
    Hello,
    /// Fallback when the page's CSP blocks WebAssembly in the content script:
    /// detect numbers in these texts in the service worker.
    FindNumbers {
        /// Text-node contents of one batch.
        texts: Vec<String>,
        /// Default region (ISO 3166 alpha-2) for numbers written without a country code.
        region: String,
    },
    /// The agent clicked the call button next to a number.
    Dial {
        /// Number in E.164.
        number: String,
        /// `data-contact-id` of the nearest ancestor, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact_id: Option<String>,
        /// `location.origin` of the page (must match the sender's origin).
        origin: String,
    },
    /// Hang-up pressed in the page overlay.
    HangUp,
    /// Mute toggled in the page overlay.
    SetMute {
        /// New mute state.
        muted: bool,
    },
    /// Keypad digits pressed in the page overlay during a call.
    SendDigits {
        /// `0-9`, `*`, `#`.
        digits: String,
    },
}

/// Messages the service worker sends to a content script (pushes and answers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum BackgroundToContent {
    /// The current call (or none): drives the `<mpt-phone>` overlay.
    CallState {
        /// The call, if any.
        #[serde(default)]
        call: Option<CallView>,
        /// Whether the agent is signed in (the call button asks to sign in otherwise).
        signed_in: bool,
    },
    /// Answer to [`ContentToBackground::FindNumbers`].
    Numbers {
        /// Matches, in text order.
        matches: Vec<TextMatch>,
    },
    /// The request was accepted.
    Ok,
    /// The request failed; `message` is shown to the agent.
    Error {
        /// Human-readable reason.
        message: String,
    },
}

/// One entry of the recent-calls list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentCall {
    /// Dialled number, E.164.
    pub number: String,
    /// When the call started (Unix epoch, milliseconds).
    pub started_at_ms: f64,
    /// How it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<EndReason>,
    /// Talk time in seconds, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u32>,
}

/// Whether the service worker can talk to the api-server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerLink {
    /// Not tried yet.
    Unknown,
    /// The last request or the event socket succeeded.
    Online,
    /// The server did not answer; retrying.
    Unreachable,
}

/// Everything the popup shows, in one snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopupStatus {
    /// Server the extension talks to.
    pub server_url: String,
    /// Signed-in agent's email, `None` when signed out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Tenant in sandbox mode (calls are simulated).
    #[serde(default)]
    pub sandbox: bool,
    /// Server reachability.
    pub link: ServerLink,
    /// Current call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<CallView>,
    /// Most recent calls first.
    #[serde(default)]
    pub recent: Vec<RecentCall>,
}

/// Messages the popup sends to the service worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum PopupToBackground {
    /// Ask for a [`BackgroundToPopup::Status`].
    GetStatus,
    /// Sign in with the api-server.
    SignIn {
        /// Email address.
        email: String,
        /// Password (sent to the server once, never stored).
        password: String,
    },
    /// Forget the session.
    SignOut,
    /// Call a number.
    Dial {
        /// Number in E.164.
        number: String,
    },
    /// Hang up the current call.
    HangUp,
    /// Mute or unmute the microphone.
    SetMute {
        /// New mute state.
        muted: bool,
    },
    /// Send DTMF digits on the current call.
    SendDigits {
        /// `0-9`, `*`, `#`.
        digits: String,
    },
}

/// Messages the service worker sends to the popup (answers and port pushes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum BackgroundToPopup {
    /// Full state snapshot.
    Status(PopupStatus),
    /// The request was accepted.
    Ok,
    /// The request failed; `message` is shown to the agent.
    Error {
        /// Human-readable reason.
        message: String,
    },
}

/// Events of a Twilio `Call` the offscreen driver relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SdkCallEvent {
    /// `ringing`
    Ringing,
    /// `accept`
    Accept,
    /// `disconnect`
    Disconnect,
    /// `cancel`
    Cancel,
    /// `reject`
    Reject,
    /// `reconnecting`
    Reconnecting,
    /// `reconnected`
    Reconnected,
}

/// Messages the offscreen document (Twilio Voice SDK driver) sends to the service worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum OffscreenToBackground {
    /// The driver loaded and listens on its port.
    Ready,
    /// The `Device` changed state (`registering`, `registered`, `unregistered`, `destroyed`).
    DeviceState {
        /// The SDK's state name.
        state: String,
    },
    /// The SDK says the token expires soon.
    TokenWillExpire,
    /// An event of the current call.
    CallEvent {
        /// What happened.
        event: SdkCallEvent,
        /// Twilio's `CallSid`, once known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_sid: Option<String>,
    },
    /// Mute state confirmed by the SDK.
    Muted {
        /// Current mute state.
        muted: bool,
    },
    /// A `Device` or `Call` error.
    Error {
        /// SDK error code, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<u32>,
        /// Message.
        message: String,
    },
}

/// Messages the service worker sends to the offscreen document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum BackgroundToOffscreen {
    /// Create (or re-create) the `Device` with this access token.
    Init {
        /// Twilio access token (JWT).
        token: String,
    },
    /// `device.updateToken(token)`.
    UpdateToken {
        /// Fresh access token.
        token: String,
    },
    /// `device.connect({params: {To: to, …}})`.
    Connect {
        /// Number in E.164.
        to: String,
        /// Our call id, passed as a custom parameter so the server can match it.
        call_id: String,
    },
    /// Disconnect every call.
    HangUp,
    /// `call.mute(muted)`.
    SetMute {
        /// New mute state.
        muted: bool,
    },
    /// `call.sendDigits(digits)`.
    SendDigits {
        /// `0-9`, `*`, `#`, `w`.
        digits: String,
    },
}

/// True if `digits` is a non-empty string of DTMF characters (`0-9*#`, and `w` for a pause).
pub fn valid_dtmf(digits: &str) -> bool {
    !digits.is_empty()
        && digits.len() <= 32
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'w'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::{from_value, json, to_value};

    #[test]
    fn content_dial_shape() {
        let m = ContentToBackground::Dial {
            number: "+14155550100".into(),
            contact_id: Some("c-42".into()),
            origin: "http://127.0.0.1:4000".into(),
        };
        assert_eq!(
            to_value(&m).unwrap(),
            json!({"type":"Dial","number":"+14155550100","contact_id":"c-42","origin":"http://127.0.0.1:4000"})
        );
        // contact_id is optional on the wire
        let back: ContentToBackground = from_value(
            json!({"type":"Dial","number":"+14155550100","origin":"http://localhost:3000"}),
        )
        .unwrap();
        assert_eq!(
            back,
            ContentToBackground::Dial {
                number: "+14155550100".into(),
                contact_id: None,
                origin: "http://localhost:3000".into()
            }
        );
    }

    #[test]
    fn content_unit_and_batch_shapes() {
        assert_eq!(
            to_value(ContentToBackground::Hello).unwrap(),
            json!({"type":"Hello"})
        );
        let m: ContentToBackground = from_value(
            json!({"type":"FindNumbers","texts":["call 415 555 0100"],"region":"US"}),
        )
        .unwrap();
        assert_eq!(
            m,
            ContentToBackground::FindNumbers {
                texts: vec!["call 415 555 0100".into()],
                region: "US".into()
            }
        );
        assert_eq!(
            to_value(ContentToBackground::SetMute { muted: true }).unwrap(),
            json!({"type":"SetMute","muted":true})
        );
    }

    #[test]
    fn unknown_or_foreign_types_are_rejected() {
        // A popup message is not a content message.
        assert!(from_value::<ContentToBackground>(json!({"type":"SignOut"})).is_err());
        assert!(from_value::<ContentToBackground>(json!({"type":"Dial"})).is_err());
        assert!(from_value::<PopupToBackground>(json!({"number":"+1"})).is_err());
        assert!(from_value::<OffscreenToBackground>(json!({"type":"Connect","to":"+1","call_id":"x"})).is_err());
    }

    #[test]
    fn call_state_shape() {
        let m = BackgroundToContent::CallState {
            call: Some(CallView {
                call_id: "call_1".into(),
                number: "+14155550100".into(),
                contact_id: None,
                phase: CallPhase::InCall,
                muted: false,
                answered_at_ms: Some(1_700_000_000_000.0),
                end_reason: None,
            }),
            signed_in: true,
        };
        assert_eq!(
            to_value(&m).unwrap(),
            json!({"type":"CallState","signed_in":true,"call":{
                "call_id":"call_1","number":"+14155550100","phase":"in_call",
                "muted":false,"answered_at_ms":1_700_000_000_000.0}})
        );
        let none: BackgroundToContent =
            from_value(json!({"type":"CallState","call":null,"signed_in":false})).unwrap();
        assert_eq!(
            none,
            BackgroundToContent::CallState {
                call: None,
                signed_in: false
            }
        );
    }

    #[test]
    fn numbers_answer_shape() {
        let m = BackgroundToContent::Numbers {
            matches: vec![TextMatch {
                text: 0,
                start: 5,
                end: 17,
                e164: "+14155550100".into(),
            }],
        };
        assert_eq!(
            to_value(&m).unwrap(),
            json!({"type":"Numbers","matches":[{"text":0,"start":5,"end":17,"e164":"+14155550100"}]})
        );
    }

    #[test]
    fn popup_shapes() {
        let m: PopupToBackground =
            from_value(json!({"type":"SignIn","email":"a@b.c","password":"pw"})).unwrap();
        assert_eq!(
            m,
            PopupToBackground::SignIn {
                email: "a@b.c".into(),
                password: "pw".into()
            }
        );
        let s = BackgroundToPopup::Status(PopupStatus {
            server_url: "http://127.0.0.1:8787".into(),
            email: Some("a@b.c".into()),
            sandbox: true,
            link: ServerLink::Online,
            call: None,
            recent: vec![RecentCall {
                number: "+14155550100".into(),
                started_at_ms: 1.0,
                end_reason: Some(EndReason::NoAnswer),
                duration_s: None,
            }],
        });
        assert_eq!(
            to_value(&s).unwrap(),
            json!({"type":"Status","server_url":"http://127.0.0.1:8787","email":"a@b.c",
                   "sandbox":true,"link":"online",
                   "recent":[{"number":"+14155550100","started_at_ms":1.0,"end_reason":"no_answer"}]})
        );
        assert_eq!(
            to_value(BackgroundToPopup::Error { message: "x".into() }).unwrap(),
            json!({"type":"Error","message":"x"})
        );
    }

    #[test]
    fn offscreen_shapes() {
        let m: OffscreenToBackground =
            from_value(json!({"type":"CallEvent","event":"accept","call_sid":"CA1"})).unwrap();
        assert_eq!(
            m,
            OffscreenToBackground::CallEvent {
                event: SdkCallEvent::Accept,
                call_sid: Some("CA1".into())
            }
        );
        let e: OffscreenToBackground =
            from_value(json!({"type":"Error","code":31005,"message":"gone"})).unwrap();
        assert_eq!(
            e,
            OffscreenToBackground::Error {
                code: Some(31005),
                message: "gone".into()
            }
        );
        assert_eq!(
            to_value(BackgroundToOffscreen::Connect {
                to: "+14155550100".into(),
                call_id: "call_1".into()
            })
            .unwrap(),
            json!({"type":"Connect","to":"+14155550100","call_id":"call_1"})
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

    #[test]
    fn phase_liveness() {
        assert!(CallPhase::Dialing.is_live());
        assert!(CallPhase::InCall.is_live());
        assert!(!CallPhase::Ended.is_live());
    }
}
