//! TwiML for voice: a typed builder, a renderer that prints byte for byte what
//! the official `twilio` library's `VoiceResponse` prints for the same structure,
//! and a parser (the stand-in obeys the TwiML our server answers).
//!
//! Rendering: the declaration `<?xml version="1.0" encoding="UTF-8"?>`, no
//! whitespace, camelCase attribute names in the order listed on each field,
//! booleans `true`/`false`, empty elements as `<Hangup/>`. Optional attributes that
//! are `None` (and `false` for [`Dial::answer_on_bridge`]) are omitted.

use std::fmt;
use std::str::FromStr;

use crate::xml::{parse_document, Element};
use crate::TwilioError;

pub use crate::xml::Element as XmlElement;

/// A `<Response>` document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// The verbs, executed in order.
    pub verbs: Vec<Verb>,
}

/// One verb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// `<Dial>`.
    Dial(Dial),
    /// `<Say>`.
    Say(Say),
    /// `<Record>`.
    Record(Record),
    /// `<Hangup/>`.
    Hangup,
    /// `<Reject/>`, with an optional `reason` (`rejected` or `busy`).
    Reject {
        /// `reason`.
        reason: Option<String>,
    },
    /// `<Pause/>`, with an optional `length` in seconds (Twilio's default is 1).
    Pause {
        /// `length`.
        length: Option<u32>,
    },
    /// `<Redirect>url</Redirect>`.
    Redirect {
        /// The URL to fetch the next TwiML from.
        url: String,
    },
    /// Any other verb, kept as parsed (the stand-in skips it).
    Other(Element),
}

/// `<Dial>`: connect the caller to a number or a browser client.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dial {
    /// `callerId`: the number the callee sees.
    pub caller_id: Option<String>,
    /// `answerOnBridge="true"`: keep the caller ringing until the callee answers.
    pub answer_on_bridge: bool,
    /// `timeout` in seconds (Twilio's default is 30).
    pub timeout: Option<u32>,
    /// `action`: URL Twilio requests when the dialled leg ends (with `DialCallStatus`).
    pub action: Option<String>,
    /// `record` (`do-not-record`, `record-from-answer`, `record-from-ringing`, …).
    pub record: Option<String>,
    /// What to dial.
    pub targets: Vec<DialTarget>,
}

/// A noun inside `<Dial>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialTarget {
    /// `<Number>`: a PSTN number.
    Number {
        /// The E.164 number.
        number: String,
        /// `statusCallback` URL for this leg's progress events.
        status_callback: Option<String>,
        /// `statusCallbackEvent`, space-separated (only `completed` is sent when empty).
        status_callback_event: Vec<CallEvent>,
        /// `statusCallbackMethod` (`POST` by default).
        status_callback_method: Option<String>,
    },
    /// `<Client>`: a browser identity. Rendered as `<Client>identity</Client>`, or
    /// with `<Identity>` and `<Parameter>` children when there are parameters.
    Client {
        /// The client identity.
        identity: String,
        /// Custom parameters delivered to the browser (`call.customParameters`).
        parameters: Vec<(String, String)>,
        /// `statusCallback` URL.
        status_callback: Option<String>,
        /// `statusCallbackEvent`.
        status_callback_event: Vec<CallEvent>,
    },
}

/// A `statusCallbackEvent` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallEvent {
    /// `initiated`.
    Initiated,
    /// `ringing`.
    Ringing,
    /// `answered` (the callback then reports `CallStatus=in-progress`).
    Answered,
    /// `completed` (also covers busy/failed/no-answer/canceled endings).
    Completed,
}

impl CallEvent {
    /// All four events, in call order.
    pub const ALL: [CallEvent; 4] = [CallEvent::Initiated, CallEvent::Ringing, CallEvent::Answered, CallEvent::Completed];

    /// Twilio's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CallEvent::Initiated => "initiated",
            CallEvent::Ringing => "ringing",
            CallEvent::Answered => "answered",
            CallEvent::Completed => "completed",
        }
    }
}

