//! MPT Phone's api-server: the trust anchor between agents' browsers, the CRM and Twilio.
//!
//! - [`app`] builds the whole HTTP router for a state; [`serve`] binds, prints the ready
//!   line and serves until shutdown.
//! - Storage is SQLite (WAL) by default or PostgreSQL via `DATABASE_URL`, one query set
//!   for both ([`db`]).
//! - Every tenant-owned query filters by the caller's tenant ([`auth::Auth`]).

#![recursion_limit = "256"]

pub mod agents;
pub mod auth;
pub mod billing;
pub mod calls;
pub mod cli;
pub mod client_ip;
pub mod config;
pub mod connector_http;
pub mod contacts;
pub mod crypto;
pub mod db;
pub mod dest;
pub mod embed;
pub mod error;
pub mod http;
pub mod hub;
pub mod metrics;
pub mod openapi;
pub mod presence;
pub mod provision;
pub mod ratelimit;
pub mod recording;
pub mod routes;
pub mod sandbox;
pub mod sandbox_signal;
pub mod seed;
pub mod sessions;
pub mod sso;
pub mod state;
pub mod status_writer;
pub mod tenant;
pub mod tickets;
pub mod voice_session;
pub mod widget_assets;
pub mod widget_keys;

pub use config::Config;
pub use http::{app, serve, Server};
pub use state::AppState;
