//! Typed Twilio webhook requests, parsed from (and rendered to) form pairs.
//!
//! Each type keeps every parameter it does not model in `other`, so nothing
//! Twilio sends (or a browser passes through `device.connect({params})`) is lost.

use crate::call_state::{CallStatus, StatusUpdate};
use crate::time_fmt::{format_rfc2822, parse_rfc2822};
use crate::TwilioError;

/// Form pairs as received (`application/x-www-form-urlencoded`, decoded, in order).
pub type FormPairs = Vec<(String, String)>;

/// `Direction` of a browser-originated or PSTN-inbound parent call.
pub const DIRECTION_INBOUND: &str = "inbound";
/// `Direction` of a leg created by `<Dial>`.
pub const DIRECTION_OUTBOUND_DIAL: &str = "outbound-dial";
/// `Direction` of a call created through the REST API.
pub const DIRECTION_OUTBOUND_API: &str = "outbound-api";

struct Form<'a> {
    pairs: &'a [(String, String)],
    used: Vec<&'static str>,
}

impl<'a> Form<'a> {
    fn new(pairs: &'a [(String, String)]) -> Self {
        Self { pairs, used: Vec::new() }
    }

    fn opt(&mut self, name: &'static str) -> Option<String> {
        self.used.push(name);
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn req(&mut self, name: &'static str) -> Result<String, TwilioError> {
        self.opt(name).ok_or(TwilioError::MissingParam(name))
    }

    fn opt_nonempty(&mut self, name: &'static str) -> Option<String> {
        self.opt(name).filter(|v| !v.is_empty())
    }

    fn opt_u64(&mut self, name: &'static str) -> Result<Option<u64>, TwilioError> {
        match self.opt_nonempty(name) {
            None => Ok(None),
            Some(v) => {
                v.trim().parse::<u64>().map(Some).map_err(|e| TwilioError::InvalidParam { name, value: v.clone(), reason: e.to_string() })
            }
        }
    }

    fn status(&mut self, name: &'static str) -> Result<CallStatus, TwilioError> {
        let v = self.req(name)?;
        v.parse::<CallStatus>().map_err(|_| TwilioError::InvalidParam { name, value: v.clone(), reason: "not a Twilio call status".into() })
    }

    fn rest(&self) -> FormPairs {
        self.pairs.iter().filter(|(k, _)| !self.used.contains(&k.as_str())).cloned().collect()
    }
}

fn push(out: &mut FormPairs, k: &str, v: &str) {
    out.push((k.to_string(), v.to_string()));
}

fn push_opt(out: &mut FormPairs, k: &str, v: &Option<String>) {
    if let Some(v) = v {
        push(out, k, v);
    }
}

/// The request Twilio sends to a Voice URL when a call starts (a browser
/// `connect`, or a PSTN call to one of our numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceRequest {
    /// `CallSid` of the parent call.
    pub call_sid: String,
    /// `AccountSid`.
    pub account_sid: String,
    /// `From`: `client:<identity>` for browser calls, an E.164 number otherwise.
    pub from: String,
    /// `To`: what the browser passed as `To`, or our number called.
    pub to: String,
    /// `Caller` (same as `From` in practice), if sent.
    pub caller: Option<String>,
    /// `Direction` (`inbound` for both browser and PSTN-inbound parent calls).
    pub direction: String,
    /// `ApiVersion` (`2010-04-01`).
    pub api_version: String,
    /// `CallStatus` (normally `ringing`).
    pub call_status: CallStatus,
    /// Every other parameter (custom `connect` params, `Called*`, `ApplicationSid`…).
    pub other: FormPairs,
}

impl VoiceRequest {
    /// Parses the form; `CallSid`, `AccountSid`, `From`, `To`, `CallStatus` are required.
    pub fn from_form(pairs: &[(String, String)]) -> Result<Self, TwilioError> {
        let mut f = Form::new(pairs);
        Ok(Self {
            call_sid: f.req("CallSid")?,
            account_sid: f.req("AccountSid")?,
            from: f.req("From")?,
            to: f.req("To")?,
            caller: f.opt("Caller"),
            direction: f.opt("Direction").unwrap_or_else(|| DIRECTION_INBOUND.to_string()),
            api_version: f.opt("ApiVersion").unwrap_or_else(|| crate::API_VERSION.to_string()),
            call_status: f.status("CallStatus")?,
            other: f.rest(),
        })
    }

