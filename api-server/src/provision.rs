//! Twilio provisioning: each customer gets its own subaccount (data isolation), made
//! with the main account's credentials (`MPT_TWILIO_MAIN_ACCOUNT_SID` /
//! `MPT_TWILIO_MAIN_AUTH_TOKEN`) through `mpt_twilio::rest`:
//!
//! 1. a subaccount (`FriendlyName` = "MPT Phone: <tenant name>");
//! 2. an API key in it (signs the agents' Voice access tokens);
//! 3. a TwiML App whose voice URL is our `/twilio/voice` and status callback our
//!    `/twilio/status` (both POST, on `MPT_PUBLIC_URL`);
//! 4. a number: a main-account number moved into the subaccount (`number_sid`), or the
//!    first local number for sale (`country`, `area_code`) bought into it; either way
//!    its calls go to the app.
//!
//! The tenant stores the subaccount's SID and its *own* auth token (Twilio signs the
//! subaccount's webhooks with it), the key and the app, secrets encrypted as every
//! tenant secret. When a step after the subaccount fails, the new subaccount is
//! closed (releasing anything bought into it) and the error says so.
//! `tenant suspend` / `resume` set the subaccount's status; a cancelled
//! subscription suspends it and a reactivated one resumes it (only if billing suspended
//! it: an operator's suspension stays).

use crate::db::now_ms;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::tenant::TwilioCredentials;
use mpt_core::PhoneErrorCode;
use mpt_twilio::rest::{AccountStatus, NewApplication, RestClient};
use mpt_twilio::TwilioError;
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// Where the tenant's number comes from.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NumberChoice {
    /// Move this main-account number (`PN…`) into the subaccount.
    #[serde(default)]
    pub number_sid: Option<String>,
    /// Else buy a local number in this country (ISO alpha-2, default `US`)…
    #[serde(default)]
    pub country: Option<String>,
    /// …in this area code, if given.
    #[serde(default)]
    pub area_code: Option<String>,
}

/// What provisioning made (no secrets).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Provisioned {
    /// Subaccount SID.
    pub account_sid: String,
    /// API key SID.
    pub api_key_sid: String,
    /// TwiML App SID.
    pub twiml_app_sid: String,
    /// The number (E.164).
    pub phone_number: String,
    /// Its SID.
    pub phone_number_sid: String,
}

fn twilio_error(step: &str, e: TwilioError) -> AppError {
    match e {
        TwilioError::Http { .. } => {
            tracing::warn!(error = %e, step, "Twilio unreachable");
            AppError::phone(PhoneErrorCode::Unavailable)
        }
        TwilioError::Api { message, .. } => AppError::BadRequest(format!("Twilio refused to {step}: {message}")),
        e => AppError::internal(format!("{step}: {e}")),
    }
}

/// A REST client with the main account's credentials.
pub fn main_client(state: &AppState) -> AppResult<(RestClient, String)> {
    let b = &state.cfg.billing;
    let (Some(sid), Some(token)) = (b.twilio_main_account_sid.clone(), b.twilio_main_auth_token.clone()) else {
        return Err(AppError::Conflict("provisioning needs MPT_TWILIO_MAIN_ACCOUNT_SID and MPT_TWILIO_MAIN_AUTH_TOKEN".into()));
    };
    let c = RestClient::new(&b.twilio_api_base, &sid, &token).map_err(|e| twilio_error("connect", e))?;
    Ok((c, sid))
}

fn valid_country(c: &str) -> bool {
    c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())
}

