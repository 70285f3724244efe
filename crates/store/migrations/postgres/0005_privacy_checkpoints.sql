-- Signed checkpoints of the privacy-log chains: (seq, hash) of a chain's head at a moment,
-- signed with the audit key from the key file. A chain cut back behind a checkpoint is caught.
CREATE TABLE privacy_checkpoints (
    tenant_id  UUID    NOT NULL REFERENCES tenants (tenant_id),
    seq        BIGINT  NOT NULL,
    hash       BYTEA    NOT NULL,
    at         BIGINT  NOT NULL,
    signature  BYTEA    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
