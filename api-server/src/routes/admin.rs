//! Admin actions (role admin; every action written to the audit log): agents (create,
//! disable, enable, role), API keys (create, list, revoke), the CRM connector, SSO settings,
//! and reading the audit log.

use crate::agents::{self, NewAgent};
use crate::auth::{agent_from_row, create_api_key, Auth};
use crate::db::now_ms;
use crate::error::{AppJson, AppResult};
use crate::state::AppState;
use crate::tenant::{ConnectorConfig, SsoConfig};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::Router;
use mpt_core::api::{AgentInfo, Role};
use serde::{Deserialize, Serialize};
use sqlx::Row;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/agents", get(list_agents).post(create_agent))
        .route("/api/admin/agents/{id}/disable", post(disable_agent))
        .route("/api/admin/agents/{id}/enable", post(enable_agent))
        .route("/api/admin/agents/{id}/role", put(set_agent_role))
        .route("/api/admin/api-keys", get(list_keys).post(new_key))
        .route("/api/admin/api-keys/{id}", delete(revoke_key))
        .route("/api/admin/connectors", get(list_connectors).put(set_connectors))
        .route("/api/admin/connectors/test", post(test_connectors))
        .route("/api/admin/connector-hosts", put(set_connector_hosts))
        .route("/api/admin/allowed-origins", get(allowed_origins).put(set_allowed_origins))
        .route("/api/admin/dispositions", put(set_dispositions))
        .route("/api/admin/sso", get(get_sso).put(set_sso))
        .route("/api/admin/audit", get(audit_log))
}

