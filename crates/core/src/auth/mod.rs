//! Authentication: password login with lockout, opaque access and refresh tokens with rotation
//! and reuse detection, logout, password reset by mail, password change.
//!
//! Timing: a login for an unknown e-mail or a blocked account verifies the password against a
//! dummy hash, so every path costs one Argon2id verification plus a few store calls.

pub mod console;
pub mod hashing;
pub mod password_policy;
pub mod throttle;
pub mod totp;

pub use hashing::*;
pub use password_policy::*;
pub use strongroom_store::SessionPrincipal as Principal;
pub use throttle::*;
pub use totp::TotpEnrolment;

use crate::keys::SubjectKey;
use crate::{CoreError, Services};
use secrecy::{ExposeSecret, SecretString};
use std::net::IpAddr;
use std::time::Duration;
use strongroom_crypto::{Token, TokenKind};
use strongroom_domain::{
    Email, FamilyId, LoginEventId, LoginOutcome, Roles, SessionId, Slug, TenantId, TenantStatus,
    UserId, UserStatus,
};
use strongroom_store::{LoginEvent, NewSession, RefreshOutcome, Tenant, User};

/// The table login events' sealed fields are bound to.
pub const LOGIN_HISTORY_TABLE: &str = "login_history";

/// Authentication settings (operator configuration).
#[derive(Clone, Debug)]
pub struct AuthSettings {
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub reset_ttl: Duration,
    pub ip_attempts_per_minute: u32,
    pub ip_burst: u32,
    /// `POST /oauth/token` requests one address may make per minute (also the burst).
    pub token_requests_per_minute: u32,
    /// Tokens one integration client may take per minute (also the burst).
    pub client_tokens_per_minute: u32,
    /// Argon2id verifications running at once (each takes a core and 19 MiB for ≈ 20 ms);
    /// more logins wait their turn. One core fewer than the machine has, so a login flood
    /// leaves a core to the requests that are not logins (BENCHMARKS.md, issue 16).
    pub hash_concurrency: usize,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_mins(15),
            refresh_ttl: Duration::from_hours(14 * 24),
            reset_ttl: Duration::from_mins(30),
            ip_attempts_per_minute: 20,
            ip_burst: 20,
            token_requests_per_minute: 120,
            client_tokens_per_minute: 60,
            hash_concurrency: std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1).max(1)),
        }
    }
}

/// A freshly issued pair; the secrets are shown to the client once (redacted in `Debug`).
#[derive(Debug)]
pub struct TokenPair {
    pub access_token: SecretString,
    pub refresh_token: SecretString,
    pub expires_in: u64,
}