impl fmt::Display for CallEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CallEvent {
    type Err = TwilioError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CallEvent::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| TwilioError::InvalidTwiml { offset: 0, reason: format!("unknown statusCallbackEvent {s:?}") })
    }
}

/// `<Say>`: text-to-speech.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Say {
    /// What to say.
    pub text: String,
    /// `voice` (e.g. `alice`, `Polly.Joanna`).
    pub voice: Option<String>,
}

/// `<Record>`: record the caller (voicemail).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// `action`: URL Twilio requests when recording ends (RecordingUrl, RecordingDuration…).
    pub action: Option<String>,
    /// `maxLength` in seconds.
    pub max_length: Option<u32>,
    /// `playBeep`.
    pub play_beep: Option<bool>,
    /// `recordingStatusCallback` URL.
    pub recording_status_callback: Option<String>,
    /// `transcribe`.
    pub transcribe: Option<bool>,
}

impl Response {
    /// An empty response.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a verb (builder style).
    pub fn verb(mut self, verb: Verb) -> Self {
        self.verbs.push(verb);
        self
    }

    /// Appends `<Dial>`.
    pub fn dial(self, dial: Dial) -> Self {
        self.verb(Verb::Dial(dial))
    }

    /// Appends `<Say>`.
    pub fn say(self, text: impl Into<String>, voice: Option<String>) -> Self {
        self.verb(Verb::Say(Say { text: text.into(), voice }))
    }

    /// Appends `<Record>`.
    pub fn record(self, record: Record) -> Self {
        self.verb(Verb::Record(record))
    }

    /// Appends `<Hangup/>`.
    pub fn hangup(self) -> Self {
        self.verb(Verb::Hangup)
    }

    /// Appends `<Reject/>`.
    pub fn reject(self) -> Self {
        self.verb(Verb::Reject { reason: None })
    }

    /// Appends `<Pause/>`.
    pub fn pause(self, length: Option<u32>) -> Self {
        self.verb(Verb::Pause { length })
    }

    /// The element tree (what `to_xml` renders; tests feed it to the official library).
    pub fn to_element(&self) -> Element {
        let mut root = Element::new("Response");
        root.children = self.verbs.iter().map(Verb::to_element).collect();
        root
    }

    /// The TwiML document, byte for byte as the official library renders it.
    /// Characters XML 1.0 forbids (most C0 controls) are dropped.
    pub fn to_xml(&self) -> String {
        self.to_element().to_document()
    }

    /// Parses a TwiML document (`<Response>` root). Unknown verbs become
    /// [`Verb::Other`]; malformed XML or known verbs with invalid attributes are errors.
    pub fn parse(xml: &str) -> Result<Response, TwilioError> {
        parse(xml)
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_xml())
    }
}

fn opt_attr(el: Element, name: &str, v: &Option<String>) -> Element {
    match v {
        Some(v) => el.attr(name, v.clone()),
        None => el,
    }
}

fn opt_num(el: Element, name: &str, v: Option<u32>) -> Element {
    match v {
        Some(v) => el.attr(name, v.to_string()),
        None => el,
    }
}

fn opt_bool(el: Element, name: &str, v: Option<bool>) -> Element {
    match v {
        Some(v) => el.attr(name, if v { "true" } else { "false" }),
        None => el,
    }
}

fn events_attr(el: Element, events: &[CallEvent]) -> Element {
    if events.is_empty() {
        el
    } else {
        el.attr("statusCallbackEvent", events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(" "))
    }
}