/// Makes the subaccount, key, app and number; returns the credentials to store.
async fn make(state: &AppState, tenant_name: &str, number: &NumberChoice) -> AppResult<(TwilioCredentials, Provisioned)> {
    let country = number.country.clone().unwrap_or_else(|| "US".into()).to_ascii_uppercase();
    if !valid_country(&country) {
        return Err(AppError::BadRequest("country must be an ISO alpha-2 code".into()));
    }
    if let Some(a) = &number.area_code {
        if a.is_empty() || a.len() > 6 || !a.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::BadRequest("area_code must be digits".into()));
        }
    }
    let (main, main_sid) = main_client(state)?;
    let sub = main.create_subaccount(&format!("MPT Phone: {tenant_name}")).await.map_err(|e| twilio_error("create the subaccount", e))?;
    match finish(state, &main, &main_sid, &sub, number, &country).await {
        Ok(done) => Ok(done),
        Err(e) => {
            // Half-made: close the subaccount (releasing anything bought into it), so a
            // retry starts clean and nothing half-provisioned keeps costing money.
            let closed = main.set_account_status(&sub.sid, AccountStatus::Closed).await;
            if let Err(c) = &closed {
                tracing::error!(subaccount = %sub.sid, error = %c, "could not close a half-provisioned subaccount");
            }
            Err(match e {
                AppError::BadRequest(m) => AppError::BadRequest(match closed {
                    Ok(_) => format!("{m} (the new subaccount {} was closed)", sub.sid),
                    Err(_) => format!("{m} (the new subaccount {} could not be closed: close it in Twilio)", sub.sid),
                }),
                other => other,
            })
        }
    }
}

/// Steps 2–4 for a new subaccount.
async fn finish(
    state: &AppState,
    main: &RestClient,
    main_sid: &str,
    sub: &mpt_twilio::rest::Account,
    number: &NumberChoice,
    country: &str,
) -> AppResult<(TwilioCredentials, Provisioned)> {
    let after = |step: &'static str| move |e: TwilioError| twilio_error(step, e);
    let key = main.create_api_key(&sub.sid, "MPT Phone").await.map_err(after("create the API key"))?;
    let app = main
        .create_application(
            &sub.sid,
            &NewApplication {
                friendly_name: "MPT Phone".into(),
                voice_url: format!("{}/twilio/voice", state.public_url),
                status_callback: format!("{}/twilio/status", state.public_url),
            },
        )
        .await
        .map_err(after("create the TwiML App"))?;
    let num = match &number.number_sid {
        Some(pn) => {
            main.transfer_number(main_sid, pn, &sub.sid).await.map_err(after("move the number"))?;
            main.set_number_application(&sub.sid, pn, &app.sid).await.map_err(after("point the number at the app"))?
        }
        None => {
            let offer = main
                .available_local_numbers(&sub.sid, country, number.area_code.as_deref(), 1)
                .await
                .map_err(after("list numbers for sale"))?;
            let Some(first) = offer.first() else {
                return Err(AppError::BadRequest(format!(
                    "no local number for sale in {country} {}",
                    number.area_code.as_deref().unwrap_or("")
                )));
            };
            main.buy_number(&sub.sid, &first.phone_number, &app.sid).await.map_err(after("buy the number"))?
        }
    };
    let creds = TwilioCredentials {
        account_sid: sub.sid.clone(),
        auth_token: sub.auth_token.clone(),
        api_key_sid: key.sid.clone(),
        api_key_secret: key.secret,
        twiml_app_sid: app.sid.clone(),
        caller_ids: vec![num.phone_number.clone()],
    };
    let done = Provisioned {
        account_sid: sub.sid.clone(),
        api_key_sid: key.sid,
        twiml_app_sid: app.sid,
        phone_number: num.phone_number,
        phone_number_sid: num.sid,
    };
    Ok((creds, done))
}

async fn record(state: &AppState, tenant_id: &str, p: &Provisioned) -> AppResult<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO twilio_subaccounts (tenant_id, account_sid, status, phone_number_sid, created_at, updated_at) VALUES ($1, $2, 'active', $3, $4, $4)",
    )
    .bind(tenant_id)
    .bind(&p.account_sid)
    .bind(&p.phone_number_sid)
    .bind(now)
    .execute(&state.db.pool)
    .await?;
    Ok(())
}

