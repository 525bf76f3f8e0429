//! Contacts and caller ID: a local contacts table (phone encrypted + blind index) and
//! the tenant's CRM connectors (generic REST, configured as data, reached through
//! [`crate::connector_http`]'s guards), with a timeout and a bounded cache.

use crate::crypto::new_id;
use crate::db::now_ms;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::tenant::{ConnectorConfig, Tenant};
use mpt_core::api::Contact;
use serde_json::Value;
use sqlx::Row;
use std::time::{Duration, Instant};

/// A cached answer: (stored at, lifetime, contacts).
type CacheEntry = (Instant, Duration, Vec<Contact>);

/// Cached connector answers, keyed by tenant + request; bounded in entries and in age
/// (each entry also keeps its connector's own, clamped, lifetime).
pub struct ContactCache {
    map: moka::sync::Cache<String, CacheEntry>,
}

impl Default for ContactCache {
    fn default() -> Self {
        ContactCache {
            map: moka::sync::Cache::builder()
                .max_capacity(20_000)
                .time_to_live(Duration::from_secs(crate::connector_http::MAX_CACHE_TTL_SECS))
                .build(),
        }
    }
}

impl ContactCache {
    fn get(&self, key: &str) -> Option<Vec<Contact>> {
        self.map.get(key).filter(|(at, ttl, _)| at.elapsed() < *ttl).map(|(_, _, v)| v)
    }
    fn put(&self, key: String, ttl: Duration, v: Vec<Contact>) {
        if !ttl.is_zero() {
            self.map.insert(key, (Instant::now(), ttl, v));
        }
    }
}

fn phone_ctx(tenant_id: &str, id: &str) -> String {
    format!("contact:{tenant_id}:{id}:phone")
}

/// Values for a new local contact.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct NewContact {
    /// Name.
    pub name: String,
    /// Phone (any format).
    pub phone: String,
    /// Company.
    #[serde(default)]
    pub company: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
}

/// Adds a local contact.
pub async fn create(state: &AppState, tenant: &Tenant, c: &NewContact) -> AppResult<Contact> {
    if c.name.trim().is_empty() {
        return Err(AppError::BadRequest("name is required".into()));
    }
    let phone = crate::dest::to_e164(tenant, &c.phone)?;
    let id = new_id("ct_");
    let search = format!("{} {} {}", c.name, c.company.clone().unwrap_or_default(), c.email.clone().unwrap_or_default()).to_lowercase();
    sqlx::query(
        "INSERT INTO contacts (tenant_id, id, name, company, email, phone_enc, phone_bidx, search_text, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&tenant.id)
    .bind(&id)
    .bind(&c.name)
    .bind(&c.company)
    .bind(&c.email)
    .bind(state.crypto.seal(&phone_ctx(&tenant.id, &id), &phone))
    .bind(state.crypto.blind_index(&tenant.id, &phone))
    .bind(search)
    .bind(now_ms())
    .execute(&state.db.pool)
    .await?;
    Ok(Contact { id, name: c.name.clone(), company: c.company.clone(), phone, email: c.email.clone(), source: "local".into(), url: None })
}

fn local_from_row(state: &AppState, tenant_id: &str, r: &sqlx::any::AnyRow) -> AppResult<Contact> {
    let id: String = r.try_get("id")?;
    let phone = state.crypto.open(&phone_ctx(tenant_id, &id), &r.try_get::<String, _>("phone_enc")?).map_err(AppError::internal)?;
    Ok(Contact {
        name: r.try_get("name")?,
        company: r.try_get("company")?,
        email: r.try_get("email")?,
        phone,
        source: "local".into(),
        url: None,
        id,
    })
}

const LOCAL_COLS: &str = "id, name, company, email, phone_enc";

/// Contacts with this number (E.164): local ones first, then the CRM's.
pub async fn lookup(state: &AppState, tenant: &Tenant, e164: &str) -> AppResult<Vec<Contact>> {
    let sql = format!("SELECT {LOCAL_COLS} FROM contacts WHERE tenant_id = $1 AND phone_bidx = $2 ORDER BY created_at LIMIT 20");
    let rows = sqlx::query(&sql).bind(&tenant.id).bind(state.crypto.blind_index(&tenant.id, e164)).fetch_all(&state.db.pool).await?;
    let mut out = rows.iter().map(|r| local_from_row(state, &tenant.id, r)).collect::<AppResult<Vec<_>>>()?;
    let asks = tenant.connectors.iter().map(|c| connector_query(state, tenant, c, &c.lookup_url, "{phone}", e164));
    for mut list in futures_util::future::join_all(asks).await {
        // The CRM matched this number, whichever of the record's numbers the mapping shows.
        for c in &mut list {
            c.phone = e164.to_string();
        }
        out.extend(list);
    }
    Ok(out)
}

/// Contacts matching free text (name, company, email) or a number.
pub async fn search(state: &AppState, tenant: &Tenant, q: &str) -> AppResult<Vec<Contact>> {
    let q = q.trim();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    if q.chars().filter(|c| c.is_ascii_digit()).count() >= 6 {
        if let Ok(e164) = crate::dest::to_e164(tenant, q) {
            return lookup(state, tenant, &e164).await;
        }
    }
    let escaped = q.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    let sql = format!("SELECT {LOCAL_COLS} FROM contacts WHERE tenant_id = $1 AND search_text LIKE $2 ESCAPE '\\' ORDER BY name LIMIT 50");
    let rows = sqlx::query(&sql).bind(&tenant.id).bind(format!("%{escaped}%")).fetch_all(&state.db.pool).await?;
    let mut out = rows.iter().map(|r| local_from_row(state, &tenant.id, r)).collect::<AppResult<Vec<_>>>()?;
    let asks = tenant.connectors.iter().map(|c| connector_query(state, tenant, c, &c.search_url, "{q}", q));
    for list in futures_util::future::join_all(asks).await {
        out.extend(list);
    }
    Ok(out)
}

/// What one connector answered to an admin's test lookup.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConnectorCheck {
    /// The connector's name.
    pub name: String,
    /// It answered (even with no match).
    pub ok: bool,
    /// The contacts it mapped for the number.
    pub contacts: Vec<Contact>,
    /// Why it failed (never the URL, which holds the number).
    pub error: Option<String>,
}