impl Verb {
    fn to_element(&self) -> Element {
        match self {
            Verb::Dial(d) => {
                let mut el = opt_attr(Element::new("Dial"), "callerId", &d.caller_id);
                if d.answer_on_bridge {
                    el = el.attr("answerOnBridge", "true");
                }
                el = opt_num(el, "timeout", d.timeout);
                el = opt_attr(el, "action", &d.action);
                el = opt_attr(el, "record", &d.record);
                el.children = d.targets.iter().map(DialTarget::to_element).collect();
                el
            }
            Verb::Say(s) => {
                let mut el = opt_attr(Element::new("Say"), "voice", &s.voice);
                el.text = Some(s.text.clone());
                el
            }
            Verb::Record(r) => {
                let el = opt_attr(Element::new("Record"), "action", &r.action);
                let el = opt_num(el, "maxLength", r.max_length);
                let el = opt_bool(el, "playBeep", r.play_beep);
                let el = opt_attr(el, "recordingStatusCallback", &r.recording_status_callback);
                opt_bool(el, "transcribe", r.transcribe)
            }
            Verb::Hangup => Element::new("Hangup"),
            Verb::Reject { reason } => opt_attr(Element::new("Reject"), "reason", reason),
            Verb::Pause { length } => opt_num(Element::new("Pause"), "length", *length),
            Verb::Redirect { url } => Element { text: Some(url.clone()), ..Element::new("Redirect") },
            Verb::Other(el) => el.clone(),
        }
    }
}

impl DialTarget {
    /// A `<Number>` with progress events for every stage sent to `status_callback`.
    pub fn number_with_all_events(number: impl Into<String>, status_callback: impl Into<String>) -> Self {
        DialTarget::Number {
            number: number.into(),
            status_callback: Some(status_callback.into()),
            status_callback_event: CallEvent::ALL.to_vec(),
            status_callback_method: Some("POST".into()),
        }
    }

    fn to_element(&self) -> Element {
        match self {
            DialTarget::Number { number, status_callback, status_callback_event, status_callback_method } => {
                let el = opt_attr(Element::new("Number"), "statusCallback", status_callback);
                let el = events_attr(el, status_callback_event);
                let mut el = opt_attr(el, "statusCallbackMethod", status_callback_method);
                el.text = Some(number.clone());
                el
            }
            DialTarget::Client { identity, parameters, status_callback, status_callback_event } => {
                let el = opt_attr(Element::new("Client"), "statusCallback", status_callback);
                let mut el = events_attr(el, status_callback_event);
                if parameters.is_empty() {
                    el.text = Some(identity.clone());
                } else {
                    el.children.push(Element { text: Some(identity.clone()), ..Element::new("Identity") });
                    for (name, value) in parameters {
                        el.children.push(Element::new("Parameter").attr("name", name.clone()).attr("value", value.clone()));
                    }
                }
                el
            }
        }
    }
}

fn bad(reason: impl Into<String>) -> TwilioError {
    TwilioError::InvalidTwiml { offset: 0, reason: reason.into() }
}

fn parse_u32(el: &Element, name: &str) -> Result<Option<u32>, TwilioError> {
    el.get(name).map(|v| v.trim().parse::<u32>().map_err(|_| bad(format!("<{}> {name}={v:?} is not a whole number", el.name)))).transpose()
}

fn parse_bool(el: &Element, name: &str) -> Result<Option<bool>, TwilioError> {
    el.get(name)
        .map(|v| match v.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(bad(format!("<{}> {name}={v:?} is not true/false", el.name))),
        })
        .transpose()
}

fn parse_events(el: &Element) -> Result<Vec<CallEvent>, TwilioError> {
    el.get("statusCallbackEvent")
        .map(|v| v.split([' ', ',']).filter(|s| !s.is_empty()).map(str::parse).collect())
        .transpose()
        .map(Option::unwrap_or_default)
}

fn owned(el: &Element, name: &str) -> Option<String> {
    el.get(name).map(str::to_string)
}

fn parse_target(el: &Element) -> Result<Option<DialTarget>, TwilioError> {
    match el.name.as_str() {
        "Number" => Ok(Some(DialTarget::Number {
            number: el.text.clone().ok_or_else(|| bad("<Number> without a number"))?,
            status_callback: owned(el, "statusCallback"),
            status_callback_event: parse_events(el)?,
            status_callback_method: owned(el, "statusCallbackMethod"),
        })),
        "Client" => {
            let identity = el
                .children
                .iter()
                .find(|c| c.name == "Identity")
                .and_then(|c| c.text.clone())
                .or_else(|| el.text.clone())
                .ok_or_else(|| bad("<Client> without an identity"))?;
            let parameters = el
                .children
                .iter()
                .filter(|c| c.name == "Parameter")
                .map(|c| (c.get("name").unwrap_or_default().to_string(), c.get("value").unwrap_or_default().to_string()))
                .collect();
            Ok(Some(DialTarget::Client {
                identity,
                parameters,
                status_callback: owned(el, "statusCallback"),
                status_callback_event: parse_events(el)?,
            }))
        }
        // <Sip>, <Conference>, <Queue>…: not used by MPT Phone.
        _ => Ok(None),
    }
}

