//! The popup's one error type.

/// What can go wrong between the popup and the service worker.
#[derive(Debug, thiserror::Error)]
pub enum PopupError {
    /// `chrome.runtime.sendMessage` failed (the worker is restarting or gone).
    #[error("MPT Phone is not responding. Try again in a moment.")]
    NoWorker,
    /// The worker's answer is not a `BackgroundToPopup`.
    #[error("unexpected answer from MPT Phone: {0}")]
    BadReply(String),
    /// The worker said no (sign-in failed, server unreachable…).
    #[error("{0}")]
    Refused(String),
}
