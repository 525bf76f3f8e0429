//! mpt-content (wasm32): the wasm half of the content script.
//!
//! `static/content.js` is the DOM adapter (text collection, highlights, the call
//! button, messaging); this crate only exports the detector (`detect`, owned by the
//! phone module) so every scan pass is one JS↔WASM crossing per batch. Kept free of
//! serde_json and web-sys: this wasm is injected into every CRM page.
#![deny(clippy::unwrap_used)]

mod detect;
