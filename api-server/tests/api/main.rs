//! api-server integration tests: the real app on a random port, against SQLite and
//! (when `MPT_TEST_DATABASE_URL` is set) PostgreSQL.

mod helpers;

mod app;
mod app_session;
mod auth;
mod billing;
mod billing_reference;
mod calls;
mod cli;
mod contacts;
mod embed;
mod events;
mod hardening;
mod meta;
mod sandbox;
mod sandbox_signal;
mod security;
mod status_writer;
mod twilio;
