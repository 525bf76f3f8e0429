//! api-server integration tests: the real app on a random port, against SQLite and
//! (when `MPT_TEST_DATABASE_URL` is set) PostgreSQL.

mod helpers;

mod auth;
mod cli;
mod calls;
mod contacts;
mod events;
mod meta;
mod sandbox;
mod security;
mod status_writer;
mod ticket;
mod twilio;
