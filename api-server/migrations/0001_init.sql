-- MPT Phone api-server schema. Portable between SQLite and PostgreSQL:
-- times are BIGINT Unix milliseconds, booleans BIGINT 0/1, JSON and ciphertext TEXT.
-- @ID_PK@ is replaced by the backend's auto-increment primary key.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    sandbox BIGINT NOT NULL DEFAULT 0,
    account_sid TEXT NOT NULL UNIQUE,
    auth_token_enc TEXT NOT NULL,
    api_key_sid TEXT NOT NULL,
    api_key_secret_enc TEXT NOT NULL,
    twiml_app_sid TEXT NOT NULL,
    caller_ids TEXT NOT NULL DEFAULT '[]',
    allowed_origins TEXT NOT NULL DEFAULT '[]',
    allowed_countries TEXT NOT NULL DEFAULT '[]',
    connector_enc TEXT,
    sso_enc TEXT,
    sso_provision BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    password_hash TEXT,
    role TEXT NOT NULL,
    identity TEXT NOT NULL UNIQUE,
    available BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, email)
);
CREATE INDEX agents_email ON agents (email);

CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    agent_id TEXT NOT NULL REFERENCES agents(id),
    family_id TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE calls (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    agent_id TEXT,
    direction TEXT NOT NULL,
    from_enc TEXT NOT NULL,
    to_enc TEXT NOT NULL,
    from_bidx TEXT NOT NULL,
    to_bidx TEXT NOT NULL,
    contact_id TEXT,
    contact_name TEXT,
    crm TEXT,
    call_sid TEXT,
    child_call_sid TEXT,
    status TEXT NOT NULL,
    progress TEXT NOT NULL DEFAULT '{}',
    status_history TEXT NOT NULL DEFAULT '[]',
    started_at BIGINT NOT NULL,
    answered_at BIGINT,
    ended_at BIGINT,
    duration_s BIGINT,
    recording_sid TEXT,
    recording_url TEXT,
    recording_duration_s BIGINT,
    notes_enc TEXT,
    disposition TEXT,
    sandbox BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX calls_started ON calls (tenant_id, started_at, id);
CREATE UNIQUE INDEX calls_call_sid ON calls (tenant_id, call_sid);
CREATE INDEX calls_child_sid ON calls (tenant_id, child_call_sid);
CREATE INDEX calls_from_bidx ON calls (tenant_id, from_bidx);
CREATE INDEX calls_to_bidx ON calls (tenant_id, to_bidx);

CREATE TABLE events (
    id @ID_PK@,
    tenant_id TEXT NOT NULL,
    agent_id TEXT,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_tenant ON events (tenant_id, id);

CREATE TABLE contacts (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    company TEXT,
    email TEXT,
    phone_enc TEXT NOT NULL,
    phone_bidx TEXT NOT NULL,
    search_text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX contacts_phone ON contacts (tenant_id, phone_bidx);

CREATE TABLE audit_log (
    id @ID_PK@,
    tenant_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_tenant ON audit_log (tenant_id, id);