/// Writes an audit entry.
pub async fn audit(state: &AppState, auth: &Auth, action: &str, target: Option<&str>, detail: Option<&str>) -> AppResult<()> {
    sqlx::query("INSERT INTO audit_log (tenant_id, actor, action, target, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&auth.tenant_id)
        .bind(&auth.actor)
        .bind(action)
        .bind(target)
        .bind(detail)
        .bind(now_ms())
        .execute(&state.db.pool)
        .await?;
    Ok(())
}

#[derive(Deserialize)]
struct CreateAgent {
    email: String,
    name: String,
    password: String,
    #[serde(default = "default_role")]
    role: Role,
}

fn default_role() -> Role {
    Role::Agent
}

async fn create_agent(
    State(state): State<AppState>,
    auth: Auth,
    AppJson(a): AppJson<CreateAgent>,
) -> AppResult<(StatusCode, AppJson<AgentInfo>)> {
    auth.require_admin()?;
    let agent = agents::create(
        &state,
        &auth.tenant_id,
        &NewAgent { email: a.email, name: a.name, password: Some(a.password), role: a.role, identity: None },
    )
    .await?;
    audit(&state, &auth, "agent.create", Some(&agent.id), Some(crate::auth::role_str(agent.role))).await?;
    Ok((StatusCode::CREATED, AppJson(agent)))
}

/// An agent as the admin list shows it: the agent and whether it is disabled.
#[derive(Serialize)]
struct AgentListed {
    #[serde(flatten)]
    agent: AgentInfo,
    /// Disabled agents cannot sign in (`POST …/enable` lets them again).
    disabled: bool,
    /// Inbound calls ring this agent now (its presence is `available`; see
    /// `crate::presence` for how updates are merged).
    available: bool,
}

async fn list_agents(State(state): State<AppState>, auth: Auth) -> AppResult<AppJson<Vec<AgentListed>>> {
    auth.require_admin()?;
    let rows = sqlx::query(
        "SELECT id, tenant_id, email, name, role, identity, disabled_at, available FROM agents WHERE tenant_id = $1 ORDER BY created_at",
    )
    .bind(&auth.tenant_id)
    .fetch_all(&state.db.pool)
    .await?;
    let agents = rows
        .iter()
        .map(|r| {
            Ok(AgentListed {
                agent: agent_from_row(r)?,
                disabled: r.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
                available: r.try_get::<i64, _>("available")? != 0,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(AppJson(agents))
}

/// Disables an agent: their sessions, tickets and sockets end at once.
async fn disable_agent(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> AppResult<StatusCode> {
    auth.require_admin()?;
    if auth.agent_id.as_deref() == Some(id.as_str()) {
        return Err(crate::error::AppError::Conflict("you cannot disable yourself".into()));
    }
    if !crate::sessions::disable_agent(&state, &auth.tenant_id, &id).await? {
        return Err(crate::error::AppError::NotFound);
    }
    audit(&state, &auth, "agent.disable", Some(&id), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn enable_agent(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> AppResult<StatusCode> {
    auth.require_admin()?;
    if !crate::sessions::enable_agent(&state, &auth.tenant_id, &id).await? {
        return Err(crate::error::AppError::NotFound);
    }
    audit(&state, &auth, "agent.enable", Some(&id), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A connector as the admin list shows it: never its auth header's value.
#[derive(Serialize)]
struct ConnectorListed {
    name: String,
    lookup_url: String,
    search_url: String,
    auth_header_name: Option<String>,
}

async fn list_connectors(State(state): State<AppState>, auth: Auth) -> AppResult<AppJson<Vec<ConnectorListed>>> {
    auth.require_admin()?;
    let t = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    Ok(AppJson(
        t.connectors
            .iter()
            .map(|c| ConnectorListed {
                name: c.name.clone(),
                lookup_url: c.lookup_url.clone(),
                search_url: c.search_url.clone(),
                auth_header_name: c.auth_header.as_ref().map(|(n, _)| n.clone()),
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
struct TestLookup {
    number: String,
}

/// Looks a number up in every connector now (no cache) and reports what each answered.
async fn test_connectors(
    State(state): State<AppState>,
    auth: Auth,
    AppJson(q): AppJson<TestLookup>,
) -> AppResult<AppJson<Vec<crate::contacts::ConnectorCheck>>> {
    auth.require_admin()?;
    let t = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    let e164 = crate::dest::to_e164(&t, &q.number)?;
    let checks = crate::contacts::test_connectors(&t, &e164).await;
    audit(
        &state,
        &auth,
        "connectors.test",
        None,
        Some(&format!("{} of {} answered", checks.iter().filter(|c| c.ok).count(), checks.len())),
    )
    .await?;
    Ok(AppJson(checks))
}

#[derive(Deserialize)]
struct SetRole {
    role: Role,
}

/// Changes an agent's role; their sessions end so it applies at once (an admin cannot
/// change their own, so a tenant never loses its last admin by accident).
async fn set_agent_role(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    AppJson(r): AppJson<SetRole>,
) -> AppResult<StatusCode> {
    auth.require_admin()?;
    if auth.agent_id.as_deref() == Some(id.as_str()) {
        return Err(crate::error::AppError::Conflict("you cannot change your own role".into()));
    }
    if !agents::set_role(&state, &auth.tenant_id, &id, r.role).await? {
        return Err(crate::error::AppError::NotFound);
    }
    audit(&state, &auth, "agent.role", Some(&id), Some(crate::auth::role_str(r.role))).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct NewKey {
    name: String,
    /// `agent` keys act for `agent_id`; without an agent the default is `supervisor` (a
    /// CRM backend that reads every call but administers nothing).
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    agent_id: Option<String>,
}

#[derive(Serialize)]
struct KeyCreated {
    id: String,
    /// Shown once; only its hash is stored.
    key: String,
}

async fn new_key(State(state): State<AppState>, auth: Auth, AppJson(k): AppJson<NewKey>) -> AppResult<(StatusCode, AppJson<KeyCreated>)> {
    auth.require_admin()?;
    let role = k.role.unwrap_or(if k.agent_id.is_some() { Role::Agent } else { Role::Supervisor });
    let (id, key) = create_api_key(&state, &auth.tenant_id, &k.name, role, k.agent_id.as_deref()).await?;
    audit(&state, &auth, "api_key.create", Some(&id), Some(&k.name)).await?;
    Ok((StatusCode::CREATED, AppJson(KeyCreated { id, key })))
}

#[derive(Serialize)]
struct KeyInfo {
    id: String,
    name: String,
    /// The key's first characters, to recognise it.
    prefix: String,
    role: Role,
    agent_id: Option<String>,
    created_at: i64,
    revoked_at: Option<i64>,
}

async fn list_keys(State(state): State<AppState>, auth: Auth) -> AppResult<AppJson<Vec<KeyInfo>>> {
    auth.require_admin()?;
    let rows = sqlx::query(
        "SELECT id, name, prefix, role, agent_id, created_at, revoked_at FROM api_keys WHERE tenant_id = $1 ORDER BY created_at",
    )
    .bind(&auth.tenant_id)
    .fetch_all(&state.db.pool)
    .await?;
    let keys = rows
        .iter()
        .map(|r| {
            Ok(KeyInfo {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                prefix: r.try_get("prefix")?,
                role: crate::auth::parse_role(&r.try_get::<String, _>("role")?)?,
                agent_id: r.try_get("agent_id")?,
                created_at: r.try_get("created_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(AppJson(keys))
}

/// Revokes an API key: it gets 401 at once and its sockets close.
async fn revoke_key(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> AppResult<StatusCode> {
    auth.require_admin()?;
    if !crate::sessions::revoke_api_key(&state, &auth.tenant_id, &id).await? {
        return Err(crate::error::AppError::NotFound);
    }
    audit(&state, &auth, "api_key.revoke", Some(&id), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_connectors(State(state): State<AppState>, auth: Auth, AppJson(c): AppJson<Vec<ConnectorConfig>>) -> AppResult<StatusCode> {
    auth.require_admin()?;
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    for conn in &c {
        crate::connector_http::validate(&tenant, conn).map_err(|e| crate::error::AppError::BadRequest(e.to_string()))?;
    }
    crate::tenant::set_connectors(&state, &auth.tenant_id, &c).await?;
    let names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
    audit(&state, &auth, "connectors.set", None, Some(&names.join(","))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Hosts (`host` or `host:port`) the connectors may reach on loopback, private or
/// link-local addresses (an on-premises CRM).
async fn set_connector_hosts(State(state): State<AppState>, auth: Auth, AppJson(hosts): AppJson<Vec<String>>) -> AppResult<StatusCode> {
    auth.require_admin()?;
    if hosts.len() > 50 || hosts.iter().any(|h| h.is_empty() || h.len() > 255 || h.contains(['/', ' ', '@'])) {
        return Err(crate::error::AppError::BadRequest("give at most 50 hosts as host or host:port".into()));
    }
    crate::tenant::set_connector_hosts(&state, &auth.tenant_id, &hosts).await?;
    audit(&state, &auth, "connector_hosts.set", None, Some(&hosts.join(","))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's allowed origins, as `PUT` sets them.
async fn allowed_origins(State(state): State<AppState>, auth: Auth) -> AppResult<AppJson<Vec<String>>> {
    auth.require_admin()?;
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    Ok(AppJson(tenant.allowed_origins.clone()))
}

/// The origins the tenant trusts as its CRMs: their pages may start calls through the
/// extension's page API or their own `tel:` links without the agent confirming, and
/// (with a widget key) embed the phone. At most 50 patterns of `mpt_core::origin`.
async fn set_allowed_origins(State(state): State<AppState>, auth: Auth, AppJson(list): AppJson<Vec<String>>) -> AppResult<StatusCode> {
    auth.require_admin()?;
    let list: Vec<String> = list.iter().map(|o| o.trim().to_string()).collect();
    if list.len() > 50 || list.iter().any(|o| !mpt_core::origin::valid_pattern(o)) {
        return Err(crate::error::AppError::BadRequest(
            "give at most 50 origins like https://crm.example.com, http://localhost:* or chrome-extension://*".into(),
        ));
    }
    crate::tenant::set_allowed_origins(&state, &auth.tenant_id, &list).await?;
    audit(&state, &auth, "allowed_origins.set", None, Some(&list.join(","))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The dispositions agents choose from after a call: at most 50, each 1–64 bytes (the
/// length a call log takes), no duplicates; empty restores the phone's defaults.
async fn set_dispositions(State(state): State<AppState>, auth: Auth, AppJson(list): AppJson<Vec<String>>) -> AppResult<StatusCode> {
    auth.require_admin()?;
    let list: Vec<String> = list.iter().map(|d| d.trim().to_string()).collect();
    let mut seen = std::collections::HashSet::new();
    if list.len() > 50 || list.iter().any(|d| d.is_empty() || d.len() > 64 || !seen.insert(d.to_lowercase())) {
        return Err(crate::error::AppError::BadRequest("give at most 50 distinct dispositions of 1 to 64 bytes".into()));
    }
    crate::tenant::set_dispositions(&state, &auth.tenant_id, &list).await?;
    audit(&state, &auth, "dispositions.set", None, Some(&list.join(","))).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct SetSso {
    sso: Option<SsoConfig>,
    #[serde(default)]
    provision: bool,
}

async fn set_sso(State(state): State<AppState>, auth: Auth, AppJson(s): AppJson<SetSso>) -> AppResult<StatusCode> {
    auth.require_admin()?;
    if let Some(sso) = &s.sso {
        sso.check().map_err(crate::error::AppError::BadRequest)?;
    }
    crate::tenant::set_sso(&state, &auth.tenant_id, s.sso.as_ref(), s.provision).await?;
    audit(&state, &auth, "sso.set", s.sso.as_ref().map(|s| s.issuer.as_str()), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the SSO settings are, without their secret (so an admin sees what is set).
#[derive(Serialize)]
struct SsoSettings {
    /// The organisation ID agents give for "Continue with SSO" (the tenant's slug).
    organisation: String,
    configured: bool,
    issuer: Option<String>,
    audience: Option<String>,
    /// `HS256` or `RS256` (the key configured).
    algorithm: Option<&'static str>,
    login_url: Option<String>,
    provision: bool,
}

async fn get_sso(State(state): State<AppState>, auth: Auth) -> AppResult<AppJson<SsoSettings>> {
    auth.require_admin()?;
    let tenant = crate::tenant::by_id(&state, &auth.tenant_id).await?;
    let sso = tenant.sso.as_ref();
    Ok(AppJson(SsoSettings {
        organisation: tenant.slug.clone(),
        configured: sso.is_some(),
        issuer: sso.map(|s| s.issuer.clone()),
        audience: sso.map(|s| s.audience.clone()),
        algorithm: sso.map(|s| if s.hs256_secret.as_deref().is_some_and(|v| !v.is_empty()) { "HS256" } else { "RS256" }),
        login_url: sso.and_then(|s| s.login_url.clone()),
        provision: tenant.sso_provision,
    }))
}

#[derive(Serialize)]
struct AuditEntry {
    id: i64,
    actor: String,
    action: String,
    target: Option<String>,
    detail: Option<String>,
    at: i64,
}

async fn audit_log(State(state): State<AppState>, auth: Auth) -> AppResult<AppJson<Vec<AuditEntry>>> {
    auth.require_admin()?;
    let rows =
        sqlx::query("SELECT id, actor, action, target, detail, created_at FROM audit_log WHERE tenant_id = $1 ORDER BY id DESC LIMIT 500")
            .bind(&auth.tenant_id)
            .fetch_all(&state.db.pool)
            .await?;
    let entries = rows
        .iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r.try_get("id")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                target: r.try_get("target")?,
                detail: r.try_get("detail")?,
                at: r.try_get("created_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(AppJson(entries))
}
