//! Publishable widget keys (`pk_…`, `docs/embed.md`): they name a tenant to the iframe
//! widget and the web component, nothing more. A key is public (it sits in the host
//! page's HTML), so what it unlocks is bounded by the tenant's allowed origins: the widget
//! page may be framed only there, and an embed token works only beside a live key of its
//! own tenant, so revoking a key stops every widget session made through it at once.
//! Keys are stored as SHA-256 like API keys (a leaked database lists no usable key).

use crate::crypto::{new_id, random_token, sha256_hex};
use crate::db::now_ms;
use crate::error::{AppError, AppResult};
use crate::sessions::Ended;
use crate::state::AppState;
use serde::Serialize;
use sqlx::Row;
use std::time::Duration;

/// Prefix of publishable widget keys.
pub const PREFIX: &str = "pk_";
/// `last_used_at` is written at most this often per key (every page load and API call
/// uses the key; the hot path stays a cache hit).
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// A resolved key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetKey {
    /// Id (`wk…`).
    pub id: String,
    /// Tenant the key belongs to.
    pub tenant_id: String,
}

/// What an admin sees of a key (never the key itself after creation).
#[derive(Debug, Clone, Serialize)]
pub struct WidgetKeyInfo {
    /// Id.
    pub id: String,
    /// Name given at creation.
    pub name: String,
    /// The key's first characters, to recognise it.
    pub prefix: String,
    /// Creation time (Unix ms).
    pub created_at: i64,
    /// Last time a widget page or a widget request used it (Unix ms, to the minute).
    pub last_used_at: Option<i64>,
    /// Revocation time (Unix ms).
    pub revoked_at: Option<i64>,
}

/// Key hash → (id, tenant): the mapping never changes, only liveness does (checked through
/// [`crate::sessions::Sessions::widget_key_live`]), so it is cached, bounded.
pub struct KeyCache {
    ids: moka::sync::Cache<String, WidgetKey>,
    touched: moka::sync::Cache<String, ()>,
}

impl Default for KeyCache {
    fn default() -> Self {
        KeyCache {
            ids: moka::sync::Cache::builder().max_capacity(50_000).build(),
            touched: moka::sync::Cache::builder().max_capacity(50_000).time_to_live(TOUCH_EVERY).build(),
        }
    }
}

/// Creates a key; returns (id, the key in clear: shown once).
pub async fn create(state: &AppState, tenant_id: &str, name: &str, created_by: &str) -> AppResult<(String, String)> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(AppError::BadRequest("name must be 1-100 characters".into()));
    }
    let key = format!("{PREFIX}{}", random_token(24));
    let id = new_id("wk");
    sqlx::query(
        "INSERT INTO widget_keys (id, tenant_id, name, prefix, key_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(tenant_id)
    .bind(name)
    .bind(&key[..PREFIX.len() + 6])
    .bind(sha256_hex(key.as_bytes()))
    .bind(created_by)
    .bind(now_ms())
    .execute(&state.db.pool)
    .await?;
    Ok((id, key))
}

/// Stores a key whose value is already known (the demo tenant's), unless present.
pub async fn ensure_known(state: &AppState, tenant_id: &str, name: &str, key: &str) -> AppResult<()> {
    let hash = sha256_hex(key.as_bytes());
    let exists = sqlx::query("SELECT id FROM widget_keys WHERE key_hash = $1").bind(&hash).fetch_optional(&state.db.pool).await?;
    if exists.is_some() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO widget_keys (id, tenant_id, name, prefix, key_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id("wk"))
    .bind(tenant_id)
    .bind(name)
    .bind(&key[..PREFIX.len() + 6])
    .bind(hash)
    .bind("seed")
    .bind(now_ms())
    .execute(&state.db.pool)
    .await?;
    Ok(())
}

/// Lists a tenant's keys, oldest first.
pub async fn list(state: &AppState, tenant_id: &str) -> AppResult<Vec<WidgetKeyInfo>> {
    let rows = sqlx::query(
        "SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM widget_keys WHERE tenant_id = $1 ORDER BY created_at, id",
    )
    .bind(tenant_id)
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(WidgetKeyInfo {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                prefix: r.try_get("prefix")?,
                created_at: r.try_get("created_at")?,
                last_used_at: r.try_get("last_used_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect()
}

/// Revokes a key of a tenant: the widget page stops loading with it and every embed
/// session through it ends (requests 401, sockets 4401). False when there is no such
/// live key.
pub async fn revoke(state: &AppState, tenant_id: &str, id: &str) -> AppResult<bool> {
    let n = sqlx::query("UPDATE widget_keys SET revoked_at = $1 WHERE id = $2 AND tenant_id = $3 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(id)
        .bind(tenant_id)
        .execute(&state.db.pool)
        .await?
        .rows_affected();
    if n == 1 {
        state.sessions.end(Ended::WidgetKey(id.to_string()));
    }
    Ok(n == 1)
}

/// Resolves a key presented by a browser: `None` when unknown or revoked. Records its use.
pub async fn resolve(state: &AppState, key: &str) -> AppResult<Option<WidgetKey>> {
    if !key.starts_with(PREFIX) || key.len() > 80 {
        return Ok(None);
    }
    let hash = sha256_hex(key.as_bytes());
    let found = match state.widget_keys.ids.get(&hash) {
        Some(k) => Some(k),
        None => {
            let row =
                sqlx::query("SELECT id, tenant_id FROM widget_keys WHERE key_hash = $1").bind(&hash).fetch_optional(&state.db.pool).await?;
            match row {
                Some(r) => {
                    let k = WidgetKey { id: r.try_get("id")?, tenant_id: r.try_get("tenant_id")? };
                    state.widget_keys.ids.insert(hash, k.clone());
                    Some(k)
                }
                None => None,
            }
        }
    };
    let Some(k) = found else { return Ok(None) };
    if !state.sessions.widget_key_live(state, &k.id).await? {
        return Ok(None);
    }
    if state.widget_keys.touched.get(&k.id).is_none() {
        state.widget_keys.touched.insert(k.id.clone(), ());
        sqlx::query("UPDATE widget_keys SET last_used_at = $1 WHERE id = $2").bind(now_ms()).bind(&k.id).execute(&state.db.pool).await?;
    }
    Ok(Some(k))
}