fn parse_verb(el: &Element) -> Result<Verb, TwilioError> {
    Ok(match el.name.as_str() {
        "Dial" => {
            let mut targets = Vec::new();
            for c in &el.children {
                if let Some(t) = parse_target(c)? {
                    targets.push(t);
                }
            }
            // `<Dial>+15551230000</Dial>` is shorthand for one <Number>.
            if let (true, Some(text)) = (el.children.is_empty(), el.text.clone()) {
                targets.push(DialTarget::Number {
                    number: text,
                    status_callback: None,
                    status_callback_event: Vec::new(),
                    status_callback_method: None,
                });
            }
            Verb::Dial(Dial {
                caller_id: owned(el, "callerId"),
                answer_on_bridge: parse_bool(el, "answerOnBridge")?.unwrap_or(false),
                timeout: parse_u32(el, "timeout")?,
                action: owned(el, "action"),
                record: owned(el, "record"),
                targets,
            })
        }
        "Say" => Verb::Say(Say { text: el.text.clone().unwrap_or_default(), voice: owned(el, "voice") }),
        "Record" => Verb::Record(Record {
            action: owned(el, "action"),
            max_length: parse_u32(el, "maxLength")?,
            play_beep: parse_bool(el, "playBeep")?,
            recording_status_callback: owned(el, "recordingStatusCallback"),
            transcribe: parse_bool(el, "transcribe")?,
        }),
        "Hangup" => Verb::Hangup,
        "Reject" => Verb::Reject { reason: owned(el, "reason") },
        "Pause" => Verb::Pause { length: parse_u32(el, "length")? },
        "Redirect" => Verb::Redirect { url: el.text.clone().ok_or_else(|| bad("<Redirect> without a URL"))? },
        _ => Verb::Other(el.clone()),
    })
}

