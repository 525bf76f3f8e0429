//! What goes into the engine ([`Input`]) and what comes out ([`Effect`]).
//!
//! The engine never performs I/O: a host (the extension's service worker, the widget, a
//! test) executes each [`Effect`] and feeds the outcome back as an [`Input`], correlated
//! by [`RequestId`], socket [`ConnId`] or [`TimerId`]. Time always comes in with the input
//! (`now_ms`), so every transition is a plain function of state, input and time.

use serde::{Deserialize, Serialize};

use super::command::{DialContact, PhoneCommand, PhoneEvent};
use super::stored::StoredState;
use super::view::PhoneView;

/// Correlates an [`HttpRequest`] with its [`Input::Http`] answer.
pub type RequestId = u64;
/// Identifies one event-socket connection; frames of an older connection are ignored.
pub type ConnId = u64;

/// HTTP methods the engine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
        }
    }
}

/// A request to the api-server. `path` is relative to the server's origin (the host
/// knows the origin); `body` is JSON text; `bearer`, when set, goes in
/// `Authorization: Bearer …`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// Echo this id in [`Input::Http`].
    pub id: RequestId,
    /// Method.
    pub method: Method,
    /// Path and query, e.g. `/api/calls/abc`.
    pub path: String,
    /// JSON body, if any.
    pub body: Option<String>,
    /// Access token for the `Authorization` header, if the request needs one.
    pub bearer: Option<String>,
}

/// The server's answer to an [`HttpRequest`]. `status` 0 means the server could not be
/// reached (network error, CORS, timeout).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    /// The request's id.
    pub id: RequestId,
    /// HTTP status, or 0 when nothing came back.
    pub status: u16,
    /// Response body (JSON text, possibly empty).
    pub body: String,
}

/// The engine's timers. At most one of each is armed; setting one again moves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TimerId {
    /// Refresh the access token shortly before it expires.
    SessionRefresh,
    /// Reconnect the event socket after a backoff.
    SocketReconnect,
    /// Send a client heartbeat on the socket.
    SocketHeartbeat,
    /// No frame for too long: the socket is dead even if it looks open.
    SocketWatchdog,
    /// A call that is placing or ringing for too long is given up.
    CallWatchdog,
    /// Re-renders the call timer once a second while connected.
    CallTick,
    /// Retry flushing the call-log queue after a failure.
    OutboxRetry,
    /// Retry sending the presence after a failure.
    PresenceRetry,
    /// Fetch a fresh Voice token before the current one expires.
    VoiceToken,
    /// `register()` or `connect()` hung.
    VoiceWatchdog,
    /// Retry registering the Device after a failure.
    VoiceRegister,
}

/// Commands for the Twilio Voice SDK (run by the offscreen document in the extension).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VoiceCommand {
    /// Create the `Device` with this access token (a driver whose Device already runs,
    /// because only the engine's host restarted, keeps it and its call and takes the
    /// token). Registering is [`VoiceCommand::Register`].
    Init {
        /// Voice access token (JWT).
        token: String,
        /// Sandbox tenants: the server path of the sandbox signalling edge
        /// (`/api/sandbox/signal`), which the host makes a `ws(s)://` URL and the driver
        /// runs the sandbox `Device` stand-in against. `None`: the Twilio Voice SDK.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<String>,
    },
    /// `device.register()`: ring for incoming calls (while the agent is available).
    Register,
    /// `device.unregister()`.
    Unregister,
    /// `device.updateToken(token)`.
    UpdateToken {
        /// Fresh access token.
        token: String,
    },
    /// `device.connect({params})`: the number, the client call id and the contact,
    /// under the names the voice webhook reads (the same as the sandbox path sends).
    Connect {
        /// The call's parameters.
        params: crate::api::DialParams,
    },
    /// `call.accept()` on the incoming call.
    Accept,
    /// `call.reject()` on the incoming call.
    Reject,
    /// `call.disconnect()` / `device.disconnectAll()`.
    Disconnect,
    /// `call.mute(muted)`.
    Mute {
        /// New mute state.
        muted: bool,
    },
    /// `call.sendDigits(digits)`.
    SendDigits {
        /// `0-9`, `*`, `#`, `w`.
        digits: String,
    },
    /// `device.destroy()` (sign-out).
    Destroy,
}

