-- Signed checkpoints of the privacy-log chains: (seq, hash) of a chain's head at a moment,
-- signed with the audit key from the key file. A chain cut back behind a checkpoint is caught.
CREATE TABLE privacy_checkpoints (
    tenant_id  BLOB    NOT NULL REFERENCES tenants (tenant_id),
    seq        INTEGER NOT NULL,
    hash       BLOB    NOT NULL,
    at         INTEGER NOT NULL,
    signature  BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) STRICT;
