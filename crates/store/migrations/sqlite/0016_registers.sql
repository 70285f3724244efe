-- The processors register (GDPR Art. 28, 30): a tenant's processors, and the operator's own
-- (hosting, mail) under the installation's id (the nil UUID), which every tenant reads.
CREATE TABLE processors (
    tenant_id          BLOB    NOT NULL,
    processor_id       BLOB    NOT NULL,
    name               TEXT    NOT NULL,
    purpose            TEXT    NOT NULL,
    data_categories    TEXT    NOT NULL,
    location           TEXT    NOT NULL,
    transfer_safeguard TEXT,
    dpa_signed_on      TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, processor_id)
) STRICT;