/// Events of the Twilio Voice SDK's `Device` and `Call`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VoiceEvent {
    /// `device.on('registered')`.
    Registered,
    /// `device.on('unregistered')`.
    Unregistered,
    /// `device.on('incoming', call)`.
    Incoming {
        /// `call.parameters.CallSid`.
        call_sid: String,
        /// `call.parameters.From`.
        from: String,
        /// `call.customParameters.get('CallId')`: the call's log id, which our server puts on
        /// every `<Client>` it rings, so the call has its id before the socket's screen pop.
        #[serde(default)]
        call_id: Option<String>,
    },
    /// `call.on('ringing')`.
    Ringing {
        /// `call.parameters.CallSid`, once known.
        #[serde(default)]
        call_sid: Option<String>,
    },
    /// `call.on('accept')`.
    Accept {
        /// `call.parameters.CallSid`.
        #[serde(default)]
        call_sid: Option<String>,
    },
    /// `call.on('disconnect')`.
    Disconnect,
    /// `call.on('cancel')`: the caller hung up before anyone answered.
    Cancel,
    /// `call.on('reject')`.
    Reject,
    /// `device.on('error')` / `call.on('error')`.
    Error {
        /// SDK error code (e.g. 31005).
        #[serde(default)]
        code: Option<u32>,
        /// Message (logged, not shown as is).
        message: String,
    },
    /// `call.on('warning', name)`: call quality (e.g. `high-rtt`, `low-mos`).
    Warning {
        /// The warning's name.
        name: String,
    },
    /// `call.on('warning-cleared', name)`.
    WarningCleared {
        /// The warning's name.
        name: String,
    },
    /// `call.on('reconnecting')`: media lost, the SDK is trying to recover.
    Reconnecting,
    /// `call.on('reconnected')`.
    Reconnected,
    /// `device.on('tokenWillExpire')`.
    TokenWillExpire,
    /// Where the Device stands, said when its host (re)connects to a driver that kept
    /// running: the extension's offscreen document after the service worker was stopped.
    State {
        /// The Device is registered.
        registered: bool,
        /// The Device holds a call (in progress or ringing in).
        call: bool,
    },
    /// `call.on('mute', muted)`: the SDK's confirmation.
    Muted {
        /// Current mute state.
        muted: bool,
    },
}

/// Everything that can happen to the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Input {
    /// The host started: what it had stored (or nothing on first run).
    Start {
        /// The last [`Effect::Persist`]ed state.
        stored: Option<Box<StoredState>>,
    },
    /// The agent did something.
    Command(PhoneCommand),
    /// An HTTP answer.
    Http(HttpResponse),
    /// The event socket opened.
    SocketOpened {
        /// Which connection.
        conn: ConnId,
    },
    /// A text frame arrived on the event socket.
    SocketFrame {
        /// Which connection.
        conn: ConnId,
        /// The frame's text.
        text: String,
    },
    /// The event socket closed (or failed to open: code 1006).
    SocketClosed {
        /// Which connection.
        conn: ConnId,
        /// WebSocket close code.
        code: u16,
    },
    /// The Voice SDK reported something.
    Voice(VoiceEvent),
    /// A timer the engine set has fired.
    Timer(TimerId),
    /// A page offered a call for the agent to confirm (its own `tel:` link or the page
    /// API, on an origin the tenant does not list as its CRM). Nothing is dialled: the
    /// agent's own surface shows [`crate::engine::Engine::proposal`] and sends
    /// [`PhoneCommand::Dial`] if the agent presses Call. (An input, not a command: no
    /// agent UI can make one.)
    Propose {
        /// The number, any format.
        number: String,
        /// The CRM contact the page named.
        contact: DialContact,
        /// The page's origin, shown with the offer.
        origin: String,
    },
    /// The agent dismissed the offered call.
    DismissProposal,
}

/// Everything the engine asks its host to do, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Effect {
    /// Send an HTTP request; answer with [`Input::Http`].
    Http(HttpRequest),
    /// Open the event socket at `path` (relative, `ws`/`wss` of the server's origin).
    SocketOpen {
        /// Connection id for the socket's inputs.
        conn: ConnId,
        /// `/api/events?ticket=…&last_event_id=…`.
        path: String,
    },
    /// Send a text frame on the socket.
    SocketSend {
        /// Which connection.
        conn: ConnId,
        /// The frame.
        text: String,
    },
    /// Close the socket (no [`Input::SocketClosed`] is expected for it).
    SocketClose {
        /// Which connection.
        conn: ConnId,
    },
    /// Store this state durably (replaces what was stored before).
    Persist(Box<StoredState>),
    /// Drive the Voice SDK.
    Voice(VoiceCommand),
    /// Fire [`Input::Timer`] at `at_ms` (replacing the timer's previous deadline).
    SetTimer {
        /// Which timer.
        timer: TimerId,
        /// Deadline, Unix milliseconds.
        at_ms: u64,
    },
    /// Disarm a timer.
    CancelTimer(TimerId),
    /// Render this snapshot.
    View(Box<PhoneView>),
    /// Tell integrators (page API, widget) what happened (`../shared/CONTRACTS.md` §2).
    Event(PhoneEvent),
}
