-- What every backup, drill (a verify that restores into a scratch store), verify, prune and
-- restore did, whichever process ran it: /metrics and the TOM report read the last ones here.
-- Installation-wide (a backup is of the whole installation): no tenant, and not itself part
-- of a snapshot (a restored installation starts its own record).
CREATE TABLE backup_runs (
    run_id     BLOB    NOT NULL PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('backup', 'drill', 'verify', 'prune', 'restore')),
    at         INTEGER NOT NULL,
    snapshot   TEXT,
    bytes      INTEGER NOT NULL,
    millis     INTEGER NOT NULL,
    ok         INTEGER NOT NULL,
    detail     TEXT
);
CREATE INDEX backup_runs_last ON backup_runs (kind, ok, at);

-- The object an installation job is about (the blob key a replication copies or deletes).
ALTER TABLE jobs ADD COLUMN object TEXT;
