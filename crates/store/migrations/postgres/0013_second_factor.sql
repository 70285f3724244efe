-- The second factor (TOTP, RFC 6238): a user's secret, sealed under their subject key like every
-- other secret of theirs, pending until confirmed with a code; the last accepted time step, so
-- that a code is good once (also across server instances: the step only moves forward); and
-- the single-use recovery codes, as SHA-256 digests.
CREATE TABLE user_totp (
    tenant_id    UUID    NOT NULL,
    user_id      UUID    NOT NULL,
    sealed       BYTEA   NOT NULL,
    created_at   BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_step    BIGINT,
    PRIMARY KEY (tenant_id, user_id)
);

CREATE TABLE totp_recovery_codes (
    tenant_id    UUID    NOT NULL,
    user_id      UUID    NOT NULL,
    digest       BYTEA   NOT NULL,
    used_at      BIGINT,
    PRIMARY KEY (tenant_id, user_id, digest)
);
