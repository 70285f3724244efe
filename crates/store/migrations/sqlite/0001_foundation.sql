-- Foundation: tenants, users, groups, login history, sessions, password resets.
-- Every table is keyed by tenant_id first. Ids are 16-byte UUIDs, times are Unix milliseconds.

CREATE TABLE tenants (
    tenant_id          BLOB    NOT NULL PRIMARY KEY,
    slug               TEXT    NOT NULL UNIQUE,
    name               TEXT    NOT NULL,
    region             TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    lockout_threshold  INTEGER NOT NULL DEFAULT 3 CHECK (lockout_threshold BETWEEN 1 AND 100),
    agreement_ends_at  INTEGER,
    created_at         INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    tenant_id             BLOB    NOT NULL REFERENCES tenants (tenant_id),
    user_id               BLOB    NOT NULL,
    email_index           BLOB,
    email                 TEXT,
    name                  TEXT,
    roles                 TEXT    NOT NULL,
    status                TEXT    NOT NULL,
    password_hash         TEXT,
    must_change_password  INTEGER NOT NULL,
    failed_logins         INTEGER NOT NULL DEFAULT 0,
    license_expires_at    INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    UNIQUE (tenant_id, email_index)
) STRICT;

CREATE TABLE groups (
    tenant_id   BLOB    NOT NULL REFERENCES tenants (tenant_id),
    group_id    BLOB    NOT NULL,
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, group_id),
    UNIQUE (tenant_id, name)
) STRICT;

CREATE TABLE group_members (
    tenant_id  BLOB NOT NULL,
    group_id   BLOB NOT NULL,
    user_id    BLOB NOT NULL,
    role       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, user_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, group_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id)
) STRICT;
CREATE INDEX group_members_by_user ON group_members (tenant_id, user_id);

CREATE TABLE login_history (
    tenant_id  BLOB    NOT NULL REFERENCES tenants (tenant_id),
    event_id   BLOB    NOT NULL,
    user_id    BLOB,
    at         INTEGER NOT NULL,
    ip         TEXT    NOT NULL,
    outcome    TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, event_id)
) STRICT;
CREATE INDEX login_history_by_user ON login_history (tenant_id, user_id, at);

CREATE TABLE unknown_login_failures (
    tenant_id      BLOB    NOT NULL REFERENCES tenants (tenant_id),
    email_index    BLOB    NOT NULL,
    failed_logins  INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, email_index)
) STRICT;

CREATE TABLE sessions (
    tenant_id           BLOB    NOT NULL,
    session_id          BLOB    NOT NULL,
    family_id           BLOB    NOT NULL,
    user_id             BLOB    NOT NULL,
    access_digest       BLOB    NOT NULL,
    access_expires_at   INTEGER NOT NULL,
    refresh_digest      BLOB    NOT NULL,
    refresh_expires_at  INTEGER NOT NULL,
    refreshed_at        INTEGER,
    revoked_at          INTEGER,
    created_at          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, session_id),
    UNIQUE (tenant_id, access_digest),
    UNIQUE (tenant_id, refresh_digest),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id)
) STRICT;
CREATE INDEX sessions_by_family ON sessions (tenant_id, family_id);
CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id);

CREATE TABLE password_resets (
    tenant_id     BLOB    NOT NULL,
    token_digest  BLOB    NOT NULL,
    user_id       BLOB    NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, token_digest),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id)
) STRICT;
CREATE INDEX password_resets_by_user ON password_resets (tenant_id, user_id);
