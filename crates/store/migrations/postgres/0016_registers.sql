-- The processors register (GDPR Art. 28, 30): a tenant's processors, and the operator's own
-- (hosting, mail) under the installation's id (the nil UUID), which every tenant reads.
CREATE TABLE processors (
    tenant_id          UUID    NOT NULL,
    processor_id       UUID    NOT NULL,
    name               TEXT    NOT NULL,
    purpose            TEXT    NOT NULL,
    data_categories    TEXT    NOT NULL,
    location           TEXT    NOT NULL,
    transfer_safeguard TEXT,
    dpa_signed_on      TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, processor_id)
);

-- The breach register (Art. 33, 34): every breach stays, notified or not (Art. 33(5)). The
-- deadline is aware_at + 72 h; status is open, notified (the authority was) or
-- not_notifiable (judged unlikely to result in a risk, with the reason).
CREATE TABLE breaches (
    tenant_id             UUID    NOT NULL,
    breach_id             UUID    NOT NULL,
    title                 TEXT    NOT NULL,
    aware_at              BIGINT NOT NULL,
    nature                TEXT    NOT NULL,
    data_categories       TEXT    NOT NULL,
    subjects_estimate     BIGINT NOT NULL,
    records_estimate      BIGINT NOT NULL,
    consequences          TEXT    NOT NULL,
    measures              TEXT    NOT NULL,
    status                TEXT    NOT NULL,
    authority_notified_at BIGINT,
    subjects_notified_at  BIGINT,
    delay_reason          TEXT,
    not_notifiable_reason TEXT,
    recorded_by           UUID,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, breach_id)
);

-- Every change of a breach: who, when, what (the fields as "name: value" lines, JSON).
CREATE TABLE breach_changes (
    tenant_id  UUID    NOT NULL,
    breach_id  UUID    NOT NULL,
    change_id  UUID    NOT NULL,
    at         BIGINT NOT NULL,
    actor_id   UUID,
    fields     TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, breach_id, change_id)
);

-- Disclosure requests from authorities (seed 004): the operator registers one against a
-- tenant; its administrators may object until objection_until; the operator releases only
-- after that (or with a final order) exactly the scope ("subject:<id>" or
-- "collection:<name>"), encrypted to the recipient named. States open, objected, released,
-- withdrawn.
CREATE TABLE disclosures (
    tenant_id        UUID    NOT NULL,
    disclosure_id    UUID    NOT NULL,
    requester        TEXT    NOT NULL,
    legal_basis      TEXT    NOT NULL,
    scope            TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    opened_at        BIGINT NOT NULL,
    objection_until  BIGINT NOT NULL,
    objection_reason TEXT,
    objected_by      UUID,
    objected_at      BIGINT,
    released_at      BIGINT,
    released_by      TEXT,
    final_order      BOOLEAN NOT NULL,
    records_released BIGINT,
    withdrawn_at     BIGINT,
    PRIMARY KEY (tenant_id, disclosure_id)
);
