//! The crate's one error type.

/// Everything that can break a load-generation run.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Bad command-line arguments.
    #[error("bad arguments: {0}")]
    Args(String),
    /// A child process (api-server, Node) failed to start, run or become ready.
    #[error("{what}: {msg}")]
    Process {
        /// Which process.
        what: String,
        /// What went wrong.
        msg: String,
    },
    /// HTTP client error.
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// WebSocket error.
    #[error("websocket: {0}")]
    Ws(#[from] Box<tokio_tungstenite::tungstenite::Error>),
    /// JSON error.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// I/O error.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// Twilio wire-format error.
    #[error("twilio: {0}")]
    Twilio(#[from] mpt_twilio::TwilioError),
    /// The server answered something unexpected while setting up.
    #[error("setup: {0}")]
    Setup(String),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, LoadError>;
