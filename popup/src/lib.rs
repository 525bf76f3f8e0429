//! mpt-popup (wasm32).
