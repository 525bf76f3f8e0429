//! Typed messages between extension parts (one serde enum per direction).
