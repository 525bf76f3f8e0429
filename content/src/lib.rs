//! mpt-content (wasm32): the wasm half of the content script.
//!
//! `static/` holds the content script's JS parts: `runtime.js` (messaging, region),
//! `marks.js` (text collection, highlights) and `overlay.js` (the call button and the call
//! overlay's driver); this crate only exports the detector (`detect`, owned by the
//! phone module) so every scan pass is one JS↔WASM crossing per batch. Kept free of
//! serde_json and web-sys: this wasm is injected into every CRM page.
#![deny(clippy::unwrap_used)]

mod detect;
