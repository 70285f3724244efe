-- Collections, records, their change history and search index, files, and each tenant's
-- access policies. Personal values in records.data are field ciphertexts (base64url) sealed
-- under the subject's key; everything else in the row is metadata the access check needs.

CREATE TABLE collections (
    tenant_id      UUID    NOT NULL REFERENCES tenants (tenant_id),
    collection_id  UUID    NOT NULL,
    name           TEXT    NOT NULL,
    fields         TEXT    NOT NULL,
    created_by     UUID    NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, collection_id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE records (
    tenant_id      UUID    NOT NULL,
    record_id      UUID    NOT NULL,
    collection_id  UUID    NOT NULL,
    subject_id     UUID    NOT NULL,
    group_id       UUID,
    parent_id      UUID,
    visibility     TEXT    NOT NULL,
    hidden         BOOLEAN NOT NULL DEFAULT FALSE,
    data           TEXT    NOT NULL,
    version        BIGINT NOT NULL,
    created_by     UUID    NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, record_id),
    FOREIGN KEY (tenant_id, collection_id) REFERENCES collections (tenant_id, collection_id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES users (tenant_id, user_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, group_id)
);
CREATE INDEX records_by_subject ON records (tenant_id, subject_id);
CREATE INDEX records_by_parent ON records (tenant_id, parent_id);

CREATE TABLE record_index (
    tenant_id      UUID    NOT NULL,
    collection_id  UUID    NOT NULL,
    field          TEXT    NOT NULL,
    digest         BYTEA    NOT NULL,
    record_id      UUID    NOT NULL,
    PRIMARY KEY (tenant_id, collection_id, field, digest, record_id)
);
CREATE INDEX record_index_by_record ON record_index (tenant_id, record_id);

CREATE TABLE record_history (
    tenant_id    UUID    NOT NULL,
    record_id    UUID    NOT NULL,
    version      BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    actor_id     UUID    NOT NULL,
    action       TEXT    NOT NULL,
    fields       TEXT    NOT NULL,
    data_before  TEXT,
    PRIMARY KEY (tenant_id, record_id, version)
);

CREATE TABLE record_files (
    tenant_id     UUID    NOT NULL,
    record_id     UUID    NOT NULL,
    name          TEXT    NOT NULL,
    file_id       UUID    NOT NULL,
    blob_key      TEXT    NOT NULL,
    content_type  TEXT    NOT NULL,
    size          BIGINT NOT NULL,
    created_by    UUID    NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, record_id, name),
    FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, record_id)
);

CREATE TABLE tenant_policies (
    tenant_id   UUID    NOT NULL PRIMARY KEY REFERENCES tenants (tenant_id),
    template    TEXT    NOT NULL,
    policies    TEXT    NOT NULL,
    version     BIGINT NOT NULL,
    updated_by  UUID    NOT NULL,
    updated_at  BIGINT NOT NULL
);
