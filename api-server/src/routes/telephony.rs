//! The tenant's telephony settings for its admins (role admin; every change audited):
//! Twilio credentials (secrets stored encrypted, never read back), a "verify" that asks
//! Twilio whether they work and which numbers the account owns, caller IDs and the
//! countries agents may call.

use crate::auth::Auth;
use crate::error::{AppError, AppJson, AppResult};
use crate::routes::audit;
use crate::state::AppState;
use crate::tenant::TwilioCredentials;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::Router;
use mpt_core::phone::Region;
use mpt_core::PhoneErrorCode;
use mpt_twilio::rest::RestClient;
use mpt_twilio::TwilioError;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/twilio", get(show).put(set))
        .route("/api/admin/twilio/verify", post(verify))
        .route("/api/admin/caller-ids", put(set_caller_ids))
        .route("/api/admin/allowed-countries", put(set_countries))
}

/// At most this many caller IDs and countries.
const MAX_CALLER_IDS: usize = 20;
const MAX_COUNTRIES: usize = 250;

/// The settings as an admin sees them: never a secret, only whether one is set.
#[derive(Serialize)]
struct Telephony {
    sandbox: bool,
    account_sid: String,
    auth_token_set: bool,
    api_key_sid: String,
    api_key_secret_set: bool,
    twiml_app_sid: String,
    caller_ids: Vec<String>,
    allowed_countries: Vec<String>,
}

async fn show(State(state): State<AppState>, auth: Auth) -> AppResult<AppJson<Telephony>> {
    auth.require_admin()?;
    let t = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    Ok(AppJson(Telephony {
        sandbox: t.sandbox,
        account_sid: if t.sandbox { String::new() } else { t.account_sid.clone() },
        auth_token_set: !t.sandbox && !t.auth_token.is_empty(),
        api_key_sid: if t.sandbox { String::new() } else { t.api_key_sid.clone() },
        api_key_secret_set: !t.sandbox && !t.api_key_secret.is_empty(),
        twiml_app_sid: if t.sandbox { String::new() } else { t.twiml_app_sid.clone() },
        caller_ids: t.caller_ids.clone(),
        allowed_countries: t.allowed_countries.clone(),
    }))
}

#[derive(Deserialize)]
struct SetTwilio {
    account_sid: String,
    auth_token: String,
    api_key_sid: String,
    api_key_secret: String,
    twiml_app_sid: String,
}

