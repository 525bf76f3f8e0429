//! HTTP routes, one module per area; each exposes `router()`.

use crate::state::AppState;
use axum::Router;

mod admin;
pub mod app;
mod app_session;
mod auth;
mod billing;
mod calls;
mod contacts;
mod embed;
mod events;
mod meta;
mod sandbox;
mod telephony;
mod twilio;
mod voicemail;
pub mod widget;

pub use admin::audit;
pub use auth::set_presence;

/// All routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(meta::router())
        .merge(auth::router())
        .merge(calls::router())
        .merge(twilio::router())
        .merge(events::router())
        .merge(sandbox::router())
        .merge(crate::sandbox_signal::router())
        .merge(contacts::router())
        .merge(admin::router())
        .merge(billing::router())
        .merge(embed::router())
        .merge(widget::router())
        .merge(voicemail::router())
        .merge(app::router())
        .merge(app_session::router())
        .merge(telephony::router())
}