/// Provisions Twilio for an existing tenant (admin endpoint): 409 when it already has a
/// subaccount. The tenant leaves sandbox mode.
pub async fn provision_tenant(state: &AppState, tenant_id: &str, number: &NumberChoice) -> AppResult<Provisioned> {
    if subaccount(state, tenant_id).await?.is_some() {
        return Err(AppError::Conflict("this tenant already has a Twilio subaccount".into()));
    }
    let tenant = crate::tenant::by_id(state, tenant_id).await?;
    let (creds, done) = make(state, &tenant.name, number).await?;
    crate::tenant::set_twilio(state, tenant_id, &creds).await?;
    record(state, tenant_id, &done).await?;
    Ok(done)
}

/// Creates a tenant with a freshly provisioned subaccount (`tenant provision`).
pub async fn provision_new(state: &AppState, t: crate::tenant::NewTenant, number: &NumberChoice) -> AppResult<(String, Provisioned)> {
    if crate::tenant::by_slug(state, &t.slug).await?.is_some() {
        return Err(AppError::Conflict(format!("tenant {:?} exists", t.slug)));
    }
    let (creds, done) = make(state, &t.name, number).await?;
    let nt = crate::tenant::NewTenant {
        sandbox: false,
        account_sid: creds.account_sid,
        auth_token: creds.auth_token,
        api_key_sid: creds.api_key_sid,
        api_key_secret: creds.api_key_secret,
        twiml_app_sid: creds.twiml_app_sid,
        caller_ids: creds.caller_ids,
        ..t
    };
    let id = crate::tenant::create(state, &nt).await?;
    record(state, &id, &done).await?;
    Ok((id, done))
}

/// The tenant's subaccount: (SID, status, suspended_by).
pub async fn subaccount(state: &AppState, tenant_id: &str) -> AppResult<Option<(String, String, Option<String>)>> {
    let row = sqlx::query("SELECT account_sid, status, suspended_by FROM twilio_subaccounts WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_optional(&state.db.pool)
        .await?;
    Ok(match row {
        Some(r) => Some((r.try_get("account_sid")?, r.try_get("status")?, r.try_get("suspended_by")?)),
        None => None,
    })
}

/// Sets the subaccount's status at Twilio, then records it (`by`: `admin` or `billing`).
pub async fn set_status(state: &AppState, tenant_id: &str, status: AccountStatus, by: &str) -> AppResult<()> {
    let (sid, _, _) =
        subaccount(state, tenant_id).await?.ok_or_else(|| AppError::Conflict("this tenant has no provisioned Twilio subaccount".into()))?;
    let (main, _) = main_client(state)?;
    main.set_account_status(&sid, status).await.map_err(|e| twilio_error("change the subaccount's status", e))?;
    let suspended_by = (status == AccountStatus::Suspended).then_some(by);
    sqlx::query("UPDATE twilio_subaccounts SET status = $1, suspended_by = $2, updated_at = $3 WHERE tenant_id = $4")
        .bind(status.as_str())
        .bind(suspended_by)
        .bind(now_ms())
        .bind(tenant_id)
        .execute(&state.db.pool)
        .await?;
    Ok(())
}

/// Brings a provisioned subaccount in line with the stored subscription: `canceled`
/// suspends it; `active`/`trialing` resumes it if billing (not an operator) suspended
/// it. Nothing is sent when it already matches, so this runs after every Stripe event of
/// the tenant, redeliveries included: when Twilio cannot be reached, the webhook fails,
/// Stripe redelivers, and the redelivery (a duplicate for the billing state) retries this.
pub async fn follow_subscription(state: &AppState, tenant_id: &str) -> AppResult<()> {
    let Some((_, current, by)) = subaccount(state, tenant_id).await? else { return Ok(()) };
    let status = crate::billing::entitlements::load_billing(state, tenant_id).await?.and_then(|b| b.status);
    let target = match status.as_deref() {
        Some("canceled") if current != "suspended" => AccountStatus::Suspended,
        Some("active" | "trialing") if current == "suspended" && by.as_deref() == Some("billing") => AccountStatus::Active,
        _ => return Ok(()),
    };
    set_status(state, tenant_id, target, "billing").await.inspect_err(|e| {
        tracing::error!(tenant = %tenant_id, error = %e, "could not follow the subscription status at Twilio");
    })
}