/// A Twilio SID: its two-letter prefix and 32 hex digits.
fn valid_sid(sid: &str, prefix: &str) -> bool {
    sid.len() == 34 && sid.starts_with(prefix) && sid[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Replaces the Twilio credentials (the tenant leaves sandbox mode; its caller IDs stay).
async fn set(State(state): State<AppState>, auth: Auth, AppJson(b): AppJson<SetTwilio>) -> AppResult<StatusCode> {
    auth.require_admin()?;
    let (account_sid, api_key_sid, twiml_app_sid) = (b.account_sid.trim(), b.api_key_sid.trim(), b.twiml_app_sid.trim());
    if !valid_sid(account_sid, "AC") || !valid_sid(api_key_sid, "SK") || !valid_sid(twiml_app_sid, "AP") {
        return Err(AppError::BadRequest("give an account SID (AC…), an API key SID (SK…) and a TwiML App SID (AP…)".into()));
    }
    let (auth_token, secret) = (b.auth_token.trim(), b.api_key_secret.trim());
    if auth_token.is_empty() || auth_token.len() > 128 || secret.is_empty() || secret.len() > 128 {
        return Err(AppError::BadRequest("the auth token and the API key secret are required".into()));
    }
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    let creds = TwilioCredentials {
        account_sid: account_sid.into(),
        auth_token: auth_token.into(),
        api_key_sid: api_key_sid.into(),
        api_key_secret: secret.into(),
        twiml_app_sid: twiml_app_sid.into(),
        caller_ids: tenant.caller_ids.clone(),
    };
    crate::tenant::set_twilio(&state, &auth.tenant_id, &creds).await?;
    // SIDs only: secrets never reach the audit log.
    audit(&state, &auth, "twilio.set", Some(account_sid), Some(&format!("{api_key_sid} {twiml_app_sid}"))).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct Verified {
    /// The credentials work and the account is active.
    ok: bool,
    account_status: String,
    friendly_name: String,
    /// Numbers the account owns (first 50).
    numbers: Vec<String>,
    /// Caller IDs the account does not own (calls from them would be refused).
    caller_ids_not_owned: Vec<String>,
}

/// Asks Twilio (the configured API base) whether the stored credentials work.
async fn verify(State(state): State<AppState>, auth: Auth) -> AppResult<AppJson<Verified>> {
    auth.require_admin()?;
    let t = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    if t.sandbox {
        return Err(AppError::Conflict("this tenant uses sandbox calling: set Twilio credentials first".into()));
    }
    let refused = |e: TwilioError| match e {
        TwilioError::Api { message, .. } => AppError::BadRequest(format!("Twilio refused the credentials: {message}")),
        e => {
            tracing::warn!(tenant = %t.id, error = %e, "Twilio unreachable on verify");
            AppError::phone(PhoneErrorCode::Unavailable)
        }
    };
    let client = RestClient::new(&state.cfg.billing.twilio_api_base, &t.account_sid, &t.auth_token).map_err(refused)?;
    let account = client.fetch_account(&t.account_sid).await.map_err(refused)?;
    let numbers: Vec<String> =
        client.incoming_numbers(&t.account_sid, 50).await.map_err(refused)?.into_iter().map(|n| n.phone_number).collect();
    let caller_ids_not_owned = t.caller_ids.iter().filter(|c| !numbers.contains(c)).cloned().collect();
    let ok = account.status == "active";
    audit(&state, &auth, "twilio.verify", Some(&t.account_sid), Some(if ok { "ok" } else { "inactive" })).await?;
    Ok(AppJson(Verified { ok, account_status: account.status, friendly_name: account.friendly_name, numbers, caller_ids_not_owned }))
}

async fn set_caller_ids(State(state): State<AppState>, auth: Auth, AppJson(list): AppJson<Vec<String>>) -> AppResult<StatusCode> {
    auth.require_admin()?;
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    let mut ids: Vec<String> = Vec::with_capacity(list.len());
    for raw in &list {
        let e = crate::dest::to_e164(&tenant, raw)
            .map_err(|_| AppError::phone_msg(PhoneErrorCode::InvalidNumber, format!("{raw:?} is not a phone number like +14155550100")))?;
        if !ids.contains(&e) {
            ids.push(e);
        }
    }
    if ids.is_empty() || ids.len() > MAX_CALLER_IDS {
        return Err(AppError::BadRequest(format!("give 1 to {MAX_CALLER_IDS} caller IDs")));
    }
    crate::tenant::set_caller_ids(&state, &auth.tenant_id, &ids).await?;
    audit(&state, &auth, "caller_ids.set", None, Some(&ids.len().to_string())).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_countries(State(state): State<AppState>, auth: Auth, AppJson(list): AppJson<Vec<String>>) -> AppResult<StatusCode> {
    auth.require_admin()?;
    let mut countries: Vec<String> = Vec::with_capacity(list.len());
    for raw in &list {
        let r = Region::parse(raw).map_err(|_| AppError::BadRequest(format!("{raw:?} is not a country code like US or GB")))?;
        if !countries.iter().any(|c| c == r.as_str()) {
            countries.push(r.as_str().to_string());
        }
    }
    // An empty list would mean "every country": international calling stays opt-in.
    if countries.is_empty() || countries.len() > MAX_COUNTRIES {
        return Err(AppError::BadRequest(format!("give 1 to {MAX_COUNTRIES} country codes")));
    }
    crate::tenant::set_allowed_countries(&state, &auth.tenant_id, &countries).await?;
    audit(&state, &auth, "allowed_countries.set", None, Some(&countries.join(","))).await?;
    Ok(StatusCode::NO_CONTENT)
}
