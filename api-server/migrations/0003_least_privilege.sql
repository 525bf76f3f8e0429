-- Least privilege and revocation (issue: api-server hardening).
-- Agents can be disabled: their sessions, tickets and sockets end at once.
ALTER TABLE agents ADD COLUMN disabled_at BIGINT;
-- An API key with role `agent` acts for one agent and sees what that agent sees.
ALTER TABLE api_keys ADD COLUMN agent_id TEXT;
-- Refresh families have an absolute lifetime from their first sign-in, and a token that
-- was just rotated remembers its successor (sealed) so that a refresh losing a race
-- within a few seconds gets the same successor instead of revoking the family.
ALTER TABLE refresh_tokens ADD COLUMN family_started_at BIGINT;
ALTER TABLE refresh_tokens ADD COLUMN successor_enc TEXT;
UPDATE refresh_tokens SET family_started_at = created_at WHERE family_started_at IS NULL;
CREATE INDEX refresh_tokens_agent ON refresh_tokens (agent_id);
-- Single-use tickets that open the event socket (no long-lived credential in a URL).
CREATE TABLE event_tickets (
    ticket_hash TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    family_id TEXT,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX event_tickets_expiry ON event_tickets (expires_at);
-- Hosts a tenant's CRM connectors may reach even when they resolve to loopback, private
-- or link-local addresses (an on-premises CRM); everything else must be public.
ALTER TABLE tenants ADD COLUMN connector_hosts TEXT NOT NULL DEFAULT '[]';
