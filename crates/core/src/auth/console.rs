//! Web console sessions: the same login checks as the API (throttle, lockout, second factor,
//! history), a session token of its own kind (`src_…`, only ever in the `__Host-strongroom`
//! cookie, refused as a bearer token), 30 minutes idle and 12 hours absolute.
//!
//! The session is a row of `sessions` like the API's: `access_expires_at` is the idle end,
//! pushed forward on each use but never past `refresh_expires_at`, which holds the absolute
//! end. Its refresh token is never handed out.

use super::Principal;
use crate::{CoreError, Services};
use secrecy::SecretString;
use std::net::IpAddr;
use std::time::Duration;
use strongroom_crypto::{Token, TokenKind};
use strongroom_domain::{FamilyId, SessionId, TenantId, UserId};
use strongroom_store::NewSession;

/// A console session ends after this long without a request.
pub const CONSOLE_IDLE: Duration = Duration::from_mins(30);
/// A console session ends this long after the sign-in, however busy.
pub const CONSOLE_ABSOLUTE: Duration = Duration::from_hours(12);

fn span(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

/// A fresh CSRF token for the console's double-submit cookie: 256 random bits, base64url
/// (43 characters).
pub fn csrf_token() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(strongroom_crypto::random_bytes::<32>())
}

impl Services {
    /// The console's sign-in: the API login's checks and answers, then a console session.
    pub async fn console_login(
        &self,
        tenant_slug: &str,
        email: &str,
        password: SecretString,
        code: Option<&str>,
        ip: IpAddr,
    ) -> Result<SecretString, CoreError> {
        let (tenant, user) = self
            .check_login(tenant_slug, email, password, code, ip)
            .await?;
        self.start_console_session(tenant, user).await
    }

    /// The console's password change (`PUT /me/password`'s rules): every session ends, and
    /// the console continues in a new one.
    pub async fn console_change_password(
        &self,
        p: &Principal,
        current: SecretString,
        new: SecretString,
        ip: IpAddr,
    ) -> Result<SecretString, CoreError> {
        self.replace_password(p, current, new, ip).await?;
        self.start_console_session(p.tenant_id, p.user_id).await
    }

    async fn start_console_session(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<SecretString, CoreError> {
        let now = self.clock.now();
        let session = Token::issue(TokenKind::Console, tenant.as_bytes());
        // A refresh digest no token has: the console session cannot be refreshed.
        let unusable = Token::issue(TokenKind::Refresh, tenant.as_bytes());
        self.store
            .insert_session(&NewSession {
                tenant_id: tenant,
                id: SessionId::new(),
                family_id: FamilyId::new(),
                user_id: user,
                access_digest: session.digest.0,
                access_expires_at: now + span(CONSOLE_IDLE),
                refresh_digest: unusable.digest.0,
                refresh_expires_at: now + span(CONSOLE_ABSOLUTE),
                now,
                client_id: None,
            })
            .await?;
        Ok(session.secret)
    }

    /// The person behind a console cookie, settled or not (the console sends an unsettled
    /// person to the password change or the factor's enrolment); the idle end moves on.
    pub async fn console_session(&self, cookie: &str) -> Result<Principal, CoreError> {
        let (tenant, digest) =
            Token::parse(TokenKind::Console, cookie).map_err(|_| CoreError::Unauthenticated)?;
        let tenant = TenantId::from(uuid::Uuid::from_bytes(tenant));
        let now = self.clock.now();
        let p = self
            .store
            .principal_by_access(tenant, &digest.0, now)
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        self.store
            .extend_session(tenant, p.session_id, now + span(CONSOLE_IDLE))
            .await?;
        Ok(p)
    }
}
