//! Tenants: Twilio subaccount credentials (secrets decrypted on load), allowed origins
//! and countries, CRM connector and SSO settings. Loaded tenants are cached briefly.

use crate::crypto::new_id;
use crate::db::now_ms;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::sync::Arc;

/// A tenant with its secrets in clear (in memory only).
#[derive(Clone)]
pub struct Tenant {
    /// Id.
    pub id: String,
    /// URL-safe short name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Calls go through the sandbox stand-in.
    pub sandbox: bool,
    /// Twilio account (subaccount) SID.
    pub account_sid: String,
    /// Twilio auth token (checks webhook signatures).
    pub auth_token: String,
    /// API key SID (signs access tokens).
    pub api_key_sid: String,
    /// API key secret.
    pub api_key_secret: String,
    /// TwiML App SID.
    pub twiml_app_sid: String,
    /// Caller-ID numbers (E.164); the first is the default and the inbound number.
    pub caller_ids: Vec<String>,
    /// Allowed CORS origins; `*` wildcard allowed in the port (`http://127.0.0.1:*`) and
    /// `chrome-extension://*` for any extension.
    pub allowed_origins: Vec<String>,
    /// Countries agents may dial (ISO alpha-2); empty = any.
    pub allowed_countries: Vec<String>,
    /// CRM connectors (asked concurrently).
    pub connectors: Vec<ConnectorConfig>,
    /// Hosts (`host` or `host:port`) the connectors may reach although they resolve to
    /// loopback, private or link-local addresses (an on-premises CRM; the demo's CRMs).
    pub connector_hosts: Vec<String>,
    /// Dispositions agents choose from after a call (empty: the phone's defaults).
    pub dispositions: Vec<String>,
    /// SSO.
    pub sso: Option<SsoConfig>,
    /// Create agents on first SSO sign-in.
    pub sso_provision: bool,
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant").field("id", &self.id).field("slug", &self.slug).finish_non_exhaustive()
    }
}

/// A generic REST CRM connector, configured as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorConfig {
    /// Name shown as the contact source.
    pub name: String,
    /// Lookup URL template; `{phone}` is replaced by the URL-encoded E.164 number.
    pub lookup_url: String,
    /// Search URL template; `{q}` is replaced by the URL-encoded query.
    pub search_url: String,
    /// Optional auth header (name, value), e.g. `("Authorization", "Bearer …")`.
    #[serde(default)]
    pub auth_header: Option<(String, String)>,
    /// Dot path to the array of records in the response (empty: the response is the array).
    #[serde(default)]
    pub items_path: String,
    /// Field mapping: a dot path in each record (`attributes.email`, `phones.0.number`), or a
    /// template of paths in braces (`{attributes.first_name} {attributes.last_name}`).
    pub fields: FieldMap,
    /// Request timeout.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Cache lifetime of answers.
    #[serde(default = "default_ttl")]
    pub cache_ttl_secs: u64,
}

fn default_timeout() -> u64 {
    2000
}
fn default_ttl() -> u64 {
    60
}

/// Where each contact field is in a CRM record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldMap {
    /// Record id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Phone number.
    pub phone: String,
    /// Company.
    #[serde(default)]
    pub company: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Link to the record.
    #[serde(default)]
    pub url: Option<String>,
}

/// Per-tenant SSO settings: how to verify the CRM's JWT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SsoConfig {
    /// Expected `iss`.
    pub issuer: String,
    /// Expected `aud`.
    pub audience: String,
    /// HS256 shared secret.
    #[serde(default)]
    pub hs256_secret: Option<String>,
    /// RS256 public key (PEM).
    #[serde(default)]
    pub rs256_public_pem: Option<String>,
    /// The CRM's sign-in page for the web app's "Sign in with SSO": the app sends the agent
    /// there with `return_to` and `state`, and the CRM sends them back to `return_to` with
    /// `#assertion=<JWT>&state=…` (`docs/server-api.md`). `https://`, or `http://` on a
    /// loopback host; `None`: the CRM starts SSO itself (embedding).
    #[serde(default)]
    pub login_url: Option<String>,
}