fn ttl(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

/// The answer to a wrong password: blocked from the threshold on.
fn failure_error(failed: u32, threshold: u32) -> CoreError {
    if failed >= threshold {
        CoreError::AccountBlocked
    } else {
        CoreError::InvalidCredentials
    }
}

fn blocked_mail(tenant: &Tenant, failed: u32) -> String {
    format!(
        "Your account at {} was blocked after {failed} wrong passwords in a row.\n\n\
         Your password no longer works, not even the right one. To reopen the account, choose a\n\
         new password with 'forgot password' on the login page.\n\n\
         If these attempts were not yours, someone may be guessing your password: tell your administrator.\n",
        tenant.name.as_str()
    )
}

fn not_a_person() -> CoreError {
    CoreError::Forbidden(
        "this is an integration client's or a support session's token; this call is about a person's own account".into(),
    )
}

impl Services {
    fn check_throttle(&self, ip: IpAddr) -> Result<(), CoreError> {
        self.throttle
            .check(ip)
            .map_err(|retry_after_secs| CoreError::Throttled { retry_after_secs })
    }

    /// Records a login attempt. The client address is personal data: it is sealed under the
    /// user's own subject key (so forgetting the person shreds it too), or under the tenant's
    /// system key for attempts on no usable account.
    async fn log_login(
        &self,
        tenant: TenantId,
        user: Option<&User>,
        ip: IpAddr,
        outcome: LoginOutcome,
    ) -> Result<(), CoreError> {
        let id = LoginEventId::new();
        let key = self.ip_key(tenant, user).await?;
        let ip_sealed = key.seal(
            tenant,
            LOGIN_HISTORY_TABLE,
            id.0,
            "ip",
            ip.to_string().as_bytes(),
        )?;
        self.store
            .append_login(&LoginEvent {
                tenant_id: tenant,
                id,
                user_id: user.map(|u| u.id),
                at: self.clock.now(),
                ip_sealed: Some(ip_sealed),
                outcome,
            })
            .await
            .map_err(Into::into)
    }

    /// The key a login event's address is sealed under.
    pub(crate) async fn ip_key(
        &self,
        tenant: TenantId,
        user: Option<&User>,
    ) -> Result<SubjectKey, CoreError> {
        if let Some((u, w)) = user.and_then(|u| u.subject_key.as_ref().map(|w| (u, w))) {
            let keys = self
                .keyring
                .tenant_with_kek(&*self.store, tenant, w.kek_version, self.clock.now())
                .await?;
            return keys.open_subject_key(u.id.0, w);
        }
        self.system_subject_key(tenant).await
    }

    /// The tenant's own subject key (subject id = tenant id), for personal data that belongs
    /// to no known account, such as the address of a login attempt on an unknown e-mail.
    /// Created on first use.
    pub(crate) async fn system_subject_key(
        &self,
        tenant: TenantId,
    ) -> Result<SubjectKey, CoreError> {
        let subject = tenant.0;
        if let Some(w) = self.store.subject_key(tenant, subject).await? {
            let keys = self
                .keyring
                .tenant_with_kek(&*self.store, tenant, w.kek_version, self.clock.now())
                .await?;
            return keys.open_subject_key(subject, &w);
        }
        let keys = self
            .keyring
            .tenant_fresh(&*self.store, tenant, self.clock.now())
            .await?;
        let (fresh, _) = keys.new_subject_key(subject)?;
        self.store
            .insert_subject_key_if_absent(tenant, subject, &fresh, self.clock.now())
            .await?;
        // Another request may have created it first: use whichever is stored.
        let stored = self
            .store
            .subject_key(tenant, subject)
            .await?
            .ok_or_else(|| CoreError::internal("a live user has no subject key", "absent"))?;
        keys.open_subject_key(subject, &stored)
    }

    async fn active_tenant(&self, slug: &str) -> Result<Option<Tenant>, CoreError> {
        let Ok(slug) = Slug::parse(slug) else {
            return Ok(None);
        };
        Ok(self
            .store
            .tenant_by_slug(&slug)
            .await?
            .filter(|t| t.status == TenantStatus::Active))
    }

    /// Issues a session (access + refresh token) for a user, in a new or an existing family.
    pub(crate) fn new_session(
        &self,
        tenant: TenantId,
        user: UserId,
        family: FamilyId,
    ) -> (NewSession, TokenPair) {
        let now = self.clock.now();
        let access = Token::issue(TokenKind::Access, tenant.as_bytes());
        let refresh = Token::issue(TokenKind::Refresh, tenant.as_bytes());
        let session = NewSession {
            tenant_id: tenant,
            id: SessionId::new(),
            family_id: family,
            user_id: user,
            access_digest: access.digest.0,
            access_expires_at: now + ttl(self.auth.access_ttl),
            refresh_digest: refresh.digest.0,
            refresh_expires_at: now + ttl(self.auth.refresh_ttl),
            now,
            client_id: None,
        };
        let pair = TokenPair {
            access_token: access.secret,
            refresh_token: refresh.secret,
            expires_in: self.auth.access_ttl.as_secs(),
        };
        (session, pair)
    }

    async fn start_session(&self, tenant: TenantId, user: UserId) -> Result<TokenPair, CoreError> {
        let (session, pair) = self.new_session(tenant, user, FamilyId::new());
        self.store.insert_session(&session).await?;
        Ok(pair)
    }

    /// `POST /auth/login`. Wrong password and unknown e-mail give the same error after the same
    /// work; the `threshold`-th failure in a row blocks the account (or the unknown address).
    pub async fn login(
        &self,
        tenant_slug: &str,
        email: &str,
        password: SecretString,
        ip: IpAddr,
    ) -> Result<TokenPair, CoreError> {
        self.login_with_code(tenant_slug, email, password, None, ip)
            .await
    }

    /// `POST /auth/login` with the second factor's code (`totp`), for an account that has one:
    /// the right password without a code answers `TotpRequired` and neither counts nor resets
    /// the failures; a wrong, reused or expired code counts like a wrong password.
    pub async fn login_with_code(
        &self,
        tenant_slug: &str,
        email: &str,
        password: SecretString,
        code: Option<&str>,
        ip: IpAddr,
    ) -> Result<TokenPair, CoreError> {
        let (tenant, user) = self
            .check_login(tenant_slug, email, password, code, ip)
            .await?;
        self.start_session(tenant, user).await
    }

    /// The login's checks (throttle, password, lockout, second factor, history) without the
    /// session: the API's login and the console's sign-in start different kinds of session.
    pub(crate) async fn check_login(
        &self,
        tenant_slug: &str,
        email: &str,
        password: SecretString,
        code: Option<&str>,
        ip: IpAddr,
    ) -> Result<(TenantId, UserId), CoreError> {
        let throttled = self.check_throttle(ip).err();
        if let Some(refusal) = throttled
            .as_ref()
            .filter(|_| !self.throttle.record_refusal(ip))
        {
            return Err(refusal.clone());
        }
        let Some(tenant) = self.active_tenant(tenant_slug).await? else {
            if let Some(refusal) = throttled {
                return Err(refusal);
            }
            self.hasher.verify_dummy(password).await?;
            return Err(CoreError::InvalidCredentials);
        };
        // An unparseable address cannot belong to an account: it takes the unknown path.
        let normalised = Email::parse(email)
            .map_or_else(|_| email.trim().to_lowercase(), |e| e.as_str().to_owned());
        let keys = self.tenant_keys(tenant.id).await?;
        let index = keys.email_index(&normalised);
        let user = self.store.user_by_email_index(tenant.id, &index).await?;
        // A refused attempt is in the history too (within the recording budget), without
        // touching the password or the failure count.
        if let Some(refusal) = throttled {
            self.log_login(tenant.id, user.as_ref(), ip, LoginOutcome::Throttled)
                .await?;
            return Err(refusal);
        }
        let usable = user.as_ref().filter(|u| {
            matches!(u.status, UserStatus::Active | UserStatus::Blocked)
                && u.password_hash.is_some()
        });
        if let Some(u) = usable {
            let (id, status) = (u.id, u.status);
            let phc = u.password_hash.clone().unwrap_or_default();
            let ok = self.hasher.verify(phc, password).await?;
            if status == UserStatus::Blocked {
                self.log_login(tenant.id, Some(u), ip, LoginOutcome::Blocked)
                    .await?;
                return Err(CoreError::AccountBlocked);
            }
            let ok = ok
                && match self.second_factor(u, code).await? {
                    totp::SecondFactor::None | totp::SecondFactor::Passed => true,
                    totp::SecondFactor::Missing => return Err(CoreError::TotpRequired),
                    totp::SecondFactor::Wrong => false,
                };
            if ok {
                self.store.clear_login_failures(tenant.id, id).await?;
                self.log_login(tenant.id, Some(u), ip, LoginOutcome::Success)
                    .await?;
                return Ok((tenant.id, id));
            }
            let count = self
                .store
                .record_login_failure(tenant.id, id, tenant.lockout_threshold, self.clock.now())
                .await?;
            self.log_login(tenant.id, Some(u), ip, LoginOutcome::WrongPassword)
                .await?;
            if count.blocked_now {
                tracing::warn!(tenant = %tenant.id, user = %id, "account blocked after repeated wrong passwords");
                let keys = self
                    .tenant_keys_for(tenant.id, std::slice::from_ref(u))
                    .await?;
                if let Some(addr) = Self::open_user(&keys, u.clone())?.email {
                    self.send_in_background(
                        addr,
                        "Your account has been blocked",
                        blocked_mail(&tenant, count.failed),
                    );
                }
            }
            return Err(failure_error(count.failed, tenant.lockout_threshold));
        }
        // No usable account (unknown, forgotten, or an address that cannot exist): the same
        // work and the same answers, counted under the address's lookup key.
        self.hasher.verify_dummy(password).await?;
        if self.store.unknown_failures(tenant.id, &index).await? >= tenant.lockout_threshold {
            self.log_login(tenant.id, user.as_ref(), ip, LoginOutcome::Blocked)
                .await?;
            return Err(CoreError::AccountBlocked);
        }
        let count = self
            .store
            .record_unknown_failure(
                tenant.id,
                &index,
                tenant.lockout_threshold,
                self.clock.now(),
            )
            .await?;
        self.log_login(tenant.id, user.as_ref(), ip, LoginOutcome::UnknownAccount)
            .await?;
        Err(failure_error(count.failed, tenant.lockout_threshold))
    }

    /// `POST /auth/refresh`: spends the refresh token and issues a new pair in the same family.
    /// A spent token presented again revokes the family (someone else holds a copy).
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenPair, CoreError> {
        let (tenant, digest) = Token::parse(TokenKind::Refresh, refresh_token.expose_secret())
            .map_err(|_| CoreError::InvalidToken)?;
        let tenant = TenantId::from(uuid::Uuid::from_bytes(tenant));
        // The family and user of the successor are taken from the spent session by the store.
        let (next, pair) = self.new_session(
            tenant,
            UserId::from(uuid::Uuid::nil()),
            FamilyId::from(uuid::Uuid::nil()),
        );
        match self
            .store
            .rotate_refresh(tenant, &digest.0, &next, self.clock.now())
            .await?
        {
            RefreshOutcome::Rotated(_) => Ok(pair),
            RefreshOutcome::Reused => {
                tracing::warn!(tenant = %tenant, "spent refresh token presented again; its session family is revoked");
                Err(CoreError::InvalidToken)
            }
            RefreshOutcome::Invalid => Err(CoreError::InvalidToken),
        }
    }

    /// Resolves a bearer access token to the caller: a person, or an integration client.
    ///
    /// A person who still has an initial password gets `PasswordChangeRequired` here, and
    /// one whose roles the tenant requires a second factor of, without one,
    /// `TotpEnrolmentRequired` — for every operation at once: this is the one place those
    /// rules are checked. Only the calls that let them settle (change the password, enrol a
    /// factor, see who they are, log out) use [`Self::authenticate_unsettled`].
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal, CoreError> {
        if access_token.starts_with(TokenKind::ClientAccess.prefix()) {
            return self.authenticate_client(access_token).await;
        }
        if access_token.starts_with(TokenKind::SupportAccess.prefix()) {
            return self.authenticate_support(access_token).await;
        }
        let p = self.person_behind(access_token).await?;
        Self::settled(p)
    }

    /// The caller, if their account is settled: no initial password left to change, and a
    /// second factor if the tenant requires one of their roles.
    pub fn settled(p: Principal) -> Result<Principal, CoreError> {
        if p.must_change_password {
            return Err(CoreError::PasswordChangeRequired);
        }
        if Self::factor_required(&p) {
            return Err(CoreError::TotpEnrolmentRequired);
        }
        Ok(p)
    }

    /// Whether the tenant requires a second factor of one of the person's roles and they
    /// have none yet.
    pub fn factor_required(p: &Principal) -> bool {
        !p.totp_active && p.roles.0.iter().any(|r| p.require_totp_roles.contains(*r))
    }

    /// [`Self::authenticate`] for the calls about the caller's own account (their export,
    /// forgetting them, their notices): an integration client has none.
    pub async fn authenticate_person(&self, access_token: &str) -> Result<Principal, CoreError> {
        let p = self.authenticate(access_token).await?;
        if p.client.is_some() || p.support.is_some() {
            return Err(not_a_person());
        }
        Ok(p)
    }

    /// [`Self::authenticate`] for the calls a person who has not settled their account yet
    /// may make: `GET /me` (and their own logins and privacy log), the password change, the
    /// second factor's enrolment, logout.
    pub async fn authenticate_unsettled(&self, access_token: &str) -> Result<Principal, CoreError> {
        if access_token.starts_with(TokenKind::ClientAccess.prefix())
            || access_token.starts_with(TokenKind::SupportAccess.prefix())
        {
            // Checked first, so a live token is told why rather than 401.
            self.authenticate(access_token).await?;
            return Err(not_a_person());
        }
        self.person_behind(access_token).await
    }

    async fn person_behind(&self, access_token: &str) -> Result<Principal, CoreError> {
        let (tenant, digest) = Token::parse(TokenKind::Access, access_token)
            .map_err(|_| CoreError::Unauthenticated)?;
        let tenant = TenantId::from(uuid::Uuid::from_bytes(tenant));
        self.store
            .principal_by_access(tenant, &digest.0, self.clock.now())
            .await?
            .ok_or(CoreError::Unauthenticated)
    }

    /// The integration client behind a client access token (`POST /oauth/token`).
    async fn authenticate_client(&self, access_token: &str) -> Result<Principal, CoreError> {
        let (tenant, digest) = Token::parse(TokenKind::ClientAccess, access_token)
            .map_err(|_| CoreError::Unauthenticated)?;
        let tenant = TenantId::from(uuid::Uuid::from_bytes(tenant));
        let (client, policy_version) = self
            .store
            .client_by_token(tenant, &digest.0, self.clock.now())
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        Ok(Principal {
            tenant_id: tenant,
            session_id: SessionId(uuid::Uuid::nil()),
            family_id: FamilyId(uuid::Uuid::nil()),
            user_id: UserId(client.id.0),
            roles: Roles::default(),
            must_change_password: false,
            policy_version,
            memberships: Vec::new(),
            subject_key: None,
            require_totp_roles: Roles::default(),
            totp_active: false,
            client: Some(client),
            support: None,
        })
    }

    /// `POST /auth/logout`: ends the session family (access and refresh tokens).
    pub async fn logout(&self, p: &Principal) -> Result<(), CoreError> {
        self.store
            .revoke_family(p.tenant_id, p.family_id, self.clock.now())
            .await
            .map_err(Into::into)
    }

    /// `POST /auth/forgot`: always accepted. The work (lookup, token, mail) happens in the
    /// background, so the answer's timing says nothing about whether the account exists.
    pub fn forgot(&self, tenant_slug: String, email: String, ip: IpAddr) -> Result<(), CoreError> {
        self.check_throttle(ip)?;
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.forgot_now(&tenant_slug, &email).await {
                tracing::error!(error = %e, "password reset request failed");
            }
        });
        Ok(())
    }

    async fn forgot_now(&self, tenant_slug: &str, email: &str) -> Result<(), CoreError> {
        let Some(tenant) = self.active_tenant(tenant_slug).await? else {
            return Ok(());
        };
        let Ok(email) = Email::parse(email) else {
            return Ok(());
        };
        let index = self
            .tenant_keys(tenant.id)
            .await?
            .email_index(email.as_str());
        let Some(user) = self.store.user_by_email_index(tenant.id, &index).await? else {
            return Ok(());
        };
        if user.status == UserStatus::Deleted {
            return Ok(());
        }
        let now = self.clock.now();
        let token = Token::issue(TokenKind::PasswordReset, tenant.id.as_bytes());
        self.store
            .insert_reset(
                tenant.id,
                &token.digest.0,
                user.id,
                now + ttl(self.auth.reset_ttl),
                now,
            )
            .await?;
        let minutes = self.auth.reset_ttl.as_secs() / 60;
        let body = format!(
            "Someone asked to reset the password of your account at {tenant}.\n\n\
             Your reset token (valid for {minutes} minutes, usable once):\n\n{token}\n\n\
             Give it to your application's 'reset password' page, or send it with\n\
             POST /api/v1/auth/reset {{\"token\": \"...\", \"new_password\": \"...\"}}.\n\n\
             If you did not ask for this, ignore this message: your password stays as it is.\n",
            tenant = tenant.name.as_str(),
            token = token.expose(),
        );
        self.mailer.send(&email, "Reset your password", body).await
    }

    /// `POST /auth/reset`: a live reset token sets a new password, unblocks the account and ends
    /// every session. The token works once.
    pub async fn reset(
        &self,
        token: &SecretString,
        new_password: SecretString,
    ) -> Result<(), CoreError> {
        crate::auth::password_policy::check(&new_password)?;
        let (tenant, digest) = Token::parse(TokenKind::PasswordReset, token.expose_secret())
            .map_err(|_| CoreError::InvalidToken)?;
        let tenant = TenantId::from(uuid::Uuid::from_bytes(tenant));
        let hash = self.hasher.hash(new_password).await?;
        match self
            .store
            .reset_password(tenant, &digest.0, &hash, self.clock.now())
            .await?
        {
            Some(_) => Ok(()),
            None => Err(CoreError::InvalidToken),
        }
    }

    /// `PUT /me/password`: changes the caller's password (the current one is required and a
    /// wrong one counts towards lockout). Ends every session and returns a fresh pair.
    pub async fn change_password(
        &self,
        p: &Principal,
        current: SecretString,
        new: SecretString,
        ip: IpAddr,
    ) -> Result<TokenPair, CoreError> {
        self.replace_password(p, current, new, ip).await?;
        self.start_session(p.tenant_id, p.user_id).await
    }

    /// The password change itself: policy, re-authentication, the new hash; every session of
    /// the person ends (the caller starts the next one).
    pub(crate) async fn replace_password(
        &self,
        p: &Principal,
        current: SecretString,
        new: SecretString,
        ip: IpAddr,
    ) -> Result<(), CoreError> {
        crate::auth::password_policy::check(&new)?;
        if current.expose_secret() == new.expose_secret() {
            return Err(CoreError::WeakPassword(
                "the new password must differ from the current one".into(),
            ));
        }
        self.confirm_password(p, current, ip).await?;
        let hash = self.hasher.hash(new).await?;
        if !self
            .store
            .set_password(p.tenant_id, p.user_id, &hash, false, self.clock.now())
            .await?
        {
            return Err(CoreError::Unauthenticated);
        }
        Ok(())
    }

    /// Re-authentication: the caller's current password, before a security change. A wrong
    /// one counts towards lockout like a wrong login.
    pub async fn confirm_password(
        &self,
        p: &Principal,
        current: SecretString,
        ip: IpAddr,
    ) -> Result<(), CoreError> {
        let tenant = self
            .store
            .tenant_by_id(p.tenant_id)
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let user = self
            .store
            .user_by_id(p.tenant_id, p.user_id)
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let phc = user
            .password_hash
            .clone()
            .ok_or(CoreError::Unauthenticated)?;
        if !self.hasher.verify(phc, current).await? {
            let count = self
                .store
                .record_login_failure(
                    p.tenant_id,
                    p.user_id,
                    tenant.lockout_threshold,
                    self.clock.now(),
                )
                .await?;
            self.log_login(p.tenant_id, Some(&user), ip, LoginOutcome::WrongPassword)
                .await?;
            return Err(failure_error(count.failed, tenant.lockout_threshold));
        }
        Ok(())
    }

    pub(crate) fn send_in_background(&self, to: Email, subject: &'static str, body: String) {
        let mailer = self.mailer.clone();
        tokio::spawn(async move {
            if let Err(e) = mailer.send(&to, subject, body).await {
                tracing::error!(error = %e, "could not send mail");
            }
        });
    }
}