/// Parses a TwiML document; see [`Response::parse`].
pub fn parse(xml: &str) -> Result<Response, TwilioError> {
    let root = parse_document(xml)?;
    if root.name != "Response" {
        return Err(bad(format!("root element is <{}>, expected <Response>", root.name)));
    }
    Ok(Response { verbs: root.children.iter().map(parse_verb).collect::<Result<_, _>>()? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn sample() -> Response {
        Response::new()
            .dial(Dial {
                caller_id: Some("+15550000001".into()),
                answer_on_bridge: true,
                timeout: Some(25),
                action: Some("https://h.example/twilio/dial-done?call=1&x=2".into()),
                record: None,
                targets: vec![DialTarget::number_with_all_events("+15551230001", "https://h.example/twilio/status")],
            })
            .say("Leave a message & we'll call back", Some("alice".into()))
            .record(Record { max_length: Some(60), play_beep: Some(true), ..Record::default() })
            .hangup()
    }

    #[test]
    fn renders_like_the_library() {
        assert_eq!(
            sample().to_xml(),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#,
                r#"<Dial callerId="+15550000001" answerOnBridge="true" timeout="25" action="https://h.example/twilio/dial-done?call=1&amp;x=2">"#,
                r#"<Number statusCallback="https://h.example/twilio/status" statusCallbackEvent="initiated ringing answered completed" statusCallbackMethod="POST">+15551230001</Number>"#,
                r#"</Dial><Say voice="alice">Leave a message &amp; we'll call back</Say><Record maxLength="60" playBeep="true"/><Hangup/></Response>"#
            )
        );
        assert_eq!(Response::new().to_xml(), r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#);
    }

    #[test]
    fn parse_round_trips() {
        let r = sample();
        assert_eq!(parse(&r.to_xml()).expect("parse"), r);
        let client = Response::new().dial(Dial {
            targets: vec![DialTarget::Client {
                identity: "bob".into(),
                parameters: vec![("crm".into(), "a&b".into())],
                status_callback: None,
                status_callback_event: vec![],
            }],
            ..Dial::default()
        });
        assert_eq!(parse(&client.to_xml()).expect("parse"), client);
    }

    fn text() -> impl Strategy<Value = String> {
        // Legal XML text without surrounding whitespace (the parser trims it).
        "[a-zA-Z0-9&<>\"' é中😀!?=/+#%;-]{0,12}".prop_map(|s| s.trim().to_string())
    }

    fn target() -> impl Strategy<Value = DialTarget> {
        prop_oneof![
            (text().prop_filter("a number", |s| !s.is_empty()), proptest::option::of(text()), 0usize..5).prop_map(
                |(number, status_callback, n)| DialTarget::Number {
                    number,
                    status_callback,
                    status_callback_event: CallEvent::ALL[..n.min(4)].to_vec(),
                    status_callback_method: None,
                }
            ),
            (
                text().prop_filter("an identity", |s| !s.is_empty()),
                proptest::collection::vec((text(), text()), 0..3),
                proptest::option::of(text())
            )
                .prop_map(|(identity, parameters, status_callback)| DialTarget::Client {
                    identity,
                    parameters,
                    status_callback,
                    status_callback_event: vec![],
                }),
        ]
    }

    fn verb() -> impl Strategy<Value = Verb> {
        prop_oneof![
            (text(), proptest::option::of(text())).prop_map(|(text, voice)| Verb::Say(Say { text, voice })),
            (
                proptest::option::of(text()),
                any::<bool>(),
                proptest::option::of(0u32..600),
                proptest::option::of(text()),
                proptest::collection::vec(target(), 0..3)
            )
                .prop_map(|(caller_id, answer_on_bridge, timeout, action, targets)| Verb::Dial(Dial {
                    caller_id,
                    answer_on_bridge,
                    timeout,
                    action,
                    record: None,
                    targets,
                })),
            (proptest::option::of(text()), proptest::option::of(1u32..3600), proptest::option::of(any::<bool>())).prop_map(
                |(action, max_length, play_beep)| Verb::Record(Record {
                    action,
                    max_length,
                    play_beep,
                    recording_status_callback: None,
                    transcribe: None,
                })
            ),
            Just(Verb::Hangup),
            proptest::option::of(0u32..10).prop_map(|length| Verb::Pause { length }),
            proptest::option::of(text()).prop_map(|reason| Verb::Reject { reason }),
        ]
    }

    proptest! {
        #[test]
        fn render_then_parse_is_identity(verbs in proptest::collection::vec(verb(), 0..5)) {
            let r = Response { verbs };
            prop_assert_eq!(parse(&r.to_xml()).expect("parse own output"), r);
        }

        #[test]
        fn parse_never_panics(input in r#"(<|>|/|=|"|'|&|;|#|x|[A-Za-z]| |Response|Dial|Say|[?!-]){0,60}"#) {
            let _ = parse(&input);
        }
    }

    #[test]
    fn parse_accepts_shorthand_and_rejects_nonsense() {
        let r = parse("<Response><Dial timeout=\"10\">+15551230002</Dial><Play>x.mp3</Play></Response>").expect("parse");
        match &r.verbs[0] {
            Verb::Dial(d) => assert!(matches!(&d.targets[0], DialTarget::Number { number, .. } if number == "+15551230002")),
            v => panic!("unexpected {v:?}"),
        }
        assert!(matches!(r.verbs[1], Verb::Other(_)));
        assert!(parse("<Foo/>").is_err());
        assert!(parse("<Response><Dial timeout=\"soon\"/></Response>").is_err());
        assert!(parse("<Response><Dial><Number statusCallbackEvent=\"picked-up\">1</Number></Dial></Response>").is_err());
    }
}