impl SsoConfig {
    /// Refuses settings that cannot work: no key, or a sign-in page that is not a plain
    /// `https://` URL (or `http://` on loopback, for a CRM on the same machine).
    pub fn check(&self) -> Result<(), String> {
        if self.issuer.trim().is_empty() || self.audience.trim().is_empty() {
            return Err("SSO needs an issuer and an audience".into());
        }
        if self.hs256_secret.as_deref().is_none_or(str::is_empty) && self.rs256_public_pem.as_deref().is_none_or(str::is_empty) {
            return Err("SSO needs an HS256 secret or an RS256 public key".into());
        }
        if let Some(u) = &self.login_url {
            // Parsed as a browser would (`url`), so a user name cannot pass for the host.
            let ok = url::Url::parse(u).is_ok_and(|p| match (p.scheme(), p.host()) {
                ("https", Some(_)) => true,
                ("http", Some(url::Host::Domain(d))) => d == "localhost",
                ("http", Some(url::Host::Ipv4(ip))) => ip.is_loopback(),
                ("http", Some(url::Host::Ipv6(ip))) => ip.is_loopback(),
                _ => false,
            } && p.username().is_empty() && p.password().is_none());
            if !ok || u.len() > 2048 || u.contains('#') || u.chars().any(char::is_whitespace) {
                return Err(
                    "the SSO sign-in page must be an https:// URL (http:// only on localhost) without a fragment or user name".into()
                );
            }
        }
        Ok(())
    }
}

/// Values to create a tenant with.
#[derive(Debug, Clone, Default)]
pub struct NewTenant {
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Sandbox mode.
    pub sandbox: bool,
    /// Account SID.
    pub account_sid: String,
    /// Auth token.
    pub auth_token: String,
    /// API key SID.
    pub api_key_sid: String,
    /// API key secret.
    pub api_key_secret: String,
    /// TwiML App SID.
    pub twiml_app_sid: String,
    /// Caller IDs.
    pub caller_ids: Vec<String>,
    /// Allowed origins.
    pub allowed_origins: Vec<String>,
    /// Allowed countries.
    pub allowed_countries: Vec<String>,
    /// Connectors.
    pub connectors: Vec<ConnectorConfig>,
}

fn ctx(tenant_id: &str, what: &str) -> String {
    format!("tenant:{tenant_id}:{what}")
}

/// The countries a new tenant may call: those given, or else its first caller ID's
/// country (international calling is opt-in; an empty list would allow every country).
fn default_countries(given: &[String], caller_ids: &[String]) -> Vec<String> {
    if !given.is_empty() {
        return given.to_vec();
    }
    caller_ids
        .first()
        .and_then(|c| mpt_core::phone::E164::parse(c).ok())
        .map(|n| n.main_region())
        .filter(|r| r.len() == 2) // "001": a non-geographic number names no country
        .map(|r| vec![r.to_string()])
        .unwrap_or_default()
}

/// Inserts a tenant, encrypting its secrets; returns its id.
pub async fn create(state: &AppState, t: &NewTenant) -> AppResult<String> {
    if t.slug.is_empty() || !t.slug.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(AppError::BadRequest("slug must be letters, digits and '-'".into()));
    }
    let id = new_id("tn_");
    let c = &state.crypto;
    let allowed_countries = default_countries(&t.allowed_countries, &t.caller_ids);
    let connector =
        if t.connectors.is_empty() { None } else { Some(c.seal(&ctx(&id, "connector"), &serde_json::to_string(&t.connectors)?)) };
    sqlx::query(
        "INSERT INTO tenants (id, slug, name, sandbox, account_sid, auth_token_enc, api_key_sid, api_key_secret_enc, \
         twiml_app_sid, caller_ids, allowed_origins, allowed_countries, connector_enc, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&id)
    .bind(&t.slug)
    .bind(&t.name)
    .bind(t.sandbox as i64)
    .bind(&t.account_sid)
    .bind(c.seal(&ctx(&id, "auth_token"), &t.auth_token))
    .bind(&t.api_key_sid)
    .bind(c.seal(&ctx(&id, "api_key_secret"), &t.api_key_secret))
    .bind(&t.twiml_app_sid)
    .bind(serde_json::to_string(&t.caller_ids)?)
    .bind(serde_json::to_string(&t.allowed_origins)?)
    .bind(serde_json::to_string(&allowed_countries)?)
    .bind(connector)
    .bind(now_ms())
    .execute(&state.db.pool)
    .await?;
    Ok(id)
}

/// Sets the connectors (empty: none).
pub async fn set_connectors(state: &AppState, tenant_id: &str, conns: &[ConnectorConfig]) -> AppResult<()> {
    let enc = if conns.is_empty() { None } else { Some(state.crypto.seal(&ctx(tenant_id, "connector"), &serde_json::to_string(conns)?)) };
    sqlx::query("UPDATE tenants SET connector_enc = $1 WHERE id = $2").bind(enc).bind(tenant_id).execute(&state.db.pool).await?;
    state.tenants.invalidate();
    Ok(())
}

