//! Listing call logs: filters and cursor pagination, newest first.

use super::cursor::{decode_cursor, encode_cursor};
use super::row::{from_row, COLS};
use super::visibility::Scope;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use mpt_core::api::CallLog;
use serde::Deserialize;

/// Filters for listing.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    /// `inbound` / `outbound`.
    pub direction: Option<String>,
    /// Agent id.
    pub agent_id: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// A number (from or to), any format.
    pub number: Option<String>,
    /// Contact id.
    pub contact_id: Option<String>,
    /// Started at or after (ms).
    pub since: Option<i64>,
    /// Started before (ms).
    pub until: Option<i64>,
    /// Page size (1–200, default 50).
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// Lists the calls in `scope`, newest first; `number_bidx` is the blind index of the
/// number filter.
pub async fn list(
    state: &AppState,
    tenant_id: &str,
    scope: &Scope,
    q: &ListQuery,
    number_bidx: Option<String>,
    max: i64,
) -> AppResult<(Vec<CallLog>, Option<String>)> {
    let limit = q.limit.unwrap_or(50).clamp(1, max);
    let mut sql = format!("SELECT {COLS} FROM calls WHERE tenant_id = $1");
    let mut args: Vec<Arg> = vec![Arg::S(tenant_id.to_string())];
    let mut push = |sql: &mut String, cond: &str, a: Arg| {
        args.push(a);
        sql.push_str(&cond.replace('?', &format!("${}", args.len())));
    };
    if let Some((cond, agent)) = scope.condition() {
        push(&mut sql, &format!(" AND {cond}"), Arg::S(agent));
    }
    if let Some(d) = &q.direction {
        if d != "inbound" && d != "outbound" {
            return Err(AppError::BadRequest("direction must be inbound or outbound".into()));
        }
        push(&mut sql, " AND direction = ?", Arg::S(d.clone()));
    }
    if let Some(a) = &q.agent_id {
        push(&mut sql, " AND agent_id = ?", Arg::S(a.clone()));
    }
    if let Some(s) = &q.status {
        push(&mut sql, " AND status = ?", Arg::S(s.clone()));
    }
    if let Some(c) = &q.contact_id {
        push(&mut sql, " AND contact_id = ?", Arg::S(c.clone()));
    }
    if let Some(b) = number_bidx {
        push(&mut sql, " AND (from_bidx = ?", Arg::S(b.clone()));
        push(&mut sql, " OR to_bidx = ?)", Arg::S(b));
    }
    if let Some(t) = q.since {
        push(&mut sql, " AND started_at >= ?", Arg::I(t));
    }
    if let Some(t) = q.until {
        push(&mut sql, " AND started_at < ?", Arg::I(t));
    }
    if let Some(c) = &q.cursor {
        let (t, id) = decode_cursor(c)?;
        push(&mut sql, " AND (started_at < ?", Arg::I(t));
        push(&mut sql, " OR (started_at = ?", Arg::I(t));
        push(&mut sql, " AND id < ?))", Arg::S(id));
    }
    push(&mut sql, " ORDER BY started_at DESC, id DESC LIMIT ?", Arg::I(limit + 1));
    let mut query = sqlx::query(&sql);
    for a in &args {
        query = match a {
            Arg::S(s) => query.bind(s.clone()),
            Arg::I(i) => query.bind(*i),
        };
    }
    let rows = query.fetch_all(&state.db.pool).await?;
    let mut items = rows.iter().map(|r| from_row(state, r)).collect::<AppResult<Vec<_>>>()?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|c| encode_cursor(c.started_at, &c.id))
    } else {
        None
    };
    Ok((items, next))
}

enum Arg {
    S(String),
    I(i64),
}
