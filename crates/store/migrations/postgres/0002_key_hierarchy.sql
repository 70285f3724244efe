-- Key hierarchy: tenant keys wrapped by a root key (from the key file), subject keys wrapped by
-- the tenant's key-encryption key; users' e-mail and name sealed under their subject key.

CREATE TABLE tenant_keys (
    tenant_id    UUID    NOT NULL REFERENCES tenants (tenant_id),
    purpose      TEXT    NOT NULL CHECK (purpose IN ('kek', 'blind_index')),
    version      INTEGER NOT NULL,
    root_key_id  BYTEA    NOT NULL,
    wrapped      BYTEA    NOT NULL,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, purpose, version, root_key_id)
);

CREATE TABLE subject_keys (
    tenant_id     UUID    NOT NULL REFERENCES tenants (tenant_id),
    subject_id    UUID    NOT NULL,
    key_id        UUID    NOT NULL,
    kek_version   INTEGER NOT NULL,
    wrapped       BYTEA,
    created_at    BIGINT  NOT NULL,
    destroyed_at  BIGINT,
    PRIMARY KEY (tenant_id, subject_id)
);

-- Plaintext e-mail and name go; sealed ones come. Lookup keys become HMACs under the tenant's
-- blind-index key, so the unkeyed ones of the foundation are void.
ALTER TABLE users ADD COLUMN email_sealed BYTEA;
ALTER TABLE users ADD COLUMN name_sealed BYTEA;
ALTER TABLE users DROP COLUMN email;
ALTER TABLE users DROP COLUMN name;
UPDATE users SET email_index = NULL;
DELETE FROM unknown_login_failures;
