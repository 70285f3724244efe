-- Durable jobs (retention and other deferred work) and deletion notices with the user's veto.
-- The job queue is the one table read across tenants (by the workers that claim due jobs);
-- every job carries its tenant and every handler works within it.

CREATE TABLE jobs (
    job_id        BLOB    NOT NULL PRIMARY KEY,
    tenant_id     BLOB    NOT NULL,
    kind          TEXT    NOT NULL,
    subject_id    BLOB,
    -- One job per intent: scheduling the same thing twice (two instances, or a re-run of the
    -- planner) is a no-op.
    dedupe_key    TEXT    NOT NULL UNIQUE,
    param         INTEGER NOT NULL,
    run_at        INTEGER NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    locked_until  INTEGER,
    outcome       TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX jobs_due ON jobs (status, run_at);
CREATE INDEX jobs_by_subject ON jobs (tenant_id, subject_id, kind);

CREATE TABLE deletion_notices (
    tenant_id     BLOB    NOT NULL,
    notice_id     BLOB    NOT NULL,
    user_id       BLOB    NOT NULL,
    what          TEXT    NOT NULL,
    expiry_at     INTEGER NOT NULL,
    due_at        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    kept_at       INTEGER,
    done_at       INTEGER,
    PRIMARY KEY (tenant_id, notice_id),
    UNIQUE (tenant_id, user_id, what, expiry_at)
) STRICT;
