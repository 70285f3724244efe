-- The search index keyed by record first: removing a record's entries (on every change, and
-- when its subject is forgotten) was a scan of the whole tenant's index, because SQLite chose
-- the old primary key (tenant, collection, field, ...) over the (tenant, record) index.
CREATE TABLE record_index_new (
    tenant_id      BLOB    NOT NULL,
    collection_id  BLOB    NOT NULL,
    field          TEXT    NOT NULL,
    digest         BLOB    NOT NULL,
    record_id      BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, record_id, field, digest)
) STRICT;
INSERT INTO record_index_new (tenant_id, collection_id, field, digest, record_id)
    SELECT tenant_id, collection_id, field, digest, record_id FROM record_index;
DROP TABLE record_index;
ALTER TABLE record_index_new RENAME TO record_index;
CREATE INDEX record_index_search ON record_index (tenant_id, collection_id, field, digest);