/// Sets the dispositions agents choose from (empty: the phone's defaults).
pub async fn set_dispositions(state: &AppState, tenant_id: &str, list: &[String]) -> AppResult<()> {
    sqlx::query("UPDATE tenants SET dispositions = $1 WHERE id = $2")
        .bind(serde_json::to_string(list)?)
        .bind(tenant_id)
        .execute(&state.db.pool)
        .await?;
    state.tenants.invalidate();
    Ok(())
}

/// Sets the origins the tenant trusts as its CRMs (see `mpt_core::origin`).
pub async fn set_allowed_origins(state: &AppState, tenant_id: &str, origins: &[String]) -> AppResult<()> {
    sqlx::query("UPDATE tenants SET allowed_origins = $1 WHERE id = $2")
        .bind(serde_json::to_string(origins)?)
        .bind(tenant_id)
        .execute(&state.db.pool)
        .await?;
    state.tenants.invalidate();
    state.origins.invalidate().await;
    Ok(())
}

/// Sets the tenant's caller IDs (E.164, checked by the caller); the first is the default.
pub async fn set_caller_ids(state: &AppState, tenant_id: &str, ids: &[String]) -> AppResult<()> {
    sqlx::query("UPDATE tenants SET caller_ids = $1 WHERE id = $2")
        .bind(serde_json::to_string(ids)?)
        .bind(tenant_id)
        .execute(&state.db.pool)
        .await?;
    state.tenants.invalidate();
    Ok(())
}

/// Sets the countries the tenant may call (ISO alpha-2, checked by the caller); the first
/// is the default region of numbers typed without a country code.
pub async fn set_allowed_countries(state: &AppState, tenant_id: &str, countries: &[String]) -> AppResult<()> {
    sqlx::query("UPDATE tenants SET allowed_countries = $1 WHERE id = $2")
        .bind(serde_json::to_string(countries)?)
        .bind(tenant_id)
        .execute(&state.db.pool)
        .await?;
    state.tenants.invalidate();
    Ok(())
}

/// Sets the hosts the connectors may reach on private addresses.
pub async fn set_connector_hosts(state: &AppState, tenant_id: &str, hosts: &[String]) -> AppResult<()> {
    sqlx::query("UPDATE tenants SET connector_hosts = $1 WHERE id = $2")
        .bind(serde_json::to_string(hosts)?)
        .bind(tenant_id)
        .execute(&state.db.pool)
        .await?;
    state.tenants.invalidate();
    Ok(())
}

/// A tenant's Twilio credentials (from provisioning).
#[derive(Clone)]
pub struct TwilioCredentials {
    /// Subaccount SID.
    pub account_sid: String,
    /// The subaccount's own auth token (its webhooks are signed with it).
    pub auth_token: String,
    /// API key SID.
    pub api_key_sid: String,
    /// API key secret.
    pub api_key_secret: String,
    /// TwiML App SID.
    pub twiml_app_sid: String,
    /// Caller IDs (the provisioned number).
    pub caller_ids: Vec<String>,
}

/// Replaces a tenant's Twilio credentials (secrets encrypted) and leaves sandbox mode.
pub async fn set_twilio(state: &AppState, tenant_id: &str, t: &TwilioCredentials) -> AppResult<()> {
    let c = &state.crypto;
    sqlx::query(
        "UPDATE tenants SET sandbox = 0, account_sid = $1, auth_token_enc = $2, api_key_sid = $3, api_key_secret_enc = $4, \
         twiml_app_sid = $5, caller_ids = $6 WHERE id = $7",
    )
    .bind(&t.account_sid)
    .bind(c.seal(&ctx(tenant_id, "auth_token"), &t.auth_token))
    .bind(&t.api_key_sid)
    .bind(c.seal(&ctx(tenant_id, "api_key_secret"), &t.api_key_secret))
    .bind(&t.twiml_app_sid)
    .bind(serde_json::to_string(&t.caller_ids)?)
    .bind(tenant_id)
    .execute(&state.db.pool)
    .await?;
    state.tenants.invalidate();
    Ok(())
}

/// Sets (or clears) SSO settings.
pub async fn set_sso(state: &AppState, tenant_id: &str, sso: Option<&SsoConfig>, provision: bool) -> AppResult<()> {
    let enc = match sso {
        Some(s) => Some(state.crypto.seal(&ctx(tenant_id, "sso"), &serde_json::to_string(s)?)),
        None => None,
    };
    sqlx::query("UPDATE tenants SET sso_enc = $1, sso_provision = $2 WHERE id = $3")
        .bind(enc)
        .bind(provision as i64)
        .bind(tenant_id)
        .execute(&state.db.pool)
        .await?;
    state.tenants.invalidate();
    Ok(())
}