    /// The browser identity when `From` is `client:<identity>`.
    pub fn client_identity(&self) -> Option<&str> {
        self.from.strip_prefix("client:")
    }

    /// The value of another parameter (e.g. a custom `connect` param).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.other.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The form pairs, in the order the stand-in sends them.
    pub fn to_form(&self) -> FormPairs {
        let mut out = Vec::new();
        push(&mut out, "CallSid", &self.call_sid);
        push(&mut out, "AccountSid", &self.account_sid);
        push(&mut out, "From", &self.from);
        push(&mut out, "To", &self.to);
        push_opt(&mut out, "Caller", &self.caller);
        push(&mut out, "Direction", &self.direction);
        push(&mut out, "ApiVersion", &self.api_version);
        push(&mut out, "CallStatus", self.call_status.as_str());
        out.extend(self.other.iter().cloned());
        out
    }
}

/// A call progress event (`statusCallback` of a `<Number>`/`<Client>`, or of a call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCallback {
    /// `CallSid` of the leg the event is about (the child leg for `<Dial>`).
    pub call_sid: String,
    /// `ParentCallSid` for `<Dial>` legs.
    pub parent_call_sid: Option<String>,
    /// `AccountSid`.
    pub account_sid: String,
    /// `CallStatus`.
    pub call_status: CallStatus,
    /// `CallDuration` in seconds (on `completed`).
    pub call_duration: Option<u64>,
    /// `Timestamp` as sent (RFC 2822, e.g. `Tue, 10 Nov 2020 17:41:47 +0000`).
    pub timestamp_raw: Option<String>,
    /// `Timestamp` as Unix seconds.
    pub timestamp: Option<i64>,
    /// `SequenceNumber` (0 for the first callback of the leg).
    pub sequence_number: Option<u64>,
    /// `Direction` (`outbound-dial` for `<Dial>` legs).
    pub direction: Option<String>,
    /// `From`.
    pub from: Option<String>,
    /// `To`.
    pub to: Option<String>,
    /// `CallbackSource` (`call-progress-events`).
    pub callback_source: Option<String>,
    /// Every other parameter.
    pub other: FormPairs,
}

impl StatusCallback {
    /// Parses the form; `CallSid`, `AccountSid`, `CallStatus` are required; a
    /// malformed `Timestamp`, `SequenceNumber` or `CallDuration` is an error.
    pub fn from_form(pairs: &[(String, String)]) -> Result<Self, TwilioError> {
        let mut f = Form::new(pairs);
        let call_sid = f.req("CallSid")?;
        let parent_call_sid = f.opt_nonempty("ParentCallSid");
        let account_sid = f.req("AccountSid")?;
        let call_status = f.status("CallStatus")?;
        let call_duration = f.opt_u64("CallDuration")?;
        let timestamp_raw = f.opt_nonempty("Timestamp");
        let timestamp = timestamp_raw.as_deref().map(parse_rfc2822).transpose()?;
        let sequence_number = f.opt_u64("SequenceNumber")?;
        Ok(Self {
            call_sid,
            parent_call_sid,
            account_sid,
            call_status,
            call_duration,
            timestamp_raw,
            timestamp,
            sequence_number,
            direction: f.opt_nonempty("Direction"),
            from: f.opt("From"),
            to: f.opt("To"),
            callback_source: f.opt_nonempty("CallbackSource"),
            other: f.rest(),
        })
    }

    /// What [`crate::call_state::CallProgress`] needs from this callback.
    pub fn update(&self) -> StatusUpdate {
        StatusUpdate {
            status: self.call_status,
            sequence_number: self.sequence_number,
            timestamp: self.timestamp,
            duration_secs: self.call_duration,
        }
    }

    /// The form pairs, in the order the stand-in sends them. `Timestamp` is
    /// rendered from `timestamp` when `timestamp_raw` is absent.
    pub fn to_form(&self) -> Result<FormPairs, TwilioError> {
        let mut out = Vec::new();
        push(&mut out, "AccountSid", &self.account_sid);
        push(&mut out, "CallSid", &self.call_sid);
        push_opt(&mut out, "ParentCallSid", &self.parent_call_sid);
        push(&mut out, "CallStatus", self.call_status.as_str());
        if let Some(d) = self.call_duration {
            push(&mut out, "CallDuration", &d.to_string());
        }
        let ts = match (&self.timestamp_raw, self.timestamp) {
            (Some(raw), _) => Some(raw.clone()),
            (None, Some(t)) => Some(format_rfc2822(t)?),
            (None, None) => None,
        };
        push_opt(&mut out, "Timestamp", &ts);
        if let Some(n) = self.sequence_number {
            push(&mut out, "SequenceNumber", &n.to_string());
        }
        push_opt(&mut out, "Direction", &self.direction);
        push_opt(&mut out, "From", &self.from);
        push_opt(&mut out, "To", &self.to);
        push_opt(&mut out, "CallbackSource", &self.callback_source);
        push(&mut out, "ApiVersion", crate::API_VERSION);
        out.extend(self.other.iter().filter(|(k, _)| k != "ApiVersion").cloned());
        Ok(out)
    }
}

