-- The second factor (TOTP, RFC 6238): a user's secret, sealed under their subject key like every
-- other secret of theirs, pending until confirmed with a code; the last accepted time step, so
-- that a code is good once (also across server instances: the step only moves forward); and
-- the single-use recovery codes, as SHA-256 digests.
CREATE TABLE user_totp (
    tenant_id    BLOB    NOT NULL,
    user_id      BLOB    NOT NULL,
    sealed       BLOB   NOT NULL,
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER,
    PRIMARY KEY (tenant_id, user_id)
);

CREATE TABLE totp_recovery_codes (
    tenant_id    BLOB    NOT NULL,
    user_id      BLOB    NOT NULL,
    digest       BLOB   NOT NULL,
    used_at      INTEGER,
    PRIMARY KEY (tenant_id, user_id, digest)
);
