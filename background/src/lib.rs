//! mpt-background (wasm32).
