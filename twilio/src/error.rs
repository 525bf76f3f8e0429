//! The crate's single error type.

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum TwilioError {
    /// A token's TTL is zero or above Twilio's 24 h maximum.
    #[error("access token TTL must be between 1 and 86400 seconds, got {0}")]
    InvalidTtl(u64),
    /// A required value (SID, secret, identity…) is empty or malformed.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// Which input was wrong.
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// A JWT could not be decoded (structure, base64, JSON, header).
    #[error("malformed access token: {0}")]
    MalformedToken(String),
    /// A JWT's signature does not match the secret.
    #[error("access token signature is invalid")]
    BadSignature,
    /// A JWT is past its `exp`.
    #[error("access token expired at {exp} (now {now})")]
    TokenExpired {
        /// The token's `exp` claim.
        exp: u64,
        /// The time it was checked at.
        now: u64,
    },
    /// A JWT's `nbf` is in the future.
    #[error("access token not valid before {nbf} (now {now})")]
    TokenNotYetValid {
        /// The token's `nbf` claim.
        nbf: u64,
        /// The time it was checked at.
        now: u64,
    },
    /// A webhook request lacks a parameter Twilio always sends.
    #[error("webhook request is missing the required parameter `{0}`")]
    MissingParam(&'static str),
    /// A webhook parameter has a value we cannot interpret.
    #[error("webhook parameter `{name}` has an invalid value {value:?}: {reason}")]
    InvalidParam {
        /// The parameter name.
        name: &'static str,
        /// The value received.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A call status string is not one of Twilio's.
    #[error("unknown call status {0:?}")]
    UnknownCallStatus(String),
    /// TwiML could not be parsed or has an unexpected structure.
    #[error("invalid TwiML at byte {offset}: {reason}")]
    InvalidTwiml {
        /// Byte offset in the document (0 when not applicable).
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// An HTTP exchange of the stand-in failed.
    #[error("HTTP request to {url} failed: {reason}")]
    Http {
        /// The URL requested.
        url: String,
        /// The failure (transport error or unexpected status).
        reason: String,
    },
    /// The stand-in does not know the call.
    #[error("unknown call {0}")]
    UnknownCall(String),
    /// The stand-in cannot apply an action to a call in its current state.
    #[error("call {call_sid}: {reason}")]
    InvalidCallAction {
        /// The call.
        call_sid: String,
        /// Why the action is not possible.
        reason: String,
    },
    /// Twilio's REST API answered with an error.
    #[error("Twilio REST API error {status} (code {code:?}): {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Twilio's error code, when given.
        code: Option<i64>,
        /// Twilio's message.
        message: String,
    },
    /// The operating system's random source failed.
    #[error("random number generator failed: {0}")]
    Random(String),
}