const COLS: &str = "id, slug, name, sandbox, account_sid, auth_token_enc, api_key_sid, api_key_secret_enc, \
    twiml_app_sid, caller_ids, allowed_origins, allowed_countries, connector_enc, connector_hosts, dispositions, sso_enc, sso_provision";

fn from_row(state: &AppState, row: &sqlx::any::AnyRow) -> AppResult<Tenant> {
    let c = &state.crypto;
    let id: String = row.try_get("id")?;
    let open = |what: &str, v: &str| c.open(&ctx(&id, what), v).map_err(AppError::internal);
    let json_list = |col: &str| -> AppResult<Vec<String>> { Ok(serde_json::from_str(&row.try_get::<String, _>(col)?)?) };
    let connectors = match row.try_get::<Option<String>, _>("connector_enc")? {
        Some(v) => serde_json::from_str(&open("connector", &v)?)?,
        None => Vec::new(),
    };
    let sso = match row.try_get::<Option<String>, _>("sso_enc")? {
        Some(v) => Some(serde_json::from_str(&open("sso", &v)?)?),
        None => None,
    };
    Ok(Tenant {
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        sandbox: row.try_get::<i64, _>("sandbox")? != 0,
        account_sid: row.try_get("account_sid")?,
        auth_token: open("auth_token", &row.try_get::<String, _>("auth_token_enc")?)?,
        api_key_sid: row.try_get("api_key_sid")?,
        api_key_secret: open("api_key_secret", &row.try_get::<String, _>("api_key_secret_enc")?)?,
        twiml_app_sid: row.try_get("twiml_app_sid")?,
        caller_ids: json_list("caller_ids")?,
        allowed_origins: json_list("allowed_origins")?,
        allowed_countries: json_list("allowed_countries")?,
        connector_hosts: json_list("connector_hosts")?,
        dispositions: json_list("dispositions")?,
        connectors,
        sso,
        sso_provision: row.try_get::<i64, _>("sso_provision")? != 0,
        id,
    })
}

/// A small cache of loaded tenants (a few seconds; cleared on changes made here).
#[derive(Default)]
pub struct TenantCache {
    map: std::sync::RwLock<std::collections::HashMap<String, (std::time::Instant, Arc<Tenant>)>>,
}

const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl TenantCache {
    fn get(&self, key: &str) -> Option<Arc<Tenant>> {
        let map = self.map.read().ok()?;
        map.get(key).filter(|(at, _)| at.elapsed() < CACHE_TTL).map(|(_, t)| t.clone())
    }
    fn put(&self, t: Arc<Tenant>) {
        if let Ok(mut map) = self.map.write() {
            if map.len() > 10_000 {
                map.clear();
            }
            let now = std::time::Instant::now();
            map.insert(format!("id:{}", t.id), (now, t.clone()));
            map.insert(format!("ac:{}", t.account_sid), (now, t.clone()));
            map.insert(format!("slug:{}", t.slug), (now, t));
        }
    }
    /// Drops everything.
    pub fn invalidate(&self) {
        if let Ok(mut map) = self.map.write() {
            map.clear();
        }
    }
}

async fn load_by(state: &AppState, col: &str, key_prefix: &str, value: &str) -> AppResult<Option<Arc<Tenant>>> {
    let key = format!("{key_prefix}:{value}");
    if let Some(t) = state.tenants.get(&key) {
        return Ok(Some(t));
    }
    let sql = format!("SELECT {COLS} FROM tenants WHERE {col} = $1");
    let Some(row) = sqlx::query(&sql).bind(value).fetch_optional(&state.db.pool).await? else {
        return Ok(None);
    };
    let t = Arc::new(from_row(state, &row)?);
    state.tenants.put(t.clone());
    Ok(Some(t))
}

/// Loads a tenant by id (404 when absent).
pub async fn by_id(state: &AppState, id: &str) -> AppResult<Arc<Tenant>> {
    load_by(state, "id", "id", id).await?.ok_or(AppError::NotFound)
}

/// Loads a tenant by Twilio account SID.
pub async fn by_account_sid(state: &AppState, sid: &str) -> AppResult<Option<Arc<Tenant>>> {
    load_by(state, "account_sid", "ac", sid).await
}

/// Loads a tenant by slug.
pub async fn by_slug(state: &AppState, slug: &str) -> AppResult<Option<Arc<Tenant>>> {
    load_by(state, "slug", "slug", slug).await
}

