//! The second factor (TOTP, RFC 6238): enrolment (a pending secret, sealed under the user's
//! subject key), confirmation with a code (then ten single-use recovery codes, stored as
//! digests), its removal with a current code, an administrator's reset of another user's
//! factor (logged, the user mailed), and the check login runs after a right password: a code is
//! good once (its time step must be later than the last accepted one), with one step of clock
//! drift; a recovery code works once.

use crate::access::Action;
use crate::{CoreError, Principal, Services};
use secrecy::SecretString;
use strongroom_crypto::totp::{self, TotpSecret};
use strongroom_domain::{Timestamp, UserId};
use strongroom_store::User;

/// Where the secret is sealed (the field context of its AEAD).
const TABLE: &str = "user_totp";
const FIELD: &str = "secret";

/// What `POST /me/totp` answers: the secret to put into an authenticator app.
pub struct TotpEnrolment {
    pub secret: SecretString,
    pub otpauth_uri: SecretString,
}

/// What the second factor said at login.
pub(crate) enum SecondFactor {
    /// No active factor: the password is enough.
    None,
    /// A good code or an unused recovery code.
    Passed,
    /// An active factor and no code: ask for it (neither a failure nor a success).
    Missing,
    /// A wrong, reused or expired code: a failed login like a wrong password.
    Wrong,
}

fn unix(t: Timestamp) -> u64 {
    u64::try_from(t.unix_timestamp()).unwrap_or(0)
}

impl Services {
    /// The privacy-log entry of a second factor removed (by its user) or reset (by an
    /// administrator): a security setting of that person.
    async fn factor_change(
        &self,
        p: &Principal,
        user: UserId,
        action: &str,
    ) -> Result<strongroom_store::ChangeLog, CoreError> {
        self.change_log(
            &Self::actor(p),
            None,
            &p.roles.to_stored(),
            Some(user),
            (crate::privacy::SECOND_FACTOR_OBJECT, Some(user.0)),
            action,
            Vec::new(),
        )
        .await
    }

    async fn own_user(&self, p: &Principal) -> Result<User, CoreError> {
        self.store
            .user_by_id(p.tenant_id, p.user_id)
            .await?
            .ok_or(CoreError::Unauthenticated)
    }

    /// The user's tenant keys and subject key (a forgotten user has none).
    async fn user_key(
        &self,
        u: &User,
    ) -> Result<
        (
            std::sync::Arc<crate::keys::TenantKeys>,
            crate::keys::SubjectKey,
        ),
        CoreError,
    > {
        let keys = self
            .tenant_keys_for(u.tenant_id, std::slice::from_ref(u))
            .await?;
        let key = u
            .subject_key
            .as_ref()
            .map(|w| keys.open_subject_key(u.id.0, w))
            .transpose()?
            .ok_or(CoreError::Unauthenticated)?;
        Ok((keys, key))
    }

    /// The stored secret, opened.
    async fn open_totp(&self, u: &User, sealed: &[u8]) -> Result<TotpSecret, CoreError> {
        let (_, key) = self.user_key(u).await?;
        let bytes = key.open(u.tenant_id, TABLE, u.id.0, FIELD, sealed)?;
        TotpSecret::from_bytes(bytes.to_vec())
            .map_err(|e| CoreError::internal("a stored TOTP secret", e))
    }

    /// `POST /me/totp`: a new secret, pending until confirmed; refused while a factor is active.
    pub async fn totp_enrol(&self, p: &Principal) -> Result<TotpEnrolment, CoreError> {
        let u = self.own_user(p).await?;
        let (keys, key) = self.user_key(&u).await?;
        let tenant = self
            .store
            .tenant_by_id(p.tenant_id)
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let account = Self::open_user(&keys, u.clone())?
            .email
            .map_or_else(|| u.id.to_string(), |e| e.as_str().to_owned());
        let secret = TotpSecret::generate();
        let uri = secret
            .otpauth_uri(&format!("Strongroom {}", tenant.slug.as_str()), &account)
            .map_err(|e| CoreError::internal("an otpauth URI", e))?;
        let sealed = key.seal(p.tenant_id, TABLE, u.id.0, FIELD, secret.as_bytes())?;
        if !self
            .store
            .put_pending_totp(p.tenant_id, p.user_id, &sealed, self.clock.now())
            .await?
        {
            return Err(CoreError::Conflict(
                "a second factor is active: remove it (DELETE /api/v1/me/totp) before enrolling again"
                    .into(),
            ));
        }
        tracing::info!(tenant = %p.tenant_id, user = %p.user_id, "second factor enrolment started");
        Ok(TotpEnrolment {
            secret: secret.base32(),
            otpauth_uri: uri,
        })
    }

