-- OAuth 2.1 authorization code with PKCE for the vendor's apps (public clients).
-- A client is `confidential` (an integration client with a secret and scopes) or `public`
-- (an app with registered redirect URIs, one per line, acting as the person who signs in).
-- The operator's apps are rows under the installation's tenant id, valid in every tenant.
ALTER TABLE clients ADD COLUMN kind TEXT NOT NULL DEFAULT 'confidential';
ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '';

-- The app a session was issued to through the authorization code (NULL: a password login
-- or the console), so that revoking the consent ends its sessions.
ALTER TABLE sessions ADD COLUMN client_id UUID;

-- Authorization codes (digests): single use, short-lived, bound to the app, the redirect URI
-- and the PKCE challenge; family_id is the session family the code was exchanged for, so a
-- second exchange revokes it (RFC 6749 §4.1.2).
CREATE TABLE oauth_codes (
    tenant_id      UUID    NOT NULL,
    code_digest    BYTEA    NOT NULL,
    client_id      UUID    NOT NULL,
    user_id        UUID    NOT NULL,
    redirect_uri   TEXT    NOT NULL,
    code_challenge TEXT    NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    family_id      UUID,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, code_digest)
);

-- A person's consent to an app, given once and revocable in the privacy centre.
CREATE TABLE oauth_consents (
    tenant_id  UUID    NOT NULL,
    user_id    UUID    NOT NULL,
    client_id  UUID    NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, client_id)
);
