//! The popup's one error type.

/// What can go wrong between the popup and the service worker.
#[derive(Debug, thiserror::Error)]
pub enum PopupError {
    /// `chrome.runtime.sendMessage` failed (the worker is restarting or gone).
    #[error("no service worker")]
    NoWorker,
    /// The worker's answer is not a `BackgroundToPopup`.
    #[error("unexpected answer from MPT Phone: {0}")]
    BadReply(String),
    /// The worker's engine refused a command (its view shows why).
    #[error("{0}")]
    Refused(String),
}
