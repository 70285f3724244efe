//! The authorization code grant with PKCE (OAuth 2.1; RFC 7636, S256 only): the app and its
//! redirect URI are checked before anything is redirected; a signed-in person consents once
//! per app (revocable, which ends the app's sessions); a code lives two minutes, works once
//! (a second exchange revokes what the first got), and is bound to the app, the redirect URI
//! and the challenge. The exchange issues the same access and refresh tokens as the password
//! login, in a session family marked with the app.

use super::TokenError;
use crate::{CoreError, Principal, Services};
use secrecy::SecretString;
use strongroom_crypto::{Token, TokenKind, ct_eq, parse_client_identifier};
use strongroom_domain::{ClientId, ClientKind, FamilyId, TenantId, TenantStatus, Timestamp};
use strongroom_store::{ClientRow, CodeOutcome, NewAuthCode};

/// How long an authorization code may wait for its exchange.
pub const CODE_TTL: time::Duration = time::Duration::minutes(2);
/// The object of consent entries in the privacy log (`app/<client id>`).
pub const APP_OBJECT: &str = "app";

/// An app as the authorization endpoint checked it.
#[derive(Clone, Debug)]
pub struct App {
    /// Its owner: the installation (the operator's apps) or one tenant.
    pub owner: TenantId,
    pub id: ClientId,
    pub client_id: String,
    pub name: String,
}

/// An app a person has consented to.
pub struct ConnectedApp {
    pub id: ClientId,
    pub name: String,
    pub since: Timestamp,
}