/// Looks `e164` up in each connector, bypassing the cache, and reports each one's answer
/// or failure (the admin's "test" of the connector settings).
pub async fn test_connectors(tenant: &Tenant, e164: &str) -> Vec<ConnectorCheck> {
    let encoded: String = form_urlencoded::byte_serialize(e164.as_bytes()).collect();
    let asks = tenant.connectors.iter().map(|conn| {
        let url = conn.lookup_url.replace("{phone}", &encoded);
        async move {
            match crate::connector_http::get_json(tenant, conn, &url).await {
                Ok(body) => ConnectorCheck { name: conn.name.clone(), ok: true, contacts: map_records(tenant, conn, &body), error: None },
                Err(e) => ConnectorCheck { name: conn.name.clone(), ok: false, contacts: Vec::new(), error: Some(e.to_string()) },
            }
        }
    });
    futures_util::future::join_all(asks).await
}

/// Asks the CRM connector; failures and timeouts yield no contacts (logged), so caller
/// ID degrades instead of failing the call.
async fn connector_query(
    state: &AppState,
    tenant: &Tenant,
    conn: &ConnectorConfig,
    template: &str,
    placeholder: &str,
    value: &str,
) -> Vec<Contact> {
    let encoded: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let url = template.replace(placeholder, &encoded);
    let key = format!("{}|{url}", tenant.id);
    if let Some(hit) = state.contact_cache.get(&key) {
        return hit;
    }
    match crate::connector_http::get_json(tenant, conn, &url).await {
        Ok(body) => {
            let list = map_records(tenant, conn, &body);
            let ttl = conn.cache_ttl_secs.min(crate::connector_http::MAX_CACHE_TTL_SECS);
            state.contact_cache.put(key, Duration::from_secs(ttl), list.clone());
            list
        }
        Err(e) => {
            // The error never holds the URL (it carries the number looked up).
            tracing::warn!(tenant = %tenant.id, connector = %conn.name, error = %e, "CRM connector failed");
            Vec::new()
        }
    }
}

/// Follows a dot path (`a.b.0.c`) in JSON.
pub fn at_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(v);
    }
    path.split('.').try_fold(v, |cur, seg| match cur {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

fn as_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A mapped field: a dot path, or a template with `{path}` parts.
fn field(rec: &Value, spec: &str) -> Option<String> {
    if !spec.contains('{') {
        return as_text(at_path(rec, spec));
    }
    let mut out = String::new();
    let mut rest = spec;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else { break };
        let path = &rest[start + 1..start + len];
        out.push_str(&as_text(at_path(rec, path)).unwrap_or_default());
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    let joined = out.split_whitespace().collect::<Vec<_>>().join(" ");
    (!joined.is_empty()).then_some(joined)
}

/// Maps a connector response to contacts with the configured field mapping.
pub fn map_records(tenant: &Tenant, conn: &ConnectorConfig, body: &Value) -> Vec<Contact> {
    let Some(Value::Array(items)) = at_path(body, &conn.items_path) else { return Vec::new() };
    let f = &conn.fields;
    items
        .iter()
        .take(50)
        .filter_map(|rec| {
            let raw_phone = field(rec, &f.phone)?;
            let opt = |p: &Option<String>| p.as_deref().and_then(|p| field(rec, p));
            Some(Contact {
                id: field(rec, &f.id)?,
                name: field(rec, &f.name)?,
                phone: crate::dest::to_e164(tenant, &raw_phone).unwrap_or(raw_phone),
                company: opt(&f.company),
                email: opt(&f.email),
                url: opt(&f.url),
                source: conn.name.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let v: Value = serde_json::json!({"data": {"items": [{"id": 7, "n": {"first": "Ada"}}]}});
        assert_eq!(at_path(&v, "data.items.0.n.first"), Some(&Value::String("Ada".into())));
        assert_eq!(as_text(at_path(&v, "data.items.0.id")), Some("7".into()));
        assert!(at_path(&v, "data.nope").is_none());
        let rec = &v["data"]["items"][0];
        assert_eq!(field(rec, "{n.first} {n.last}").as_deref(), Some("Ada"));
        assert_eq!(field(rec, "#{id}: {n.first}").as_deref(), Some("#7: Ada"));
        assert_eq!(field(rec, "{nope}"), None);
    }
}