/// The request to a `<Dial action>` URL when the dialled leg(s) end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialAction {
    /// `CallSid` of the parent call.
    pub call_sid: String,
    /// `AccountSid`.
    pub account_sid: String,
    /// `DialCallStatus`: how the dial ended (`completed` when answered, else
    /// `busy`, `no-answer`, `failed`, `canceled`).
    pub dial_call_status: CallStatus,
    /// `DialCallSid`: the child leg (absent when nothing was dialled).
    pub dial_call_sid: Option<String>,
    /// `DialCallDuration`: talk time of the child leg in seconds.
    pub dial_call_duration: Option<u64>,
    /// Every other parameter (the parent call's `From`, `To`, `CallStatus`…).
    pub other: FormPairs,
}

impl DialAction {
    /// Parses the form; `CallSid`, `AccountSid`, `DialCallStatus` are required.
    pub fn from_form(pairs: &[(String, String)]) -> Result<Self, TwilioError> {
        let mut f = Form::new(pairs);
        Ok(Self {
            call_sid: f.req("CallSid")?,
            account_sid: f.req("AccountSid")?,
            dial_call_status: f.status("DialCallStatus")?,
            dial_call_sid: f.opt_nonempty("DialCallSid"),
            dial_call_duration: f.opt_u64("DialCallDuration")?,
            other: f.rest(),
        })
    }

    /// Whether the dialled party answered.
    pub fn answered(&self) -> bool {
        self.dial_call_status == CallStatus::Completed
    }
}

/// A recording callback (`recordingStatusCallback`, or the `action` of `<Record>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingCallback {
    /// `RecordingSid` (`RE…`).
    pub recording_sid: String,
    /// `RecordingUrl` (append `.mp3`/`.wav` to download).
    pub recording_url: String,
    /// `RecordingDuration` in seconds, if known.
    pub recording_duration: Option<u64>,
    /// `RecordingStatus` (`in-progress`, `completed`, `absent`, `failed`); absent
    /// in a `<Record action>` request.
    pub recording_status: Option<String>,
    /// `CallSid`.
    pub call_sid: String,
    /// `AccountSid`.
    pub account_sid: String,
    /// Every other parameter (`Digits`, `RecordingChannels`, `RecordingSource`, …).
    pub other: FormPairs,
}

impl RecordingCallback {
    /// Parses the form; `RecordingSid`, `RecordingUrl`, `CallSid`, `AccountSid` are required.
    pub fn from_form(pairs: &[(String, String)]) -> Result<Self, TwilioError> {
        let mut f = Form::new(pairs);
        Ok(Self {
            recording_sid: f.req("RecordingSid")?,
            recording_url: f.req("RecordingUrl")?,
            recording_duration: match f.opt_nonempty("RecordingDuration") {
                // Twilio sends -1 while the duration is unknown.
                Some(v) if v.trim() == "-1" => None,
                Some(v) => Some(v.trim().parse::<u64>().map_err(|e| TwilioError::InvalidParam {
                    name: "RecordingDuration",
                    value: v.clone(),
                    reason: e.to_string(),
                })?),
                None => None,
            },
            recording_status: f.opt_nonempty("RecordingStatus"),
            call_sid: f.req("CallSid")?,
            account_sid: f.req("AccountSid")?,
            other: f.rest(),
        })
    }

    /// The form pairs, in the order the stand-in sends them.
    pub fn to_form(&self) -> FormPairs {
        let mut out = Vec::new();
        push(&mut out, "AccountSid", &self.account_sid);
        push(&mut out, "CallSid", &self.call_sid);
        push(&mut out, "RecordingSid", &self.recording_sid);
        push(&mut out, "RecordingUrl", &self.recording_url);
        push_opt(&mut out, "RecordingStatus", &self.recording_status);
        if let Some(d) = self.recording_duration {
            push(&mut out, "RecordingDuration", &d.to_string());
        }
        out.extend(self.other.iter().cloned());
        out
    }
}

