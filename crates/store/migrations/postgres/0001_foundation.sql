-- Foundation: tenants, users, groups, login history, sessions, password resets.
-- Every table is keyed by tenant_id first. Ids are 16-byte UUIDs, times are Unix milliseconds.

CREATE TABLE tenants (
    tenant_id          UUID    NOT NULL PRIMARY KEY,
    slug               TEXT    NOT NULL UNIQUE,
    name               TEXT    NOT NULL,
    region             TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    lockout_threshold  INTEGER NOT NULL DEFAULT 3 CHECK (lockout_threshold BETWEEN 1 AND 100),
    agreement_ends_at  BIGINT,
    created_at         BIGINT  NOT NULL
);

CREATE TABLE users (
    tenant_id             UUID    NOT NULL REFERENCES tenants (tenant_id),
    user_id               UUID    NOT NULL,
    email_index           BYTEA,
    email                 TEXT,
    name                  TEXT,
    roles                 TEXT    NOT NULL,
    status                TEXT    NOT NULL,
    password_hash         TEXT,
    must_change_password  BOOLEAN NOT NULL,
    failed_logins         INTEGER NOT NULL DEFAULT 0,
    license_expires_at    BIGINT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    UNIQUE (tenant_id, email_index)
);

CREATE TABLE groups (
    tenant_id   UUID    NOT NULL REFERENCES tenants (tenant_id),
    group_id    UUID    NOT NULL,
    name        TEXT    NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, group_id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE group_members (
    tenant_id  UUID NOT NULL,
    group_id   UUID NOT NULL,
    user_id    UUID NOT NULL,
    role       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, user_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, group_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id)
);
CREATE INDEX group_members_by_user ON group_members (tenant_id, user_id);

CREATE TABLE login_history (
    tenant_id  UUID    NOT NULL REFERENCES tenants (tenant_id),
    event_id   UUID    NOT NULL,
    user_id    UUID,
    at         BIGINT NOT NULL,
    ip         TEXT    NOT NULL,
    outcome    TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX login_history_by_user ON login_history (tenant_id, user_id, at);

CREATE TABLE unknown_login_failures (
    tenant_id      UUID    NOT NULL REFERENCES tenants (tenant_id),
    email_index    BYTEA    NOT NULL,
    failed_logins  INTEGER NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, email_index)
);

CREATE TABLE sessions (
    tenant_id           UUID    NOT NULL,
    session_id          UUID    NOT NULL,
    family_id           UUID    NOT NULL,
    user_id             UUID    NOT NULL,
    access_digest       BYTEA    NOT NULL,
    access_expires_at   BIGINT NOT NULL,
    refresh_digest      BYTEA    NOT NULL,
    refresh_expires_at  BIGINT NOT NULL,
    refreshed_at        BIGINT,
    revoked_at          BIGINT,
    created_at          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, session_id),
    UNIQUE (tenant_id, access_digest),
    UNIQUE (tenant_id, refresh_digest),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id)
);
CREATE INDEX sessions_by_family ON sessions (tenant_id, family_id);
CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id);

CREATE TABLE password_resets (
    tenant_id     UUID    NOT NULL,
    token_digest  BYTEA    NOT NULL,
    user_id       UUID    NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, token_digest),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id)
);
CREATE INDEX password_resets_by_user ON password_resets (tenant_id, user_id);
