-- The privacy log: one append-only, hash-chained entry per read, change or denial of personal
-- data, per tenant. hash = H(prev_hash ‖ canonical entry); the head row holds the last one.

CREATE TABLE privacy_log (
    tenant_id    BLOB    NOT NULL REFERENCES tenants (tenant_id),
    seq          INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    actor_id     BLOB,
    via          TEXT    NOT NULL,
    subject_id   BLOB,
    object_type  TEXT    NOT NULL,
    object_id    BLOB,
    action       TEXT    NOT NULL,
    fields       TEXT    NOT NULL,
    decision     TEXT    NOT NULL,
    client_sealed BLOB,
    hash         BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) STRICT;
CREATE INDEX privacy_log_by_subject ON privacy_log (tenant_id, subject_id, seq);
CREATE INDEX privacy_log_by_actor ON privacy_log (tenant_id, actor_id, seq);

CREATE TABLE privacy_log_heads (
    tenant_id  BLOB    NOT NULL PRIMARY KEY REFERENCES tenants (tenant_id),
    seq        INTEGER NOT NULL,
    hash       BLOB    NOT NULL
) STRICT;