/// Decodes an `application/x-www-form-urlencoded` body into pairs.
pub fn parse_form_body(body: &[u8]) -> FormPairs {
    form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Encodes pairs as an `application/x-www-form-urlencoded` body.
pub fn encode_form_body(pairs: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> FormPairs {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn voice_request_keeps_custom_params() {
        let form = p(&[
            ("AccountSid", "AC1"),
            ("ApiVersion", "2010-04-01"),
            ("CallSid", "CA1"),
            ("CallStatus", "ringing"),
            ("Direction", "inbound"),
            ("From", "client:alice"),
            ("To", "+15551230001"),
            ("Caller", "client:alice"),
            ("crmContactId", "42"),
        ]);
        let v = VoiceRequest::from_form(&form).expect("parse");
        assert_eq!(v.client_identity(), Some("alice"));
        assert_eq!(v.param("crmContactId"), Some("42"));
        assert_eq!(v.other.len(), 1);
        assert_eq!(VoiceRequest::from_form(&v.to_form()).expect("reparse"), v);
        let without_sid: FormPairs = form.iter().filter(|(k, _)| k != "CallSid").cloned().collect();
        let err = VoiceRequest::from_form(&without_sid).expect_err("missing CallSid");
        assert_eq!(err.to_string(), "webhook request is missing the required parameter `CallSid`");
    }

    #[test]
    fn status_callback_parses_timestamp_and_rejects_garbage() {
        let form = p(&[
            ("CallSid", "CA2"),
            ("ParentCallSid", "CA1"),
            ("AccountSid", "AC1"),
            ("CallStatus", "completed"),
            ("CallDuration", "17"),
            ("Timestamp", "Tue, 10 Nov 2020 17:41:47 +0000"),
            ("SequenceNumber", "3"),
            ("Direction", "outbound-dial"),
            ("CallbackSource", "call-progress-events"),
        ]);
        let s = StatusCallback::from_form(&form).expect("parse");
        assert_eq!(s.timestamp, Some(1_605_030_107));
        assert_eq!(s.update().duration_secs, Some(17));
        assert_eq!(StatusCallback::from_form(&s.to_form().expect("form")).expect("reparse").timestamp, s.timestamp);
        let mut bad = form.clone();
        bad[3].1 = "in_progress".into();
        assert!(matches!(StatusCallback::from_form(&bad), Err(TwilioError::InvalidParam { name: "CallStatus", .. })));
        let mut bad = form.clone();
        bad[6].1 = "x".into();
        assert!(StatusCallback::from_form(&bad).is_err());
    }

    #[test]
    fn recording_callback() {
        let form = p(&[
            ("AccountSid", "AC1"),
            ("CallSid", "CA1"),
            ("RecordingSid", "RE1"),
            ("RecordingUrl", "https://api.twilio.com/x/RE1"),
            ("RecordingStatus", "completed"),
            ("RecordingDuration", "9"),
        ]);
        let r = RecordingCallback::from_form(&form).expect("parse");
        assert_eq!(r.recording_duration, Some(9));
        assert_eq!(RecordingCallback::from_form(&r.to_form()).expect("reparse"), r);
        assert!(matches!(RecordingCallback::from_form(&form[..2]), Err(TwilioError::MissingParam("RecordingSid"))));
    }

    #[test]
    fn dial_action() {
        let form = p(&[
            ("CallSid", "CA1"),
            ("AccountSid", "AC1"),
            ("DialCallStatus", "no-answer"),
            ("DialCallSid", "CA2"),
            ("DialCallDuration", "0"),
            ("From", "+15550001"),
        ]);
        let d = DialAction::from_form(&form).expect("parse");
        assert!(!d.answered());
        assert_eq!(d.dial_call_status, CallStatus::NoAnswer);
        assert_eq!(d.other, p(&[("From", "+15550001")]));
        assert!(matches!(DialAction::from_form(&form[..2]), Err(TwilioError::MissingParam("DialCallStatus"))));
    }

    #[test]
    fn form_body_round_trip() {
        let pairs = p(&[("a b", "c&d=é"), ("x", "")]);
        assert_eq!(parse_form_body(encode_form_body(&pairs).as_bytes()), pairs);
    }
}
