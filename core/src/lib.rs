//! MPT Phone's shared core.
//!
//! Everything the extension's parts (content script, service worker, popup) and
//! the api-server agree on lives here, in pure Rust that compiles both natively
//! (for fast unit tests) and to wasm32. No `web-sys`, no I/O.
//!
//! - [`phone`]: finding, normalizing and formatting phone numbers.
//! - [`msg`]: the typed messages between extension parts, one enum per direction.
//! - [`api`]: the JSON shapes exchanged with api-server (HTTP and WebSocket).
//! - [`engine`]: the phone's sans-IO engine (session, calls, live events, log queue,
//!   presence, contacts) and the [`engine::PhoneView`] every UI renders.
//! - [`origin`]: the tenant's allowed-origin patterns, one matcher for server and hosts.
//! - [`signal`]: the sandbox Voice signalling protocol (the `Device` stand-in ↔ server).
//! - [`error_code`]: [`PhoneErrorCode`], the one list of phone errors and their texts.

pub mod api;
pub mod engine;
pub mod error_code;
pub mod msg;
pub mod origin;
pub mod phone;
pub mod selection;
pub mod signal;
pub mod site;

pub use error_code::PhoneErrorCode;
