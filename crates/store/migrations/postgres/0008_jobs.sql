-- Durable jobs (retention and other deferred work) and deletion notices with the user's veto.
-- The job queue is the one table read across tenants (by the workers that claim due jobs);
-- every job carries its tenant and every handler works within it.

CREATE TABLE jobs (
    job_id        UUID    NOT NULL PRIMARY KEY,
    tenant_id     UUID    NOT NULL,
    kind          TEXT    NOT NULL,
    subject_id    UUID,
    -- One job per intent: scheduling the same thing twice (two instances, or a re-run of the
    -- planner) is a no-op.
    dedupe_key    TEXT    NOT NULL UNIQUE,
    param         BIGINT NOT NULL,
    run_at        BIGINT NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts      BIGINT NOT NULL DEFAULT 0,
    locked_until  BIGINT,
    outcome       TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at);
CREATE INDEX jobs_by_subject ON jobs (tenant_id, subject_id, kind);

CREATE TABLE deletion_notices (
    tenant_id     UUID    NOT NULL,
    notice_id     UUID    NOT NULL,
    user_id       UUID    NOT NULL,
    what          TEXT    NOT NULL,
    expiry_at     BIGINT NOT NULL,
    due_at        BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    kept_at       BIGINT,
    done_at       BIGINT,
    PRIMARY KEY (tenant_id, notice_id),
    UNIQUE (tenant_id, user_id, what, expiry_at)
);
