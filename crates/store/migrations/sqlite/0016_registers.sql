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

-- The breach register (Art. 33, 34): every breach stays, notified or not (Art. 33(5)). The
-- deadline is aware_at + 72 h; status is open, notified (the authority was) or
-- not_notifiable (judged unlikely to result in a risk, with the reason).
CREATE TABLE breaches (
    tenant_id             BLOB    NOT NULL,
    breach_id             BLOB    NOT NULL,
    title                 TEXT    NOT NULL,
    aware_at              INTEGER NOT NULL,
    nature                TEXT    NOT NULL,
    data_categories       TEXT    NOT NULL,
    subjects_estimate     INTEGER NOT NULL,
    records_estimate      INTEGER NOT NULL,
    consequences          TEXT    NOT NULL,
    measures              TEXT    NOT NULL,
    status                TEXT    NOT NULL,
    authority_notified_at INTEGER,
    subjects_notified_at  INTEGER,
    delay_reason          TEXT,
    not_notifiable_reason TEXT,
    recorded_by           BLOB,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, breach_id)
) STRICT;

-- Every change of a breach: who, when, what (the fields as "name: value" lines, JSON).
CREATE TABLE breach_changes (
    tenant_id  BLOB    NOT NULL,
    breach_id  BLOB    NOT NULL,
    change_id  BLOB    NOT NULL,
    at         INTEGER NOT NULL,
    actor_id   BLOB,
    fields     TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, breach_id, change_id)
) STRICT;

-- Disclosure requests from authorities (seed 004): the operator registers one against a
-- tenant; its administrators may object until objection_until; the operator releases only
-- after that (or with a final order) exactly the scope ("subject:<id>" or
-- "collection:<name>"), encrypted to the recipient named. States open, objected, released,
-- withdrawn.
CREATE TABLE disclosures (
    tenant_id        BLOB    NOT NULL,
    disclosure_id    BLOB    NOT NULL,
    requester        TEXT    NOT NULL,
    legal_basis      TEXT    NOT NULL,
    scope            TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    opened_at        INTEGER NOT NULL,
    objection_until  INTEGER NOT NULL,
    objection_reason TEXT,
    objected_by      BLOB,
    objected_at      INTEGER,
    released_at      INTEGER,
    released_by      TEXT,
    final_order      INTEGER NOT NULL,
    records_released INTEGER,
    withdrawn_at     INTEGER,
    PRIMARY KEY (tenant_id, disclosure_id)
) STRICT;
