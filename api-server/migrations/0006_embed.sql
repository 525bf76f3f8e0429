-- The embeddable widget (issue 14, docs/embed.md).
-- Publishable widget keys `pk_…`: identify a tenant to the widget page and the web
-- component; stored as SHA-256 like API keys; usable only from the tenant's allowed
-- origins.
CREATE TABLE widget_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX widget_keys_tenant ON widget_keys (tenant_id, created_at);

-- Embed tokens: short-lived (at most 15 minutes), never refreshed, revocable sessions of
-- one agent inside a host page. The token itself is a JWT naming this row.
CREATE TABLE embed_tokens (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    agent_id TEXT NOT NULL,
    issued_by TEXT NOT NULL,
    contact_id TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX embed_tokens_agent ON embed_tokens (agent_id);
CREATE INDEX embed_tokens_expiry ON embed_tokens (expires_at);
