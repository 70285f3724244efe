-- Whether the operator may open a break-glass grant (read, without approval, at most 240
-- minutes, the administrators mailed at once); a tenant may turn it off.
ALTER TABLE tenants ADD COLUMN break_glass BOOLEAN NOT NULL DEFAULT TRUE;

-- Support access: a superuser (a user of the reserved tenant `operator`) asks a customer's
-- tenant for access; its administrators approve (the request becomes the grant, same id) or
-- deny. The row is the customer tenant's, so that tenant sees and ends it; `superuser_id` is
-- a user of the operator tenant. `status` is pending, approved, denied or revoked as decided;
-- a pending request past `pending_until` and a grant past `ends_at` read as expired.
CREATE TABLE support_requests (
    tenant_id     UUID    NOT NULL,
    request_id    UUID    NOT NULL,
    superuser_id  UUID    NOT NULL,
    reason        TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    user_id       UUID,
    minutes       BIGINT NOT NULL,
    status        TEXT    NOT NULL,
    created_at    BIGINT NOT NULL,
    pending_until BIGINT NOT NULL,
    starts_at     BIGINT,
    ends_at       BIGINT,
    decided_by    UUID,
    decided_at    BIGINT,
    break_glass   BOOLEAN NOT NULL,
    first_used_at BIGINT,
    PRIMARY KEY (tenant_id, request_id)
);
CREATE INDEX support_requests_by_superuser ON support_requests (superuser_id, created_at);

-- Sessions under a grant (token digests); they die with the grant (deleted when it is
-- revoked, and the lookup joins an approved grant that has not ended).
CREATE TABLE support_sessions (
    tenant_id    UUID    NOT NULL,
    token_digest BYTEA   NOT NULL,
    request_id   UUID    NOT NULL,
    expires_at   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, token_digest)
);

-- Access reviews (seed 000: "the list of Superusers is checked at least every quarter"): who
-- reviewed, when, and a decision for every privileged account, as JSON
-- [{"user_id","keep"}]. The operator's reviews of its superusers are the operator tenant's
-- rows (`reviewer` the name the operator gave, its own staff); a tenant's reviews of its
-- administrators name the reviewing administrator by id (`reviewer_id`).
CREATE TABLE access_reviews (
    tenant_id   UUID    NOT NULL,
    review_id   UUID    NOT NULL,
    reviewer_id UUID,
    reviewer    TEXT    NOT NULL,
    at          BIGINT NOT NULL,
    decisions   TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, review_id)
);
