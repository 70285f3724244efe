-- Deletion that keeps its promises: soft deletion (purged after the tenant's period, 30 days
-- by default), legal holds that stop every deletion of a record, per-collection legal
-- retention (records whose end date is past the period are purged), per-tenant retention
-- rules, and tombstones so that what retention or erasure deleted answers 410 Gone.

-- `{"end_field": "...", "years"|"days": N}`: the collection's legal retention period.
ALTER TABLE collections ADD COLUMN retention TEXT;

-- The record's end date (`YYYY-MM-DD`, copied from the collection's end field on every write;
-- text compares in date order), when it was soft-deleted and by whom, and its legal hold.
ALTER TABLE records ADD COLUMN ends_on TEXT;
ALTER TABLE records ADD COLUMN deleted_at BIGINT;
ALTER TABLE records ADD COLUMN deleted_by UUID;
ALTER TABLE records ADD COLUMN held_at BIGINT;
ALTER TABLE records ADD COLUMN held_by UUID;
CREATE INDEX records_ending ON records (tenant_id, collection_id, ends_on) WHERE ends_on IS NOT NULL;
CREATE INDEX records_deleted ON records (tenant_id, deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX records_held ON records (tenant_id, subject_id) WHERE held_at IS NOT NULL;

-- What retention or erasure deleted for good: ids only. `name` is '' for a record, the file
-- name for a file.
CREATE TABLE tombstones (
    tenant_id   UUID    NOT NULL,
    object_id   UUID    NOT NULL,
    name        TEXT    NOT NULL,
    subject_id  UUID,
    reason      TEXT    NOT NULL,
    deleted_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, object_id, name)
);

-- A tenant's retention rules (JSON); absent: the shipped defaults (seed 000).
CREATE TABLE retention_rules (
    tenant_id   UUID    NOT NULL PRIMARY KEY REFERENCES tenants (tenant_id),
    rules       TEXT    NOT NULL,
    updated_by  UUID    NOT NULL,
    updated_at  BIGINT NOT NULL
);
