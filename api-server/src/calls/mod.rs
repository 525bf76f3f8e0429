//! Call logs: storage (numbers and notes encrypted, numbers blind-indexed), the status
//! state machine per call leg (via `mpt_twilio::call_state`), events on change, and who
//! may see which call.
//!
//! One concern per file: `legs` (per-leg state, pure), `cache` (last written state,
//! SQLite fast path), `row` (columns and decryption), `store` (reads and writes),
//! `status` (status callbacks), `list` + `cursor` (listing), `csv` (export),
//! `visibility` (roles), `voicemail` (the inbox of recorded inbound calls).

mod cache;
mod csv;
mod cursor;
mod legs;
mod list;
mod row;
mod status;
mod store;
mod visibility;
pub mod voicemail;

pub use cache::CallCache;
pub use csv::{csv_field, csv_line, to_csv, CSV_HEADER};
pub use cursor::{decode_cursor, encode_cursor};
pub use legs::{advance, derive, Legs, StoredUpdate};
pub use list::{list, ListQuery};
pub use row::{from_row, new_call_id, state_from_row, valid_client_id, NewCall, COLS};
pub use status::{apply_status, StatusOutcome};
pub use store::{
    agent_by_identity, announce, apply_recording, find_by_sid, get, insert, patch, status_events, upsert_from_client, CallEvents,
};
pub use visibility::Scope;