/// A PKCE `code_challenge` for S256: base64url of a SHA-256 digest, 43 characters.
fn challenge_ok(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A `code_verifier` (RFC 7636 §4.1): 43 to 128 unreserved characters.
fn verifier_ok(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// `BASE64URL(SHA256(verifier))`.
pub fn s256(verifier: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(strongroom_crypto::digest_of(verifier).0)
}

impl Services {
    /// The live public client behind an identifier, if any.
    async fn public_app(&self, client_id: &str) -> Result<Option<(App, ClientRow)>, CoreError> {
        let Some((tenant, id)) = parse_client_identifier(client_id) else {
            return Ok(None);
        };
        let (owner, id) = (
            TenantId(uuid::Uuid::from_bytes(tenant)),
            ClientId(uuid::Uuid::from_bytes(id)),
        );
        if owner != TenantId::INSTALLATION
            && !self
                .store
                .tenant_by_id(owner)
                .await?
                .is_some_and(|t| t.status == TenantStatus::Active)
        {
            return Ok(None);
        }
        Ok(self
            .store
            .client(owner, id)
            .await?
            .filter(|c| c.deleted_at.is_none() && c.kind == ClientKind::Public)
            .map(|c| {
                (
                    App {
                        owner,
                        id,
                        client_id: client_id.to_owned(),
                        name: c.name.clone(),
                    },
                    c,
                )
            }))
    }

    /// `GET /oauth/authorize`, first step: the app and the redirect URI, which must be one
    /// registered for it — until both hold, nothing is redirected anywhere.
    pub async fn authorize_app(
        &self,
        client_id: &str,
        redirect_uri: &str,
    ) -> Result<App, CoreError> {
        let (app, row) = self
            .public_app(client_id)
            .await?
            .ok_or_else(|| CoreError::Invalid("client_id: there is no such app".into()))?;
        if !row
            .redirect_uris
            .iter()
            .any(|r| super::redirect_matches(r, redirect_uri))
        {
            return Err(CoreError::Invalid(
                "redirect_uri: not one registered for this app".into(),
            ));
        }
        Ok(app)
    }

    /// Whether the app may act in the signed-in person's tenant: the operator's apps in
    /// every tenant, a tenant's own only in it.
    pub fn app_serves(app: &App, p: &Principal) -> Result<(), CoreError> {
        if app.owner == TenantId::INSTALLATION || app.owner == p.tenant_id {
            Ok(())
        } else {
            Err(CoreError::Forbidden(
                "this app belongs to another organisation".into(),
            ))
        }
    }

    /// Whether the person has consented to the app.
    pub async fn consented(&self, p: &Principal, app: &App) -> Result<bool, CoreError> {
        Ok(self
            .store
            .consent(p.tenant_id, p.user_id, app.id)
            .await?
            .is_some())
    }

    /// Records the person's consent to the app (a privacy-log entry about them).
    pub async fn give_consent(
        &self,
        p: &Principal,
        app: &App,
        ip: Option<std::net::IpAddr>,
    ) -> Result<(), CoreError> {
        Self::app_serves(app, p)?;
        let log = self
            .change_log(
                &Self::actor(p),
                ip,
                "self",
                Some(p.user_id),
                (APP_OBJECT, Some(app.id.0)),
                "consent",
                vec![format!("app: {}", app.name)],
            )
            .await?;
        self.store
            .insert_consent(p.tenant_id, p.user_id, app.id, self.clock.now(), &log)
            .await
            .map_err(Into::into)
    }

    /// An authorization code for a person who consented to the app, bound to the redirect
    /// URI and the PKCE challenge (S256).
    pub async fn issue_code(
        &self,
        p: &Principal,
        app: &App,
        redirect_uri: &str,
        challenge: &str,
    ) -> Result<SecretString, CoreError> {
        Self::app_serves(app, p)?;
        if !challenge_ok(challenge) {
            return Err(CoreError::Invalid(
                "code_challenge: the S256 challenge, 43 base64url characters".into(),
            ));
        }
        if !self.consented(p, app).await? {
            return Err(CoreError::Forbidden("the app has no consent".into()));
        }
        let now = self.clock.now();
        let code = Token::issue(TokenKind::AuthCode, p.tenant_id.as_bytes());
        self.store
            .insert_auth_code(&NewAuthCode {
                tenant_id: p.tenant_id,
                digest: code.digest.0,
                client_id: app.id,
                user_id: p.user_id,
                redirect_uri: redirect_uri.to_owned(),
                code_challenge: challenge.to_owned(),
                expires_at: now + CODE_TTL,
                created_at: now,
            })
            .await?;
        Ok(code.secret)
    }

    /// `POST /oauth/token` with `grant_type=authorization_code`: the code (once), from the
    /// app it was issued to, with the same redirect URI and the verifier of its challenge.
    pub async fn exchange_code(
        &self,
        code: &str,
        client_id: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<crate::TokenPair, TokenError> {
        let grant = |why: &str| TokenError::InvalidGrant(why.to_owned());
        if !verifier_ok(verifier) {
            return Err(TokenError::InvalidRequest(
                "code_verifier: 43 to 128 characters of A-Z a-z 0-9 - . _ ~".into(),
            ));
        }
        let Some((app, _)) = self.public_app(client_id).await? else {
            return Err(TokenError::InvalidClient);
        };
        let (tenant, digest) =
            Token::parse(TokenKind::AuthCode, code).map_err(|_| grant("the code is malformed"))?;
        let tenant = TenantId(uuid::Uuid::from_bytes(tenant));
        let now = self.clock.now();
        let (user, bound_uri, challenge) = match self
            .store
            .spend_auth_code(tenant, &digest.0, now)
            .await?
        {
            CodeOutcome::Spent {
                client_id: bound,
                user_id,
                redirect_uri,
                code_challenge,
            } if bound == app.id => (user_id, redirect_uri, code_challenge),
            CodeOutcome::Reused => {
                tracing::warn!(tenant = %tenant, client = %app.id.0, "authorization code presented again; its sessions are revoked");
                return Err(grant("the code was used already"));
            }
            _ => return Err(grant("the code is unknown, expired or not this app's")),
        };
        if bound_uri != redirect_uri {
            return Err(grant(
                "redirect_uri: not the one of the authorization request",
            ));
        }
        if !ct_eq(s256(verifier).as_bytes(), challenge.as_bytes()) {
            return Err(grant("code_verifier: does not match the code_challenge"));
        }
        // Disconnected between the code and its exchange: no tokens.
        if self.store.consent(tenant, user, app.id).await?.is_none() {
            return Err(grant("the person disconnected this app"));
        }
        let (mut session, pair) = self.new_session(tenant, user, FamilyId::new());
        session.client_id = Some(app.id);
        self.store.insert_code_session(&session, &digest.0).await?;
        Ok(pair)
    }

    /// The person's connected apps (their consents), newest first.
    pub async fn connected_apps(&self, p: &Principal) -> Result<Vec<ConnectedApp>, CoreError> {
        let mut apps = Vec::new();
        for c in self.store.consents(p.tenant_id, p.user_id).await? {
            let row = match self.store.client(p.tenant_id, c.client_id).await? {
                Some(r) => Some(r),
                None => {
                    self.store
                        .client(TenantId::INSTALLATION, c.client_id)
                        .await?
                }
            };
            apps.push(ConnectedApp {
                id: c.client_id,
                name: row.map_or_else(|| c.client_id.0.to_string(), |r| r.name),
                since: c.created_at,
            });
        }
        Ok(apps)
    }

    /// Withdraws the consent to an app: its sessions for the person end at once.
    pub async fn disconnect_app(
        &self,
        p: &Principal,
        id: ClientId,
        ip: Option<std::net::IpAddr>,
    ) -> Result<(), CoreError> {
        let log = self
            .change_log(
                &Self::actor(p),
                ip,
                "self",
                Some(p.user_id),
                (APP_OBJECT, Some(id.0)),
                "revoke_consent",
                Vec::new(),
            )
            .await?;
        if self
            .store
            .revoke_consent(p.tenant_id, p.user_id, id, self.clock.now(), &log)
            .await?
        {
            Ok(())
        } else {
            Err(CoreError::NotFound("connected app"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_is_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(challenge_ok("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!challenge_ok("short"));
        assert!(verifier_ok("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(!verifier_ok("too-short"));
        assert!(!verifier_ok(&"a".repeat(129)));
    }
}
