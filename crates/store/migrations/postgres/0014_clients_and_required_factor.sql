-- Which roles must use the second factor before anything else (roles as stored, comma
-- separated; empty: none). Tenants created before this keep none; new ones get
-- "administrator" from the service that creates them.
ALTER TABLE tenants ADD COLUMN require_totp_roles TEXT NOT NULL DEFAULT '';

-- Integration clients (OAuth 2.0 client credentials): a program with scopes. The secret is
-- stored as its SHA-256 digest (256 random bits: a fast hash is enough); during a rotation
-- the previous digest keeps working until previous_until. A deleted client keeps its row
-- (without secrets) so that the privacy log still names it.
CREATE TABLE clients (
    tenant_id       UUID    NOT NULL,
    client_id       UUID    NOT NULL,
    name            TEXT    NOT NULL,
    scopes          TEXT    NOT NULL,
    secret_digest   BYTEA,
    previous_digest BYTEA,
    previous_until  BIGINT,
    created_by      UUID    NOT NULL,
    created_at      BIGINT NOT NULL,
    deleted_at      BIGINT,
    PRIMARY KEY (tenant_id, client_id)
);

-- A client's access tokens (digests), with the scopes each was granted; they die with the
-- client (deleted in the same transaction, and the lookup joins a live client).
CREATE TABLE client_tokens (
    tenant_id    UUID    NOT NULL,
    token_digest BYTEA   NOT NULL,
    client_id    UUID    NOT NULL,
    scopes       TEXT    NOT NULL,
    expires_at   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, token_digest)
);
CREATE INDEX client_tokens_by_client ON client_tokens (tenant_id, client_id, expires_at);
