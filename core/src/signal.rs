//! The sandbox Voice signalling protocol: what the sandbox `Device` stand-in
//! (`voice/sandbox-device.js`) and the server's Twilio stand-in say to each other over
//! `GET /api/sandbox/signal` (a WebSocket).
//!
//! The real Twilio Voice SDK talks to Twilio's signalling edge with the Voice access
//! token; in sandbox mode the same driver runs a `Device` with the SDK's API that talks
//! to our server instead, with the same token, so the offscreen document (and the
//! widget's page) run one code path for real and sandbox calls. The first frame must be
//! [`SignalIn::Listen`]; every frame is one JSON object. Written down in
//! `docs/sandbox-signal.md`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The largest frame either side sends (a token plus call parameters).
pub const MAX_SIGNAL_FRAME: usize = 16 * 1024;

/// Device → server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SignalIn {
    /// First frame: authenticate with the Voice access token (as the SDK does).
    Listen {
        /// The Twilio Voice access token (JWT).
        token: String,
    },
    /// `device.updateToken(token)`.
    UpdateToken {
        /// A fresh access token for the same identity.
        token: String,
    },
    /// `device.register()`: ring this device for its identity's incoming calls.
    Register,
    /// `device.unregister()`.
    Unregister,
    /// `device.connect({params})`: place a call through the TwiML app.
    Invite {
        /// The device's handle for the call until the server names its SID.
        #[serde(rename = "ref")]
        reference: String,
        /// Custom parameters (`To`, the client call id, the contact...).
        params: BTreeMap<String, String>,
    },
    /// `call.accept()` on an incoming call.
    Accept {
        /// The incoming leg's SID (`call.parameters.CallSid`).
        call_sid: String,
    },
    /// `call.reject()` on an incoming call: this device stops ringing.
    Reject {
        /// The incoming leg's SID.
        call_sid: String,
    },
    /// `call.disconnect()`.
    Hangup {
        /// The call's SID.
        call_sid: String,
    },
    /// `call.sendDigits(digits)`.
    Digits {
        /// The call's SID.
        call_sid: String,
        /// `0-9`, `*`, `#`, `w`.
        digits: String,
    },
}

/// Server → device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SignalOut {
    /// The token was accepted.
    Ready {
        /// The token's identity.
        identity: String,
        /// When the token expires, Unix seconds.
        expires_at: u64,
    },
    /// Registration state changed.
    Registered,
    /// The device no longer rings.
    Unregistered,
    /// A call for this identity is ringing here.
    Incoming {
        /// The ringing leg's SID (`call.parameters.CallSid`).
        call_sid: String,
        /// The parent call (the caller's leg).
        parent_call_sid: String,
        /// The caller.
        from: String,
        /// The number called.
        to: String,
        /// `<Parameter>`s of the `<Client>`.
        params: BTreeMap<String, String>,
    },
    /// The server named the SID of an [`SignalIn::Invite`].
    Invited {
        /// The device's handle.
        #[serde(rename = "ref")]
        reference: String,
        /// The call's SID.
        call_sid: String,
    },
    /// The dialled party is ringing.
    Ringing {
        /// The call's SID (as the device knows it).
        call_sid: String,
    },
    /// The call was answered: media flows.
    Accepted {
        /// The call's SID (as the device knows it).
        call_sid: String,
    },
    /// An incoming call stopped ringing here without being answered here (answered on
    /// another device of the identity, or the caller hung up).
    Cancel {
        /// The incoming leg's SID.
        call_sid: String,
    },
    /// The call ended.
    Hangup {
        /// The call's SID (as the device knows it).
        call_sid: String,
    },
    /// Something failed; `code` is the Twilio Voice SDK's error code (20101 invalid
    /// token, 20104 token expired, 31005 connection error, 31480 temporarily
    /// unavailable, 31000 generic).
    Error {
        /// The call or invite this is about, if any.
        #[serde(default, skip_serializing_if = "Option::is_none", rename = "ref")]
        reference: Option<String>,
        /// Twilio error code.
        code: u32,
        /// Human-readable reason (for logs).
        message: String,
    },
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn wire_shapes() {
        let i: SignalIn = serde_json::from_str(r#"{"type":"invite","ref":"r1","params":{"To":"+14155550100"}}"#).unwrap();
        assert_eq!(i, SignalIn::Invite { reference: "r1".into(), params: [("To".to_string(), "+14155550100".to_string())].into() });
        let o = serde_json::to_string(&SignalOut::Error { reference: None, code: 20104, message: "expired".into() }).unwrap();
        assert_eq!(o, r#"{"type":"error","code":20104,"message":"expired"}"#);
        assert!(serde_json::from_str::<SignalIn>(r#"{"type":"hangup"}"#).is_err(), "a hangup names its call");
    }
}
