-- Collections, records, their change history and search index, files, and each tenant's
-- access policies. Personal values in records.data are field ciphertexts (base64url) sealed
-- under the subject's key; everything else in the row is metadata the access check needs.

CREATE TABLE collections (
    tenant_id      BLOB    NOT NULL REFERENCES tenants (tenant_id),
    collection_id  BLOB    NOT NULL,
    name           TEXT    NOT NULL,
    fields         TEXT    NOT NULL,
    created_by     BLOB    NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, collection_id),
    UNIQUE (tenant_id, name)
) STRICT;

CREATE TABLE records (
    tenant_id      BLOB    NOT NULL,
    record_id      BLOB    NOT NULL,
    collection_id  BLOB    NOT NULL,
    subject_id     BLOB    NOT NULL,
    group_id       BLOB,
    parent_id      BLOB,
    visibility     TEXT    NOT NULL,
    hidden         INTEGER NOT NULL DEFAULT 0,
    data           TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    created_by     BLOB    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, record_id),
    FOREIGN KEY (tenant_id, collection_id) REFERENCES collections (tenant_id, collection_id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES users (tenant_id, user_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, group_id)
) STRICT;
CREATE INDEX records_by_subject ON records (tenant_id, subject_id);
CREATE INDEX records_by_parent ON records (tenant_id, parent_id);

CREATE TABLE record_index (
    tenant_id      BLOB    NOT NULL,
    collection_id  BLOB    NOT NULL,
    field          TEXT    NOT NULL,
    digest         BLOB    NOT NULL,
    record_id      BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, collection_id, field, digest, record_id)
) STRICT;
CREATE INDEX record_index_by_record ON record_index (tenant_id, record_id);

CREATE TABLE record_history (
    tenant_id    BLOB    NOT NULL,
    record_id    BLOB    NOT NULL,
    version      INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    actor_id     BLOB    NOT NULL,
    action       TEXT    NOT NULL,
    fields       TEXT    NOT NULL,
    data_before  TEXT,
    PRIMARY KEY (tenant_id, record_id, version)
) STRICT;

CREATE TABLE record_files (
    tenant_id     BLOB    NOT NULL,
    record_id     BLOB    NOT NULL,
    name          TEXT    NOT NULL,
    file_id       BLOB    NOT NULL,
    blob_key      TEXT    NOT NULL,
    content_type  TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    created_by    BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, record_id, name),
    FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, record_id)
) STRICT;

CREATE TABLE tenant_policies (
    tenant_id   BLOB    NOT NULL PRIMARY KEY REFERENCES tenants (tenant_id),
    template    TEXT    NOT NULL,
    policies    TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    updated_by  BLOB    NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
