-- The search index keyed by record first (see the SQLite migration of the same number).
ALTER TABLE record_index DROP CONSTRAINT record_index_pkey;
ALTER TABLE record_index ADD PRIMARY KEY (tenant_id, record_id, field, digest);
DROP INDEX record_index_by_record;
CREATE INDEX record_index_search ON record_index (tenant_id, collection_id, field, digest);
