-- Key hierarchy: tenant keys wrapped by a root key (from the key file), subject keys wrapped by
-- the tenant's key-encryption key; users' e-mail and name sealed under their subject key.

CREATE TABLE tenant_keys (
    tenant_id    BLOB    NOT NULL REFERENCES tenants (tenant_id),
    purpose      TEXT    NOT NULL CHECK (purpose IN ('kek', 'blind_index')),
    version      INTEGER NOT NULL,
    root_key_id  BLOB    NOT NULL,
    wrapped      BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, purpose, version, root_key_id)
) STRICT;

CREATE TABLE subject_keys (
    tenant_id     BLOB    NOT NULL REFERENCES tenants (tenant_id),
    subject_id    BLOB    NOT NULL,
    key_id        BLOB    NOT NULL,
    kek_version   INTEGER NOT NULL,
    wrapped       BLOB,
    created_at    INTEGER NOT NULL,
    destroyed_at  INTEGER,
    PRIMARY KEY (tenant_id, subject_id)
) STRICT;

-- Plaintext e-mail and name go; sealed ones come. Lookup keys become HMACs under the tenant's
-- blind-index key, so the unkeyed ones of the foundation are void.
ALTER TABLE users ADD COLUMN email_sealed BLOB;
ALTER TABLE users ADD COLUMN name_sealed BLOB;
ALTER TABLE users DROP COLUMN email;
ALTER TABLE users DROP COLUMN name;
UPDATE users SET email_index = NULL;
DELETE FROM unknown_login_failures;