    /// `POST /me/totp/confirm`: the pending factor becomes active with a current code; the ten
    /// recovery codes, shown this once.
    pub async fn totp_confirm(
        &self,
        p: &Principal,
        code: &str,
    ) -> Result<Vec<SecretString>, CoreError> {
        let u = self.own_user(p).await?;
        let pending = self
            .store
            .user_totp(p.tenant_id, p.user_id)
            .await?
            .filter(|t| t.confirmed_at.is_none())
            .ok_or_else(|| {
                CoreError::Conflict("no enrolment is pending (POST /api/v1/me/totp first)".into())
            })?;
        let secret = self.open_totp(&u, &pending.sealed).await?;
        let now = self.clock.now();
        let step = secret
            .verify(code, unix(now), None)
            .and_then(|s| i64::try_from(s).ok())
            .ok_or_else(|| {
                CoreError::Invalid(
                    "code: not the current code of this secret (check the device's clock)".into(),
                )
            })?;
        let codes = totp::recovery_codes();
        let digests: Vec<[u8; 32]> = codes.iter().map(totp::recovery_digest).collect();
        if !self
            .store
            .confirm_totp(p.tenant_id, p.user_id, step, &digests, now)
            .await?
        {
            return Err(CoreError::Conflict("no enrolment is pending".into()));
        }
        tracing::info!(tenant = %p.tenant_id, user = %p.user_id, "second factor active");
        Ok(codes)
    }

    /// `DELETE /me/totp`: removes the caller's factor, with a current code (or a recovery code).
    pub async fn totp_remove(&self, p: &Principal, code: &str) -> Result<(), CoreError> {
        let u = self.own_user(p).await?;
        match self.second_factor(&u, Some(code)).await? {
            SecondFactor::Passed => {}
            SecondFactor::None => return Err(CoreError::NotFound("second factor")),
            SecondFactor::Missing | SecondFactor::Wrong => {
                return Err(CoreError::Invalid(
                    "code: not a current code or an unused recovery code".into(),
                ));
            }
        }
        let log = self.factor_change(p, p.user_id, "remove").await?;
        self.store.remove_totp(p.tenant_id, p.user_id, &log).await?;
        tracing::info!(tenant = %p.tenant_id, user = %p.user_id, "second factor removed by its user");
        Ok(())
    }

    /// `DELETE /users/{id}/totp`: an administrator resets another user's factor (their own
    /// needs its code: `DELETE /me/totp`); the user is mailed.
    pub async fn totp_reset(&self, p: &Principal, id: UserId) -> Result<(), CoreError> {
        self.authorize(p, Action::ManageUsers).await?;
        if id == p.user_id {
            return Err(CoreError::Forbidden(
                "your own second factor is removed with a current code (DELETE /api/v1/me/totp)"
                    .into(),
            ));
        }
        let u = self
            .store
            .user_by_id(p.tenant_id, id)
            .await?
            .ok_or(CoreError::NotFound("user"))?;
        if self.store.user_totp(p.tenant_id, id).await?.is_none() {
            return Err(CoreError::NotFound("second factor"));
        }
        let log = self.factor_change(p, id, "reset").await?;
        self.store.remove_totp(p.tenant_id, id, &log).await?;
        tracing::warn!(tenant = %p.tenant_id, actor = %p.user_id, user = %id, "second factor reset by an administrator");
        let keys = self
            .tenant_keys_for(u.tenant_id, std::slice::from_ref(&u))
            .await?;
        if let Some(addr) = Self::open_user(&keys, u)?.email {
            self.send_in_background(
                addr,
                "Your second factor was reset",
                "An administrator of your organisation removed the second factor (authenticator app) of your account.\n\
                 Log in with your password and set it up again. If you did not ask for this, tell your administrator.\n"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// After a right password: what the account's second factor says about `code`.
    pub(crate) async fn second_factor(
        &self,
        u: &User,
        code: Option<&str>,
    ) -> Result<SecondFactor, CoreError> {
        let Some(active) = self
            .store
            .user_totp(u.tenant_id, u.id)
            .await?
            .filter(|t| t.confirmed_at.is_some())
        else {
            return Ok(SecondFactor::None);
        };
        // Spaces as apps show them ("123 456") do not matter.
        let code: String = code
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if code.is_empty() {
            return Ok(SecondFactor::Missing);
        }
        let app_code =
            code.len() == usize::from(totp::DIGITS) && code.bytes().all(|b| b.is_ascii_digit());
        if !app_code {
            let digest = totp::recovery_digest(&SecretString::from(code));
            let used = self
                .store
                .use_recovery_code(u.tenant_id, u.id, &digest, self.clock.now())
                .await?;
            return Ok(if used {
                tracing::warn!(tenant = %u.tenant_id, user = %u.id, "a recovery code was used");
                SecondFactor::Passed
            } else {
                SecondFactor::Wrong
            });
        }
        let secret = self.open_totp(u, &active.sealed).await?;
        let last = active.last_step.and_then(|s| u64::try_from(s).ok());
        let Some(step) = secret
            .verify(&code, unix(self.clock.now()), last)
            .and_then(|s| i64::try_from(s).ok())
        else {
            return Ok(SecondFactor::Wrong);
        };
        // Accepted once, also against another instance accepting the same code now.
        Ok(
            if self.store.accept_totp_step(u.tenant_id, u.id, step).await? {
                SecondFactor::Passed
            } else {
                SecondFactor::Wrong
            },
        )
    }
}
