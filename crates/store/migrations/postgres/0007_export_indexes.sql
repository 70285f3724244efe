-- Lookups for the data-subject export: the records a person created, the changes they made.
CREATE INDEX records_by_author ON records (tenant_id, created_by);
CREATE INDEX record_history_by_actor ON record_history (tenant_id, actor_id);
