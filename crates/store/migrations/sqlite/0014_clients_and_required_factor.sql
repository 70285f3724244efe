-- Which roles must use the second factor before anything else (roles as stored, comma
-- separated; empty: none). Tenants created before this keep none; new ones get
-- "administrator" from the service that creates them.
ALTER TABLE tenants ADD COLUMN require_totp_roles TEXT NOT NULL DEFAULT '';

-- Integration clients (OAuth 2.0 client credentials): a program with scopes. The secret is
-- stored as its SHA-256 digest (256 random bits: a fast hash is enough); during a rotation
-- the previous digest keeps working until previous_until. A deleted client keeps its row
-- (without secrets) so that the privacy log still names it.
CREATE TABLE clients (
    tenant_id       BLOB    NOT NULL,
    client_id       BLOB    NOT NULL,
    name            TEXT    NOT NULL,
    scopes          TEXT    NOT NULL,
    secret_digest   BLOB,
    previous_digest BLOB,
    previous_until  INTEGER,
    created_by      BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    deleted_at      INTEGER,
    PRIMARY KEY (tenant_id, client_id)
) STRICT;

-- A client's access tokens (digests), with the scopes each was granted; they die with the
-- client (deleted in the same transaction, and the lookup joins a live client).
CREATE TABLE client_tokens (
    tenant_id    BLOB    NOT NULL,
    token_digest BLOB   NOT NULL,
    client_id    BLOB    NOT NULL,
    scopes       TEXT    NOT NULL,
    expires_at   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, token_digest)
) STRICT;
CREATE INDEX client_tokens_by_client ON client_tokens (tenant_id, client_id, expires_at);
