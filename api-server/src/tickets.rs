//! Single-use tickets that open the event socket (`../shared/CONTRACTS.md` §5).
//!
//! The socket used to take the access token in its query string, where proxies and
//! browser histories log it, and a stolen token opened a stream of the agent's calls. A
//! ticket is minted by an authenticated `POST /api/events/ticket`, lives 30 seconds, opens
//! one socket once, and carries the session it was minted in, so the socket ends with
//! that session. Tickets are rows, not memory: with several processes the socket may land
//! on another one than the POST.

use crate::auth::Auth;
use crate::crypto::{random_token, sha256_hex};
use crate::db::now_ms;
use crate::error::{AppError, AppResult};
use crate::sessions::SessionRef;
use crate::state::AppState;
use mpt_core::api::EventTicket;
use sqlx::Row;

/// Seconds a ticket may wait for its socket.
pub const TICKET_TTL_SECS: u32 = 30;

/// Who a redeemed ticket opens the socket for.
#[derive(Debug, Clone)]
pub struct TicketOwner {
    /// Tenant.
    pub tenant_id: String,
    /// Agent.
    pub agent_id: String,
    /// The session the ticket was minted in.
    pub session: SessionRef,
}

/// Mints a ticket for an agent's session (an agent-bound API key counts as one).
pub async fn mint(state: &AppState, auth: &Auth) -> AppResult<EventTicket> {
    let agent_id = auth.agent_id()?;
    // A lapsed subscription or an agent beyond the paid seats gets no live events.
    crate::billing::entitlements::require_active(state, &auth.tenant_id, Some(agent_id)).await?;
    let ticket = format!("tk_{}", random_token(32));
    let now = now_ms();
    // Expired tickets are deleted as new ones are minted (indexed by expiry; a handful).
    sqlx::query("DELETE FROM event_tickets WHERE expires_at < $1").bind(now - 60_000).execute(&state.db.pool).await?;
    sqlx::query("INSERT INTO event_tickets (ticket_hash, tenant_id, agent_id, family_id, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(sha256_hex(ticket.as_bytes()))
        .bind(&auth.tenant_id)
        .bind(agent_id)
        .bind(auth.session.stored())
        .bind(now + i64::from(TICKET_TTL_SECS) * 1000)
        .execute(&state.db.pool)
        .await?;
    Ok(EventTicket { ticket, expires_in: TICKET_TTL_SECS })
}

/// Redeems a ticket (once): its owner, if the ticket is unused, unexpired, and its
/// session still live.
pub async fn redeem(state: &AppState, ticket: &str) -> AppResult<TicketOwner> {
    if !ticket.starts_with("tk_") || ticket.len() > 80 {
        return Err(AppError::Unauthorized);
    }
    let now = now_ms();
    let row = sqlx::query(
        "UPDATE event_tickets SET used_at = $1 WHERE ticket_hash = $2 AND used_at IS NULL AND expires_at > $1 \
         RETURNING tenant_id, agent_id, family_id",
    )
    .bind(now)
    .bind(sha256_hex(ticket.as_bytes()))
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(AppError::Unauthorized)?;
    let owner = TicketOwner {
        tenant_id: row.try_get("tenant_id")?,
        agent_id: row.try_get("agent_id")?,
        session: SessionRef::from_stored(&row.try_get::<Option<String>, _>("family_id")?.unwrap_or_default()),
    };
    if !state.sessions.is_live(state, Some(&owner.agent_id), &owner.session).await? {
        return Err(AppError::Unauthorized);
    }
    Ok(owner)
}