/// Lists all tenants (for CORS origin checks, key rotation).
pub async fn all_ids(state: &AppState) -> AppResult<Vec<String>> {
    let rows = sqlx::query("SELECT id FROM tenants").fetch_all(&state.db.pool).await?;
    rows.iter().map(|r| r.try_get::<String, _>("id").map_err(AppError::from)).collect()
}

/// Is `origin` the server's own public origin (the iframe widget's document calls the API
/// from there)?
pub fn is_own_origin(state: &AppState, origin: &str) -> bool {
    own_origin(&state.public_url) == origin
}

/// The origin (scheme, host, port) of a base URL.
pub fn own_origin(public_url: &str) -> &str {
    let after_scheme = public_url.find("://").map(|i| i + 3).unwrap_or(0);
    match public_url[after_scheme..].find('/') {
        Some(i) => &public_url[..after_scheme + i],
        None => public_url,
    }
}

/// The CSP `frame-ancestors` source list for a tenant's allowed origins: only patterns that
/// are plain CSP sources (scheme, host, a port or `*`) pass; with none, `'none'`.
pub fn frame_ancestors(allowed: &[String]) -> String {
    let ok = |p: &&String| {
        let Some((scheme, rest)) = p.split_once("://") else { return false };
        !scheme.is_empty()
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.')
            && !rest.is_empty()
            && rest.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*' | '[' | ']'))
    };
    let list: Vec<&str> = allowed.iter().filter(ok).map(String::as_str).collect();
    if list.is_empty() {
        "'none'".to_string()
    } else {
        list.join(" ")
    }
}

/// Does `origin` match an allowed-origin pattern? (One matcher, in `mpt-core`.)
pub use mpt_core::origin::origin_matches;

#[cfg(test)]
mod tests {
    use super::default_countries;

    #[test]
    fn a_new_tenant_calls_only_its_caller_ids_country_unless_told_otherwise() {
        let ids = vec!["+442079460958".to_string()];
        assert_eq!(default_countries(&[], &ids), vec!["GB".to_string()]);
        assert_eq!(default_countries(&[], &["+14155550100".into()]), vec!["US".to_string()]);
        let given = vec!["US".to_string(), "CA".to_string()];
        assert_eq!(default_countries(&given, &ids), given);
        assert!(default_countries(&[], &[]).is_empty());
        assert!(default_countries(&[], &["not a number".into()]).is_empty());
    }

    #[test]
    fn frame_ancestors_keep_only_plain_sources() {
        use super::{frame_ancestors, own_origin};
        let list = |v: &[&str]| frame_ancestors(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(list(&["http://127.0.0.1:*", "https://crm.example"]), "http://127.0.0.1:* https://crm.example");
        assert_eq!(list(&["https://a.example; script-src *", "*", "https://b.example 'unsafe-inline'"]), "'none'");
        assert_eq!(list(&[]), "'none'");
        assert_eq!(own_origin("http://127.0.0.1:8787"), "http://127.0.0.1:8787");
        assert_eq!(own_origin("https://phone.example/base"), "https://phone.example");
    }
}

/// The union of every tenant's allowed origins (for CORS preflights, which carry no
/// credentials), reloaded every few seconds.
#[derive(Default)]
pub struct OriginCache {
    inner: tokio::sync::RwLock<Option<(std::time::Instant, Vec<String>)>>,
}

impl OriginCache {
    /// Does any tenant allow `origin`?
    pub async fn allows_any(&self, state: &AppState, origin: &str) -> bool {
        {
            let guard = self.inner.read().await;
            if let Some((at, list)) = guard.as_ref() {
                if at.elapsed() < CACHE_TTL {
                    return list.iter().any(|p| origin_matches(p, origin));
                }
            }
        }
        let rows = match sqlx::query("SELECT allowed_origins FROM tenants").fetch_all(&state.db.pool).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "loading allowed origins");
                return false;
            }
        };
        let mut list: Vec<String> = rows
            .iter()
            .filter_map(|r| r.try_get::<String, _>("allowed_origins").ok())
            .filter_map(|j| serde_json::from_str::<Vec<String>>(&j).ok())
            .flatten()
            .collect();
        list.sort();
        list.dedup();
        let ok = list.iter().any(|p| origin_matches(p, origin));
        *self.inner.write().await = Some((std::time::Instant::now(), list));
        ok
    }

    /// Forgets the cached list.
    pub async fn invalidate(&self) {
        *self.inner.write().await = None;
    }
}
