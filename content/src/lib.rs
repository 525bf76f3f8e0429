//! mpt-content (wasm32).
