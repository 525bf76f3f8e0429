//! The demo tenant (sandbox mode), seeded idempotently by `serve --demo`.

use crate::agents::{create as create_agent, NewAgent};
use crate::contacts::NewContact;
use crate::crypto::{hex, random_token};
use crate::error::AppResult;
use crate::state::AppState;
use crate::tenant::{ConnectorConfig, FieldMap, NewTenant};
use mpt_core::api::Role;
use rand::RngCore;

/// Demo tenant slug.
pub const DEMO_TENANT: &str = "demo";
/// Demo agent sign-in.
pub const DEMO_AGENT: (&str, &str) = ("agent@demo.mpt-phone.test", "demo-agent-pass");
/// Demo admin sign-in.
pub const DEMO_ADMIN: (&str, &str) = ("admin@demo.mpt-phone.test", "demo-admin-pass");
/// The demo tenant's number (caller ID, and the number inbound sandbox calls reach).
pub const DEMO_NUMBER: &str = "+14155550100";

fn sid(prefix: &str) -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    format!("{prefix}{}", hex(&b))
}

/// The token both demo CRMs accept (`demo-crm`'s API).
pub const DEMO_CRM_TOKEN: &str = "demo-crm-token";

/// Connector for the demo MPT-CRM (`GET /api/contacts?phone=|q=`, JSON:API-style records).
pub fn mpt_crm_connector(base: &str) -> ConnectorConfig {
    let base = base.trim_end_matches('/');
    ConnectorConfig {
        name: "MPT-CRM".into(),
        lookup_url: format!("{base}/api/contacts?phone={{phone}}"),
        search_url: format!("{base}/api/contacts?q={{q}}"),
        auth_header: Some(("Authorization".into(), format!("Bearer {DEMO_CRM_TOKEN}"))),
        items_path: "data".into(),
        fields: FieldMap {
            id: "id".into(),
            name: "{attributes.first_name} {attributes.last_name}".into(),
            phone: "attributes.phone_numbers.0.number".into(),
            company: Some("attributes.company".into()),
            email: Some("attributes.email".into()),
            url: Some("links.self".into()),
        },
        timeout_ms: 1500,
        cache_ttl_secs: 30,
    }
}

/// Connector for the demo AMS-APP-CRM (PascalCase records, numbers as printed).
pub fn ams_crm_connector(base: &str) -> ConnectorConfig {
    let base = base.trim_end_matches('/');
    ConnectorConfig {
        name: "AMS-APP-CRM".into(),
        lookup_url: format!("{base}/api/contacts?phone={{phone}}"),
        search_url: format!("{base}/api/contacts?q={{q}}"),
        auth_header: Some(("Authorization".into(), format!("Bearer {DEMO_CRM_TOKEN}"))),
        items_path: "Clients".into(),
        fields: FieldMap {
            id: "ClientID".into(),
            name: "ClientName".into(),
            phone: "Phones.Primary".into(),
            company: None,
            email: Some("Email".into()),
            url: Some("ProfileUrl".into()),
        },
        timeout_ms: 1500,
        cache_ttl_secs: 30,
    }
}

/// Demo connectors from `MPT_DEMO_MPT_CRM_URL` and `MPT_DEMO_AMS_CRM_URL` (the demo CRM's
/// `mpt_crm` and `ams_crm` base URLs).
pub fn demo_connectors_from_env() -> Vec<ConnectorConfig> {
    let var = |k: &str| std::env::var(k).ok().filter(|u| !u.trim().is_empty());
    let mut out = Vec::new();
    if let Some(u) = var("MPT_DEMO_MPT_CRM_URL") {
        out.push(mpt_crm_connector(&u));
    }
    if let Some(u) = var("MPT_DEMO_AMS_CRM_URL") {
        out.push(ams_crm_connector(&u));
    }
    out
}

/// The demo tenant's publishable widget key (public, like the demo passwords): the demo
/// pages of `cargo xtask run` embed the phone with it.
pub const DEMO_WIDGET_KEY: &str = "pk_demo_widget_key_for_the_sandbox";

/// Gives the demo tenant its known widget key, unless present (`serve --demo` only; tests
/// make their own keys).
pub async fn seed_demo_widget_key(state: &AppState) -> AppResult<()> {
    let Some(t) = crate::tenant::by_slug(state, DEMO_TENANT).await? else { return Ok(()) };
    crate::widget_keys::ensure_known(state, &t.id, "demo pages", DEMO_WIDGET_KEY).await
}

/// Creates the demo tenant, its agent and admin and a few contacts, unless present.
/// Returns the tenant id.
pub async fn seed_demo(state: &AppState) -> AppResult<String> {
    let connectors = demo_connectors_from_env();
    // The demo CRMs run on loopback: the demo tenant allowlists exactly their hosts.
    let hosts = crate::connector_http::hosts_of(&connectors);
    if let Some(t) = crate::tenant::by_slug(state, DEMO_TENANT).await? {
        // The demo CRM's ports change from run to run: refresh the connectors.
        if !connectors.is_empty() && connectors != t.connectors {
            crate::tenant::set_connectors(state, &t.id, &connectors).await?;
        }
        if hosts != t.connector_hosts {
            crate::tenant::set_connector_hosts(state, &t.id, &hosts).await?;
        }
        return Ok(t.id.clone());
    }
    let id = crate::tenant::create(
        state,
        &NewTenant {
            slug: DEMO_TENANT.into(),
            name: "MPT Demo (sandbox)".into(),
            sandbox: true,
            account_sid: sid("AC"),
            auth_token: sid(""),
            api_key_sid: sid("SK"),
            api_key_secret: random_token(24),
            twiml_app_sid: sid("AP"),
            caller_ids: vec![DEMO_NUMBER.into()],
            allowed_origins: vec!["http://127.0.0.1:*".into(), "http://localhost:*".into(), "chrome-extension://*".into()],
            // International calling is opt-in: the demo CRMs show US and UK numbers.
            allowed_countries: vec!["US".into(), "GB".into()],
            connectors,
        },
    )
    .await?;
    crate::tenant::set_connector_hosts(state, &id, &hosts).await?;
    for (email, pass, name, role, identity) in [
        (DEMO_AGENT.0, DEMO_AGENT.1, "Demo Agent", Role::Agent, "demo-agent"),
        (DEMO_ADMIN.0, DEMO_ADMIN.1, "Demo Admin", Role::Admin, "demo-admin"),
    ] {
        create_agent(
            state,
            &id,
            &NewAgent { email: email.into(), name: name.into(), password: Some(pass.into()), role, identity: Some(identity.into()) },
        )
        .await?;
    }
    let tenant = crate::tenant::by_id(state, &id).await?;
    for (name, phone, company) in [
        ("Ada Lovelace", "+14155550123", "Analytical Engines Ltd"),
        ("Grace Hopper", "+14155550187", "Compilers Inc"),
        ("Alan Turing", "+442079460018", "Bletchley Consulting"),
    ] {
        crate::contacts::create(
            state,
            &tenant,
            &NewContact { name: name.into(), phone: phone.into(), company: Some(company.into()), email: None },
        )
        .await?;
    }
    // The demo admin starts unavailable so inbound demo calls ring the demo agent.
    sqlx::query("UPDATE agents SET available = 0 WHERE tenant_id = $1 AND identity = 'demo-admin'")
        .bind(&id)
        .execute(&state.db.pool)
        .await?;
    Ok(id)
}
