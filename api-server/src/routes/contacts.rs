//! `GET /api/contacts/lookup?number=`, `GET /api/contacts/search?q=`, `POST /api/contacts`.

use crate::auth::Auth;
use crate::contacts::{self, NewContact};
use crate::error::{AppJson, AppQuery, AppResult};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use mpt_core::api::{Contact, ContactList};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/contacts/lookup", get(lookup)).route("/api/contacts/search", get(search)).route("/api/contacts", post(create))
}

#[derive(Deserialize)]
struct LookupQuery {
    number: String,
}

#[derive(Deserialize)]
struct SearchQuery {
    q: String,
}

async fn lookup(State(state): State<AppState>, auth: Auth, AppQuery(q): AppQuery<LookupQuery>) -> AppResult<AppJson<ContactList>> {
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    let e164 = crate::dest::to_e164(&tenant, &q.number)?;
    Ok(AppJson(ContactList { items: contacts::lookup(&state, &tenant, &e164).await? }))
}

async fn search(State(state): State<AppState>, auth: Auth, AppQuery(q): AppQuery<SearchQuery>) -> AppResult<AppJson<ContactList>> {
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    Ok(AppJson(ContactList { items: contacts::search(&state, &tenant, &q.q).await? }))
}

async fn create(State(state): State<AppState>, auth: Auth, AppJson(c): AppJson<NewContact>) -> AppResult<(StatusCode, AppJson<Contact>)> {
    auth.require_admin()?;
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    let contact = contacts::create(&state, &tenant, &c).await?;
    crate::routes::audit(&state, &auth, "contact.create", Some(&contact.id), None).await?;
    Ok((StatusCode::CREATED, AppJson(contact)))
}
